import Foundation
import ProloDomain
import ProloProjections
import ProloServer
import ProloStore
import ProloTestSupport
import Testing

/// Sign-in, sessions, scope and CSRF of the clinic's pages, over plain HTTP against a real server.
@Suite("web pages: sign-in and scope")
struct PageSignInTests {
    /// Runs `body` with a server on a fresh ``PageClinic``.
    private func withPages(_ body: (PageClinic, TestServer) async throws -> Void) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try await PageClinic.make(in: directory)
            let server = try await TestServer.start(projected: clinic.projected, key: clinic.key)
            do {
                try await body(clinic, server)
            } catch {
                try? await server.stop()
                throw error
            }
            try await server.stop()
        }
    }

    @Test("without a session cookie every page answers 303 to the sign-in page, which is a form for a token")
    func noCookie() async throws {
        try await withPages { clinic, server in
            let browser = PageClient(server)
            for path in ["/ui/today", "/ui/alerts", "/ui/devices", "/ui/patients/p-0001"] {
                let response = try await browser.get(path)
                #expect(response.status == 303, "\(path): \(response.status)")
                #expect(response.header("Location") == "/ui/sign-in", "\(path)")
            }
            let root = try await browser.get("/")
            #expect(root.status == 303 && root.header("Location") == "/ui/today")
            let page = try await browser.get("/ui/sign-in")
            #expect(page.status == 200)
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(page.text.contains("<form method=\"post\" action=\"/ui/sign-in\">"))
            #expect(page.text.contains("<label for=\"token\">"))
            // A stale or made-up cookie is no session either.
            browser.use(session: String(repeating: "ab", count: 32))
            #expect(try await browser.get("/ui/today").status == 303)
            // The unauthenticated page views were logged, as refused API calls are.
            let log = try clinic.store.accessLog().filter { $0.route == "/ui/today" }
            #expect(log.count == 2 && log.allSatisfy { $0.outcome == "unauthenticated" && $0.status == 303 })
        }
    }

    @Test("an unknown token and a revoked token are refused with the reason on the sign-in page, and no cookie")
    func badTokens() async throws {
        try await withPages { clinic, server in
            let browser = PageClient(server)
            let unknown = try await browser.signIn("prolo_not_a_token")
            #expect(unknown.status == 401)
            #expect(unknown.text.contains("not one this server issued"))
            #expect(browser.session == nil)
            let revoked = try await browser.signIn(clinic.revokedToken)
            #expect(revoked.status == 401)
            #expect(revoked.text.contains("was revoked"))
            #expect(browser.session == nil)
            let attempts = try clinic.store.accessLog().filter { $0.purpose == "sign-in" }
            #expect(attempts.map(\.outcome) == ["unauthenticated", "unauthenticated"])
        }
    }

    @Test(
        "a clinic token signs in to a session cookie that is HttpOnly, SameSite=Strict and scoped to /ui; pages carry a CSP without scripts"
    )
    func clinicSignIn() async throws {
        try await withPages { clinic, server in
            let browser = PageClient(server)
            let signIn = try await browser.signIn(clinic.clinicToken)
            #expect(signIn.status == 303)
            #expect(signIn.header("Location") == "/ui/today")
            let cookie = try #require(signIn.header("Set-Cookie"))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/ui"))
            #expect(!cookie.contains("Secure"), "plain HTTP: a Secure cookie would never come back")
            #expect(!cookie.contains(clinic.clinicToken), "the cookie is a session id, not the token")
            for path in ["/ui/today", "/ui/alerts", "/ui/devices", "/ui/patients/p-0001", "/ui/patients/p-0002"] {
                let page = try await browser.get(path)
                #expect(page.status == 200, "\(path): \(page.status) \(page.text.prefix(300))")
                let policy = page.header("Content-Security-Policy") ?? ""
                #expect(policy.contains("default-src 'none'") && !policy.contains("script-src"), "\(path): \(policy)")
                #expect(page.header("Cache-Control") == "no-store")
                #expect(!page.text.contains("<script"))
            }
            let missing = try await browser.get("/ui/patients/p-9999")
            #expect(missing.status == 404 && missing.text.contains("no event of patient p-9999"))
            // The JSON API is untouched: still bearer tokens, never the cookie.
            let api = try await rawRequest("GET", server.url("/v1/alerts"))
            #expect(api.status == 401 && api.errorCode == "no-token")
            #expect(try await rawRequest("GET", server.url("/nowhere")).status == 404)
        }
    }

    @Test("every page view is written to the access log with the token, the route, the purpose and the patient")
    func pageViewsAreLogged() async throws {
        try await withPages { clinic, server in
            let browser = PageClient(server)
            try await browser.signIn(clinic.clinicToken)
            _ = try await browser.get("/ui/today")
            _ = try await browser.get("/ui/alerts")
            _ = try await browser.get("/ui/devices")
            _ = try await browser.get("/ui/patients/p-0001")
            let log = try clinic.store.accessLog().filter { $0.route.hasPrefix("/ui/") && $0.purpose != "sign-in" }
            #expect(log.map(\.purpose) == ["view-today", "view-alerts", "view-devices", "view-patient"])
            #expect(
                log.allSatisfy { $0.scope == "clinic" && $0.token != nil && $0.outcome == "ok" && $0.status == 200 })
            #expect(log.last?.patient == "p-0001" && log.last?.route == "/ui/patients/{patient}")
        }
    }

    @Test("a patient token sees its own patient's page only: 403 on another patient and on every clinic page")
    func patientScope() async throws {
        try await withPages { clinic, server in
            let browser = PageClient(server)
            let signIn = try await browser.signIn(clinic.patientToken)
            #expect(signIn.status == 303)
            #expect(signIn.header("Location") == "/ui/patients/p-0001")
            let own = try await browser.get("/ui/patients/p-0001")
            #expect(own.status == 200)
            #expect(own.text.contains("My record") && !own.text.contains(">Today<"))
            #expect(!own.text.contains("form class=\"clear\""), "a patient records no clinical decision")
            for path in ["/ui/patients/p-0002", "/ui/today", "/ui/alerts", "/ui/devices"] {
                let refused = try await browser.get(path)
                #expect(refused.status == 403, "\(path): \(refused.status)")
                #expect(
                    !refused.text.contains("p-0002") || path == "/ui/patients/p-0002", "\(path) leaks another patient")
            }
            let refusals = try clinic.store.accessLog().filter {
                $0.scope == "patient:p-0001" && $0.outcome == "forbidden"
            }
            #expect(refusals.count == 4)
        }
    }

    @Test("a form posted from another site is refused, sign-in included; one from this server's own page is not")
    func crossSite() async throws {
        try await withPages { clinic, server in
            let browser = PageClient(server)
            let foreign = try await browser.post(
                "/ui/sign-in", [("token", clinic.clinicToken)], headers: [("Origin", "http://evil.example")])
            #expect(foreign.status == 403 && foreign.text.contains("another site"))
            #expect(browser.session == nil)
            let own = try await browser.post(
                "/ui/sign-in", [("token", clinic.clinicToken)], headers: [("Origin", server.baseURL)])
            #expect(own.status == 303 && browser.session != nil)
            let page = try await browser.get("/ui/patients/p-0002")
            let csrf = try #require(PageClient.csrf(in: page.text))
            let fields = try #require(PageClient.clearFields(in: page.text))
            let refused = try await browser.post(
                "/ui/patients/p-0002/clear-alert",
                [
                    ("csrf", csrf), ("kind", fields.kind), ("raisedBy", fields.raisedBy), ("clinician", "prac-0012"),
                    ("reason", "from elsewhere"),
                ], headers: [("Origin", "http://127.0.0.1:1")])
            #expect(refused.status == 403)
            #expect(try clinic.projected.openAlerts().contains { $0.patient == "p-0002" })
        }
    }

    @Test("a form posted without the session's CSRF token, or with another, is refused and records nothing")
    func csrf() async throws {
        try await withPages { clinic, server in
            let browser = PageClient(server)
            try await browser.signIn(clinic.clinicToken)
            let page = try await browser.get("/ui/patients/p-0002")
            let fields = try #require(PageClient.clearFields(in: page.text))
            let path = "/ui/patients/p-0002/clear-alert"
            let form = [
                ("kind", fields.kind), ("raisedBy", fields.raisedBy), ("clinician", "prac-0012"), ("reason", "fine"),
            ]
            let without = try await browser.post(path, form)
            #expect(without.status == 403 && without.text.contains("CSRF"))
            let wrong = try await browser.post(path, form + [("csrf", String(repeating: "0", count: 64))])
            #expect(wrong.status == 403)
            // Another session's token does not fit this session.
            let other = PageClient(server)
            try await other.signIn(clinic.clinicToken)
            let otherToken = try #require(PageClient.csrf(in: try await other.get("/ui/today").text))
            #expect(try await browser.post(path, form + [("csrf", otherToken)]).status == 403)
            // Sign-out needs it too.
            #expect(try await browser.post("/ui/sign-out", []).status == 403)
            #expect(
                try clinic.projected.openAlerts().contains { $0.patient == "p-0002" && $0.kind == "possible-infection" }
            )
        }
    }

    @Test(
        "clearing an alert through the form records alert.cleared signed by the server's device, and the page says so")
    func clearAlert() async throws {
        try await withPages { clinic, server in
            let browser = PageClient(server)
            try await browser.signIn(clinic.clinicToken)
            let before = try await browser.get("/ui/patients/p-0002")
            #expect(before.text.contains("The next injection is blocked."))
            let csrf = try #require(PageClient.csrf(in: before.text))
            let fields = try #require(PageClient.clearFields(in: before.text))
            #expect(fields.kind == "possible-infection")
            let path = "/ui/patients/p-0002/clear-alert"
            // A refusal in words: no reason given.
            let noReason = try await browser.post(
                path,
                [
                    ("csrf", csrf), ("kind", fields.kind), ("raisedBy", fields.raisedBy), ("clinician", "prac-0012"),
                    ("reason", " "),
                ])
            #expect(
                noReason.status == 422 && noReason.text.contains("Not cleared.") && noReason.text.contains("Say why"))
            let cleared = try await browser.post(
                path,
                [
                    ("csrf", csrf), ("kind", fields.kind), ("raisedBy", fields.raisedBy), ("clinician", "prac-0012"),
                    ("reason", "Seen in clinic: afebrile, no local signs <b>ok</b>"),
                ])
            #expect(cleared.status == 303)
            let location = try #require(cleared.header("Location"))
            #expect(location.hasPrefix("/ui/patients/p-0002?cleared="))
            #expect(try !clinic.projected.openAlerts().contains { $0.patient == "p-0002" })
            let event = try #require(
                try clinic.store.events(EventFilter(patient: "p-0002", type: .alertCleared)).first?.event)
            #expect(event.origin == clinic.store.identity.origin, "signed by the server's own device")
            #expect(event.author.id.text == "prac-0012" && event.author.role == .clinician)
            let payload = try #require(try event.payload() as? AlertCleared)
            #expect(payload.reason.text == "Seen in clinic: afebrile, no local signs <b>ok</b>")
            let after = try await browser.get(String(location.prefix { $0 != "#" }))
            #expect(after.text.contains("Cleared: Possible infection."))
            #expect(after.text.contains("No open alert blocks the next injection."))
            #expect(!after.text.contains("The next injection is blocked."))
            // Posting the same form again is refused in words: nothing left to clear.
            let again = try await browser.post(
                path,
                [
                    ("csrf", csrf), ("kind", fields.kind), ("raisedBy", fields.raisedBy), ("clinician", "prac-0012"),
                    ("reason", "again"),
                ])
            #expect(again.status == 422 && again.text.contains("cleared already"))
            #expect(try clinic.store.events(EventFilter(patient: "p-0002", type: .alertCleared)).count == 1)
        }
    }

    @Test("an audit token reads every page but cannot clear an alert")
    func auditReadsOnly() async throws {
        try await withPages { clinic, server in
            let browser = PageClient(server)
            try await browser.signIn(clinic.auditToken)
            let page = try await browser.get("/ui/patients/p-0002")
            #expect(page.status == 200 && !page.text.contains("form class=\"clear\""))
            let csrf = try #require(PageClient.csrf(in: page.text))
            let refused = try await browser.post(
                "/ui/patients/p-0002/clear-alert",
                [
                    ("csrf", csrf), ("kind", "possible-infection"), ("raisedBy", "x"), ("clinician", "a"),
                    ("reason", "b"),
                ])
            #expect(refused.status == 403 && refused.text.contains("never records"))
            #expect(try clinic.projected.openAlerts().contains { $0.patient == "p-0002" })
        }
    }

    @Test("revoking the token ends its session at the next click; signing out ends it at once")
    func sessionEnds() async throws {
        try await withPages { clinic, server in
            let browser = PageClient(server)
            try await browser.signIn(clinic.laterToken)
            #expect(try await browser.get("/ui/today").status == 200)
            try clinic.store.revokeToken(id: clinic.laterTokenID)
            let ended = try await browser.get("/ui/today")
            #expect(ended.status == 401 && ended.text.contains("was revoked"))
            #expect(browser.session == nil, "the cookie is forgotten")

            let other = PageClient(server)
            try await other.signIn(clinic.clinicToken)
            let stolen = try #require(other.session)
            let csrf = try #require(PageClient.csrf(in: try await other.get("/ui/today").text))
            let out = try await other.post("/ui/sign-out", [("csrf", csrf)])
            #expect(out.status == 303 && out.header("Location") == "/ui/sign-in")
            #expect(other.session == nil)
            other.use(session: stolen)
            #expect(try await other.get("/ui/today").status == 303, "the old cookie no longer opens a page")
        }
    }
}
