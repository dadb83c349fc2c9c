public import ProloDomain

extension EventStore {
    /// Calls `body` with every event this store holds above `vector`, origin by origin (sorted by origin id),
    /// each origin's events in `originSeq` order: what a peer that announced `vector` is missing.
    ///
    /// With the peer's `heads` (DESIGN §6 "Forks are caught"), an origin whose event here at the peer's head
    /// position has another hash (the peer holds another branch) is sent from its first event, so the peer meets
    /// the conflicting position and records the fork, and so is this device's own origin when the peer holds more
    /// of it than this store (a store restored from a backup); an origin this store holds fork evidence for at a lower
    /// position than the peer announces is sent from that position, followed by the evidence. A peer that sends
    /// no heads (an older build) is served by the vector alone, as before.
    ///
    /// With `patient`, only that patient's events and administrative events are read (a home device's slice), each
    /// with its own signature checked (``checkUncheckedSignatures(about:)``; one that fails is not sent).
    /// Streams: memory holds a page of events. Only admitted events and fork evidence are read, never quarantined
    /// ones. `body` returns `false` to stop early.
    public func scanMissing(
        from vector: VersionVector, heads: ChainHeads = ChainHeads(), patient: PatientID? = nil,
        _ body: (StoredEvent) throws(StoreError) -> Bool
    ) throws(StoreError) {
        // A home device verifies each event on its own: what it may be served has its own signature checked first
        // (SignatureRuns left some unchecked), and an event whose signature does not verify is never served.
        if let patient { try checkUncheckedSignatures(about: patient) }
        let forkedHere = try forkPositions()
        // Only the origins with something in a slice: a clinic's other devices (every other patient's home device)
        // have nothing to read, and probing each cost a server's pull as much as the rest.
        var missing = MissingEvents(
            local: try versionVector(), forkedHere: forkedHere,
            ownHashes: try hashes(at: MissingEvents.positionsToCompare(vector, heads: heads)),
            ownOrigin: identity.origin.text, peer: vector, heads: heads,
            reach: try patient.map { patient throws(StoreError) in try sliceOrigins(patient) })
        let sql: String
        if patient != nil {
            // A slice reads the patient's events and the administrative ones through their own indexes
            // (`events_by_patient`, `events_administrative`), never an origin's other events.
            let served = Self.servedToSlices
            sql = """
                SELECT \(Self.columns) FROM events WHERE origin = ?1 AND origin_seq >= ?2 AND patient = ?3 AND \(served)
                UNION ALL
                SELECT \(Self.columns) FROM events WHERE origin = ?1 AND origin_seq >= ?2 AND patient IS NULL AND \(served)
                ORDER BY origin_seq LIMIT \(MissingEvents.pageSize)
                """
        } else {
            sql = "SELECT \(Self.columns) FROM events WHERE origin = ? AND origin_seq >= ? ORDER BY origin_seq LIMIT "
                + "\(MissingEvents.pageSize)"
        }
        while true {
            // Each origin is read a page at a time in its own short read, so a writer is never blocked for a whole
            // export.
            for page in missing.pagesToRead {
                missing.load(page.cursor, try self.page(sql, origin: page.origin, after: page.after, patient))
            }
            guard let event = missing.next() else { break }
            guard try body(event) else { return }
        }
        for origin in missing.originsWithEvidence {
            for evidence in try forkEvidence(of: origin, patient: patient) {
                guard try body(evidence) else { return }
            }
        }
    }

    /// The SQL condition on `events` that leaves out what is never served to a slice: a home device's event held
    /// out of scope (about another patient), an event held for a broken patient link (not that patient's record as
    /// its device linked it), and an event whose own signature failed.
    /// By `seq`, which every index of `events` holds, so a query that needs no other column reads no event.
    package static let servedToSlices = """
        seq NOT IN (SELECT flagged.seq FROM event_flags JOIN events AS flagged ON flagged.id = event_flags.id \
        WHERE event_flags.flag IN ('\(ReviewHold.outOfScope.rawValue)', '\(ReviewHold.brokenPatientLink.rawValue)', \
        '\(badSignatureFlag)'))
        """

    /// The origins with an event in `patient`'s slice: the patient's own, or an administrative one.
    private func sliceOrigins(_ patient: PatientID) throws(StoreError) -> Set<String> {
        try read { connection throws(StoreError) -> Set<String> in
            let statement = try connection.statement(
                "SELECT DISTINCT origin FROM events WHERE patient = ? UNION SELECT DISTINCT origin FROM events WHERE patient IS NULL")
            statement.bind(1, patient.text)
            var origins = Set<String>()
            while try statement.step() { origins.insert(statement.text(0)) }
            statement.reset()
            return origins
        }
    }

    /// The next page of an origin's missing events.
    private func page(_ sql: String, origin: String, after: Int64, _ patient: PatientID?) throws(StoreError)
        -> [StoredEvent]
    {
        try read { connection throws(StoreError) -> [StoredEvent] in
            let statement = try connection.statement(sql)
            statement.bind(1, origin)
            statement.bind(2, after)
            if let patient { statement.bind(3, patient.text) }
            var page: [StoredEvent] = []
            while try statement.step() { page.append(try Self.decodeRow(statement)) }
            statement.reset()
            return page
        }
    }

    /// Per origin, the hash of the event held at the position `vector` names, and the lowest position of each
    /// origin's fork evidence: what a peer needs besides the vector to tell this store's branch from another.
    public func chainHeads(at vector: VersionVector) throws(StoreError) -> ChainHeads {
        ChainHeads(hashes: try hashes(at: vector.heads), forkedAt: try forkPositions())
    }

    /// ``chainHeads(at:)`` of this store's own ``versionVector()``.
    public func chainHeads() throws(StoreError) -> ChainHeads {
        try chainHeads(at: try versionVector())
    }

    /// The hash of the event held at each position (origin → `originSeq`), in one read: a summary and a pull ask
    /// for every origin's.
    private func hashes(at positions: [String: Int64]) throws(StoreError) -> [String: EventHash] {
        guard !positions.isEmpty else { return [:] }
        return try read { connection throws(StoreError) -> [String: EventHash] in
            let statement = try connection.statement("SELECT hash FROM events WHERE origin = ? AND origin_seq = ?")
            var hashes: [String: EventHash] = [:]
            for (origin, seq) in positions {
                statement.bind(1, origin)
                statement.bind(2, seq)
                if try statement.step(), let hash = try? EventHash(bytes: statement.blob(0)) { hashes[origin] = hash }
                statement.reset()
            }
            return hashes
        }
    }

    /// Origin → the lowest position at which this store holds fork evidence.
    private func forkPositions() throws(StoreError) -> [String: Int64] {
        try read { connection throws(StoreError) -> [String: Int64] in
            let statement = try connection.statement("SELECT origin, min(origin_seq) FROM forks GROUP BY origin")
            var result: [String: Int64] = [:]
            while try statement.step() { result[statement.text(0)] = statement.int64(1) }
            statement.reset()
            return result
        }
    }

    /// The fork evidence of `origin` (in `patient`'s slice), in position order, as events to send.
    private func forkEvidence(of origin: String, patient: PatientID?) throws(StoreError) -> [StoredEvent] {
        try read { connection throws(StoreError) -> [StoredEvent] in
            let statement = try connection.statement(
                "SELECT event, detected_at FROM forks WHERE origin = ? ORDER BY origin_seq, other_id")
            statement.bind(1, origin)
            var result: [StoredEvent] = []
            while try statement.step() {
                guard let event = try? EventWireCodec.decode(statement.blob(0)) else { continue }
                if let patient, let about = event.patient, about != patient { continue }
                let detected = Timestamp(millisecondsSinceEpoch: statement.int64(1))
                result.append(StoredEvent(seq: 0, receivedAt: detected, event: event))
            }
            statement.reset()
            return result
        }
    }

    /// Events waiting in quarantine, oldest first, with the reason.
    public func quarantine() throws(StoreError) -> [QuarantinedEvent] {
        try read { connection throws(StoreError) -> [QuarantinedEvent] in
            let statement = try connection.statement(
                "SELECT id, origin, origin_seq, reason FROM quarantine ORDER BY received_at, origin, origin_seq")
            var result: [QuarantinedEvent] = []
            while try statement.step() {
                guard let id = try? EventID(checked: statement.text(0)), let origin = try? Identifier(checked: statement.text(1))
                else { continue }
                result.append(
                    QuarantinedEvent(id: id, origin: origin, originSeq: statement.int64(2), reason: statement.text(3)))
            }
            statement.reset()
            return result
        }
    }

    /// Proven forks: the origin, the position, and the second event's id.
    public func forks() throws(StoreError) -> [ForkEvidence] {
        try read { connection throws(StoreError) -> [ForkEvidence] in
            let statement = try connection.statement(
                "SELECT origin, origin_seq, other_id, patient, detected_at FROM forks ORDER BY detected_at, origin, origin_seq")
            var result: [ForkEvidence] = []
            while try statement.step() {
                result.append(
                    ForkEvidence(
                        origin: statement.text(0), originSeq: statement.int64(1), otherEvent: statement.text(2),
                        patient: statement.optionalText(3),
                        detectedAt: Timestamp(millisecondsSinceEpoch: statement.int64(4))))
            }
            statement.reset()
            return result
        }
    }
}

extension EventStore {
    /// Each forked origin once, at the lowest position of its evidence, with the events that conflict there (the
    /// one held in the log and the evidence), sorted: the same on every replica whichever branch it received first.
    public func forkedOrigins() throws(StoreError) -> [ForkedOrigin] {
        let evidence = try forks()
        var held: [String: StoredEvent] = [:]
        for (origin, position) in ForkedOrigin.positions(of: evidence) {
            guard let originID = try? Identifier(checked: origin) else { continue }
            held[origin] = try events(EventFilter(origin: originID, originSeqs: position...position)).first
        }
        return ForkedOrigin.forked(evidence, held: held.mapValues(\.event))
    }
}

extension ForkedOrigin {
    /// The lowest position of each forked origin's evidence: where ``forked(_:held:)`` wants the event the log holds.
    package static func positions(of evidence: [ForkEvidence]) -> [String: Int64] {
        var lowest: [String: Int64] = [:]
        for item in evidence { lowest[item.origin] = min(lowest[item.origin] ?? .max, item.originSeq) }
        return lowest
    }

    /// Each forked origin once, at the lowest position of its evidence, with the events that conflict there (the
    /// one `held` in the log at ``positions(of:)``, and the evidence), sorted: the same on every replica and
    /// backend whichever branch it received first.
    package static func forked(_ evidence: [ForkEvidence], held: [String: Event]) -> [ForkedOrigin] {
        var result: [ForkedOrigin] = []
        for (origin, position) in positions(of: evidence).sorted(by: { $0.key < $1.key }) {
            let mine = evidence.filter { $0.origin == origin }
            let atPosition = mine.filter { $0.originSeq == position }
            var ids = Set(atPosition.map(\.otherEvent))
            var patients = Set(atPosition.compactMap(\.patient))
            if let event = held[origin] {
                ids.insert(event.id.text)
                if let patient = event.patient { patients.insert(patient.text) }
            }
            result.append(
                ForkedOrigin(
                    origin: origin, originSeq: position, events: ids.sorted(), patient: patients.min(),
                    detectedAt: mine.map(\.detectedAt).min { $0.millisecondsSinceEpoch < $1.millisecondsSinceEpoch }
                        ?? atPosition[0].detectedAt))
        }
        return result
    }
}

/// A forked origin as the clinic sees it: where its chain forked and the events that conflict there.
public struct ForkedOrigin: Sendable, Hashable {
    public let origin: String
    /// The lowest position at which this store holds fork evidence.
    public let originSeq: Int64
    /// The ids of the conflicting events at that position, sorted.
    public let events: [String]
    /// The first (by id) patient those events are about, if any.
    public let patient: String?
    /// When this store first detected a fork of the origin.
    public let detectedAt: Timestamp
}

/// Proof that one origin signed two different events at one chain position.
public struct ForkEvidence: Sendable, Hashable {
    public let origin: String
    public let originSeq: Int64
    /// The id of the event that conflicts with the one held.
    public let otherEvent: String
    public let patient: String?
    public let detectedAt: Timestamp

    package init(origin: String, originSeq: Int64, otherEvent: String, patient: String?, detectedAt: Timestamp) {
        self.origin = origin
        self.originSeq = originSeq
        self.otherEvent = otherEvent
        self.patient = patient
        self.detectedAt = detectedAt
    }
}
