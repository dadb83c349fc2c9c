public import Logging
import NIOCore
import PostgresNIO
public import ProloDomain
public import ProloStore
import Synchronization

/// A Prolo event log in a PostgreSQL database: the tables of `Schemas/postgresql/`, reached over one connection.
///
/// Opened with ``with(_:logger:_:)``, which migrates the database to this build's schema first and closes the
/// connection when the body returns. Every failure is a ``StoreError`` with the code a SQLite store gives for the
/// same trouble, PostgreSQL's own report in its message and cause.
public final class PostgresLog: Sendable {
    /// Where the database is (``PostgresURL/redacted`` in every message).
    public let url: PostgresURL
    let connection: PostgresConnection
    let logger: Logger
    /// Whose log this is, when the opener read it already (``PostgresHub``): ``identity()`` then asks nothing.
    let knownIdentity: StoreIdentity?
    /// The registry in memory across a hub's connections (``registry()``); `nil` for a connection of its own.
    let registryCache: RegistryCache?
    /// The registry and fork positions this lease read first (``leaseSnapshot()``).
    let lease = Mutex<RegistrySnapshot?>(nil)

    init(
        url: PostgresURL, connection: PostgresConnection, logger: Logger, identity: StoreIdentity? = nil,
        registryCache: RegistryCache? = nil
    ) {
        self.url = url
        self.connection = connection
        self.logger = logger
        self.knownIdentity = identity
        self.registryCache = registryCache
    }

    /// Connects to `url`, migrates the database, runs `body` with the log, and closes the connection.
    public static func with<Value: Sendable>(
        _ url: PostgresURL, logger: Logger = Logger(label: "prolo.postgres"),
        _ body: (PostgresLog) async throws(StoreError) -> Value
    ) async throws(StoreError) -> Value {
        try await connected(url, logger: logger) { log throws(StoreError) in
            try await PostgresMigration.migrate(log.connection, logger: logger, url: url)
            return try await body(log)
        }
    }

    /// Runs each statement of `sql` (split as migrations are) on `url` without migrating it: for operators' and
    /// tests' administration (creating and dropping databases, roles), never for the log's own work.
    package static func administer(_ url: PostgresURL, _ sql: String, logger: Logger = Logger(label: "prolo.postgres"))
        async throws(StoreError)
    {
        try await connected(url, logger: logger) { log throws(StoreError) in try await log.execute(sql) }
    }

    /// One connection to `url` for the length of `body`, closed whatever `body` did.
    private static func connected<Value: Sendable>(
        _ url: PostgresURL, logger: Logger, _ body: (PostgresLog) async throws(StoreError) -> Value
    ) async throws(StoreError) -> Value {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try url.configuration(), id: 1, logger: logger)
        } catch {
            throw StoreError(postgres: error, "cannot connect", at: url)
        }
        let result: Result<Value, StoreError>
        do throws(StoreError) {
            result = .success(try await body(PostgresLog(url: url, connection: connection, logger: logger)))
        } catch {
            result = .failure(error)
        }
        try? await connection.close()
        return try result.get()
    }

    /// Runs each statement of `sql` on this log's connection, behind the log's rules (tests tamper with it this way).
    package func execute(_ sql: String) async throws(StoreError) {
        for statement in PostgresMigration.statements(of: sql) {
            try await run(PostgresQuery(unsafeSQL: statement), "cannot run \(statement.prefix(60))")
        }
    }

    /// The first column of each row `sql` returns, as text (`NULL` as nil).
    package func texts(_ sql: String) async throws(StoreError) -> [String?] {
        var values: [String?] = []
        for row in try await run(PostgresQuery(unsafeSQL: sql), "cannot run \(sql.prefix(60))") {
            values.append(try Self.decode(row, 0, as: String.self, "text"))
        }
        return values
    }

    /// Runs `query`, mapping a failure to a ``StoreError`` that says what was being done.
    @discardableResult
    func run(_ query: PostgresQuery, _ doing: String) async throws(StoreError) -> [PostgresRow] {
        do {
            var rows: [PostgresRow] = []
            for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
            return rows
        } catch {
            throw StoreError(postgres: error, doing, at: url)
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<Value: Sendable>(_ doing: String, _ body: () async throws(StoreError) -> Value)
        async throws(StoreError) -> Value
    {
        try await run("BEGIN", doing)
        do throws(StoreError) {
            let value = try await body()
            try await run("COMMIT", doing)
            return value
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// How many events the log holds.
    public func count() async throws(StoreError) -> Int {
        let rows = try await run("SELECT count(*)::bigint FROM events", "cannot count events")
        return Int(try Self.decode(rows.first, 0, as: Int64.self, "count") ?? 0)
    }

    /// The highest `originSeq` held per origin, as the trigger of migration 5 keeps it (`origin_heads`) in every
    /// inserting transaction (a summary and a pull read it with the hashes they need: ``versionVectorAndHeads()``,
    /// and the pull's plan in `scanMissing`).
    public func versionVector() async throws(StoreError) -> VersionVector {
        let rows = try await run(VersionVectorOfLog.self, "cannot read the version vector")
        var vector = VersionVector()
        for row in rows {
            let origin = try Self.decode(row, 0, as: String.self, "origin") ?? ""
            vector.advance(origin, to: try Self.decode(row, 1, as: Int64.self, "origin_seq") ?? 0)
        }
        return vector
    }

    /// The events `filter` selects, in arrival order (newest first with ``EventFilter/newestFirst``), as
    /// `EventStore.events(_:)` lists a SQLite store's (`prolo log --database`).
    public func events(_ filter: EventFilter = EventFilter()) async throws(StoreError) -> [StoredEvent] {
        var conditions: [String] = []
        var binds = PostgresBindings()
        func bound(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        if let patient = filter.patient { conditions.append("patient = \(bound(patient.text))") }
        if let type = filter.type { conditions.append("type = \(bound(type.rawValue))") }
        if let origin = filter.origin { conditions.append("origin = \(bound(origin.text))") }
        if let range = filter.originSeqs {
            conditions.append("origin_seq BETWEEN \(bound(range.lowerBound)) AND \(bound(range.upperBound))")
        }
        if let after = filter.afterSeq { conditions.append("seq > \(bound(after))") }
        var sql = "SELECT \(EventStore.columns) FROM events"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += filter.newestFirst ? " ORDER BY seq DESC" : " ORDER BY seq"
        if let limit = filter.limit { sql += " LIMIT \(bound(Int64(limit)))" }
        var events: [StoredEvent] = []
        for row in try await run(PostgresQuery(unsafeSQL: sql, binds: binds), "cannot read events") {
            events.append(try Self.eventRow(row).decoded())
        }
        return events
    }

    /// The stored events with these ids (those the log holds), in arrival order, in one query.
    public func events(ids: [EventID]) async throws(StoreError) -> [StoredEvent] {
        guard !ids.isEmpty else { return [] }
        var events: [StoredEvent] = []
        for row in try await run(
            PostgresQuery(
                unsafeSQL: "SELECT \(EventStore.columns) FROM events WHERE id = ANY($1) ORDER BY seq",
                binds: PostgresBindings(ids.map(\.text))),
            "cannot read events by id")
        {
            events.append(try Self.eventRow(row).decoded())
        }
        return events
    }

    /// A value of `store_meta`.
    public func meta(_ key: String) async throws(StoreError) -> String? {
        let rows = try await run("SELECT value FROM store_meta WHERE key = \(key)", "cannot read store_meta")
        return try Self.decode(rows.first, 0, as: String.self, "value")
    }

    /// Column `index` of `row` as `type`, nil when the row or the value is missing.
    static func decode<T: PostgresDecodable>(_ row: PostgresRow?, _ index: Int, as type: T.Type, _ column: String)
        throws(StoreError) -> T?
    {
        guard let row else { return nil }
        let cells = row.makeRandomAccess()
        guard cells[index].bytes != nil else { return nil }
        do {
            return try cells[index].decode(T.self)
        } catch {
            throw StoreError(.ioError, "column \(column) does not decode as \(T.self): \(error)")
        }
    }

    /// The columns of ``EventStore/columns`` from column `first` on, unchecked (``EventRow/decoded()`` checks them).
    static func eventRow(_ row: PostgresRow, from first: Int = 0) throws(StoreError) -> EventRow {
        let cells = row.makeRandomAccess()
        func value<T: PostgresDecodable>(_ column: Int, _ type: T.Type) throws(StoreError) -> T? {
            let index = first + column
            guard cells[index].bytes != nil else { return nil }
            do {
                return try cells[index].decode(T.self)
            } catch {
                throw StoreError(.ioError, "events column \(index) does not decode as \(T.self): \(error)")
            }
        }
        func bytes(_ index: Int) throws(StoreError) -> [UInt8]? {
            try value(index, ByteBuffer.self).map { Array($0.readableBytesView) }
        }
        return EventRow(
            seq: try value(0, Int64.self) ?? 0, id: try value(1, String.self) ?? "", origin: try value(2, String.self) ?? "",
            originSeq: try value(3, Int64.self) ?? 0, patient: try value(4, String.self), type: try value(5, String.self) ?? "",
            schemaVersion: Int64(try value(6, Int32.self) ?? 0), hlc: try value(7, Int64.self) ?? 0,
            occurredAt: try value(8, String.self) ?? "", receivedAt: try value(9, Int64.self) ?? 0,
            authorID: try value(10, String.self) ?? "", authorRole: try value(11, String.self) ?? "", prev: try bytes(12),
            patientPrev: try bytes(13), dictionary: Int64(try value(14, Int32.self) ?? 0), body: try bytes(15) ?? [],
            hash: try bytes(16) ?? [], signature: try bytes(17) ?? [])
    }
}
