import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloTestSupport
import Testing

/// A validly signed event whose payload this build cannot read is authentic history: held in the log, flagged,
/// left out of the read models, shown to the clinic, and folded by a later build's rebuild (DESIGN §6, issue 12).
@Suite("Held events: validly signed, unreadable payloads")
struct HeldEventTests {
    /// One way a device written elsewhere gets a payload wrong, and the flag it earns.
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let kind: UnreadablePayload.Kind
        /// Words the flag's detail must contain, so an operator can tell where the problem is.
        let detailMentions: String
        /// A home device may only write about its patient (the registry quarantines anything else), so a
        /// patient-less clinical event comes from a clinic device.
        var role: DeviceEnrolled.Role = .home
        let seal: @Sendable (inout ForeignDevice, PatientID) throws -> Event
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "an NRS of 11", kind: .invalidPayload, detailMentions: "$.score") { device, patient in
            try device.painReport(patient, score: 11)
        },
        Case(name: "schema version 2", kind: .unknownSchemaVersion, detailMentions: "schema version 2") { device, patient in
            try device.painReport(patient, score: 4, schemaVersion: 2)
        },
        // Issue 15: side-effect.reported is at v2 now; v3 is unknown to this build, and a report marked v1 may not
        // carry what only v2 has.
        Case(name: "side-effect.reported schema version 3", kind: .unknownSchemaVersion, detailMentions: "schema version 3") {
            device, patient in
            try device.seal(
                .sideEffectReported, schemaVersion: 3, patient: patient, body: .json(HeldEventTests.report(patient)),
                author: Author(id: patient, role: .patient))
        },
        Case(name: "a v1 side-effect report with v2's local signs", kind: .invalidPayload, detailMentions: "$.localSigns") {
            device, patient in
            try device.seal(
                .sideEffectReported, schemaVersion: 1, patient: patient,
                body: .json(HeldEventTests.report(patient, extra: #","localSigns":["redness"]"#)),
                author: Author(id: patient, role: .patient))
        },
        Case(name: "a body that does not inflate", kind: .invalidPayload, detailMentions: "inflate") { device, patient in
            try device.seal(.painReported, patient: patient, body: .raw([0x78, 0x9c, 0xde, 0xad, 0xbe, 0xef]))
        },
        Case(name: "a body that is not JSON", kind: .invalidPayload, detailMentions: "$") { device, patient in
            try device.seal(.painReported, patient: patient, body: .json("score: 4"))
        },
        Case(name: "a clinical event without a patient", kind: .invalidPayload, detailMentions: "patient", role: .clinic) {
            device, _ in
            try device.seal(.painReported, patient: nil, body: .json(#"{"instrument":"nrs","score":4}"#))
        },
    ]

    private let patient: PatientID = "p-0001"

    /// A side-effect report's JSON (bruising, grade 1), with `extra` members spliced in.
    static func report(_ patient: PatientID, extra: String = "") -> String {
        #"{"grade":1,"kinds":["bruising"],"onset":"2026-11-02T19:00:00Z","reporter":{"id":"\#(patient)","role":"patient"}\#(extra)}"#
    }

    @Test("a v1 side-effect report from a device with an older catalog is read, upcast and folded, not held (issue 15)")
    func v1ReportIsFolded() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            var app = ForeignDevice()
            try clinic.enroll(app.key.publicKey, name: "app", role: .home, patient: patient)
            let v1 = try app.seal(
                .sideEffectReported, schemaVersion: 1, patient: patient,
                body: .json(#"{"grade":3,"kinds":["breathlessness"],"onset":"2026-11-02T19:00:00Z","reporter":{"id":"p-0001","role":"patient"}}"#),
                author: Author(id: patient, role: .patient))
            let outcome = try clinic.root.store.append([v1])
            #expect(outcome.held.isEmpty && outcome.appended.count == 1)
            let state = try #require(try clinic.root.projected.state(of: patient))
            #expect(Set(state.openAlerts.map(\.kind)) == ["breathlessness-or-chest-pain", "serious-adverse-event"])
        }
    }

    @Test("it is stored and flagged with its reason, left out of the fold, shown as a review flag; its chain goes on",
        arguments: cases)
    func heldNotRefused(_ bad: Case) throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            var app = ForeignDevice()
            try clinic.enroll(
                app.key.publicKey, name: "app", role: bad.role, patient: bad.role == .home ? patient : nil)
            let before = try app.painReport(patient, score: 6)
            let held = try bad.seal(&app, patient)
            let outcome = try clinic.root.store.append([before, held])

            #expect(outcome.appended.map(\.event.id) == [before.id, held.id])
            #expect(outcome.quarantined.isEmpty)
            let flagged = try #require(outcome.held.first)
            #expect(outcome.held.count == 1 && flagged.id == held.id && flagged.reason.kind == bad.kind)
            #expect(flagged.reason.detail.contains(bad.detailMentions), "\(flagged.reason.detail)")
            #expect(try clinic.root.store.heldEvents().map(\.id) == [held.id])
            #expect(try clinic.root.store.event(id: held.id) != nil)

            // Left out of the fold: the state is the fold of the readable events alone, incrementally and rebuilt.
            let readable = try TreatmentFold.state(of: patient, events: [before])
            #expect(try clinic.root.projected.state(of: patient) == readable)
            #expect(try TreatmentFold.state(of: patient, events: [before, held]) == readable)
            try clinic.root.projected.rebuild()
            #expect(try clinic.root.projected.state(of: patient) == readable)
            #expect(try clinic.root.store.heldEvents().map(\.id) == [held.id])

            // Shown to the clinic as a review flag that names the event.
            let review = try #require(try clinic.root.projected.openAlerts().first { $0.kind == bad.kind.rawValue })
            #expect(review.isReviewFlag && review.raisedBy == [held.id.text])

            // The chain stays whole: the origin's next event is admitted, not quarantined for a missing link.
            let after = try app.painReport(patient, score: 3)
            let next = try clinic.root.store.append([after])
            #expect(next.appended.map(\.event.id) == [after.id] && next.quarantined.isEmpty && next.held.isEmpty)
            #expect(try clinic.root.projected.state(of: patient)?.latestPain.nrs == 3)
        }
    }

    @Test("a held event waiting in quarantine for its enrollment is still held when the enrollment arrives")
    func heldFromQuarantine() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            var app = ForeignDevice()
            let held = try app.painReport(patient, score: 11)
            let waiting = try clinic.root.store.append([held])
            #expect(waiting.quarantined.map(\.id) == [held.id])
            try clinic.enroll(app.key.publicKey, name: "home-app", role: .home, patient: patient)
            #expect(try clinic.root.store.heldEvents().map(\.id) == [held.id])
            #expect(try clinic.root.projected.state(of: patient) == nil)
        }
    }

    @Test("an event an earlier build held is folded once a build that reads it opens the store or rebuilds")
    func foldedAfterUpgrade() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            var app = ForeignDevice()
            try clinic.enroll(app.key.publicKey, name: "home-app", role: .home, patient: patient)
            let first = try app.painReport(patient, score: 6)
            let second = try app.painReport(patient, score: 2)
            try clinic.root.store.append([first, second])
            // What an older build, which did not read `second`'s schema version, would have left: a hold on it.
            func holdAsAnOlderBuildWould(_ store: EventStore) throws {
                try store.write { connection throws(StoreError) in
                    try connection.execute(
                        "INSERT INTO event_flags (id, flag, detail) VALUES ('\(second.id)', 'unknown-schema-version', 'older build')")
                }
            }
            try holdAsAnOlderBuildWould(clinic.root.store)
            #expect(try clinic.root.store.heldEvents().map(\.id) == [second.id])
            #expect(try clinic.root.projected.openAlerts().contains { $0.kind == "unknown-schema-version" })
            #expect(try clinic.root.store.holdsReadableEvents())
            let path = directory.file("root.sqlite")
            let reopened = try ProjectedStore.open(at: path)
            #expect(try reopened.store.heldEvents().isEmpty)
            #expect(try reopened.state(of: patient)?.latestPain.nrs == 2)
            #expect(try reopened.openAlerts().allSatisfy { $0.kind != "unknown-schema-version" })
            try holdAsAnOlderBuildWould(reopened.store)
            try reopened.rebuild()
            #expect(try reopened.store.heldEvents().isEmpty)
            #expect(try reopened.state(of: patient)?.latestPain.nrs == 2)
        }
    }
}
