import Dispatch
import Logging
import ProloStore
import Synchronization

/// Writes the access log by group commit: a request's line goes into the store with every line that arrived while
/// the group before it was being written, in one transaction, and the request finishes when its group is durable
/// (as before, a response never leaves before its access-log line is written).
///
/// Under 200 devices one transaction per request, each waiting for the writer and its `fsync` on its own, was 7 % of
/// the server's time (Tools/RELIABILITY.md, issue 13 item 5). A line that cannot be written is logged as an error
/// and the request still finishes, as before: the failure is the clinic's to fix, not the caller's.
final class AccessLogWriter: Sendable {
    private struct Waiting: Sendable {
        let record: AccessRecord
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State: Sendable {
        var waiting: [Waiting] = []
        var writing = false
    }

    private let log: any ServerLog
    private let logger: Logger
    private let state = Mutex(State())

    init(log: any ServerLog, logger: Logger) {
        self.log = log
        self.logger = logger
    }

    /// Returns once `record` is in the store (or its group failed, which is logged).
    func write(_ record: AccessRecord) async {
        await withCheckedContinuation { continuation in
            let starts = state.withLock { state -> Bool in
                state.waiting.append(Waiting(record: record, continuation: continuation))
                guard !state.writing else { return false }
                state.writing = true
                return true
            }
            if starts { Task { await self.drain() } }
        }
    }

    /// Writes group after group until none is waiting.
    private func drain() async {
        while true {
            let group = state.withLock { state -> [Waiting] in
                let group = state.waiting
                state.waiting = []
                if group.isEmpty { state.writing = false }
                return group
            }
            guard !group.isEmpty else { return }
            do {
                try await log.logAccess(contentsOf: group.map(\.record))
            } catch {
                logger.error("cannot write \(group.count) access-log line(s): \(error)")
            }
            for waiting in group { waiting.continuation.resume() }
        }
    }
}
