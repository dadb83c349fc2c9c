public import ProloAudit
import NIOCore
import PostgresNIO
import ProloDomain
import ProloProjections
public import ProloStore

/// What ``PostgresLog/moveUp(from:progress:)`` copied, and the copy's verification.
public struct MoveUpReport: Sendable {
    public var events = 0
    public var origins = 0
    public var flags = 0
    public var forks = 0
    public var quarantined = 0
    public var peers = 0
    /// The server's bearer tokens (their hashes; the access log is copied with them).
    public var tokens = 0
    /// `audit verify` of the copy, run inside the copy's transaction.
    public var verification = VerificationReport()
}

extension PostgresLog {
    /// The keys of `store_meta` that say whose store this is; a SQLite store's other keys (its read models'
    /// versions) belong to tables the copy does not take.
    static let identityKeys = ["store_id", "device_name", "device_public_key", "root_public_key", "clinic_name", "home_patient"]

    /// Copies a SQLite store into this empty database, in one transaction: the store's identity, its registry
    /// table, every event (the same bytes, in the same arrival order), review flags, fork evidence, quarantine and
    /// sync checkpoints. Before committing, the copy is verified in the database as `prolo audit verify` would
    /// (every hash and signature checked against the registry rebuilt from the signed events); if it does not
    /// verify, nothing is committed and the error names the first broken link. Read models are not copied: they
    /// are derived, so the verified copy's are folded from its events (``rebuildReadModels(policy:progress:)``'s
    /// work, phase `folding`) before it commits, and the hub answers the clinic's questions from its first request.
    ///
    /// Stop writers to the store first: events that arrive during the copy are not taken (the copy stops at the
    /// store's last `seq` when it started). `progress` gets the phase, the work done and its total.
    public func moveUp(from store: EventStore, progress: (String, Int, Int) -> Void = { _, _, _ in })
        async throws(StoreError) -> MoveUpReport
    {
        try await transaction("cannot copy \(store.path)") { () async throws(StoreError) -> MoveUpReport in
            let present = try await count()
            guard present == 0, try await meta("store_id") == nil else {
                throw StoreError(
                    .invalidInput,
                    "\(url.redacted) already holds a store (\(present) events); moving up copies into an empty database")
            }
            var report = MoveUpReport()
            let last = try store.read { connection throws(StoreError) in try connection.scalarInt("SELECT max(seq) FROM events") ?? 0 }
            let total = Int(try store.read { connection throws(StoreError) in try connection.scalarInt("SELECT count(*) FROM events") ?? 0 })
            for key in Self.identityKeys {
                let value = try store.read { connection throws(StoreError) in
                    let statement = try connection.statement("SELECT value FROM store_meta WHERE key = ?")
                    statement.bind(1, key)
                    defer { statement.reset() }
                    return try statement.step() ? statement.text(0) : nil
                }
                if let value { try await run("INSERT INTO store_meta (key, value) VALUES (\(key), \(value))", "cannot copy store_meta") }
            }
            report.origins = try await copyTable(store, Self.originsTable)
            report.events = try await asBulkCopy(progress: progress) { () async throws(StoreError) -> Int in
                try await copyEvents(store, upTo: last, total: total, progress: progress)
            }
            report.flags = try await copyTable(store, Self.flagsTable)
            report.forks = try await copyTable(store, Self.forksTable)
            report.quarantined = try await copyTable(store, Self.quarantineTable)
            report.peers = try await copyTable(store, Self.peersTable)
            // The server's side: its tokens keep working on the hub, and who read or wrote what stays on record.
            report.tokens = try await copyTable(store, Self.tokensTable)
            _ = try await copyTable(store, Self.accessLogTable)
            try await run(
                "SELECT setval(pg_get_serial_sequence('access_log', 'seq'), greatest(coalesce(max(seq), 0), 1)) FROM access_log",
                "cannot set the access log's sequence")
            try await run(
                "SELECT setval(pg_get_serial_sequence('events', 'seq'), greatest(coalesce(max(seq), 0), 1)) FROM events",
                "cannot set the events sequence")
            // Statistics for the verification's queries: without them the planner takes the freshly built index for
            // a few hundred rows and sorts an origin's whole remaining chain for every page it reads (measured: the
            // verification at 1 900 events/s instead of the index scan's pace). ANALYZE runs in the transaction.
            try await run("ANALYZE events", "cannot gather statistics of the copied events")
            report.verification = try await verify { done, all in progress("verifying", done, all) }
            if let problem = report.verification.firstProblem {
                throw StoreError(
                    .chainConflict,
                    "the copy does not verify, so nothing was committed: \(problem). Run prolo audit verify on \(store.path)",
                    event: problem.eventID.flatMap { try? EventID(checked: $0) })
            }
            try await foldEveryPatient(policy: .standard) { done, all in progress("folding", done, all) }
            return report
        }
    }

    /// Runs `body` (the events' `COPY`) with the `events` table's unique constraints and secondary indexes dropped,
    /// and makes them again after it, in the caller's transaction: one sorted build each instead of a B-tree insert
    /// per row and index (the id index is on random UUIDv7 text). They are made again from their own definitions in
    /// PostgreSQL's catalog, so the migration's SQL stays the only place they are written; a duplicate the COPY let
    /// in fails the re-made constraint, and the transaction with it. The heads' trigger (migration 5) is disabled
    /// for the `COPY` too (it would keep every copied row for its one statement) and the heads are filled from the
    /// copy by one aggregate after it. A role that does not own the table (it can do neither) copies with them in place.
    private func asBulkCopy<Value: Sendable>(
        progress: (String, Int, Int) -> Void, _ body: () async throws(StoreError) -> Value
    ) async throws(StoreError) -> Value {
        let doing = "cannot set aside the events table's indexes for the copy"
        let owns = try await run(
            "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = 'events'::regclass", doing)
        guard try Self.decode(owns.first, 0, as: Bool.self, "owner") == true else { return try await body() }
        var constraints: [(name: String, definition: String)] = []
        for row in try await run(
            """
            SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = 'events'::regclass AND contype = 'u' ORDER BY conname
            """, doing)
        {
            constraints.append((try Self.decode(row, 0, as: String.self, "conname") ?? "", try Self.decode(row, 1, as: String.self, "definition") ?? ""))
        }
        var indexes: [(name: String, definition: String)] = []
        for row in try await run(
            """
            SELECT i.relname::text, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = 'events'::regclass
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
            ORDER BY i.relname
            """, doing)
        {
            indexes.append((try Self.decode(row, 0, as: String.self, "index") ?? "", try Self.decode(row, 1, as: String.self, "definition") ?? ""))
        }
        for constraint in constraints {
            try await run(PostgresQuery(unsafeSQL: "ALTER TABLE events DROP CONSTRAINT \(Self.quoted(constraint.name))"), doing)
        }
        for index in indexes { try await run(PostgresQuery(unsafeSQL: "DROP INDEX \(Self.quoted(index.name))"), doing) }
        try await run("ALTER TABLE events DISABLE TRIGGER events_advance_heads", doing)
        let value = try await body()
        try await run("ALTER TABLE events ENABLE TRIGGER events_advance_heads", "cannot enable the heads' trigger again")
        try await run(
            """
            INSERT INTO origin_heads (origin, seq) SELECT origin, max(origin_seq) FROM events GROUP BY origin
            ON CONFLICT (origin) DO UPDATE SET seq = greatest(origin_heads.seq, excluded.seq)
            """, "cannot fill the origins' heads after the copy")
        progress("indexing", 0, constraints.count + indexes.count)
        try await run("SET LOCAL maintenance_work_mem = '256MB'", doing)
        for (done, constraint) in constraints.enumerated() {
            try await run(
                PostgresQuery(unsafeSQL: "ALTER TABLE events ADD CONSTRAINT \(Self.quoted(constraint.name)) \(constraint.definition)"),
                "cannot make the events table's constraint \(constraint.name) again after the copy")
            progress("indexing", done + 1, constraints.count + indexes.count)
        }
        for (done, index) in indexes.enumerated() {
            try await run(
                PostgresQuery(unsafeSQL: index.definition), "cannot make the events table's index \(index.name) again after the copy")
            progress("indexing", constraints.count + done + 1, constraints.count + indexes.count)
        }
        return value
    }

    /// `name` as a quoted SQL identifier.
    static func quoted(_ name: String) -> String {
        "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }

    /// Streams the events with `seq <= last` into `events` with `COPY … FROM STDIN`, a page at a time.
    private func copyEvents(_ store: EventStore, upTo last: Int64, total: Int, progress: (String, Int, Int) -> Void)
        async throws(StoreError) -> Int
    {
        let columns = [
            "seq", "id", "origin", "origin_seq", "patient", "type", "schema_version", "hlc", "occurred_at", "occurred_ms",
            "received_at", "author_id", "author_role", "prev", "patient_prev", "dict", "body", "hash", "sig",
        ]
        var copied = 0
        var after: Int64 = 0
        do {
            try await connection.copyFrom(table: "events", columns: columns, logger: logger) { writer in
                while after < last {
                    let page = try store.read { connection throws(StoreError) -> [EventRow] in
                        let statement = try connection.statement(
                            "SELECT \(EventStore.columns) FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT \(ChainVerifier.pageSize)")
                        statement.bind(1, after)
                        statement.bind(2, last)
                        var rows: [EventRow] = []
                        while try statement.step() { rows.append(EventStore.row(statement)) }
                        statement.reset()
                        return rows
                    }
                    guard let tail = page.last else { break }
                    var buffer = ByteBuffer()
                    buffer.reserveCapacity(page.count * 600)
                    for row in page {
                        // occurred_ms as the SQLite store derives it; audit verify checks it against occurred_at.
                        let occurred = (try? Timestamp(checked: row.occurredAt))?.millisecondsSinceEpoch
                        CopyText.row(
                            [
                                .int(row.seq), .text(row.id), .text(row.origin), .int(row.originSeq), .text(row.patient),
                                .text(row.type), .int(row.schemaVersion), .int(row.hlc), .text(row.occurredAt),
                                .int(occurred), .int(row.receivedAt), .text(row.authorID), .text(row.authorRole),
                                .bytes(row.prev), .bytes(row.patientPrev), .int(row.dictionary), .bytes(row.body),
                                .bytes(row.hash), .bytes(row.signature),
                            ], into: &buffer)
                    }
                    try await writer.write(buffer)
                    copied += page.count
                    after = tail.seq
                    progress("copying", copied, total)
                }
            }
        } catch {
            throw StoreError(postgres: error, "cannot copy events", at: url)
        }
        return copied
    }

    /// A table copied row by row, with the kind of each column.
    struct Table: Sendable {
        let name: String
        let columns: [(String, CopyText.Kind)]
    }

    static let originsTable = Table(
        name: "origins",
        columns: [
            ("origin", .text), ("public_key", .bytes), ("name", .text), ("added_at", .int), ("role", .text),
            ("patient", .text), ("enrolled_by", .text), ("updated_hlc", .int), ("revoked_hlc", .int),
            ("revoked_by", .text), ("frozen_reason", .text),
        ])
    static let flagsTable = Table(name: "event_flags", columns: [("id", .text), ("flag", .text), ("detail", .text)])
    static let forksTable = Table(
        name: "forks",
        columns: [
            ("origin", .text), ("origin_seq", .int), ("held_hash", .bytes), ("other_id", .text), ("other_hash", .bytes),
            ("patient", .text), ("detected_at", .int), ("event", .bytes),
        ])
    static let quarantineTable = Table(
        name: "quarantine",
        columns: [
            ("id", .text), ("origin", .text), ("origin_seq", .int), ("patient", .text), ("type", .text),
            ("reason", .text), ("retry", .flag), ("received_at", .int), ("event", .bytes),
        ])
    static let peersTable = Table(name: "sync_peers", columns: [("peer", .text), ("vector", .text), ("updated_at", .int)])
    static let tokensTable = Table(
        name: "tokens",
        columns: [
            ("id", .text), ("secret_hash", .bytes), ("device", .text), ("origin", .text), ("scope", .text),
            ("issued_at", .int), ("expires_at", .int), ("revoked_at", .int),
        ])
    static let accessLogTable = Table(
        name: "access_log",
        columns: [
            ("seq", .int), ("at", .int), ("token", .text), ("device", .text), ("scope", .text), ("method", .text),
            ("route", .text), ("patient", .text), ("purpose", .text), ("status", .int), ("outcome", .text),
            ("request_id", .text),
        ])

    /// Copies every row of `table` (small tables: the registry, flags, forks, quarantine, peers).
    private func copyTable(_ store: EventStore, _ table: Table) async throws(StoreError) -> Int {
        let names = table.columns.map(\.0)
        let buffer = try store.read { connection throws(StoreError) -> (ByteBuffer, Int) in
            let statement = try connection.statement("SELECT \(names.joined(separator: ", ")) FROM \(table.name)")
            defer { statement.reset() }
            var buffer = ByteBuffer()
            var count = 0
            while try statement.step() {
                let values = table.columns.enumerated().map { index, column -> CopyText.Value in
                    let position = Int32(index)
                    if statement.isNull(position) { return .text(nil) }
                    switch column.1 {
                    case .text: return .text(statement.text(position))
                    case .int: return .int(statement.int64(position))
                    case .bytes: return .bytes(statement.blob(position))
                    case .flag: return .flag(statement.int64(position) != 0)
                    }
                }
                CopyText.row(values, into: &buffer)
                count += 1
            }
            return (buffer, count)
        }
        guard buffer.1 > 0 else { return 0 }
        do {
            try await connection.copyFrom(table: table.name, columns: names, logger: logger) { writer in
                try await writer.write(buffer.0)
            }
        } catch {
            throw StoreError(postgres: error, "cannot copy \(table.name)", at: url)
        }
        return buffer.1
    }
}
