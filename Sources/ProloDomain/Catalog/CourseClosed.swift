/// `course.closed`: a course of prolotherapy ends.
public struct CourseClosed: EventPayload {
    /// This payload belongs to `course.closed` events.
    public static let eventType = EventType.courseClosed

    /// Why the course ends.
    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// The pain resolved or improved enough.
        case resolved
        /// No meaningful improvement.
        case noImprovement = "no-improvement"
        /// An adverse event ended treatment.
        case adverseEvent = "adverse-event"
        /// The patient chose to stop.
        case patientChoice = "patient-choice"
        /// Another reason, in the summary.
        case other
    }

    /// The `course.planned` event of the course closed.
    public var course: EventID
    /// Why it ends.
    public var reason: Reason
    /// The clinician's summary.
    public var summary: Note
    /// The clinician who closes it.
    public var closedBy: Identifier

    /// Makes a closure.
    public init(course: EventID, reason: Reason, summary: Note, closedBy: Identifier) {
        self.course = course
        self.reason = reason
        self.summary = summary
        self.closedBy = closedBy
    }
}
