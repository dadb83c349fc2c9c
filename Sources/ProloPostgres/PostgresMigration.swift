import Foundation
import Logging
import PostgresNIO
import ProloStore

/// A numbered schema change of the PostgreSQL backend, published as `Schemas/postgresql/NNNN-name.sql` and embedded
/// at build time (`Tools/embed-schemas.py`).
struct PostgresMigration: Sendable {
    let version: Int
    let name: String
    let sql: String

    static var latestVersion: Int { all.last?.version ?? 0 }

    /// Applies every migration above the database's version, in one transaction, under an advisory lock so that
    /// two servers starting at once do not both migrate. An up-to-date database is only read (a server's role,
    /// which may not create tables, opens it); a database a newer Prolo migrated is refused.
    static func migrate(_ connection: PostgresConnection, logger: Logger, url: PostgresURL) async throws(StoreError) {
        do {
            let current = try await version(connection, logger: logger)
            guard current <= latestVersion else { throw newer(current, url) }
            guard current < latestVersion else { return }
            try await connection.query("BEGIN", logger: logger)
            do {
                try await connection.query("SELECT pg_advisory_xact_lock(1347571532)", logger: logger)  // 'PROL'
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS prolo_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                    logger: logger)
                let locked = try await version(connection, logger: logger)
                guard locked <= latestVersion else { throw newer(locked, url) }
                for migration in all where migration.version > locked {
                    for statement in statements(of: migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO prolo_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: logger)
                }
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        } catch let error as StoreError {
            throw error
        } catch {
            var failure = StoreError(postgres: error, "cannot migrate the database", at: url)
            if failure.code == .permissionDenied {
                failure = StoreError(
                    .permissionDenied,
                    failure.message + "; the database needs this build's schema (version \(latestVersion)): run a "
                        + "prolo command against it once as the database's owner", cause: failure.cause)
            }
            throw failure
        }
    }

    /// The highest migration applied, 0 for a database Prolo never migrated.
    private static func version(_ connection: PostgresConnection, logger: Logger) async throws -> Int {
        var exists = false
        for try await name in try await connection.query(
            "SELECT to_regclass('prolo_migrations')::text", logger: logger
        ).decode(String?.self) {
            exists = name != nil
        }
        guard exists else { return 0 }
        var current = 0
        for try await version in try await connection.query(
            "SELECT coalesce(max(version), 0)::bigint FROM prolo_migrations", logger: logger
        ).decode(Int64.self) {
            current = Int(version)
        }
        return current
    }

    private static func newer(_ version: Int, _ url: PostgresURL) -> StoreError {
        StoreError(
            .newerSchema,
            "the database \(url.redacted) is at schema version \(version), made by a newer Prolo; this build knows up "
                + "to \(latestVersion)")
    }

    /// The statements of a migration file: split at a `;` that ends a line, outside `$$` bodies, comments dropped.
    static func statements(of sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !inBody && (trimmed.hasPrefix("--") || trimmed.isEmpty) { continue }
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            if !inBody && trimmed.hasSuffix(";") {
                statements.append(current.trimmingCharacters(in: .whitespacesAndNewlines))
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }
}
