public import ProloDomain

/// What a bearer token grants (DESIGN §7): `clinic`, `replica`, `audit` or `patient:ID`, as stored with the token.
/// What each grant allows is decided by ``DeviceAccess``, together with the device the token is bound to.
public enum TokenScope: Sendable, Hashable, CustomStringConvertible {
    /// A clinic device: everything, and enrolling devices.
    case clinic
    /// Another clinic server: sync everything.
    case replica
    /// An auditor: read everything, write nothing.
    case audit
    /// A patient's home device: that patient's slice.
    case patient(PatientID)

    /// Parses `clinic`, `replica`, `audit` or `patient:ID`.
    public init(text: String) throws(AccessError) {
        switch text {
        case "clinic": self = .clinic
        case "replica": self = .replica
        case "audit": self = .audit
        default:
            guard text.hasPrefix("patient:"), let patient = try? PatientID(checked: String(text.dropFirst(8))) else {
                throw AccessError(
                    .malformedScope, "scope must be clinic, replica, audit or patient:ID, not \(text.prefix(60))")
            }
            self = .patient(patient)
        }
    }

    /// `clinic`, `replica`, `audit` or `patient:ID`.
    public var description: String {
        switch self {
        case .clinic: "clinic"
        case .replica: "replica"
        case .audit: "audit"
        case .patient(let patient): "patient:\(patient)"
        }
    }
}
