// A clinic of devices for the benchmarks: a root store filled with the clinical mix, enrollments, device keys.
import Foundation
public import ProloDomain
public import ProloStore

/// A device key whose origin id sorts after (or before) `other`'s, so a full export (origin by origin, sorted by
/// id) carries the root's enrollments before (or after) that device's events.
public func key(sorting after: Bool, _ other: DeviceKey) -> DeviceKey {
    while true {
        let key = DeviceKey()
        if (key.publicKey.origin.text > other.publicKey.origin.text) == after { return key }
    }
}

/// The `device.enrolled` draft by which `root` admits `key` as `name` (a clinic device, or a home device of
/// `patient`).
public func enrollment(
    of key: DeviceKey, named name: String, by root: DeviceKey, role: DeviceEnrolled.Role = .clinic,
    patient: PatientID? = nil
) throws -> EventDraft {
    let payload = DeviceEnrolled(
        deviceName: try Label(checked: name), publicKey: try PublicKeyBase64(checked: key.publicKey.base64), role: role,
        patient: patient, enrolledBy: try Identifier(checked: root.publicKey.origin.text))
    return try EventDraft(payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-0001", role: .admin))
}

/// A root store with `events` events of the clinical mix: each batch is recorded by the root (unless
/// `rootRecords` is false) or by one of the devices in turn; a device's batch reaches the root through `append`
/// (verify and append), as a sync would.
public func makeClinic(
    at directory: String, events: Int, patients: Int, devices deviceKeys: [DeviceKey], rootKey: DeviceKey, batch: Int,
    seed: UInt64, rootRecords: Bool = true, epoch: Int64 = PatientStory.defaultEpoch
) throws -> EventStore {
    let root = try EventStore.create(at: directory + "/root.sqlite", deviceName: "clinic-server", key: rootKey)
    var writers: [(store: EventStore, key: DeviceKey)] = [(root, rootKey)]
    for (index, key) in deviceKeys.enumerated() {
        let name = "laptop-\(index + 1)"
        let store = try EventStore.create(
            at: directory + "/\(name).sqlite", deviceName: name, key: key,
            trust: .joining(root: rootKey.publicKey, homePatient: nil))
        try root.record([try enrollment(of: key, named: name, by: rootKey)], signedBy: rootKey)
        writers.append((store, key))
    }
    var clinic = try Clinic(patients: patients, seed: seed, epoch: epoch)
    var recorded = 0
    var turn = 0
    while recorded < events {
        let round = min(patients, events - recorded)
        var start = 0
        while start < round {
            let indices = start..<min(round, start + batch)
            let drafts = try clinic.drafts(for: indices)
            let writer =
                rootRecords || writers.count == 1
                ? writers[turn % writers.count] : writers[1 + turn % (writers.count - 1)]
            turn += 1
            let stored = try writer.store.record(drafts, signedBy: writer.key)
            if writer.store !== root { try root.append(stored.map(\.event)) }
            clinic.recorded(stored, for: indices)
            start = indices.upperBound
        }
        recorded += round
        if recorded % 20_000 < patients || recorded == events { BenchProgress.note("root holds \(recorded) events") }
    }
    return root
}
