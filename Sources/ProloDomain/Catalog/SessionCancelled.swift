/// `session.cancelled`: a booked appointment will not take place.
public struct SessionCancelled: EventPayload {
    /// This payload belongs to `session.cancelled` events.
    public static let eventType = EventType.sessionCancelled

    /// Why the appointment is cancelled.
    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// The patient asked.
        case patientRequest = "patient-request"
        /// The patient is unwell.
        case patientIll = "patient-ill"
        /// The practitioner is not available.
        case practitionerUnavailable = "practitioner-unavailable"
        /// A red flag must be cleared first.
        case redFlag = "red-flag"
        /// The course was closed.
        case courseClosed = "course-closed"
        /// Another reason, in the note.
        case other
    }

    /// The `session.scheduled` event cancelled.
    public var session: EventID
    /// The appointment time cancelled, as booked.
    public var appointmentAt: Timestamp
    /// Why.
    public var reason: Reason
    /// Who cancelled.
    public var cancelledBy: Reporter
    /// Details.
    public var note: Note?

    /// Makes a cancellation.
    public init(session: EventID, appointmentAt: Timestamp, reason: Reason, cancelledBy: Reporter, note: Note? = nil) {
        self.session = session
        self.appointmentAt = appointmentAt
        self.reason = reason
        self.cancelledBy = cancelledBy
        self.note = note
    }
}
