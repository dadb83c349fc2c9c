import Foundation
import ProloAudit
import ProloDomain
import ProloPostgres
import ProloStore
import ProloTestSupport
import Testing

/// A clinic server's store worth moving up: the root enrolled a laptop and a home app; the laptop's events came by
/// bundle; the app sent one event whose payload breaks its schema (held, flagged `invalid-payload`); an unenrolled
/// device's event waits in quarantine.
private struct ServerStore {
    let clinic: ClinicFixture
    var store: EventStore { clinic.root.store }

    init(in directory: TemporaryDirectory) throws {
        clinic = try ClinicFixture(in: directory)
        let laptop = try clinic.addDevice("laptop")
        try laptop.store.record(
            [try Fixtures.painDraft(patient: "p-1", score: 6, at: Timestamp.now().millisecondsSinceEpoch)], signedBy: laptop.key)
        try clinic.transfer(from: laptop, to: clinic.root)
        var app = ForeignDevice()
        try clinic.enroll(app.key.publicKey, name: "home-app", role: .clinic)
        let good = try app.painReport("p-1", score: 4)
        let bad = try app.seal(.painReported, patient: "p-1", body: .json(#"{"instrument":"nrs","score":11}"#))
        try clinic.root.store.append([good, bad])
        var stranger = ForeignDevice()
        try clinic.root.store.append([try stranger.painReport("p-2", score: 3)])
    }
}

@Suite("prolo move-up: a SQLite store into PostgreSQL, verified before commit", .requires(.postgres, "the PostgreSQL backend is not tried"))
struct MoveUpTests {
    @Test("every event, the registry, flags and quarantine arrive; the copy verifies as the store does; seq order is kept")
    func movesEverything() async throws {
        try await TemporaryDirectory.with { directory in
            let server = try ServerStore(in: directory)
            let local = try ChainVerifier.verify(server.store)
            #expect(local.isClean)
            #expect(try server.store.heldEvents().count == 1)
            #expect(try server.store.quarantine().count == 1)
            try await TestDatabase.with { url in
                let report = try await PostgresLog.with(url) { log throws(StoreError) in try await log.moveUp(from: server.store) }
                #expect(report.events == (try server.store.count()))
                #expect(report.flags == 1)
                #expect(report.quarantined == 1)
                #expect(report.origins == (try server.store.registry().devices.count))
                #expect(report.verification.isClean)
                #expect(report.verification.heads == local.heads)
                try await PostgresLog.with(url) { log throws(StoreError) in
                    #expect(try await log.count() == (try server.store.count()))
                    #expect(try await log.versionVector() == (try server.store.versionVector()))
                    #expect(try await log.meta("store_id") == server.store.identity.storeID)
                    #expect(try await log.meta("root_public_key") == server.store.identity.rootPublicKey.base64)
                    // The same bytes in the same arrival order.
                    let ids = try await log.texts("SELECT id FROM events ORDER BY seq").compactMap { $0 }
                    #expect(ids == (try server.store.events().map(\.event.id.text)))
                    let again = try await log.verify()
                    #expect(again.isClean)
                    #expect(again.eventsChecked == local.eventsChecked)
                }
                // The copy sets the events table's constraints and indexes aside and makes them again after it:
                // they are those of a database the migrations made, and they hold.
                let moved = try await PostgresLog.with(url) { log throws(StoreError) in try await log.texts(Self.eventsIndexes) }
                let migrated = try await TestDatabase.with { fresh in
                    try await PostgresLog.with(fresh) { log throws(StoreError) in try await log.texts(Self.eventsIndexes) }
                }
                #expect(moved == migrated)
                #expect(moved.count >= 5)
                await #expect(throws: StoreError.self) {
                    try await PostgresLog.with(url) { log throws(StoreError) in
                        try await log.execute(
                            """
                            INSERT INTO events (id, origin, origin_seq, type, schema_version, hlc, occurred_at, occurred_ms,
                                received_at, author_id, author_role, dict, body, hash, sig)
                            SELECT id, origin, origin_seq + 1000000, type, schema_version, hlc, occurred_at, occurred_ms,
                                received_at, author_id, author_role, dict, body, hash, sig FROM events ORDER BY seq LIMIT 1
                            """)
                    }
                }
            }
        }
    }

    /// The events table's constraints and indexes, as PostgreSQL's catalog defines them.
    static let eventsIndexes = """
        SELECT conname || ': ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'events'::regclass
        UNION ALL
        SELECT i.relname || ': ' || pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = 'events'::regclass
        ORDER BY 1
        """

    @Test("a database that already holds a store is refused, and left as it was")
    func refusesNonEmpty() async throws {
        try await TemporaryDirectory.with { directory in
            let server = try ServerStore(in: directory)
            try await TestDatabase.with { url in
                _ = try await PostgresLog.with(url) { log throws(StoreError) in try await log.moveUp(from: server.store) }
                let other = try ClinicFixture(in: directory, rootName: "other")
                await #expect {
                    try await PostgresLog.with(url) { log throws(StoreError) in try await log.moveUp(from: other.root.store) }
                } throws: { error in
                    let error = error as? StoreError
                    return error?.code == .invalidInput && error?.message.contains("already holds a store") == true
                }
                try await PostgresLog.with(url) { log throws(StoreError) in
                    #expect(try await log.count() == (try server.store.count()))
                    #expect(try await log.meta("store_id") == server.store.identity.storeID)
                }
            }
        }
    }

    @Test("a store that does not verify is not committed: the error names the broken event and the database stays empty")
    func tamperedStoreIsNotCommitted() async throws {
        try await TemporaryDirectory.with { directory in
            let server = try ServerStore(in: directory)
            let target = try #require(try server.store.events(EventFilter(origin: server.store.identity.origin)).last)
            var body = target.event.body
            body[body.count / 2] ^= 0x01
            let hex = body.map { String(format: "%02x", $0) }.joined()
            try server.store.write { connection throws(StoreError) in
                try connection.execute(
                    "DROP TRIGGER events_refuse_update; UPDATE events SET body = X'\(hex)' WHERE id = '\(target.event.id.text)'")
            }
            try await TestDatabase.with { url in
                await #expect {
                    try await PostgresLog.with(url) { log throws(StoreError) in try await log.moveUp(from: server.store) }
                } throws: { error in
                    let error = error as? StoreError
                    return error?.code == .chainConflict && error?.message.contains("nothing was committed") == true
                        && error?.message.contains(target.event.id.text) == true
                        && error?.message.contains("bad-hash") == true
                }
                try await PostgresLog.with(url) { log throws(StoreError) in
                    #expect(try await log.count() == 0)
                    #expect(try await log.meta("store_id") == nil)
                }
            }
        }
    }

    @Test("append-only twice: triggers refuse UPDATE, DELETE and TRUNCATE to the owner; the writer role has no UPDATE or DELETE")
    func appendOnlyTwice() async throws {
        try await TemporaryDirectory.with { directory in
            let server = try ServerStore(in: directory)
            try await TestDatabase.with { url in
                _ = try await PostgresLog.with(url) { log throws(StoreError) in try await log.moveUp(from: server.store) }
                for statement in ["UPDATE events SET type = 'x'", "DELETE FROM events", "TRUNCATE events"] {
                    await #expect {
                        try await PostgresLog.with(url) { log throws(StoreError) in try await log.execute(statement) }
                    } throws: { error in
                        (error as? StoreError)?.message.contains("events are append-only") == true
                    }
                }
                // A server's login role, granted prolo_writer: reads and appends, never edits or deletes events.
                try await TestDatabase.asServerRole(url) { server in
                    try await PostgresLog.with(server) { log throws(StoreError) in
                        #expect(try await log.count() > 0)
                        for statement in ["UPDATE events SET type = 'x'", "DELETE FROM events"] {
                            await #expect {
                                try await log.execute(statement)
                            } throws: { error in
                                (error as? StoreError)?.code == .permissionDenied
                                    && (error as? StoreError)?.message.contains("permission denied") == true
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("an unreachable server is io-error, a missing database store-not-found, a newer schema newer-schema")
    func connectionTrouble() async throws {
        try await TestDatabase.with { url in
            let closed = try PostgresURL("postgresql://nobody@127.0.0.1:1/nothing?sslmode=disable")
            await #expect {
                try await PostgresLog.with(closed) { log throws(StoreError) in try await log.count() }
            } throws: { error in
                (error as? StoreError)?.code == .ioError && (error as? StoreError)?.message.contains("127.0.0.1:1") == true
            }
            await #expect {
                try await PostgresLog.with(url.database("prolo_no_such_db")) { log throws(StoreError) in try await log.count() }
            } throws: { error in
                (error as? StoreError)?.code == .storeNotFound
            }
            _ = try await PostgresLog.with(url) { log throws(StoreError) in try await log.count() }
            try await PostgresLog.administer(url, "INSERT INTO prolo_migrations (version, name) VALUES (99, 'from-the-future')")
            await #expect {
                try await PostgresLog.with(url) { log throws(StoreError) in try await log.count() }
            } throws: { error in
                (error as? StoreError)?.code == .newerSchema && (error as? StoreError)?.message.contains("99") == true
            }
        }
    }

    @Test("prolo move-up and prolo audit verify --database: exit 0 with a report; moving up twice exits 65; PROLO_DATABASE_URL works")
    func commands() async throws {
        try await TemporaryDirectory.with { directory in
            let server = try ServerStore(in: directory)
            let count = try server.store.count()
            try await TestDatabase.with { url in
                // The URL as an operator would write it (the test cluster's superuser has no password).
                let text = "postgresql://\(url.user)@\(url.host ?? ""):\(url.port)/\(url.database)?sslmode=disable"
                let moved = try CommandRunner.prolo(["move-up", "--store", server.store.path, "--database", text, "--json"])
                #expect(moved.status == 0, "\(moved.stderr)")
                let report = try #require(try JSONSerialization.jsonObject(with: Data(moved.stdout.utf8)) as? [String: Any])
                #expect(report["events"] as? Int == count)
                #expect((report["verification"] as? [String: Any])?["verified"] as? Bool == true)
                let verified = try CommandRunner.prolo(["audit", "verify"], environment: ["PROLO_DATABASE_URL": text])
                #expect(verified.status == 0, "\(verified.stderr)")
                #expect(verified.stdout.contains("verified \(count) events"), "\(verified.stdout)")
                // An operator's commands on the hub's database.
                let hub = ["PROLO_DATABASE_URL": text]
                let devices = try CommandRunner.prolo(["device", "list", "--json"], environment: hub)
                #expect(devices.status == 0, "\(devices.stderr)")
                #expect(devices.stdout.contains("\"laptop\""), "\(devices.stdout)")
                let issued = try CommandRunner.prolo(["token", "issue", "--device", "laptop", "--scope", "clinic", "--json"], environment: hub)
                #expect(issued.status == 0, "\(issued.stderr)")
                let tokens = try CommandRunner.prolo(["token", "list"], environment: hub)
                #expect(tokens.stdout.contains("laptop"), "\(tokens.stdout)")
                let log = try CommandRunner.prolo(["log", "--limit", "2", "--json"], environment: hub)
                #expect(log.status == 0, "\(log.stderr)")
                let listed = try JSONSerialization.jsonObject(with: Data(log.stdout.utf8)) as? [Any]
                #expect(listed?.count == 2)
                // The clinic's questions from the hub's read models, folded at the move-up: what the store's say.
                for command in [["patients", "--json"], ["alerts", "--json"], ["due", "--within", "3650", "--json"], ["patient", "show", "p-1", "--json"]] {
                    let fromHub = try CommandRunner.prolo(command, environment: hub)
                    let fromStore = try CommandRunner.prolo(command + ["--store", server.store.path])
                    #expect(fromHub.status == 0, "\(command): \(fromHub.stderr)")
                    #expect(fromHub.stdout == fromStore.stdout, "\(command)")
                }
                let absent = try CommandRunner.prolo(["patient", "show", "p-9"], environment: hub)
                #expect(absent.status == 66)
                // Read models another projection version made are refused until rebuilt, not read as they are.
                try await PostgresLog.with(url) { log throws(StoreError) in
                    try await log.execute("UPDATE projections SET version = version - 1")
                }
                let stale = try CommandRunner.prolo(["alerts"], environment: hub)
                #expect(stale.status == 75)
                #expect(stale.stderr.contains("prolo rebuild --database"), "\(stale.stderr)")
                let rebuilt = try CommandRunner.prolo(["rebuild", "--json"], environment: hub)
                #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
                #expect(rebuilt.stdout.contains("\"patients\":1"), "\(rebuilt.stdout)")
                #expect(try CommandRunner.prolo(["alerts"], environment: hub).status == 0)
                let again = try CommandRunner.prolo(["move-up", "--store", server.store.path, "--database", text])
                #expect(again.status == 65)
                #expect(again.stderr.contains("already holds a store"), "\(again.stderr)")
                let missing = try CommandRunner.prolo(["move-up", "--store", server.store.path], environment: ["PROLO_DATABASE_URL": ""])
                #expect(missing.status == 64)
                #expect(missing.stderr.contains("--database"), "\(missing.stderr)")
            }
        }
    }

    @Test("prolo init --clinic --database makes a hub's database and its key file; a database that holds a store is refused, with no key file left; a key file is never overwritten")
    func initHub() async throws {
        try await TemporaryDirectory.with { directory in
            try await TestDatabase.with { url in
                let text = "postgresql://\(url.user)@\(url.host ?? ""):\(url.port)/\(url.database)?sslmode=disable"
                let key = directory.file("hub.key")
                let made = try CommandRunner.prolo(
                    ["init", "--clinic", "North Clinic", "--database", text, "--key", key, "--json"])
                #expect(made.status == 0, "\(made.stderr)")
                let report = try #require(try JSONSerialization.jsonObject(with: Data(made.stdout.utf8)) as? [String: Any])
                #expect(report["keyFile"] as? String == key)
                #expect(FileManager.default.fileExists(atPath: key))
                let identity = try await PostgresLog.with(url) { log throws(StoreError) in try await log.identity() }
                #expect(identity.isClinicRoot)
                #expect(identity.deviceName == "north-clinic-root")
                #expect(report["publicKey"] as? String == identity.publicKey.base64)
                // The hub's key signs its enrollments.
                let enrolled = try CommandRunner.prolo(
                    ["device", "enroll", "--database", text, "--key", key, "--name", "laptop-1", "--role", "clinic",
                        "--public-key", DeviceKey().publicKey.base64])
                #expect(enrolled.status == 0, "\(enrolled.stderr)")
                let second = directory.file("second.key")
                let refused = try CommandRunner.prolo(["init", "--clinic", "South", "--database", text, "--key", second])
                #expect(refused.status == 65)
                #expect(refused.stderr.contains("already holds a store"), "\(refused.stderr)")
                #expect(!FileManager.default.fileExists(atPath: second))
                let overwrite = try CommandRunner.prolo(["init", "--clinic", "North", "--database", text, "--key", key])
                #expect(overwrite.status == 73)
                let keyless = try CommandRunner.prolo(["init", "--clinic", "North", "--database", text])
                #expect(keyless.status == 64)
                #expect(keyless.stderr.contains("--key"), "\(keyless.stderr)")
            }
        }
    }
}
