import Crypto
import Foundation
import ProloDomain
public import ProloProjections
public import ProloStore

/// The research export (`prolo export csv`): pain and disability outcomes for analysis, without names or dates.
///
/// Writes into a directory: `measurements.csv` (long form: one row per score), `sessions.csv` (wide form: one row per
/// patient and injection session), `patients.csv` (baseline, last, drop and the responder rule of the treatment fold:
/// a drop of at least `responderDropPercent`, 50 %, in NRS or ODI at the last follow-up) and `dictionary.csv`
/// (every column: type, unit, meaning). Patients appear as pseudonyms (``pseudonym(of:key:)``: HMAC-SHA256 of the
/// patient id under a 32-byte pseudonym key that the clinic keeps out of the export); times as calendar days (UTC)
/// since the patient's first injection. Retracted facts are left out and amended ones read as corrected, as in the
/// treatment state. Streamed patient by patient, in pseudonym order.
///
/// The pseudonym key is a secret of its own, held by the clinic's data custodian (`prolo export csv --key FILE`), not
/// one derived from a device's signing key. That is what a research-ethics board asks of a linkage key: the same key
/// gives the same pseudonyms on every export of the clinic, whichever desk runs it and however often device keys are
/// replaced, so follow-up exports join the earlier ones; a study that must not be joined with another gets a key of
/// its own; without the key no one, the researchers included, can go from a pseudonym back to an id or recompute one
/// from an id; and destroying the key ends the link for good without touching the clinic's signatures.
public enum ResearchCSV {
    /// Every column of the export, as `dictionary.csv` lists them: file, column, type, unit, meaning.
    public static let dictionary: [(file: String, column: String, type: String, unit: String, meaning: String)] = [
        (
            "*", "subject", "string", "",
            "pseudonymous patient id: S + 16 hex digits of HMAC-SHA256 of the id under the clinic's pseudonym key; "
                + "the same for the same key; neither reversible nor computable without it"
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
    /// pseudonym key. With `reader`, each patient's read goes to the access log (`export-csv`).
    ///
    /// Refused, with nothing written, when the key is not 32 bytes; refused when two patients' pseudonyms collide
    /// (under one chance in 30 million for a million patients: take another key).
    public static func export(
        from store: EventStore, to directory: String, key: [UInt8], policy: TreatmentPolicy = .standard,
        reader: AccessRecord? = nil, progress: (Int, Int) -> Void = { _, _ in }
    ) throws(FHIRExportError) -> ResearchCSVSummary {
        guard key.count == 32 else {
            throw FHIRExportError(.output, "the pseudonym key must be 32 bytes, not \(key.count)")
        }
        let pseudonymKey = SymmetricKey(data: key)
        let devices: ClinicDevices
        let patients: Set<PatientID>
        do {
            devices = try ClinicDevices.load(from: store)
            patients = try store.patients(receivedAfter: nil, registry: devices.registry).patients
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
        if let clash = zip(ordered, ordered.dropFirst()).first(where: { $0.0.pseudonym == $0.1.pseudonym }) {
            throw FHIRExportError(
                .output,
                "patients \(clash.0.patient) and \(clash.1.patient) have the same pseudonym under this key; "
                    + "take another key")
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

    /// What the pseudonym's HMAC is computed over, ahead of the patient id: names the use, so that the same key
    /// used for anything else never yields these values.
    public static let pseudonymLabel = "prolo research pseudonym v1"

    /// A patient's pseudonym under a 32-byte key: `S` and the first 16 hex digits (64 bits) of
    /// HMAC-SHA256(key, ``pseudonymLabel`` + 0x00 + the patient id in UTF-8).
    ///
    /// Guarantees: the same key and id give the same pseudonym on any machine, at any time; without the key the
    /// pseudonym tells nothing of the id (HMAC is a pseudorandom function), and no one can compute an id's
    /// pseudonym, so a guessable id (`p-0001`) cannot be looked up either; another key gives unrelated pseudonyms.
    public static func pseudonym(of patient: PatientID, key: [UInt8]) -> String {
        pseudonym(of: patient, key: SymmetricKey(data: key))
    }

    static func pseudonym(of patient: PatientID, key: SymmetricKey) -> String {
        let message = Array(pseudonymLabel.utf8) + [0] + Array(patient.text.utf8)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: key)
        return "S" + code.prefix(8).map { String(format: "%02x", $0) }.joined()
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
