/// Who may write to a clinic's log: the devices enrolled by a chain of signed registry events from the root.
///
/// A pure value (no storage): the store loads it, asks ``admission(of:)`` for each received event, and
/// applies admitted `device.enrolled` / `device.revoked` events with ``apply(_:payload:)``. Rules:
/// - The root's key is trusted at `prolo init`; every other device is admitted by a `device.enrolled` event
///   signed by a device that may administer (the root or a `clinic` device, not revoked or frozen).
/// - `device.revoked` (same signers; the root cannot be revoked) holds the device's events recorded after
///   the revocation's HLC out of the read models (stored, flagged `after-revocation`, on every replica whichever
///   arrived first); events recorded before it stay valid wherever they arrive.
/// - Re-enrolling a known key updates its name, role and patient when the enrollment is newer (by HLC) than
///   the record, so every replica ends with the same registry whatever order the events came in; it does
///   not lift a revocation (a revoked device gets a new key).
/// - A home device may only write events about its own patient: any other event of its is held `out-of-scope`.
public struct DeviceRegistry: Sendable, Hashable {
    /// The devices by origin.
    public private(set) var devices: [Identifier: DeviceRecord]

    /// A registry of these records.
    public init(_ records: [DeviceRecord] = []) {
        devices = Dictionary(records.map { ($0.origin, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Whether an event may be admitted, and with which key to verify it.
    public enum Admission: Sendable, Hashable {
        /// Verify with this key, then admit.
        case admit(DevicePublicKey)
        /// Verify with this key and store it, so its origin's chain stays whole, but hold it out of the read models
        /// for the clinic's review, with the reason: authentic history that does not count.
        case hold(DevicePublicKey, ReviewHold, String)
        /// No enrolled device has this origin (yet), or it is frozen: quarantine until an enrollment arrives.
        case refuse(String)
    }

    /// Decides whether `event` may be admitted (its signature is checked separately with the returned key).
    public func admission(of event: Event) -> Admission {
        guard let device = devices[event.origin] else {
            return .refuse("origin \(event.origin) is not enrolled in this clinic's device registry")
        }
        if let reason = device.frozenReason { return .refuse("origin \(event.origin) is frozen: \(reason)") }
        if let revoked = device.revokedAfter, event.hlc > revoked {
            return .hold(
                device.publicKey, .afterRevocation,
                "device \(device.name) (origin \(event.origin)) was revoked at \(revoked); this event was recorded after")
        }
        if device.role == .home {
            guard let patient = event.patient, patient == device.patient else {
                return .hold(
                    device.publicKey, .outOfScope,
                    "home device \(device.name) may only write events about patient \(device.patient?.text ?? "?")")
            }
        }
        return .admit(device.publicKey)
    }

    /// Applies an admitted registry event; returns the origins it newly enrolled (their quarantine may be retried).
    ///
    /// Throws the reason when the signer may not administer, or the payload does not make sense; the store
    /// then quarantines the event instead of appending it.
    @discardableResult
    public mutating func apply(_ event: Event, payload: any EventPayload) throws(RegistryRefusal) -> [Identifier] {
        guard let signer = devices[event.origin], signer.mayAdminister(at: event.hlc) else {
            throw RegistryRefusal(
                "\(event.type.rawValue) signed by origin \(event.origin), which may not enroll or revoke devices")
        }
        // The signer must have been enrolled before it signed (by HLC), so every replica and the auditor, which
        // replays the registry in canonical order, agree whatever order the events arrived in.
        if signer.role != .root {
            guard signer.enrolledBy != nil, signer.updatedHLC < event.hlc else {
                throw RegistryRefusal(
                    "\(event.type.rawValue) signed by \(signer.name) before its own enrollment took effect "
                        + "(a device enrolls others only once its own enrollment has reached it: sync first)")
            }
        }
        switch payload {
        case let enrolled as DeviceEnrolled:
            let key: DevicePublicKey
            do {
                key = try DevicePublicKey(base64: enrolled.publicKey.text)
            } catch {
                throw RegistryRefusal("device.enrolled carries a malformed public key")
            }
            let role = DeviceRecord.Role(rawValue: enrolled.role.rawValue) ?? .clinic
            if role == .home, enrolled.patient == nil {
                throw RegistryRefusal("a home device is enrolled for a patient")
            }
            if var existing = devices[key.origin] {
                guard existing.role != .root else { throw RegistryRefusal("the root key cannot be re-enrolled") }
                guard event.hlc > existing.updatedHLC else { return [] }
                existing.name = enrolled.deviceName.text
                existing.role = role
                existing.patient = enrolled.patient
                existing.enrolledBy = event.id
                existing.updatedHLC = event.hlc
                devices[key.origin] = existing
                return [key.origin]
            }
            devices[key.origin] = DeviceRecord(
                publicKey: key, name: enrolled.deviceName.text, role: role, patient: enrolled.patient,
                enrolledBy: event.id, updatedHLC: event.hlc)
            return [key.origin]
        case let revoked as DeviceRevoked:
            guard let target = revocationTarget(revoked) else {
                throw RegistryRefusal("device.revoked names no enrolled device (\(revoked.deviceName?.text ?? "-"))")
            }
            guard devices[target]?.role != .root else { throw RegistryRefusal("the root key cannot be revoked") }
            if let earlier = devices[target]?.revokedAfter, earlier <= event.hlc { return [] }
            devices[target]?.revokedAfter = event.hlc
            devices[target]?.revokedBy = event.id
            return []
        default:
            throw RegistryRefusal("\(event.type.rawValue) is not a registry event")
        }
    }

    /// The device a revocation names: by key when given, else by a unique name.
    public func revocationTarget(_ revoked: DeviceRevoked) -> Identifier? {
        if let text = revoked.publicKey?.text, let key = try? DevicePublicKey(base64: text) {
            return devices[key.origin] == nil ? nil : key.origin
        }
        guard let name = revoked.deviceName?.text else { return nil }
        let matches = devices.values.filter { $0.name == name }
        return matches.count == 1 ? matches[0].origin : nil
    }

    /// Marks an origin frozen (a fork was proven).
    public mutating func freeze(_ origin: Identifier, reason: String) {
        devices[origin]?.frozenReason = reason
    }

    /// Adds a key trusted by hand (the root at `prolo init`, this device itself); keeps an existing record.
    public mutating func trust(_ record: DeviceRecord) {
        if devices[record.origin] == nil { devices[record.origin] = record }
    }
}

/// Why a registry event cannot take effect.
public struct RegistryRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reason, as stored with the quarantined event.
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// Why an authentic, stored event is held out of the read models for the clinic's review (the flag it carries).
public enum ReviewHold: String, Sendable, Hashable, CaseIterable {
    /// Its origin's chain forked at or before its position: which branch is right is for the clinic to decide.
    case forked
    /// Recorded by a revoked device after its revocation.
    case afterRevocation = "after-revocation"
    /// Recorded by a home device about another patient, or a clinical event without a patient.
    case outOfScope = "out-of-scope"
    /// Its `patientPrev` does not name its origin's previous event about its patient, or it is an administrative
    /// event with one (a device's bug): its chain link holds, so the origin's later events still arrive.
    case brokenPatientLink = "broken-patient-link"
}
