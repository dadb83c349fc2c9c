public import ProloDomain
public import ProloStore

/// One event of a patient's timeline: who recorded it, on which device, and the three times an auditor needs.
public struct TimelineEntry: Sendable, Hashable {
    public let event: Event
    /// Local arrival order in this store.
    public let seq: Int64
    /// The recording device's name, from the registry.
    public let device: String?
    /// When the device recorded it (the HLC's wall time).
    public let recordedAt: Timestamp
    /// When this store received it.
    public let receivedAt: Timestamp
    /// For a correction: the event it amends or retracts.
    public var corrects: EventID?
    /// The corrections of this event: `event.amended` / `event.retracted` ids.
    public var correctedBy: [EventID] = []
}

/// Every event of a patient in canonical order, with amendments and retractions shown against their targets.
public enum AuditTimeline {
    /// The patient's timeline, read for `accessor` and written to the access log.
    ///
    /// A patient of whom the store holds no event is an error (``StoreError/Code/eventNotFound``).
    public static func entries(of patient: PatientID, in store: EventStore, for accessor: AuditAccessor)
        throws(StoreError) -> AuditRead<[TimelineEntry]>
    {
        let entries = try entries(of: patient, in: store)
        guard !entries.isEmpty else {
            throw StoreError(.eventNotFound, "the store \(store.path) holds no event of patient \(patient)")
        }
        let failure = accessor.log(to: store, patient: patient.text, purpose: "audit-timeline")
        return AuditRead(entries, from: store, accessLogFailure: failure)
    }

    /// The entries, unlogged: for the module's own reads that log under their own purpose, and for the clinic
    /// server's pages, which log every page view themselves (package access: no face outside this package).
    package static func entries(of patient: PatientID, in store: EventStore) throws(StoreError) -> [TimelineEntry] {
        entries(of: try store.events(EventFilter(patient: patient)), registry: try store.registry())
    }

    /// The entries of a patient's events read elsewhere (a clinic hub's database), devices named by `registry`.
    package static func entries(of patientEvents: [StoredEvent], registry: DeviceRegistry) -> [TimelineEntry] {
        let events = patientEvents.sorted {
            ($0.event.hlc, $0.event.origin.text, $0.event.originSeq) < ($1.event.hlc, $1.event.origin.text, $1.event.originSeq)
        }
        var entries = events.map { stored in
            TimelineEntry(
                event: stored.event, seq: stored.seq, device: registry.devices[stored.event.origin]?.name,
                recordedAt: Timestamp(millisecondsSinceEpoch: stored.event.hlc.wallMilliseconds), receivedAt: stored.receivedAt)
        }
        var index: [EventID: Int] = [:]
        for (position, entry) in entries.enumerated() { index[entry.event.id] = position }
        for position in entries.indices {
            let event = entries[position].event
            guard event.type == .eventAmended || event.type == .eventRetracted, let payload = try? event.payload() else { continue }
            let target: EventID? =
                switch payload {
                case let amended as EventAmended: amended.target
                case let retracted as EventRetracted: retracted.target
                default: nil
                }
            entries[position].corrects = target
            if let target, let targetPosition = index[target] { entries[targetPosition].correctedBy.append(event.id) }
        }
        return entries
    }
}
