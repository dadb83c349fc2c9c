import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// The smallest schedules behind what the adversarial convergence property found (issue 12, item 7), each held to
/// what the fix guarantees.
@Suite("Sync convergence: findings of the adversarial property")
struct ConvergenceFindingsTests {
    /// A store and the key that signs what it exports (a restored copy signs with the original's key).
    private struct Peer {
        let store: EventStore
        let key: DeviceKey
        init(_ device: ClinicFixture.Device) {
            store = device.store
            key = device.key
        }
        init(store: EventStore, key: DeviceKey) {
            self.store = store
            self.key = key
        }
    }

    /// Exports what `receiver` is missing from `sender` and imports it, as `ClinicFixture.transfer` does.
    @discardableResult
    private static func transfer(from sender: Peer, to receiver: Peer, in clinic: ClinicFixture) throws -> SyncReport {
        let path = clinic.bundlePath()
        let vector = try receiver.store.versionVector()
        let options = BundleExport.Options(
            cutAgainst: vector, heads: try receiver.store.chainHeads(at: vector),
            patient: receiver.store.identity.homePatient)
        try BundleExport.export(from: sender.store, signedBy: sender.key, to: path, options: options)
        return try BundleImport.import(from: path, into: receiver.store, key: receiver.key)
    }

    private static func pain(_ score: Int) throws -> EventDraft {
        try Fixtures.painDraft(patient: "p-1", score: score, at: Timestamp.now().millisecondsSinceEpoch)
    }

    /// Every event a store keeps of an origin, in its log or as fork evidence.
    private static func kept(_ store: EventStore) throws -> Set<String> {
        Set(try eventIDs(store).map(\.text)).union(try store.forks().map(\.otherEvent))
    }

    @Test("a restored backup's conflicting event that reaches a replica already holding that position is found by the chain heads: both replicas keep both branches' events, freeze the origin alike and fold the same")
    func forkBelowTheVector() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let server = try clinic.addDevice("server", role: .replica)
            let desk = try clinic.addDevice("desk")
            let root = clinic.root
            try clinic.transfer(from: root, to: server)
            try desk.store.record([try Self.pain(5)], signedBy: desk.key)
            // The desk is backed up after its first event; it records a second.
            let backup = directory.file("desk-backup.sqlite")
            try SQLiteConnection(path: desk.store.path).execute("VACUUM INTO '\(backup)'")
            let second = try desk.store.record([try Self.pain(4)], signedBy: desk.key)[0].event
            // Restored on another machine, the backup appends its own second event before syncing.
            let restored = Peer(store: try ProjectedStore.open(at: backup).store, key: desk.key)
            let conflicting = try restored.store.record([try Self.pain(9)], signedBy: desk.key)[0].event
            #expect(second.originSeq == 2 && conflicting.originSeq == 2 && second.hash != conflicting.hash)

            try Self.transfer(from: Peer(desk), to: Peer(root), in: clinic)
            try Self.transfer(from: restored, to: Peer(server), in: clinic)
            // The two replicas sync both ways, and then the restored desk and the desk reach both of them.
            for _ in 0..<2 {
                try Self.transfer(from: Peer(root), to: Peer(server), in: clinic)
                try Self.transfer(from: Peer(server), to: Peer(root), in: clinic)
                for peer in [Peer(desk), restored] {
                    try Self.transfer(from: peer, to: Peer(root), in: clinic)
                    try Self.transfer(from: peer, to: Peer(server), in: clinic)
                }
            }
            #expect(try root.store.event(id: second.id) != nil && server.store.event(id: conflicting.id) != nil)
            #expect(try root.store.versionVector() == server.store.versionVector())
            // Both vectors say "desk: 2"; the heads' hashes differ, so each sent its branch and each found the fork.
            #expect(try root.store.forks().map(\.otherEvent) == [conflicting.id.text])
            #expect(try server.store.forks().map(\.otherEvent) == [second.id.text])
            // The log holds one chain per origin (append-only): each keeps the branch that reached it first, the
            // other as evidence, so both keep both events and the same of everything else.
            #expect(try Self.kept(root.store) == Self.kept(server.store))
            let origin = desk.store.identity.origin
            for store in [root.store, server.store] {
                let forked = try store.forkedOrigins()
                #expect(forked.map(\.originSeq) == [2])
                #expect(forked.map(\.events) == [[second.id.text, conflicting.id.text].sorted()])
            }
            let rootDevice = try root.store.registry().devices[origin]
            #expect(rootDevice?.frozenReason?.hasPrefix("fork at originSeq 2:") == true)
            #expect(rootDevice?.frozenReason == (try server.store.registry().devices[origin]?.frozenReason))
            // From the fork on, neither branch counts: both fold the desk's first report only, and show the fork.
            #expect(try root.store.reviewHeldEvents().map(\.id) == [second.id])
            #expect(try server.store.reviewHeldEvents().map(\.id) == [conflicting.id])
            #expect(try root.projected.state(of: "p-1") == server.projected.state(of: "p-1"))
            #expect(try root.projected.state(of: "p-1")?.latestPain.nrs == 5)
            let alerts = { (projected: ProjectedStore) throws -> [String] in
                try projected.openAlerts().map { "\($0.patient) \($0.kind) \($0.raisedBy)" }
            }
            #expect(try alerts(root.projected) == alerts(server.projected))
            for device in [root, server] {
                try device.projected.rebuild()
                #expect(try device.projected.state(of: "p-1")?.latestPain.nrs == 5)
            }

            // Delivered again, the evidence changes nothing (DESIGN §6.2): not stored, not quarantined.
            let quarantined = try root.store.quarantine()
            let again = try Self.transfer(from: Peer(server), to: Peer(root), in: clinic)
            #expect(again.new == 0 && again.forks == 0 && again.quarantined == 0)
            #expect(try root.store.quarantine() == quarantined)
            let everything = clinic.bundlePath()
            try BundleExport.export(
                from: server.store, signedBy: server.key, to: everything,
                options: BundleExport.Options())
            let report = try BundleImport.import(from: everything, into: root.store, key: root.key)
            #expect(report.new == 0 && report.forks == 0 && report.quarantined == 0, "\(report)")
            #expect(try root.store.forks().count == 1)
        }
    }

    @Test("a re-delivered bundle is a no-op even when its fork became visible only through the receiver's own recording: a restored store that records at the positions where the other branch waits in quarantine makes those events fork evidence at once, and holds what it records from the fork on")
    func redeliveryAfterTheRestoredStoreRecords() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let desk = try clinic.addDevice("desk")
            // The desk is backed up before its first event, then records three.
            let backup = directory.file("desk-backup.sqlite")
            try SQLiteConnection(path: desk.store.path).execute("VACUUM INTO '\(backup)'")
            let branch = try desk.store.record(
                [try Self.pain(5), try Self.pain(4), try Self.pain(3)], signedBy: desk.key
            ).map(\.event)
            // Restored on another machine, the backup records its own first event, then receives the desk's chain.
            let projected = try ProjectedStore.open(at: backup)
            let restored = Peer(store: projected.store, key: desk.key)
            try restored.store.record([try Self.pain(9)], signedBy: desk.key)
            let bundle = clinic.bundlePath()
            let vector = try restored.store.versionVector()
            try BundleExport.export(
                from: desk.store, signedBy: desk.key, to: bundle,
                options: BundleExport.Options(cutAgainst: vector, heads: try restored.store.chainHeads(at: vector)))
            let first = try BundleImport.import(from: bundle, into: restored.store, key: restored.key)
            // The desk's first event is evidence; its next two wait: the origin is frozen, their positions not held.
            #expect(first.forks == 1 && first.quarantined == 2, "\(first)")

            // The restored store records at those two positions and one beyond: the two waiting events now conflict
            // with events it holds, so they are fork evidence at once, and nothing of the origin waits any more.
            try restored.store.record([try Self.pain(8), try Self.pain(7), try Self.pain(6)], signedBy: desk.key)
            #expect(try restored.store.quarantine().isEmpty)
            #expect(try Set(restored.store.forks().map(\.otherEvent)) == Set(branch.map(\.id.text)))
            // From the fork on (originSeq 1) its own events are held out of its read models, like every replica's.
            #expect(try restored.store.reviewHeldEvents().map(\.hold) == Array(repeating: .forked, count: 4))
            #expect(try projected.state(of: "p-1") == nil)

            // Delivered again, the same bundle changes nothing (DESIGN §6.2).
            let quarantine = try restored.store.quarantine()
            let forks = try restored.store.forks()
            let held = try restored.store.reviewHeldEvents()
            let again = try BundleImport.import(from: bundle, into: restored.store, key: restored.key)
            #expect(again.new == 0 && again.forks == 0 && again.quarantined == 0, "\(again)")
            #expect(try restored.store.quarantine() == quarantine)
            #expect(try restored.store.forks() == forks)
            #expect(try restored.store.reviewHeldEvents() == held)
            #expect(try projected.state(of: "p-1") == nil)

            // What it records later, above every position of the other branch, is held too: its origin is forked.
            let later = try restored.store.record([try Self.pain(2)], signedBy: desk.key)[0].event
            #expect(try restored.store.reviewHeldEvents().map(\.id).contains(later.id))
            #expect(try projected.state(of: "p-1") == nil)
        }
    }

    @Test("a thief's event is held out of the read models on every replica, whether it arrived before the revocation or after: the same log, no quarantine, the same state")
    func revocationRace() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let server = try clinic.addDevice("server", role: .replica)
            let tablet = try clinic.addDevice("tablet")
            let root = clinic.root
            try clinic.transfer(from: root, to: server)
            try clinic.transfer(from: root, to: tablet)
            let honest = try tablet.store.record([try Self.pain(6)], signedBy: tablet.key)[0].event
            Thread.sleep(forTimeInterval: 0.005)
            let payload = DeviceRevoked(
                deviceName: "tablet", publicKey: try PublicKeyBase64(checked: tablet.key.publicKey.base64),
                reason: .stolen,
                revokedBy: try Identifier(checked: root.store.identity.origin.text))
            let revocation = try root.store.record(
                [
                    try EventDraft(
                        payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))
                ],
                signedBy: root.key)[0].event
            Thread.sleep(forTimeInterval: 0.005)
            let stolen = try tablet.store.record([try Self.pain(0)], signedBy: tablet.key)[0].event
            try #require(stolen.hlc > revocation.hlc && honest.hlc < revocation.hlc)

            // The thief syncs with the server, which has not heard of the revocation yet, then with the root.
            try clinic.transfer(from: tablet, to: server)
            #expect(try server.projected.state(of: "p-1")?.latestPain.nrs == 0, "folded while nothing said otherwise")
            try clinic.transfer(from: tablet, to: root)
            for _ in 0..<2 {
                try clinic.transfer(from: root, to: server)
                try clinic.transfer(from: server, to: root)
            }
            #expect(try server.store.registry().devices[tablet.store.identity.origin]?.revokedAfter == revocation.hlc)
            // Stored on both (the tablet's chain stays whole), held on both, quarantined on neither.
            #expect(try root.store.quarantine().isEmpty && server.store.quarantine().isEmpty)
            #expect(try server.store.event(id: stolen.id) != nil && root.store.event(id: stolen.id) != nil)
            #expect(try eventIDs(root.store) == eventIDs(server.store))
            for store in [root.store, server.store] {
                let held = try store.reviewHeldEvents()
                #expect(held.map(\.id) == [stolen.id] && held.map(\.hold) == [.afterRevocation])
            }
            // The thief's pain score counts nowhere; the tablet's report from before the revocation still does.
            let rootState = try root.projected.state(of: "p-1")
            #expect(rootState?.latestPain.nrs == 6)
            #expect(try server.projected.state(of: "p-1") == rootState)
            let flags = { (projected: ProjectedStore) throws -> [String] in
                try projected.openAlerts().filter(\.isReviewFlag).map { "\($0.kind) \($0.raisedBy) \($0.raisedAt)" }
            }
            #expect(try flags(root.projected) == flags(server.projected))
            #expect(try flags(root.projected).count == 1)
            try server.projected.rebuild()
            #expect(try server.projected.state(of: "p-1") == rootState)
        }
    }

    @Test("a home device's event about another patient is held out of scope, not quarantined: its chain goes on, the next event is folded, and no other patient's slice receives it")
    func scopeRefusalDoesNotBlockTheChain() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let server = try clinic.addDevice("server", role: .replica)
            let home = try clinic.addDevice("home-1", role: .home, patient: "p-1")
            let home2 = try clinic.addDevice("home-2", role: .home, patient: "p-2")
            let root = clinic.root
            try clinic.transfer(from: root, to: server)
            // A home app of another make (or a copied key) writes about p-2, then about p-1 again.
            let copy = Peer(
                store: try EventStore.create(
                    at: directory.file("home-1-app.sqlite"), deviceName: "home-1", key: home.key,
                    trust: .joining(root: root.key.publicKey, homePatient: nil)),
                key: home.key)
            let outside = try copy.store.record(
                [try Fixtures.painDraft(patient: "p-2", score: 9, at: Timestamp.now().millisecondsSinceEpoch)],
                signedBy: home.key)[0].event
            let next = try copy.store.record([try Self.pain(2)], signedBy: home.key)[0].event

            let report = try Self.transfer(from: copy, to: Peer(root), in: clinic)
            #expect(report.new == 2 && report.quarantined == 0, "\(report)")
            #expect(try root.store.event(id: next.id) != nil)
            #expect(try root.store.quarantine().isEmpty)
            #expect(try root.store.reviewHeldEvents().map(\.id) == [outside.id])
            #expect(try root.projected.state(of: "p-1")?.latestPain.nrs == 2, "the next event is admitted and folded")
            #expect(try root.projected.state(of: "p-2") == nil, "the held event is in no read model")
            // Replicas hold it alike; p-2's home device never receives it, p-1's gets its own chain's good events.
            try clinic.transfer(from: root, to: server)
            #expect(try server.store.reviewHeldEvents().map(\.id) == [outside.id])
            #expect(try eventIDs(server.store) == eventIDs(root.store))
            try clinic.transfer(from: server, to: home2)
            #expect(try home2.store.event(id: outside.id) == nil)
            #expect(try home2.store.quarantine().isEmpty)
        }
    }

    @Test("a home store whose first bundle comes from the clinic server (not yet known to it) admits the slice, and the next one adds to it")
    func homeSliceFromTheServer() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let server = try clinic.addDevice("server", role: .replica)
            let laptop = try clinic.addDevice("laptop")
            let home = try clinic.addDevice("home", role: .home, patient: "p-1")
            let root = clinic.root
            try laptop.store.record([try Self.pain(6), try Self.pain(5)], signedBy: laptop.key)
            try clinic.transfer(from: root, to: server)
            try clinic.transfer(from: laptop, to: server)
            let held = try eventIDs(server.store)

            // The home store knows only the root and itself; the server's enrollment reaches it in this bundle.
            let first = try clinic.transfer(from: server, to: home)
            #expect(first.new > 0 && first.quarantined == 0, "\(first.new) new, \(first.quarantined) quarantined")
            let waiting = try home.store.quarantine()
            #expect(waiting.isEmpty, "\(waiting.map(\.reason))")
            #expect(try home.store.registry().devices[server.store.identity.origin] != nil)
            let slice = try server.store.events().filter { $0.event.patient == nil || $0.event.patient == "p-1" }.map(\.event.id)
            #expect(try eventIDs(home.store).isSuperset(of: slice))
            #expect(held.isSuperset(of: slice))
            #expect(try home.projected.state(of: "p-1")?.latestPain.nrs == 5)

            // Delivered again, the same bundle changes nothing (DESIGN §6.2).
            try laptop.store.record([try Self.pain(3)], signedBy: laptop.key)
            try clinic.transfer(from: laptop, to: server)
            let second = try clinic.transfer(from: server, to: home)
            #expect(second.new == 1 && second.quarantined == 0)
            #expect(try home.projected.state(of: "p-1")?.latestPain.nrs == 3)
        }
    }

    @Test("a bundle cut exactly after its header or between two blocks is refused as truncated like any cut copy, and the whole bundle completes it")
    func cutAtABoundary() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let laptop = try clinic.addDevice("laptop")
            let root = clinic.root
            try laptop.store.record((0..<30).map { _ in try Self.pain(4) }, signedBy: laptop.key)
            let path = clinic.bundlePath()
            try BundleExport.export(
                from: laptop.store, signedBy: laptop.key, to: path,
                options: BundleExport.Options(cutAgainst: try root.store.versionVector(), blockBytes: 2_000))
            var reader = try BundleReader(path: path)
            var blocks: [BundleBlock] = []
            while let block = try reader.nextBlock() { blocks.append(block) }
            try #require(blocks.count >= 2)
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            for (cut, whole) in [(Int(blocks[0].offset), 0), (Int(blocks[1].offset), 1)] {
                let cutPath = clinic.bundlePath()
                try Data(bytes.prefix(cut)).write(to: URL(fileURLWithPath: cutPath))
                let before = try root.store.count()
                let error = #expect(throws: SyncError.self) {
                    try BundleImport.import(from: cutPath, into: root.store, key: root.key)
                }
                #expect(error?.code == .truncated, "cut at byte \(cut): \(error?.message ?? "-")")
                #expect(error?.message.contains("has no trailer") == true)
                #expect(try root.store.count() <= before + blocks.prefix(whole).map(\.records.count).reduce(0, +))
            }
            let report = try BundleImport.import(from: path, into: root.store, key: root.key)
            #expect(report.new + report.alreadyPresent == 30)
            #expect(try root.store.events(EventFilter(origin: laptop.store.identity.origin)).count == 30)
        }
    }
}
