import Foundation
import ProloAudit
import ProloDomain
import ProloPostgres
import ProloProjections
import ProloStore
import ProloTestSupport
import Testing

@Suite(
    "PostgreSQL appends from many devices at once (issue 14)",
    .requires(.postgres, "concurrent appends into PostgreSQL are not tried"))
struct ConcurrentAppendTests {
    @Test("50 devices pushing at once, each on its own connection, while a late enrollment admits a device's waiting events: nothing lost, no deadlock, every chain intact, and each patient's read model (seven patients every device writes about) the fold of all its events")
    func fiftyDevicesAtOnce() async throws {
        let devices = 50
        let batches = 6
        let perBatch = 20
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let hub = try clinic.addDevice("hub")
            var apps = (0..<devices).map { _ in ForeignDevice() }
            for (index, app) in apps.enumerated() { try clinic.enroll(app.key.publicKey, name: "app-\(index)", role: .clinic) }
            let registryEvents = try clinic.root.store.events().map(\.event)
            // Each device records about a few patients that other devices record about too.
            var pushes: [[[Event]]] = []
            for index in apps.indices {
                var chain: [[Event]] = []
                for batch in 0..<batches {
                    chain.append(
                        try (0..<perBatch).map { event in
                            try apps[index].painReport(PatientID(stringLiteral: "p-\((index + batch + event) % 7)"), score: event % 11)
                        })
                }
                pushes.append(chain)
            }
            // A device whose enrollment arrives while its events are being pushed.
            var late = ForeignDevice()
            let lateEvents = try (0..<perBatch).map { _ in try late.painReport("p-late", score: 4) }
            let lateEnrollment = try clinic.enroll(late.key.publicKey, name: "late", role: .clinic).event
            try await TestDatabase.with { url in
                try await PostgresLog.with(url) { log throws(StoreError) in
                    _ = try await log.moveUp(from: hub.store)
                    try await log.append(registryEvents)
                }
                let before = try await PostgresLog.with(url) { log throws(StoreError) in try await log.count() }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for chain in pushes {
                        group.addTask {
                            try await PostgresLog.with(url) { log throws(StoreError) in
                                for batch in chain { try await log.append(batch) }
                            }
                        }
                    }
                    group.addTask {
                        try await PostgresLog.with(url) { log throws(StoreError) in
                            for event in lateEvents { try await log.append([event]) }
                        }
                    }
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(200))
                        try await PostgresLog.with(url) { log throws(StoreError) in try await log.append([lateEnrollment]) }
                    }
                    try await group.waitForAll()
                }
                try await PostgresLog.with(url) { log throws(StoreError) in
                    #expect(try await log.count() == before + devices * batches * perBatch + perBatch + 1)
                    let vector = try await log.versionVector()
                    for app in apps { #expect(vector[app.key.publicKey.origin.text] == Int64(batches * perBatch)) }
                    #expect(vector[late.key.publicKey.origin.text] == Int64(perBatch))
                    #expect(try await log.texts("SELECT id FROM quarantine").isEmpty)
                    let report = try await log.verify()
                    #expect(report.isClean)
                    // Batches about one patient from different devices folded one after the other (the patient
                    // locks), none onto a checkpoint another had replaced meanwhile.
                    for patient in (0..<7).map({ PatientID(stringLiteral: "p-\($0)") }) + ["p-late"] {
                        var facts = PatientFacts(patient: patient)
                        for stored in try await log.events(EventFilter(patient: patient)) {
                            facts.insert(try PatientFoldUpdate.fact(of: stored.event))
                        }
                        #expect(try await log.state(of: patient) == TreatmentFold.state(of: facts), "patient \(patient)")
                    }
                    #expect(report.eventsChecked == before + devices * batches * perBatch + perBatch + 1)
                }
            }
        }
    }
}
