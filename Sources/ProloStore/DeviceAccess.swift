public import ProloDomain

/// What a device may receive, push and read: the scope rules of DESIGN §6 "Scoped" and §7, decided here once.
///
/// Every face asks this type: the clinic server derives it from the caller's token (never from the request), a
/// bundle import from the sender's enrollment, the sync client and a bundle export from the store's own
/// identity, and token issuance checks with it that a scope fits the device it is issued to.
///
/// | access | receives and reads | pushes | clinic-wide views | enrolls |
/// |---|---|---|---|---|
/// | `clinic` | everything | everything | yes | yes |
/// | `replica` | everything | everything | yes | no |
/// | `audit` | everything | nothing | yes | no |
/// | `home` | its patient's slice | its own events (any about another patient is held `out-of-scope`) | no | no |
public enum DeviceAccess: Sendable, Hashable, CustomStringConvertible {
    /// A clinic device (or the root, or a full store acting for itself).
    case clinic
    /// Another clinic server.
    case replica
    /// An auditor.
    case audit
    /// A patient's home device, by its origin.
    case home(Identifier, patient: PatientID)

    // MARK: Whose access

    /// The access a token grants: its scope, held to the enrolled device it is bound to.
    ///
    /// Refused when the token is not bound to a device (issued by name before tokens were bound to keys), its
    /// device is not enrolled here or was revoked, or its scope does not fit the device.
    public init(token: AccessToken, registry: DeviceRegistry) throws(AccessError) {
        guard let origin = token.origin else {
            throw AccessError(
                .unboundToken,
                "token \(token.id) was issued to the device name \(token.device), which named no single enrolled "
                    + "device when tokens were bound to device keys; issue a new one with "
                    + "prolo token issue --device ORIGIN")
        }
        let scope = try TokenScope(text: token.scope)
        guard let device = registry.devices[origin] else {
            throw AccessError(
                .unknownDevice, "token \(token.id) is bound to origin \(origin), which no enrolled device has here")
        }
        try self.init(granting: scope, to: device)
    }

    /// The access `scope` grants `device`; refused when the device was revoked or the scope does not fit it: a
    /// `patient:ID` scope is only for that patient's home device, and a home device only gets its patient's scope.
    public init(granting scope: TokenScope, to device: DeviceRecord) throws(AccessError) {
        guard device.revokedBy == nil else {
            throw AccessError(.deviceRevoked, "\(Self.describe(device)) was revoked")
        }
        switch (scope, device.role) {
        case (.patient(let patient), .home) where device.patient == patient:
            self = .home(device.origin, patient: patient)
        case (.patient(let patient), _):
            let what =
                device.role == .home
                ? "the home device of patient \(device.patient?.text ?? "?")" : "a \(device.role.rawValue) device"
            throw AccessError(
                .scopeNotAllowed,
                "a patient:\(patient) token is only for that patient's enrolled home device; "
                    + "\(Self.describe(device)) is \(what)")
        case (_, .home):
            throw AccessError(
                .scopeNotAllowed,
                "\(Self.describe(device)) is a home device: its only scope is "
                    + "patient:\(device.patient?.text ?? "?"), not \(scope)")
        case (.clinic, _): self = .clinic
        case (.replica, _): self = .replica
        case (.audit, _): self = .audit
        }
    }

    /// The access an enrolled device has by its role (the sender of a bundle). A home device's record always
    /// names its patient (the registry refuses one that does not); one without a patient may push nothing.
    public init(enrolled device: DeviceRecord) {
        switch device.role {
        case .root, .clinic: self = .clinic
        case .replica: self = .replica
        case .audit: self = .audit
        case .home:
            if let patient = device.patient { self = .home(device.origin, patient: patient) } else { self = .audit }
        }
    }

    /// The access a store's own faces act with (what it asks for and what it sends): a home store's, or, for a
    /// store that holds whole chains, a clinic device's. The receiving side holds it to its enrolled role.
    public init(store identity: StoreIdentity) {
        if let patient = identity.homePatient {
            self = .home(identity.origin, patient: patient)
        } else {
            self = .clinic
        }
    }

    /// The enrolled device named by `nameOrOrigin`: its origin (`prolo device list` shows it) or its name, refused
    /// when no device or several devices have that name (the message lists their origins). A revoked device is
    /// refused too, and not counted among a name's devices, unless `includingRevoked`.
    public static func device(
        _ nameOrOrigin: String, in registry: DeviceRegistry, includingRevoked: Bool = false
    ) throws(AccessError) -> DeviceRecord {
        if let origin = try? Identifier(checked: nameOrOrigin), let device = registry.devices[origin] {
            guard includingRevoked || device.revokedBy == nil else {
                throw AccessError(.deviceRevoked, "\(describe(device)) was revoked")
            }
            return device
        }
        let named = registry.devices.values.filter { $0.name == nameOrOrigin }.sorted {
            $0.origin.text < $1.origin.text
        }
        let active = includingRevoked ? named : named.filter { $0.revokedBy == nil }
        if active.count == 1 { return active[0] }
        if active.count > 1 {
            throw AccessError(
                .ambiguousDevice,
                "\(active.count) enrolled devices are named \(nameOrOrigin); name one by its origin: "
                    + active.map(\.origin.text).joined(separator: ", "))
        }
        if let revoked = named.first { throw AccessError(.deviceRevoked, "\(describe(revoked)) was revoked") }
        throw AccessError(
            .unknownDevice,
            "no enrolled device is named \(nameOrOrigin) or has that origin; enroll it first (prolo device enroll)")
    }

    // MARK: What it may do

    /// The one patient whose slice the holder receives and reads; `nil`: everything.
    public var slice: PatientID? {
        if case .home(_, let patient) = self { return patient }
        return nil
    }

    /// Whether the holder may push events at all.
    public var mayPush: Bool { self != .audit }

    /// What a receiver admits from the holder's pushes and bundles: a home device's own events (the registry holds
    /// those about another patient out of scope).
    public var appendScope: AppendScope {
        if case .home(let device, let patient) = self { return .homeDevice(device, patient: patient) }
        return .unrestricted
    }

    /// Whether the holder may push `event` (a sender leaves out what its receiver would refuse).
    public func mayPush(_ event: Event) -> Bool { mayPush && appendScope.admits(event) }

    /// Whether the holder may read `patient`'s record.
    public func mayRead(patient: PatientID) -> Bool { slice.map { $0 == patient } ?? true }

    /// Whether the holder may read clinic-wide views (every patient's alerts, the device list).
    public var mayReadClinic: Bool { slice == nil }

    /// Whether the holder may enroll devices.
    public var mayEnroll: Bool { self == .clinic }

    /// Checks that a store with this access can hold what `sender` sends in its scope (`slice`; `nil`: everything)
    /// before anything is appended.
    ///
    /// A store that holds whole chains cannot take a patient's slice of other devices' chains: their gaps would
    /// wait in quarantine forever. Only a home device's own events (a whole chain) may come to it in a slice. A
    /// home store cannot take another patient's slice.
    public func checkReceiving(slice offered: PatientID?, from sender: DeviceAccess) throws(AccessError) {
        guard let offered else { return }
        switch self {
        case .home(_, let patient) where patient != offered:
            throw AccessError(
                .notThisStoresScope,
                "this home store holds patient \(patient)'s record, and the peer sends patient \(offered)'s; "
                    + "nothing was appended")
        case .home:
            return
        default:
            if case .home = sender { return }
            throw AccessError(
                .notThisStoresScope,
                "the peer sends only patient \(offered)'s slice, and this store was created without --patient, so "
                    + "other devices' chains would arrive with gaps and wait in quarantine forever; nothing was "
                    + "appended. A home device needs a home store: prolo init --device-name NAME --trust ROOT "
                    + "--patient \(offered), then enroll that store's key as the home device of \(offered) and "
                    + "issue its token")
        }
    }

    /// `clinic`, `replica`, `audit`, or the home device and its patient.
    public var description: String {
        switch self {
        case .clinic: "clinic"
        case .replica: "replica"
        case .audit: "audit"
        case .home(let device, let patient): "home device \(device) of patient \(patient)"
        }
    }

    static func describe(_ device: DeviceRecord) -> String { "device \(device.name) (origin \(device.origin))" }
}
