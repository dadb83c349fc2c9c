/// A numbered schema change, published as `Schemas/sqlite/NNNN-name.sql` and embedded at build time.
struct Migration: Sendable {
    /// The schema version after this migration.
    let version: Int
    /// The file name without extension.
    let name: String
    /// The SQL.
    let sql: String

    /// The schema version this build creates and reads.
    static var latestVersion: Int { all.last?.version ?? 0 }

    /// Applies every migration above the connection's current version, each in its own transaction.
    static func migrate(_ connection: SQLiteConnection, from current: Int) throws(StoreError) {
        for migration in all where migration.version > current {
            try connection.execute("BEGIN IMMEDIATE")
            do {
                try connection.execute(migration.sql)
                try connection.execute("PRAGMA user_version = \(migration.version)")
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw StoreError(
                    error.code, "migration \(migration.name) failed: \(error.message)", cause: error.cause,
                    sql: error.sql)
            }
        }
    }
}
