/// `device.enrolled`: an administrator admits a device and its Ed25519 key to the clinic's registry.
///
/// Administrative: no patient stream and no personal data. A home device names the one patient it belongs to.
public struct DeviceEnrolled: EventPayload {
    /// This payload belongs to `device.enrolled` events.
    public static let eventType = EventType.deviceEnrolled

    /// What the device may do.
    public enum Role: String, Codable, Sendable, CaseIterable {
        /// A clinic server or clinician laptop, with every patient of the clinic.
        case clinic
        /// A full replica (another clinic's server, a backup).
        case replica
        /// An auditor's read-only full replica.
        case audit
        /// A patient's home device, with that patient's record only.
        case home
    }

    /// The device's name as shown to people (`Treatment room 2 laptop`).
    public var deviceName: Label
    /// The device's Ed25519 public key, base64.
    public var publicKey: PublicKeyBase64
    /// The device's role.
    public var role: Role
    /// The patient a home device belongs to; present exactly when ``role`` is ``Role/home``.
    public var patient: PatientID?
    /// The administrator who enrolls it.
    public var enrolledBy: Identifier

    /// Makes an enrollment.
    public init(
        deviceName: Label, publicKey: PublicKeyBase64, role: Role, patient: PatientID? = nil, enrolledBy: Identifier
    ) {
        self.deviceName = deviceName
        self.publicKey = publicKey
        self.role = role
        self.patient = patient
        self.enrolledBy = enrolledBy
    }

    /// Refuses a home device without a patient, and a patient on any other device.
    public func validate() throws(PayloadError) {
        if role == .home, patient == nil {
            throw PayloadError(path: "$.patient", "a home device must name its patient")
        }
        if role != .home, patient != nil {
            throw PayloadError(
                path: "$.patient", "only a home device names a patient; a \(role.rawValue) device has none")
        }
    }
}
