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
            abstract: "A patient's record as one FHIR R4 collection Bundle, with every event's signature.",
            discussion: """
                Writes the Bundle (canonical JSON: the same store gives byte-identical output) to --out FILE or \
                stdout. One Provenance per event carries its Ed25519 signature and event hash; retracted facts are \
                entered-in-error, or absent where R4 has no such status. The read is written to the access log. \
                Codes, ids and decisions: Schemas/fhir-export.md. Exits 66 when the store holds no event of the patient.
                """)

        @OptionGroup var options: StoreOptions

        @Option(name: .long, help: "The patient.")
        var patient: String

        @Option(name: .long, help: ArgumentHelp("Write the Bundle to FILE instead of stdout.", valueName: "FILE"))
        var out: String?

        @Option(name: .long, help: ArgumentHelp("The base of every fullUrl.", valueName: "URL"))
        var base = FHIRExportOptions.defaultBase

        func run() throws {
            try guarded {
                guard let id = try? PatientID(checked: patient) else { throw Failure(.usage, "--patient: \(patient) is not a patient id") }
                let store = try EventStore.open(at: options.path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
                let reader = AccessRecord(
                    device: store.identity.deviceName, scope: "local:\(ProcessInfo.processInfo.environment["USER"] ?? "unknown")",
                    method: "CLI", route: "prolo export fhir", status: 0, outcome: "ok")
                let result = try FHIRExport.patientBundle(of: id, from: store, options: FHIRExportOptions(base: base), reader: reader)
                if let failure = result.accessLogFailure {
                    FileHandle.standardError.write(
                        Data("prolo: warning: this access was not written to the access log of \(store.path): \(failure.message)\n".utf8))
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
