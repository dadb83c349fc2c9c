import ArgumentParser
import Foundation
import ProloPostgres
import ProloStore

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

/// Runs `read` against a clinic hub's read models, refusing (exit 75) when they are not what this build computes
/// yet (a newer build's first run, a database just migrated to them): `prolo rebuild --database` or starting
/// `prolo serve --database` folds them, as opening a SQLite store rebuilds its own.
func readingHub<Value: Sendable>(_ url: PostgresURL, _ read: (PostgresLog) async throws(StoreError) -> Value)
    async throws -> Value
{
    let (current, value) = try await PostgresLog.with(url) { log throws(StoreError) -> (Bool, Value?) in
        guard try await log.readModelsAreCurrent() else { return (false, nil) }
        return (true, try await read(log))
    }
    guard current, let value else {
        throw Failure(
            .temporaryFailure,
            "the read models in \(url.redacted) are not this build's yet (another projection version, or events it "
                + "now reads held out of them): run prolo rebuild --database, or start prolo serve --database on it")
    }
    return value
}
