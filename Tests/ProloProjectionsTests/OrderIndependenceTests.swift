import Foundation
import PropertyBased
import ProloDomain
import ProloProjections
import ProloStore
import ProloTestSupport
import Testing

@Suite("The treatment projection does not depend on arrival order")
struct OrderIndependenceTests {
    @Test("random histories from several devices, applied in random orders with late arrivals, give identical states and tables, equal to rebuild and to the pure fold")
    func randomArrivalOrders() async throws {
        await propertyCheck(count: 12, input: Gen.int(in: 1...1_000_000)) { seed in
            try TemporaryDirectory.with { directory in
                var random = SeededGenerator(seed: UInt64(seed))
                let history = try RandomHistory.make(in: directory, seed: UInt64(seed))
                var dumps: [[String]] = []
                var states: [[PatientID: TreatmentState]] = []
                for replica in 0..<3 {
                    let store = try ProjectedStore.create(at: directory.file("replica-\(replica).sqlite"), deviceName: "replica")
                    for device in history.devices {
                        try store.store.registerOrigin(device.key.publicKey, name: device.store.identity.deviceName)
                    }
                    for batch in history.randomArrival(using: &random) { try store.store.append(batch) }
                    let incremental = try readModelDump(store)
                    try store.rebuild()
                    #expect(try readModelDump(store) == incremental, "incremental differs from rebuild (seed \(seed))")
                    dumps.append(incremental)
                    var byPatient: [PatientID: TreatmentState] = [:]
                    for patient in Set(history.events.joined().compactMap(\.patient)) {
                        byPatient[patient] = try store.state(of: patient)
                    }
                    states.append(byPatient)
                }
                #expect(dumps.allSatisfy { $0 == dumps[0] }, "replicas' read models differ (seed \(seed))")
                #expect(states.allSatisfy { $0 == states[0] }, "replicas' states differ (seed \(seed))")
                let all = Array(history.events.joined())
                for (patient, state) in states[0] {
                    let folded = try TreatmentFold.state(of: patient, events: all.shuffled(using: &random))
                    #expect(folded == state, "the pure fold differs from the read model for \(patient) (seed \(seed))")
                }
            }
        }
    }
}
