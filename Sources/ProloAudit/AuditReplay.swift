public import ProloDomain
public import ProloProjections
public import ProloStore

/// What the clinic knew, or what had happened, at a past moment (DESIGN §8: both times are kept).
public enum AuditReplay {
    /// Which time decides whether an event counts.
    public enum Basis: String, Sendable, CaseIterable {
        /// Events this store had received by then (`received_at`): what the clinician could see.
        case recorded
        /// Events that had occurred by then (`occurredAt`), including those recorded later, with every
        /// correction of them this store now holds: what really happened.
        case occurred
    }

    /// The patient's treatment state as of `time` on `basis`, read for `accessor` and written to the access log.
    ///
    /// Before the patient's first event counts (nothing was known, or had occurred, yet) the state is the empty
    /// one: no consent, no course, `eventCount` 0. A patient of whom the store holds no event at all is an error
    /// (``StoreError/Code/eventNotFound``), since a mistyped id would otherwise look like "nothing yet".
    public static func state(
        of patient: PatientID, in store: EventStore, asOf time: Timestamp, by basis: Basis, for accessor: AuditAccessor,
        policy: TreatmentPolicy = .standard
    ) throws(StoreError) -> AuditRead<TreatmentState> {
        let events = try store.events(EventFilter(patient: patient))
        guard !events.isEmpty else {
            throw StoreError(.eventNotFound, "the store \(store.path) holds no event of patient \(patient)")
        }
        let counted = counted(events, asOf: time, by: basis)
        let state: TreatmentState
        do {
            state = try TreatmentFold.state(of: patient, events: counted.map(\.event), policy: policy)
        } catch {
            throw StoreError(.ioError, error.message)
        }
        let failure = accessor.log(to: store, patient: patient.text, purpose: "audit-replay")
        return AuditRead(state, from: store, accessLogFailure: failure)
    }

    /// The events that count as of `time` on `basis`.
    private static func counted(_ events: [StoredEvent], asOf time: Timestamp, by basis: Basis) -> [StoredEvent] {
        switch basis {
        case .recorded:
            return events.filter { $0.receivedAt <= time }
        case .occurred:
            // Facts that occurred by then; then, whenever made, the corrections of facts that count (and the
            // corrections of those corrections), so the state shows what really happened by then.
            func isCorrection(_ event: Event) -> Bool { event.type == .eventAmended || event.type == .eventRetracted }
            var included = events.filter { !isCorrection($0.event) && $0.event.occurredAt <= time }
            var ids = Set(included.map(\.event.id))
            var pending = events.filter { isCorrection($0.event) }
            var grew = true
            while grew {
                grew = false
                for stored in pending {
                    let target: EventID? =
                        switch try? stored.event.payload() {
                        case let amended as EventAmended: amended.target
                        case let retracted as EventRetracted: retracted.target
                        default: nil
                        }
                    if let target, ids.contains(target) {
                        included.append(stored)
                        ids.insert(stored.event.id)
                        grew = true
                    }
                }
                pending.removeAll { ids.contains($0.event.id) }
            }
            return included
        }
    }

    /// Every patient with at least one event in the store.
    public static func patients(in store: EventStore) throws(StoreError) -> [PatientID] {
        try store.read { connection throws(StoreError) -> [PatientID] in
            let statement = try connection.statement("SELECT DISTINCT patient FROM events WHERE patient IS NOT NULL ORDER BY patient")
            var result: [PatientID] = []
            while try statement.step() {
                if let patient = try? PatientID(checked: statement.text(0)) { result.append(patient) }
            }
            statement.reset()
            return result
        }
    }
}
