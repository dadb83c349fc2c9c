public import ProloDomain
public import ProloStore

/// Where a bulk FHIR export reads the clinic's records: a SQLite store (`EventStore` conforms), or a clinic hub's
/// PostgreSQL database read through the server (`ProloServer`). Only reads, and the access log's lines; the
/// export's rules (which patients, which resources, in which order) stay in ``FHIRBulkExport``, once.
///
/// Synchronous: a bulk export runs on a thread of its own, never on an event loop or the concurrency pool.
public protocol FHIRRecordSource: Sendable {
    /// The device registry.
    func registry() throws(StoreError) -> DeviceRegistry
    /// The log's `device.enrolled` and `device.revoked` events, each type in arrival order.
    func administrativeEvents() throws(StoreError) -> [StoredEvent]
    /// The patients with an event received after `since` (every patient without it), counting an event of a home
    /// device (`registry` names its patient) as its patient's; and the latest arrival in the log.
    func patients(receivedAfter since: Timestamp?, registry: DeviceRegistry) throws(StoreError)
        -> (patients: Set<PatientID>, latest: Timestamp?)
    /// The events of each of `patients`, in arrival order.
    func events(of patients: [PatientID]) throws(StoreError) -> [PatientID: [StoredEvent]]
    /// Writes one line to the access log.
    func logAccess(_ record: AccessRecord) throws(StoreError)
}

extension EventStore: FHIRRecordSource {
    public func administrativeEvents() throws(StoreError) -> [StoredEvent] {
        var events: [StoredEvent] = []
        for type in ClinicDevices.administrativeTypes {
            try scan(EventFilter(type: type)) { stored throws(StoreError) in events.append(stored) }
        }
        return events
    }

    /// In one pass over the log.
    public func patients(receivedAfter since: Timestamp?, registry: DeviceRegistry) throws(StoreError)
        -> (patients: Set<PatientID>, latest: Timestamp?)
    {
        var patients: Set<PatientID> = []
        var latest: Timestamp?
        try scan(EventFilter()) { stored throws(StoreError) in
            if latest.map({ stored.receivedAt > $0 }) ?? true { latest = stored.receivedAt }
            guard since.map({ stored.receivedAt > $0 }) ?? true else { return }
            if let patient = stored.event.patient ?? registry.devices[stored.event.origin]?.patient {
                patients.insert(patient)
            }
        }
        return (patients, latest)
    }

    public func events(of patients: [PatientID]) throws(StoreError) -> [PatientID: [StoredEvent]] {
        var events: [PatientID: [StoredEvent]] = [:]
        for patient in patients { events[patient] = try self.events(EventFilter(patient: patient)) }
        return events
    }
}
