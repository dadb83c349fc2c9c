/// `adjunct-therapy.recorded`: a session of a therapy given alongside prolotherapy.
public struct AdjunctTherapyRecorded: EventPayload {
    /// This payload belongs to `adjunct-therapy.recorded` events.
    public static let eventType = EventType.adjunctTherapyRecorded

    /// The therapy.
    public var therapy: AdjunctTherapy
    /// The practitioner who gave it.
    public var provider: Identifier
    /// What was done.
    public var note: Note?

    /// Makes an adjunct-therapy record.
    public init(therapy: AdjunctTherapy, provider: Identifier, note: Note? = nil) {
        self.therapy = therapy
        self.provider = provider
        self.note = note
    }
}
