import Foundation
import ProloDomain
import ProloProjections
import ProloServer
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// A home app built from `Schemas/envelope.md` alone pushes validly signed events this build cannot read: the
/// server holds them (200), flags them, keeps them out of the read models, shows them in `/v1/alerts`, and the
/// app's later events still arrive (issue 12: before, a body that did not inflate got a 500 and every later event
/// of the origin waited in quarantine forever).
@Suite("Held events over HTTP")
struct HeldEventHTTPTests {
    private let patient: PatientID = "p-0001"

    @Test("a home app's unreadable events are held with 200, shown in /v1/alerts, and its next events still arrive")
    func heldOverHTTP() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            var app = ForeignDevice()
            try clinic.enroll(app.key.publicKey, name: "home-app", role: .home, patient: patient)
            let homeToken = try clinic.root.store.issueToken(device: "home-app", scope: "patient:\(patient)", expiresAt: nil).1
            let clinicToken = try clinic.root.store.issueToken(
                device: clinic.root.name, scope: "clinic", expiresAt: nil).1
            let batch = [
                try app.painReport(patient, score: 6),
                try app.painReport(patient, score: 11),
                try app.painReport(patient, score: 4, schemaVersion: 2),
                try app.seal(.painReported, patient: patient, body: .raw([0x78, 0x9c, 0xde, 0xad, 0xbe, 0xef])),
            ]
            try await withServer(device: clinic.root) { server in
                let pushed = try await rawRequest(
                    "POST", server.url("/v1/sync/push"), token: homeToken,
                    body: try SyncWire.encodeBatch(batch.map(EventWireCodec.encode)), contentType: SyncWire.batchContentType)
                #expect(pushed.status == 200, "\(pushed.status) \(pushed.text.prefix(300))")
                guard case .array(let held)? = pushed.json?["held"] else {
                    Issue.record("no held list in \(pushed.text.prefix(300))")
                    return
                }
                #expect(held.compactMap { $0["reason"]?.stringValue }
                    == ["invalid-payload", "unknown-schema-version", "invalid-payload"])
                #expect(try clinic.root.store.heldEvents().map(\.id) == batch.dropFirst().map(\.id))
                #expect(try clinic.root.store.quarantine().isEmpty)
                #expect(try clinic.root.projected.state(of: patient)?.latestPain.nrs == 6)

                let alerts = try await rawRequest("GET", server.url("/v1/alerts"), token: clinicToken)
                #expect(alerts.status == 200)
                guard case .array(let listed)? = alerts.json?["alerts"] else {
                    Issue.record("no alerts list in \(alerts.text.prefix(300))")
                    return
                }
                let kinds = listed.compactMap { $0["kind"]?.stringValue }
                #expect(kinds.filter { $0 == "invalid-payload" }.count == 2, "\(alerts.text.prefix(500))")
                #expect(kinds.contains("unknown-schema-version"), "\(alerts.text.prefix(500))")

                let next = try app.painReport(patient, score: 2)
                let later = try await rawRequest(
                    "POST", server.url("/v1/sync/push"), token: homeToken,
                    body: try SyncWire.encodeBatch([EventWireCodec.encode(next)]), contentType: SyncWire.batchContentType)
                #expect(later.status == 200, "\(later.status) \(later.text.prefix(300))")
                #expect(try clinic.root.store.quarantine().isEmpty)
                #expect(try clinic.root.projected.state(of: patient)?.latestPain.nrs == 2)
            }
        }
    }
}
