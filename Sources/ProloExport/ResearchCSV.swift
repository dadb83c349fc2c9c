import Foundation
import ProloDomain
public import ProloProjections
public import ProloStore

/// The research export (`prolo export csv`): pain and disability outcomes for analysis, without names or dates.
///
/// Writes into a directory: `measurements.csv` (long form: one row per score), `sessions.csv` (wide form: one row per
/// patient and injection session), `patients.csv` (baseline, last, drop and the responder rule of the treatment fold:
/// a drop of at least `responderDropPercent`, 50 %, in NRS or ODI at the last follow-up) and `dictionary.csv`
/// (every column: type, unit, meaning). Patients appear as pseudonyms keyed by a 32-byte secret that stays out of the
/// export; times as calendar days (UTC) since the patient's first injection. Retracted facts are left out and amended ones
/// read as corrected, as in the treatment state. Streamed patient by patient, in pseudonym order.
public enum ResearchCSV {
    /// Every column of the export, as `dictionary.csv` lists them: file, column, type, unit, meaning.
    public static let dictionary: [(file: String, column: String, type: String, unit: String, meaning: String)] = [
        (
            "*", "subject", "string", "",
            "pseudonymous patient id: the same for the same secret key, unlinkable without it"
        ),
        (
            "measurements.csv", "instrument", "code", "",
            "nrs (0-10), vas (0-100 mm), odi (0-100 %), roland-morris (0-24)"
        ),
        ("measurements.csv", "score", "integer", "per instrument", "the score; an amended report reads as corrected"),
        (
            "measurements.csv", "day", "integer", "days",
            "calendar days (UTC) since the first injection (negative before); empty without one"
        ),
        (
            "measurements.csv", "session", "integer", "",
            "injection sessions given at or before the measurement (0 at baseline)"
        ),
        ("measurements.csv", "source", "code", "", "exam (a clinician's exam) or report (pain.reported)"),
        ("measurements.csv", "reporter", "code", "", "patient or clinician"),
        ("sessions.csv", "session", "integer", "", "1 for the first injection session, then 2, 3 ..."),
        ("sessions.csv", "day", "integer", "days", "calendar days (UTC) since the first injection (0 for session 1)"),
        ("sessions.csv", "dextrose_mg_per_ml", "decimal", "mg/mL", "dextrose concentration of the solution"),
        ("sessions.csv", "lidocaine_mg_per_ml", "decimal", "mg/mL", "lidocaine concentration; empty when none"),
        ("sessions.csv", "sites", "integer", "", "sites injected"),
        ("sessions.csv", "volume_ml", "decimal", "mL", "total volume injected"),
        ("sessions.csv", "nrs_before", "integer", "0-10", "the latest NRS at or before the session; empty when none"),
        ("sessions.csv", "odi_before", "integer", "%", "the latest ODI at or before the session; empty when none"),
        ("sessions.csv", "side_effects_14d", "integer", "", "side effects with onset within 14 days after the session"),
        ("sessions.csv", "max_grade_14d", "integer", "CTCAE 1-5", "the highest grade among them; empty when none"),
        ("patients.csv", "sessions", "integer", "", "injection sessions given"),
        ("patients.csv", "baseline_nrs", "integer", "0-10", "NRS at baseline (the exam before the first injection)"),
        ("patients.csv", "last_nrs", "integer", "0-10", "the last NRS recorded"),
        ("patients.csv", "nrs_drop_percent", "decimal", "%", "(baseline - last) / baseline x 100"),
        ("patients.csv", "baseline_odi", "integer", "%", "ODI at baseline"),
        ("patients.csv", "last_odi", "integer", "%", "the last ODI recorded"),
        ("patients.csv", "odi_drop_percent", "decimal", "%", "(baseline - last) / baseline x 100"),
        (
            "patients.csv", "responder", "boolean", "",
            "true when NRS or ODI dropped by at least 50 % at the last follow-up"
        ),
    ]

    /// Writes the four files into `directory` (created; refused when it exists and is not empty). `key`: the 32-byte
    /// secret of the pseudonyms. With `reader`, each patient's read goes to the access log (`export-csv`).
    public static func export(
        from store: EventStore, to directory: String, key: [UInt8], policy: TreatmentPolicy = .standard,
        reader: AccessRecord? = nil, progress: (Int, Int) -> Void = { _, _ in }
    ) throws(FHIRExportError) -> ResearchCSVSummary {
        guard key.count == 32, let pseudonymKey = try? DeviceKey(seed: key) else {
            throw FHIRExportError(.output, "the pseudonym key must be 32 bytes, not \(key.count)")
        }
        let devices: ClinicDevices
        let patients: Set<PatientID>
        do {
            devices = try ClinicDevices.load(from: store)
            patients = try FHIRBulkExport.patients(in: store, receivedAfter: nil, devices: devices).0
        } catch {
            throw FHIRExportError(error)
        }
        try FHIRBulkExport.prepare(directory)
        func file(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        let columns = { (name: String) in ["subject"] + dictionary.filter { $0.file == name }.map(\.column) }
        let measurements = try CSVTable(path: file("measurements.csv"), header: columns("measurements.csv"))
        let sessions = try CSVTable(path: file("sessions.csv"), header: columns("sessions.csv"))
        let summaries = try CSVTable(path: file("patients.csv"), header: columns("patients.csv"))
        let ordered = patients.map { (pseudonym: pseudonym(of: $0, key: pseudonymKey), patient: $0) }.sorted {
            $0.pseudonym < $1.pseudonym
        }
        for (done, (subject, patient)) in ordered.enumerated() {
            let events: PatientEvents
            do {
                events = try PatientEvents.load(patient, from: store, devices: devices)
            } catch {
                throw FHIRExportError(error)
            }
            let record = ResearchRecord(events: events, policy: policy)
            for row in record.measurementRows { try measurements.write([subject] + row) }
            for row in record.sessionRows { try sessions.write([subject] + row) }
            try summaries.write([subject] + record.summaryRow)
            _ = FHIRExport.logAccess(reader, patient: patient, purpose: "export-csv", to: store)
            progress(done + 1, ordered.count)
        }
        for table in [measurements, sessions, summaries] { try table.finish() }
        let described = try CSVTable(
            path: file("dictionary.csv"), header: ["file", "column", "type", "unit", "meaning"])
        for entry in dictionary {
            try described.write([entry.file, entry.column, entry.type, entry.unit, entry.meaning])
        }
        try described.finish()
        return ResearchCSVSummary(patients: ordered.count, measurements: measurements.rows, sessions: sessions.rows)
    }

    /// A patient's pseudonym: `S` and 16 hex digits of the R half of the deterministic Ed25519 signature (RFC 8032)
    /// of the patient id by a key made from the secret; R is a point derived from a SHA-512 keyed by the secret and
    /// the message, so without the secret the pseudonym tells nothing of the id, and with it, it is the same each time.
    static func pseudonym(of patient: PatientID, key: DeviceKey) -> String {
        let signature = (try? key.signature(for: Array(patient.text.utf8))) ?? []
        return "S" + signature.prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}

/// What a research export wrote.
public struct ResearchCSVSummary: Sendable, Hashable {
    /// Patients (rows of patients.csv).
    public let patients: Int
    /// Rows of measurements.csv.
    public let measurements: Int
    /// Rows of sessions.csv.
    public let sessions: Int
}
