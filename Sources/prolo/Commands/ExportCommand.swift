import ArgumentParser
import Foundation
import ProloDomain
import ProloExport
import ProloStore

/// `prolo export …`: the records in other systems' formats.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export records for other systems: FHIR R4.",
        subcommands: [Fhir.self])

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
                let user = ProcessInfo.processInfo.environment["USER"] ?? "unknown"
                let reader = AccessRecord(
                    device: store.identity.deviceName, scope: "local:\(user)", method: "CLI",
                    route: bulk != nil
                        ? "prolo export fhir --all" : history ? "prolo export fhir --history" : "prolo export fhir",
                    status: 0, outcome: "ok")
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

/// Where an export goes: a file (replaced whole, never half-written) or stdout.
enum ExportOutput {
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
