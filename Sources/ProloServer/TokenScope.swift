public import ProloDomain
public import ProloStore
public import ProloSync

/// What a bearer token allows (DESIGN §7). The scope comes from the token, never from the request.
///
/// | scope | reads | pushes |
/// |---|---|---|
/// | `clinic` | everything | everything |
/// | `replica` | everything | everything |
/// | `audit` | everything | nothing |
/// | `patient:ID` | that patient's slice | only its own device's events about that patient |
public enum TokenScope: Sendable, Hashable, CustomStringConvertible {
    case clinic, replica, audit
    case patient(PatientID)

    /// Parses `clinic`, `replica`, `audit` or `patient:ID`.
    public init(text: String) throws(SyncError) {
        switch text {
        case "clinic": self = .clinic
        case "replica": self = .replica
        case "audit": self = .audit
        default:
            guard text.hasPrefix("patient:"), let patient = try? PatientID(checked: String(text.dropFirst(8))) else {
                throw SyncError(.malformed, "scope must be clinic, replica, audit or patient:ID, not \(text.prefix(60))")
            }
            self = .patient(patient)
        }
    }

    public var description: String {
        switch self {
        case .clinic: "clinic"
        case .replica: "replica"
        case .audit: "audit"
        case .patient(let patient): "patient:\(patient)"
        }
    }

    /// What the holder may receive.
    public var syncScope: SyncScope {
        if case .patient(let patient) = self { return .patient(patient) }
        return .full
    }

    /// Whether the holder may push events.
    public var mayPush: Bool { self != .audit }

    /// Whether the holder may read this patient's record.
    public func mayRead(patient: PatientID) -> Bool {
        if case .patient(let own) = self { return own == patient }
        return true
    }

    /// Whether the holder may read clinic-wide views (all alerts, the device list).
    public var mayReadClinic: Bool {
        if case .patient = self { return false }
        return true
    }

    /// Whether the holder may enroll devices.
    public var mayEnroll: Bool { self == .clinic }

    /// The limits on what the holder's pushes may contain; `device` is the token's enrolled device.
    public func appendScope(device: DeviceRecord?) -> AppendScope {
        guard case .patient(let patient) = self else { return .unrestricted }
        return AppendScope(onlyOrigin: device?.origin ?? Identifier(stringLiteral: "no-enrolled-device"), onlyPatient: patient)
    }
}
