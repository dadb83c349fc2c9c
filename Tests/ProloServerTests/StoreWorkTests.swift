import Foundation
@testable import ProloServer
import Synchronization
import Testing

/// The server's store work runs on a fixed number of threads: Dispatch's global queue alone starts another thread
/// whenever the running ones block, and under load the server's threads (and memory) grew without end.
@Suite("Store work, bounded")
struct StoreWorkTests {
    @Test("50 blocking pieces with a limit of 3: never more than 3 run at once, every one finishes with its result")
    func bounded() async throws {
        let work = StoreWork(limit: 3)
        let running = Running()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<50 {
                group.addTask {
                    try await work.run {
                        running.state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                        usleep(2_000)  // blocks its thread, as an fsync does
                        running.state.withLock { $0.now -= 1 }
                        return index
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.sorted() == Array(0..<50))
        #expect(running.state.withLock { $0.most } <= 3)
        #expect(running.state.withLock { $0.most } >= 2, "the pieces ran one at a time: the limit is not used")
        #expect(work.load.running == 0 && work.load.waiting == 0)
    }

    @Test("a piece that throws passes its error on and frees its turn")
    func throwingFreesTheTurn() async throws {
        struct Refused: Error {}
        let work = StoreWork(limit: 1)
        await #expect(throws: Refused.self) { try await work.run { throw Refused() } }
        #expect(try await work.run { 42 } == 42)
        #expect(work.load.running == 0)
    }

    @Test("the pieces run on the same limit threads for the work's whole life, however many come and however long they block")
    func fixedThreads() async throws {
        let work = StoreWork(limit: 4)
        let seen = Threads()
        for round in 0..<5 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        try await work.run {
                            seen.ids.withLock { _ = $0.insert(UInt(pthread_self())) }
                            usleep(UInt32(500 * (round + 1)))  // blocks, as an fsync does
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        #expect(seen.ids.withLock { $0.count } == 4, "Dispatch would have added threads while these blocked")
    }

    final class Threads: Sendable {
        let ids = Mutex(Set<UInt>())
    }

    /// How many pieces run now, and the most that ran at once.
    final class Running: Sendable {
        let state = Mutex((now: 0, most: 0))
    }
}
