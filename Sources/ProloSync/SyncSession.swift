public import ProloDomain
public import ProloStore

/// One side of a sync exchange as a pure state machine: messages and store results in, actions out; no I/O.
///
/// Both sides send a ``SyncHello``; each then sends what the other is missing (``Action/sendMissing(from:scope:)``:
/// the driver reads, filters by the peer's scope, cuts byte-bounded batches) ending with a `last` batch, and
/// appends what it receives one batch per transaction together with the peer's checkpoint. When both `last`
/// batches have crossed, the session is finished. In sync, that is one hello and one empty batch each way.
public struct SyncSession: Sendable {
    /// What the driver must do next.
    public enum Action: Sendable, Equatable {
        /// Send this message to the peer.
        case send(SyncMessage)
        /// Send the peer every event above `vector` that `scope` admits, in batches, the final one `last`; and,
        /// where `heads` shows the peer holds another branch of an origin or knows less of its fork, that branch
        /// and the fork evidence (`EventStore.scanMissing(from:heads:patient:_:)`).
        case sendMissing(from: VersionVector, heads: ChainHeads = ChainHeads(), scope: SyncScope)
        /// Verify and append these events in one transaction, with the peer's checkpoint.
        case append([Event], checkpoint: PeerCheckpoint)
        /// The exchange is complete.
        case finished(SyncReport)
        /// The exchange cannot go on; nothing more is sent or appended.
        case fail(SyncError)
    }

    /// Where the exchange stands.
    public enum State: Sendable, Equatable {
        case idle, awaitingHello, exchanging, finished, failed
    }

    /// This side's hello.
    public let local: SyncHello
    /// The peer's hello, once received.
    public private(set) var remote: SyncHello?
    /// The current state.
    public private(set) var state: State = .idle
    /// What this side has received and sent so far.
    public private(set) var report = SyncReport()
    private var sentLast = false
    private var receivedLast = false

    /// A session for this side.
    public init(local: SyncHello) {
        self.local = local
    }

    /// Opens the exchange.
    public mutating func start() -> [Action] {
        guard state == .idle else { return [] }
        state = .awaitingHello
        return [.send(.hello(local))]
    }

    /// Handles a message from the peer.
    public mutating func receive(_ message: SyncMessage) -> [Action] {
        switch (state, message) {
        case (.awaitingHello, .hello(let hello)):
            guard hello.root == local.root else {
                return fail(.foreignClinic, "the peer trusts another clinic root (\(hello.root.base64.prefix(12))…); nothing was exchanged")
            }
            remote = hello
            state = .exchanging
            return [.sendMissing(from: hello.vector, heads: hello.heads, scope: hello.scope)]
        case (.exchanging, .events(let records, let last)):
            guard !receivedLast, let remote else { return fail(.malformed, "events after the peer's last batch") }
            var events: [Event] = []
            events.reserveCapacity(records.count)
            for (index, record) in records.enumerated() {
                do {
                    events.append(try EventWireCodec.decode(record))
                } catch {
                    return fail(.malformed, "batch \(report.batches + 1), record \(index + 1): \(error.message); the batch was refused")
                }
            }
            report.batches += 1
            receivedLast = last
            var actions: [Action] = []
            if !events.isEmpty || last {
                actions.append(.append(events, checkpoint: PeerCheckpoint(peer: remote.storeID, vector: remote.vector)))
            }
            if sentLast && receivedLast {
                state = .finished
                actions.append(.finished(report))
            }
            return actions
        case (.finished, _), (.failed, _):
            return []
        default:
            return fail(.malformed, "unexpected message in state \(state)")
        }
    }

    /// Records the outcome of an ``Action/append(_:checkpoint:)``.
    public mutating func appended(_ outcome: AppendOutcome) {
        report.add(outcome)
    }

    /// Records that the driver sent `count` events and its final batch.
    public mutating func sentAll(count: Int) -> [Action] {
        guard state == .exchanging, !sentLast else { return [] }
        report.sent += count
        sentLast = true
        if receivedLast {
            state = .finished
            return [.finished(report)]
        }
        return []
    }

    private mutating func fail(_ code: SyncError.Code, _ message: String) -> [Action] {
        state = .failed
        return [.fail(SyncError(code, message))]
    }
}
