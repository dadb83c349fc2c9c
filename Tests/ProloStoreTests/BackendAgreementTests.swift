import Foundation
import ProloDomain
@testable import ProloStore
import ProloTestSupport
import Testing

/// The append path's seam holds when two backends behind it agree: the same batches through a SQLite store's
/// `append` and through the shared driver on the memory backend give the same outcome, batch by batch, and end with
/// the same quarantine, fork evidence and registry. (PostgreSQL's backend is held against SQLite end to end by the
/// conformance suites in ProloPostgresTests.)
@Suite("The memory backend and SQLite agree, batch by batch")
struct BackendAgreementTests {
    static func pain(_ device: inout ForeignDevice, _ patient: PatientID, _ score: Int, at wall: Int64) throws -> Event {
        try device.seal(
            .painReported, patient: patient,
            body: .json(#"{"instrument":"nrs","reporter":{"id":"\#(patient)","role":"patient"},"score":\#(score)}"#),
            wallMilliseconds: wall, author: Author(id: patient, role: .patient))
    }

    @Test(
        "any schedule of batches (gaps, repeats, an enrollment and a revocation, a key used on two devices) gives the same outcome on both backends",
        arguments: 0..<30)
    func agree(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed &+ 7_001)
        try TemporaryDirectory.with { directory in
            let (store, _) = try Fixtures.makeStore(in: directory, name: "server", deviceName: "server")
            let key = DeviceKey()
            var tablet = ForeignDevice(key: key)
            var restored = ForeignDevice(key: key)  // the tablet's key restored onto a second device: a fork
            var laptop = ForeignDevice()
            var admin = ForeignDevice()
            var home = ForeignDevice()  // enrolled by one of the events: what it records waits for that
            try store.registerOrigin(key.publicKey, name: "tablet")
            try store.registerOrigin(laptop.key.publicKey, name: "laptop")
            try store.registerOrigin(admin.key.publicKey, name: "admin", role: .root)
            let patients: [PatientID] = ["p-1", "p-2"]
            let base = Int64(Date().timeIntervalSince1970 * 1000)
            var events: [Event] = [
                try admin.seal(
                    .deviceEnrolled, patient: nil,
                    body: .json(
                        #"{"deviceName":"home","enrolledBy":"admin-1","patient":"p-1","publicKey":"\#(home.key.publicKey.base64)","role":"home"}"#),
                    wallMilliseconds: base + 1, author: Author(id: "admin-1", role: .admin))
            ]
            if seed % 2 == 0 {
                // The laptop revoked between its second and third event: those after are held wherever they land.
                events.append(
                    try admin.seal(
                        .deviceRevoked, patient: nil,
                        body: .json(
                            #"{"publicKey":"\#(laptop.key.publicKey.base64)","reason":"stolen","revokedBy":"admin-1"}"#),
                        wallMilliseconds: base + 17, author: Author(id: "admin-1", role: .admin)))
            }
            for index in 0..<5 { events.append(try Self.pain(&tablet, patients[index % 2], index, at: base + 10 * Int64(index))) }
            let fromLaptop = try (0..<4).map { index in
                try Self.pain(&laptop, patients[index % 2], index, at: base + 10 * Int64(index) + 5)
            }
            events += fromLaptop
            let fromHome = try (0..<3).map { index in try Self.pain(&home, "p-1", index, at: base + 10 * Int64(index) + 3) }
            events += fromHome
            if seed % 3 != 0 {
                for index in 0..<Int.random(in: 1...3, using: &generator) {
                    events.append(try Self.pain(&restored, patients[0], 9 - index, at: base + 10 * Int64(index) + 7))
                }
            }
            var remaining = events.shuffled(using: &generator)
            var memory = MemoryLog()
            var registry = try store.registry()
            var round = 0
            while !remaining.isEmpty {
                round += 1
                var batch = Array(remaining.prefix(Int.random(in: 1...4, using: &generator)))
                remaining.removeFirst(batch.count)
                // A repeat of something delivered before, now and then.
                if round > 1, Bool.random(using: &generator), let again = events.randomElement(using: &generator) {
                    batch.append(again)
                }
                let onSQLite = try store.append(batch)
                var driver = AdmissionDriver(
                    backend: memory,
                    admission: EventAdmission(
                        registry: registry, ownOrigin: store.identity.origin,
                        now: Int64(Date().timeIntervalSince1970 * 1000)))
                try driver.receive(batch, fromQuarantine: false)
                try driver.retryAll()
                let inMemory = driver.outcome
                let where_ = "seed \(seed), round \(round)"
                #expect(onSQLite.appended.map(\.event.id) == inMemory.appended.map(\.event.id), "\(where_)")
                #expect(onSQLite.alreadyPresent == inMemory.alreadyPresent, "\(where_)")
                #expect(onSQLite.quarantined == inMemory.quarantined, "\(where_)")
                #expect(onSQLite.forks == inMemory.forks, "\(where_)")
                #expect(Set(onSQLite.flagged) == Set(inMemory.flagged), "\(where_)")
                #expect(onSQLite.admittedFromQuarantine == inMemory.admittedFromQuarantine, "\(where_)")
                memory = driver.backend
                registry = driver.registry
            }
            #expect(Set(try store.quarantine().map(\.id)) == Set(memory.quarantine.keys))
            #expect(
                Set(try store.forks().map { "\($0.origin)/\($0.originSeq)/\($0.otherEvent)" })
                    == Set(memory.forks.map { "\($0.origin)/\($0.originSeq)/\($0.id)" }))
            let stored = try store.registry().devices
            #expect(Set(stored.keys) == Set(registry.devices.keys))
            for (origin, device) in registry.devices {
                #expect(stored[origin]?.frozenReason == device.frozenReason, "origin \(origin)")
                #expect(stored[origin]?.revokedAfter == device.revokedAfter, "origin \(origin)")
            }
            // The schedule met what it is for: the enrolled device's events all admitted in the end, the revoked
            // device's later events held.
            #expect(fromHome.allSatisfy { memory.byID[$0.id] != nil })
            if seed % 2 == 0 {
                #expect(fromLaptop[2...].allSatisfy { memory.flags[$0.id]?[ReviewHold.afterRevocation.rawValue] != nil })
                #expect(fromLaptop[..<2].allSatisfy { memory.flags[$0.id] == nil })
            }
            let reviewHolds = Set(ReviewHold.allCases.map(\.rawValue))
            #expect(
                Set(try store.reviewHeldEvents().map { "\($0.id) \($0.hold.rawValue)" })
                    == Set(memory.flags.flatMap { id, flags in flags.keys.filter(reviewHolds.contains).map { "\(id) \($0)" } }))
        }
    }
}
