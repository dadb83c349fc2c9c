import Dispatch
import Foundation

/// Runs independent work on every core.
public enum Parallel {
    /// The cores this process may use, read once: `activeProcessorCount` re-reads the affinity mask and the
    /// cgroup quota on every call (about 15 µs here, which a single-event append paid each time).
    public static let cores = ProcessInfo.processInfo.activeProcessorCount

    /// Maps `items` with `transform` on all cores, keeping order; rethrows the first error by position.
    ///
    /// Used to compress and sign a batch off the writer's thread. Falls back to a plain loop for small inputs.
    public static func map<Item: Sendable, Result: Sendable>(
        _ items: [Item], minimumPerWorker: Int = 64, _ transform: @Sendable (Item) throws -> Result
    ) throws -> [Result] {
        let workers = min(cores, max(1, items.count / minimumPerWorker))
        if workers <= 1 { return try items.map(transform) }
        let slots = ResultSlots<Result>(count: items.count)
        let chunk = (items.count + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let range = (worker * chunk)..<min(items.count, (worker + 1) * chunk)
            for index in range {
                slots.store(Swift.Result { try transform(items[index]) }, at: index)
            }
        }
        return try slots.collect()
    }
}

/// Write-once result slots shared by the workers of ``Parallel/map(_:minimumPerWorker:_:)``.
///
/// `@unchecked Sendable` is sound here: each index is written by exactly one worker (the ranges are
/// disjoint), and ``collect()`` reads only after `concurrentPerform` has returned, which orders every
/// write before the read.
private final class ResultSlots<Value: Sendable>: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Swift.Result<Value, any Error>?>
    private let count: Int

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    func store(_ result: Swift.Result<Value, any Error>, at index: Int) {
        slots[index] = result
    }

    func collect() throws -> [Value] {
        try (0..<count).map { try slots[$0]!.get() }
    }
}
