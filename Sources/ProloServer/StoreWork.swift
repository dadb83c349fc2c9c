import Foundation
import NIOPosix
import Synchronization

/// Runs the server's blocking store work (SQLite reads, appends and their fsyncs) off the event loops, on `limit`
/// threads of its own for its whole life; the rest waits in order.
///
/// Dispatch's global queue starts another thread whenever the running ones block (on the writer's lock, on fsync):
/// under 200 devices the server's threads grew from 9 to 27 in 16 minutes with it. Bounding the pieces run at once to
/// 9 on that queue slowed the growth but did not end it (9 → 13 threads in 20 minutes), and each new thread brought
/// its own allocator arena: the server's RSS rose by about 3.7 MiB at every one, and stayed flat between them
/// (Tools/RELIABILITY.md). A fixed pool (SwiftNIO's `NIOThreadPool`, FIFO) makes the count a constant. The store has
/// one writer and a pool of readers, so more threads than that only wait inside SQLite.
final class StoreWork: Sendable {
    let limit: Int
    private let pool: NIOThreadPool
    /// Pieces handed to the pool and not finished: running (up to `limit`) and waiting.
    private let inFlight = Atomic<Int>(0)

    init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
        pool = NIOThreadPool(numberOfThreads: limit)
        pool.start()
    }

    deinit {
        pool.shutdownGracefully { _ in }
    }

    /// Runs `body` on one of the pool's threads once one is free. A request cancelled before its turn comes is not
    /// run (`CancellationError`).
    func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        inFlight.add(1, ordering: .relaxed)
        defer { inFlight.subtract(1, ordering: .relaxed) }
        return try await pool.runIfActive(body)
    }

    /// How many pieces run and wait now (for `/metrics`).
    var load: (running: Int, waiting: Int) {
        let pieces = inFlight.load(ordering: .relaxed)
        return (min(pieces, limit), max(0, pieces - limit))
    }
}
