import Foundation
import ProloDomain
@testable import ProloStore
import ProloTestSupport
import Testing

/// The append path's seam holds when the backends behind it agree: the same batches through a hub's `append` (a
/// SQLite store, or the same store moved up into PostgreSQL) and through the shared driver on the memory backend give
/// the same outcome, batch by batch, and end with the same quarantine, fork evidence, review holds and registry.
/// PostgreSQL's backend queues its writes until a flush, so this is where an ordering slip of it would show.
@Suite("The memory backend, SQLite and PostgreSQL agree, batch by batch")
struct BackendAgreementTests {
    static func pain(_ device: inout ForeignDevice, _ patient: PatientID, _ score: Int, at wall: Int64) throws -> Event {
        try device.seal(
            .painReported, patient: patient,
            body: .json(#"{"instrument":"nrs","reporter":{"id":"\#(patient)","role":"patient"},"score":\#(score)}"#),
            wallMilliseconds: wall, author: Author(id: patient, role: .patient))
    }

    @Test(
        "any schedule of batches (gaps, repeats, an enrollment and a revocation, a key used on two devices) gives the same outcome on the memory backend as on the database's",
        arguments: Backend.allCases, 0..<20)
    func agree(_ backend: Backend, seed: UInt64) async throws {
        var generator = SeededGenerator(seed: seed &+ 7_001)
        try await TemporaryDirectory.with { directory in
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
            let schedule = Self.schedule(events, &generator)
            let initial = try store.registry()
            try await backend.with(store) { hub in
                var memory = MemoryLog()
                var registry = initial
                for (round, batch) in schedule.enumerated() {
                    let onDatabase = try await hub.append(batch)
                    var driver = AdmissionDriver(
                        backend: memory,
                        admission: EventAdmission(
                            registry: registry, ownOrigin: store.identity.origin,
                            now: Int64(Date().timeIntervalSince1970 * 1000)))
                    try driver.receive(batch, fromQuarantine: false)
                    try driver.retryAll()
                    let inMemory = driver.outcome
                    let place = "\(backend), seed \(seed), batch \(round + 1)"
                    #expect(onDatabase.appended.map(\.event.id) == inMemory.appended.map(\.event.id), "\(place)")
                    #expect(onDatabase.alreadyPresent == inMemory.alreadyPresent, "\(place)")
                    #expect(onDatabase.quarantined == inMemory.quarantined, "\(place)")
                    #expect(onDatabase.forks == inMemory.forks, "\(place)")
                    #expect(Set(onDatabase.flagged) == Set(inMemory.flagged), "\(place)")
                    #expect(onDatabase.admittedFromQuarantine == inMemory.admittedFromQuarantine, "\(place)")
                    memory = driver.backend
                    registry = driver.registry
                }
                #expect(try await hub.quarantined() == memory.quarantine.keys.map(\.text).sorted())
                #expect(try await hub.forkEvidence() == memory.forks.map(\.id.text).sorted())
                let stored = try await hub.registry().devices
                #expect(Set(stored.keys) == Set(registry.devices.keys))
                for (origin, device) in registry.devices {
                    #expect(stored[origin]?.frozenReason == device.frozenReason, "origin \(origin)")
                    #expect(stored[origin]?.revokedAfter == device.revokedAfter, "origin \(origin)")
                }
                for event in events {
                    let flags = memory.flags[event.id].map { Array($0.keys).sorted() } ?? []
                    #expect(try await hub.flags(of: event.id) == flags, "\(backend), event \(event.originSeq) of \(event.origin)")
                }
                // The schedule met what it is for: the enrolled device's events all admitted in the end, the revoked
                // device's later events held.
                #expect(fromHome.allSatisfy { memory.byID[$0.id] != nil })
                if seed % 2 == 0 {
                    #expect(fromLaptop[2...].allSatisfy { memory.flags[$0.id]?[ReviewHold.afterRevocation.rawValue] != nil })
                    #expect(fromLaptop[..<2].allSatisfy { memory.flags[$0.id] == nil })
                }
            }
        }
    }

    /// `events` shuffled into batches of one to four, now and then with a repeat of something sent before.
    static func schedule(_ events: [Event], _ generator: inout SeededGenerator) -> [[Event]] {
        var remaining = events.shuffled(using: &generator)
        var batches: [[Event]] = []
        while !remaining.isEmpty {
            var batch = Array(remaining.prefix(Int.random(in: 1...4, using: &generator)))
            remaining.removeFirst(batch.count)
            if !batches.isEmpty, Bool.random(using: &generator), let again = events.randomElement(using: &generator) {
                batch.append(again)
            }
            batches.append(batch)
        }
        return batches
    }
}
