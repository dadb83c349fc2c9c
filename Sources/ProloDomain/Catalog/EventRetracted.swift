/// `event.retracted`: an earlier event should not have been recorded; projections ignore it and audit shows it.
public struct EventRetracted: EventPayload {
    /// This payload belongs to `event.retracted` events.
    public static let eventType = EventType.eventRetracted

    /// Why the event is retracted.
    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// It was entered in error.
        case enteredInError = "entered-in-error"
        /// It was recorded on the wrong patient.
        case wrongPatient = "wrong-patient"
        /// It duplicates another event.
        case duplicate
        /// Another reason, in the note.
        case other
    }

    /// The event retracted.
    public var target: EventID
    /// Why.
    public var reason: Reason
    /// Details.
    public var note: Note?
    /// Who retracts.
    public var retractedBy: Identifier

    /// Makes a retraction.
    public init(target: EventID, reason: Reason, note: Note? = nil, retractedBy: Identifier) {
        self.target = target
        self.reason = reason
        self.note = note
        self.retractedBy = retractedBy
    }
}
