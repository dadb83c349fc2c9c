public import ProloStore

/// Why a sync, an export or an import failed: a code to match on, a message an operator can act on, and where.
public struct SyncError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure; the CLI maps each to an exit code.
    public enum Code: String, Sendable {
        /// The input is not what the protocol allows (a malformed message, header or event record).
        case malformed
        /// The peer or bundle belongs to another clinic (another root key).
        case foreignClinic = "foreign-clinic"
        /// The sender is not an enrolled device, or its signature on the header does not verify.
        case untrustedSender = "untrusted-sender"
        /// A file or transport failed.
        case ioError = "io-error"
        /// The input stopped early (a cut bundle, a dropped connection); what was whole was kept.
        case truncated
        /// The store refused the batch (see the message: a forged signature, a bad hash).
        case refused
        /// An encrypted bundle is for another recipient key.
        case wrongRecipient = "wrong-recipient"
        /// The output exists already; nothing was overwritten.
        case exists
        /// The store is locked by another writer; retrying later works.
        case busy
        /// This store cannot hold what the peer's scope sends (a store made without `--patient` offered a patient's
        /// slice, a home store offered another patient's); nothing was appended (``DeviceAccess``).
        case outOfScope = "out-of-scope"
    }

    /// The kind of failure.
    public let code: Code
    /// What is wrong and where.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A store failure during a sync: a refused batch stays `refused`, a locked store `busy`, anything else
    /// (disk full, read-only file, I/O error) `ioError`, with `context` (where in the sync) before the message.
    public init(_ error: StoreError, context: String? = nil) {
        let code: Code =
            switch error.code {
            case .invalidInput, .chainConflict: .refused
            case .busy: .busy
            default: .ioError
            }
        self.init(code, context.map { "\($0): \(error.message)" } ?? error.message)
    }

    public var description: String { message }
}
