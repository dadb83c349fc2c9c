/// One device of a clinic's registry: its key, its role, and whether its events may still be admitted.
public struct DeviceRecord: Sendable, Hashable {
    /// What a device is for. The root is the clinic's trust anchor; `clinic` devices (servers and clinicians'
    /// laptops) may enroll and revoke others; `home` devices belong to one patient.
    public enum Role: String, Sendable, Hashable, CaseIterable {
        case root, clinic, replica, audit, home
    }

    /// The verifying key.
    public let publicKey: DevicePublicKey
    /// The device's name.
    public var name: String
    /// Its role.
    public var role: Role
    /// The patient a home device belongs to.
    public var patient: PatientID?
    /// The `device.enrolled` event that admitted it; `nil` for the root and keys trusted by hand.
    public var enrolledBy: EventID?
    /// HLC of the registry event that last changed this record (later ones win on every replica).
    public var updatedHLC: HLC
    /// Events of this origin recorded after this HLC are refused.
    public var revokedAfter: HLC?
    /// The `device.revoked` event.
    public var revokedBy: EventID?
    /// Why nothing more of this origin is admitted (a proven fork).
    public var frozenReason: String?

    /// Makes a record.
    public init(
        publicKey: DevicePublicKey, name: String, role: Role, patient: PatientID? = nil, enrolledBy: EventID? = nil,
        updatedHLC: HLC = HLC(wallMilliseconds: 0, counter: 0), revokedAfter: HLC? = nil, revokedBy: EventID? = nil,
        frozenReason: String? = nil
    ) {
        self.publicKey = publicKey
        self.name = name
        self.role = role
        self.patient = patient
        self.enrolledBy = enrolledBy
        self.updatedHLC = updatedHLC
        self.revokedAfter = revokedAfter
        self.revokedBy = revokedBy
        self.frozenReason = frozenReason
    }

    /// The origin id of its events.
    public var origin: Identifier { publicKey.origin }

    /// Whether it may enroll and revoke devices at `hlc`: the root or a clinic device, not revoked or frozen.
    public func mayAdminister(at hlc: HLC) -> Bool {
        (role == .root || role == .clinic) && frozenReason == nil && (revokedAfter.map { hlc <= $0 } ?? true)
    }
}
