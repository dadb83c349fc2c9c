import Foundation
import ProloAudit
import ProloDomain
import ProloHTTPSync
import ProloPostgres
import ProloServer
import ProloStore
import ProloSync
import ProloTestSupport
import Synchronization
import Testing

@Suite(
    "A PostgreSQL-backed server fails over to its synchronous standby and loses nothing acknowledged (issue 14)",
    .requires(.postgresServer, "a server's failover to a standby is not tried"))
struct ServerFailoverTests {
    @Test("kill -9 the primary in the middle of pushes, promote the standby, start the server on it: every acknowledged push is there, every device converges, audit verify is clean")
    func failover() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let laptops = try (0..<5).map { try clinic.addDevice("laptop-\($0)", role: .clinic) }
            let tokens = try laptops.map { try clinic.root.store.issueToken(device: $0.name, scope: "clinic", expiresAt: nil).1 }
            // Each laptop's history, pushed a batch at a time.
            var batches: [[[UInt8]]] = []
            for laptop in laptops {
                var pushes: [[UInt8]] = []
                for batch in 0..<40 {
                    let drafts = try (0..<10).map { index in
                        try Fixtures.painDraft(
                            patient: try PatientID(checked: "p-\((batch + index) % 9)"), score: index % 11,
                            at: Timestamp.now().millisecondsSinceEpoch - Int64(batch * 10 + index) * 60_000)
                    }
                    let events = try laptop.store.record(drafts, signedBy: laptop.key).map(\.event)
                    pushes.append(try SyncWire.encodeBatch(events.map { EventWireCodec.encode($0) }))
                }
                batches.append(pushes)
            }
            let primary = try TestCluster.start()
            defer { try? primary.command("stop") }
            let standby = try TestCluster.standby(of: primary)
            defer { try? standby.command("stop") }
            try await PostgresLog.administer(primary.url, "CREATE DATABASE hub")
            _ = try await PostgresLog.with(primary.url.database("hub")) { log throws(StoreError) in
                try await log.moveUp(from: clinic.root.store)
            }

            let first = try await PostgresHub.open(primary.url.database("hub"), maximumConnections: 8, logger: quietLogger)
            let server = try await TestServer.start(
                log: PostgresServerLog(hub: first), key: clinic.root.key, services: [first.client])
            // Pushes from every laptop at once; a batch answered 200 is acknowledged.
            let acknowledged = Acknowledged()
            let pushes = batches
            let pushing = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (index, device) in pushes.enumerated() {
                        group.addTask {
                            for batch in device {
                                guard
                                    let response = try? await rawRequest(
                                        "POST", server.url("/v1/sync/push"), token: tokens[index], body: batch),
                                    response.status == 200
                                else { return }
                                acknowledged.batches.withLock { $0.append(batch) }
                            }
                        }
                    }
                }
            }
            // Kill the primary once some pushes are acknowledged and others are still to come.
            while acknowledged.batches.withLock({ $0.count }) < 20 { try await Task.sleep(for: .milliseconds(10)) }
            try primary.command("kill")
            try standby.command("promote")
            _ = await FirstOf.result(of: Task { await pushing.value }, orAfter: .seconds(60))
            _ = await FirstOf.result(of: Task { try await server.stop() }, orAfter: .seconds(20))
            let pushed = acknowledged.batches.withLock { $0 }
            #expect(pushed.count >= 20)
            #expect(pushed.count < batches.joined().count, "the primary died after every push: nothing was cut")

            // Every acknowledged push is on the promoted standby.
            let promoted = standby.url.database("hub")
            let held = Set(
                try await PostgresLog.with(promoted) { log throws(StoreError) in try await log.texts("SELECT id FROM events") }
                    .compactMap { $0 })
            for batch in pushed {
                for record in try SyncWire.decodeBatch(batch) {
                    let event = try EventWireCodec.decode(record)
                    #expect(held.contains(event.id.text), "acknowledged event \(event.id) is missing after failover")
                }
            }

            // The server started on the promoted standby; every laptop syncs and converges.
            let second = try await PostgresHub.open(promoted, maximumConnections: 8, logger: quietLogger)
            let successor = try await TestServer.start(
                log: PostgresServerLog(hub: second), key: clinic.root.key, services: [second.client])
            for _ in 0..<2 {
                for (laptop, token) in zip(laptops, tokens) {
                    var client = HTTPSyncClient(server: successor.baseURL, token: token, store: laptop.store)
                    client.logger = quietLogger
                    _ = try await client.sync()
                }
            }
            let (vector, _) = try await successor.server.log.summary(.full)
            for laptop in laptops { #expect(try laptop.store.versionVector() == vector, "\(laptop.name) did not converge") }
            try await successor.stop()
            let report = try await PostgresLog.with(promoted) { log throws(StoreError) in try await log.verify() }
            #expect(report.isClean, "\(String(describing: report.firstProblem))")
        }
    }
}

/// The push batches the server answered 200, shared by the pushing tasks.
private final class Acknowledged: Sendable {
    let batches = Mutex<[[UInt8]]>([])
}
