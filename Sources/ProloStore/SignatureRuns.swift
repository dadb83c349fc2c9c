public import ProloDomain

/// Which signatures of a received batch are checked before it is stored (verification at the hash-chain limit,
/// `Schemas/sync.md`): one per run instead of one per event.
///
/// A run is one origin's events at consecutive positions, each naming the previous one's hash as its `prev`. Every
/// event's hash is checked against its envelope and body before this plan is made, and the envelope includes
/// `prev`; so the checked signature of a run's last event (its anchor) authenticates the content of every event of
/// the run, as Hypercore's signed Merkle roots and transparency logs' signed tree heads do. The other members are
/// stored with their own signatures unchecked and listed in `unchecked_signatures`.
///
/// Pure: events in, positions out; the rule lives here once.
public struct SignatureRuns: Sendable {
    /// Each run as positions in the input, in chain order: its last is its anchor.
    public let runs: [[Int]]

    /// Splits `events` (any order, any origins) into runs.
    public init(_ events: [Event]) {
        var byOrigin: [Identifier: [Int]] = [:]
        for (position, event) in events.enumerated() { byOrigin[event.origin, default: []].append(position) }
        var runs: [[Int]] = []
        for origin in byOrigin.keys.sorted(by: { $0.text < $1.text }) {
            var run: [Int] = []
            for position in byOrigin[origin, default: []].sorted(by: { events[$0].originSeq < events[$1].originSeq }) {
                if let last = run.last, events[position].originSeq == events[last].originSeq + 1,
                    events[position].prev == events[last].hash
                {
                    run.append(position)
                } else {
                    if !run.isEmpty { runs.append(run) }
                    run = [position]
                }
            }
            if !run.isEmpty { runs.append(run) }
        }
        self.runs = runs
    }

    /// The positions whose signatures are checked: each run's last event.
    public var anchors: [Int] { runs.compactMap(\.last) }

    /// The positions authenticated through their run's anchor, whose own signatures are left unchecked.
    public var unchecked: [Int] { runs.flatMap { $0.dropLast() } }
}
