public import ProloDomain
public import ProloStore

/// The event log with the treatment projection attached: every append also updates the read models in the
/// same transaction, and the clinic's questions (a patient's state, who is due, open alerts) are answered
/// from them.
///
/// Opening a store whose read models were computed by another projection version rebuilds them first.
public final class ProjectedStore: Sendable {
    /// The underlying log. Appends through it keep the read models current.
    public let store: EventStore
    /// The thresholds the projection uses.
    public let policy: TreatmentPolicy

    private init(store: EventStore, policy: TreatmentPolicy) {
        self.store = store
        self.policy = policy
    }

    /// Creates a new store for a new device (see `EventStore.create(at:deviceName:key:trust:)`).
    public static func create(
        at path: String, deviceName: String, key: DeviceKey = DeviceKey(), trust: StoreTrust = .clinicRoot,
        policy: TreatmentPolicy = .standard
    ) throws(StoreError) -> ProjectedStore {
        let store = try EventStore.create(
            at: path, deviceName: deviceName, key: key, trust: trust, observer: TreatmentReadModel(policy: policy))
        let projected = ProjectedStore(store: store, policy: policy)
        try projected.rebuild()
        return projected
    }

    /// Opens an existing store, rebuilding the read models first when their projection version is not this
    /// build's, or when this build reads an event an earlier build held out of them (`progress(done, total)`
    /// reports that rebuild).
    public static func open(
        at path: String, busyTimeoutMilliseconds: Int32 = 5000, policy: TreatmentPolicy = .standard,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws(StoreError) -> ProjectedStore {
        let store = try EventStore.open(
            at: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds, observer: TreatmentReadModel(policy: policy))
        let projected = ProjectedStore(store: store, policy: policy)
        let current = try store.read { connection throws(StoreError) in try TreatmentReadModel.isCurrent(connection) }
        let holdsReadable = current ? try store.holdsReadableEvents() : false
        if !current || holdsReadable {
            try projected.rebuild(progress: progress)
        }
        return projected
    }

    /// Empties every read model and folds the whole log again, in one transaction.
    public func rebuild(progress: (Int, Int) -> Void = { _, _ in }) throws(StoreError) {
        let policy = policy
        try store.write { connection throws(StoreError) in
            try TreatmentReadModel.rebuild(connection, policy: policy, progress: progress)
        }
    }

    // MARK: Reading

    /// A patient's treatment state, or `nil` when the store holds no event of theirs.
    public func state(of patient: PatientID) throws(StoreError) -> TreatmentState? {
        let policy = policy
        return try store.read { connection throws(StoreError) -> TreatmentState? in
            // The same reading of the stored bytes as a hub's (PatientFoldUpdate.state).
            try TreatmentReadModel.storedCheckpoint(of: patient, connection).map { bytes throws(StoreError) in
                try PatientFoldUpdate.state(of: patient, checkpoint: bytes, policy: policy)
            }
        }
    }

    /// One row per patient, by patient id.
    public func patients() throws(StoreError) -> [PatientSummary] {
        try summaries(where: nil, orderBy: "patient")
    }

    /// Patients whose next session is due by `now + days` (overdue ones included), soonest first.
    public func due(within days: Int, now: Timestamp = .now()) throws(StoreError) -> [PatientSummary] {
        let limit = now.millisecondsSinceEpoch + Int64(days) * 86_400_000
        return try summaries(where: ("next_due_from_ms", limit), orderBy: "next_due_to_ms, patient")
    }

    /// Uncleared alerts of every patient, most severe first, then oldest first; review flags last. A proven
    /// fork (DESIGN §6) is listed once per origin as `fork-detected`, raised by the conflicting events at its lowest
    /// position, for the patient they are about (or `-`); an event whose own signature failed its later check
    /// (`SignatureRuns`) as `bad-signature`, as severe as a fork; an event held out of the read models as a review flag
    /// `invalid-payload` or `unknown-schema-version` (it stays until a build that reads it rebuilds),
    /// `after-revocation`, `out-of-scope` or `broken-patient-link`.
    public func openAlerts() throws(StoreError) -> [AlertRecord] {
        let alerts = try store.read { connection throws(StoreError) -> [AlertRecord] in
            let statement = try connection.statement(
                """
                SELECT patient, kind, raised_by, raised_at, severity, review FROM patient_alerts
                WHERE cleared_by IS NULL ORDER BY severity, raised_at, patient, kind
                """)
            var records: [AlertRecord] = []
            while try statement.step() {
                records.append(
                    AlertRecord(
                        patient: statement.text(0), kind: statement.text(1), raisedByJSON: statement.text(2),
                        raisedAt: statement.text(3), severity: Int(statement.int64(4)), isReviewFlag: statement.int64(5) == 1))
            }
            statement.reset()
            return records
        }
        return AlertRecord.open(
            readModel: alerts, forks: try store.forkedOrigins(), badSignatures: try store.badSignatures(),
            held: try store.heldEvents(), reviewHeld: try store.reviewHeldEvents())
    }

    private func summaries(where filter: (column: String, atMost: Int64)?, orderBy: String) throws(StoreError)
        -> [PatientSummary]
    {
        try store.read { connection throws(StoreError) -> [PatientSummary] in
            var sql = """
                SELECT patient, consent, course_status, sessions_planned, sessions_completed, last_injection_at,
                    next_due_from, next_due_to, next_due_to_ms, open_alerts, open_review_flags, open_side_effects, responder
                FROM patient_summary
                """
            if let filter { sql += " WHERE \(filter.column) IS NOT NULL AND \(filter.column) <= ?" }
            sql += " ORDER BY \(orderBy)"
            let statement = try connection.statement(sql)
            if let filter { statement.bind(1, filter.atMost) }
            var rows: [PatientSummary] = []
            while try statement.step() {
                rows.append(
                    PatientSummary(
                        patient: statement.text(0), consent: statement.text(1), courseStatus: statement.text(2),
                        sessionsPlanned: statement.isNull(3) ? nil : Int(statement.int64(3)),
                        sessionsCompleted: Int(statement.int64(4)), lastInjectionAt: statement.optionalText(5),
                        nextDueFrom: statement.optionalText(6), nextDueTo: statement.optionalText(7),
                        nextDueToMilliseconds: statement.isNull(8) ? nil : statement.int64(8),
                        openAlerts: Int(statement.int64(9)), openReviewFlags: Int(statement.int64(10)),
                        openSideEffects: Int(statement.int64(11)), responder: statement.int64(12) == 1))
            }
            statement.reset()
            return rows
        }
    }
}

/// One patient's row in `prolo patients` and `prolo due`.
public struct PatientSummary: Sendable, Hashable {
    public let patient: String
    public let consent: String
    public let courseStatus: String
    public let sessionsPlanned: Int?
    public let sessionsCompleted: Int
    public let lastInjectionAt: String?
    public let nextDueFrom: String?
    public let nextDueTo: String?
    public let nextDueToMilliseconds: Int64?
    public let openAlerts: Int
    public let openReviewFlags: Int
    public let openSideEffects: Int
    public let responder: Bool

    package init(
        patient: String, consent: String, courseStatus: String, sessionsPlanned: Int?, sessionsCompleted: Int,
        lastInjectionAt: String?, nextDueFrom: String?, nextDueTo: String?, nextDueToMilliseconds: Int64?,
        openAlerts: Int, openReviewFlags: Int, openSideEffects: Int, responder: Bool
    ) {
        self.patient = patient
        self.consent = consent
        self.courseStatus = courseStatus
        self.sessionsPlanned = sessionsPlanned
        self.sessionsCompleted = sessionsCompleted
        self.lastInjectionAt = lastInjectionAt
        self.nextDueFrom = nextDueFrom
        self.nextDueTo = nextDueTo
        self.nextDueToMilliseconds = nextDueToMilliseconds
        self.openAlerts = openAlerts
        self.openReviewFlags = openReviewFlags
        self.openSideEffects = openSideEffects
        self.responder = responder
    }

    /// Whether the next session's window has passed on `now`'s UTC day.
    public func overdue(at now: Timestamp) -> Bool {
        guard let nextDueToMilliseconds else { return false }
        return TreatmentState.day(of: now.millisecondsSinceEpoch) > TreatmentState.day(of: nextDueToMilliseconds)
    }
}

/// An uncleared alert or review flag, as `prolo alerts` lists it.
public struct AlertRecord: Sendable, Hashable {
    public let patient: String
    public let kind: String
    public let raisedBy: [String]
    public let raisedAt: String
    /// 1 is most severe; review flags are 20.
    public let severity: Int
    public let isReviewFlag: Bool

    init(patient: String, kind: String, raisedBy: [String], raisedAt: String, severity: Int, isReviewFlag: Bool) {
        self.patient = patient
        self.kind = kind
        self.raisedBy = raisedBy
        self.raisedAt = raisedAt
        self.severity = severity
        self.isReviewFlag = isReviewFlag
    }

    /// A row of `patient_alerts` (either backend): `raisedByJSON` is its canonical JSON array of event ids.
    package init(patient: String, kind: String, raisedByJSON: String, raisedAt: String, severity: Int, isReviewFlag: Bool) {
        let raisedBy: [String]
        if case .array(let ids)? = try? JSONParser.parse(Array(raisedByJSON.utf8)) {
            raisedBy = ids.compactMap(\.stringValue)
        } else {
            raisedBy = []
        }
        self.init(
            patient: patient, kind: kind, raisedBy: raisedBy, raisedAt: raisedAt, severity: severity,
            isReviewFlag: isReviewFlag)
    }

    /// The clinic's uncleared alerts as `prolo alerts` lists them, whichever backend keeps the log: the read model's
    /// `readModel` rows; a proven fork (DESIGN §6) once per origin as `fork-detected`, raised by the conflicting events
    /// at its lowest position, for the patient they are about (or `-`); an event whose own signature failed its later
    /// check as `bad-signature`, as severe as a fork; an event held out of the read models as a review flag
    /// (`invalid-payload`, `unknown-schema-version`, `after-revocation`, `out-of-scope`, `broken-patient-link`; a
    /// forked origin's held events show as its fork's alert). Most severe first, then oldest first, then by patient,
    /// kind and the raising events.
    package static func open(
        readModel: [AlertRecord], forks: [ForkedOrigin], badSignatures: [BadSignature], held: [HeldEvent],
        reviewHeld: [ReviewHeldEvent]
    ) -> [AlertRecord] {
        let forkSeverity = TreatmentState.severity(of: AlertKind.forkDetected.rawValue)
        let forked = forks.map { fork in
            AlertRecord(
                patient: fork.patient ?? "-", kind: AlertKind.forkDetected.rawValue, raisedBy: fork.events,
                raisedAt: fork.detectedAt.text, severity: forkSeverity, isReviewFlag: false)
        }
        // An event whose own signature failed after its run's anchor vouched for it: its origin signs wrongly.
        let integrity = badSignatures.map { bad in
            AlertRecord(
                patient: bad.patient ?? "-", kind: EventStore.badSignatureFlag, raisedBy: [bad.id],
                raisedAt: bad.detectedAt.text, severity: forkSeverity, isReviewFlag: false)
        }
        let unreadable = held.map { held in
            AlertRecord(
                patient: held.patient?.text ?? "-", kind: held.reason.kind.rawValue, raisedBy: [held.id.text],
                raisedAt: held.receivedAt.text, severity: TreatmentState.reviewFlagSeverity, isReviewFlag: true)
        }
        let reviewed = reviewHeld.filter { $0.hold != .forked }.map { held in
            AlertRecord(
                patient: held.patient?.text ?? "-", kind: held.hold.rawValue, raisedBy: [held.id.text],
                raisedAt: Timestamp(millisecondsSinceEpoch: held.hlc.wallMilliseconds).text,
                severity: TreatmentState.reviewFlagSeverity, isReviewFlag: true)
        }
        // A total order (the raising events break ties), so every backend and every rebuild lists the same.
        return (readModel + forked + integrity + unreadable + reviewed).sorted {
            ($0.severity, $0.raisedAt, $0.patient, $0.kind, $0.raisedBy.joined(separator: ","))
                < ($1.severity, $1.raisedAt, $1.patient, $1.kind, $1.raisedBy.joined(separator: ","))
        }
    }
}
