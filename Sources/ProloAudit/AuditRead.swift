public import ProloStore

/// What a read through ProloAudit returned, and whether its access reached the access log.
///
/// A store this reader may read but not write (a read-only copy, a read-only file system, a full disk) still
/// answers: the read stands, and ``accessLogFailure`` says why it is not in the log, for the face to show
/// (the CLI warns on stderr) rather than refuse the read or skip the log in silence.
public struct AuditRead<Value: Sendable>: Sendable {
    /// What was read.
    public let value: Value
    /// Why the access was not written to the access log; `nil` when it was.
    public let accessLogFailure: StoreError?
    /// The store read.
    public let storePath: String

    init(_ value: Value, from store: EventStore, accessLogFailure: StoreError?) {
        self.value = value
        self.accessLogFailure = accessLogFailure
        self.storePath = store.path
    }

    /// A sentence for the reader when the access was not logged, or `nil`.
    public var warning: String? {
        accessLogFailure.map { "this access was not written to the access log of \(storePath): \($0.message)" }
    }
}
