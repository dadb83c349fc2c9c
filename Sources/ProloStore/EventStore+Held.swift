public import ProloDomain

extension EventStore {
    /// The flags that hold a stored event out of the read models (``UnreadablePayload/Kind``).
    package static let heldFlags = UnreadablePayload.Kind.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")

    /// The flags that hold an authentic stored event out of the read models for review (``ReviewHold``).
    package static let reviewFlags = ReviewHold.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")

    /// An SQL condition on `events` that is true for the events the read models fold: every event but the held
    /// ones (unreadable payloads, and review holds: forked, after revocation, out of scope, broken patient link).
    /// Read models add it to their queries so the rule lives here, once.
    package static let foldableCondition =
        "id NOT IN (SELECT id FROM event_flags WHERE flag IN (\(heldFlags), \(reviewFlags)))"

    /// Authentic events this store holds in its log but out of its read models for the clinic's review
    /// (``ReviewHold``: a forked origin's events from the fork on, a revoked device's events recorded after its
    /// revocation, a home device's events outside its patient), in canonical order.
    public func reviewHeldEvents() throws(StoreError) -> [ReviewHeldEvent] {
        try read { connection throws(StoreError) -> [ReviewHeldEvent] in
            let statement = try connection.statement(
                """
                SELECT e.id, e.origin, e.origin_seq, e.patient, e.hlc, f.flag, f.detail FROM events e
                JOIN event_flags f ON f.id = e.id WHERE f.flag IN (\(Self.reviewFlags))
                ORDER BY e.hlc, e.origin, e.origin_seq, f.flag
                """)
            var result: [ReviewHeldEvent] = []
            while try statement.step() {
                guard let id = try? EventID(checked: statement.text(0)),
                    let origin = try? Identifier(checked: statement.text(1)),
                    let hold = ReviewHold(rawValue: statement.text(5))
                else { continue }
                result.append(
                    ReviewHeldEvent(
                        id: id, origin: origin, originSeq: statement.int64(2),
                        patient: statement.optionalText(3).flatMap { try? PatientID(checked: $0) },
                        hlc: HLC(packed: statement.int64(4)), hold: hold, detail: statement.text(6)))
            }
            statement.reset()
            return result
        }
    }

    /// Validly signed events this store holds in its log but out of its read models, because the build that
    /// received them could not read their payloads, in arrival order (DESIGN §6 "Verified").
    public func heldEvents() throws(StoreError) -> [HeldEvent] {
        try read { connection throws(StoreError) -> [HeldEvent] in try Self.heldEvents(connection) }
    }

    /// Whether this build reads the payload of an event an earlier build held: the read models then need a
    /// rebuild to fold it.
    public func holdsReadableEvents() throws(StoreError) -> Bool {
        try read { connection throws(StoreError) -> Bool in
            for held in try Self.heldEvents(connection) where try Self.isReadable(held.id, connection) { return true }
            return false
        }
    }

    /// Lifts the hold on every held event whose payload this build reads, inside the caller's transaction (a
    /// rebuild's), so the rebuild folds it. Returns the events released.
    @discardableResult
    package static func releaseReadableHeldEvents(_ connection: SQLiteConnection) throws(StoreError) -> [EventID] {
        var released: [EventID] = []
        for held in try heldEvents(connection) where try isReadable(held.id, connection) {
            let statement = try connection.statement("DELETE FROM event_flags WHERE id = ? AND flag IN (\(heldFlags))")
            statement.bind(1, held.id.text)
            try statement.run()
            released.append(held.id)
        }
        return released
    }

    private static func heldEvents(_ connection: SQLiteConnection) throws(StoreError) -> [HeldEvent] {
        var reasons: [String: UnreadablePayload] = [:]
        let flags = try connection.statement("SELECT id, flag, detail FROM event_flags WHERE flag IN (\(heldFlags))")
        while try flags.step() {
            if let kind = UnreadablePayload.Kind(rawValue: flags.text(1)) {
                reasons[flags.text(0)] = UnreadablePayload(kind, flags.text(2))
            }
        }
        flags.reset()
        guard !reasons.isEmpty else { return [] }
        let events = try connection.statement(
            "SELECT \(columns) FROM events WHERE NOT (\(foldableCondition)) ORDER BY seq")
        var result: [HeldEvent] = []
        while try events.step() {
            let stored = try decodeRow(events)
            guard let reason = reasons[stored.event.id.text] else { continue }
            result.append(HeldEvent(stored.event, reason: reason, receivedAt: stored.receivedAt))
        }
        events.reset()
        return result
    }

    private static func isReadable(_ id: EventID, _ connection: SQLiteConnection) throws(StoreError) -> Bool {
        let statement = try connection.statement("SELECT \(columns) FROM events WHERE id = ?")
        statement.bind(1, id.text)
        defer { statement.reset() }
        guard try statement.step() else { return false }
        return try decodeRow(statement).event.unreadablePayload == nil
    }
}

/// An authentic stored event held out of the read models for the clinic's review (``ReviewHold``).
public struct ReviewHeldEvent: Sendable, Hashable {
    public let id: EventID
    public let origin: Identifier
    public let originSeq: Int64
    /// The patient it concerns, if the envelope names one.
    public let patient: PatientID?
    /// When it was recorded, as signed.
    public let hlc: HLC
    /// Why it is held.
    public let hold: ReviewHold
    public let detail: String

    package init(
        id: EventID, origin: Identifier, originSeq: Int64, patient: PatientID?, hlc: HLC, hold: ReviewHold, detail: String
    ) {
        self.id = id
        self.origin = origin
        self.originSeq = originSeq
        self.patient = patient
        self.hlc = hlc
        self.hold = hold
        self.detail = detail
    }
}
