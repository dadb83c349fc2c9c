/// Cuts a stream of event records into batches of at most a byte budget (a record larger than the budget
/// travels alone). Pure: records in, batches out.
public struct BatchCutter: Sendable {
    /// The most record bytes in one batch.
    public let maximumBytes: Int
    private var pending: [[UInt8]] = []
    private var pendingBytes = 0

    /// A cutter with a byte budget per batch.
    public init(maximumBytes: Int) {
        self.maximumBytes = max(1, maximumBytes)
    }

    /// Adds a record; returns the batch that is full when this record does not fit in it.
    public mutating func add(_ record: [UInt8]) -> [[UInt8]]? {
        var full: [[UInt8]]?
        if !pending.isEmpty, pendingBytes + record.count > maximumBytes {
            full = pending
            pending = []
            pendingBytes = 0
        }
        pending.append(record)
        pendingBytes += record.count
        return full
    }

    /// The last, partial batch, if any.
    public mutating func flush() -> [[UInt8]]? {
        guard !pending.isEmpty else { return nil }
        defer {
            pending = []
            pendingBytes = 0
        }
        return pending
    }
}
