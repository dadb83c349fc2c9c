/// `consent.recorded`: the patient gives or withdraws consent to prolotherapy after the risks were discussed.
public struct ConsentRecorded: EventPayload {
    /// This payload belongs to `consent.recorded` events.
    public static let eventType = EventType.consentRecorded

    /// Whether consent is given or withdrawn.
    public enum Status: String, Codable, Sendable, CaseIterable {
        /// The patient consents to treatment.
        case given
        /// The patient withdraws an earlier consent; no further injection is covered.
        case withdrawn
    }

    /// Given or withdrawn.
    public var status: Status
    /// The risks discussed with the patient.
    public var risksDiscussed: [ConsentRisk]
    /// The patient acknowledged that prolotherapy is investigational for low back pain.
    public var investigationalAcknowledged: Bool
    /// The patient acknowledged that the treatment is self-paid.
    public var selfPayAcknowledged: Bool
    /// SHA-256 of the signed consent form, when there is one.
    public var formSha256: SHA256Hex?
    /// The clinician who took the consent.
    public var recordedBy: Identifier

    /// Makes a consent record.
    public init(
        status: Status, risksDiscussed: [ConsentRisk], investigationalAcknowledged: Bool, selfPayAcknowledged: Bool,
        formSha256: SHA256Hex? = nil, recordedBy: Identifier
    ) {
        self.status = status
        self.risksDiscussed = risksDiscussed
        self.investigationalAcknowledged = investigationalAcknowledged
        self.selfPayAcknowledged = selfPayAcknowledged
        self.formSha256 = formSha256
        self.recordedBy = recordedBy
    }
}
