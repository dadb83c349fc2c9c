public import ProloDomain

extension EventStore {
    /// Calls `body` with every event this store holds above `vector`, origin by origin (sorted by origin id),
    /// each origin's events in `originSeq` order: what a peer that announced `vector` is missing.
    ///
    /// With `patient`, only that patient's events and administrative events are read (a home device's slice).
    /// Streams: memory holds a page of events. Only admitted events are read, never quarantined ones.
    /// `body` returns `false` to stop early.
    public func scanMissing(
        from vector: VersionVector, patient: PatientID? = nil, _ body: (StoredEvent) throws(StoreError) -> Bool
    ) throws(StoreError) {
        let local = try versionVector()
        for (origin, range) in local.missing(from: vector).sorted(by: { $0.key < $1.key }) {
            var sql = "SELECT \(Self.columns) FROM events WHERE origin = ? AND origin_seq >= ?"
            if patient != nil { sql += " AND (patient = ? OR patient IS NULL)" }
            sql += " ORDER BY origin_seq"
            // Each origin is read in its own short read, so a writer is never blocked for a whole export.
            var rows: [StoredEvent] = []
            var after = range.lowerBound
            repeat {
                rows = try read { connection throws(StoreError) -> [StoredEvent] in
                    let statement = try connection.statement(sql + " LIMIT 512")
                    statement.bind(1, origin)
                    statement.bind(2, after)
                    if let patient { statement.bind(3, patient.text) }
                    var page: [StoredEvent] = []
                    while try statement.step() { page.append(try Self.decodeRow(statement)) }
                    statement.reset()
                    return page
                }
                for row in rows {
                    guard try body(row) else { return }
                }
                after = (rows.last?.event.originSeq ?? after) + 1
            } while rows.count == 512
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

/// Proof that one origin signed two different events at one chain position.
public struct ForkEvidence: Sendable, Hashable {
    public let origin: String
    public let originSeq: Int64
    /// The id of the event that conflicts with the one held.
    public let otherEvent: String
    public let patient: String?
    public let detectedAt: Timestamp
}
