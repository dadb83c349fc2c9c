import Foundation
import ProloDomain
@testable import ProloStore
import ProloTestSupport
import Testing

/// Admission as a pure state machine: events and what a log holds in, steps out. No SQLite here: the driver every
/// backend shares (``AdmissionDriver``) performs the steps on a log in dictionaries (``MemoryLog``), the memory backend
/// of the append path's seam (the SQLite and PostgreSQL backends are held by AppendTests and the conformance suites).
@Suite("Admission of received events, without a database")
struct EventAdmissionTests {
    static let patient: PatientID = "p-0001"
    static let now = Int64(Date().timeIntervalSince1970 * 1000)

    static func admission(
        _ devices: [DeviceRecord], scope: AppendScope = .unrestricted, slice: PatientID? = nil
    ) -> EventAdmission {
        EventAdmission(
            registry: DeviceRegistry(devices), scope: scope, slice: slice, ownOrigin: "server-origin", now: now)
    }

    static func driver(
        _ devices: [DeviceRecord], scope: AppendScope = .unrestricted, slice: PatientID? = nil
    ) -> AdmissionDriver<MemoryLog> {
        AdmissionDriver(backend: MemoryLog(), admission: admission(devices, scope: scope, slice: slice))
    }

    static func enrolled(_ device: ForeignDevice, revokedAfter: HLC? = nil) -> DeviceRecord {
        DeviceRecord(publicKey: device.key.publicKey, name: "tablet", role: .home, patient: patient, revokedAfter: revokedAfter)
    }

    /// `event` with one field replaced; hash and signature are not recomputed (admission checks neither the hash nor
    /// a signature already checked for the batch: those come before it).
    static func altered(
        _ event: Event, hash: EventHash? = nil, signature: [UInt8]? = nil
    ) -> Event {
        Event(
            id: event.id, origin: event.origin, originSeq: event.originSeq, prev: event.prev,
            patientPrev: event.patientPrev, hlc: event.hlc, occurredAt: event.occurredAt,
            patient: event.patient, type: event.type, schemaVersion: event.schemaVersion, author: event.author,
            dictionary: event.dictionary, body: event.body, hash: hash ?? event.hash, signature: signature ?? event.signature)
    }

    @Test("a chain delivered in order is inserted event by event, and delivered again is present")
    func inOrder() throws {
        var device = ForeignDevice()
        let events = try (0..<4).map { try device.painReport(Self.patient, score: $0) }
        var driver = Self.driver([Self.enrolled(device)])
        for event in events {
            #expect(try driver.perform(event) == .insert(Insertion()))
        }
        #expect(driver.backend.chainHead(of: device.key.publicKey.origin) == ChainHead(seq: 4, hash: events[3].hash))
        for event in events { #expect(try driver.perform(event) == .present) }
    }

    @Test("an event held already with other content refuses the batch, naming it")
    func sameIDOtherContent() throws {
        var device = ForeignDevice()
        let event = try device.painReport(Self.patient, score: 3)
        var driver = Self.driver([Self.enrolled(device)])
        _ = try driver.perform(event)
        let other = Self.altered(event, hash: try EventHash(bytes: [UInt8](repeating: 7, count: 32)))
        let error = #expect(throws: StoreError.self) { try driver.perform(other) }
        #expect(error?.message.contains("\(event.id) is already held with different content") == true)
    }

    @Test("a gap waits in quarantine naming the missing position, and the link admits what waited")
    func gap() throws {
        var device = ForeignDevice()
        let events = try (0..<3).map { try device.painReport(Self.patient, score: $0) }
        var driver = Self.driver([Self.enrolled(device)])
        let origin = device.key.publicKey.origin
        #expect(try driver.perform(events[0]) == .insert(Insertion()))
        #expect(
            try driver.perform(events[2])
                == .quarantine("gap in origin \(origin)'s chain: held up to 1, waiting for 2", retry: true))
        #expect(try driver.perform(events[1]) == .insert(Insertion()))
        try driver.retryAll()
        #expect(driver.backend.quarantine.isEmpty)
        #expect(driver.backend.chainHead(of: origin).seq == 3)
    }

    @Test("a second validly signed event at a held position is fork evidence; again, it is present")
    func fork() throws {
        let key = DeviceKey()
        var first = ForeignDevice(key: key)
        var restored = ForeignDevice(key: key)
        let held = try first.painReport(Self.patient, score: 1)
        let branch = try restored.painReport(Self.patient, score: 9)
        var driver = Self.driver([Self.enrolled(first)])
        _ = try driver.perform(held)
        #expect(try driver.perform(branch) == .fork(heldHash: held.hash))
        #expect(driver.registry.devices[key.publicKey.origin]?.frozenReason?.contains("fork at originSeq 1") == true)
        #expect(try driver.perform(branch) == .present)
    }

    @Test("the successor position with another prev is a fork of the head")
    func branchAtSuccessor() throws {
        let key = DeviceKey()
        var device = ForeignDevice(key: key)
        let one = try device.painReport(Self.patient, score: 1)
        var other = ForeignDevice(key: key)
        _ = try other.painReport(Self.patient, score: 5)
        let twoOnOtherBranch = try other.painReport(Self.patient, score: 6)
        var driver = Self.driver([Self.enrolled(device)])
        _ = try driver.perform(one)
        #expect(ChainLink(twoOnOtherBranch, head: driver.backend.chainHead(of: key.publicKey.origin)) == .otherBranch)
        #expect(try driver.perform(twoOnOtherBranch) == .fork(heldHash: one.hash))
    }

    @Test("an unknown origin waits for its enrollment; a forged signature refuses a delivery and waits on a retry")
    func unknownAndForged() throws {
        var device = ForeignDevice()
        let event = try device.painReport(Self.patient, score: 2)
        var stranger = Self.driver([])
        #expect(
            try stranger.perform(event)
                == .quarantine("origin \(event.origin) is not enrolled in this clinic's device registry", retry: true))

        let forged = Self.altered(event, signature: try DeviceKey().signature(for: event.hash.bytes))
        var admission = Self.admission([Self.enrolled(device)])
        let error = #expect(throws: StoreError.self) {
            try admission.step(forged, fromQuarantine: false, in: MemoryLog())
        }
        #expect(error?.message.contains("event \(event.id)") == true)
        #expect(error?.message.contains("signature does not verify") == true)
        #expect(
            try admission.step(forged, fromQuarantine: true, in: MemoryLog())
                == .quarantine("signature does not verify with the enrolled key of origin \(event.origin)", retry: true))
    }

    @Test("another origin's event pushed by a home device is quarantined for good; a home store drops another patient's")
    func scopes() throws {
        var device = ForeignDevice()
        let event = try device.painReport(Self.patient, score: 2)
        var pushedByOther = Self.admission([Self.enrolled(device)], scope: .homeDevice("other-home", patient: Self.patient))
        #expect(
            try pushedByOther.step(event, fromQuarantine: false, in: MemoryLog())
                == .quarantine("pushed by device other-home, which may only push its own events", retry: false))
        var homeOfAnother = Self.admission([Self.enrolled(device)], slice: "p-0002")
        #expect(try homeOfAnother.step(event, fromQuarantine: false, in: MemoryLog()) == .outsideSlice)
    }

    @Test("what the clinic must review is stored and held out of the fold: after revocation, unreadable, far future")
    func heldAndFlagged() throws {
        var device = ForeignDevice()
        let revoked = try device.painReport(Self.patient, score: 2)
        var admission = Self.admission([
            Self.enrolled(device, revokedAfter: HLC(wallMilliseconds: revoked.hlc.wallMilliseconds - 1, counter: 0))
        ])
        guard case .insert(let held) = try admission.step(revoked, fromQuarantine: false, in: MemoryLog()) else {
            Issue.record("a revoked device's later event is stored")
            return
        }
        #expect(held.outOfFold)
        #expect(held.flags.map(\.kind) == [ReviewHold.afterRevocation.rawValue])

        var tablet = ForeignDevice()
        let broken = try tablet.seal(.painReported, patient: Self.patient, body: .json(#"{"score":11}"#))
        var fresh = Self.driver([Self.enrolled(tablet)])
        guard case .insert(let unreadable) = try fresh.perform(broken) else {
            Issue.record("a validly signed event with an invalid payload is stored")
            return
        }
        #expect(unreadable.outOfFold)
        #expect(unreadable.unreadable?.kind == .invalidPayload)
        #expect(unreadable.flags.map(\.kind) == ["invalid-payload"])

        let ahead = try tablet.seal(
            .painReported, patient: Self.patient,
            body: .json(#"{"instrument":"nrs","reporter":{"id":"p-0001","role":"patient"},"score":5}"#),
            wallMilliseconds: Self.now + 30 * 86_400_000, author: Author(id: "p-0001", role: .patient))
        guard case .insert(let future) = try fresh.perform(ahead) else {
            Issue.record("an event from the future is stored")
            return
        }
        #expect(future.flags.map(\.kind) == ["future-hlc"])
        #expect(!future.outOfFold)
    }

    @Test(
        "a broken patientPrev is stored and held broken-patient-link, out of the fold, and the origin's next event follows it; an administrative event with one is held, not applied; a slice waits instead"
    )
    func patientLinks() throws {
        var device = ForeignDevice()
        let a = try device.painReport(Self.patient, score: 1)
        let b = try device.painReport(Self.patient, score: 2, patientPrev: .some(nil))  // claims to be the first
        let c = try device.painReport(Self.patient, score: 3)  // links to b, as the device recorded it
        var driver = Self.driver([Self.enrolled(device)])
        _ = try driver.perform(a)
        guard case .insert(let held) = try driver.perform(b) else {
            Issue.record("a validly signed event with a broken patient link was not stored")
            return
        }
        #expect(held.flags.map(\.kind) == [ReviewHold.brokenPatientLink.rawValue])
        #expect(held.flags.first?.detail.contains("does not name origin \(device.key.publicKey.origin)'s previous event") == true)
        #expect(held.outOfFold && !held.appliesToRegistry)
        #expect(try driver.perform(c) == .insert(Insertion()))

        var laptop = ForeignDevice()
        var clinic = Self.driver([
            DeviceRecord(publicKey: laptop.key.publicKey, name: "laptop", role: .clinic, patient: nil, revokedAfter: nil)
        ])
        let administrative = try laptop.seal(.deviceRevoked, patient: nil, body: .json("{}"), patientPrev: .some(a.hash))
        guard case .insert(let registry) = try clinic.perform(administrative) else {
            Issue.record("an administrative event with a patientPrev was not stored")
            return
        }
        #expect(registry.flags.map(\.kind) == [ReviewHold.brokenPatientLink.rawValue])
        #expect(registry.outOfFold && !registry.appliesToRegistry)
        #expect(clinic.backend.quarantine.isEmpty)

        // A home store's slice of another origin cannot tell a broken link from a missing one: it waits.
        var other = ForeignDevice()
        let first = try other.painReport(Self.patient, score: 5)
        let unlinked = try other.painReport(Self.patient, score: 6, patientPrev: .some(nil))
        var home = Self.driver([Self.enrolled(other)], slice: Self.patient)
        _ = try home.perform(first)
        guard case .quarantine(let reason, retry: true) = try home.perform(unlinked) else {
            Issue.record("a slice stored an event whose patient link it cannot check")
            return
        }
        #expect(reason.contains("waiting for origin \(other.key.publicKey.origin)'s previous event about patient"))
    }

    @Test("any delivery order of several origins' chains ends with every chain whole and nothing waiting", arguments: 0..<40)
    func anyOrderConverges(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed &+ 11)
        var devices = (0..<3).map { _ in ForeignDevice() }
        var events: [Event] = []
        for index in devices.indices {
            for score in 0..<(3 + index * 2) { events.append(try devices[index].painReport(Self.patient, score: score)) }
        }
        var driver = Self.driver(devices.map { Self.enrolled($0) })
        var remaining = events.shuffled(using: &generator)
        while !remaining.isEmpty {
            let batch = remaining.prefix(Int.random(in: 1...4, using: &generator))
            remaining.removeFirst(batch.count)
            for event in batch { _ = try driver.perform(event) }
            try driver.retryAll()
        }
        #expect(driver.backend.quarantine.isEmpty)
        #expect(driver.backend.byID.count == events.count)
        for device in devices {
            #expect(driver.backend.chainHead(of: device.key.publicKey.origin).seq == device.lastSeq)
        }
    }

    @Test("the link rule: the successor follows, a held position, a gap, another branch")
    func chainLink() throws {
        var device = ForeignDevice()
        let events = try (0..<3).map { try device.painReport(Self.patient, score: $0) }
        #expect(ChainLink(events[0], head: .empty) == .follows)
        #expect(ChainLink(events[1], head: ChainHead(seq: 1, hash: events[0].hash)) == .follows)
        #expect(ChainLink(events[0], head: ChainHead(seq: 1, hash: events[0].hash)) == .atHeldPosition)
        #expect(ChainLink(events[2], head: ChainHead(seq: 1, hash: events[0].hash)) == .gap(expected: 2))
        #expect(ChainLink(events[1], head: ChainHead(seq: 1, hash: events[2].hash)) == .otherBranch)
    }
}

/// The append path's memory backend (``AdmissionBackend``): a log in dictionaries, written at once, for tests of the
/// rules without a database.
struct MemoryLog: AdmissionBackend {
    var byID: [EventID: Event] = [:]
    var chains: [Identifier: [Int64: Event]] = [:]
    var forks: [Event] = []
    var quarantine: [EventID: (event: Event, reason: String, retry: Bool)] = [:]
    var flags: [EventID: [String: String]] = [:]
    var unchecked: Set<EventID> = []

    func hash(of id: EventID) -> EventHash? { byID[id]?.hash }
    func hash(origin: Identifier, originSeq: Int64) -> EventHash? { chains[origin]?[originSeq]?.hash }
    func isForkEvidence(_ event: Event) -> Bool { forks.contains { $0.hash == event.hash } }

    func chainHead(of origin: Identifier) -> ChainHead {
        guard let top = chains[origin]?.keys.max(), let event = chains[origin]?[top] else { return .empty }
        return ChainHead(seq: top, hash: event.hash)
    }

    func patientHead(origin: Identifier, patient: PatientID) -> EventHash? {
        chains[origin]?.values.filter { $0.patient == patient }.max { $0.originSeq < $1.originSeq }?.hash
    }

    mutating func insert(_ event: Event, receivedAt: Int64, uncheckedSignature: Bool) -> Int64? {
        byID[event.id] = event
        chains[event.origin, default: [:]][event.originSeq] = event
        if uncheckedSignature { unchecked.insert(event.id) }
        return Int64(byID.count)
    }

    mutating func quarantine(_ event: Event, reason: String, retry: Bool, receivedAt: Int64) {
        quarantine[event.id] = (event, reason, retry)
    }

    mutating func release(_ id: EventID) { quarantine[id] = nil }

    mutating func recordFork(_ event: Event, heldHash: EventHash?, detectedAt: Int64) {
        if !isForkEvidence(event) { forks.append(event) }
    }

    func forkPosition(of origin: Identifier) -> Int64? {
        forks.filter { $0.origin == origin }.map(\.originSeq).min()
    }

    mutating func flag(_ id: EventID, _ flag: EventFlag) { flags[id, default: [:]][flag.kind] = flag.detail }

    mutating func hold(_ hold: ReviewHold, origin: Identifier, _ selection: HoldSelection, detail: String) -> [HeldRow] {
        let taken = (chains[origin] ?? [:]).values.filter { event in
            flags[event.id]?[hold.rawValue] == nil && selection.selects(event)
        }
        for event in taken { flag(event.id, EventFlag(hold.rawValue, detail)) }
        return taken.sorted { $0.originSeq < $1.originSeq }.map { HeldRow(id: $0.id, patient: $0.patient) }
    }

    /// What waits in `origin`'s quarantine to be retried, in the order ``AdmissionDriver/retry(_:)`` takes.
    func waiting(of origin: Identifier) -> [Event] {
        quarantine.values.filter { $0.event.origin == origin && $0.retry }.map(\.event)
            .sorted { ($0.originSeq, $0.id.text) < ($1.originSeq, $1.id.text) }
    }
}

extension AdmissionDriver where Backend == MemoryLog {
    /// Retries what waits for the origins this driver advanced or enrolled, until nothing more is admitted.
    mutating func retryAll() throws(StoreError) {
        try retryQuarantine { log, origin in log.waiting(of: origin) }
    }
}
