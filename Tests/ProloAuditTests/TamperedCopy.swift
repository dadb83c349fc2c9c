import Foundation
import ProloAudit
import ProloDomain
import ProloPostgres
import ProloStore
import ProloTestSupport
import Testing

/// Where an audit conformance test keeps its copy of the store: the suite runs once per backend.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// A copy of the store file, edited with the `sqlite3` shell.
    case sqlite
    /// The store moved up into a new PostgreSQL database (`prolo move-up`), edited over a superuser's connection.
    case postgresql

    var testDescription: String { rawValue }
}

/// A copy of a store in one backend, with the append-only triggers off so that a test can edit it behind Prolo's
/// back, as a tamperer with the file or the database's superuser would; verified as `prolo audit verify` does there.
struct TamperedCopy {
    let backend: Backend
    private let path: String
    private let log: PostgresLog?

    /// Runs `body` with a copy of `store` in `backend`: for SQLite a file in `directory`, for PostgreSQL a new
    /// database (dropped afterwards). With `triggers` false, the append-only triggers are dropped (SQLite) or
    /// disabled (PostgreSQL) first.
    static func with(
        _ store: EventStore, in directory: TemporaryDirectory, _ backend: Backend, name: String = "copy",
        triggers: Bool = false, _ body: (TamperedCopy) async throws -> Void
    ) async throws {
        switch backend {
        case .sqlite:
            let path = directory.file("\(name).sqlite")
            try SQLiteShell.copyStore(store.path, to: path)
            if !triggers { try SQLiteShell.run(path, "DROP TRIGGER events_refuse_update; DROP TRIGGER events_refuse_delete;") }
            try await body(TamperedCopy(backend: backend, path: path, log: nil))
        case .postgresql:
            try await TestDatabase.with("audit verify is not tried on the PostgreSQL backend") { url in
                try await PostgresLog.with(url) { log throws(StoreError) in
                    _ = try await log.moveUp(from: store)
                    if !triggers {
                        try await log.execute(
                            """
                            ALTER TABLE events DISABLE TRIGGER events_refuse_update;
                            ALTER TABLE events DISABLE TRIGGER events_refuse_delete;
                            """)
                    }
                }
                try await PostgresLog.with(url) { log throws(StoreError) in
                    let copy = TamperedCopy(backend: backend, path: url.redacted, log: log)
                    do {
                        try await body(copy)
                    } catch let error as StoreError {
                        throw error
                    } catch {
                        throw StoreError(.internalError, "\(error)")
                    }
                }
            }
        }
    }

    /// Runs `sql` (statements separated by `;` at a line's end) on the copy.
    func run(_ sql: String) async throws {
        if let log {
            try await log.execute(sql)
        } else {
            try SQLiteShell.run(path, sql)
        }
    }

    /// `sql`'s first column of its first row, as text.
    func text(_ sql: String) async throws -> String {
        if let log { return try await log.texts(sql).first.flatMap { $0 } ?? "" }
        return try SQLiteShell.run(path, sql)
    }

    /// A literal for `bytes` in this backend's SQL.
    func blob(_ bytes: [UInt8]) -> String {
        log == nil ? "X'\(SQLiteShell.hex(bytes))'" : "'\\x\(SQLiteShell.hex(bytes))'::bytea"
    }

    /// Drops (SQLite) or disables (PostgreSQL) one append-only trigger.
    func removeTrigger(_ name: String) async throws {
        try await run(log == nil ? "DROP TRIGGER \(name);" : "ALTER TABLE events DISABLE TRIGGER \(name);")
    }

    /// Inserts `stored` as a row of `events`, with all its columns (as a tamperer would).
    func insert(_ stored: StoredEvent) async throws {
        let event = stored.event
        let values = [
            SQLiteShell.quote(event.id.text), SQLiteShell.quote(event.origin.text), "\(event.originSeq)",
            event.patient.map { SQLiteShell.quote($0.text) } ?? "NULL", SQLiteShell.quote(event.type.rawValue),
            "\(event.schemaVersion)", "\(event.hlc.packed)", SQLiteShell.quote(event.occurredAt.text),
            "\(event.occurredAt.millisecondsSinceEpoch)", "\(stored.receivedAt.millisecondsSinceEpoch)",
            SQLiteShell.quote(event.author.id.text), SQLiteShell.quote(event.author.role.rawValue),
            event.prev.map { blob($0.bytes) } ?? "NULL", event.patientPrev.map { blob($0.bytes) } ?? "NULL",
            "\(event.dictionary)", blob(event.body), blob(event.hash.bytes), blob(event.signature),
        ]
        try await run(
            """
            INSERT INTO events (id, origin, origin_seq, patient, type, schema_version, hlc, occurred_at, occurred_ms,
                received_at, author_id, author_role, prev, patient_prev, dict, body, hash, sig)
            VALUES (\(values.joined(separator: ", ")));
            """)
    }

    /// The copy verified as `prolo audit verify` verifies it in this backend.
    func verify() async throws -> VerificationReport {
        if let log { return try await log.verify() }
        return try ChainVerifier.verify(EventStore.open(at: path))
    }
}
