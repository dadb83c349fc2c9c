import ProloDomain
import ProloStore

/// What every patient's export needs from the store once: the device registry, and the administrative events
/// (`device.enrolled`, `device.revoked`) with the home-device patient each concerns.
struct ClinicDevices: Sendable {
    let registry: DeviceRegistry
    /// Administrative events about a patient's home device, by patient.
    private let byPatient: [PatientID: [StoredEvent]]

    /// Reads the registry and the administrative events of `store`.
    static func load(from store: EventStore) throws(StoreError) -> ClinicDevices {
        let registry = try store.registry()
        var byPatient: [PatientID: [StoredEvent]] = [:]
        for type in [EventType.deviceEnrolled, .deviceRevoked] {
            try store.scan(EventFilter(type: type)) { stored throws(StoreError) in
                guard let payload = try? stored.event.payload() else { return }
                if let enrolled = payload as? DeviceEnrolled, let patient = enrolled.patient {
                    byPatient[patient, default: []].append(stored)
                } else if let revoked = payload as? DeviceRevoked, let origin = registry.revocationTarget(revoked),
                    let patient = registry.devices[origin]?.patient
                {
                    byPatient[patient, default: []].append(stored)
                }
            }
        }
        return ClinicDevices(registry: registry, byPatient: byPatient)
    }

    /// The enrollments and revocations of `patient`'s home devices.
    func events(about patient: PatientID) -> [StoredEvent] { byPatient[patient] ?? [] }
}
