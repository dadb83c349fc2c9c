import Foundation
import NIOCore
import PostgresNIO
public import ProloDomain
public import ProloStore

extension PostgresLog {
    /// Calls `body` with every event this log holds above `vector`, in canonical order, then the fork evidence a peer
    /// holding `vector` and `heads` must meet: what `EventStore.scanMissing` serves from a SQLite store, by the same
    /// plan (``MissingEvents``), read a page per origin at a time. With `patient`, only that patient's events and the
    /// administrative ones, never one held for review (every event here had its own signature checked on arrival).
    /// `body` returns `false` to stop early.
    public func scanMissing(
        from vector: VersionVector, heads: ChainHeads = ChainHeads(), patient: PatientID? = nil,
        _ body: (StoredEvent) async throws(StoreError) -> Bool
    ) async throws(StoreError) {
        let forkedHere = try await forkPositions()
        let (local, ownHashes, reach) = try await versionVector(
            hashesAt: MissingEvents.positionsToCompare(vector, heads: heads), sliceOf: patient)
        var missing = MissingEvents(
            local: local, forkedHere: forkedHere, ownHashes: ownHashes, ownOrigin: try await identity().origin.text,
            peer: vector, heads: heads, reach: reach)
        while true {
            // Every origin whose page is used up, in one query: a round trip per origin and page cost a pull with
            // fifty devices' origins fifty round trips.
            let pages = missing.pagesToRead
            if !pages.isEmpty {
                var loaded: [String: [StoredEvent]] = [:]
                for row in try await self.pages(pages.map { ($0.origin, $0.after) }, patient: patient) {
                    let stored = try Self.eventRow(row).decoded()
                    loaded[stored.event.origin.text, default: []].append(stored)
                }
                for page in pages { missing.load(page.cursor, loaded[page.origin] ?? []) }
            }
            guard let event = missing.next() else { break }
            guard try await body(event) else { return }
        }
        for origin in missing.originsWithEvidence {
            for evidence in try await forkEvidence(of: origin, patient: patient) {
                guard try await body(evidence) else { return }
            }
        }
    }

    /// The next page (``MissingEvents/pageSize`` rows from `after` on, in `originSeq` order) of each origin, in one
    /// query; with `patient`, only that patient's events and the administrative ones a slice is served.
    private func pages(_ cursors: [(origin: String, after: Int64)], patient: PatientID?) async throws(StoreError)
        -> [PostgresRow]
    {
        let origins = cursors.map(\.origin)
        let afters = cursors.map(\.after)
        if let patient {
            return try await run(
                MissingSlicePages.self, PostgresBindings(origins, afters, patient.text),
                "cannot read the missing events of \(cursors.count) origins")
        }
        return try await run(
            MissingPages.self, PostgresBindings(origins, afters), "cannot read the missing events of \(cursors.count) origins")
    }

    /// What `EventStore.slicePositions(patient:)` reads of a SQLite store, from this log: how far `patient`'s
    /// slice reaches, by position, without reading an event's body (`ScopeVectors.vector(of:scope:registry:payload:)`
    /// decides the administrative ones by their payloads, ``events(seqs:)``).
    /// With them, the hash of the event held at each position named (origin → `originSeq` → hash): the slice's vector
    /// is one of those positions per origin, so a summary's chain heads come with it (``chainHeads(at:from:)``).
    public func slicePositionsAndHashes(patient: PatientID) async throws(StoreError)
        -> (positions: SlicePositions, hashes: [String: [Int64: EventHash]])
    {
        var own = VersionVector()
        var administrative: [SlicePositions.Position] = []
        var evidence: [Event] = []
        var hashes: [String: [Int64: EventHash]] = [:]
        for row in try await run(SlicePositionRows.self, PostgresBindings(patient.text), "cannot read the slice's positions") {
            let origin = try Self.decode(row, 1, as: String.self, "origin") ?? ""
            let position = try Self.decode(row, 2, as: Int64.self, "origin_seq") ?? 0
            if let hash = try Self.hash(row, 5) { hashes[origin, default: [:]][position] = hash }
            switch try Self.decode(row, 0, as: Int32.self, "part") {
            case 0, 3:
                own.advance(origin, to: position)
            case 1:
                administrative.append(
                    SlicePositions.Position(
                        seq: try Self.decode(row, 3, as: Int64.self, "seq") ?? 0, origin: origin, originSeq: position))
            default:
                if let bytes = try Self.decode(row, 4, as: ByteBuffer.self, "event"),
                    let event = try? EventWireCodec.decode(Array(bytes.readableBytesView))
                {
                    evidence.append(event)
                }
            }
        }
        return (SlicePositions(own: own, administrative: administrative, administrativeEvidence: evidence), hashes)
    }

    /// The events stored at `seqs`, by `seq`.
    public func events(seqs: [Int64]) async throws(StoreError) -> [Int64: StoredEvent] {
        guard !seqs.isEmpty else { return [:] }
        var events: [Int64: StoredEvent] = [:]
        for row in try await run(
            "SELECT \(unescaped: EventStore.columns) FROM events WHERE seq = ANY(\(seqs))", "cannot read events")
        {
            let stored = try Self.eventRow(row).decoded()
            events[stored.seq] = stored
        }
        return events
    }

    /// Per origin, the hash of the event held at the position `vector` names, and the lowest position of each
    /// origin's fork evidence (`EventStore.chainHeads(at:)`).
    public func chainHeads(at vector: VersionVector) async throws(StoreError) -> ChainHeads {
        ChainHeads(hashes: try await hashes(at: vector.heads), forkedAt: try await forkPositions())
    }

    /// The log's version vector, the hash of the event held at each of `positions` (origin → `originSeq`), and with
    /// `patient` the origins with an event in that patient's slice, in one statement: a pull's plan reads them all
    /// (they were a statement each).
    func versionVector(hashesAt positions: [String: Int64], sliceOf patient: PatientID?) async throws(StoreError)
        -> (VersionVector, [String: EventHash], reach: Set<String>?)
    {
        let pairs = positions.sorted(by: { $0.key < $1.key })
        let rows =
            if let patient {
                try await run(
                    SliceVersionVectorAndHashes.self,
                    PostgresBindings(pairs.map(\.key), pairs.map(\.value), patient.text), "cannot read the version vector")
            } else {
                try await run(
                    VersionVectorAndHashes.self, PostgresBindings(pairs.map(\.key), pairs.map(\.value)),
                    "cannot read the version vector")
            }
        var vector = VersionVector()
        var hashes: [String: EventHash] = [:]
        var reach: Set<String>? = patient == nil ? nil : []
        for row in rows {
            let origin = try Self.decode(row, 1, as: String.self, "origin") ?? ""
            switch try Self.decode(row, 0, as: Int32.self, "part") {
            case 0:
                vector.advance(origin, to: try Self.decode(row, 2, as: Int64.self, "seq") ?? 0)
            case 1:
                if let hash = try Self.hash(row, 3) { hashes[origin] = hash }
            default:
                reach?.insert(origin)
            }
        }
        return (vector, hashes, reach)
    }

    /// The hash in column `index` of `row`, if it holds one.
    static func hash(_ row: PostgresRow, _ index: Int) throws(StoreError) -> EventHash? {
        guard let bytes = try decode(row, index, as: ByteBuffer.self, "hash") else { return nil }
        return try? EventHash(bytes: Array(bytes.readableBytesView))
    }

    /// The log's version vector and its chain heads at it (what `EventStore`'s `versionVector()` and
    /// `chainHeads(at:)` answer together for a clinic-scope summary), in one statement.
    public func versionVectorAndHeads() async throws(StoreError) -> (VersionVector, ChainHeads) {
        var vector = VersionVector()
        var hashes: [String: EventHash] = [:]
        for row in try await run(VersionVectorWithHeads.self, "cannot read the version vector") {
            let origin = try Self.decode(row, 0, as: String.self, "origin") ?? ""
            vector.advance(origin, to: try Self.decode(row, 1, as: Int64.self, "seq") ?? 0)
            if let hash = try Self.hash(row, 2) { hashes[origin] = hash }
        }
        return (vector, ChainHeads(hashes: hashes, forkedAt: try await forkPositions()))
    }

    /// The chain heads at `vector` from hashes read with the positions it was made of
    /// (``slicePositionsAndHashes(patient:)``), without reading them again.
    public func chainHeads(at vector: VersionVector, from hashes: [String: [Int64: EventHash]]) async throws(StoreError)
        -> ChainHeads
    {
        var heads: [String: EventHash] = [:]
        for (origin, seq) in vector.heads { heads[origin] = hashes[origin]?[seq] }
        return ChainHeads(hashes: heads, forkedAt: try await forkPositions())
    }

    /// The hash of the event held at each position (origin → `originSeq`), in one query.
    func hashes(at positions: [String: Int64]) async throws(StoreError) -> [String: EventHash] {
        guard !positions.isEmpty else { return [:] }
        let pairs = positions.sorted(by: { $0.key < $1.key })
        let rows = try await run(
            HashesAtPositions.self, PostgresBindings(pairs.map(\.key), pairs.map(\.value)), "cannot read chain heads")
        var hashes: [String: EventHash] = [:]
        for row in rows {
            if let origin = try Self.decode(row, 0, as: String.self, "origin"), let hash = try Self.hash(row, 1) {
                hashes[origin] = hash
            }
        }
        return hashes
    }

    /// Origin → the lowest position at which this log holds fork evidence: on a hub's connection, as this lease
    /// first read them with the registry (``leaseSnapshot()``); else read now.
    func forkPositions() async throws(StoreError) -> [String: Int64] {
        registryCache == nil ? try await loadForkPositions() : try await leaseSnapshot().forkedHere
    }

    func loadForkPositions() async throws(StoreError) -> [String: Int64] {
        let rows = try await run(ForkPositions.self, "cannot read fork evidence")
        var result: [String: Int64] = [:]
        for row in rows {
            result[try Self.decode(row, 0, as: String.self, "origin") ?? ""] = try Self.decode(row, 1, as: Int64.self, "min")
        }
        return result
    }

    /// The fork evidence of `origin` (in `patient`'s slice), in position order, as events to send.
    private func forkEvidence(of origin: String, patient: PatientID?) async throws(StoreError) -> [StoredEvent] {
        let rows = try await run(
            "SELECT event, detected_at FROM forks WHERE origin = \(origin) ORDER BY origin_seq, other_id",
            "cannot read fork evidence")
        var result: [StoredEvent] = []
        for row in rows {
            guard let bytes = try Self.decode(row, 0, as: ByteBuffer.self, "event"),
                let event = try? EventWireCodec.decode(Array(bytes.readableBytesView))
            else { continue }
            if let patient, let about = event.patient, about != patient { continue }
            let detected = Timestamp(millisecondsSinceEpoch: try Self.decode(row, 1, as: Int64.self, "detected_at") ?? 0)
            result.append(StoredEvent(seq: 0, receivedAt: detected, event: event))
        }
        return result
    }
}
