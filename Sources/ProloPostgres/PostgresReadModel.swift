import NIOCore
import PostgresNIO
import ProloDomain
import ProloProjections
import ProloStore

/// The treatment projection's tables on PostgreSQL (migration 4), kept current inside every append and record
/// transaction by the rule the SQLite store's read model follows (``PatientFoldUpdate``): this type reads what the
/// rule asks for and writes the ``PatientRows`` it decides, a batch's patients together (a few statements per batch,
/// not per patient).
///
/// Concurrency: writers are serialized per origin, and two origins' batches may be about one patient (a clinician's
/// laptop and the patient's phone). A batch therefore takes a transaction-scoped advisory lock per patient it folds
/// (``lock(_:)``: every patient of the transaction at once, in key order, so no two transactions wait on each other
/// in a cycle) and reads the patients' checkpoints after them, in one round trip (`prolo_lock_patients`,
/// migration 5, lock class 'PRPT': two-key locks never meet the registry's one-key lock): the second batch folds onto
/// the first's.
struct PostgresReadModel {
    let log: PostgresLog
    let policy: TreatmentPolicy

    /// Folds the events a transaction appended (the foldable ones: not held out of the read models), in it; the
    /// transaction holds their patients' locks, and `stored` is what ``lock(_:)`` read of them.
    func didAppend(_ events: [StoredEvent], stored: [String: StoredFold]) async throws(StoreError) {
        let arrived = try PatientFoldUpdate.arrived(events)
        guard !arrived.isEmpty else { return }
        var rows: [PatientRows] = []
        for (patient, facts) in arrived {
            let fold = stored[patient.text]
            var update = try PatientFoldUpdate(
                patient: patient, arrived: facts, checkpoint: fold?.checkpoint, policy: policy)
            try update.supplyBase(throughMs: fold?.base?.throughMs, checkpoint: fold?.base?.checkpoint)
            rows.append(try await perform(&update))
        }
        try await save(rows)
    }

    /// Folds these patients again from the log's foldable events (events they folded were held out afterwards: a
    /// revocation or a fork arrived); a patient with no foldable event left has no rows. The transaction holds their
    /// locks (``lock(_:)``).
    func refold(_ patients: Set<PatientID>) async throws(StoreError) {
        guard !patients.isEmpty else { return }
        let sorted = patients.sorted { $0.text < $1.text }
        let texts = sorted.map(\.text)
        for table in ["patient_fold", "patient_summary", "patient_alerts"] {
            try await log.run(
                PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE patient = ANY($1)", binds: PostgresBindings(texts)),
                "cannot refold patients")
        }
        var rows: [PatientRows] = []
        for patient in sorted {
            var all = PatientFacts(patient: patient)
            for fact in try await facts(of: patient, after: nil) { all.insert(fact) }
            rows.append(PatientFoldUpdate.refolded(all, policy: policy))
        }
        try await save(rows)
    }

    /// Performs the reads `update` asks for until it decides the rows (the base was fetched ahead).
    private func perform(_ update: inout PatientFoldUpdate) async throws(StoreError) -> PatientRows {
        while true {
            switch update.next() {
            case .write(let rows):
                return rows
            case .read(.base):
                throw StoreError(.internalError, "the base checkpoint of patient \(update.patient) was not fetched")
            case .read(.factsAfter(let throughMs)):
                update.supplyFacts(try await facts(of: update.patient, after: throughMs))
            case .read(.allFacts):
                update.supplyFacts(try await facts(of: update.patient, after: nil))
            }
        }
    }

    /// A patient's stored checkpoint and base, as bytes.
    struct StoredFold {
        var checkpoint: [UInt8]?
        var base: PatientRows.StoredBase?
    }

    /// One advisory lock per patient, taken in key order, then their stored checkpoints and bases, read after the
    /// locks are held; in one round trip. Called once per transaction, with every patient it folds.
    func lock(_ patients: [PatientID]) async throws(StoreError) -> [String: StoredFold] {
        let rows = try await log.run(
            LockPatients.self, PostgresBindings(patients.map(\.text)), "cannot lock the patients' read models")
        var folds: [String: StoredFold] = [:]
        for row in rows {
            let patient = try PostgresLog.decode(row, 0, as: String.self, "patient") ?? ""
            let checkpoint = try PostgresLog.decode(row, 1, as: ByteBuffer.self, "checkpoint").map { Array($0.readableBytesView) }
            var base: PatientRows.StoredBase?
            if let through = try PostgresLog.decode(row, 2, as: Int64.self, "through_ms"),
                let bytes = try PostgresLog.decode(row, 3, as: ByteBuffer.self, "checkpoint")
            {
                base = PatientRows.StoredBase(throughMs: through, checkpoint: Array(bytes.readableBytesView))
            }
            folds[patient] = StoredFold(checkpoint: checkpoint, base: base)
        }
        return folds
    }

    /// The patient's foldable facts in the log, or those whose derived `occurred_ms` is after `throughMs`.
    private func facts(of patient: PatientID, after throughMs: Int64?) async throws(StoreError) -> [ClinicalFact] {
        let rows = try await log.run(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(EventStore.columns) FROM events
                    WHERE patient = $1 AND occurred_ms > $2 AND \(EventStore.foldableCondition)
                    """,
                binds: PostgresBindings(patient.text, throughMs ?? .min)),
            "cannot read the events of patient \(patient)")
        var facts: [ClinicalFact] = []
        for row in rows {
            facts.append(try PatientFoldUpdate.fact(of: try PostgresLog.eventRow(row).decoded().event))
        }
        return facts
    }

    /// Writes the rows of a batch's patients: bases, then checkpoints and summaries in one statement, then the alerts
    /// of the patients whose alerts changed.
    func save(_ rows: [PatientRows]) async throws(StoreError) {
        var removedBases: [String] = []
        var placedBases: [(String, PatientRows.StoredBase)] = []
        for row in rows {
            guard case .replace(let base) = row.base else { continue }
            if let base { placedBases.append((row.patient.text, base)) } else { removedBases.append(row.patient.text) }
        }
        if !removedBases.isEmpty {
            try await log.run(
                "DELETE FROM patient_fold_base WHERE patient = ANY(\(removedBases))", "cannot write the fold bases")
        }
        if !placedBases.isEmpty {
            try await log.run(
                """
                INSERT INTO patient_fold_base (patient, through_ms, checkpoint)
                SELECT * FROM unnest(\(placedBases.map(\.0))::text[], \(placedBases.map(\.1.throughMs))::bigint[],
                    \(placedBases.map { ByteBuffer(bytes: $0.1.checkpoint) })::bytea[])
                ON CONFLICT (patient) DO UPDATE SET through_ms = excluded.through_ms, checkpoint = excluded.checkpoint
                """, "cannot write the fold bases")
        }
        let kept = rows.filter { !$0.isEmpty }
        guard !kept.isEmpty else { return }
        let patients = kept.map(\.patient.text)
        let summaries = kept.map(\.summary)
        func optional(_ value: Int64?) -> String? { value.map(String.init) }
        try await log.run(
            SaveFoldsAndSummaries.self,
            PostgresBindings(
                patients, kept.map { ByteBuffer(bytes: $0.checkpoint) }, summaries.map(\.consent),
                summaries.map(\.courseStatus), PostgresLog.nullable(summaries.map { optional($0.sessionsPlanned) }),
                summaries.map(\.sessionsCompleted), PostgresLog.nullable(summaries.map(\.lastInjectionAt)),
                PostgresLog.nullable(summaries.map(\.nextDueFrom)),
                PostgresLog.nullable(summaries.map { optional($0.nextDueFromMs) }),
                PostgresLog.nullable(summaries.map(\.nextDueTo)), PostgresLog.nullable(summaries.map { optional($0.nextDueToMs) }),
                summaries.map(\.openAlerts), summaries.map(\.openReviewFlags), summaries.map(\.openSideEffects),
                summaries.map(\.responder)),
            "cannot write the patients' read models")

        let alerting = kept.filter { $0.alerts != nil }
        guard !alerting.isEmpty else { return }
        try await log.run(
            "DELETE FROM patient_alerts WHERE patient = ANY(\(alerting.map(\.patient.text)))", "cannot write the alerts")
        let alerts = alerting.flatMap { row in (row.alerts ?? []).map { (row.patient.text, $0) } }
        guard !alerts.isEmpty else { return }
        try await log.run(
            """
            INSERT INTO patient_alerts (patient, kind, raised_by, raised_at, severity, review, cleared_by)
            SELECT patient, kind, raised_by, raised_at, severity, review, NULLIF(cleared_by, E'\\x01')
            FROM unnest(
                \(alerts.map(\.0))::text[], \(alerts.map(\.1.kind))::text[], \(alerts.map(\.1.raisedBy))::text[],
                \(alerts.map(\.1.raisedAt))::text[], \(alerts.map(\.1.severity))::bigint[],
                \(alerts.map(\.1.review))::boolean[], \(PostgresLog.nullable(alerts.map(\.1.clearedBy)))::text[]
            ) AS a(patient, kind, raised_by, raised_at, severity, review, cleared_by)
            ON CONFLICT DO NOTHING
            """, "cannot write the alerts")
    }

    /// The patients `$1` locked in key order, then their stored checkpoints and bases (`prolo_lock_patients`).
    enum LockPatients: FixedStatement {
        static let sql = "SELECT * FROM prolo_lock_patients($1::text[])"
    }

    /// The patients' checkpoints and summary rows, in one statement (absent values as ``PostgresLog/nullable(_:)``).
    enum SaveFoldsAndSummaries: FixedStatement {
        static let sql = """
            WITH fold AS (
                INSERT INTO patient_fold (patient, checkpoint)
                SELECT * FROM unnest($1::text[], $2::bytea[])
                ON CONFLICT (patient) DO UPDATE SET checkpoint = excluded.checkpoint
            )
            INSERT INTO patient_summary (patient, consent, course_status, sessions_planned, sessions_completed,
                last_injection_at, next_due_from, next_due_from_ms, next_due_to, next_due_to_ms, open_alerts,
                open_review_flags, open_side_effects, responder)
            SELECT patient, consent, course_status, NULLIF(sessions_planned, E'\\x01')::bigint, sessions_completed,
                NULLIF(last_injection_at, E'\\x01'), NULLIF(next_due_from, E'\\x01'),
                NULLIF(next_due_from_ms, E'\\x01')::bigint, NULLIF(next_due_to, E'\\x01'),
                NULLIF(next_due_to_ms, E'\\x01')::bigint, open_alerts, open_review_flags, open_side_effects, responder
            FROM unnest(
                $1::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[],
                $10::text[], $11::text[], $12::bigint[], $13::bigint[], $14::bigint[], $15::boolean[]
            ) AS s(patient, consent, course_status, sessions_planned, sessions_completed, last_injection_at,
                next_due_from, next_due_from_ms, next_due_to, next_due_to_ms, open_alerts, open_review_flags,
                open_side_effects, responder)
            ON CONFLICT (patient) DO UPDATE SET consent = excluded.consent, course_status = excluded.course_status,
                sessions_planned = excluded.sessions_planned, sessions_completed = excluded.sessions_completed,
                last_injection_at = excluded.last_injection_at, next_due_from = excluded.next_due_from,
                next_due_from_ms = excluded.next_due_from_ms, next_due_to = excluded.next_due_to,
                next_due_to_ms = excluded.next_due_to_ms, open_alerts = excluded.open_alerts,
                open_review_flags = excluded.open_review_flags, open_side_effects = excluded.open_side_effects,
                responder = excluded.responder
            """
    }
}
