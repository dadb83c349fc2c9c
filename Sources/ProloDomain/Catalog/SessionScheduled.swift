/// `session.scheduled`: an appointment is booked.
public struct SessionScheduled: EventPayload {
    /// This payload belongs to `session.scheduled` events.
    public static let eventType = EventType.sessionScheduled

    /// What the appointment is for.
    public enum Purpose: String, Codable, Sendable, CaseIterable {
        /// A first or repeat examination.
        case assessment
        /// An injection session of the course.
        case injection
        /// A follow-up review.
        case review
    }

    /// When the appointment is.
    public var appointmentAt: Timestamp
    /// What it is for.
    public var purpose: Purpose
    /// The practitioner booked.
    public var practitioner: Identifier
    /// Why it was booked, when worth saying.
    public var reason: Note?

    /// Makes a booking.
    public init(appointmentAt: Timestamp, purpose: Purpose, practitioner: Identifier, reason: Note? = nil) {
        self.appointmentAt = appointmentAt
        self.purpose = purpose
        self.practitioner = practitioner
        self.reason = reason
    }
}
