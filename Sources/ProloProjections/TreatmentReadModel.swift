import Foundation
import ProloDomain
package import ProloStore

/// The treatment projection's tables (`patient_facts`, `patient_summary`, `patient_alerts`), kept current
/// inside every append transaction and recomputed by ``rebuild(_:policy:progress:)``.
///
/// An event that arrives with an older HLC than the patient's folded position is inserted into the patient's
/// fact set, which the fold reads in canonical order: the result equals a re-fold, and the tests hold
/// incremental updates to `rebuild`.
package struct TreatmentReadModel: AppendObserver {
    /// The name in the `projections` table.
    static let name = "treatment"
    /// Bump when the fold or the tables change meaning: stores rebuild on open.
    static let version: Int64 = 2  // 2: issue 15's clinical rules read more payload fields

    let policy: TreatmentPolicy
    /// The fact sets saved last, shared by every copy of this observer (one per store instance).
    let cache = FactsCache()

    package func didAppend(_ events: [StoredEvent], in connection: SQLiteConnection) throws(StoreError) {
        var order: [PatientID] = []
        var byPatient: [PatientID: [Event]] = [:]
        for stored in events {
            guard let patient = stored.event.patient else { continue }
            if byPatient[patient] == nil { order.append(patient) }
            byPatient[patient, default: []].append(stored.event)
        }
        for patient in order {
            let arrived = byPatient[patient] ?? []
            // A late event (older HLC than what was folded) is inserted like any other: facts are a set the fold
            // reads in canonical order, so the result is the re-fold's (the property tests hold incremental
            // updates to `rebuild`). Re-reading the patient's whole history per late batch made imports, which
            // arrive origin by origin, six times slower.
            var facts = try loadFacts(patient, connection) ?? PatientFacts(patient: patient)
            for event in arrived { facts.insert(try Self.fact(of: event)) }
            let saved = try Self.save(facts, TreatmentFold.state(of: facts, policy: policy), connection)
            cache.remember(facts, storedAs: saved)
        }
    }

    // MARK: Rebuild

    /// Empties the tables and folds every patient again from the log, a few hundred patients at a time on
    /// every core. Memory holds one chunk of events, not the log. Calls `progress(done, total)` as it goes.
    ///
    /// Held events (a payload an earlier build could not read) that this build reads are released first and
    /// folded; the rest stay held out.
    package static func rebuild(
        _ connection: SQLiteConnection, policy: TreatmentPolicy, progress: (Int, Int) -> Void = { _, _ in }
    ) throws(StoreError) {
        for table in ["patient_facts", "patient_summary", "patient_alerts"] {
            try connection.execute("DELETE FROM \(table)")
        }
        try EventStore.releaseReadableHeldEvents(connection)
        let foldable = "patient IS NOT NULL AND \(EventStore.foldableCondition)"
        let total = Int(try connection.scalarInt("SELECT count(*) FROM events WHERE \(foldable)") ?? 0)
        let statement = try connection.statement(
            """
            SELECT patient, id, origin, origin_seq, hlc, occurred_at, type, dict, body, schema_version FROM events
            WHERE \(foldable) ORDER BY patient
            """)
        var chunk: [RawPatient] = []
        var chunkRows = 0
        var done = 0
        func flush() throws(StoreError) {
            let folded: [(PatientFacts, TreatmentState)]
            do {
                folded = try Parallel.map(chunk, minimumPerWorker: 8) { raw in
                    let facts = try raw.facts()
                    return (facts, TreatmentFold.state(of: facts, policy: policy))
                }
            } catch let error as ProjectionError {
                throw StoreError(.ioError, "rebuild: \(error.message)")
            } catch {
                throw StoreError(.internalError, "rebuild: \(error)")
            }
            for (facts, state) in folded { try save(facts, state, connection) }
            done += chunkRows
            progress(done, total)
            chunk.removeAll(keepingCapacity: true)
            chunkRows = 0
        }
        while try statement.step() {
            let patientText = statement.text(0)
            if chunk.last?.patient.text != patientText {
                if chunkRows >= 4096 { try flush() }
                guard let patient = try? PatientID(checked: patientText) else {
                    throw StoreError(.ioError, "an event has a malformed patient id \(patientText)")
                }
                chunk.append(RawPatient(patient: patient))
            }
            chunk[chunk.count - 1].rows.append(
                RawRow(
                    id: statement.text(1), origin: statement.text(2), originSeq: statement.int64(3),
                    hlc: statement.int64(4),
                    // The signed text, not the derived occurred_ms column (which no signature covers).
                    occurredAt: (try? Timestamp(checked: statement.text(5)))?.millisecondsSinceEpoch ?? 0,
                    type: statement.text(6),
                    dictionary: Int(statement.int64(7)), body: statement.blob(8),
                    schemaVersion: Int(statement.int64(9))))
            chunkRows += 1
        }
        statement.reset()
        if !chunk.isEmpty || done == 0 { try flush() }
        try markCurrent(connection)
    }

    /// Whether the stored rows were computed by this build's version of the projection.
    package static func isCurrent(_ connection: SQLiteConnection) throws(StoreError) -> Bool {
        let statement = try connection.statement("SELECT version FROM projections WHERE name = ?")
        statement.bind(1, name)
        defer { statement.reset() }
        guard try statement.step() else { return false }
        return statement.int64(0) == version
    }

    private static func markCurrent(_ connection: SQLiteConnection) throws(StoreError) {
        let statement = try connection.statement(
            "INSERT INTO projections (name, version) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version")
        statement.bind(1, name)
        statement.bind(2, version)
        try statement.run()
    }

    /// One patient's rows as read for a rebuild, before inflating.
    private struct RawPatient: Sendable {
        let patient: PatientID
        var rows: [RawRow] = []

        func facts() throws(ProjectionError) -> PatientFacts {
            var facts = PatientFacts(patient: patient)
            for row in rows { facts.insert(try row.fact()) }
            return facts
        }
    }

    private struct RawRow: Sendable {
        let id: String, origin: String, originSeq: Int64, hlc: Int64, occurredAt: Int64, type: String
        let dictionary: Int
        let body: [UInt8]
        let schemaVersion: Int

        func fact() throws(ProjectionError) -> ClinicalFact {
            guard let eventType = EventType(rawValue: type) else {
                throw ProjectionError("event \(id) has an unknown type \(type)")
            }
            let payload: JSONValue
            do {
                payload = try JSONParser.parse(try BodyCodec.decompress(body, dictionaryVersion: dictionary))
            } catch {
                throw ProjectionError("event \(id) has an unreadable body: \(error)")
            }
            return ClinicalFact(
                id: id, origin: origin, originSeq: originSeq, hlc: hlc, occurredAt: occurredAt, type: eventType,
                data: ClinicalFact.trim(ClinicalFact.current(payload, of: eventType, version: schemaVersion), for: eventType))
        }
    }

    // MARK: Rows

    private static func fact(of event: Event) throws(StoreError) -> ClinicalFact {
        do {
            return try ClinicalFact(event: event)
        } catch {
            throw StoreError(.ioError, error.message)
        }
    }

    private func loadFacts(_ patient: PatientID, _ connection: SQLiteConnection) throws(StoreError) -> PatientFacts? {
        let statement = try connection.statement("SELECT facts FROM patient_facts WHERE patient = ?")
        statement.bind(1, patient.text)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        let bytes = statement.blob(0)
        if let cached = cache.facts(of: patient, storedAs: bytes) { return cached }
        do {
            return try PatientFacts(patient: patient, encoded: bytes)
        } catch {
            throw StoreError(.ioError, error.message)
        }
    }

    /// Writes the patient's facts, summary and alerts; returns the facts' stored bytes.
    @discardableResult
    private static func save(_ facts: PatientFacts, _ state: TreatmentState, _ connection: SQLiteConnection)
        throws(StoreError) -> [UInt8]
    {
        let patient = facts.patient.text
        let encoded = facts.encoded
        let factsStatement = try connection.statement(
            """
            INSERT INTO patient_facts (patient, folded_hlc, facts) VALUES (?, ?, ?)
            ON CONFLICT (patient) DO UPDATE SET folded_hlc = excluded.folded_hlc, facts = excluded.facts
            """)
        factsStatement.bind(1, patient)
        factsStatement.bind(2, facts.foldedHLC)
        factsStatement.bind(3, encoded)
        try factsStatement.run()

        let summary = try connection.statement(
            """
            INSERT OR REPLACE INTO patient_summary (patient, consent, course_status, sessions_planned,
                sessions_completed, last_injection_at, next_due_from, next_due_from_ms, next_due_to, next_due_to_ms,
                open_alerts, open_review_flags, open_side_effects, responder, state)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        summary.bind(1, patient)
        summary.bind(2, state.consent.rawValue)
        summary.bind(3, state.courseStatus.rawValue)
        summary.bind(4, state.sessionsPlanned.map(Int64.init))
        summary.bind(5, Int64(state.sessionsCompleted))
        summary.bind(6, TreatmentState.time(state.lastInjectionAt).stringValue)
        summary.bind(7, TreatmentState.time(state.nextDue?.from).stringValue)
        summary.bind(8, state.nextDue?.from)
        summary.bind(9, TreatmentState.time(state.nextDue?.to).stringValue)
        summary.bind(10, state.nextDue?.to)
        summary.bind(11, Int64(state.openAlerts.count))
        summary.bind(12, Int64(state.reviewFlags.filter { !$0.cleared }.count))
        summary.bind(13, Int64(state.openSideEffects.count))
        summary.bind(14, state.responder ? 1 : 0)
        summary.bind(15, String(decoding: CanonicalJSON.encode(state.storedJSONValue), as: UTF8.self))
        try summary.run()

        let clear = try connection.statement("DELETE FROM patient_alerts WHERE patient = ?")
        clear.bind(1, patient)
        try clear.run()
        let insert = try connection.statement(
            """
            INSERT OR IGNORE INTO patient_alerts (patient, kind, raised_by, raised_at, severity, review, cleared_by)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        for (flag, review) in state.alerts.map({ ($0, false) }) + state.reviewFlags.map({ ($0, true) }) {
            insert.bind(1, patient)
            insert.bind(2, flag.kind)
            insert.bind(3, String(decoding: CanonicalJSON.encode(.array(flag.raisedBy.map(JSONValue.string))), as: UTF8.self))
            insert.bind(4, Timestamp(millisecondsSinceEpoch: flag.raisedAt).text)
            insert.bind(5, Int64(review ? TreatmentState.reviewFlagSeverity : TreatmentState.severity(of: flag.kind)))
            insert.bind(6, review ? 1 : 0)
            insert.bind(7, flag.clearedBy)
            try insert.run()
        }
        return encoded
    }
}
