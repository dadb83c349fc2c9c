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
/// fold read) re-folds the patient from the log, which also places a new base. Which path a patient takes and what
/// its rows say is ``PatientFoldUpdate``'s rule, which the PostgreSQL hub's read model performs too; this type
/// reads and writes the SQLite tables. The property tests hold every path to `rebuild` and to the pure fold.
package struct TreatmentReadModel: AppendObserver {
    /// The name in the `projections` table (of either backend).
    package static let name = "treatment"
    /// Bump when the fold or the tables change meaning: stores rebuild on open, a PostgreSQL hub when it starts.
    package static let version: Int64 = 6  // 2: issue 15's clinical rules read more payload fields; 3: fold checkpoints; 4: bases;
    // 5: checkpoints keep the latest fact's clinical position (format 3); 6: patient_summary without `state`
    /// The read models' tables (`Schemas/sqlite/treatment-projection/`), this module's own: the store applies them when
    /// it is created or opened with the projection. A store made before tracks holds them at version 1 when its
    /// `user_version` had reached 10 (the store's migrations 2, 6, 9 and 10 made them until then).
    package static let schema = SchemaTrack(
        name: "treatment-projection", migrations: migrations, versionBeforeTracks: { $0 >= 10 ? 1 : 0 })
    package var schema: SchemaTrack { Self.schema }

    /// How many of the patient's latest facts a base checkpoint leaves after it when it is placed.
    static let baseLag = PatientFoldUpdate.baseLag

    let policy: TreatmentPolicy

    package func didAppend(_ events: [StoredEvent], in connection: SQLiteConnection) throws(StoreError) {
        // The facts (each payload inflated and parsed) on every core; the fold of each patient then in order, by the
        // rule both backends share (PatientFoldUpdate), reading only what it asks for.
        for (patient, arrived) in try PatientFoldUpdate.arrived(events) {
            var update = try PatientFoldUpdate(
                patient: patient, arrived: arrived, checkpoint: try Self.storedCheckpoint(of: patient, connection),
                policy: policy)
            folding: while true {
                switch update.next() {
                case .write(let rows):
                    try Self.save(rows, connection)
                    break folding
                case .read(.base):
                    let base = try Self.storedBase(of: patient, connection)
                    try update.supplyBase(throughMs: base?.throughMs, checkpoint: base?.checkpoint)
                case .read(.factsAfter(let throughMs)):
                    update.supplyFacts(try Self.facts(of: patient, after: throughMs, connection))
                case .read(.allFacts):
                    update.supplyFacts(try Self.facts(of: patient, after: nil, connection))
                }
            }
        }
    }

    /// The patient's stored base checkpoint's bytes, or `nil`.
    private static func storedBase(of patient: PatientID, _ connection: SQLiteConnection)
        throws(StoreError) -> PatientRows.StoredBase?
    {
        let statement = try connection.statement("SELECT through_ms, checkpoint FROM patient_fold_base WHERE patient = ?")
        statement.bind(1, patient.text)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return PatientRows.StoredBase(throughMs: statement.int64(0), checkpoint: statement.blob(1))
    }

    /// The patient's stored checkpoint's bytes, or `nil`.
    static func storedCheckpoint(of patient: PatientID, _ connection: SQLiteConnection)
        throws(StoreError) -> [UInt8]?
    {
        let statement = try connection.statement("SELECT checkpoint FROM patient_fold WHERE patient = ?")
        statement.bind(1, patient.text)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return statement.blob(0)
    }

    /// The patient's foldable facts in the log, or those whose derived `occurred_ms` is after `throughMs`.
    private static func facts(of patient: PatientID, after throughMs: Int64?, _ connection: SQLiteConnection)
        throws(StoreError) -> [ClinicalFact]
    {
        let statement: SQLiteStatement
        if let throughMs {
            statement = try connection.statement(
                """
                SELECT \(RawRow.columns) FROM events INDEXED BY events_by_patient_time
                WHERE patient = ? AND occurred_ms > ? AND \(EventStore.foldableCondition)
                """)
            statement.bind(2, throughMs)
        } else {
            statement = try connection.statement(
                "SELECT \(RawRow.columns) FROM events WHERE patient = ? AND \(EventStore.foldableCondition)")
        }
        statement.bind(1, patient.text)
        defer { statement.reset() }
        var facts: [ClinicalFact] = []
        do {
            while try statement.step() { facts.append(try RawRow(statement, from: 0).fact()) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.ioError, "folding patient \(patient): \(error)")
        }
        return facts
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
        typealias Folded = [PatientRows]
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
            for rows in folded { try Self.save(rows, connection) }
            done += pending.rows
            progress(done, total)
        }
        func fold() throws(StoreError) {
            let patients = chunk
            let work = Parallel.start { () throws -> Folded in
                try Parallel.map(patients, minimumPerWorker: 8) { raw in
                    PatientFoldUpdate.refolded(try raw.facts(), policy: policy)
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
            var facts = PatientFacts(patient: patient)
            for fact in try Self.facts(of: patient, after: nil, connection) { facts.insert(fact) }
            try Self.save(PatientFoldUpdate.refolded(facts, policy: policy), connection)
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

    /// Writes what the fold decided (``PatientRows``): the base, and unless the patient has no foldable event left,
    /// the checkpoint, the summary and the alerts (when they changed).
    private static func save(_ rows: PatientRows, _ connection: SQLiteConnection) throws(StoreError) {
        let patient = rows.patient.text
        switch rows.base {
        case .keep:
            break
        case .replace(nil):
            let statement = try connection.statement("DELETE FROM patient_fold_base WHERE patient = ?")
            statement.bind(1, patient)
            try statement.run()
        case .replace(let base?):
            let statement = try connection.statement(
                "INSERT OR REPLACE INTO patient_fold_base (patient, through_ms, checkpoint) VALUES (?, ?, ?)")
            statement.bind(1, patient)
            statement.bind(2, base.throughMs)
            statement.bind(3, base.checkpoint)
            try statement.run()
        }
        guard !rows.isEmpty else { return }
        let fold = try connection.statement(
            """
            INSERT INTO patient_fold (patient, checkpoint) VALUES (?, ?)
            ON CONFLICT (patient) DO UPDATE SET checkpoint = excluded.checkpoint
            """)
        fold.bind(1, patient)
        fold.bind(2, rows.checkpoint)
        try fold.run()

        let row = rows.summary
        let summary = try connection.statement(
            """
            INSERT OR REPLACE INTO patient_summary (patient, consent, course_status, sessions_planned,
                sessions_completed, last_injection_at, next_due_from, next_due_from_ms, next_due_to, next_due_to_ms,
                open_alerts, open_review_flags, open_side_effects, responder)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        summary.bind(1, patient)
        summary.bind(2, row.consent)
        summary.bind(3, row.courseStatus)
        summary.bind(4, row.sessionsPlanned)
        summary.bind(5, row.sessionsCompleted)
        summary.bind(6, row.lastInjectionAt)
        summary.bind(7, row.nextDueFrom)
        summary.bind(8, row.nextDueFromMs)
        summary.bind(9, row.nextDueTo)
        summary.bind(10, row.nextDueToMs)
        summary.bind(11, row.openAlerts)
        summary.bind(12, row.openReviewFlags)
        summary.bind(13, row.openSideEffects)
        summary.bind(14, row.responder ? 1 : 0)
        try summary.run()

        guard let alerts = rows.alerts else { return }
        let clear = try connection.statement("DELETE FROM patient_alerts WHERE patient = ?")
        clear.bind(1, patient)
        try clear.run()
        let insert = try connection.statement(
            """
            INSERT OR IGNORE INTO patient_alerts (patient, kind, raised_by, raised_at, severity, review, cleared_by)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        for alert in alerts {
            insert.bind(1, patient)
            insert.bind(2, alert.kind)
            insert.bind(3, alert.raisedBy)
            insert.bind(4, alert.raisedAt)
            insert.bind(5, alert.severity)
            insert.bind(6, alert.review ? 1 : 0)
            insert.bind(7, alert.clearedBy)
            try insert.run()
        }
    }
}
