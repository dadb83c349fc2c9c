import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ProloDomain
import ProloPages
import ProloProjections
import ProloStore

/// The clinic's web pages under `/ui` (docs/clinic-pages.md): sign-in with a token into a session cookie, the
/// today, alerts, patient and devices pages, and clearing an alert. Every page view and form post is written to
/// the access log like an API read; the pages read through the same scope rules (``DeviceAccess``).
extension ClinicServer {
    /// The session cookie's name.
    static let sessionCookie = "prolo_session"

    /// Who is looking, for a page handler.
    struct PageCaller: Sendable {
        let caller: Caller
        let session: PageSessions.Session
        let viewer: PageViewer
    }

    typealias PageHandler = @Sendable (Request, BasicRequestContext, PageCaller, FormFields) async throws -> Handled

    /// The pages' router (the API's router hands `/`, `/ui` and `/ui/…` to it through ``PagesMiddleware``).
    func makePagesRouter() -> Router<BasicRequestContext> {
        let router = Router()
        let home: @Sendable (Request, BasicRequestContext) async throws -> Response = { _, _ in
            Self.redirect(to: "\(PageLayout.root)/today")
        }
        router.get("/", use: home)
        router.get("ui", use: home)
        router.get("ui/sign-in") { _, _ in
            self.htmlResponse(.ok, SignInPage.html(message: nil, clock: self.clock, clinic: nil))
        }
        router.post("ui/sign-in") { request, context in await self.signIn(request, context) }
        router.post("ui/sign-out") { request, context in
            await self.page(request, context, route: "/ui/sign-out", self.signOut)
        }
        router.get("ui/today") { request, context in
            await self.page(request, context, route: "/ui/today", self.todayPage)
        }
        router.get("ui/alerts") { request, context in
            await self.page(request, context, route: "/ui/alerts", self.alertsPage)
        }
        router.get("ui/devices") { request, context in
            await self.page(request, context, route: "/ui/devices", self.devicesPage)
        }
        router.get("ui/patients/:patient") { request, context in
            await self.page(request, context, route: "/ui/patients/{patient}", self.patientPage)
        }
        router.post("ui/patients/:patient/clear-alert") { request, context in
            await self.page(request, context, route: "/ui/patients/{patient}/clear-alert", self.clearAlert)
        }
        router.add(
            middleware: MethodNotAllowedMiddleware(routes: router.routes.map { ($0.path.description, $0.method) }))
        return router
    }

    var clock: ClinicClock { ClinicClock(timeZone: configuration.timeZone) }

    // MARK: Sessions

    /// A page behind sign-in: the session from the cookie, its token still valid and authorized, the CSRF token
    /// on a POST; then the handler, and one access-log line whatever happened.
    private func page(
        _ request: Request, _ context: BasicRequestContext, route: String, _ handler: @escaping PageHandler
    ) async -> Response {
        var record = AccessRecord(
            method: request.method.rawValue, route: route, status: 500, outcome: "error", requestID: context.id)
        var viewer: PageViewer?
        var response: Response
        do {
            guard let id = request.cookies[Self.sessionCookie]?.value, let session = sessions.session(id) else {
                throw Refusal(status: .seeOther, code: "no-session", message: "sign in first")
            }
            let token = try await sessionToken(session)
            record.record(token)
            let caller = try await authorize(token)
            let pageCaller = PageCaller(caller: caller, session: session, viewer: Self.viewer(caller, session))
            viewer = pageCaller.viewer
            var form = FormFields()
            if request.method == .post {
                try checkSameOrigin(request)
                form = FormFields(urlEncoded: try await body(of: request, limit: 64 << 10))
                guard PageSessions.csrfMatches(form["csrf"], session) else {
                    throw Refusal(
                        status: .forbidden, code: "csrf",
                        message:
                            "This form is out of date or did not come from this page (its CSRF token does not match "
                            + "your session). Reload the page and try again.")
                }
            }
            let handled = try await handler(request, context, pageCaller, form)
            record.record(handled)
            response = handled.response
        } catch let refusal as Refusal {
            record.status = Int(refusal.status.code)
            record.outcome = refusal.status == .seeOther ? "unauthenticated" : refusal.outcome
            response = refusalPage(refusal, viewer: viewer, request: request)
        } catch {
            context.logger.error("page failed", metadata: ["route": .string(route), "error": "\(error)"])
            response = refusalPage(
                Refusal(
                    status: .internalServerError, code: "internal", message: "The server could not answer: \(error)"),
                viewer: viewer, request: request)
        }
        await finish(record, route: route)
        return response
    }

    /// The session's token, looked up by id: refused (and the session ended) once it is revoked or expired.
    private func sessionToken(_ session: PageSessions.Session) async throws -> AccessToken {
        let found = try await log.tokens().first { $0.id == session.tokenID }
        guard let token = found, token.isValid(at: .now()) else {
            sessions.close(session.id)
            let why = found?.revokedAt != nil ? "was revoked" : found == nil ? "is no longer known here" : "has expired"
            throw Refusal(
                status: .unauthorized, code: "session-ended",
                message: "You were signed out: token \(session.tokenID) \(why). Sign in with a valid token.")
        }
        return token
    }

    private static func viewer(_ caller: Caller, _ session: PageSessions.Session) -> PageViewer {
        PageViewer(
            description: "\(caller.token.scope) token \(caller.token.id) (device \(caller.token.device))",
            csrfToken: session.csrf,
            mayReadClinic: caller.access.mayReadClinic, mayRecord: caller.access == .clinic,
            patient: caller.access.slice?.text)
    }

    /// `POST /ui/sign-in`: a clinic or audit token (clinic pages) or a patient token (that patient's page) opens a
    /// session; anything else answers the sign-in page again with the reason, 401 or 403.
    private func signIn(_ request: Request, _ context: BasicRequestContext) async -> Response {
        var record = AccessRecord(
            method: "POST", route: "/ui/sign-in", purpose: "sign-in", status: 500, outcome: "error",
            requestID: context.id)
        let response: Response
        do {
            try checkSameOrigin(request)
            let form = FormFields(urlEncoded: try await body(of: request, limit: 64 << 10))
            let (token, registry) = try await authenticate(
                presented: (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines))
            record.record(token)
            let caller = try await authorize(token, in: registry)
            if caller.access == .replica {
                throw Refusal(
                    status: .forbidden, code: "out-of-scope",
                    message:
                        "A replica token is for another clinic server, not for people: sign in with a clinic or audit token."
                )
            }
            let session = sessions.open(tokenID: token.id)
            let home = caller.access.slice.map { PageLayout.patientPath($0.text) } ?? "\(PageLayout.root)/today"
            var redirect = Self.redirect(to: home)
            redirect.headers[.setCookie] = sessionCookie(session.id, maxAge: Int(PageSessions.lifetime))
            record.status = 303
            record.outcome = "ok"
            response = redirect
        } catch let refusal as Refusal {
            record.status = Int(refusal.status.code)
            record.outcome = refusal.outcome
            response = htmlResponse(
                refusal.status, SignInPage.html(message: refusal.message, clock: clock, clinic: nil))
        } catch {
            response = htmlResponse(
                .internalServerError,
                SignInPage.html(message: "The server could not sign you in: \(error)", clock: clock, clinic: nil))
        }
        await finish(record, route: "/ui/sign-in")
        return response
    }

    /// `POST /ui/sign-out`: ends the session and forgets the cookie.
    private func signOut(_ request: Request, _ context: BasicRequestContext, _ page: PageCaller, _ form: FormFields)
        async throws -> Handled
    {
        sessions.close(page.session.id)
        var response = Self.redirect(to: "\(PageLayout.root)/sign-in")
        response.headers[.setCookie] = sessionCookie("", maxAge: 0)
        return Handled(response: response, purpose: "sign-out")
    }

    /// Refuses a form posted from another site (403): a browser sends `Origin` with every POST, and it must name
    /// this server (the request's host and port). This also stops another site from signing a browser in with
    /// its own token, which no CSRF token can (there is no session yet).
    private func checkSameOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin] else { return }
        let url = URL(string: origin)
        let authority = url.flatMap { url in url.host.map { host in url.port.map { "\(host):\($0)" } ?? host } }
        guard let authority, authority == request.head.authority else {
            throw Refusal(
                status: .forbidden, code: "cross-site",
                message:
                    "This form was sent from another site (\(origin)), so nothing was done. Use the form on this server's own page."
            )
        }
    }

    /// `Set-Cookie` for the session: HttpOnly, SameSite=Strict, only under /ui, Secure when the server speaks TLS.
    func sessionCookie(_ value: String, maxAge: Int) -> String {
        var cookie =
            "\(Self.sessionCookie)=\(value); Path=\(PageLayout.root); Max-Age=\(maxAge); HttpOnly; SameSite=Strict"
        if configuration.tlsCertificatePath != nil { cookie += "; Secure" }
        return cookie
    }

    // MARK: Pages

    private func requireClinic(_ page: PageCaller) throws {
        guard page.caller.access.mayReadClinic else {
            throw Refusal(
                status: .forbidden, code: "out-of-scope",
                message: "A \(page.caller.token.scope) token sees only that patient's own page, not the clinic's pages."
            )
        }
    }

    /// A clinic-wide page: refused to a patient token, then `read` from the log (either backend, with the clinic's
    /// name) and `render`ed from what it returned.
    private func clinicPage<Model: Sendable>(
        _ page: PageCaller, purpose: String, read: () async throws -> Model,
        render: (Model, _ clinic: String?) -> String
    ) async throws -> Handled {
        try requireClinic(page)
        let model = try await read()
        return Handled(response: htmlResponse(.ok, render(model, try await log.clinicName())), purpose: purpose)
    }

    /// `GET /ui/today`.
    private func todayPage(_ request: Request, _ context: BasicRequestContext, _ page: PageCaller, _ form: FormFields)
        async throws -> Handled
    {
        let now = Timestamp.now()
        return try await clinicPage(
            page, purpose: "view-today", read: { try await self.log.due(within: TodayPage.days, now: now) }
        ) {
            TodayPage.html(due: $0, now: now, clock: clock, clinic: $1, viewer: page.viewer)
        }
    }

    /// `GET /ui/alerts`.
    private func alertsPage(_ request: Request, _ context: BasicRequestContext, _ page: PageCaller, _ form: FormFields)
        async throws -> Handled
    {
        try await clinicPage(page, purpose: "view-alerts", read: { try await self.alertsModel() }) {
            AlertsPage.html(alerts: $0.alerts, types: $0.types, clock: clock, clinic: $1, viewer: page.viewer)
        }
    }

    /// `GET /ui/devices`.
    private func devicesPage(_ request: Request, _ context: BasicRequestContext, _ page: PageCaller, _ form: FormFields)
        async throws -> Handled
    {
        try await clinicPage(
            page, purpose: "view-devices",
            read: {
                DevicesPage.model(
                    registry: try await self.log.registry(), vector: try await self.log.versionVector(),
                    quarantine: try await self.log.quarantine(), forks: try await self.log.forks(),
                    accessLog: try await self.log.accessLog())
            }
        ) {
            DevicesPage.html($0, clock: clock, clinic: $1, viewer: page.viewer)
        }
    }

    /// The open alerts and the type of each raising event the log holds (read together).
    private func alertsModel() async throws -> AlertsPage.Model {
        let alerts = try await log.openAlerts()
        let ids = Set(alerts.flatMap(\.raisedBy)).compactMap { try? EventID(checked: $0) }
        var types: [String: String] = [:]
        for stored in try await log.events(ids: ids) { types[stored.event.id.text] = stored.event.type.rawValue }
        return AlertsPage.Model(alerts: alerts, types: types)
    }

    /// The patient of the path, if the caller may read them (403 otherwise, 400 for a malformed id).
    private func pathPatient(_ context: BasicRequestContext, _ page: PageCaller) throws -> PatientID {
        guard let text = context.parameters.get("patient"), let patient = try? PatientID(checked: text) else {
            throw Refusal(status: .badRequest, code: "malformed", message: "That is not a patient id.")
        }
        guard page.caller.access.mayRead(patient: patient) else {
            throw Refusal(
                status: .forbidden, code: "out-of-scope",
                message: "A \(page.caller.token.scope) token cannot read patient \(patient)'s record.")
        }
        return patient
    }

    /// `GET /ui/patients/{patient}` (with `?cleared=EVENT` after a clearance).
    private func patientPage(_ request: Request, _ context: BasicRequestContext, _ page: PageCaller, _ form: FormFields)
        async throws -> Handled
    {
        let patient = try pathPatient(context, page)
        let notice = request.uri.queryParameters.get("cleared").map { PatientPage.Notice.cleared(event: $0) }
        return try await patientResponse(patient, page: page, notice: notice, status: .ok, purpose: "view-patient")
    }

    private func patientResponse(
        _ patient: PatientID, page: PageCaller, notice: PatientPage.Notice?, status: HTTPResponse.Status,
        purpose: String
    ) async throws -> Handled {
        let model: PatientPage.Model?
        if let state = try await log.state(of: patient) {
            model = PatientPage.model(
                state: state, events: try await log.events(EventFilter(patient: patient)), registry: try await log.registry())
        } else {
            model = nil
        }
        let clinic = try await log.clinicName()
        guard let model else {
            throw Refusal(
                status: .notFound, code: "no-such-patient", message: "This store holds no event of patient \(patient).")
        }
        let html = PatientPage.html(
            model, notice: notice, now: .now(), clock: clock, clinic: clinic, viewer: page.viewer)
        return Handled(response: htmlResponse(status, html), patient: patient.text, purpose: purpose)
    }

    /// `POST /ui/patients/{patient}/clear-alert`: records `alert.cleared` (the clinician and the reason from the
    /// form) with `EventStore.record`, as `prolo record clear-alert` does, signed by this server's device; then the
    /// patient's page shows the result (303 to it), or the page again with the reason it was refused (422).
    private func clearAlert(_ request: Request, _ context: BasicRequestContext, _ page: PageCaller, _ form: FormFields)
        async throws -> Handled
    {
        let patient = try pathPatient(context, page)
        guard page.viewer.mayRecord else {
            throw Refusal(
                status: .forbidden, code: "read-only",
                message:
                    "A \(page.caller.token.scope) token reads and never records: sign in with a clinic token to clear an alert."
            )
        }
        try refuseWritesIfReadOnly()
        let state = try await log.state(of: patient)
        let draft: EventDraft
        do throws(AlertClearance.Refusal) {
            draft = try AlertClearance.draft(
                patient: patient, kind: form["kind"] ?? "", raisedBy: form["raisedBy"] ?? "",
                clinician: form["clinician"] ?? "",
                reason: form["reason"] ?? "", open: state)
        } catch {
            return try await patientResponse(
                patient, page: page, notice: .refused(error.message), status: .unprocessableContent,
                purpose: "clear-alert")
        }
        guard let stored = try await log.record([draft], signedBy: key).first else {
            throw Refusal(status: .internalServerError, code: "internal-error", message: "The clearance was not recorded.")
        }
        context.logger.info("alert cleared", metadata: ["event": .string(stored.event.id.text)])
        let path = PageLayout.patientPath(patient.text) + "?cleared=\(stored.event.id.text)#result"
        return Handled(response: Self.redirect(to: path), patient: patient.text, purpose: "clear-alert")
    }

    // MARK: Responses

    /// A 303 to `path`.
    static func redirect(to path: String) -> Response {
        Response(status: .seeOther, headers: [.location: path, .cacheControl: "no-store"])
    }

    /// A page with the headers every page carries: no script, no outside resource, no framing, no caching of
    /// patient data, no referrer to another site.
    func htmlResponse(_ status: HTTPResponse.Status, _ html: String) -> Response {
        Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy:
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
                    + "frame-ancestors 'none'; base-uri 'none'",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff", HTTPField.Name("Referrer-Policy")!: "same-origin",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A refusal as a page: no session → 303 to sign-in; a session that ended → the sign-in page with the reason
    /// (and the cookie forgotten); anything else → the status with the reason in words.
    private func refusalPage(_ refusal: Refusal, viewer: PageViewer?, request: Request) -> Response {
        switch refusal.status {
        case .seeOther:
            return Self.redirect(to: "\(PageLayout.root)/sign-in")
        case .unauthorized:
            var response = htmlResponse(
                .unauthorized, SignInPage.html(message: refusal.message, clock: clock, clinic: nil))
            response.headers[.setCookie] = sessionCookie("", maxAge: 0)
            return response
        default:
            return htmlResponse(
                refusal.status,
                SignInPage.refusal(
                    status: Int(refusal.status.code), message: refusal.message, clock: clock, clinic: nil,
                    viewer: viewer))
        }
    }
}
