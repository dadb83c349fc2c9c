/// `side-effect.resolved`: a reported side effect has ended, and how.
public struct SideEffectResolved: EventPayload {
    /// This payload belongs to `side-effect.resolved` events.
    public static let eventType = EventType.sideEffectResolved

    /// How the side effect ended.
    public enum Outcome: String, Codable, Sendable, CaseIterable {
        /// Fully recovered.
        case recovered
        /// Recovered with lasting effects.
        case recoveredWithSequelae = "recovered-with-sequelae"
        /// The patient died (CTCAE grade 5).
        case fatal
        /// Closed without a known outcome (lost to follow-up).
        case unknown
    }

    /// The `side-effect.reported` event this closes.
    public var report: EventID
    /// When the side effect ended.
    public var resolvedAt: Timestamp
    /// How it ended.
    public var outcome: Outcome
    /// Who records the resolution.
    public var recordedBy: Reporter
    /// Details, such as the treatment given.
    public var note: Note?

    /// Makes a resolution record.
    public init(report: EventID, resolvedAt: Timestamp, outcome: Outcome, recordedBy: Reporter, note: Note? = nil) {
        self.report = report
        self.resolvedAt = resolvedAt
        self.outcome = outcome
        self.recordedBy = recordedBy
        self.note = note
    }
}
