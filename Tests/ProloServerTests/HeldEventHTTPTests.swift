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

    /// A clinic with a home app built from the envelope alone enrolled for the patient, its patient token and a
    /// clinic token.
    private func homeApp(in directory: TemporaryDirectory) throws
        -> (clinic: ClinicFixture, app: ForeignDevice, homeToken: String, clinicToken: String)
    {
        let clinic = try ClinicFixture(in: directory)
        let app = ForeignDevice()
        try clinic.enroll(app.key.publicKey, name: "home-app", role: .home, patient: patient)
        let homeToken = try clinic.root.store.issueToken(device: "home-app", scope: "patient:\(patient)", expiresAt: nil).1
        let clinicToken = try clinic.root.store.issueToken(device: clinic.root.name, scope: "clinic", expiresAt: nil).1
        return (clinic, app, homeToken, clinicToken)
    }

    @Test("a home app's unreadable events are held with 200, shown in /v1/alerts, and its next events still arrive")
    func heldOverHTTP() async throws {
        try await TemporaryDirectory.with { directory in
            let (clinic, enrolled, homeToken, clinicToken) = try homeApp(in: directory)
            var app = enrolled
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

    @Test(
        "a home app's event whose patientPrev is wrong is held broken-patient-link with 200: out of the read models, in /v1/alerts, out of the patient's slice, and its next events still arrive"
    )
    func brokenPatientLinkOverHTTP() async throws {
        try await TemporaryDirectory.with { directory in
            let (clinic, enrolled, homeToken, clinicToken) = try homeApp(in: directory)
            var app = enrolled
            let first = try app.painReport(patient, score: 6)
            let unlinked = try app.painReport(patient, score: 9, patientPrev: .some(nil))  // claims to be the first again
            let next = try app.painReport(patient, score: 3)  // links to the unlinked one, as the app recorded it
            try await withServer(device: clinic.root) { server in
                func push(_ events: [Event]) async throws -> RawResponse {
                    try await rawRequest(
                        "POST", server.url("/v1/sync/push"), token: homeToken,
                        body: try SyncWire.encodeBatch(events.map(EventWireCodec.encode)),
                        contentType: SyncWire.batchContentType)
                }
                let pushed = try await push([first, unlinked])
                #expect(pushed.status == 200, "\(pushed.status) \(pushed.text.prefix(300))")
                #expect(try clinic.root.store.quarantine().isEmpty)
                let held = try clinic.root.store.reviewHeldEvents()
                #expect(held.map(\.id) == [unlinked.id] && held.map(\.hold) == [.brokenPatientLink])
                #expect(try clinic.root.projected.state(of: patient)?.latestPain.nrs == 6)

                let alerts = try await rawRequest("GET", server.url("/v1/alerts"), token: clinicToken)
                #expect(alerts.status == 200)
                #expect(alerts.text.contains(#""broken-patient-link""#), "\(alerts.text.prefix(500))")

                let later = try await push([next])
                #expect(later.status == 200, "\(later.status) \(later.text.prefix(300))")
                #expect(try clinic.root.store.quarantine().isEmpty)
                #expect(try clinic.root.projected.state(of: patient)?.latestPain.nrs == 3)
                var slice: [EventID] = []
                try clinic.root.store.scanMissing(from: VersionVector(), patient: patient) { stored throws(StoreError) in
                    slice.append(stored.event.id)
                    return true
                }
                #expect(slice.contains(first.id) && slice.contains(next.id) && !slice.contains(unlinked.id))
            }
        }
    }
}
