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

    /// Starts `work` on another thread and returns at once; ``Pending/wait()`` collects its result. Lets a caller
    /// that must stay on its own thread (a SQLite connection's) overlap its work with `work`, as a rebuild reads
    /// the next patients while the last ones fold.
    public static func start<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) -> Pending<Value> {
        Pending(work)
    }

    /// Work started by ``Parallel/start(_:)``.
    ///
    /// `@unchecked Sendable` is sound here: `result` is written once, by the work's thread before it leaves the
    /// group, and read only after `wait` on the group has returned, which orders the write before the read.
    public final class Pending<Value: Sendable>: @unchecked Sendable {
        private let group = DispatchGroup()
        private var result: Swift.Result<Value, any Error>?

        fileprivate init(_ work: @escaping @Sendable () throws -> Value) {
            group.enter()
            DispatchQueue.global().async {
                self.result = Swift.Result { try work() }
                self.group.leave()
            }
        }

        /// Waits for the work to end; returns its result or rethrows its error.
        public func wait() throws -> Value {
            group.wait()
            return try result!.get()
        }
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
