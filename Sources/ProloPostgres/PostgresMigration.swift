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

    /// Applies every migration above the database's version, each in its own transaction, under an advisory lock
    /// so that two servers starting at once do not both migrate. A database a newer Prolo migrated is refused.
    static func migrate(_ connection: PostgresConnection, logger: Logger, url: PostgresURL) async throws(StoreError) {
        do {
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS prolo_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger)
            try await connection.query("BEGIN", logger: logger)
            do {
                try await connection.query("SELECT pg_advisory_xact_lock(1347571532)", logger: logger)  // 'PROL'
                var current = 0
                for try await version in try await connection.query(
                    "SELECT coalesce(max(version), 0)::bigint FROM prolo_migrations", logger: logger
                ).decode(Int64.self) {
                    current = Int(version)
                }
                guard current <= latestVersion else {
                    throw StoreError(
                        .newerSchema,
                        "the database \(url.redacted) is at schema version \(current), made by a newer Prolo; this build "
                            + "knows up to \(latestVersion)")
                }
                for migration in all where migration.version > current {
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
        } catch {
            throw StoreError(postgres: error, "cannot migrate the database", at: url)
        }
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
