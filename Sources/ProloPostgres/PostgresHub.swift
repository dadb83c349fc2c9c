public import Logging
import NIOCore
public import PostgresNIO
import ProloDomain
public import ProloStore

/// A clinic hub's log in PostgreSQL for a long-running server: a pool of connections (PostgresNIO's
/// `PostgresClient`, non-blocking), each request's work on a connection leased for it as a ``PostgresLog``. Writers
/// of different origins run at once on their own connections (``PostgresLog/append(_:scope:checkpoint:)``).
///
/// Run ``client`` (a swift-service-lifecycle `Service`) for the hub's life, after ``open(_:maximumConnections:logger:)``.
public final class PostgresHub: Sendable {
    public let url: PostgresURL
    /// The pool; a `Service` to run beside the server.
    public let client: PostgresClient
    /// Whose log this is (read once, at open).
    public let identity: StoreIdentity
    private let logger: Logger
    private let registryCache = RegistryCache()

    private init(url: PostgresURL, client: PostgresClient, identity: StoreIdentity, logger: Logger) {
        self.url = url
        self.client = client
        self.identity = identity
        self.logger = logger
    }

    /// Migrates the database (on one connection of its own), reads its identity, rebuilds the read models when they
    /// are not what this build computes (another projection version, or a held event it now reads; not on a
    /// read-only standby, which serves what its primary computed), and makes the pool; refuses a database that holds
    /// no store (`prolo move-up` or `prolo init --database` first).
    public static func open(
        _ url: PostgresURL, maximumConnections: Int = 20, readOnly: Bool = false,
        logger: Logger = Logger(label: "prolo.postgres")
    ) async throws(StoreError) -> PostgresHub {
        let identity = try await PostgresLog.with(url, logger: logger) { log throws(StoreError) in
            let identity = try await log.identity()
            if !readOnly, try await !log.readModelsAreCurrent() {
                logger.notice("rebuilding the read models: they are not what this build computes")
                try await log.rebuildReadModels()
            }
            return identity
        }
        let client = PostgresClient(
            configuration: url.clientConfiguration(maximumConnections: maximumConnections), backgroundLogger: logger)
        return PostgresHub(url: url, client: client, identity: identity, logger: logger)
    }

    /// Runs `body` with the log on a leased connection (the pool must be running).
    public func withLog<Value: Sendable>(_ body: (PostgresLog) async throws(StoreError) -> Value)
        async throws(StoreError) -> Value
    {
        do {
            return try await client.withConnection { connection in
                try await body(
                    PostgresLog(
                        url: url, connection: connection, logger: logger, identity: identity, registryCache: registryCache))
            }
        } catch {
            throw StoreError(postgres: error, "cannot reach the hub's database", at: url)
        }
    }
}
