import Foundation
import ProloDomain
import ProloHTTPSync
import ProloProjections
import ProloServer
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// The convergence findings of issue 12 over HTTP: a fork below the vector, and a revocation that arrives after the
/// thief's event (Schemas/sync.md).
@Suite("Forks and revocations converge over HTTP")
struct HTTPForkAndRevocationTests {
    private func sync(_ store: EventStore, token: String, server: TestServer) async throws -> SyncReport {
        var client = HTTPSyncClient(server: server.baseURL, token: token, store: store)
        client.attempts = 2
        client.initialBackoff = .milliseconds(20)
        client.logger = quietLogger
        return try await client.sync()
    }

    private static func pain(_ score: Int) throws -> EventDraft {
        try Fixtures.painDraft(patient: "p-1", score: score, at: Timestamp.now().millisecondsSinceEpoch)
    }

    @Test(
        "a laptop and the server holding two branches of a restored desk at the same position both find the fork in one HTTP sync, fold alike, and the next sync is a no-op"
    )
    func forkBelowTheVectorOverHTTP() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let laptop = try clinic.addDevice("laptop", role: .clinic)
            let desk = try clinic.addDevice("desk", role: .clinic)
            try clinic.transfer(from: root, to: laptop)
            try desk.store.record([try Self.pain(5)], signedBy: desk.key)
            let backup = directory.file("desk-backup.sqlite")
            try SQLiteConnection(path: desk.store.path).execute("VACUUM INTO '\(backup)'")
            let second = try desk.store.record([try Self.pain(4)], signedBy: desk.key)[0].event
            let restoredStore = try ProjectedStore.open(at: backup).store
            let conflicting = try restoredStore.record([try Self.pain(9)], signedBy: desk.key)[0].event
            // The server (root) gets the desk's branch, the laptop the restored copy's: both hold "desk: 2".
            try clinic.transfer(from: desk, to: root)
            let path = clinic.bundlePath()
            try BundleExport.export(
                from: restoredStore, signedBy: desk.key, to: path,
                options: BundleExport.Options(
                    cutAgainst: try laptop.store.versionVector(), heads: try laptop.store.chainHeads()))
            _ = try BundleImport.import(from: path, into: laptop.store, key: laptop.key)
            #expect(try root.store.versionVector() == laptop.store.versionVector())
            let token = try root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil).1

            try await withServer(device: root) { server in
                let first = try await sync(laptop.store, token: token, server: server)
                #expect(first.forks == 1, "the laptop found the server's branch: \(first)")
                #expect(try root.store.forks().map(\.otherEvent) == [conflicting.id.text], "the server found the laptop's")
                #expect(try laptop.store.forks().map(\.otherEvent) == [second.id.text])
                let again = try await sync(laptop.store, token: token, server: server)
                #expect(again.new == 0 && again.forks == 0 && again.quarantined == 0, "\(again)")
            }
            for store in [root.store, laptop.store] {
                #expect(try store.forkedOrigins().map(\.events) == [[second.id.text, conflicting.id.text].sorted()])
                #expect(try store.quarantine().isEmpty)
            }
            #expect(try root.projected.state(of: "p-1") == laptop.projected.state(of: "p-1"))
            #expect(try root.projected.state(of: "p-1")?.latestPain.nrs == 5)
            let origin = desk.store.identity.origin
            #expect(
                try root.store.registry().devices[origin]?.frozenReason
                    == laptop.store.registry().devices[origin]?.frozenReason)
        }
    }

    @Test(
        "a replica that stored a thief's event before the revocation reached it holds it out of its read models once it syncs over HTTP, like the server that got it after"
    )
    func revocationAfterTheThiefsEventOverHTTP() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let replica = try clinic.addDevice("replica", role: .replica)
            let tablet = try clinic.addDevice("tablet", role: .clinic)
            try clinic.transfer(from: root, to: replica)
            try clinic.transfer(from: root, to: tablet)
            let honest = try tablet.store.record([try Self.pain(6)], signedBy: tablet.key)[0].event
            try clinic.transfer(from: tablet, to: root)
            try await Task.sleep(for: .milliseconds(5))
            let revocation = DeviceRevoked(
                publicKey: try PublicKeyBase64(checked: tablet.key.publicKey.base64), reason: .stolen,
                revokedBy: "admin-1")
            try root.store.record(
                [try EventDraft(revocation, patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))],
                signedBy: root.key)
            try await Task.sleep(for: .milliseconds(5))
            let stolen = try tablet.store.record([try Self.pain(0)], signedBy: tablet.key)[0].event
            try clinic.transfer(from: tablet, to: replica)
            #expect(try replica.projected.state(of: "p-1")?.latestPain.nrs == 0, "folded: no revocation known yet")
            let token = try root.store.issueToken(device: "replica", scope: "replica", expiresAt: nil).1

            try await withServer(device: root) { server in
                let report = try await sync(replica.store, token: token, server: server)
                #expect(report.quarantined == 0, "\(report)")
            }
            #expect(try eventIDs(root.store) == eventIDs(replica.store))
            #expect(try root.store.event(id: honest.id) != nil)
            for store in [root.store, replica.store] {
                #expect(try store.reviewHeldEvents().map(\.id) == [stolen.id])
                #expect(try store.quarantine().isEmpty)
            }
            #expect(try replica.projected.state(of: "p-1") == root.projected.state(of: "p-1"))
            #expect(try replica.projected.state(of: "p-1")?.latestPain.nrs == 6)
        }
    }
}
