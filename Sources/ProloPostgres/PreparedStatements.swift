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

enum RegistryVersion: FixedStatement {
    static let sql = "SELECT version FROM registry_version"
}

enum VersionVectorOfLog: FixedStatement {
    static let sql = """
        SELECT o.origin, e.seq FROM origins o
        CROSS JOIN LATERAL (SELECT max(origin_seq) AS seq FROM events WHERE origin = o.origin) e
        WHERE e.seq IS NOT NULL
        """
}

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
