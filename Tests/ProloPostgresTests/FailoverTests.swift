import Foundation
import ProloAudit
import ProloDomain
import ProloPostgres
import ProloStore
import ProloTestSupport
import Testing

@Suite(
    "a hub on a primary with a synchronous standby loses nothing acknowledged on failover",
    .requires(.postgresServer, "failover to a standby is not tried"))
struct FailoverTests {
    @Test(
        "kill -9 the primary during a move-up, promote the standby: every acknowledged copy is there and verifies, the cut one left nothing; the standby refused writes before"
    )
    func failover() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let start = Timestamp.now().millisecondsSinceEpoch - 400 * 86_400_000
            for batch in 0..<20 {
                let drafts = try (0..<100).map { index in
                    try Fixtures.painDraft(
                        patient: try PatientID(checked: "p-\(index % 40)"), score: index % 11,
                        at: start + Int64(batch * 100 + index) * 60_000)
                }
                try clinic.root.store.record(drafts, signedBy: clinic.root.key)
            }
            let store = clinic.root.store
            let count = try store.count()
            let primary = try TestCluster.start()
            defer { try? primary.command("stop") }
            let standby = try TestCluster.standby(of: primary)
            defer { try? standby.command("stop") }

            // Acknowledged copies: each committed on the primary, so (remote_apply) applied on the standby too.
            var acknowledged: [String] = []
            for index in 0..<3 {
                let name = "hub_\(index)"
                try await PostgresLog.administer(primary.url, "CREATE DATABASE \(name)")
                let report = try await PostgresLog.with(primary.url.database(name)) { log throws(StoreError) in
                    try await log.moveUp(from: store)
                }
                #expect(report.verification.isClean)
                acknowledged.append(name)
            }
            try await PostgresLog.administer(primary.url, "CREATE DATABASE hub_cut")

            // The standby serves reads (audit verify runs there) and refuses writes with a clear error.
            let onStandby = try await PostgresLog.with(standby.url.database("hub_0")) { log throws(StoreError) in
                try await log.verify()
            }
            #expect(onStandby.isClean)
            #expect(onStandby.eventsChecked == count)
            await #expect {
                try await PostgresLog.with(standby.url.database("hub_cut")) { log throws(StoreError) in
                    try await log.moveUp(from: store)
                }
            } throws: { error in
                let error = error as? StoreError
                return error?.code == .permissionDenied && error?.message.contains("read-only") == true
            }

            // A copy in flight when the primary dies.
            let inFlight = Task {
                try await PostgresLog.with(primary.url.database("hub_cut")) { log throws(StoreError) in
                    try await log.moveUp(from: store)
                }
            }
            try await Task.sleep(for: .milliseconds(150))
            try primary.command("kill")
            try standby.command("promote")
            // The client in flight is not waited on forever: a COPY cut by the server's death was seen not to return
            // (PostgresNIO's copy writer waits on a channel that is gone; noted in Schemas/postgresql/README.md).
            // What matters here is the database's side: whatever it did not acknowledge is not on the standby.
            let cut = await FirstOf.result(of: inFlight, orAfter: .seconds(20))

            for name in acknowledged + ((try? cut?.get()) != nil ? ["hub_cut"] : []) {
                let report = try await PostgresLog.with(standby.url.database(name)) { log throws(StoreError) in
                    try await log.verify()
                }
                #expect(report.isClean, "\(name): \(String(describing: report.firstProblem))")
                #expect(report.eventsChecked == count, "\(name)")
            }
            if (try? cut?.get()) == nil {
                // Not acknowledged: the promoted standby holds none of it, and the next move-up there succeeds.
                let retried = try await PostgresLog.with(standby.url.database("hub_cut")) { log throws(StoreError) in
                    #expect(try await log.count() == 0)
                    return try await log.moveUp(from: store)
                }
                #expect(retried.verification.isClean)
                #expect(retried.events == count)
            }
        }
    }
}
