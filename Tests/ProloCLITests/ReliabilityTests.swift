import Foundation
import ProloTestSupport
import Testing

/// The short runs of the reliability harness in `Tools/harness/` (the long runs and their figures are in
/// `Tools/RELIABILITY.md`). Each test runs one Python script against the built `prolo` binary and expects exit 0,
/// then reads the figures the script wrote with `--json-out` and checks the ones that must be zero.
///
/// Each script prints its random seed; a failure is replayed with the same command plus `--seed N --keep`.
/// Together the three take about two minutes on two cores; they run one after another, since the crash test's
/// kill timing and the network test's fault mix are calibrated for an otherwise quiet `prolo`.
@Suite(
    "reliability harness, short runs", .serialized,
    .requires(.python3, "the reliability harness is not run"),
    .requires(.sqlite3, "the reliability harness is not run (it checks stores with PRAGMA integrity_check)"))
struct ReliabilityTests {
    /// Runs `Tools/harness/SCRIPT` with the built binary and a file for the figures; returns the result and figures.
    private static func harness(_ script: String, _ arguments: [String]) throws -> (CommandResult, [String: Any]) {
        try TemporaryDirectory.with { directory in
            let figures = directory.file("figures.json")
            let path = (Fixtures.repositoryRoot as NSString).appendingPathComponent("Tools/harness/\(script)")
            let result = try CommandRunner.run(
                try #require(RequiredTool.python3.path),
                [path, "--prolo", CommandRunner.proloPath, "--json-out", figures] + arguments)
            let data = FileManager.default.contents(atPath: figures) ?? Data("{}".utf8)
            let parsed = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            return (result, parsed)
        }
    }

    /// The integer figures of one section of the script's JSON (other values, such as seconds, are left out).
    private static func counts(_ figures: [String: Any], _ section: String) -> [String: Int] {
        (figures[section] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
    }

    /// The end of the script's output, where its summary table and any failure are.
    private static func tail(_ result: CommandResult) -> String {
        let lines = (result.stdout + result.stderr).split(separator: "\n", omittingEmptySubsequences: false)
        return lines.suffix(60).joined(separator: "\n")
    }

    @Test(
        "crash-test: 25 × kill -9 of record-batch / sync import, and 2 × of the server under 6 concurrent syncs",
        .timeLimit(.minutes(5)))
    func crashSafety() throws {
        let (result, figures) = try Self.harness(
            "crash-test.py",
            [
                "--kills", "25", "--bundle-events", "600", "--devices", "6", "--device-events", "100",
                "--server-kills", "2", "--kill-window", "1",
            ])
        #expect(result.status == 0, "crash-test.py failed:\n\(Self.tail(result))")
        let store = Self.counts(figures, "store")
        let server = Self.counts(figures, "server")
        #expect(store["kills"] == 25, "\(store)")
        #expect(store["lost", default: 0] == 0 && store["half-applied", default: 0] == 0, "\(store)")
        #expect(server["devices converged"] == 6 && server["lost", default: 0] == 0, "\(server)")
    }

    @Test(
        "disk-full: a full disk and a file-size limit roll the batch back with exit 74; read-only stores refuse writes",
        .timeLimit(.minutes(5)))
    func diskFullAndReadOnly() throws {
        let (result, figures) = try Self.harness("disk-full.py", ["--batch", "1500", "--limits", "2"])
        #expect(result.status == 0, "disk-full.py failed:\n\(Self.tail(result))")
        #expect((figures["problems"] as? [Any])?.isEmpty == true, "\(figures["problems"] ?? "no figures")")
    }

    @Test(
        "network-faults: 60 syncs through a proxy that drops, resets, truncates and delays; all converge",
        .timeLimit(.minutes(5)))
    func networkFaults() throws {
        let (result, figures) = try Self.harness("network-faults.py", ["--attempts", "60"])
        #expect(result.status == 0, "network-faults.py failed:\n\(Self.tail(result))")
        let sync = Self.counts(figures, "sync")
        #expect(sync["proxied attempts"] == 60, "\(sync)")
        #expect(sync["devices converged"] == 5, "\(sync)")
        #expect(sync["lost", default: 0] == 0 && sync["duplicates", default: -1] == 0, "\(sync)")
    }
}
