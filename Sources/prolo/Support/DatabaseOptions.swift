import ArgumentParser
import Foundation
import ProloPostgres

/// `--database URL` (env `PROLO_DATABASE_URL`): a PostgreSQL database instead of a SQLite store file.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A PostgreSQL database, postgresql://USER:PASSWORD@HOST:PORT/DATABASE (env PROLO_DATABASE_URL).",
            valueName: "URL"))
    var database: String?

    /// The URL given with `--database`, else `PROLO_DATABASE_URL`; nil when neither is set.
    var text: String? {
        if let database { return database }
        if let fromEnvironment = ProcessInfo.processInfo.environment["PROLO_DATABASE_URL"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return nil
    }

    /// The database, parsed; nil when none is named.
    func url() throws -> PostgresURL? {
        try text.map { try PostgresURL($0) }
    }

    /// The database a command runs against instead of the SQLite store: `--database`, or `PROLO_DATABASE_URL` when
    /// no `--store` (or `PROLO_STORE`) names a store file; nil for the store.
    func chosen(over store: StoreOptions) throws -> PostgresURL? {
        guard database != nil || store.explicitPath == nil else { return nil }
        return try url()
    }
}
