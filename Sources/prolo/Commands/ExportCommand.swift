import ArgumentParser
import Foundation
import ProloDomain
import ProloExport
import ProloStore

/// `prolo export …`: the records in other systems' formats.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export records for other systems: FHIR R4, and pseudonymous CSV for research.",
        subcommands: [Fhir.self, Csv.self])

    struct Fhir: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fhir",
            abstract:
                "A patient's record as one FHIR R4 Bundle, or every patient as Bulk Data, with every event's signature.",
            discussion: """
                Writes the Bundle (canonical JSON: the same store gives byte-identical output) to --out FILE or \
                stdout. One Provenance per event carries its Ed25519 signature and event hash; retracted facts are \
                entered-in-error, or absent where R4 has no such status. The read is written to the access log. \
                Codes, ids and decisions: Schemas/fhir-export.md. Exits 66 when the store holds no event of the patient.
                --all --bulk DIR writes every patient (or, with --since, those with events received after TIME) as \
                FHIR Bulk Data: one ndjson file per resource type and manifest.json, patient by patient in flat \
                memory, with progress on a terminal. --history writes the audit export: a history Bundle with every \
                version of every resource and each event's signed bytes as a Binary, which \
                Tools/verify-fhir-signatures.py checks without Prolo.
                """)

        @OptionGroup var options: StoreOptions

        @Option(name: .long, help: "The patient.")
        var patient: String?

        @Option(name: .long, help: ArgumentHelp("Write the Bundle to FILE instead of stdout.", valueName: "FILE"))
        var out: String?

        @Flag(name: .long, help: "Every patient (with --bulk).")
        var all = false

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Write FHIR Bulk Data into DIR (new or empty): one ndjson file per resource type and manifest.json.",
                valueName: "DIR"))
        var bulk: String?

        @Option(
            name: .long,
            help: ArgumentHelp(
                "With --bulk: only patients with events received after TIME (RFC 3339 UTC).", valueName: "TIME"))
        var since: String?

        @Option(name: .long, help: ArgumentHelp("The base of every fullUrl.", valueName: "URL"))
        var base = FHIRExportOptions.defaultBase

        @Flag(name: .long, help: "With --bulk: print the manifest as JSON.")
        var json = false

        @Flag(
            name: .long,
            help: "With --patient: the audit export, a history Bundle of every version and each event's signed bytes.")
        var history = false

        func validate() throws {
            if all != (bulk != nil) { throw ValidationError("--all and --bulk DIR go together") }
            if all == (patient != nil) { throw ValidationError("give --patient ID, or --all --bulk DIR") }
            if since != nil, bulk == nil { throw ValidationError("--since goes with --all --bulk DIR") }
            if out != nil, bulk != nil { throw ValidationError("--out is for one patient; --bulk names a directory") }
            if history, patient == nil { throw ValidationError("--history is for one patient (--patient ID)") }
        }

        func run() throws {
            try guarded {
                let store = try EventStore.open(
                    at: options.path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
                let reader = ExportOutput.reader(
                    of: store,
                    route: bulk != nil
                        ? "prolo export fhir --all" : history ? "prolo export fhir --history" : "prolo export fhir")
                let exportOptions = FHIRExportOptions(base: base)
                if let bulk {
                    let after = try since.map { text in
                        guard let time = try? Timestamp(checked: text) else {
                            throw Failure(.usage, "--since: \(text) is not an RFC 3339 UTC time")
                        }
                        return time
                    }
                    var bar = ProgressBar("exporting")
                    let manifest = try FHIRBulkExport.export(
                        from: store, to: bulk, since: after, options: exportOptions, reader: reader
                    ) { done, total in bar.update(done, of: total) }
                    bar.finish()
                    if json {
                        say(Output.json(manifest.json))
                    } else {
                        say(
                            "wrote \(manifest.resources) resources of \(manifest.patients) patients to \(bulk) "
                                + "(\(manifest.outputs.count) ndjson files, manifest.json; transactionTime \(manifest.transactionTime))"
                        )
                    }
                    return
                }
                let text = patient ?? ""
                guard let id = try? PatientID(checked: text) else {
                    throw Failure(.usage, "--patient: \(text) is not a patient id")
                }
                let result =
                    history
                    ? try FHIRHistoryExport.patientHistory(of: id, from: store, options: exportOptions, reader: reader)
                    : try FHIRExport.patientBundle(of: id, from: store, options: exportOptions, reader: reader)
                if let failure = result.accessLogFailure {
                    FileHandle.standardError.write(
                        Data(
                            "prolo: warning: this access was not written to the access log of \(store.path): \(failure.message)\n"
                                .utf8))
                }
                try ExportOutput.write(result.bytes + [0x0A], to: out)
            }
        }
    }
}

extension ExportCommand {
    struct Csv: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "csv",
            abstract: "Pain and disability outcomes for research: pseudonymous ids, days since the first injection.",
            discussion: """
                Writes into DIR (new or empty) measurements.csv (one row per score), sessions.csv (one row per patient \
                and injection session), patients.csv (baseline, last, drop and responder: >= 50 % drop in NRS or ODI at \
                the last follow-up) and dictionary.csv (every column). Patients are pseudonyms: HMAC-SHA256 of the \
                patient id under the clinic's pseudonym key in --key FILE (64 hex digits; made, mode 0600, when FILE \
                does not exist). The data custodian keeps it apart from the export and reuses it to get the same \
                pseudonyms next time; a study that must not be linked to another gets its own key; destroying it \
                ends the link. No names and no dates leave the store.
                """)

        @OptionGroup var options: StoreOptions

        @Option(name: .long, help: ArgumentHelp("The directory to write (new or empty).", valueName: "DIR"))
        var out: String

        @Option(
            name: .long,
            help: ArgumentHelp("The pseudonym key: 64 hex digits; made when missing.", valueName: "FILE"))
        var key: String

        func run() throws {
            try guarded {
                let store = try EventStore.open(
                    at: options.path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
                let secret = try Self.secret(at: key)
                let reader = ExportOutput.reader(of: store, route: "prolo export csv")
                var bar = ProgressBar("exporting")
                let summary = try ResearchCSV.export(from: store, to: out, key: secret, reader: reader) { done, total in
                    bar.update(done, of: total)
                }
                bar.finish()
                say(
                    "wrote \(summary.patients) patients, \(summary.measurements) measurements and \(summary.sessions) "
                        + "sessions to \(out) (dictionary.csv describes every column)")
            }
        }

        /// The 32-byte secret in `path` (64 hex digits), made with a random one when the file does not exist.
        static func secret(at path: String) throws -> [UInt8] {
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
                let bytes = stride(from: 0, to: hex.count, by: 2).compactMap { offset -> UInt8? in
                    let start = hex.index(hex.startIndex, offsetBy: offset)
                    return UInt8(hex[start..<hex.index(start, offsetBy: min(2, hex.count - offset))], radix: 16)
                }
                guard hex.count == 64, bytes.count == 32 else {
                    throw Failure(.dataError, "\(path) must hold 64 hex digits (a 32-byte secret)")
                }
                return bytes
            }
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let text = bytes.map { String(format: "%02x", $0) }.joined() + "\n"
            guard
                FileManager.default.createFile(
                    atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
            else { throw Failure(.cannotCreate, "cannot create the key file \(path)") }
            FileHandle.standardError.write(
                Data("prolo: made a new pseudonym key in \(path); keep it to get the same ids next time\n".utf8))
            return bytes
        }
    }
}

/// Where an export goes: a file (replaced whole, never half-written) or stdout.
enum ExportOutput {
    /// The person running an export at this machine, for the access log (as `prolo audit` names them).
    static func reader(of store: EventStore, route: String) -> AccessRecord {
        AccessRecord(
            device: store.identity.deviceName,
            scope: "local:\(ProcessInfo.processInfo.environment["USER"] ?? "unknown")",
            method: "CLI", route: route, status: 0, outcome: "ok")
    }

    static func write(_ bytes: [UInt8], to path: String?) throws {
        guard let path else {
            FileHandle.standardOutput.write(Data(bytes))
            return
        }
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw Failure(.cannotCreate, "cannot write \(path): \(error.localizedDescription)")
        }
    }
}
