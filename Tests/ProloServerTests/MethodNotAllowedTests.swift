import Foundation
import ProloDomain
import ProloServer
import ProloStore
import ProloTestSupport
import Testing

/// The server does what Schemas/openapi.yaml says about methods and bodies (issue 18: schemathesis found a 404 for
/// a known path's unknown method, and a body the document calls invalid accepted).
@Suite("HTTP contract: methods and body checks")
struct MethodNotAllowedTests {
    @Test("a known path asked with a method it lacks answers 405 with Allow; an unknown path stays 404")
    func methodNotAllowed() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            try await withServer(device: clinic.root) { server in
                for (method, path, allow) in [
                    ("TRACE", "/v1/devices", "GET, POST"), ("DELETE", "/v1/alerts", "GET"), ("PUT", "/healthz", "GET"),
                    ("GET", "/v1/sync/push", "POST"), ("PATCH", "/v1/patients/p-0001", "GET"),
                ] {
                    let response = try await rawRequest(method, server.url(path))
                    #expect(response.status == 405, "\(method) \(path): \(response.status)")
                    #expect(response.header("Allow") == allow, "\(method) \(path)")
                    #expect(response.errorCode == "method-not-allowed")
                }
                #expect(try await rawRequest("TRACE", server.url("/v1/nothing-here")).status == 404)
                #expect(try await rawRequest("GET", server.url("/v1/patients/p-0001/extra")).status == 404)
            }
        }
    }

    @Test("summary refuses a vectorDigest that is not a string; pull refuses a maxBytes below 1 and takes 2.0 as 2")
    func bodyChecks() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let laptop = try clinic.addDevice("laptop")
            let token = try clinic.root.store.issueToken(device: laptop.store.identity.origin.text, scope: "clinic", expiresAt: nil).1
            try await withServer(device: clinic.root) { server in
                let summary = try await rawRequest(
                    "POST", server.url("/v1/sync/summary"), token: token, body: jsonBytes(["vectorDigest": .int(315)]),
                    contentType: "application/json")
                #expect(summary.status == 400 && summary.errorCode == "malformed")
                for bad: JSONValue in [.int(0), .int(-3), .string("10"), .double(1.5)] {
                    let pull = try await rawRequest(
                        "POST", server.url("/v1/sync/pull"), token: token,
                        body: jsonBytes(["vector": .object([:]), "maxBytes": bad]), contentType: "application/json")
                    #expect(pull.status == 400, "maxBytes \(bad): \(pull.status)")
                }
                let integral = try await rawRequest(
                    "POST", server.url("/v1/sync/pull"), token: token,
                    body: Array(#"{"vector":{"a1":2.0},"maxBytes":2048.0}"#.utf8), contentType: "application/json")
                #expect(integral.status == 200, "\(integral.text.prefix(200))")
            }
        }
    }
}
