import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// Held events (validly signed, unreadable payloads) travel in bundles like any event and never block their
/// origin's chain on the receiving side (DESIGN §6, issue 12).
@Suite("Held events in bundle files")
struct HeldEventSyncTests {
    private let patient: PatientID = "p-0001"

    @Test("a held event travels in a bundle, is held on the receiving server too, and its origin's later events follow")
    func heldTravels() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let south = try clinic.addDevice("south-server", role: .clinic)
            var app = ForeignDevice()
            try clinic.enroll(app.key.publicKey, name: "home-app", role: .home, patient: patient)
            let events = [
                try app.painReport(patient, score: 6), try app.painReport(patient, score: 11),
                try app.painReport(patient, score: 4, schemaVersion: 2), try app.painReport(patient, score: 3),
            ]
            try clinic.root.store.append(events)

            let report = try clinic.transfer(from: clinic.root, to: south)
            #expect(report.quarantined == 0 && report.held == 2)
            #expect(try south.store.heldEvents().map(\.id) == [events[1].id, events[2].id])
            #expect(try south.store.heldEvents().map(\.reason.kind) == [.invalidPayload, .unknownSchemaVersion])
            #expect(try south.store.versionVector()[app.key.publicKey.origin.text] == 4)
            #expect(try south.projected.state(of: patient) == clinic.root.projected.state(of: patient))
            #expect(try south.projected.state(of: patient)?.latestPain.nrs == 3)
            #expect(try south.projected.openAlerts().filter(\.isReviewFlag).map(\.raisedBy) == [[events[1].id.text], [events[2].id.text]])

            // Re-sending changes nothing; the next event of the origin arrives like any other.
            let again = try clinic.transfer(from: clinic.root, to: south)
            #expect(again.new == 0 && again.held == 0)
            let next = try app.painReport(patient, score: 2)
            try clinic.root.store.append([next])
            let more = try clinic.transfer(from: clinic.root, to: south)
            #expect(more.new == 1 && more.quarantined == 0 && more.held == 0)
            #expect(try south.projected.state(of: patient)?.latestPain.nrs == 2)
        }
    }
}
