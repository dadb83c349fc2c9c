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
            let store = try ProjectedStore.create(at: directory.file("replica.sqlite"), deviceName: "replica")
            for device in history.devices {
                try store.store.registerOrigin(device.key.publicKey, name: device.store.identity.deviceName)
            }
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
}
