import Foundation
public import ProloDomain
public import ProloStore

/// The whole clinic as FHIR Bulk Data: one ndjson file per resource type (`Patient.ndjson`, `Observation.ndjson`
/// …, one resource per line, canonical JSON) and a `manifest.json` with `transactionTime` and
/// `output[{type, url, count}]`, in a directory.
///
/// Streamed a group of patients at a time (eight per core, built and encoded on every core, written in patient order,
/// so the files are the same whatever the cores): memory holds one group's records, the set of patient ids and of
/// devices written, never the clinic. With `since`, only the patients with an event received after it are written,
/// each with their whole record (a FHIR server loading it replaces those resources by id); the manifest's
/// `transactionTime` is the latest arrival seen, the `since` of the next incremental export.
public enum FHIRBulkExport {
    /// Every resource type a bulk export may write, in the order the mapping lists them (FHIR Bulk Data's `_type`).
    public static let resourceTypes = [
        "Patient", "Consent", "Encounter", "Observation", "ClinicalImpression", "Condition", "CarePlan", "Procedure",
        "Medication", "MedicationAdministration", "AdverseEvent", "Appointment", "DetectedIssue", "Flag", "Device",
        "Provenance",
    ]

    /// Writes the export into `directory` (created; refused when it exists and is not empty).
    ///
    /// With `types`, only resources of those types are written (every patient is still read). With `reader`, each
    /// patient's read is written to the access log (purpose `export-fhir-bulk`). `progress(done, total)` is called
    /// after each patient; when `isCancelled()` answers true before a patient, the export stops there and throws
    /// ``FHIRExportError/Code/cancelled``, leaving what it wrote so far for the caller to remove.
    ///
    /// `store` is any ``FHIRRecordSource``: a SQLite store, or a clinic hub's database read through its server; each
    /// group's events are read together, then built on every core from what was read.
    public static func export(
        from store: some FHIRRecordSource, to directory: String, since: Timestamp? = nil, types: Set<String>? = nil,
        options: FHIRExportOptions = .init(), reader: AccessRecord? = nil,
        progress: (Int, Int) -> Void = { _, _ in }, isCancelled: () -> Bool = { false }
    ) throws(FHIRExportError) -> FHIRBulkManifest {
        let devices: ClinicDevices
        let (patients, latest): (Set<PatientID>, Timestamp?)
        do {
            devices = try ClinicDevices.load(from: store)
            (patients, latest) = try store.patients(receivedAfter: since, registry: devices.registry)
        } catch {
            throw FHIRExportError(error)
        }
        try prepare(directory)
        let writer = NDJSONWriter(directory: directory)
        var devicesWritten: Set<String> = []
        let ordered = patients.sorted()
        // Patients are built and encoded on every core, a few at a time, and written in order by this thread, so
        // the files are the same as a one-core export's and memory holds one group of records.
        let group = max(1, Parallel.cores * 8)
        for first in stride(from: 0, to: ordered.count, by: group) {
            let members = Array(ordered[first..<min(ordered.count, first + group)])
            let read: [PatientID: [StoredEvent]]
            do {
                read = try store.events(of: members)
            } catch {
                throw FHIRExportError(error)
            }
            let records: [Result<[Line]?, FHIRExportError>]
            do {
                records = try Parallel.map(members, minimumPerWorker: 1) { patient in
                    Result { () throws(FHIRExportError) in
                        try lines(of: patient, events: read[patient] ?? [], devices: devices, options: options, types: types)
                    }
                }
            } catch {
                // The transform returns its errors as values; Parallel.map only rethrows what a transform throws.
                throw FHIRExportError(.output, "cannot build the records of \(members.count) patients: \(error)")
            }
            for (offset, (patient, record)) in zip(members, records).enumerated() {
                let done = first + offset
                if isCancelled() {
                    try? writer.finish()
                    throw FHIRExportError(
                        .cancelled, "the export was cancelled after \(done) of \(ordered.count) patients")
                }
                // nil: only administrative events name this home device's patient.
                if let record = try record.get() {
                    for line in record {
                        if line.type == "Device" {
                            guard devicesWritten.insert(line.id).inserted else { continue }
                        }
                        try writer.write(line.bytes, type: line.type)
                    }
                    _ = FHIRExport.logAccess(reader, patient: patient, purpose: "export-fhir-bulk", to: store)
                }
                progress(done + 1, ordered.count)
            }
        }
        try writer.finish()
        let manifest = FHIRBulkManifest(
            transactionTime: (latest ?? .now()).text,
            outputs: writer.counts.keys.sorted().map { ($0, NDJSONWriter.fileName(of: $0), writer.counts[$0] ?? 0) },
            patients: ordered.count, bytes: writer.bytes)
        let path = (directory as NSString).appendingPathComponent("manifest.json")
        do {
            try Data(CanonicalJSON.encode(manifest.json) + [0x0A]).write(
                to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw FHIRExportError(.output, "cannot write \(path): \(error.localizedDescription)")
        }
        return manifest
    }

    /// One resource of a patient's record as an ndjson line.
    struct Line: Sendable {
        let type: String
        let id: String
        let bytes: [UInt8]
    }

    /// The lines of `patient`'s record (of `types` only, when given) from the patient's `events`, in Bundle order;
    /// `nil` when the store holds no event of the patient's own (only administrative events about their home device).
    static func lines(
        of patient: PatientID, events: [StoredEvent], devices: ClinicDevices, options: FHIRExportOptions,
        types: Set<String>?
    ) throws(FHIRExportError) -> [Line]? {
        let resources: [FHIRResource]
        do {
            resources = try FHIRExport.resources(
                of: PatientEvents(patient: patient, events: events + devices.events(about: patient)), devices: devices,
                options: options)
        } catch where error.code == .noSuchPatient {
            return nil
        }
        return resources.filter { types?.contains($0.type) ?? true }.map {
            Line(type: $0.type, id: $0.id, bytes: NDJSONWriter.line($0))
        }
    }

    /// Creates `directory`, or accepts it when it exists and is empty.
    static func prepare(_ directory: String) throws(FHIRExportError) {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try? files.contentsOfDirectory(atPath: directory))?.isEmpty == true else {
                throw FHIRExportError(.output, "\(directory) exists and is not an empty directory; name a new one")
            }
            return
        }
        do {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw FHIRExportError(.output, "cannot create \(directory): \(error.localizedDescription)")
        }
    }
}

/// What a bulk export wrote: its manifest.
public struct FHIRBulkManifest: Sendable {
    /// The latest arrival among the events read: the `since` of the next incremental export.
    public let transactionTime: String
    /// One ndjson file per resource type: type, file name (relative to the manifest), resources in it.
    public let outputs: [(type: String, url: String, count: Int)]
    /// Patients written.
    public let patients: Int
    /// Bytes of ndjson written.
    public let bytes: Int

    /// Resources written, all types.
    public var resources: Int { outputs.reduce(0) { $0 + $1.count } }

    /// The manifest as FHIR Bulk Data writes it (`request`, `requiresAccessToken`, `output`, `error`), for files on
    /// disk: file names relative to the manifest, no token needed.
    public var json: JSONValue {
        json(request: "prolo export fhir --all --bulk", base: nil, requiresAccessToken: false)
    }

    /// The manifest as a Bulk Data server answers it: `request` the kick-off URL, each output's `url` the file name
    /// under `base` (`base/Patient.ndjson`; the bare name without a base).
    public func json(request: String, base: String?, requiresAccessToken: Bool) -> JSONValue {
        .object([
            "transactionTime": .string(transactionTime),
            "request": .string(request),
            "requiresAccessToken": .bool(requiresAccessToken),
            "output": .array(
                outputs.map { output in
                    .object([
                        "type": .string(output.type), "url": .string(base.map { $0 + "/" + output.url } ?? output.url),
                        "count": .int(Int64(output.count)),
                    ])
                }),
            "error": .array([]),
        ])
    }
}
