import ArgumentParser
import Crypto
import Foundation
import ProloDomain
import ProloHTTPSync
import ProloProjections
import ProloStore
import ProloSync

/// `prolo sync …`: move events between devices.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Exchange events with other devices of the clinic.",
        discussion: """
            Bundles carry events for USB transfer and bulk initial load (Schemas/bundle.md): cut against the
            receiver's vector (`prolo vector --json` there), checksummed per block, and encrypted to the
            receiving clinic's bundle key (`prolo device key --bundle` there). Importing verifies every event
            against the device registry before storing it, one block per transaction.
            """,
        subcommands: [Online.self, Export.self, Import.self], defaultSubcommand: Online.self)

    struct Online: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "server",
            abstract: "Pull and push with a clinic server until in sync (the default: prolo sync --server URL --token T).",
            discussion: """
                Retries with backoff on network errors and resumes where it stopped: every batch is committed with
                its checkpoint, so running it again continues, and nothing is duplicated.
                """)

        @OptionGroup var options: StoreOptions

        @Option(name: .long, help: "The clinic server's URL, e.g. https://clinic.example:8787.")
        var server: String

        @Option(name: .long, help: "The bearer token the server issued to this device (env PROLO_TOKEN).")
        var token: String?

        @Flag(name: .long, help: "Print a JSON summary.")
        var json = false

        func run() async throws {
            try await guardedAsync {
                guard let token = token ?? ProcessInfo.processInfo.environment["PROLO_TOKEN"], !token.isEmpty else {
                    throw Failure(.usage, "give --token TOKEN (or PROLO_TOKEN)")
                }
                let store = try options.openProjected().store
                let client = HTTPSyncClient(server: server, token: token, store: store)
                let showProgress = isatty(STDERR_FILENO) == 1
                let report = try await client.sync { progress in
                    if showProgress {
                        FileHandle.standardError.write(Data("\rsyncing: \(progress.pulled) pulled, \(progress.pushed) pushed".utf8))
                    }
                }
                if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
                say(json ? Output.json(report.jsonValue) : report.summary(withServer: true))
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a bundle of what another device is missing.")

        @OptionGroup var options: StoreOptions

        @Option(name: .long, help: "The bundle file to write (refuses to overwrite).")
        var out: String

        @Option(
            name: .long,
            help: ArgumentHelp(
                "The receiver's vector as JSON (prolo vector --json, or --json --heads to also send a conflicting "
                    + "branch and fork evidence); default: everything.", valueName: "FILE"))
        var forVector: String?

        @Option(name: .long, help: "Only this patient's slice (for a home device).")
        var patient: String?

        @Option(name: .long, help: ArgumentHelp("Encrypt to this bundle key (base64 X25519).", valueName: "PUBLIC_KEY"))
        var recipient: String?

        @Flag(name: .long, help: "Print a JSON summary.")
        var json = false

        func run() throws {
            try guarded {
                var exportOptions = BundleExport.Options()
                if let forVector {
                    guard let data = FileManager.default.contents(atPath: forVector) else {
                        throw Failure(.noInput, "--for-vector: cannot read \(forVector)")
                    }
                    do throws(PayloadError) {
                        let value = try? JSONParser.parse(Array(data))
                        if let vector = value?["vector"], vector.objectValue != nil {
                            exportOptions.cutAgainst = try VersionVector(json: CanonicalJSON.encode(vector))
                            exportOptions.heads = try value?["heads"].map { json throws(PayloadError) in
                                try ChainHeads(json: json)
                            } ?? ChainHeads()
                        } else {
                            exportOptions.cutAgainst = try VersionVector(json: Array(data))
                        }
                    } catch {
                        throw Failure(.dataError, "--for-vector \(forVector): invalid at \(error.path): \(error.message)")
                    }
                }
                if let patient {
                    guard let id = try? PatientID(checked: patient) else { throw Failure(.usage, "--patient: \(patient) is not a patient id") }
                    exportOptions.patient = id
                }
                if let recipient {
                    guard let bytes = Data(base64Encoded: recipient), bytes.count == 32,
                        let key = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: bytes)
                    else { throw Failure(.usage, "--recipient: \"\(recipient.prefix(60))\" is not a base64 X25519 public key") }
                    exportOptions.recipient = key
                }
                let store = try options.openProjected().store
                let key = try DeviceKeyFile.load(from: DeviceKeyFile.path(forStore: store.path))
                var bar = ProgressBar("exporting")
                let total = Int(max(0, try store.versionVector().eventCount - exportOptions.cutAgainst.eventCount))
                let summary = try BundleExport.export(from: store, signedBy: key, to: out, options: exportOptions) { done in
                    bar.update(done, of: max(total, done))
                }
                bar.finish()
                if json {
                    say(
                        Output.json(
                            .object([
                                "out": .string(out), "events": .int(Int64(summary.events)), "blocks": .int(Int64(summary.blocks)),
                                "bytes": .int(summary.bytes), "encrypted": .bool(exportOptions.recipient != nil),
                            ])))
                } else {
                    say("wrote \(out): \(summary.events) events in \(summary.blocks) blocks, \(summary.bytes) bytes"
                        + (exportOptions.recipient == nil ? " (not encrypted)" : " (encrypted)"))
                }
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify and import a bundle.",
            discussion: """
                Prints how many events were new, already present and quarantined. A bundle cut off mid-way keeps
                every whole block and exits 65 saying where it was cut; import the complete bundle later to finish.
                """)

        @OptionGroup var options: StoreOptions

        @Argument(help: "The bundle file.")
        var file: String

        @Flag(name: .long, help: "Print a JSON summary.")
        var json = false

        func run() throws {
            try guarded {
                guard FileManager.default.fileExists(atPath: file) else { throw Failure(.noInput, "no bundle at \(file)") }
                let store = try options.openProjected().store
                let key = try DeviceKeyFile.load(from: DeviceKeyFile.path(forStore: store.path))
                let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int).flatMap { $0 } ?? 0
                var bar = ProgressBar("importing")
                let report = try BundleImport.import(from: file, into: store, key: key) { _, bytes in
                    bar.update(Int(bytes), of: max(size, Int(bytes)))
                }
                bar.finish()
                say(json ? Output.json(report.jsonValue) : report.summary(withServer: false))
            }
        }
    }
}
