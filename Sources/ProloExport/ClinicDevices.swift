import ProloDomain
import ProloStore

/// What every patient's export needs from the store once: the device registry, and the administrative events
/// (`device.enrolled`, `device.revoked`) with the home-device patient each concerns.
struct ClinicDevices: Sendable {
    let registry: DeviceRegistry
    /// Administrative events about a patient's home device, by patient.
    private let byPatient: [PatientID: [StoredEvent]]

    /// The event types whose events ``init(registry:administrative:)`` takes.
    static let administrativeTypes: [EventType] = [.deviceEnrolled, .deviceRevoked]

    /// Reads the registry and the administrative events of `source`.
    static func load(from source: some FHIRRecordSource) throws(StoreError) -> ClinicDevices {
        ClinicDevices(registry: try source.registry(), administrative: try source.administrativeEvents())
    }

    /// The devices of a log read elsewhere (a clinic hub's database): its registry, and its events of
    /// ``administrativeTypes``, each type in arrival order.
    init(registry: DeviceRegistry, administrative: [StoredEvent]) {
        var byPatient: [PatientID: [StoredEvent]] = [:]
        for stored in administrative {
            guard let payload = try? stored.event.payload() else { continue }
            if let enrolled = payload as? DeviceEnrolled, let patient = enrolled.patient {
                byPatient[patient, default: []].append(stored)
            } else if let revoked = payload as? DeviceRevoked, let origin = registry.revocationTarget(revoked),
                let patient = registry.devices[origin]?.patient
            {
                byPatient[patient, default: []].append(stored)
            }
        }
        self.init(registry: registry, byPatient: byPatient)
    }

    private init(registry: DeviceRegistry, byPatient: [PatientID: [StoredEvent]]) {
        self.registry = registry
        self.byPatient = byPatient
    }

    /// The enrollments and revocations of `patient`'s home devices.
    func events(about patient: PatientID) -> [StoredEvent] { byPatient[patient] ?? [] }
}
