import Foundation
import PropertyBased
import ProloDomain
@testable import ProloProjections
import ProloStore
import ProloTestSupport
import Testing

/// The read model folds an event that comes after everything folded onto the patient's stored checkpoint, and
/// re-folds the patient for anything else (issue 13, item 1). Both paths must give what folding every event again
/// gives.
@Suite("Incremental fold: a checkpoint per patient")
struct IncrementalFoldTests {
    @Test("folding each fact onto the checkpoint, or again from nothing when it cannot, equals folding everything again at every step; facts recorded in clinical order take the checkpoint")
    func checkpointEqualsRefold() async throws {
        await propertyCheck(count: 6, input: Gen.int(in: 1...1_000_000)) { seed in
            try TemporaryDirectory.with { directory in
                let history = try RandomHistory.make(
                    in: directory, seed: UInt64(seed), deviceCount: 1, patients: 2, count: 120,
                    clinicalTime: .followsRecording(backEntered: 0.1))
                var checkpoints: [PatientID: FoldCheckpoint] = [:]
                var facts: [PatientID: PatientFacts] = [:]
                var continued = 0
                for event in history.events[0] {
                    let patient = try #require(event.patient)
                    let fact = try ClinicalFact(event: event)
                    facts[patient, default: PatientFacts(patient: patient)].insert(fact)
                    let refolded = TreatmentFold.checkpoint(of: facts[patient]!, policy: .standard)
                    var checkpoint = checkpoints[patient] ?? FoldCheckpoint(patient: patient, policy: .standard)
                    if checkpoint.canContinue(with: fact) {
                        checkpoint.continue(with: fact)
                        continued += 1
                        #expect(checkpoint == refolded, "seed \(seed): continuing with \(fact.type) differs from a re-fold")
                        #expect(checkpoint.finished() == refolded.finished())
                    } else {
                        checkpoint = refolded
                    }
                    checkpoints[patient] = checkpoint
                    let stored = try FoldCheckpoint(patient: patient, policy: .standard, encoded: checkpoint.encoded)
                    #expect(stored == checkpoint, "seed \(seed): the stored checkpoint does not read back")
                }
                #expect(continued * 2 > history.events[0].count, "seed \(seed): only \(continued) of 120 continued")
            }
        }
    }

    @Test("a long history (over 500 events) recorded in clinical order, with a device's events arriving late in the middle, gives the read models of a rebuild and the pure fold's state")
    func longHistoriesWithLateEvents() throws {
        try TemporaryDirectory.with { directory in
            let history = try RandomHistory.make(
                in: directory, seed: 13, deviceCount: 2, patients: 1, count: 540,
                clinicalTime: .followsRecording(backEntered: 0.03))
            let store = try replica(of: history, in: directory)
            // Device 0 a few events at a time; device 1's first half after device 0's first half, its second half last.
            let (first, second) = (history.events[0], history.events[1])
            var random = SeededGenerator(seed: 13)
            func deliver(_ events: ArraySlice<Event>) throws {
                var rest = events
                while !rest.isEmpty {
                    let take = Int.random(in: 1...6, using: &random)
                    try store.store.append(Array(rest.prefix(take)))
                    rest = rest.dropFirst(take)
                }
            }
            try deliver(first.prefix(first.count / 2))
            try store.store.append(Array(second.prefix(second.count / 2)))
            try deliver(first.dropFirst(first.count / 2))
            try store.store.append(Array(second.dropFirst(second.count / 2)))

            let all = Array(history.events.joined())
            for patient in Set(all.compactMap(\.patient)) {
                #expect(all.filter { $0.patient == patient }.count > 500)
                #expect(try store.state(of: patient) == TreatmentFold.state(of: patient, events: all))
            }
            let incremental = try readModelDump(store)
            try store.rebuild()
            #expect(try readModelDump(store) == incremental)
        }
    }

    @Test("a rebuild that reads the next patients while the last ones fold, over many chunks, gives the read models the appends made, with progress up to the total")
    func pipelinedRebuild() throws {
        try TemporaryDirectory.with { directory in
            let history = try RandomHistory.make(
                in: directory, seed: 7, deviceCount: 1, patients: 15, count: 450,
                clinicalTime: .followsRecording(backEntered: 0.05))
            let store = try replica(of: history, in: directory)
            try store.store.append(history.events[0])
            let incremental = try readModelDump(store)
            var reports: [(Int, Int)] = []
            try store.store.write { connection throws(StoreError) in
                // Chunks of two patients or so (about 30 events each): the 15 histories fold in several, two at a time.
                try TreatmentReadModel.rebuild(connection, policy: .standard, chunkRows: 30) { reports.append(($0, $1)) }
            }
            #expect(try readModelDump(store) == incremental)
            #expect(reports.count >= 5)
            #expect(reports.map(\.0) == reports.map(\.0).sorted())
            #expect(reports.last?.0 == history.events[0].filter { $0.patient != nil }.count)
            #expect(reports.allSatisfy { $0.1 == reports.last?.0 })
        }
    }

    @Test("random arrival of two devices' long histories (about 250 events for one patient, late events throughout): after every batch the read model equals the pure fold, and at the end a rebuild", arguments: [3, 17, 29, 41] as [UInt64])
    func lateArrivalsFoldOntoTheBase(seed: UInt64) throws {
        try TemporaryDirectory.with { directory in
            let history = try RandomHistory.make(
                in: directory, seed: seed, deviceCount: 2, patients: 1, count: 250,
                clinicalTime: .followsRecording(backEntered: 0.02))
            let store = try replica(of: history, in: directory)
            var random = SeededGenerator(seed: seed)
            var delivered: [Event] = []
            for batch in history.randomArrival(using: &random) {
                try store.store.append(batch)
                delivered += batch
                let patient = try #require(batch[0].patient)
                #expect(
                    try store.state(of: patient) == TreatmentFold.state(of: patient, events: delivered),
                    "seed \(seed): after \(delivered.count) events")
            }
            let incremental = try readModelDump(store)
            try store.rebuild()
            #expect(try readModelDump(store) == incremental)
        }
    }

    @Test("an event recorded before the patient's latest is folded onto the base checkpoint with the facts after it, not from the whole history: the base stays where it was and the state equals the pure fold")
    func lateEventUsesTheBase() throws {
        try TemporaryDirectory.with { directory in
            let patient: PatientID = "p-0001"
            let ((clinic, clinicKey), (home, homeKey), store) = try laptopHomeAndServer(in: directory)
            let start: Int64 = 1_790_000_000_000
            let minute: Int64 = 60_000
            // 200 pain reports a minute apart from the laptop: a new patient is folded from the log, which places the
            // base with the latest baseLag facts after it.
            let laptop = try (0..<200).map { index in
                try Fixtures.painDraft(patient: patient, score: index % 11, at: start + Int64(index) * minute)
            }
            var all = try clinic.record(laptop, signedBy: clinicKey).map(\.event)
            try store.store.append(all)
            let placed = try #require(try base(of: patient, in: store))
            #expect(placed == start + Int64(199 - TreatmentReadModel.baseLag) * minute)

            func homeReport(at minutes: Int64) throws -> Event {
                try home.record(
                    [try Fixtures.painDraft(patient: patient, score: 7, at: start + minutes * minute + 30_000)],
                    signedBy: homeKey)[0].event
            }
            // Later late events, after the base: folded onto it; a whole re-fold would have moved the base.
            for minutes: Int64 in [190, 195, 180, 199, 170] {
                let late = try homeReport(at: minutes)
                try store.store.append([late])
                all.append(late)
                #expect(try base(of: patient, in: store) == placed)
                #expect(try store.state(of: patient) == TreatmentFold.state(of: patient, events: all))
            }

            // One from before the base: the patient is folded again and the base moves.
            let old = try homeReport(at: 100)
            try store.store.append([old])
            all.append(old)
            #expect(try base(of: patient, in: store) != placed)
            #expect(try store.state(of: patient) == TreatmentFold.state(of: patient, events: all))
            let incremental = try readModelDump(store)
            try store.rebuild()
            #expect(try readModelDump(store) == incremental)
        }
    }

    @Test("a base holds every correction and its target: events recorded before the latest but after the base still fold onto it when an amendment was recorded after them")
    func correctionsStayInTheBase() throws {
        try TemporaryDirectory.with { directory in
            let patient: PatientID = "p-0001"
            let ((clinic, clinicKey), (home, homeKey), store) = try laptopHomeAndServer(in: directory)
            let start: Int64 = 1_790_000_000_000
            let minute: Int64 = 60_000
            let reports = try (0..<100).map { index in
                try Fixtures.painDraft(patient: patient, score: index % 11, at: start + Int64(index) * minute)
            }
            var all = try clinic.record(reports, signedBy: clinicKey).map(\.event)
            // The report of minute 40 amended at minute 100: a correction re-folds the patient and places the base
            // with the latest baseLag reports after it; it holds the amendment, recorded after them, too.
            let corrected = PainReported(
                instrument: .nrs, score: 2, reporter: Reporter(role: .patient, id: Identifier(stringLiteral: patient.text)))
            let amendment = try EventAmended(
                target: all[40].id, correctedPayload: corrected, reason: "Mistyped score.", amendedBy: "prac-0012")
            all += try clinic.record(
                [try Fixtures.draft(amendment, patient: patient, at: start + 100 * minute)], signedBy: clinicKey
            ).map(\.event)
            try store.store.append(all)
            let placed = try #require(try base(of: patient, in: store))
            #expect(placed == start + Int64(99 - TreatmentReadModel.baseLag) * minute)
            for minutes: Int64 in [95, 99, 92] {
                let late = try home.record(
                    [try Fixtures.painDraft(patient: patient, score: 8, at: start + minutes * minute + 30_000)],
                    signedBy: homeKey)[0].event
                try store.store.append([late])
                all.append(late)
                #expect(try base(of: patient, in: store) == placed, "folded onto the base: a re-fold would move it")
                #expect(try store.state(of: patient) == TreatmentFold.state(of: patient, events: all))
            }
        }
    }

    /// A laptop's and a home device's stores, and a server's projected store that knows both.
    @Test("a fact at the latest fact's clinical time continues the checkpoint when it comes after it in canonical order (a home app's reports of one minute, one visit's entries), and not when it comes before; the read model equals the pure fold and keeps its base")
    func tiesInClinicalTime() throws {
        try TemporaryDirectory.with { directory in
            let patient: PatientID = "p-0001"
            let ((clinic, clinicKey), (home, homeKey), store) = try laptopHomeAndServer(in: directory)
            let start: Int64 = 1_790_000_000_000
            let minute: Int64 = 60_000
            var all = try clinic.record(
                (0..<40).map { try Fixtures.painDraft(patient: patient, score: $0 % 11, at: start + Int64($0) * minute) },
                signedBy: clinicKey
            ).map(\.event)
            try store.store.append(all)
            let placed = try #require(try base(of: patient, in: store))
            let visit = start + 40 * minute
            // Recorded first, pushed last: at the visit's time, but before the home app's reports in canonical order.
            let early = try clinic.record([try Fixtures.painDraft(patient: patient, score: 9, at: visit)], signedBy: clinicKey)[0].event
            let tied = try home.record(
                (0..<3).map { try Fixtures.painDraft(patient: patient, score: $0, at: visit) }, signedBy: homeKey
            ).map(\.event)

            var facts = PatientFacts(patient: patient)
            for event in all + tied[0..<1] { facts.insert(try ClinicalFact(event: event)) }
            var checkpoint = TreatmentFold.checkpoint(of: facts, policy: .standard)
            for event in tied.dropFirst() {
                let fact = try ClinicalFact(event: event)
                #expect(checkpoint.canContinue(with: fact), "a tie that comes after the latest in canonical order")
                checkpoint.continue(with: fact)
                facts.insert(fact)
                #expect(checkpoint == TreatmentFold.checkpoint(of: facts, policy: .standard))
            }
            #expect(!checkpoint.canContinue(with: try ClinicalFact(event: early)), "a tie that comes before it")

            try store.store.append(tied)
            all += tied
            #expect(try base(of: patient, in: store) == placed, "the ties continued the checkpoint: no re-fold")
            #expect(try store.state(of: patient) == TreatmentFold.state(of: patient, events: all))
            try store.store.append([early])
            all.append(early)
            #expect(try store.state(of: patient) == TreatmentFold.state(of: patient, events: all))
            let incremental = try readModelDump(store)
            try store.rebuild()
            #expect(try readModelDump(store) == incremental)
        }
    }

    private func laptopHomeAndServer(in directory: TemporaryDirectory) throws
        -> ((EventStore, DeviceKey), (EventStore, DeviceKey), ProjectedStore)
    {
        let laptop = try Fixtures.makeStore(in: directory, name: "laptop", deviceName: "laptop")
        let home = try Fixtures.makeStore(in: directory, name: "home", deviceName: "home")
        let store = try ProjectedStore.create(at: directory.file("server.sqlite"), deviceName: "server")
        try store.store.registerOrigin(laptop.1.publicKey, name: "laptop")
        try store.store.registerOrigin(home.1.publicKey, name: "home")
        return (laptop, home, store)
    }

    /// The clinical time the patient's base checkpoint holds every fact up to, or `nil` when it has none.
    private func base(of patient: PatientID, in store: ProjectedStore) throws -> Int64? {
        try store.store.read { connection throws(StoreError) -> Int64? in
            let statement = try connection.statement("SELECT through_ms FROM patient_fold_base WHERE patient = ?")
            statement.bind(1, patient.text)
            defer { statement.reset() }
            return try statement.step() ? statement.int64(0) : nil
        }
    }

    /// A projected store that knows every device of `history` and holds none of its events yet.
    private func replica(of history: RandomHistory, in directory: TemporaryDirectory) throws -> ProjectedStore {
        let store = try ProjectedStore.create(at: directory.file("replica.sqlite"), deviceName: "replica")
        for device in history.devices {
            try store.store.registerOrigin(device.key.publicKey, name: device.store.identity.deviceName)
        }
        return store
    }
}
