import Crypto
import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// Bundle files imported into real stores: idempotency, quarantine and admission, revocation, forks,
/// resumability, and everything a bad bundle must not do to the store.
@Suite("BundleImport: the verify-and-append path of bundle files, on real stores")
struct BundleImportTests {
    typealias Device = ClinicFixture.Device

    // MARK: - Helpers

    /// What a refused or repeated import must leave as it was.
    struct Snapshot: Equatable {
        let vector: VersionVector
        let count: Int
        let ids: Set<EventID>
        let quarantine: [QuarantinedEvent]
        let forks: [ForkEvidence]
        let registry: DeviceRegistry
        let patients: [PatientSummary]
        let alerts: [AlertRecord]

        init(_ device: Device) throws {
            vector = try device.store.versionVector()
            count = try device.store.count()
            ids = Set(try device.store.events().map(\.event.id))
            quarantine = try device.store.quarantine()
            forks = try device.store.forks()
            registry = try device.store.registry()
            patients = try device.projected.patients()
            alerts = try device.projected.openAlerts()
        }
    }

    /// `count` pain reports about `patient`, a minute apart.
    static func pain(_ count: Int, patient: PatientID = "p-1", start: Int64 = 1_790_000_000_000) throws -> [EventDraft] {
        try (0..<count).map { index in
            try Fixtures.painDraft(patient: patient, score: index % 11, at: start + Int64(index) * 60_000)
        }
    }

    /// Records on `device` and returns the signed events.
    @discardableResult
    static func record(_ drafts: [EventDraft], on device: Device) throws -> [Event] {
        try device.store.record(drafts, signedBy: device.key).map(\.event)
    }

    /// Exports from `store` (signed by `key`) what `receiver` is missing (everything when `all`), encrypted to it.
    static func export(
        from store: EventStore, key: DeviceKey, for receiver: Device, in clinic: ClinicFixture, all: Bool = false,
        blockBytes: Int = BundleWriter.defaultBlockBytes
    ) throws -> String {
        let path = clinic.bundlePath()
        let options = BundleExport.Options(
            cutAgainst: all ? VersionVector() : try receiver.store.versionVector(), patient: receiver.homePatient,
            recipient: try receiver.key.agreementKey().publicKey, blockBytes: blockBytes)
        try BundleExport.export(from: store, signedBy: key, to: path, options: options)
        return path
    }

    static func export(
        _ sender: Device, for receiver: Device, in clinic: ClinicFixture, all: Bool = false,
        blockBytes: Int = BundleWriter.defaultBlockBytes
    ) throws -> String {
        try export(from: sender.store, key: sender.key, for: receiver, in: clinic, all: all, blockBytes: blockBytes)
    }

    static func importBundle(_ path: String, into device: Device) throws(SyncError) -> SyncReport {
        try BundleImport.import(from: path, into: device.store, key: device.key)
    }

    /// The error an import fails with, or nil when it succeeds.
    static func importError(_ path: String, into device: Device) -> SyncError? {
        do {
            _ = try importBundle(path, into: device)
            return nil
        } catch {
            return error
        }
    }

    /// Enrolls a raw key on the root, as `ClinicFixture.enroll` does for fixture devices.
    @discardableResult
    static func enroll(_ key: DeviceKey, name: String, role: DeviceEnrolled.Role = .clinic, on clinic: ClinicFixture)
        throws -> Event
    {
        let payload = DeviceEnrolled(
            deviceName: try Label(checked: name), publicKey: try PublicKeyBase64(checked: key.publicKey.base64),
            role: role, patient: nil, enrolledBy: try Identifier(checked: clinic.root.store.identity.origin.text))
        return try record(
            [try EventDraft(payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))],
            on: clinic.root)[0]
    }

    /// Records on the root the revocation of `device`.
    @discardableResult
    static func revoke(_ device: Device, on clinic: ClinicFixture) throws -> Event {
        let payload = DeviceRevoked(
            deviceName: try Label(checked: device.name), publicKey: try PublicKeyBase64(checked: device.key.publicKey.base64),
            reason: .lost, revokedBy: try Identifier(checked: clinic.root.store.identity.origin.text))
        return try record(
            [try EventDraft(payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))],
            on: clinic.root)[0]
    }

    static func held(_ id: EventID, in device: Device) throws -> Bool {
        try device.store.event(id: id) != nil
    }

    static func ids(of records: [[UInt8]]) throws -> [EventID] {
        try records.map { try EventWireCodec.decode($0).id }
    }

    // MARK: - Idempotency

    @Test("importing the same bundle twice: the second time nothing is new, all is already present, and the store and read models are unchanged")
    func idempotent() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let laptop = try clinic.addDevice("laptop-1")
            let story = try Fixtures.storyDrafts(patient: "p-1").filter { !$0.type.isAdministrative }
            let events = try Self.record(story + Self.pain(5, patient: "p-2"), on: laptop)
            let path = try Self.export(laptop, for: clinic.root, in: clinic)

            let first = try Self.importBundle(path, into: clinic.root)
            #expect(first.new == events.count)
            #expect(first.alreadyPresent == 0)
            #expect(first.quarantined == 0)
            let after = try Snapshot(clinic.root)
            let state = try clinic.root.projected.state(of: "p-1")
            #expect(state != nil, "the read models saw the first import")
            #expect(after.patients.count == 2)

            let second = try Self.importBundle(path, into: clinic.root)
            #expect(second.new == 0)
            #expect(second.alreadyPresent == events.count)
            #expect(second.quarantined == 0)
            #expect(second.forks == 0)
            #expect(second.admittedFromQuarantine == 0)
            #expect(try Snapshot(clinic.root) == after)
            #expect(try clinic.root.projected.state(of: "p-1") == state)
            #expect(try clinic.root.projected.state(of: "p-2") != nil)
        }
    }

    // MARK: - Unknown origins

    @Test("events of a device not enrolled yet are quarantined as not enrolled; its enrollment on the root admits them")
    func unknownOriginQuarantinedThenAdmittedByEnrollment() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let tablet = try clinic.addDevice("tablet-1", enroll: false)
            let events = try Self.record(Self.pain(3, patient: "p-1"), on: tablet)
            let path = try Self.export(tablet, for: clinic.root, in: clinic)
            let before = try Snapshot(clinic.root)

            let report = try Self.importBundle(path, into: clinic.root)
            #expect(report.new == 0)
            #expect(report.quarantined == 3)
            let quarantine = try clinic.root.store.quarantine()
            #expect(Set(quarantine.map(\.id)) == Set(events.map(\.id)))
            for entry in quarantine {
                #expect(entry.reason.contains("not enrolled"), "\(entry.reason)")
                #expect(entry.origin == tablet.store.identity.origin)
            }
            #expect(try clinic.root.store.count() == before.count)
            #expect(try clinic.root.store.versionVector() == before.vector)
            #expect(try clinic.root.projected.state(of: "p-1") == nil, "quarantined events do not reach the read models")

            // Enrolling the device on the root (recorded locally) retries its quarantine.
            let enrollment = try clinic.enroll(tablet, role: .clinic)
            #expect(try clinic.root.store.quarantine().isEmpty)
            for event in events { #expect(try Self.held(event.id, in: clinic.root)) }
            #expect(try clinic.root.store.count() == before.count + 1 + events.count)
            #expect(try clinic.root.store.versionVector()[tablet.store.identity.origin.text] == 3)
            #expect(try clinic.root.store.event(id: enrollment.event.id) != nil)
            #expect(try clinic.root.projected.state(of: "p-1") != nil, "admitted events reach the read models")

            // Importing the same bundle again changes nothing.
            let again = try Self.importBundle(path, into: clinic.root)
            #expect(again.alreadyPresent == 3)
            #expect(again.new == 0)
            #expect(again.quarantined == 0)
        }
    }

    @Test("the next import from that device after its enrollment holds all its events, the quarantined ones and the new ones")
    func unknownOriginAdmittedOnNextImport() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let tablet = try clinic.addDevice("tablet-1", enroll: false)
            let early = try Self.record(Self.pain(3, patient: "p-1"), on: tablet)
            _ = try Self.importBundle(try Self.export(tablet, for: clinic.root, in: clinic), into: clinic.root)
            #expect(try clinic.root.store.quarantine().count == 3)

            try clinic.enroll(tablet, role: .clinic)
            let late = try Self.record(Self.pain(2, patient: "p-1", start: 1_791_000_000_000), on: tablet)
            let report = try Self.importBundle(
                try Self.export(tablet, for: clinic.root, in: clinic, all: true), into: clinic.root)
            #expect(report.quarantined == 0)
            #expect(try clinic.root.store.quarantine().isEmpty)
            for event in early + late { #expect(try Self.held(event.id, in: clinic.root)) }
            #expect(try clinic.root.store.versionVector()[tablet.store.identity.origin.text] == 5)
            #expect(report.new + report.alreadyPresent == 5)
            #expect(report.new == 2, "the three quarantined events were admitted at the enrollment, the two later ones now")
        }
    }

    @Test("an enrollment that arrives by bundle (signed by a clinic device) admits the quarantined events in the same import")
    func enrollmentBySyncAdmitsQuarantine() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let laptop = try clinic.addDevice("laptop-1")
            let tablet = try clinic.addDevice("tablet-1", enroll: false)
            let events = try Self.record(Self.pain(3, patient: "p-1"), on: tablet)
            _ = try Self.importBundle(try Self.export(tablet, for: clinic.root, in: clinic), into: clinic.root)
            #expect(try clinic.root.store.quarantine().count == 3)

            // The laptop first receives its own enrollment from the root (a device enrolls others only once its
            // own enrollment has reached it); then it enrolls the tablet, and the root learns of it by bundle.
            try clinic.transfer(from: clinic.root, to: laptop)
            let payload = DeviceEnrolled(
                deviceName: try Label(checked: "tablet-1"),
                publicKey: try PublicKeyBase64(checked: tablet.key.publicKey.base64), role: .clinic, patient: nil,
                enrolledBy: try Identifier(checked: laptop.store.identity.origin.text))
            try Self.record(
                [try EventDraft(payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-2", role: .admin))],
                on: laptop)
            let report = try Self.importBundle(try Self.export(laptop, for: clinic.root, in: clinic), into: clinic.root)
            #expect(report.admittedFromQuarantine == 3)
            #expect(report.new == 1, "the enrollment itself; admitted events are counted apart")
            #expect(try clinic.root.store.quarantine().isEmpty)
            for event in events { #expect(try Self.held(event.id, in: clinic.root)) }
            #expect(try clinic.root.projected.state(of: "p-1") != nil)
        }
    }

    // MARK: - Revocation

    @Test("a revoked device: its events recorded before the revocation are admitted, the later ones stored but held after-revocation, out of the read models, naming the revocation")
    func revokedDevice() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let laptop = try clinic.addDevice("laptop-1")
            let early = try Self.record(Self.pain(2, patient: "p-1"), on: laptop)
            Thread.sleep(forTimeInterval: 0.005)
            let revocation = try Self.revoke(laptop, on: clinic)
            Thread.sleep(forTimeInterval: 0.005)
            let late = try Self.record(Self.pain(2, patient: "p-1", start: 1_791_000_000_000), on: laptop)
            for event in early { try #require(event.hlc < revocation.hlc) }
            for event in late { try #require(event.hlc > revocation.hlc) }
            let before = try clinic.root.store.count()

            let report = try Self.importBundle(try Self.export(laptop, for: clinic.root, in: clinic), into: clinic.root)
            #expect(report.new == 4)
            #expect(report.quarantined == 0)
            for event in early + late { #expect(try Self.held(event.id, in: clinic.root)) }
            #expect(try clinic.root.store.count() == before + 4)
            #expect(try clinic.root.store.quarantine().isEmpty)
            let holds = try clinic.root.store.reviewHeldEvents()
            #expect(Set(holds.map(\.id)) == Set(late.map(\.id)))
            for hold in holds {
                #expect(hold.hold == .afterRevocation)
                #expect(hold.detail.contains("revoked") && hold.detail.contains("laptop-1"), "\(hold.detail)")
            }
            // Only the early reports count.
            #expect(try clinic.root.projected.state(of: "p-1")?.eventCount == early.count)

            // Sending them again changes nothing.
            let again = try Self.importBundle(
                try Self.export(laptop, for: clinic.root, in: clinic, all: true), into: clinic.root)
            #expect(again.alreadyPresent == 4)
            #expect(again.new == 0)
            #expect(again.quarantined == 0)
            #expect(try clinic.root.store.count() == before + 4)
        }
    }

    // MARK: - Forks

    @Test("two stores with one key (a restored backup) both writing originSeq 1: a fork is recorded, the origin frozen, both events kept")
    func forkDetected() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let key = DeviceKey()
            let trust = StoreTrust.joining(root: root.key.publicKey, homePatient: nil)
            let original = try ProjectedStore.create(
                at: directory.file("laptop-a.sqlite"), deviceName: "laptop-a", key: key, trust: trust)
            let restored = try ProjectedStore.create(
                at: directory.file("laptop-a-restored.sqlite"), deviceName: "laptop-a", key: key, trust: trust)
            try Self.enroll(key, name: "laptop-a", on: clinic)
            let origin = key.publicKey.origin

            let held = try original.store.record(try Self.pain(1, patient: "p-1"), signedBy: key)[0].event
            let other = try restored.store.record(
                try Self.pain(2, patient: "p-1", start: 1_790_500_000_000), signedBy: key).map(\.event)
            try #require(held.originSeq == 1 && other[0].originSeq == 1 && held.hash != other[0].hash)

            let first = try Self.importBundle(
                try Self.export(from: original.store, key: key, for: root, in: clinic), into: root)
            #expect(first.new == 1)
            #expect(try root.store.registry().devices[origin]?.frozenReason == nil)
            let countBefore = try root.store.count()

            let second = try Self.importBundle(
                try Self.export(from: restored.store, key: key, for: root, in: clinic, all: true), into: root)
            #expect(second.forks == 1)
            #expect(second.new == 0)
            #expect(second.quarantined == 1, "the restored store's second event waits: its origin is frozen")
            let frozen = try #require(try root.store.registry().devices[origin]?.frozenReason)
            #expect(frozen.contains("fork"), "\(frozen)")
            // Both events are kept: the first in the log, the second as fork evidence.
            #expect(try Self.held(held.id, in: root))
            #expect(try !Self.held(other[0].id, in: root))
            let forks = try root.store.forks()
            #expect(forks.count == 1)
            #expect(forks.first?.origin == origin.text)
            #expect(forks.first?.originSeq == 1)
            #expect(forks.first?.otherEvent == other[0].id.text)
            #expect(try root.store.count() == countBefore)
            let waiting = try root.store.quarantine()
            #expect(waiting.map(\.id) == [other[1].id])
            #expect(waiting.first?.reason.contains("frozen") == true, "\(waiting.first?.reason ?? "-")")

            // Later events of that origin, even from the original store, are quarantined as frozen.
            let later = try original.store.record(
                try Self.pain(1, patient: "p-1", start: 1_791_000_000_000), signedBy: key)[0].event
            let third = try Self.importBundle(
                try Self.export(from: original.store, key: key, for: root, in: clinic), into: root)
            #expect(third.new == 0)
            #expect(third.quarantined == 1)
            #expect(try !Self.held(later.id, in: root))
            let reason = try root.store.quarantine().first { $0.id == later.id }?.reason
            #expect(reason?.contains("frozen") == true, "\(reason ?? "-")")
            #expect(try root.store.forks().count == 1)
        }
    }

    // MARK: - Resumability

    @Test("a bundle cut in the middle of block 2 keeps blocks 0 and 1, stores nothing of block 2, fails as truncated; the complete bundle then finishes")
    func resumable() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let laptop = try clinic.addDevice("laptop-1")
            let events = try Self.record(Self.pain(60, patient: "p-1"), on: laptop)
            let path = try Self.export(laptop, for: clinic.root, in: clinic, blockBytes: 2_000)
            let contents = try BundleSurgery.read(path, key: clinic.root.key)
            try #require(contents.blocks.count >= 4)
            #expect(contents.records.count == 60)
            let cutBlock = contents.blocks[2]
            let cutAt = cutBlock.offset + Int64(cutBlock.storedByteCount / 2)
            let cutPath = directory.file("cut.prolo")
            try BundleSurgery.truncatedCopy(of: path, to: cutPath, keeping: cutAt)
            let before = try clinic.root.store.count()

            let error = try #require(Self.importError(cutPath, into: clinic.root))
            #expect(error.code == .truncated)
            #expect(error.message.contains("block 2"), "\(error.message)")
            #expect(error.message.contains("byte \(cutAt)"), "names where the copy ends: \(error.message)")
            #expect(error.message.contains("byte \(cutBlock.offset)"), "names where block 2 starts: \(error.message)")

            let kept = contents.blocks[0].records.count + contents.blocks[1].records.count
            #expect(try clinic.root.store.count() == before + kept)
            #expect(kept > 0 && kept < 60)
            for id in try Self.ids(of: contents.blocks[0].records + contents.blocks[1].records) {
                #expect(try Self.held(id, in: clinic.root))
            }
            for id in try Self.ids(of: contents.blocks[2...].flatMap(\.records)) {
                #expect(try !Self.held(id, in: clinic.root))
            }
            #expect(try clinic.root.store.quarantine().isEmpty)

            let report = try Self.importBundle(path, into: clinic.root)
            #expect(report.alreadyPresent == kept)
            #expect(report.new == 60 - kept)
            #expect(try clinic.root.store.count() == before + 60)
            for event in events { #expect(try Self.held(event.id, in: clinic.root)) }
        }
    }

    // MARK: - Bad bundles

    /// A clinic with two enrolled laptops; laptop-1 holds 12 events the root lacks, exported in small blocks.
    struct BadBundleCase {
        let clinic: ClinicFixture
        let laptop: Device
        let other: Device
        let goodPath: String
        let contents: BundleSurgery.Contents
        static let blockBytes = 1_200

        var root: Device { clinic.root }

        init(in directory: TemporaryDirectory) throws {
            clinic = try ClinicFixture(in: directory)
            laptop = try clinic.addDevice("laptop-1")
            other = try clinic.addDevice("laptop-2")
            try BundleImportTests.record(try BundleImportTests.pain(12, patient: "p-1"), on: laptop)
            goodPath = try BundleImportTests.export(laptop, for: clinic.root, in: clinic, blockBytes: Self.blockBytes)
            contents = try BundleSurgery.read(goodPath, key: clinic.root.key)
            try #require(contents.blocks.count >= 3, "the events span several blocks")
            try #require(contents.records.count == 12)
        }

        /// The first record of block 1, as an index in the whole bundle.
        var target: Int { contents.blocks[0].records.count }

        /// The good bundle with the records passed through `alter`, written to a new path.
        func altered(_ alter: (Int, [UInt8]) throws -> [UInt8]) throws -> String {
            let path = clinic.bundlePath()
            try BundleSurgery.rewrite(
                goodPath, readingWith: root.key, to: path, recipient: root.key, blockBytes: Self.blockBytes, alter: alter)
            let rewritten = try BundleSurgery.read(path, key: root.key)
            try #require(rewritten.blocks.map(\.records.count) == contents.blocks.map(\.records.count))
            return path
        }

        /// The importing of `bad` fails with `code`, keeps the blocks before `badBlock`, stores nothing from
        /// `badBlock` on, and then the good bundle imports everything.
        func expectRefused(
            _ bad: String, code: SyncError.Code, badBlock: Int, mentioning words: [String],
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let before = try Snapshot(root)
            let error = try #require(
                BundleImportTests.importError(bad, into: root), "the bad bundle is refused", sourceLocation: sourceLocation)
            #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
            for word in words {
                #expect(error.message.contains(word), "mentions \(word): \(error.message)", sourceLocation: sourceLocation)
            }
            let keptRecords = contents.blocks.prefix(badBlock).flatMap(\.records)
            let refusedRecords = contents.blocks.dropFirst(badBlock).flatMap(\.records)
            for id in try BundleImportTests.ids(of: keptRecords) {
                #expect(try BundleImportTests.held(id, in: root), sourceLocation: sourceLocation)
            }
            for id in try BundleImportTests.ids(of: refusedRecords) {
                #expect(try !BundleImportTests.held(id, in: root), "nothing of the bad block is stored", sourceLocation: sourceLocation)
            }
            let after = try Snapshot(root)
            #expect(after.count == before.count + keptRecords.count, sourceLocation: sourceLocation)
            #expect(after.quarantine == before.quarantine, sourceLocation: sourceLocation)
            #expect(after.forks == before.forks, sourceLocation: sourceLocation)
            #expect(after.registry == before.registry, sourceLocation: sourceLocation)
            if badBlock == 0 { #expect(after == before, "the store is unchanged", sourceLocation: sourceLocation) }

            let good = try BundleImportTests.importBundle(goodPath, into: root)
            #expect(good.alreadyPresent == keptRecords.count, sourceLocation: sourceLocation)
            #expect(good.new == 12 - keptRecords.count, sourceLocation: sourceLocation)
            #expect(good.quarantined == 0, sourceLocation: sourceLocation)
            #expect(try root.store.count() == before.count + 12, sourceLocation: sourceLocation)
        }
    }

    @Test("(a) one flipped bit in an event's body (block checksum valid): refused naming the event, nothing of its block stored")
    func flippedBodyBit() throws {
        try TemporaryDirectory.with { directory in
            let setup = try BadBundleCase(in: directory)
            let victim = try EventWireCodec.decode(setup.contents.records[setup.target])
            let bad = try setup.altered { index, record in
                index == setup.target ? BundleSurgery.flippingBodyBit(record) : record
            }
            try setup.expectRefused(
                bad, code: .refused, badBlock: 1, mentioning: ["block 1", victim.id.text, "hash does not match"])
        }
    }

    @Test("(b) a forged signature (another key's signature over the hash): refused naming the event")
    func forgedSignature() throws {
        try TemporaryDirectory.with { directory in
            let setup = try BadBundleCase(in: directory)
            let victim = try EventWireCodec.decode(setup.contents.records[setup.target + 1])
            let forger = DeviceKey()
            let bad = try setup.altered { index, record in
                index == setup.target + 1 ? try BundleSurgery.resigning(record, with: forger) : record
            }
            try setup.expectRefused(
                bad, code: .refused, badBlock: 1, mentioning: ["block 1", victim.id.text, "signature does not verify"])
        }
    }

    @Test(
        "(c) the last event of a block re-signed by another enrolled device: the signature does not verify with the origin's key; refused")
    func resignedByAnotherDevice() throws {
        try TemporaryDirectory.with { directory in
            let setup = try BadBundleCase(in: directory)
            // The end of the block's run, whose signature vouches for the run (SignatureRuns).
            let last = setup.target + setup.contents.blocks[1].records.count - 1
            let victim = try EventWireCodec.decode(setup.contents.records[last])
            let bad = try setup.altered { index, record in
                index == last ? try BundleSurgery.resigning(record, with: setup.other.key) : record
            }
            try setup.expectRefused(
                bad, code: .refused, badBlock: 1, mentioning: ["block 1", victim.id.text, "signature does not verify"])
        }
    }

    @Test("(c') a forged signature in the very first block: the store is entirely unchanged")
    func forgedSignatureInFirstBlock() throws {
        try TemporaryDirectory.with { directory in
            let setup = try BadBundleCase(in: directory)
            let last = setup.contents.blocks[0].records.count - 1
            let victim = try EventWireCodec.decode(setup.contents.records[last])
            let bad = try setup.altered { index, record in
                index == last ? try BundleSurgery.resigning(record, with: setup.other.key) : record
            }
            try setup.expectRefused(bad, code: .refused, badBlock: 0, mentioning: ["block 0", victim.id.text])
        }
    }

    @Test("(d) a bundle encrypted to another device: wrongRecipient, nothing stored")
    func wrongRecipient() throws {
        try TemporaryDirectory.with { directory in
            let setup = try BadBundleCase(in: directory)
            let bad = try Self.export(setup.laptop, for: setup.other, in: setup.clinic, all: true)
            try setup.expectRefused(bad, code: .wrongRecipient, badBlock: 0, mentioning: ["another recipient"])
        }
    }

    @Test("(e) an unknown bundle format version: malformed, naming the version, nothing stored")
    func unknownFormatVersion() throws {
        try TemporaryDirectory.with { directory in
            let setup = try BadBundleCase(in: directory)
            let bad = setup.clinic.bundlePath()
            try BundleSurgery.copy(of: setup.goodPath, to: bad, formatVersion: 2)
            try setup.expectRefused(bad, code: .malformed, badBlock: 0, mentioning: ["version 2"])
        }
    }

    @Test("(f) a bundle from another clinic's root: foreignClinic, nothing stored")
    func foreignClinic() throws {
        try TemporaryDirectory.with { directory in
            let setup = try BadBundleCase(in: directory)
            let foreign = try ClinicFixture(in: directory, rootName: "other-root")
            let foreignEvents = try Self.record(Self.pain(3, patient: "p-1"), on: foreign.root)
            let bad = try Self.export(foreign.root, for: setup.root, in: setup.clinic, all: true)
            try setup.expectRefused(bad, code: .foreignClinic, badBlock: 0, mentioning: ["another clinic root"])
            for event in foreignEvents { #expect(try !Self.held(event.id, in: setup.root)) }
            #expect(try setup.root.store.quarantine().isEmpty, "not even quarantined")
        }
    }

    @Test("(g) a home device cannot record another patient's event; a bundle it signs carrying another origin's events gets them quarantined for scope, and its own event about another patient is held out of scope")
    func homeDeviceOutOfScope() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let laptop = try clinic.addDevice("laptop-1")
            let home = try clinic.addDevice("home-1", role: .home, patient: "p-1")

            // The honest way is closed: the home store refuses to record about p-2.
            let refusal = #expect(throws: StoreError.self) {
                try home.store.record(try Self.pain(1, patient: "p-2"), signedBy: home.key)
            }
            #expect(refusal?.code == .permissionDenied)
            #expect(try home.store.count() == 0)

            // Its own p-1 events travel fine.
            let own = try Self.record(Self.pain(1, patient: "p-1"), on: home)
            let honest = try Self.importBundle(try Self.export(home, for: root, in: clinic), into: root)
            #expect(honest.new == 1)
            #expect(try Self.held(own[0].id, in: root))

            let before = try Snapshot(root)
            // Attack 1: a fresh, validly signed laptop event about p-2, in a bundle signed by the home device.
            let stolen = try Self.record(Self.pain(1, patient: "p-2", start: 1_792_000_000_000), on: laptop)[0]
            try #require(try !Self.held(stolen.id, in: root))
            let header = try BundleSurgery.header(sender: home.key, store: home.store, scope: .patient("p-1"))
            let relayed = clinic.bundlePath()
            try BundleSurgery.write(
                [EventWireCodec.encode(stolen)], header: header.bytes, headerSignature: header.signature, to: relayed,
                recipient: try root.key.agreementKey().publicKey)
            let report = try Self.importBundle(relayed, into: root)
            #expect(report.new == 0)
            #expect(report.quarantined == 1)
            #expect(try !Self.held(stolen.id, in: root))
            let reason = try #require(try root.store.quarantine().first { $0.id == stolen.id }?.reason)
            #expect(reason.contains(home.store.identity.origin.text), "names the pushing device: \(reason)")
            #expect(reason.contains("its own events"), "\(reason)")

            // Attack 2: an event of the home origin itself about p-2 (made with a copy of the home key in a store
            // that is not limited to p-1), in a bundle signed by the home device.
            let copy = try EventStore.create(
                at: directory.file("home-1-copy.sqlite"), deviceName: "home-1",
                key: home.key, trust: .joining(root: root.key.publicKey, homePatient: nil))
            // Give the copy the home device's chain so the forged event continues it (no gap, no fork).
            _ = try copy.append(try home.store.events().map(\.event).filter { $0.origin == home.store.identity.origin })
            let outside = try copy.record(try Self.pain(1, patient: "p-2", start: 1_793_000_000_000), signedBy: home.key)[0].event
            let header2 = try BundleSurgery.header(sender: home.key, store: home.store, scope: .patient("p-1"))
            let pushed = clinic.bundlePath()
            try BundleSurgery.write(
                [EventWireCodec.encode(outside)], header: header2.bytes, headerSignature: header2.signature, to: pushed,
                recipient: try root.key.agreementKey().publicKey)
            // It is a link of the home device's own chain: stored, so the chain goes on, but held out of scope.
            let report2 = try Self.importBundle(pushed, into: root)
            #expect(report2.new == 1)
            #expect(report2.quarantined == 0)
            #expect(try Self.held(outside.id, in: root))
            let hold = try #require(try root.store.reviewHeldEvents().first { $0.id == outside.id })
            #expect(hold.hold == .outOfScope)
            #expect(hold.detail.contains("may only write events about patient p-1"), "\(hold.detail)")

            let after = try Snapshot(root)
            #expect(after.count == before.count + 1)
            #expect(after.ids == before.ids.union([outside.id]))
            #expect(after.patients == before.patients, "the held event is in no read model")

            // The root still takes the laptop's event from the laptop itself.
            let direct = try Self.importBundle(try Self.export(laptop, for: root, in: clinic), into: root)
            #expect(direct.new == 1)
            #expect(try Self.held(stolen.id, in: root))
            #expect(
                try !root.store.quarantine().contains { $0.id == stolen.id },
                "once the event is admitted from its own origin, the quarantine no longer lists it")
        }
    }
}
