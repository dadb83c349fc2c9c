import Crypto
import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync

/// A clinic of real devices in a temporary directory: a root, and devices joined to it and enrolled by it,
/// each a projected SQLite store with its own key file. Devices move events with real bundle files.
public final class ClinicFixture {
    /// One device: its store (with read models), key and role.
    public struct Device {
        public let name: String
        public let projected: ProjectedStore
        public let key: DeviceKey
        public var store: EventStore { projected.store }
        public var homePatient: PatientID? { store.identity.homePatient }
    }

    public let directory: TemporaryDirectory
    public private(set) var devices: [Device] = []
    private var bundles = 0

    /// The root device.
    public var root: Device { devices[0] }

    /// A clinic with only its root.
    public init(in directory: TemporaryDirectory, rootName: String = "root") throws {
        self.directory = directory
        let key = DeviceKey()
        let projected = try ProjectedStore.create(at: directory.file("\(rootName).sqlite"), deviceName: rootName, key: key)
        devices.append(Device(name: rootName, projected: projected, key: key))
    }

    /// Makes a device that trusts the root, and (unless `enroll` is false) enrolls it on the root.
    @discardableResult
    public func addDevice(
        _ name: String, role: DeviceEnrolled.Role = .clinic, patient: PatientID? = nil, enroll: Bool = true
    ) throws -> Device {
        let key = DeviceKey()
        let projected = try ProjectedStore.create(
            at: directory.file("\(name).sqlite"), deviceName: name, key: key,
            trust: .joining(root: root.key.publicKey, homePatient: role == .home ? patient : nil))
        let device = Device(name: name, projected: projected, key: key)
        devices.append(device)
        if enroll { try self.enroll(device, role: role, patient: patient) }
        return device
    }

    /// Records the enrollment of `device` on the root.
    @discardableResult
    public func enroll(_ device: Device, role: DeviceEnrolled.Role, patient: PatientID? = nil) throws -> StoredEvent {
        try enroll(device.key.publicKey, name: device.name, role: role, patient: patient)
    }

    /// Records the enrollment of a device known only by its key (a ``ForeignDevice``) on the root.
    @discardableResult
    public func enroll(_ publicKey: DevicePublicKey, name: String, role: DeviceEnrolled.Role, patient: PatientID? = nil)
        throws -> StoredEvent
    {
        let payload = DeviceEnrolled(
            deviceName: try Label(checked: name), publicKey: try PublicKeyBase64(checked: publicKey.base64),
            role: role, patient: patient, enrolledBy: try Identifier(checked: root.store.identity.origin.text))
        return try root.store.record(
            [try EventDraft(payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))],
            signedBy: root.key)[0]
    }

    /// Records the revocation of `device` (lost) on the root.
    @discardableResult
    public func revoke(_ device: Device) throws -> StoredEvent {
        let revocation = DeviceRevoked(
            publicKey: try PublicKeyBase64(checked: device.key.publicKey.base64), reason: .lost, revokedBy: "admin-1")
        return try root.store.record(
            [try EventDraft(revocation, patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))],
            signedBy: root.key)[0]
    }

    /// The device named `name`.
    public func device(_ name: String) -> Device {
        devices.first { $0.name == name }!
    }

    /// A new bundle path in the directory.
    public func bundlePath() -> String {
        bundles += 1
        return directory.file("bundle-\(bundles).prolo")
    }

    /// Exports what `receiver` is missing from `sender` (in the receiver's scope, encrypted to it) and imports it.
    @discardableResult
    public func transfer(from sender: Device, to receiver: Device, encrypted: Bool = true) throws -> SyncReport {
        let path = bundlePath()
        var options = BundleExport.Options(
            cutAgainst: try receiver.store.versionVector(), heads: try receiver.store.chainHeads(),
            patient: receiver.homePatient)
        if encrypted { options.recipient = try receiver.key.agreementKey().publicKey }
        try BundleExport.export(from: sender.store, signedBy: sender.key, to: path, options: options)
        return try BundleImport.import(from: path, into: receiver.store, key: receiver.key)
    }
}
