/// Why a bundle could not be written or read: a code callers match on, a message an operator can act on, and
/// where in the file it happened.
///
/// Reading errors are final: once ``BundleReader/nextBlock()`` has thrown, it throws the same error again, and
/// no part of a refused block is ever returned.
public struct BundleError: Error, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: String, Sendable, Equatable {
        /// The file does not start with the bundle magic (another file, an empty file, a directory).
        case notABundle = "not-a-bundle"
        /// The bundle was written in a format version (or with features) this build cannot read.
        case unsupportedVersion = "unsupported-version"
        /// The file ends in the middle of the preamble, the header, a block or the trailer, or between blocks
        /// (before its trailer): the copy is incomplete.
        case truncated = "truncated"
        /// The preamble or header does not match its checksum, or holds impossible values.
        case corruptHeader = "corrupt-header"
        /// A block does not match its checksum, does not authenticate, or holds impossible values.
        case corruptBlock = "corrupt-block"
        /// The trailer does not match the blocks before it, does not authenticate, or is followed by extra bytes.
        case badTrailer = "bad-trailer"
        /// The bundle is encrypted for another recipient key than the one given (or no key was given).
        case wrongRecipient = "wrong-recipient"
        /// Encrypting or decrypting failed for a reason other than a wrong key or a corrupt block.
        case encryptionFailed = "encryption-failed"
        /// Reading or writing the file failed (missing file, permissions, disk full, I/O error).
        case ioError = "io-error"
        /// The output path (or its `.partial` companion) already exists; nothing was overwritten.
        case exists = "exists"
        /// A record, header or option is outside the format's limits.
        case invalidInput = "invalid-input"
    }

    /// The kind of failure.
    public let code: Code
    /// What is wrong, where, and what to do about it, for an operator.
    public let message: String
    /// The block at fault, when the failure concerns one block (its 0-based index).
    public let blockIndex: Int?
    /// The byte offset in the file where the failure was found, when known.
    public let byteOffset: Int64?
    /// The lower-level error that caused this one, when there is one (a CryptoKit or system error).
    public let cause: (any Error)?

    /// Makes an error.
    public init(
        _ code: Code, _ message: String, blockIndex: Int? = nil, byteOffset: Int64? = nil, cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.blockIndex = blockIndex
        self.byteOffset = byteOffset
        self.cause = cause
    }

    /// The message, so that printing the error shows what an operator needs.
    public var description: String { message }
}
