/// `alert.cleared`: a clinician reviewed an alert and clears it; a red flag blocks the next injection until then.
public struct AlertCleared: EventPayload {
    /// This payload belongs to `alert.cleared` events.
    public static let eventType = EventType.alertCleared
    /// v2 accepts the alert kinds of the clinical rules added with issue 15; v1 clearances are read unchanged.
    public static let schemaVersion = 2

    /// The kind of alert cleared.
    public var alertKind: AlertKind
    /// The events that raised it, at least one.
    public var raisedBy: [EventID]
    /// The clinician who clears it.
    public var clinician: Identifier
    /// Why it is safe to clear (findings of the review).
    public var reason: Note

    /// Makes a clearance.
    public init(alertKind: AlertKind, raisedBy: [EventID], clinician: Identifier, reason: Note) {
        self.alertKind = alertKind
        self.raisedBy = raisedBy
        self.clinician = clinician
        self.reason = reason
    }

    /// Refuses a clearance that names no raising event.
    public func validate() throws(PayloadError) {
        if raisedBy.isEmpty {
            throw PayloadError(path: "$.raisedBy", "name at least one event that raised the alert")
        }
    }
}
