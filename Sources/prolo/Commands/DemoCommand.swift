import ArgumentParser
import Foundation

/// `prolo demo`: the whole system, run for real and narrated; `prolo demo story` fills one store.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole system for real in a temporary folder, narrated step by step.",
        discussion: """
            Two clinic servers on free loopback ports (one replicating the other), a clinician's laptop that records
            offline and syncs, a patient's home tablet that reports a fever after the second session, the alert it
            raises and its clearing, a bundle carried "by USB", and an auditor verifying both servers, replaying what
            the clinic knew before the third session and writing the HTML report. Every step is a real library or
            network call; every check must hold or the demo exits 1. `prolo demo story` fills a single store instead.
            """,
        subcommands: [DemoSystemCommand.self, DemoStoryCommand.self], defaultSubcommand: DemoSystemCommand.self)
}

/// The default: the narrated run of the whole system.
struct DemoSystemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "system", abstract: "The narrated run of the whole system (the default).")

    @Option(name: .long, help: "Run in this folder (created; must be empty if it exists) instead of a temporary one.")
    var dir: String?

    @Flag(name: .long, help: "Keep the folder (a temporary one is removed at the end otherwise).")
    var keep = false

    func run() async throws {
        try await guardedAsync {
            let folder = try prepareFolder()
            let keepFolder = keep || dir != nil
            var scenario = DemoScenario(folder: folder)
            let passed: Bool
            do {
                passed = try await scenario.run()
            } catch {
                if !keepFolder { try? FileManager.default.removeItem(atPath: folder) }
                throw error
            }
            if keepFolder {
                say("")
                say("the stores, keys, bundle and report are in \(folder)")
            } else {
                try? FileManager.default.removeItem(atPath: folder)
                say("(the folder was removed; run `prolo demo --keep` to keep it)")
            }
            if !passed { throw Failure(.software, "a check of the demo did not hold (see ✗ above)") }
        }
    }

    private func prepareFolder() throws -> String {
        if let dir {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) {
                guard isDirectory.boolValue, (try? FileManager.default.contentsOfDirectory(atPath: dir))?.isEmpty == true else {
                    throw Failure(.cannotCreate, "--dir \(dir) exists and is not an empty folder")
                }
                return dir
            }
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw Failure(.cannotCreate, "cannot create --dir \(dir): \(error.localizedDescription)")
            }
            return dir
        }
        let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("prolo-demo-\(UUID().uuidString.prefix(8).lowercased())")
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure(.cannotCreate, "cannot create \(folder): \(error.localizedDescription)")
        }
        return folder
    }
}
