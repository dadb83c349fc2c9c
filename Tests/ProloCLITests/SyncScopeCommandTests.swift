import Foundation
import ProloTestSupport
import Synchronization
import Testing

/// `prolo serve` running in the background on a free loopback port, for the length of a test.
final class ServeProcess {
    let process = Process()
    /// `http://127.0.0.1:PORT`.
    let url: String
    private let errors = Output()

    /// What the server wrote to stderr, appended by the pipe's reader.
    final class Output: Sendable {
        let text = Mutex("")
    }

    /// Starts `prolo serve --port 0` on `store` and waits until it says where it listens.
    init(store: String) throws {
        process.executableURL = URL(fileURLWithPath: CommandRunner.proloPath)
        process.arguments = ["serve", "--port", "0", "--store", store]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let errors = errors
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }  // the server closed stderr
            let text = String(decoding: data, as: UTF8.self)
            errors.text.withLock { $0 += text }
        }
        try process.run()
        var found: String?
        for _ in 0..<600 {
            let text = errors.text.withLock { $0 }
            if let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                found = String(text[range])
                break
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard let found else {
            process.terminate()
            process.waitUntilExit()
            throw ServeFailure(output: errors.text.withLock { $0 })
        }
        url = found
    }

    /// Stops the server (SIGTERM: a graceful shutdown) and waits for it.
    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    struct ServeFailure: Error, CustomStringConvertible {
        let output: String
        var description: String { "prolo serve did not report its port: \(output)" }
    }
}

/// A clinic made with the `prolo` binary: a root server store, home stores joined to it, tokens.
@Suite("prolo sync and token issue: scopes")
struct SyncScopeCommandTests {
    /// Runs `prolo` and requires exit 0; returns stdout without the final newline.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let result = try CommandRunner.prolo(arguments)
        try #require(result.status == 0, "prolo \(arguments.joined(separator: " ")): \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `prolo init` of a store joining `root`; returns the printed origin.
    @discardableResult
    static func join(_ path: String, name: String, root: String, patient: String? = nil) throws -> String {
        let output = try run(
            ["init", "--device-name", name, "--trust", root, "--store", path]
                + (patient.map { ["--patient", $0] } ?? []))
        return try #require(CLIStore.value(of: "origin", in: output))
    }

    /// Enrolls the store at `path` on `server` as `name`.
    static func enroll(_ path: String, name: String, role: String, patient: String? = nil, on server: String) throws {
        let key = try run(["device", "key", "--store", path])
        try run(
            ["device", "enroll", "--name", name, "--role", role, "--public-key", key, "--store", server]
                + (patient.map { ["--patient", $0] } ?? []))
    }

    /// Records pain reports for `patients` on the store at `path`.
    static func recordPain(_ patients: [String], on path: String, in directory: TemporaryDirectory) throws {
        for (index, patient) in patients.enumerated() {
            let file = directory.file("pain-\(UUID().uuidString).json")
            try Data(CLIStore.painPayload(score: 2 + index % 7, patient: patient).utf8).write(
                to: URL(fileURLWithPath: file))
            try run(["record", "--type", "pain.reported", "--patient", patient, "--file", file, "--store", path])
        }
    }

    @Test(
        "a store made without --patient, enrolled as a home device, refuses to sync with its patient token: exit 77, says how to make a home store, appends nothing; a home store syncs"
    )
    func homeDeviceThatForgotPatient() throws {
        try TemporaryDirectory.with { directory in
            let server = directory.file("server.sqlite")
            try Self.run(["init", "--clinic", "North Clinic", "--store", server])
            let root = try Self.run(["device", "key", "--store", server])
            // The server's chain interleaves two patients, so p-0001's slice of it has gaps.
            try Self.recordPain(
                ["p-0002", "p-0001", "p-0002", "p-0001", "p-0002", "p-0001"], on: server, in: directory)

            let forgot = directory.file("forgot.sqlite")
            try Self.join(forgot, name: "tablet", root: root)
            try Self.enroll(forgot, name: "tablet", role: "home", patient: "p-0001", on: server)
            let forgotToken = try Self.run([
                "token", "issue", "--device", "tablet", "--scope", "patient:p-0001", "--store", server,
            ])
            let home = directory.file("home.sqlite")
            try Self.join(home, name: "tablet-2", root: root, patient: "p-0001")
            try Self.enroll(home, name: "tablet-2", role: "home", patient: "p-0001", on: server)
            let homeToken = try Self.run([
                "token", "issue", "--device", "tablet-2", "--scope", "patient:p-0001", "--store", server,
            ])

            let vectorBefore = try Self.run(["vector", "--json", "--store", forgot])
            let logBefore = try Self.run(["log", "--json", "--store", forgot])
            let serve = try ServeProcess(store: server)
            defer { serve.stop() }

            let refused = try CommandRunner.prolo([
                "sync", "--server", serve.url, "--token", forgotToken, "--store", forgot,
            ])
            #expect(refused.status == 77, "exit \(refused.status): \(refused.stdout) \(refused.stderr)")
            #expect(refused.stderr.hasPrefix("prolo: error: "))
            #expect(
                refused.stderr.contains("prolo init --device-name NAME --trust ROOT --patient p-0001"),
                "\(refused.stderr)")
            #expect(refused.stderr.contains("nothing was appended"), "\(refused.stderr)")
            #expect(try Self.run(["vector", "--json", "--store", forgot]) == vectorBefore)
            #expect(try Self.run(["log", "--json", "--store", forgot]) == logBefore)
            #expect(
                try Self.run(["quarantine", "--store", forgot]) == (try Self.run(["quarantine", "--store", home])))

            // The same patient's home store, made with --patient, syncs: all of p-0001's reports, nothing waits.
            let synced = try CommandRunner.prolo([
                "sync", "--server", serve.url, "--token", homeToken, "--json", "--store", home,
            ])
            #expect(synced.status == 0, "\(synced.stderr)")
            let report = try #require(try JSONText.parse(synced.stdout) as? [String: Any])
            #expect(report["quarantined"] as? Int == 0, "\(synced.stdout)")
            #expect((report["new"] as? Int ?? 0) >= 3, "\(synced.stdout)")
        }
    }

    @Test(
        "token issue binds the token to one device: --device takes an origin, a name two devices share is refused with their origins, a patient token for a non-home device is refused"
    )
    func tokenIssueBindsToOrigin() throws {
        try TemporaryDirectory.with { directory in
            let server = directory.file("server.sqlite")
            try Self.run(["init", "--clinic", "North Clinic", "--store", server])
            let root = try Self.run(["device", "key", "--store", server])
            let first = try Self.join(directory.file("a.sqlite"), name: "laptop", root: root)
            let second = try Self.join(directory.file("b.sqlite"), name: "laptop", root: root)
            try Self.enroll(directory.file("a.sqlite"), name: "laptop", role: "clinic", on: server)
            try Self.enroll(directory.file("b.sqlite"), name: "laptop", role: "clinic", on: server)

            let ambiguous = try CommandRunner.prolo([
                "token", "issue", "--device", "laptop", "--scope", "clinic", "--store", server,
            ])
            #expect(ambiguous.status == 64, "\(ambiguous.stderr)")
            #expect(ambiguous.stderr.contains(first) && ambiguous.stderr.contains(second), "\(ambiguous.stderr)")

            let issued = try Self.run([
                "token", "issue", "--device", second, "--scope", "clinic", "--json", "--store", server,
            ])
            let object = try #require(try JSONText.parse(issued) as? [String: Any])
            #expect(object["origin"] as? String == second)
            #expect(object["device"] as? String == "laptop")

            let patient = try CommandRunner.prolo(
                ["token", "issue", "--device", first, "--scope", "patient:p-0001", "--store", server])
            #expect(patient.status == 64, "\(patient.stderr)")
            #expect(patient.stderr.contains("home device"), "\(patient.stderr)")

            let unknown = try CommandRunner.prolo([
                "token", "issue", "--device", "tablet", "--scope", "clinic", "--store", server,
            ])
            #expect(unknown.status == 66, "\(unknown.stderr)")

            let listed = try Self.run(["token", "list", "--json", "--store", server])
            let tokens = try #require(try JSONText.parse(listed) as? [[String: Any]])
            #expect(tokens.count == 1)
            #expect(tokens.first?["origin"] as? String == second)
        }
    }
}
