/// What a store holds in memory, for a server's `/metrics` (issue 13: caches and pools exported, so a growing RSS
/// can be told from a full cache).
public struct StoreCaches: Sendable, Hashable {
    /// Connections to the database: the one writer-and-reader connection every store call shares.
    public let connections: Int
    /// Bytes of SQLite page cache in use, and its limit (`PRAGMA cache_size`).
    public let pageCacheBytes: Int
    public let pageCacheLimitBytes: Int
    /// Prepared statements kept for reuse (one per distinct query text the code runs).
    public let cachedStatements: Int
}

extension EventStore {
    /// The page cache each connection may fill (`PRAGMA cache_size`): 16 MiB.
    static let pageCacheLimitBytes = 16 * 1024 * 1024

    /// The store's caches now.
    public func caches() throws(StoreError) -> StoreCaches {
        try read { connection throws(StoreError) -> StoreCaches in
            StoreCaches(
                connections: 1, pageCacheBytes: connection.pageCacheBytes, pageCacheLimitBytes: Self.pageCacheLimitBytes,
                cachedStatements: connection.cachedStatements)
        }
    }
}
