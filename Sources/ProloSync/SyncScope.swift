public import ProloDomain

/// What a peer may receive: everything (clinic devices, replicas, auditors) or one patient's slice (a home device).
public enum SyncScope: Sendable, Hashable, CustomStringConvertible {
    /// Every event.
    case full
    /// One patient's events, plus the administrative events a home device needs: the enrollments and
    /// revocations of clinic devices and of its own patient's devices, never another patient's device.
    case patient(PatientID)

    /// The patient of a slice scope.
    public var patient: PatientID? {
        if case .patient(let patient) = self { return patient }
        return nil
    }

    /// `full` or `patient:ID`.
    public var description: String {
        switch self {
        case .full: "full"
        case .patient(let patient): "patient:\(patient)"
        }
    }

    /// Parses ``description``.
    public init(text: String) throws(SyncError) {
        if text == "full" {
            self = .full
        } else if text.hasPrefix("patient:"), let patient = try? PatientID(checked: String(text.dropFirst(8))) {
            self = .patient(patient)
        } else {
            throw SyncError(.malformed, "scope \"\(text.prefix(80))\" is neither full nor patient:ID")
        }
    }

    /// Whether `event` may be sent to a peer of this scope. `registry` tells whose device a registry event is about.
    public func admits(_ event: Event, registry: DeviceRegistry) -> Bool {
        guard case .patient(let patient) = self else { return true }
        if let eventPatient = event.patient { return eventPatient == patient }
        guard let payload = try? event.payload() else { return false }
        return admits(administrative: payload, registry: registry)
    }

    /// Whether an administrative event (one about no patient) whose payload is `payload` may be sent to a peer of
    /// this scope: a slice admits the enrollments and revocations of clinic devices and of its own patient's
    /// devices, nothing else.
    public func admits(administrative payload: any EventPayload, registry: DeviceRegistry) -> Bool {
        guard case .patient(let patient) = self else { return true }
        switch payload {
        case let enrolled as DeviceEnrolled:
            return enrolled.role != .home || enrolled.patient == patient
        case let revoked as DeviceRevoked:
            guard let target = registry.revocationTarget(revoked), let device = registry.devices[target] else { return false }
            return device.role != .home || device.patient == patient
        default:
            return false
        }
    }
}
