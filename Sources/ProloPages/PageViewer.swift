/// Who is looking at a page, as the page needs to know it: what to link to, which forms to offer, and the
/// session's CSRF token every form carries.
public struct PageViewer: Sendable, Hashable {
    /// What the header says about the signed-in token: `clinic token tok-3f… (device front-desk)`.
    public var description: String
    /// The session's CSRF token, written into every form as the hidden field `csrf`.
    public var csrfToken: String
    /// Whether the clinic-wide pages (today, alerts, devices) are the viewer's to see.
    public var mayReadClinic: Bool
    /// Whether the viewer may record a decision (clear an alert): a clinic token, not an audit one.
    public var mayRecord: Bool
    /// For a patient's token, the one patient whose page it sees.
    public var patient: String?

    /// A viewer.
    public init(description: String, csrfToken: String, mayReadClinic: Bool, mayRecord: Bool, patient: String? = nil) {
        self.description = description
        self.csrfToken = csrfToken
        self.mayReadClinic = mayReadClinic
        self.mayRecord = mayRecord
        self.patient = patient
    }
}
