/// One verified block of a bundle: its records, in the order they were appended.
///
/// A block is returned only whole: its checksum matched, it authenticated (when the bundle is encrypted), and
/// its records framed exactly. Blocks come in index order, without gaps.
public struct BundleBlock: Sendable {
    /// The block's position in the bundle, from 0.
    public let index: Int
    /// The byte offset in the file where the block starts.
    public let offset: Int64
    /// The bytes the block occupies in the file (fields, checksum and stored payload).
    public let storedByteCount: Int
    /// The records, each exactly as it was given to ``BundleWriter/append(_:)``.
    public let records: [[UInt8]]
}
