import ProloDomain

/// What a backend writes for one patient after a fold (``PatientFoldUpdate``): the checkpoint (`patient_fold`), the
/// summary row (`patient_summary`), the alert rows (`patient_alerts`) when they changed, and the base
/// (`patient_fold_base`). The columns are the same on SQLite and PostgreSQL; what goes in them is decided here, once.
package struct PatientRows: Sendable {
    /// What becomes of the patient's base checkpoint.
    package enum BaseWrite: Sendable {
        case keep
        /// Stored (``StoredBase``), or removed (`nil`: too few facts to keep one).
        case replace(StoredBase?)
    }

    /// A base checkpoint as stored.
    package struct StoredBase: Sendable {
        package let throughMs: Int64
        package let checkpoint: [UInt8]

        package init(throughMs: Int64, checkpoint: [UInt8]) {
            self.throughMs = throughMs
            self.checkpoint = checkpoint
        }
    }

    /// One row of `patient_summary`.
    package struct Summary: Sendable {
        package let consent: String
        package let courseStatus: String
        package let sessionsPlanned: Int64?
        package let sessionsCompleted: Int64
        package let lastInjectionAt: String?
        package let nextDueFrom: String?
        package let nextDueFromMs: Int64?
        package let nextDueTo: String?
        package let nextDueToMs: Int64?
        package let openAlerts: Int64
        package let openReviewFlags: Int64
        package let openSideEffects: Int64
        package let responder: Bool
    }

    /// One row of `patient_alerts`.
    package struct Alert: Sendable {
        package let kind: String
        /// Canonical JSON array of the raising events' ids.
        package let raisedBy: String
        package let raisedAt: String
        package let severity: Int64
        package let review: Bool
        package let clearedBy: String?
    }

    package let patient: PatientID
    package let checkpoint: [UInt8]
    package let summary: Summary
    /// The patient's alert and review-flag rows, or `nil` when they are the ones stored (unchanged from before).
    package let alerts: [Alert]?
    package let base: BaseWrite
    /// Whether the patient has no foldable event (a re-fold after holds): the backend then keeps no rows.
    package let isEmpty: Bool

    init(_ checkpoint: FoldCheckpoint, replacing before: FoldCheckpoint?, base: BaseWrite) {
        let state = checkpoint.finished()
        self.patient = state.patient
        self.checkpoint = checkpoint.encoded
        self.isEmpty = state.eventCount == 0
        self.base = base
        self.summary = Summary(
            consent: state.consent.rawValue, courseStatus: state.courseStatus.rawValue,
            sessionsPlanned: state.sessionsPlanned.map(Int64.init), sessionsCompleted: Int64(state.sessionsCompleted),
            lastInjectionAt: TreatmentState.time(state.lastInjectionAt).stringValue,
            nextDueFrom: TreatmentState.time(state.nextDue?.from).stringValue, nextDueFromMs: state.nextDue?.from,
            nextDueTo: TreatmentState.time(state.nextDue?.to).stringValue, nextDueToMs: state.nextDue?.to,
            openAlerts: Int64(state.openAlerts.count), openReviewFlags: Int64(state.reviewFlags.filter { !$0.cleared }.count),
            openSideEffects: Int64(state.openSideEffects.count), responder: state.responder)
        if let before {
            let previous = before.finished()
            if previous.alerts == state.alerts && previous.reviewFlags == state.reviewFlags {
                self.alerts = nil
                return
            }
        }
        self.alerts = (state.alerts.map { ($0, false) } + state.reviewFlags.map { ($0, true) }).map { flag, review in
            Alert(
                kind: flag.kind,
                raisedBy: String(decoding: CanonicalJSON.encode(.array(flag.raisedBy.map(JSONValue.string))), as: UTF8.self),
                raisedAt: Timestamp(millisecondsSinceEpoch: flag.raisedAt).text,
                severity: Int64(review ? TreatmentState.reviewFlagSeverity : TreatmentState.severity(of: flag.kind)),
                review: review, clearedBy: flag.clearedBy)
        }
    }
}

extension PatientRows.BaseWrite {
    /// The base placed (or removed, `nil`), as stored.
    static func placing(_ base: FoldBase?) -> Self {
        .replace(base.map { PatientRows.StoredBase(throughMs: $0.throughMs, checkpoint: $0.checkpoint.encoded) })
    }
}
