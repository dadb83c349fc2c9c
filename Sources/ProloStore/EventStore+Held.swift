public import ProloDomain

extension EventStore {
    /// The flags that hold a stored event out of the read models (``UnreadablePayload/Kind``).
    static let heldFlags = UnreadablePayload.Kind.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")

    /// An SQL condition on `events` that is true for the events the read models fold: every event but the held
    /// ones. Read models add it to their queries so the rule lives here, once.
    package static let foldableCondition = "id NOT IN (SELECT id FROM event_flags WHERE flag IN (\(heldFlags)))"

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
