import Foundation
import ProloDomain
package import ProloStore

/// The treatment projection's tables (`patient_fold`, `patient_summary`, `patient_alerts`), kept current
/// inside every append transaction and recomputed by ``rebuild(_:policy:progress:)``.
///
/// Each patient's fold checkpoint is stored. An event that comes later in clinical time than everything folded is
/// folded onto it in the time of one event, whatever the patient's history. Each patient also has a base checkpoint
/// (`patient_fold_base`) placed ``baseLag`` facts behind the latest: an event recorded before the latest (a second device of
/// the patient, a laptop syncing at the end of the day) is folded, with the facts after the base's clinical time,
/// onto the base; only what neither can take (a correction, an event older than the base, a resolution an earlier
/// fold read) re-folds the patient from the log, which also places a new base. The property tests hold every path
/// to `rebuild` and to the pure fold.
package struct TreatmentReadModel: AppendObserver {
    /// The name in the `projections` table.
    static let name = "treatment"
    /// Bump when the fold or the tables change meaning: stores rebuild on open.
    static let version: Int64 = 6  // 2: issue 15's clinical rules read more payload fields; 3: fold checkpoints; 4: bases;
    // 5: checkpoints keep the latest fact's clinical position (format 3); 6: patient_summary without `state`
    /// How many of the patient's latest facts a base checkpoint leaves after it when it is placed.
    static let baseLag = 32

    let policy: TreatmentPolicy

    package func didAppend(_ events: [StoredEvent], in connection: SQLiteConnection) throws(StoreError) {
        // The facts (each payload inflated and parsed) on every core; the fold of each patient then in order.
        let patientEvents = events.map(\.event).filter { $0.patient != nil }
        let facts: [ClinicalFact]
        do {
            facts = try Parallel.map(patientEvents, minimumPerWorker: 32) { event in try Self.fact(of: event) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.internalError, "cannot read the facts of the events appended: \(error)")
        }
        var order: [PatientID] = []
        var byPatient: [PatientID: [ClinicalFact]] = [:]
        for (event, fact) in zip(patientEvents, facts) {
            guard let patient = event.patient else { continue }
            if byPatient[patient] == nil { order.append(patient) }
            byPatient[patient, default: []].append(fact)
        }
        for patient in order {
            let before = try Self.checkpoint(of: patient, policy: policy, connection)
            var checkpoint = before
            let arrived = byPatient[patient] ?? []
            for fact in arrived {
                guard var continuing = checkpoint, continuing.canContinue(with: fact) else {
                    checkpoint = nil
                    break
                }
                continuing.continue(with: fact)
                checkpoint = continuing
            }
            // An event the checkpoint cannot take: fold the facts after the base onto it, or, when the base cannot
            // take them either, fold the patient's events again (the arrived ones are in the log already).
            if let checkpoint {
                try Self.save(checkpoint, replacing: before, connection)
            } else if let folded = try foldAfterBase(patient, arrived: arrived, connection) {
                try Self.save(folded, replacing: before, connection)
            } else {
                try Self.save(try refold(patient, connection), replacing: before, connection)
            }
        }
    }

    /// Folds onto the patient's base checkpoint every foldable fact after its clinical time (the arrived ones are
    /// in the log already), placing a new base when the facts after the old one have grown past twice
    /// ``baseLag``; `nil` when there is no base, an arrived fact is not after it or is a correction, or a fact
    /// cannot continue (a correction's target, a resolution or an injection an earlier fact reads), and the patient
    /// must be folded again.
    func foldAfterBase(_ patient: PatientID, arrived: [ClinicalFact], _ connection: SQLiteConnection)
        throws(StoreError) -> FoldCheckpoint?
    {
        guard let base = try Self.base(of: patient, policy: policy, connection),
            arrived.allSatisfy({ $0.occurredAt > base.throughMs && !$0.isCorrection })
        else { return nil }
        // The derived occurred_ms column selects the rows; the signed occurred_at decides (a row whose two differ,
        // which `audit verify` reports, is left to the base when its signed time is not after it).
        let statement = try connection.statement(
            """
            SELECT \(RawRow.columns) FROM events INDEXED BY events_by_patient_time
            WHERE patient = ? AND occurred_ms > ? AND \(EventStore.foldableCondition)
            """)
        statement.bind(1, patient.text)
        statement.bind(2, base.throughMs)
        var facts: [ClinicalFact] = []
        do {
            while try statement.step() {
                // Every correction is in the base already (a new one re-folds the patient, which places a new base).
                let fact = try RawRow(statement, from: 0).fact()
                if fact.occurredAt > base.throughMs && !fact.isCorrection { facts.append(fact) }
            }
            statement.reset()
        } catch let error as StoreError {
            statement.reset()
            throw error
        } catch {
            statement.reset()
            throw StoreError(.ioError, "folding patient \(patient): \(error)")
        }
        facts.sort(by: ClinicalFact.clinicallyOrdered)
        let rebaseThrough = facts.count > 2 * Self.baseLag ? facts.count - Self.baseLag : nil
        var checkpoint = base.checkpoint
        var rebased: FoldBase?
        for (index, fact) in facts.enumerated() {
            guard checkpoint.canContinue(with: fact) else { return nil }
            checkpoint.continue(with: fact)
            if let rebaseThrough, rebased == nil, index + 1 >= rebaseThrough, index + 1 < facts.count,
                facts[index + 1].occurredAt > fact.occurredAt
            {
                rebased = FoldBase(throughMs: fact.occurredAt, checkpoint: checkpoint)
            }
        }
        if let rebased { try Self.saveBase(rebased, of: patient, connection) }
        return checkpoint
    }

    /// The patient's stored base checkpoint, or `nil`.
    static func base(of patient: PatientID, policy: TreatmentPolicy, _ connection: SQLiteConnection)
        throws(StoreError) -> FoldBase?
    {
        let statement = try connection.statement("SELECT through_ms, checkpoint FROM patient_fold_base WHERE patient = ?")
        statement.bind(1, patient.text)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return FoldBase(
            throughMs: statement.int64(0), checkpoint: try decoded(statement.blob(1), of: patient, policy: policy))
    }

    /// Stores the patient's base checkpoint, or removes it (`nil`: too few facts to keep one).
    private static func saveBase(_ base: FoldBase?, of patient: PatientID, _ connection: SQLiteConnection)
        throws(StoreError)
    {
        guard let base else {
            let statement = try connection.statement("DELETE FROM patient_fold_base WHERE patient = ?")
            statement.bind(1, patient.text)
            try statement.run()
            return
        }
        let statement = try connection.statement(
            "INSERT OR REPLACE INTO patient_fold_base (patient, through_ms, checkpoint) VALUES (?, ?, ?)")
        statement.bind(1, patient.text)
        statement.bind(2, base.throughMs)
        statement.bind(3, base.checkpoint.encoded)
        try statement.run()
    }

    /// The patient's stored checkpoint, or `nil` when none is stored.
    static func checkpoint(of patient: PatientID, policy: TreatmentPolicy, _ connection: SQLiteConnection)
        throws(StoreError) -> FoldCheckpoint?
    {
        let statement = try connection.statement("SELECT checkpoint FROM patient_fold WHERE patient = ?")
        statement.bind(1, patient.text)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return try decoded(statement.blob(0), of: patient, policy: policy)
    }

    /// A stored checkpoint's bytes read back; damaged bytes are an I/O error whose message says to rebuild.
    private static func decoded(_ bytes: [UInt8], of patient: PatientID, policy: TreatmentPolicy)
        throws(StoreError) -> FoldCheckpoint
    {
        do {
            return try FoldCheckpoint(patient: patient, policy: policy, encoded: bytes)
        } catch {
            throw StoreError(.ioError, error.message)
        }
    }

    /// Folds a patient's foldable events in the log from nothing.
    private func refold(_ patient: PatientID, _ connection: SQLiteConnection) throws(StoreError) -> FoldCheckpoint {
        let statement = try connection.statement(
            "SELECT \(RawRow.columns) FROM events WHERE patient = ? AND \(EventStore.foldableCondition)")
        statement.bind(1, patient.text)
        defer { statement.reset() }
        var raw = RawPatient(patient: patient)
        while try statement.step() { raw.rows.append(RawRow(statement, from: 0)) }
        let facts: PatientFacts
        do {
            facts = try raw.facts()
        } catch {
            throw StoreError(.ioError, "refolding patient \(patient): \(error.message)")
        }
        try Self.saveBase(FoldBase.behind(facts, lag: Self.baseLag, policy: policy), of: patient, connection)
        return TreatmentFold.checkpoint(of: facts, policy: policy)
    }

    // MARK: Rebuild

    /// Empties the tables and folds every patient again from the log, a few hundred patients at a time on
    /// every core while the next are read. Memory holds two chunks of events, not the log. Calls
    /// `progress(done, total)` as it goes.
    ///
    /// Held events (a payload an earlier build could not read) that this build reads are released first and
    /// folded; the rest stay held out.
    /// `chunkRows`: about how many events a chunk holds (whole patients: a chunk ends at the first patient after it).
    package static func rebuild(
        _ connection: SQLiteConnection, policy: TreatmentPolicy, chunkRows chunkSize: Int = 4096,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws(StoreError) {
        for table in ["patient_fold", "patient_fold_base", "patient_summary", "patient_alerts"] {
            try connection.execute("DELETE FROM \(table)")
        }
        try EventStore.releaseReadableHeldEvents(connection)
        let foldable = "patient IS NOT NULL AND \(EventStore.foldableCondition)"
        let total = Int(try connection.scalarInt("SELECT count(*) FROM events WHERE \(foldable)") ?? 0)
        let statement = try connection.statement(
            "SELECT patient, \(RawRow.columns) FROM events WHERE \(foldable) ORDER BY patient")
        // Pipelined: the connection's thread reads the next patients and saves the folded ones while the patients
        // read before fold on the other cores, so the fold's time hides behind the reading instead of adding to it.
        // At most two chunks are held at once, so memory stays flat whatever the log's size.
        typealias Folded = [(FoldCheckpoint, FoldBase?)]
        var chunk: [RawPatient] = []
        var chunkRows = 0
        var folding: (work: Parallel.Pending<Folded>, rows: Int)?
        var done = 0
        func save(_ pending: (work: Parallel.Pending<Folded>, rows: Int)?) throws(StoreError) {
            guard let pending else { return }
            let folded: Folded
            do {
                folded = try pending.work.wait()
            } catch let error as ProjectionError {
                throw StoreError(.ioError, "rebuild: \(error.message)")
            } catch {
                throw StoreError(.internalError, "rebuild: \(error)")
            }
            for (checkpoint, base) in folded {
                try Self.save(checkpoint, replacing: nil, connection)
                if let base { try saveBase(base, of: checkpoint.state.patient, connection) }
            }
            done += pending.rows
            progress(done, total)
        }
        func fold() throws(StoreError) {
            let patients = chunk
            let work = Parallel.start { () throws -> Folded in
                try Parallel.map(patients, minimumPerWorker: 8) { raw in
                    let facts = try raw.facts()
                    return (
                        TreatmentFold.checkpoint(of: facts, policy: policy),
                        FoldBase.behind(facts, lag: baseLag, policy: policy)
                    )
                }
            }
            let previous = folding
            folding = (work, chunkRows)
            chunk = []
            chunkRows = 0
            try save(previous)
        }
        while try statement.step() {
            let patientText = statement.text(0)
            if chunk.last?.patient.text != patientText {
                if chunkRows >= chunkSize { try fold() }
                guard let patient = try? PatientID(checked: patientText) else {
                    throw StoreError(.ioError, "an event has a malformed patient id \(patientText)")
                }
                chunk.append(RawPatient(patient: patient))
            }
            chunk[chunk.count - 1].rows.append(RawRow(statement, from: 1))
            chunkRows += 1
        }
        statement.reset()
        if !chunk.isEmpty { try fold() }
        try save(folding)
        if done == 0 { progress(0, total) }
        try markCurrent(connection)
    }

    /// Folds these patients again from the log, from nothing (events held out since they were folded leave their
    /// state); a patient with no foldable event left has no rows.
    package func refold(_ patients: Set<PatientID>, in connection: SQLiteConnection) throws(StoreError) {
        for patient in patients.sorted(by: { $0.text < $1.text }) {
            // The base is replaced (or removed) by the re-fold itself.
            for table in ["patient_fold", "patient_summary", "patient_alerts"] {
                let statement = try connection.statement("DELETE FROM \(table) WHERE patient = ?")
                statement.bind(1, patient.text)
                try statement.run()
            }
            let checkpoint = try refold(patient, connection)
            if checkpoint.state.eventCount > 0 { try Self.save(checkpoint, replacing: nil, connection) }
        }
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
        /// The columns it is read from, in order.
        static let columns = "id, origin, origin_seq, hlc, occurred_at, type, dict, body, schema_version"

        let id: String, origin: String, originSeq: Int64, hlc: Int64, occurredAt: String, type: String
        let dictionary: Int
        let body: [UInt8]
        let schemaVersion: Int

        /// Reads ``columns`` from the current row, starting at column `first`.
        init(_ statement: SQLiteStatement, from first: Int32) {
            id = statement.text(first)
            origin = statement.text(first + 1)
            originSeq = statement.int64(first + 2)
            hlc = statement.int64(first + 3)
            // The signed text, not the derived occurred_ms column (which no signature covers); parsed in `fact()`,
            // which a rebuild runs on every core.
            occurredAt = statement.text(first + 4)
            type = statement.text(first + 5)
            dictionary = Int(statement.int64(first + 6))
            body = statement.blob(first + 7)
            schemaVersion = Int(statement.int64(first + 8))
        }

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
                id: id, origin: origin, originSeq: originSeq, hlc: hlc,
                occurredAt: (try? Timestamp(checked: occurredAt))?.millisecondsSinceEpoch ?? 0, type: eventType,
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

    /// Writes the patient's checkpoint, summary and alerts (the alerts only when they changed from `before`'s).
    private static func save(_ checkpoint: FoldCheckpoint, replacing before: FoldCheckpoint?, _ connection: SQLiteConnection)
        throws(StoreError)
    {
        let state = checkpoint.finished()
        let patient = state.patient.text
        let fold = try connection.statement(
            """
            INSERT INTO patient_fold (patient, checkpoint) VALUES (?, ?)
            ON CONFLICT (patient) DO UPDATE SET checkpoint = excluded.checkpoint
            """)
        fold.bind(1, patient)
        fold.bind(2, checkpoint.encoded)
        try fold.run()

        let summary = try connection.statement(
            """
            INSERT OR REPLACE INTO patient_summary (patient, consent, course_status, sessions_planned,
                sessions_completed, last_injection_at, next_due_from, next_due_from_ms, next_due_to, next_due_to_ms,
                open_alerts, open_review_flags, open_side_effects, responder)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
        try summary.run()

        if let before {
            let previous = before.finished()
            if previous.alerts == state.alerts && previous.reviewFlags == state.reviewFlags { return }
        }
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
    }
}
