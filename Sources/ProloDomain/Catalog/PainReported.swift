/// `pain.reported`: a pain or disability score on one instrument, between or at sessions.
public struct PainReported: EventPayload {
    /// This payload belongs to `pain.reported` events.
    public static let eventType = EventType.painReported

    /// The instrument.
    public var instrument: PainInstrument
    /// The score, within the instrument's range (NRS 0–10, VAS 0–100, ODI 0–100, Roland-Morris 0–24).
    public var score: Int
    /// Who reports.
    public var reporter: Reporter
    /// Context in the reporter's words.
    public var note: Note?

    /// Makes a pain report.
    public init(instrument: PainInstrument, score: Int, reporter: Reporter, note: Note? = nil) {
        self.instrument = instrument
        self.score = score
        self.reporter = reporter
        self.note = note
    }

    /// Refuses a score outside the instrument's range.
    public func validate() throws(PayloadError) {
        let range = instrument.range
        if !range.contains(score) {
            throw PayloadError(
                path: "$.score",
                "\(score) is outside the \(instrument.rawValue) range \(range.lowerBound)…\(range.upperBound)")
        }
    }
}
