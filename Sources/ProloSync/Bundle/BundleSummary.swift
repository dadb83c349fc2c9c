/// What a finished (or fully verified) bundle holds.
public struct BundleSummary: Sendable, Equatable {
    /// Number of blocks.
    public let blocks: Int
    /// Number of records in all blocks.
    public let records: Int
    /// Size of the bundle file in bytes.
    public let bytes: Int64
}
