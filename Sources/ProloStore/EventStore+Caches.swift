import Synchronization

/// What a store holds in memory, for a server's `/metrics` (issue 13: caches and pools exported, so a growing RSS
/// can be told from a full cache).
public struct StoreCaches: Sendable, Hashable {
    /// The writer connection's SQLite page cache in use, and its limit (`PRAGMA cache_size`).
    public let writerPageCacheBytes: Int
    public let writerPageCacheLimitBytes: Int
    /// Read-only connections open (idle and in use), and the most the pool keeps idle.
    public let readerConnections: Int
    public let readerPoolCapacity: Int
    /// The idle readers' page cache in use (SQLite's default limit each: 2 000 KiB).
    public let idleReaderPageCacheBytes: Int
    /// Prepared statements kept for reuse by the writer and the idle readers (one per distinct query text each).
    public let cachedStatements: Int
    /// Everything SQLite holds allocated in this process (`sqlite3_memory_used()`): page caches of every connection,
    /// in use or idle, statements, schemas and temporary b-trees.
    public let sqliteMemoryBytes: Int
}

extension EventStore {
    /// The page cache the writer connection may fill (`PRAGMA cache_size`): 16 MiB.
    static let pageCacheLimitBytes = 16 * 1024 * 1024

    /// The store's connections and caches now.
    public func caches() -> StoreCaches {
        let writer = connection.withLock { ($0.pageCacheBytes, $0.cachedStatements) }
        let readers = readers.status()
        return StoreCaches(
            writerPageCacheBytes: writer.0, writerPageCacheLimitBytes: Self.pageCacheLimitBytes,
            readerConnections: readers.open, readerPoolCapacity: readers.capacity,
            idleReaderPageCacheBytes: readers.idlePageCacheBytes, cachedStatements: writer.1 + readers.idleStatements,
            sqliteMemoryBytes: SQLiteConnection.memoryUsed)
    }
}
