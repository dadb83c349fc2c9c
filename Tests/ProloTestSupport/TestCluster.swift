import Foundation
public import ProloPostgres
import ProloStore

/// A cluster of this test's own, started and stopped with `Tools/postgres-cluster.sh` (initdb in a temporary folder,
/// a free loopback port): a primary, or a synchronous streaming standby of one.
public struct TestCluster: Sendable {
    static let script = (Fixtures.repositoryRoot as NSString).appendingPathComponent("Tools/postgres-cluster.sh")
    public let folder: String
    public let url: PostgresURL

    /// Starts a primary on a free loopback port.
    public static func start() throws -> TestCluster { try TestCluster(["start"]) }
    /// Starts a synchronous streaming standby of `primary` (`synchronous_commit = remote_apply`).
    public static func standby(of primary: TestCluster) throws -> TestCluster { try TestCluster(["standby", primary.folder]) }

    /// Runs the script with its output in a file, and waits for it with `waitpid` (posix_spawn: the server it starts
    /// lives on after it and must hold nothing of this process; Foundation's Process was seen not to reap the
    /// script here).
    private static func run(_ arguments: [String]) throws -> String {
        let log = NSTemporaryDirectory() + "prolo-cluster-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let quoted = ([script] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let command = quoted.joined(separator: " ") + " </dev/null >'\(log)' 2>&1"
        let argv: [UnsafeMutablePointer<CChar>?] = ["/bin/bash", "-c", command].map { (text: String) in strdup(text) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, argv, environ)
        guard spawned == 0 else { throw StoreError(.internalError, "cannot run postgres-cluster.sh: error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw StoreError(.internalError, "postgres-cluster.sh \(arguments.joined(separator: " ")): \(output)")
        }
        return output
    }

    private init(_ arguments: [String]) throws {
        var exports: [String: String] = [:]
        for line in try Self.run(arguments).split(separator: "\n") {
            let pair = line.replacingOccurrences(of: "export ", with: "").split(separator: "=", maxSplits: 1)
            if pair.count == 2 { exports[String(pair[0])] = String(pair[1]) }
        }
        folder = exports["PROLO_PG_DIR"] ?? ""
        url = try PostgresURL(exports["PROLO_TEST_DATABASE_URL"] ?? "")
    }

    /// `stop`, `kill` (SIGKILL) or `promote`.
    public func command(_ verb: String) throws {
        _ = try Self.run([verb, folder])
    }
}

/// A task's result, or nil when it has not finished after a while (the task is cancelled and left behind).
public enum FirstOf {
    private final class Box<Value: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Value?, Never>?
        init(_ continuation: CheckedContinuation<Value?, Never>) { self.continuation = continuation }
        func resume(_ value: Value?) {
            lock.lock()
            let waiting = continuation
            continuation = nil
            lock.unlock()
            waiting?.resume(returning: value)
        }
    }

    public static func result<Success: Sendable>(of task: Task<Success, any Error>, orAfter timeout: Duration) async
        -> Result<Success, any Error>?
    {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<Success, any Error>?, Never>) in
            let box = Box(continuation)
            Task { box.resume(await task.result) }
            Task {
                try? await Task.sleep(for: timeout)
                task.cancel()
                box.resume(nil)
            }
        }
    }
}
