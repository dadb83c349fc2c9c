// `prolo serve` as a child process: started on a free loopback port, its resident set sampled, stopped with
// SIGTERM (the graceful path).
import Foundation
import ProloBenchSupport
import ProloPostgres

#if canImport(Glibc)
    import Glibc
#endif

/// A failure of the benchmark itself, with what to do about it.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A real `prolo serve --store PATH --port 0` running beside this process; its log (stderr) goes to a file.
final class ServeProcess: Sendable {
    let pid: Int32
    let url: String
    let port: Int
    let logPath: String
    private let process: Process
    /// The database made for this server (`start(store:database:)`): the cluster's URL and the database's name.
    private let database: (admin: String, name: String)?

    private init(process: Process, port: Int, logPath: String, database: (admin: String, name: String)?) {
        self.process = process
        self.pid = process.processIdentifier
        self.port = port
        self.url = "http://127.0.0.1:\(port)"
        self.logPath = logPath
        self.database = database
    }

    /// The `prolo` binary beside this one (the same release scratch folder), or `$PROLO_BIN`.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["PROLO_BIN"] { return path }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent("prolo").path
    }

    /// Starts the server on `store` and returns once it prints the port it listens on (up to `timeout` s). With
    /// `database` (a PostgreSQL URL whose user may create databases), the store is first moved up into a new database
    /// of that cluster with `prolo move-up`, and the server runs on it (`prolo serve --database`).
    static func start(store: String, database: String? = nil, timeout: Double = 120) async throws -> ServeProcess {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError(
                "no prolo binary at \(binary): build it (swift build -c release --product prolo) or set PROLO_BIN")
        }
        var backend: [String] = []
        var made: (admin: String, name: String)?
        if let database {
            let (url, name) = try await Self.newDatabase(in: database)
            made = (database, name)
            BenchProgress.note("moving the server's store up into PostgreSQL")
            try Self.runToEnd(["move-up", "--store", store, "--database", url], log: store + ".move-up.log")
            // The pool sized to this 2-core machine, which PostgreSQL shares with the server and the load: 200 devices
            // at once ran p99 0.93 s with 12 connections, 1.83 s with 40 (more backends competing for the same cores;
            // Tools/BENCHMARKS.md, b10). PROLO_BENCH_CONNECTIONS tries another size.
            let connections = ProcessInfo.processInfo.environment["PROLO_BENCH_CONNECTIONS"] ?? "12"
            backend = ["--database", url, "--connections", connections]
        }
        let logPath = store + ".serve.log"
        guard FileManager.default.createFile(atPath: logPath, contents: nil),
            let log = FileHandle(forWritingAtPath: logPath)
        else { throw BenchError("cannot write \(logPath)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--store", store, "--port", "0"] + backend
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log.close()
        let start = now()
        while seconds(since: start) < timeout {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("serving ") && $0.contains("http://") }
            ),
                let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) })
            {
                return ServeProcess(process: process, port: port, logPath: logPath, database: made)
            }
            guard process.isRunning else {
                throw BenchError(
                    "prolo serve exited (\(process.terminationStatus)) before listening: \(text.suffix(500))")
            }
            usleep(50_000)
        }
        process.terminate()
        throw BenchError("prolo serve did not report its port within \(Int(timeout)) s; see \(logPath)")
    }

    /// A new, empty database in the cluster `admin` names; its URL and name (``finish()`` drops it).
    private static func newDatabase(in admin: String) async throws -> (url: String, name: String) {
        guard var components = URLComponents(string: admin) else { throw BenchError("not a PostgreSQL URL: \(admin)") }
        let name = "prolo_bench_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        try await PostgresLog.administer(try PostgresURL(admin), "CREATE DATABASE \(name)")
        components.path = "/" + name
        guard let url = components.string else { throw BenchError("cannot name database \(name) in \(admin)") }
        return (url, name)
    }

    /// Runs `prolo ARGUMENTS` to its end, its output in `log`; throws when it fails.
    private static func runToEnd(_ arguments: [String], log logPath: String) throws {
        guard FileManager.default.createFile(atPath: logPath, contents: nil), let log = FileHandle(forWritingAtPath: logPath)
        else { throw BenchError("cannot write \(logPath)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
        process.waitUntilExit()
        try? log.close()
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw BenchError("prolo \(arguments.first ?? "") exited \(process.terminationStatus): \(text.suffix(500))")
        }
    }

    /// The server's current resident set (VmRSS), in MiB.
    var residentMegabytes: Double { statusMegabytes("VmRSS", pid: pid) }
    /// The server's peak resident set (VmHWM), in MiB.
    var peakMegabytes: Double { statusMegabytes("VmHWM", pid: pid) }

    /// Stops the server (``stop()``) and drops the database made for it, so a day of runs leaves none behind in the
    /// cluster (a run that fails before this leaves its database, named `prolo_bench_PID_…`).
    func finish() async {
        stop()
        guard let database, let admin = try? PostgresURL(database.admin) else { return }
        do {
            try await PostgresLog.administer(admin, "DROP DATABASE IF EXISTS \(database.name) WITH (FORCE)")
        } catch {
            BenchProgress.note("could not drop the benchmark's database \(database.name): \(error)")
        }
    }

    /// Sends SIGTERM and waits until the server has exited; returns its exit status.
    @discardableResult
    func stop() -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }
}
