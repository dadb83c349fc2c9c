package import ProloDomain

/// What a peer that announced a version vector and chain heads is missing (DESIGN §6 "Forks are caught"): where
/// each origin is sent from, and the order the events go out in. Pure; each backend reads the pages it asks for
/// (``EventStore/scanMissing(from:heads:patient:_:)``, the PostgreSQL log's), so the rule lives here once.
package struct MissingEvents {
    /// Each origin's run, read a page at a time.
    private var cursors: [MissingCursor]
    /// Origin → the lowest position this log holds fork evidence at.
    private let forkedHere: [String: Int64]
    private let heads: ChainHeads

    /// The rows a backend reads per page.
    package static let pageSize = MissingCursor.pageSize

    /// The positions whose hashes the plan compares with the peer's heads: the backend reads them into `ownHashes`.
    package static func positionsToCompare(_ vector: VersionVector, heads: ChainHeads) -> [String: Int64] {
        vector.heads.filter { heads.hashes[$0.key] != nil && $0.value > 0 }
    }

    /// Plans what a peer holding `vector` and `heads` is missing from a log holding `local`.
    ///
    /// An origin whose event here at the peer's head position has another hash (the peer holds another branch) is
    /// sent from its first event, so the peer meets the conflicting position and records the fork, and so is this
    /// log's own origin when the peer holds more of it than this log (a store restored from a backup); an origin
    /// this log holds fork evidence for at a lower position than the peer announces is sent from that position,
    /// followed by the evidence. A peer that sends no heads (an older build) is served by the vector alone.
    /// `reach`, when given, keeps only those origins (a patient's slice: the origins with something in it).
    package init(
        local: VersionVector, forkedHere: [String: Int64], ownHashes: [String: EventHash], ownOrigin: String,
        peer vector: VersionVector, heads: ChainHeads, reach: Set<String>? = nil
    ) {
        var starts: [String: Int64] = [:]
        for (origin, range) in local.missing(from: vector) { starts[origin] = range.lowerBound }
        for origin in Set(local.heads.keys).union(forkedHere.keys) {
            let peerFork = heads.forkedAt[origin]
            if let ownFork = forkedHere[origin], peerFork.map({ ownFork < $0 }) ?? true {
                starts[origin] = min(starts[origin] ?? ownFork, ownFork)
            } else if peerFork == nil, let peerHash = heads.hashes[origin], vector[origin] > 0,
                let own = ownHashes[origin], own != peerHash
            {
                starts[origin] = 1
            } else if peerFork == nil, origin == ownOrigin, vector[origin] > local[origin] {
                // The peer holds more of this log's own chain than the log itself: it was restored from a backup,
                // and what it recorded since conflicts with what the peer holds. Its chain from the start shows the
                // peer where.
                starts[origin] = 1
            }
        }
        if let reach { starts = starts.filter { reach.union(forkedHere.keys).contains($0.key) } }
        cursors = starts.sorted(by: { $0.key < $1.key }).map { MissingCursor(origin: $0.key, after: $0.value) }
        self.forkedHere = forkedHere
        self.heads = heads
    }

    /// The origins whose next page must be read (from `after` on, `pageSize` rows in `originSeq` order) and handed to
    /// ``load(_:_:)`` before ``next()`` can choose.
    package var pagesToRead: [(cursor: Int, origin: String, after: Int64)] {
        cursors.indices.filter { cursors[$0].needsPage }.map { ($0, cursors[$0].origin, cursors[$0].after) }
    }

    package mutating func load(_ cursor: Int, _ page: [StoredEvent]) { cursors[cursor].load(page) }

    /// The next event in canonical order (DESIGN §3) across every origin's run, once ``pagesToRead`` is empty. Each
    /// chain keeps its own order (its HLCs rise), and a receiver gets a patient's events from several devices in the
    /// order its fold continues from, instead of origin by origin, which made it re-fold every patient once per
    /// origin and batch.
    package mutating func next() -> StoredEvent? {
        var chosen: Int?
        for index in cursors.indices {
            guard let head = cursors[index].head else { continue }
            if let best = chosen.flatMap({ cursors[$0].head }), !Self.canonicallyPrecedes(head, best) { continue }
            chosen = index
        }
        return chosen.flatMap { cursors[$0].take() }
    }

    /// The origins whose fork evidence follows the events, in order: the receiver then holds each chain up to the
    /// positions the evidence conflicts with.
    package var originsWithEvidence: [String] {
        cursors.map(\.origin).filter { origin in
            guard let ownFork = forkedHere[origin] else { return false }
            return heads.forkedAt[origin].map { ownFork < $0 } ?? true
        }
    }

    /// Canonical order: `(hlc, origin, originSeq)`.
    private static func canonicallyPrecedes(_ left: StoredEvent, _ right: StoredEvent) -> Bool {
        (left.event.hlc.packed, left.event.origin.text, left.event.originSeq)
            < (right.event.hlc.packed, right.event.origin.text, right.event.originSeq)
    }
}

/// One origin's missing events, read a page at a time.
private struct MissingCursor {
    static let pageSize = 512

    let origin: String
    /// The position to read from next.
    private(set) var after: Int64
    private var page: [StoredEvent] = []
    private var index = 0
    private var lastPageWasFull = true

    init(origin: String, after: Int64) {
        self.origin = origin
        self.after = after
    }

    /// Whether the page is used up and another may follow.
    var needsPage: Bool { index == page.count && lastPageWasFull }

    var head: StoredEvent? { index < page.count ? page[index] : nil }

    mutating func load(_ events: [StoredEvent]) {
        page = events
        index = 0
        lastPageWasFull = events.count == Self.pageSize
        after = (events.last?.event.originSeq ?? after - 1) + 1
    }

    mutating func take() -> StoredEvent? {
        guard let event = head else { return nil }
        index += 1
        return event
    }
}
