import Foundation
import ProloDomain
@testable import ProloStore
import ProloTestSupport
import Testing

/// The driver every backend shares (``AdmissionDriver``), on the memory backend: what one append transaction
/// performs of admission's steps and what its outcome says, without a database. The same driver runs on SQLite and on
/// PostgreSQL (their conformance suites hold the same behaviour end to end).
@Suite("The append driver on the memory backend")
struct AdmissionDriverTests {
    static let patient: PatientID = "p-0001"

    static func pain(_ score: Int) -> String {
        #"{"instrument":"nrs","reporter":{"id":"\#(patient)","role":"patient"},"score":\#(score)}"#
    }

    /// A transaction on `log` with `registry`.
    static func transaction(_ devices: [DeviceRecord], on log: MemoryLog = MemoryLog()) -> AdmissionDriver<MemoryLog> {
        AdmissionDriver(
            backend: log,
            admission: EventAdmission(
                registry: DeviceRegistry(devices), ownOrigin: "server-origin",
                now: Int64(Date().timeIntervalSince1970 * 1000)))
    }

    @Test("a gap filled later in the same batch is admitted by the retry and counted new; filled by a later batch, admitted from quarantine")
    func gaps() throws {
        var device = ForeignDevice()
        let events = try (0..<4).map { try device.painReport(Self.patient, score: $0) }
        let devices = [EventAdmissionTests.enrolled(device)]
        var first = Self.transaction(devices)
        try first.receive([events[0], events[2], events[1]], fromQuarantine: false)
        try first.retryAll()
        #expect(first.outcome.appended.map(\.event.id) == [events[0], events[1], events[2]].map(\.id))
        #expect(first.outcome.quarantined.isEmpty && first.outcome.admittedFromQuarantine == 0)
        #expect(first.backend.quarantine.isEmpty)

        var waits = Self.transaction(devices)
        try waits.receive([events[0], events[2]], fromQuarantine: false)
        try waits.retryAll()
        #expect(waits.outcome.quarantined.map(\.id) == [events[2].id])
        var fills = Self.transaction(devices, on: waits.backend)
        try fills.receive([events[1], events[3]], fromQuarantine: false)
        try fills.retryAll()
        #expect(Set(fills.outcome.appended.map(\.event.id)) == Set(events[1...].map(\.id)))
        #expect(fills.outcome.admittedFromQuarantine == 1)
        #expect(fills.outcome.quarantined.isEmpty && fills.backend.quarantine.isEmpty)
        #expect(fills.backend.chainHead(of: device.key.publicKey.origin).seq == 4)
    }

    @Test("fork evidence freezes its origin at the lowest position and holds its events from there, their patients refolded; delivered again it is present")
    func fork() throws {
        let key = DeviceKey()
        var device = ForeignDevice(key: key)
        var restored = ForeignDevice(key: key)
        let chain = try (0..<3).map { try device.painReport(Self.patient, score: $0) }
        _ = try restored.painReport(Self.patient, score: 7)
        let branch = try restored.painReport(Self.patient, score: 8)  // position 2, another prev
        let devices = [EventAdmissionTests.enrolled(device)]
        var held = Self.transaction(devices)
        try held.receive(chain, fromQuarantine: false)
        var forked = Self.transaction(devices, on: held.backend)
        try forked.receive([branch], fromQuarantine: false)
        #expect(forked.outcome.forks == [branch.id])
        #expect(forked.registryChanged)
        #expect(forked.registry.devices[key.publicKey.origin]?.frozenReason?.contains("fork at originSeq 2") == true)
        #expect(Set(forked.outcome.flagged) == [chain[1].id, chain[2].id])
        #expect(forked.backend.flags[chain[1].id]?[ReviewHold.forked.rawValue] != nil)
        #expect(forked.backend.flags[chain[0].id] == nil)
        #expect(forked.refold == [Self.patient])
        #expect(forked.backend.forks.map(\.id) == [branch.id])

        var again = Self.transaction(Array(forked.registry.devices.values), on: forked.backend)
        try again.receive([branch], fromQuarantine: false)
        #expect(again.outcome.alreadyPresent == 1 && again.outcome.forks.isEmpty)
    }

    @Test("a revocation applied in a batch holds what its origin recorded after it, stored before it arrived")
    func revocation() throws {
        var root = ForeignDevice()
        var tablet = ForeignDevice()
        let revocation = try root.seal(
            .deviceRevoked, patient: nil,
            body: .json(
                #"{"publicKey":"\#(tablet.key.publicKey.base64)","reason":"stolen","revokedBy":"admin-1"}"#),
            author: Author(id: "admin-1", role: .admin))
        let wall = revocation.hlc.wallMilliseconds
        let before = try tablet.seal(
            .painReported, patient: Self.patient, body: .json(Self.pain(3)), wallMilliseconds: wall - 10,
            author: Author(id: Self.patient, role: .patient))
        let after = try tablet.seal(
            .painReported, patient: Self.patient, body: .json(Self.pain(9)), wallMilliseconds: wall + 10,
            author: Author(id: Self.patient, role: .patient))
        let devices = [
            DeviceRecord(publicKey: root.key.publicKey, name: "root", role: .root),
            EventAdmissionTests.enrolled(tablet),
        ]
        var stored = Self.transaction(devices)
        try stored.receive([before, after], fromQuarantine: false)
        #expect(stored.foldable.count == 2)

        var revoking = Self.transaction(devices, on: stored.backend)
        try revoking.receive([revocation], fromQuarantine: false)
        #expect(revoking.registryChanged)
        #expect(revoking.registry.devices[tablet.key.publicKey.origin]?.revokedAfter == revocation.hlc)
        #expect(revoking.outcome.flagged == [after.id])
        #expect(revoking.backend.flags[after.id]?[ReviewHold.afterRevocation.rawValue] != nil)
        #expect(revoking.backend.flags[before.id] == nil)
        #expect(revoking.refold == [Self.patient])
        #expect(revoking.foldable.map(\.event.id) == [revocation.id])
    }

    @Test("a refusal says which event and where it is in the batch; a retry from quarantine keeps a forged event waiting")
    func refusalPlaced() throws {
        var device = ForeignDevice()
        let good = try device.painReport(Self.patient, score: 1)
        let genuine = try device.painReport(Self.patient, score: 2)
        let forged = EventAdmissionTests.altered(genuine, signature: try DeviceKey().signature(for: genuine.hash.bytes))
        var driver = Self.transaction([EventAdmissionTests.enrolled(device)])
        let error = #expect(throws: StoreError.self) { try driver.receive([good, forged], fromQuarantine: false) }
        #expect(error?.event == forged.id)
        #expect(error?.offset == .batch(1))

        var retried = Self.transaction([EventAdmissionTests.enrolled(device)])
        try retried.receive([good], fromQuarantine: false)
        try retried.retry([forged])
        #expect(retried.outcome.quarantined.map(\.id) == [forged.id])
        #expect(retried.backend.quarantine[forged.id]?.reason.contains("signature does not verify") == true)
    }

    @Test("an event whose own signature its run's last vouched for is listed unchecked")
    func uncheckedSignatures() throws {
        var device = ForeignDevice()
        let events = try (0..<2).map { try device.painReport(Self.patient, score: $0) }
        var driver = AdmissionDriver(
            backend: MemoryLog(),
            admission: EventAdmission(
                registry: DeviceRegistry([EventAdmissionTests.enrolled(device)]), verified: Set(events.map(\.id)),
                unchecked: [events[0].id], ownOrigin: "server-origin", now: 0))
        try driver.receive(events, fromQuarantine: false)
        #expect(driver.backend.unchecked == [events[0].id])
    }
}
