import Foundation

/// Read-only connections to one store file, so readers never wait behind the writer (WAL: readers see the
/// last committed state while a write transaction is open).
///
/// `@unchecked Sendable` is sound: the idle list is only touched under `lock`, and a connection taken out
/// of it is used by exactly one thread until ``with(_:)`` puts it back, so no connection is ever shared.
final class ReaderPool: @unchecked Sendable {
    private let path: String
    private let busyTimeoutMilliseconds: Int32
    private let lock = NSLock()
    private var idle: [SQLiteConnection] = []
    /// Connections taken out of the pool and not yet returned.
    private var inUse = 0
    /// Connections kept idle; more are closed when returned.
    private let capacity = 8

    init(path: String, busyTimeoutMilliseconds: Int32) {
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
    }

    /// Runs `body` with a read-only connection of its own.
    func with<Result>(_ body: (SQLiteConnection) throws(StoreError) -> Result) throws(StoreError) -> Result {
        let reused: SQLiteConnection? = lock.withLock {
            inUse += 1
            return idle.popLast()
        }
        let connection: SQLiteConnection
        if let reused {
            connection = reused
        } else {
            do throws(StoreError) {
                connection = try SQLiteConnection(path: path, readOnly: true)
                connection.setBusyTimeout(milliseconds: busyTimeoutMilliseconds)
                try connection.execute("PRAGMA trusted_schema = OFF")
            } catch {
                lock.withLock { inUse -= 1 }
                throw error
            }
        }
        defer {
            // A statement left mid-result would pin this connection to an old snapshot.
            connection.resetStatements()
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            lock.withLock {
                inUse -= 1
                if idle.count < capacity { idle.append(connection) }
            }
        }
        return try body(connection)
    }

    /// The pool now, for a server's `/metrics`: connections open (idle and in use), the most kept idle, and the
    /// idle ones' page cache and prepared statements (one in use belongs to its thread until it is returned).
    func status() -> (open: Int, capacity: Int, idlePageCacheBytes: Int, idleStatements: Int) {
        lock.withLock {
            (open: idle.count + inUse, capacity: capacity,
             idlePageCacheBytes: idle.reduce(0) { $0 + $1.pageCacheBytes },
             idleStatements: idle.reduce(0) { $0 + $1.cachedStatements })
        }
    }

    /// Closes the idle connections (one in use closes when it is returned and dropped).
    func closeIdle() {
        lock.withLock { idle.removeAll() }  // each connection closes in its deinit
    }
}
