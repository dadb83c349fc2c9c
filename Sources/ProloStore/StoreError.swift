public import ProloDomain

/// Why a store operation failed: a code callers match on, a message an operator can act on, the event and the offset
/// it is about when it is about one, and the cause (the shape of swift-nio's `FileSystemError`: code, message,
/// cause, and where).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Each maps to one exit code of the CLI.
    public enum Code: String, Sendable, Equatable {
        /// No store at the path.
        case storeNotFound = "store-not-found"
        /// The file is not a Prolo store (another SQLite database, or not SQLite at all).
        case notAStore = "not-a-store"
        /// The store was made by a newer Prolo (its schema version is higher than this build knows).
        case newerSchema = "newer-schema"
        /// The store or key file cannot be created.
        case cannotCreate = "cannot-create"
        /// Another process holds the write lock; retry later.
        case busy = "busy"
        /// Reading or writing the file failed (disk full, I/O error, corrupt file).
        case ioError = "io-error"
        /// An input event or payload is invalid.
        case invalidInput = "invalid-input"
        /// An event does not continue its origin's chain (gap, wrong `prev`, or a second event for one `originSeq`).
        case chainConflict = "chain-conflict"
        /// The device key cannot be used (missing, or readable by others).
        case permissionDenied = "permission-denied"
        /// A requested event does not exist.
        case eventNotFound = "event-not-found"
        /// A bug or an unexpected answer from the database.
        case internalError = "internal-error"
    }

    /// Where a failure is, when it is about one place: in the batch handed to an append, or in the log.
    public enum Offset: Sendable, Hashable, CustomStringConvertible {
        /// The record's position in the batch handed to an append, from 0 (a push's body, a bundle's block).
        case batch(Int)
        /// The stored event's position in this log (its `seq`, in arrival order), for damage found reading it.
        case log(Int64)

        public var description: String {
            switch self {
            case .batch(let index): "record \(index + 1) of the batch"
            case .log(let seq): "seq \(seq) of the log"
            }
        }
    }

    /// The kind of failure.
    public let code: Code
    /// What is wrong and where, for an operator.
    public let message: String
    /// The database's own report, when a database reported the failure (SQLite's result code, PostgreSQL's
    /// SQLSTATE, a connection failure), kept for logs and bug reports; callers match on ``code``, never on this,
    /// so no backend's type is part of the API (as swift-nio's `FileSystemError` keeps its `cause`).
    public let cause: (any Error & Sendable)?
    /// The SQL that failed, when there was one.
    public let sql: String?
    /// The event the failure is about (a forged signature, a hash that does not match, an event held already with
    /// other content, a link that breaks a chain), also named in ``message``.
    public let event: EventID?
    /// Where that event, or the damage, is: in the batch handed in (set by the append that refused it) or in the log.
    public private(set) var offset: Offset?

    /// Makes an error.
    public init(
        _ code: Code, _ message: String, cause: (any Error & Sendable)? = nil, sql: String? = nil,
        event: EventID? = nil, offset: Offset? = nil
    ) {
        self.code = code
        self.message = message
        self.cause = cause
        self.sql = sql
        self.event = event
        self.offset = offset
    }

    /// This error placed in the batch an append was handed, when it is about `event`, found at `index` there, and has
    /// no offset yet (admission decides one event at a time; the append knows where it is: ids alone could not say,
    /// since a batch may carry one id twice with different content).
    package func placed(at index: Int, of event: Event) -> StoreError {
        guard offset == nil, self.event == event.id else { return self }
        var placed = self
        placed.offset = .batch(index)
        return placed
    }

    public var description: String { message }
}

extension StoreError {
    /// Wraps a payload error (the message names the JSON path).
    public init(_ error: PayloadError) {
        self.init(.invalidInput, "invalid payload at \(error.path): \(error.message)")
    }

    /// Wraps an identity error.
    public init(_ error: IdentityError) {
        switch error.code {
        case .permissionsTooOpen, .missingKeyFile, .unreadable: self.init(.permissionDenied, error.message)
        case .cannotCreate: self.init(.cannotCreate, error.message)
        case .ioError: self.init(.ioError, error.message)
        case .malformedKey, .signingFailed: self.init(.invalidInput, error.message)
        }
    }
}
