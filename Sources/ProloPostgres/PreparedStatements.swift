import PostgresNIO
import ProloStore

/// A statement of this backend that every sync runs several times (authorizing a token, the version vector, chain
/// heads and fork positions, the pages of a pull): prepared once per connection (PostgresNIO keeps it by ``name``),
/// so PostgreSQL parses and plans it once instead of on every request. Unprepared, parsing and planning were a third
/// of PostgreSQL's CPU with 50 devices syncing (Tools/BENCHMARKS.md).
protocol FixedStatement {
    /// The SQL, with `$1`, `$2`, … for the bindings.
    static var sql: String { get }
}

/// ``FixedStatement`` `Text` with its bindings, as PostgresNIO runs a prepared statement; rows are decoded by the
/// caller.
struct Prepared<Text: FixedStatement>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var name: String { "prolo_" + String(describing: Text.self) }
    static var sql: String { Text.sql }
    let bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

enum TokenByID: FixedStatement {
    static let sql = "SELECT \(PostgresLog.tokenColumns) FROM tokens WHERE id = $1"
}

/// A write's locks, in the order every writer takes them, and the registry's version read after them
/// (`prolo_lock_batch`, migration 5): `$1` exclusive (a batch that may change the registry), `$2` the batch's origins.
enum LockBatch: FixedStatement {
    static let sql = "SELECT prolo_lock_batch($1, $2::text[])"
}

/// A presented token's row (``PostgresLog/tokenColumns``, NULL when there is none) and the registry's version (column 8).
enum TokenAndRegistryVersion: FixedStatement {
    static let sql = """
        SELECT \(PostgresLog.tokenColumns.split(separator: ", ").map { "t.\($0)" }.joined(separator: ", ")), v.version
        FROM registry_version v LEFT JOIN tokens t ON t.id = $1
        """
}

enum RegistryVersion: FixedStatement {
    static let sql = "SELECT version FROM registry_version"
}

/// Each origin's highest position, as the trigger of migration 5 keeps it in the inserting transaction.
enum VersionVectorOfLog: FixedStatement {
    static let sql = "SELECT origin, seq FROM origin_heads"
}

/// Each origin's highest position and the hash of its event there: a clinic-scope summary's vector and chain heads
/// in one statement. One index probe per origin (the lateral `LIMIT 1`, as in ``HashesAtPositions``), and an origin
/// is listed even if no event is found at its head.
enum VersionVectorWithHeads: FixedStatement {
    static let sql = """
        SELECT h.origin, h.seq, e.hash FROM origin_heads h
        LEFT JOIN LATERAL (
            SELECT e.hash FROM events e WHERE e.origin = h.origin AND e.origin_seq = h.seq LIMIT 1
        ) e ON true
        """
}

/// Each origin's highest position (`part` 0), and the hash of the event held at each of the positions `$1`/`$2`
/// (`part` 1): what a pull plans by (``MissingEvents``), in one statement.
enum VersionVectorAndHashes: FixedStatement {
    static let sql = """
        SELECT 0, origin, seq, NULL::bytea FROM origin_heads
        UNION ALL
        SELECT 1, p.origin, p.seq, h.hash FROM unnest($1::text[], $2::bigint[]) AS p(origin, seq)
        CROSS JOIN LATERAL (
            SELECT e.hash FROM events e WHERE e.origin = p.origin AND e.origin_seq = p.seq LIMIT 1
        ) h
        """
}

/// How far patient `$1`'s slice reaches, by position, in one statement (`part` 0: the highest position of each origin's
/// events of the patient that a slice is served; 1: each served administrative event, with its `seq`; 2: fork
/// evidence about no patient, as the event; 3: fork evidence about the patient, as a position). Each row also carries
/// the hash of the event held at its position, if any: the slice's vector is one of these positions per origin, so
/// its chain heads need no second statement.
enum SlicePositionRows: FixedStatement {
    static let sql = """
        SELECT 0 AS part, m.origin, m.origin_seq, NULL::bigint AS seq, NULL::bytea AS event, h.hash FROM (
            SELECT origin, max(origin_seq) AS origin_seq FROM events
            WHERE patient = $1 AND \(EventStore.servedToSlices) GROUP BY origin
        ) m CROSS JOIN LATERAL (
            SELECT e.hash FROM events e WHERE e.origin = m.origin AND e.origin_seq = m.origin_seq LIMIT 1
        ) h
        UNION ALL
        SELECT 1, origin, origin_seq, seq, NULL, hash FROM events WHERE patient IS NULL AND \(EventStore.servedToSlices)
        UNION ALL
        SELECT CASE WHEN f.patient IS NULL THEN 2 ELSE 3 END, f.origin, f.origin_seq, NULL,
            CASE WHEN f.patient IS NULL THEN f.event END,
            (SELECT e.hash FROM events e WHERE e.origin = f.origin AND e.origin_seq = f.origin_seq LIMIT 1)
        FROM forks f WHERE f.patient = $1 OR f.patient IS NULL
        """
}

/// ``VersionVectorAndHashes``, and (`part` 2) the origins with an event in patient `$3`'s slice: the patient's own,
/// or an administrative one. What a slice's pull plans by, in one statement.
enum SliceVersionVectorAndHashes: FixedStatement {
    static let sql = VersionVectorAndHashes.sql + """

        UNION ALL
        SELECT 2, origin, NULL, NULL FROM (
            SELECT DISTINCT origin FROM events WHERE patient = $3 UNION SELECT DISTINCT origin FROM events WHERE patient IS NULL
        ) slice
        """
}

/// Where each forked origin's chain splits: the lowest position of its fork evidence.
enum ForkPositions: FixedStatement {
    static let sql = "SELECT origin, min(origin_seq) FROM forks GROUP BY origin"
}

/// One probe of the `(origin, origin_seq)` index per position (the lateral `LIMIT 1` keeps it a probe): as a join,
/// a table whose statistics were taken when it was small (just moved up) was read whole and hashed for every sync
/// (auto_explain, 50 devices: 2.3 ms a call instead of 0.1).
enum HashesAtPositions: FixedStatement {
    static let sql = """
        SELECT p.origin, h.hash FROM unnest($1::text[], $2::bigint[]) AS p(origin, seq)
        CROSS JOIN LATERAL (
            SELECT e.hash FROM events e WHERE e.origin = p.origin AND e.origin_seq = p.seq LIMIT 1
        ) h
        """
}

enum MissingPages: FixedStatement {
    static let sql = """
        SELECT page.* FROM unnest($1::text[], $2::bigint[]) AS c(origin, after)
        CROSS JOIN LATERAL (
            SELECT \(PostgresLog.qualifiedColumns) FROM events e WHERE e.origin = c.origin AND e.origin_seq >= c.after
            ORDER BY e.origin_seq LIMIT \(MissingEvents.pageSize)
        ) page
        ORDER BY page.origin, page.origin_seq
        """
}

enum MissingSlicePages: FixedStatement {
    static let sql = """
        SELECT page.* FROM unnest($1::text[], $2::bigint[]) AS c(origin, after)
        CROSS JOIN LATERAL (
            SELECT * FROM (
                SELECT \(PostgresLog.qualifiedColumns) FROM events e WHERE e.origin = c.origin AND e.origin_seq >= c.after
                    AND e.patient = $3 AND \(EventStore.servedToSlices)
                UNION ALL
                SELECT \(PostgresLog.qualifiedColumns) FROM events e WHERE e.origin = c.origin AND e.origin_seq >= c.after
                    AND e.patient IS NULL AND \(EventStore.servedToSlices)
            ) slice ORDER BY origin_seq LIMIT \(MissingEvents.pageSize)
        ) page
        ORDER BY page.origin, page.origin_seq
        """
}

extension PostgresLog {
    /// ``EventStore/columns``, each qualified with the alias `e`.
    static let qualifiedColumns = EventStore.columns.split(separator: ",")
        .map { "e." + $0.filter { !$0.isWhitespace } }.joined(separator: ", ")

    /// Runs the prepared statement `text` (no bindings), mapping a failure to a ``StoreError`` that says what was
    /// being done.
    func run<Text: FixedStatement>(_ text: Text.Type, _ doing: String) async throws(StoreError) -> [PostgresRow] {
        try await run(text, PostgresBindings(), doing)
    }

    /// Runs the prepared statement `text` with `bindings`.
    func run<Text: FixedStatement>(_ text: Text.Type, _ bindings: PostgresBindings, _ doing: String)
        async throws(StoreError) -> [PostgresRow]
    {
        do {
            var rows: [PostgresRow] = []
            for try await row in try await connection.execute(Prepared<Text>(bindings: bindings), logger: logger) {
                rows.append(row)
            }
            return rows
        } catch {
            throw StoreError(postgres: error, doing, at: url)
        }
    }
}

extension PostgresBindings {
    /// Bindings of `values`, in order.
    init(_ values: any PostgresDynamicTypeEncodable...) {
        self.init()
        for value in values { append(value) }
    }
}
