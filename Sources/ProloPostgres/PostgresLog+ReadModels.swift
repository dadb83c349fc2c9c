import NIOCore
import PostgresNIO
public import ProloDomain
public import ProloProjections
public import ProloStore

/// The clinic's questions answered from a hub's read models (migration 4), as `ProjectedStore` answers them from a
/// SQLite store: a patient's state, every patient, who is due, the open alerts; and the rebuild that derives the
/// read models again from the log.
extension PostgresLog {
    /// A patient's treatment state, or `nil` when the read models hold no event of theirs.
    public func state(of patient: PatientID, policy: TreatmentPolicy = .standard) async throws(StoreError) -> TreatmentState? {
        let rows = try await run(
            "SELECT checkpoint FROM patient_fold WHERE patient = \(patient.text)", "cannot read patient \(patient)")
        guard let bytes = try Self.decode(rows.first, 0, as: ByteBuffer.self, "checkpoint") else { return nil }
        return try PatientFoldUpdate.state(of: patient, checkpoint: Array(bytes.readableBytesView), policy: policy)
    }

    /// One row per patient, by patient id.
    public func patients() async throws(StoreError) -> [PatientSummary] {
        try await summaries(PostgresQuery(unsafeSQL: Self.summarySelect + " ORDER BY patient COLLATE \"C\""))
    }

    /// Patients whose next session is due by `now + days` (overdue ones included), soonest first.
    public func due(within days: Int, now: Timestamp = .now()) async throws(StoreError) -> [PatientSummary] {
        var binds = PostgresBindings()
        binds.append(now.millisecondsSinceEpoch + Int64(days) * 86_400_000)
        return try await summaries(
            PostgresQuery(
                unsafeSQL: Self.summarySelect
                    + " WHERE next_due_from_ms IS NOT NULL AND next_due_from_ms <= $1"
                    + " ORDER BY next_due_to_ms, patient COLLATE \"C\"",
                binds: binds))
    }

    /// Uncleared alerts of every patient, in the order and with the holds, forks and signature failures
    /// `ProjectedStore.openAlerts()` lists (``AlertRecord/open(readModel:forks:badSignatures:held:reviewHeld:)``).
    public func openAlerts() async throws(StoreError) -> [AlertRecord] {
        var alerts: [AlertRecord] = []
        for row in try await run(
            """
            SELECT patient, kind, raised_by, raised_at, severity, review FROM patient_alerts
            WHERE cleared_by IS NULL ORDER BY severity, raised_at, patient, kind
            """, "cannot read the alerts")
        {
            alerts.append(
                AlertRecord(
                    patient: try Self.decode(row, 0, as: String.self, "patient") ?? "",
                    kind: try Self.decode(row, 1, as: String.self, "kind") ?? "",
                    raisedByJSON: try Self.decode(row, 2, as: String.self, "raised_by") ?? "[]",
                    raisedAt: try Self.decode(row, 3, as: String.self, "raised_at") ?? "",
                    severity: Int(try Self.decode(row, 4, as: Int64.self, "severity") ?? 0),
                    isReviewFlag: try Self.decode(row, 5, as: Bool.self, "review") ?? false))
        }
        let flagged = try await flaggedEvents()
        return AlertRecord.open(
            readModel: alerts, forks: try await forkedOrigins(), badSignatures: flagged.badSignatures,
            held: flagged.held, reviewHeld: flagged.reviewHeld)
    }

    /// Whether the read models are what this build computes: made by its projection version, and no event held out
    /// of them for an unreadable payload is one this build reads (as `ProjectedStore.open` decides on SQLite).
    public func readModelsAreCurrent() async throws(StoreError) -> Bool {
        let rows = try await run(
            "SELECT version FROM projections WHERE name = \(TreatmentReadModel.name)", "cannot read the projections")
        guard try Self.decode(rows.first, 0, as: Int64.self, "version") == TreatmentReadModel.version else { return false }
        return try await flaggedEvents(EventStore.heldFlags).readable.isEmpty
    }

    /// Empties the read models and folds every patient again from the log, in one transaction that appends wait
    /// for (it takes the registry lock alone). Events an earlier build held out because it could not read them,
    /// which this build reads, are released first and folded. The log is read through a cursor, a few thousand
    /// events at a time, each chunk folded on every core; `progress(done, total)` counts events.
    public func rebuildReadModels(policy: TreatmentPolicy = .standard, progress: (Int, Int) -> Void = { _, _ in })
        async throws(StoreError)
    {
        try await transaction("cannot rebuild the read models") { () async throws(StoreError) in
            try await run("SELECT pg_advisory_xact_lock(\(Self.registryLock))", "cannot lock the registry")
            try await foldEveryPatient(policy: policy, progress: progress)
        }
    }

    /// The rebuild's work, in the caller's transaction (a move-up folds the copy before it commits).
    func foldEveryPatient(policy: TreatmentPolicy, progress: (Int, Int) -> Void) async throws(StoreError) {
        let doing = "cannot rebuild the read models"
        for table in ["patient_fold", "patient_fold_base", "patient_summary", "patient_alerts"] {
            try await run(PostgresQuery(unsafeSQL: "DELETE FROM \(table)"), doing)
        }
        try await releaseReadableHeldEvents()
        let foldable = "patient IS NOT NULL AND \(EventStore.foldableCondition)"
        let counted = try await run(PostgresQuery(unsafeSQL: "SELECT count(*)::bigint FROM events WHERE \(foldable)"), doing)
        let total = Int(try Self.decode(counted.first, 0, as: Int64.self, "count") ?? 0)
        try await run(
            PostgresQuery(
                unsafeSQL: "DECLARE prolo_rebuild NO SCROLL CURSOR FOR SELECT \(EventStore.columns) FROM events "
                    + "WHERE \(foldable) ORDER BY patient"),
            doing)
        let models = PostgresReadModel(log: self, policy: policy)
        var done = 0
        // Whole patients per chunk: the last patient of a fetch waits for the next one, which may hold more of it.
        var carried: [Event] = []
        while true {
            let rows = try await run("FETCH 4096 FROM prolo_rebuild", doing)
            var events = carried
            for row in rows { events.append(try Self.eventRow(row).decoded().event) }
            let last = rows.isEmpty ? nil : events.last?.patient
            carried = last.map { patient in events.reversed().prefix { $0.patient == patient }.reversed() } ?? []
            let ready = Array(events.dropLast(carried.count))
            if !ready.isEmpty {
                try await models.save(try Self.refolded(ready, policy: policy))
                done += ready.count
                progress(done, total)
            }
            if rows.isEmpty { break }
        }
        try await run("CLOSE prolo_rebuild", doing)
        if done == 0 { progress(0, total) }
        try await run(
            """
            INSERT INTO projections (name, version) VALUES (\(TreatmentReadModel.name), \(TreatmentReadModel.version))
            ON CONFLICT (name) DO UPDATE SET version = excluded.version
            """, doing)
    }

    /// Each patient of `events` (in patient order) folded from nothing, on every core.
    private static func refolded(_ events: [Event], policy: TreatmentPolicy) throws(StoreError) -> [PatientRows] {
        var patients: [[Event]] = []
        for event in events {
            if patients.last?.last?.patient == event.patient { patients[patients.count - 1].append(event) } else { patients.append([event]) }
        }
        do {
            return try Parallel.map(patients, minimumPerWorker: 8) { events throws(StoreError) -> PatientRows in
                guard let patient = events.first?.patient else { throw StoreError(.internalError, "an event without a patient") }
                var facts = PatientFacts(patient: patient)
                for event in events { facts.insert(try PatientFoldUpdate.fact(of: event)) }
                return PatientFoldUpdate.refolded(facts, policy: policy)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.internalError, "cannot rebuild the read models: \(error)")
        }
    }

    /// Lifts the hold on every held event whose payload this build reads, so the rebuild folds it.
    private func releaseReadableHeldEvents() async throws(StoreError) {
        let released = try await flaggedEvents(EventStore.heldFlags).readable
        guard !released.isEmpty else { return }
        try await run(
            PostgresQuery(
                unsafeSQL: "DELETE FROM event_flags WHERE id = ANY($1) AND flag IN (\(EventStore.heldFlags))",
                binds: PostgresBindings(released)),
            "cannot release held events")
    }

    // MARK: What the log holds out of the read models

    /// The events flagged out of the read models, as `EventStore.heldEvents()`, `reviewHeldEvents()` and
    /// `badSignatures()` list them, in one query; and the ids of the held ones this build reads. `flags` (an SQL
    /// list) narrows it: the held ones alone, where only they matter (a currency check, a rebuild's release).
    private func flaggedEvents(
        _ flags: String = "\(EventStore.heldFlags), \(EventStore.reviewFlags), '\(EventStore.badSignatureFlag)'"
    ) async throws(StoreError) -> FlaggedEvents {
        var result = FlaggedEvents()
        let rows = try await run(
            PostgresQuery(
                unsafeSQL: """
                    SELECT f.flag, f.detail, e.*
                    FROM event_flags f JOIN (SELECT \(EventStore.columns) FROM events) AS e ON e.id = f.id
                    WHERE f.flag IN (\(flags))
                    ORDER BY e.seq, f.flag
                    """),
            "cannot read the events held out of the read models")
        for row in rows {
            let flag = try Self.decode(row, 0, as: String.self, "flag") ?? ""
            let detail = try Self.decode(row, 1, as: String.self, "detail") ?? ""
            let stored = try Self.eventRow(row, from: 2).decoded()
            let event = stored.event
            if let kind = UnreadablePayload.Kind(rawValue: flag) {
                result.held.append(HeldEvent(event, reason: UnreadablePayload(kind, detail), receivedAt: stored.receivedAt))
                if event.unreadablePayload == nil { result.readable.append(event.id.text) }
            } else if let hold = ReviewHold(rawValue: flag) {
                result.reviewHeld.append(
                    ReviewHeldEvent(
                        id: event.id, origin: event.origin, originSeq: event.originSeq, patient: event.patient,
                        hlc: event.hlc, hold: hold, detail: detail))
            } else {
                result.badSignatures.append(
                    BadSignature(
                        id: event.id.text, origin: event.origin.text, originSeq: event.originSeq,
                        patient: event.patient?.text, detectedAt: stored.receivedAt, detail: detail))
            }
        }
        // Review holds in canonical order, as the SQLite store lists them.
        result.reviewHeld.sort {
            ($0.hlc.packed, $0.origin.text, $0.originSeq, $0.hold.rawValue)
                < ($1.hlc.packed, $1.origin.text, $1.originSeq, $1.hold.rawValue)
        }
        return result
    }

    /// Each forked origin once (``ForkedOrigin/forked(_:held:)``).
    public func forkedOrigins() async throws(StoreError) -> [ForkedOrigin] {
        let evidence = try await forks()
        guard !evidence.isEmpty else { return [] }
        var held: [String: Event] = [:]
        for (origin, position) in ForkedOrigin.positions(of: evidence) {
            guard let originID = try? Identifier(checked: origin) else { continue }
            held[origin] = try await events(EventFilter(origin: originID, originSeqs: position...position)).first?.event
        }
        return ForkedOrigin.forked(evidence, held: held)
    }

    /// Proven forks: the origin, the position, and the second event's id (as `EventStore.forks()`).
    public func forks() async throws(StoreError) -> [ForkEvidence] {
        var evidence: [ForkEvidence] = []
        for row in try await run(
            "SELECT origin, origin_seq, other_id, patient, detected_at FROM forks ORDER BY detected_at, origin, origin_seq",
            "cannot read fork evidence")
        {
            evidence.append(
                ForkEvidence(
                    origin: try Self.decode(row, 0, as: String.self, "origin") ?? "",
                    originSeq: try Self.decode(row, 1, as: Int64.self, "origin_seq") ?? 0,
                    otherEvent: try Self.decode(row, 2, as: String.self, "other_id") ?? "",
                    patient: try Self.decode(row, 3, as: String.self, "patient"),
                    detectedAt: Timestamp(millisecondsSinceEpoch: try Self.decode(row, 4, as: Int64.self, "detected_at") ?? 0)))
        }
        return evidence
    }

    /// Events waiting in quarantine, oldest first, with the reason (as `EventStore.quarantine()`).
    public func quarantine() async throws(StoreError) -> [QuarantinedEvent] {
        var waiting: [QuarantinedEvent] = []
        for row in try await run(
            "SELECT id, origin, origin_seq, reason FROM quarantine ORDER BY received_at, origin, origin_seq",
            "cannot read the quarantine")
        {
            guard let id = try Self.decode(row, 0, as: String.self, "id").flatMap({ try? EventID(checked: $0) }),
                let origin = try Self.decode(row, 1, as: String.self, "origin").flatMap({ try? Identifier(checked: $0) })
            else { continue }
            waiting.append(
                QuarantinedEvent(
                    id: id, origin: origin, originSeq: try Self.decode(row, 2, as: Int64.self, "origin_seq") ?? 0,
                    reason: try Self.decode(row, 3, as: String.self, "reason") ?? ""))
        }
        return waiting
    }

    /// How far behind the clock the latest arrival a bulk export reports is held (``patients(receivedAfter:registry:)``).
    public static let arrivalMargin: Int64 = 5 * 60_000

    /// The patients with an event received after `since` (every patient without it), an event of a home device
    /// (`registry` names its patient) counting as its patient's; and the latest arrival (as a bulk export asks),
    /// the `since` of the next incremental export.
    ///
    /// Writers of different origins commit here at once, and an event's `received_at` is its transaction's clock
    /// when it was admitted: an event stamped before the latest arrival may commit after this read. So the latest
    /// arrival reported is held ``arrivalMargin`` (five minutes, far longer than an append's transaction) behind
    /// this database's clock: the next incremental export reads such an event's patient again, and writes their
    /// whole record once more (a FHIR server loading it replaces those resources by id) rather than never. On
    /// SQLite one writer at a time commits in arrival order, and the latest arrival is exact.
    public func patients(receivedAfter since: Timestamp?, registry: DeviceRegistry) async throws(StoreError)
        -> (patients: Set<PatientID>, latest: Timestamp?)
    {
        let after = since?.millisecondsSinceEpoch ?? .min
        var patients: Set<PatientID> = []
        for row in try await run(
            """
            SELECT DISTINCT patient, NULL::text FROM events WHERE patient IS NOT NULL AND received_at > \(after)
            UNION SELECT DISTINCT NULL::text, origin FROM events WHERE patient IS NULL AND received_at > \(after)
            """, "cannot read the patients")
        {
            if let patient = try Self.decode(row, 0, as: String.self, "patient").flatMap({ try? PatientID(checked: $0) }) {
                patients.insert(patient)
            } else if let origin = try Self.decode(row, 1, as: String.self, "origin").flatMap({ try? Identifier(checked: $0) }),
                let patient = registry.devices[origin]?.patient
            {
                patients.insert(patient)
            }
        }
        let latest = try await run(
            """
            SELECT least(max(received_at), (extract(epoch FROM clock_timestamp()) * 1000)::bigint - \(Self.arrivalMargin))
            FROM events
            """, "cannot read the latest arrival")
        return (patients, try Self.decode(latest.first, 0, as: Int64.self, "least").map { Timestamp(millisecondsSinceEpoch: $0) })
    }

    /// The events of each of `patients`, in arrival order, in one query.
    public func events(of patients: [PatientID]) async throws(StoreError) -> [PatientID: [StoredEvent]] {
        var events: [PatientID: [StoredEvent]] = [:]
        guard !patients.isEmpty else { return events }
        for row in try await run(
            PostgresQuery(
                unsafeSQL: "SELECT \(EventStore.columns) FROM events WHERE patient = ANY($1) ORDER BY seq",
                binds: PostgresBindings(patients.map(\.text))),
            "cannot read the patients' events")
        {
            let stored = try Self.eventRow(row).decoded()
            if let patient = stored.event.patient { events[patient, default: []].append(stored) }
        }
        return events
    }

    /// The clinic's name (`prolo init --clinic`), if the hub's store has one.
    public func clinicName() async throws(StoreError) -> String? {
        try await meta("clinic_name")
    }

    // MARK: Rows

    private struct FlaggedEvents {
        var held: [HeldEvent] = []
        var reviewHeld: [ReviewHeldEvent] = []
        var badSignatures: [BadSignature] = []
        /// Held events whose payload this build reads.
        var readable: [String] = []
    }

    private static let summarySelect = """
        SELECT patient, consent, course_status, sessions_planned, sessions_completed, last_injection_at,
            next_due_from, next_due_to, next_due_to_ms, open_alerts, open_review_flags, open_side_effects, responder
        FROM patient_summary
        """

    private func summaries(_ query: PostgresQuery) async throws(StoreError) -> [PatientSummary] {
        var result: [PatientSummary] = []
        for row in try await run(query, "cannot read the patients' summaries") {
            func text(_ index: Int) throws(StoreError) -> String? { try Self.decode(row, index, as: String.self, "text") }
            func number(_ index: Int) throws(StoreError) -> Int64? { try Self.decode(row, index, as: Int64.self, "number") }
            result.append(
                PatientSummary(
                    patient: try text(0) ?? "", consent: try text(1) ?? "", courseStatus: try text(2) ?? "",
                    sessionsPlanned: try number(3).map(Int.init), sessionsCompleted: Int(try number(4) ?? 0),
                    lastInjectionAt: try text(5), nextDueFrom: try text(6), nextDueTo: try text(7),
                    nextDueToMilliseconds: try number(8), openAlerts: Int(try number(9) ?? 0),
                    openReviewFlags: Int(try number(10) ?? 0), openSideEffects: Int(try number(11) ?? 0),
                    responder: try Self.decode(row, 12, as: Bool.self, "responder") ?? false))
        }
        return result
    }
}
