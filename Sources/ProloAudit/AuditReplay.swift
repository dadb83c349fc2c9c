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

    /// The patient's treatment state as of `time` on `basis`, or `nil` when no event of theirs counts.
    public static func state(
        of patient: PatientID, in store: EventStore, asOf time: Timestamp, by basis: Basis,
        policy: TreatmentPolicy = .standard
    ) throws(StoreError) -> TreatmentState? {
        let events = try store.events(EventFilter(patient: patient))
        let counted = events.filter { stored in
            switch basis {
            case .recorded:
                return stored.receivedAt <= time
            case .occurred:
                let isCorrection = stored.event.type == .eventAmended || stored.event.type == .eventRetracted
                return isCorrection || stored.event.occurredAt <= time
            }
        }
        guard !counted.isEmpty else { return nil }
        do {
            return try TreatmentFold.state(of: patient, events: counted.map(\.event), policy: policy)
        } catch {
            throw StoreError(.ioError, error.message)
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
