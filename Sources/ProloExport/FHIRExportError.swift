public import ProloStore

/// Why an export could not be made, with a message a clinic operator can act on.
public struct FHIRExportError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure, for callers to match on.
    public enum Code: String, Sendable {
        /// The store holds no event of the patient.
        case noSuchPatient = "no-such-patient"
        /// The store could not be read.
        case store
        /// The output could not be written.
        case output
        /// The caller cancelled the export before it finished.
        case cancelled
    }

    /// The kind.
    public let code: Code
    /// What went wrong and where.
    public let message: String
    /// The store's error, when reading it failed.
    public let cause: StoreError?

    /// Makes an error.
    public init(_ code: Code, _ message: String, cause: StoreError? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// An error reading the store.
    init(_ error: StoreError) { self.init(.store, error.message, cause: error) }

    /// The message.
    public var description: String { message }
}
