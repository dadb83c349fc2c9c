import Foundation
import ProloAudit
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// What a replayed state should show, computed by hand from the history below.
private struct Expected: CustomStringConvertible {
    var injections: Int
    var nrs: Int?
    var odi: Int?
    var amended: [EventID] = []
    var retracted: [EventID] = []
    /// Checked on the recorded basis only (see ``AuditReplayTests/occurredBasisBeforeHistory()``).
    var eventCount: Int?

    var description: String {
        "injections \(injections), NRS \(nrs.map(String.init) ?? "-"), ODI \(odi.map(String.init) ?? "-"), "
            + "amended \(amended.map(\.text)), retracted \(retracted.map(\.text))"
    }
}

/// A bitemporal history on a real clinic (root + laptop, moving events by bundle), with real moments between
/// the steps. All times below are real: `past` is 30 days before the test runs; `T1`…`T7` are taken between steps.
///
/// | step | device | event                                           | occurredAt      | at the root, received |
/// |------|--------|-------------------------------------------------|-----------------|-----------------------|
/// | 1    | root   | consent, exam A (NRS 8, ODI 40), course, inj. A | past, past+1d   | before T1             |
/// | 2    | laptop | injection B, pain NRS 6 (offline)               | now (T1…T2)     | T3…T4 (late)          |
/// | 3    | root   | exam B (NRS 7, ODI 30), backdated               | past+14d        | T2…T3                 |
/// | 3    | root   | pain NRS 5, pain ODI 50                          | now (T2…T3)     | T2…T3                 |
/// | 4    | bundle | laptop → root                                   |                 |                       |
/// | 5    | root   | amends NRS 5 → 3                                | now (T4…T5)     | T4…T5                 |
/// | 6    | laptop | retracts ODI 50 (wrong)                         | now (T5…T6)     | T6…T7                 |
private struct History {
    let clinic: ClinicFixture
    let patient: PatientID = "p-replay"
    let past: Int64
    var moments: [String: Timestamp] = [:]
    var ids: [String: EventID] = [:]

    init(in directory: TemporaryDirectory) throws {
        clinic = try ClinicFixture(in: directory)
        let laptop = try clinic.addDevice("laptop")
        let root = clinic.root
        past = Timestamp.now().millisecondsSinceEpoch - 30 * AuditStory.day
        let day = AuditStory.day
        func at(_ milliseconds: Int64) -> Timestamp { AuditStory.at(milliseconds) }

        // 1. The root back-enters the start of the course.
        let first = try root.store.record(
            [
                try AuditStory.consent(patient, at: at(past)),
                try AuditStory.exam(patient, nrs: 8, odi: 40, at: at(past)),
                try AuditStory.course(patient, at: at(past)),
                try AuditStory.injection(patient, at: at(past + day)),
            ], signedBy: root.key)
        ids["examA"] = first[1].event.id
        ids["injectionA"] = first[3].event.id
        try clinic.transfer(from: root, to: laptop)
        moments["T1"] = moment()

        // 2. The laptop, offline, records an injection and a pain report as they happen.
        ids["injectionB"] = try laptop.store.recordOne(try AuditStory.injection(patient, at: .now()), key: laptop.key).event.id
        ids["pain6"] = try laptop.store.recordOne(try AuditStory.pain(patient, score: 6, at: .now()), key: laptop.key).event.id
        moments["T2"] = moment()

        // 3. The root records a backdated exam and two pain reports as they happen.
        ids["examB"] = try root.store.recordOne(try AuditStory.exam(patient, nrs: 7, odi: 30, at: at(past + 14 * day)), key: root.key).event.id
        ids["pain5"] = try root.store.recordOne(try AuditStory.pain(patient, score: 5, at: .now()), key: root.key).event.id
        ids["odi50"] = try root.store.recordOne(try AuditStory.pain(patient, .odi, score: 50, at: .now()), key: root.key).event.id
        moments["T3"] = moment()

        // 4. The laptop's events arrive late at the root.
        try clinic.transfer(from: laptop, to: root)
        moments["T4"] = moment()

        // 5. The root amends its NRS 5 to 3.
        ids["amendment"] = try root.store.recordOne(try AuditStory.amendPain(ids["pain5"]!, patient, to: 3, at: .now()), key: root.key).event.id
        moments["T5"] = moment()

        // 6. The laptop retracts the ODI 50 (entered in error); the root receives the retraction later.
        try clinic.transfer(from: root, to: laptop)
        ids["retraction"] = try laptop.store.recordOne(try AuditStory.retract(ids["odi50"]!, patient, at: .now()), key: laptop.key).event.id
        moments["T6"] = moment()
        try clinic.transfer(from: laptop, to: root)
        moments["T7"] = moment()
    }

    var root: EventStore { clinic.root.store }
}

private func check(
    _ state: TreatmentState?, _ expected: Expected?, _ label: String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    guard let expected else {
        #expect(
            state?.eventCount == 0, "\(label): expected the empty state, got \(String(describing: state))",
            sourceLocation: sourceLocation)
        return
    }
    let state = try #require(state, "\(label): expected \(expected), got no state", sourceLocation: sourceLocation)
    let got = Expected(
        injections: state.sessionsCompleted, nrs: state.latestPain.nrs, odi: state.latestPain.odi,
        amended: state.amended.map { EventID(stringLiteral: $0) }, retracted: state.retracted.map { EventID(stringLiteral: $0) })
    #expect(state.sessionsCompleted == expected.injections, "\(label): \(got)", sourceLocation: sourceLocation)
    #expect(state.injectionsTotal == expected.injections, "\(label): \(got)", sourceLocation: sourceLocation)
    #expect(state.latestPain.nrs == expected.nrs, "\(label): \(got)", sourceLocation: sourceLocation)
    #expect(state.latestPain.odi == expected.odi, "\(label): \(got)", sourceLocation: sourceLocation)
    #expect(got.amended == expected.amended, "\(label): \(got)", sourceLocation: sourceLocation)
    #expect(got.retracted == expected.retracted, "\(label): \(got)", sourceLocation: sourceLocation)
    if let count = expected.eventCount {
        #expect(state.eventCount == count, "\(label): eventCount \(state.eventCount)", sourceLocation: sourceLocation)
    }
}

@Suite("audit replay: the state as recorded and as occurred")
struct AuditReplayTests {
    @Test("replay by recorded and by occurred at moments between arrivals matches the hand-computed states")
    func bitemporalReplay() throws {
        try TemporaryDirectory.with { directory in
            let history = try History(in: directory)
            let ids = history.ids
            let store = history.root
            func state(_ moment: String, _ basis: AuditReplay.Basis) throws -> TreatmentState? {
                try AuditReplay.state(of: history.patient, in: store, asOf: history.moments[moment]!, by: basis, for: testAuditor).value
            }
            // The root's own clock stamped what it received; the laptop's events really arrived between T3 and T4.
            let received = Dictionary(uniqueKeysWithValues: try store.events(EventFilter(patient: history.patient)).map { ($0.event.id, $0.receivedAt) })
            let m = history.moments
            #expect(received[ids["injectionB"]!]! > m["T3"]! && received[ids["injectionB"]!]! < m["T4"]!)
            #expect(received[ids["retraction"]!]! > m["T6"]! && received[ids["retraction"]!]! < m["T7"]!)

            // By recorded: what the root held at T.
            let recorded: [(String, Expected)] = [
                ("T1", Expected(injections: 1, nrs: 8, odi: 40, eventCount: 4)),
                // The laptop's injection exists (recorded before T2) but the root does not hold it yet.
                ("T2", Expected(injections: 1, nrs: 8, odi: 40, eventCount: 4)),
                // The backdated exam and the two pain reports are held; still not the laptop's injection.
                ("T3", Expected(injections: 1, nrs: 5, odi: 50, eventCount: 7)),
                // The late events arrived: two injections; the NRS 6 occurred before the NRS 5, so 5 stays latest.
                ("T4", Expected(injections: 2, nrs: 5, odi: 50, eventCount: 9)),
                ("T5", Expected(injections: 2, nrs: 3, odi: 50, amended: [ids["pain5"]!], eventCount: 10)),
                // The retraction is recorded on the laptop but not received: the ODI 50 still counts.
                ("T6", Expected(injections: 2, nrs: 3, odi: 50, amended: [ids["pain5"]!], eventCount: 10)),
                ("T7", Expected(injections: 2, nrs: 3, odi: 30, amended: [ids["pain5"]!], retracted: [ids["odi50"]!], eventCount: 11)),
            ]
            for (moment, expected) in recorded {
                try check(try state(moment, .recorded), expected, "\(moment) by recorded")
            }

            // By occurred: what had happened by T, with every correction the root now holds.
            let corrected = Expected(injections: 2, nrs: 3, odi: 30, amended: [ids["pain5"]!], retracted: [ids["odi50"]!])
            let occurred: [(String, Expected)] = [
                // The backdated exam (recorded after T1) had occurred long before: NRS 7, ODI 30.
                ("T1", Expected(injections: 1, nrs: 7, odi: 30)),
                // The laptop's injection and NRS 6 occurred before T2 although the root received them after T3.
                ("T2", Expected(injections: 2, nrs: 6, odi: 30)),
                // The amendment (made after T3) corrects the NRS 5 to 3; the retraction removes the ODI 50.
                ("T3", corrected),
                ("T4", corrected), ("T5", corrected), ("T6", corrected), ("T7", corrected),
            ]
            for (moment, expected) in occurred {
                try check(try state(moment, .occurred), expected, "\(moment) by occurred")
            }

            // Moments in the clinical past: by occurred, the course as it stood; by recorded, nothing was held.
            let fiveDaysIn = AuditStory.at(history.past + 5 * AuditStory.day)
            try check(
                try AuditReplay.state(of: history.patient, in: store, asOf: fiveDaysIn, by: .occurred, for: testAuditor).value,
                Expected(injections: 1, nrs: 8, odi: 40), "past+5d by occurred")
            try check(try AuditReplay.state(of: history.patient, in: store, asOf: fiveDaysIn, by: .recorded, for: testAuditor).value, nil, "past+5d by recorded")
            let fifteenDaysIn = AuditStory.at(history.past + 15 * AuditStory.day)
            try check(
                try AuditReplay.state(of: history.patient, in: store, asOf: fifteenDaysIn, by: .occurred, for: testAuditor).value,
                Expected(injections: 1, nrs: 7, odi: 30), "past+15d by occurred")

            // Now, both bases agree with the read model.
            let now = moment()
            let current = try #require(try history.clinic.root.projected.state(of: history.patient))
            #expect(try AuditReplay.state(of: history.patient, in: store, asOf: now, by: .recorded, for: testAuditor).value == current)
            #expect(try AuditReplay.state(of: history.patient, in: store, asOf: now, by: .occurred, for: testAuditor).value == current)
            #expect(try AuditReplay.patients(in: store) == [history.patient])
        }
    }

    @Test("prolo audit replay --json prints the same states as the library on both bases")
    func replayCommand() throws {
        try TemporaryDirectory.with { directory in
            let history = try History(in: directory)
            for (moment, basis, injections, nrs) in [("T3", "recorded", 1, 5), ("T3", "occurred", 2, 3), ("T2", "occurred", 2, 6)] {
                let result = try CommandRunner.prolo([
                    "audit", "replay", "--store", history.root.path, "--patient", history.patient.text,
                    "--as-of", history.moments[moment]!.text, "--by", basis, "--json",
                ])
                try #require(result.status == 0, "\(result.stderr)")
                let object = try #require(try parseJSON(result.stdout) as? [String: Any], "\(result.stdout)")
                #expect(object["sessionsCompleted"] as? Int == injections, "\(moment) by \(basis)")
                #expect((object["latestPain"] as? [String: Any])?["nrs"] as? Int == nrs, "\(moment) by \(basis)")
            }
        }
    }

    @Test("prolo audit replay before the patient's first event says nothing was known yet, exits 0 and prints the empty state; an unknown patient exits 66")
    func replayCommandBeforeHistory() throws {
        try TemporaryDirectory.with { directory in
            let history = try History(in: directory)
            let store = history.root.path
            let patient = history.patient.text
            // Before the first event arrived here (by recorded) and before anything occurred (by occurred).
            for (moment, basis, words) in [
                (history.moments["T1"]!.millisecondsSinceEpoch - 60 * AuditStory.day, "recorded", "nothing was known yet"),
                (history.past - AuditStory.day, "occurred", "nothing had occurred yet"),
            ] {
                let asOf = AuditStory.at(moment).text
                let text = try CommandRunner.prolo(["audit", "replay", "--store", store, "--patient", patient, "--as-of", asOf, "--by", basis])
                #expect(text.status == 0, "\(basis): \(text.stdout) \(text.stderr)")
                #expect(text.stdout.contains(words) && text.stdout.contains(patient), "\(basis): \(text.stdout)")
                let json = try CommandRunner.prolo([
                    "audit", "replay", "--store", store, "--patient", patient, "--as-of", asOf, "--by", basis, "--json",
                ])
                #expect(json.status == 0, "\(basis): \(json.stderr)")
                let object = try #require(try parseJSON(json.stdout) as? [String: Any], "\(json.stdout)")
                #expect(object["patient"] as? String == patient)
                #expect(object["eventCount"] as? Int == 0)
                #expect(object["sessionsCompleted"] as? Int == 0)
                #expect(object["consent"] as? String == "none")
                #expect(object["courseStatus"] as? String == "none")
                #expect((object["alerts"] as? [Any])?.isEmpty == true)
                // Every patient at that moment: none counts yet, an empty list.
                let all = try CommandRunner.prolo(["audit", "replay", "--store", store, "--as-of", asOf, "--by", basis, "--json"])
                #expect(all.status == 0)
                #expect((try parseJSON(all.stdout) as? [Any])?.isEmpty == true, "\(all.stdout)")
            }
            // A patient of whom the store holds nothing at all is still a mistake worth an exit code.
            let unknown = try CommandRunner.prolo([
                "audit", "replay", "--store", store, "--patient", "p-nobody", "--as-of", Timestamp.now().text,
            ])
            #expect(unknown.status == 66, "\(unknown.stdout) \(unknown.stderr)")
            #expect(unknown.stderr.contains("p-nobody"), "\(unknown.stderr)")
        }
    }

    @Test("by recorded before the first event arrived, the library answers the empty state and logs the read")
    func recordedBasisBeforeHistory() throws {
        try TemporaryDirectory.with { directory in
            let history = try History(in: directory)
            let firstArrival = try #require(try history.root.events(EventFilter(patient: history.patient)).map(\.receivedAt).min())
            let justBefore = Timestamp(millisecondsSinceEpoch: firstArrival.millisecondsSinceEpoch - 1)
            let read = try AuditReplay.state(of: history.patient, in: history.root, asOf: justBefore, by: .recorded, for: testAuditor)
            #expect(read.value == TreatmentState(patient: history.patient))
            #expect(read.value.eventCount == 0)
            #expect(read.accessLogFailure == nil)
            #expect(try history.root.accessLog(patient: history.patient.text).map(\.purpose) == ["audit-replay"])
            // At the moment it arrived, it counts.
            let atArrival = try AuditReplay.state(of: history.patient, in: history.root, asOf: firstArrival, by: .recorded, for: testAuditor)
            #expect(atArrival.value.eventCount > 0)
            #expect {
                try AuditReplay.state(of: "p-nobody", in: history.root, asOf: .now(), by: .recorded, for: testAuditor)
            } throws: { error in
                (error as? StoreError)?.code == .eventNotFound
            }
        }
    }

    @Test("by occurred, before anything of the patient occurred, no event counts: the state is empty")
    func occurredBasisBeforeHistory() throws {
        try TemporaryDirectory.with { directory in
            let history = try History(in: directory)
            let before = AuditStory.at(history.past - AuditStory.day)
            #expect(try AuditReplay.state(of: history.patient, in: history.root, asOf: before, by: .recorded, for: testAuditor).value.eventCount == 0)
            // The corrections (amendment, retraction) of events that had not occurred yet should not make a state.
            let state = try AuditReplay.state(of: history.patient, in: history.root, asOf: before, by: .occurred, for: testAuditor).value
            #expect(state.eventCount == 0, "eventCount \(state.eventCount)")
            // At T1 five events had occurred (consent, exam A, course, injection A, backdated exam B); the
            // amendment and retraction correct events that occurred after T1.
            let atT1 = try AuditReplay.state(of: history.patient, in: history.root, asOf: history.moments["T1"]!, by: .occurred, for: testAuditor).value
            #expect(atT1.eventCount == 5)
        
        }
    }
}
