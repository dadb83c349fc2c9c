import Foundation
import HTTPTypes
import Hummingbird
import ProloDomain
import ProloServer
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// Every route × every credential against the authorization table of Schemas/openapi.yaml.
@Suite("Authorization over HTTP")
struct AuthorizationMatrixTests {
    /// What a request presents.
    enum Credential: Sendable, CustomStringConvertible {
        case none
        case header(String, label: String)
        case token(String, scope: String)

        var description: String {
            switch self {
            case .none: "no token"
            case .header(_, let label): label
            case .token(_, let scope): scope
            }
        }
        /// The Authorization header it sends, if any.
        var authorization: String? {
            switch self {
            case .none: return nil
            case .header(let header, _): return header
            case .token(let token, _): return "Bearer \(token)"
            }
        }
        var scope: TokenScope? {
            if case .token(_, let scope) = self { return try? TokenScope(text: scope) }
            return nil
        }
    }

    /// The documented status of `route` (`METHOD /path`) for a caller of `scope` (`nil`: not authenticated).
    static func expectedStatus(_ route: String, scope: TokenScope?) -> Int? {
        let isPatient: Bool
        if case .patient? = scope { isPatient = true } else { isPatient = false }
        switch route {
        case "GET /healthz", "GET /metrics", "GET /v1/server":
            return 200
        case _ where scope == nil:
            return 401
        case "POST /v1/sync/summary", "POST /v1/sync/pull":
            return 200
        case "POST /v1/sync/push":
            return scope == .audit ? 403 : 200
        case "GET /v1/devices", "GET /v1/alerts":
            return isPatient ? 403 : 200
        case "POST /v1/devices":
            return scope == .clinic ? 201 : 403
        case "GET /v1/patients/{patient}", "GET /v1/fhir/Patient/{patient}/$everything":  // asked with p-1
            return scope == .patient("p-2") ? 403 : 200
        case "GET /v1/fhir/$export":  // asked without Prefer: respond-async
            return scope == .clinic || scope == .audit ? 400 : 403
        case "GET /v1/fhir/$export/{job}", "DELETE /v1/fhir/$export/{job}", "GET /v1/fhir/$export/{job}/{file}":
            return scope == .clinic || scope == .audit ? 404 : 403  // asked with a job no one started
        default:
            return nil
        }
    }

    /// A valid request body for a route.
    static func body(for route: String, enrollment: Int) throws -> (bytes: [UInt8], contentType: String)? {
        switch route {
        case "POST /v1/sync/summary":
            return (jsonBytes(["vectorDigest": .string("")]), "application/json")
        case "POST /v1/sync/pull":
            return (jsonBytes(["vector": .object([:])]), "application/json")
        case "POST /v1/sync/push":
            return (try SyncWire.encodeBatch([]), SyncWire.batchContentType)
        case "POST /v1/devices":
            let body = jsonBytes([
                "name": .string("tablet-\(enrollment)"), "role": .string("clinic"),
                "publicKey": .string(DeviceKey().publicKey.base64),
            ])
            return (body, "application/json")
        default:
            return nil
        }
    }

    /// The router's routes as `METHOD /path` with `{patient}`, `{job}` and `{file}` for the path parameters.
    static func registeredRoutes(of server: ClinicServer) -> [String] {
        server.makeRouter().routes.map { route in
            var path = route.path.description
            for parameter in ["patient", "job", "file"] {
                path = path.replacingOccurrences(of: ":" + parameter, with: "{\(parameter)}")
            }
            return "\(route.method.rawValue) \(path.hasPrefix("/") ? path : "/" + path)"
        }
    }

    /// Sends every registered route with every credential and checks each answer; returns the count of each
    /// status among the access-logged (/v1, non-public) requests, and their number.
    static func runMatrix(server: TestServer, credentials: [Credential]) async throws -> ([Int: Int], Int) {
        let routes = registeredRoutes(of: server.server)
        #expect(routes.count >= 10, "the router lists only \(routes)")
        var enrollments = 0
        var statuses: [Int: Int] = [:]
        var v1Requests = 0
        for route in routes {
            let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
            let method = parts[0]
            let path = parts[1].replacingOccurrences(of: "{patient}", with: "p-1")
                .replacingOccurrences(of: "{job}", with: String(repeating: "0", count: 32))
                .replacingOccurrences(of: "{file}", with: "Patient.ndjson")
            for credential in credentials {
                let expected = try #require(
                    expectedStatus(route, scope: credential.scope),
                    "\(route) is registered but not in the authorization table of this test")
                enrollments += 1
                let body = try self.body(for: route, enrollment: enrollments)
                let response = try await rawRequest(
                    method, server.url(path), authorization: credential.authorization, body: body?.bytes,
                    contentType: body?.contentType)
                #expect(
                    response.status == expected,
                    "\(route) with \(credential): \(response.status) \(response.text.prefix(200))")
                if path.hasPrefix("/v1/"), path != "/v1/server" {
                    v1Requests += 1
                    statuses[response.status, default: 0] += 1
                }
                if response.status == 401 {
                    #expect(response.hasErrorBody, "\(route) with \(credential): 401 without a JSON error body")
                    #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
                    #expect(
                        response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true,
                        "\(route) with \(credential): 401 without WWW-Authenticate: Bearer")
                }
                if response.status == 403 {
                    #expect(response.hasErrorBody, "\(route) with \(credential): 403 without a JSON error body")
                    #expect(response.header("WWW-Authenticate") == nil)
                }
            }
        }
        return (statuses, v1Requests)
    }

    @Test(
        "every route × every scope × no, bad, expired and revoked tokens answers the documented status; refusals carry a JSON error and land in the access log"
    )
    func matrix() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            try clinic.addDevice("laptop", role: .clinic)
            try clinic.addDevice("server-2", role: .replica)
            try clinic.addDevice("auditor", role: .audit)
            try clinic.addDevice("home-1", role: .home, patient: "p-1")
            try clinic.addDevice("home-2", role: .home, patient: "p-2")
            try root.store.record([try Fixtures.painDraft(patient: "p-1", score: 6)], signedBy: root.key)
            try root.store.record([try Fixtures.painDraft(patient: "p-2", score: 3)], signedBy: root.key)

            let issued: [(device: String, scope: String)] = [
                ("laptop", "clinic"), ("server-2", "replica"), ("auditor", "audit"), ("home-1", "patient:p-1"),
                ("home-2", "patient:p-2"),
            ]
            var credentials: [Credential] = [.none]
            var tokens: [String: String] = [:]  // scope → token
            for (device, scope) in issued {
                let token = try root.store.issueToken(device: device, scope: scope, expiresAt: nil).1
                tokens[scope] = token
                credentials.append(.token(token, scope: scope))
            }
            let expired = try root.store.issueToken(
                device: "laptop", scope: "clinic",
                expiresAt: Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch - 60_000))
            let (revokedToken, revoked) = try root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil)
            #expect(try root.store.revokeToken(id: revokedToken.id))
            let (_, valid) = try root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil)
            let tampered = String(valid.dropLast()) + (valid.hasSuffix("A") ? "B" : "A")
            credentials += [
                .header("Bearer prolo_0123456789ab_notasecretthisservermade", label: "an unknown token"),
                .header("Bearer not-even-shaped-like-a-token", label: "a malformed token"),
                .header("Bearer \(tampered)", label: "a token with a wrong secret"),
                .header("Basic bGFwdG9wOnNlY3JldA==", label: "Basic credentials"),
                .header("Bearer \(expired.1)", label: "an expired token"),
                .header("Bearer \(revoked)", label: "a revoked token"),
            ]

            let everyCredential = credentials
            let p1 = try #require(tokens["patient:p-1"])
            try await withServer(device: root) { server in
                var (statuses, v1Requests) = try await Self.runMatrix(server: server, credentials: everyCredential)

                // A patient token reading the other patient's record, the other way round.
                let other = try await rawRequest("GET", server.url("/v1/patients/p-2"), token: p1)
                #expect(other.status == 403)
                #expect(other.hasErrorBody)
                let own = try await rawRequest("GET", server.url("/v1/patients/p-1"), token: p1)
                #expect(own.status == 200)
                v1Requests += 2
                statuses[403, default: 0] += 1
                statuses[200, default: 0] += 1

                // Every /v1 request is in the access log; refusals with their outcome.
                let log = try root.store.accessLog()
                #expect(log.count == v1Requests, "\(v1Requests) requests under /v1, \(log.count) access log lines")
                let unauthenticated = log.filter { $0.outcome == "unauthenticated" }
                let forbidden = log.filter { $0.outcome == "forbidden" }
                #expect(unauthenticated.count == statuses[401, default: 0])
                #expect(forbidden.count == statuses[403, default: 0])
                #expect(unauthenticated.allSatisfy { $0.status == 401 })
                #expect(forbidden.allSatisfy { $0.status == 403 && $0.token != nil && $0.scope != nil })
                #expect(forbidden.contains { $0.route == "/v1/patients/{patient}" && $0.scope == "patient:p-1" })
                #expect(
                    log.filter { $0.outcome == "ok" }.count == statuses[200, default: 0] + statuses[201, default: 0])
                #expect(statuses[401, default: 0] > 0 && statuses[403, default: 0] > 0)
            }
        }
    }

    @Test(
        "a refused push (audit scope, a patient token without its home device, a revoked token) changes nothing; the same batch with a clinic token is appended"
    )
    func refusedPushChangesNothing() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let laptop = try clinic.addDevice("laptop", role: .clinic)
            try clinic.addDevice("auditor", role: .audit)
            var random = SeededGenerator(seed: 5)
            let recorded = try ClinicalDrafts.record(6, on: laptop, patients: ["p-1"], using: &random)
            let batch = try SyncWire.encodeBatch(recorded.map { EventWireCodec.encode($0.event) })

            let audit = try root.store.issueToken(device: "auditor", scope: "audit", expiresAt: nil).1
            // A patient scope issued to a device that is not that patient's home device is refused when issued
            // (TokenBindingTests); a patient token whose home device was revoked since is refused when used.
            #expect(throws: StoreError.self) {
                try root.store.issueToken(device: "laptop", scope: "patient:p-1", expiresAt: nil)
            }
            let home = try clinic.addDevice("home-1", role: .home, patient: "p-1")
            let misbound = try root.store.issueToken(device: "home-1", scope: "patient:p-1", expiresAt: nil).1
            try clinic.revoke(home)
            let (revokedToken, revoked) = try root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil)
            try root.store.revokeToken(id: revokedToken.id)
            let clinicToken = try root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil).1

            try await withServer(device: root) { server in
                let vector = try root.store.versionVector()
                let count = try root.store.count()
                for (token, status) in [(audit, 403), (misbound, 403), (revoked, 401)] {
                    let response = try await rawRequest(
                        "POST", server.url("/v1/sync/push"), token: token, body: batch,
                        contentType: SyncWire.batchContentType)
                    #expect(response.status == status, "\(response.text)")
                    #expect(response.hasErrorBody)
                    #expect(try root.store.versionVector() == vector)
                    #expect(try root.store.count() == count)
                    #expect(try root.store.quarantine().isEmpty)
                }
                let accepted = try await rawRequest(
                    "POST", server.url("/v1/sync/push"), token: clinicToken, body: batch,
                    contentType: SyncWire.batchContentType)
                #expect(accepted.status == 200, "\(accepted.text)")
                #expect(accepted.json?["new"] == .int(6))
                #expect(try root.store.count() == count + 6)
                let outcomes = try root.store.accessLog().map(\.outcome)
                #expect(outcomes == ["forbidden", "forbidden", "unauthenticated", "ok"])
            }
        }
    }
}
