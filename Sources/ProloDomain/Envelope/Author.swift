/// Who recorded an event: a practitioner, the patient, an administrator, or the device itself.
public struct Author: Sendable, Hashable, Codable {
    /// The author's role when recording.
    public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
        /// A practitioner of the clinic.
        case clinician
        /// The patient, from a home device.
        case patient
        /// An administrator managing devices.
        case admin
        /// The device itself (automatic records).
        case system
    }

    /// Practitioner id, patient id, or device name.
    public let id: Identifier
    /// The role.
    public let role: Role

    /// Makes an author.
    public init(id: Identifier, role: Role) {
        self.id = id
        self.role = role
    }
}
