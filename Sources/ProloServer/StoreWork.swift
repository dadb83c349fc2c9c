import Foundation
import NIOCore
import Synchronization

/// Runs the server's blocking store work (SQLite reads, appends and their fsyncs) off the event loops, at most
/// `limit` pieces at a time; the rest wait in order.
///
/// Without a limit every request's store work went to Dispatch's global queue, which starts another thread whenever
/// the running ones block (on the writer's lock, on fsync): under 200 devices the server's threads grew from 9 to 27
/// in 16 minutes, each with its own stack and allocator cache, and its memory with them (Tools/RELIABILITY.md).
/// The store has one writer and a pool of readers, so more threads than that only wait inside SQLite.
final class StoreWork: Sendable {
    private struct State {
        var running = 0
        var waiting = CircularBuffer<CheckedContinuation<Void, Never>>()
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    /// Runs `body` on a Dispatch thread once fewer than `limit` pieces run.
    func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        await acquire()
        defer { release() }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Swift.Result { try body() }) }
        }
    }

    /// How many pieces run and wait now (for `/metrics`).
    var load: (running: Int, waiting: Int) {
        state.withLock { ($0.running, $0.waiting.count) }
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state -> Bool in
                if state.running < limit {
                    state.running += 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let continuation = state.waiting.popFirst() else {
                state.running -= 1
                return nil
            }
            return continuation  // the slot passes to it: `running` stays
        }
        next?.resume()
    }
}
