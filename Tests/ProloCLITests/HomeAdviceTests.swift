import Foundation
import ProloDomain
import ProloProjections
import ProloTestSupport
import Testing

/// `prolo record` on a patient's home store (issue 15 item 5): a report that raises an urgent alert says at once,
/// offline, what to do, in the library's one wording (``UrgentAdvice``), and exits 0; the alert is in the store for
/// the clinic's next sync.
@Suite("Urgent advice on the home device")
struct HomeAdviceTests {
    /// A home store of p-0001 joined to the clinic whose root is a fresh clinic store in the same directory.
    private func homeStore(in directory: TemporaryDirectory) throws -> CLIStore {
        let clinic = try CLIStore(in: directory, name: "clinic.sqlite", deviceName: "north-server")
        let root = try #require(CLIStore.value(of: "public key", in: clinic.initOutput))
        return try CLIStore(
            in: directory, name: "home.sqlite", deviceName: "marens-tablet",
            initArguments: ["--trust", root, "--patient", "p-0001"])
    }

    private static func sideEffect(_ kinds: [String], grade: Int = 1, temperature: Double? = nil) -> String {
        let kindList = kinds.map { "\"\($0)\"" }.joined(separator: ",")
        let temperatureField = temperature.map { ",\"temperatureC\":\($0)" } ?? ""
        return
            #"{"reporter":{"role":"patient","id":"p-0001"},"onset":"2026-11-02T19:00:00Z","kinds":[\#(kindList)],"grade":\#(grade)\#(temperatureField)}"#
    }

    @Test(
        "breathlessness, a neurological red flag or an allergic reaction on a home store prints the library's advice and exits 0",
        arguments: [
            (["breathlessness"], AlertKind.breathlessnessOrChestPain), (["saddle-anaesthesia"], .neurologicalRedFlag),
            (["weakness"], .neurologicalRedFlag), (["allergic-reaction"], .allergicReaction),
        ])
    func advises(_ kinds: [String], _ alert: AlertKind) throws {
        try TemporaryDirectory.with { directory in
            let home = try homeStore(in: directory)
            let result = try home.record(
                Self.sideEffect(kinds), type: "side-effect.reported", patient: "p-0001",
                ["--occurred-at", "2026-11-02T19:05:00Z", "--role", "patient", "--author", "p-0001"])
            #expect(result.status == 0, "\(result.stderr)")
            let advice = try #require(UrgentAdvice.advice(for: alert))
            #expect(result.stderr.contains(advice.description), "stderr: \(result.stderr)")
            let id = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(id.count == 36, "stdout is still the event id: \(result.stdout)")
            let shown = try home.prolo(["patient", "show", "p-0001", "--json"])
            #expect(shown.stdout.contains(alert.rawValue), "the alert waits in the store for the next sync")
        }
    }

    @Test("a report that raises no urgent alert prints no advice on a home store")
    func quietWhenNotUrgent() throws {
        try TemporaryDirectory.with { directory in
            let home = try homeStore(in: directory)
            let result = try home.record(
                Self.sideEffect(["bruising"]), type: "side-effect.reported", patient: "p-0001",
                ["--occurred-at", "2026-11-02T19:05:00Z", "--role", "patient", "--author", "p-0001"])
            #expect(result.status == 0)
            #expect(!result.stderr.contains("URGENT"))
        }
    }

    @Test("on a clinic store the same report raises the alert but prints no patient advice")
    func clinicStoreGivesNoPatientAdvice() throws {
        try CLIStore.with { clinic in
            let result = try clinic.record(
                Self.sideEffect(["breathlessness"]), type: "side-effect.reported", patient: "p-0001",
                ["--occurred-at", "2026-11-02T19:05:00Z"])
            #expect(result.status == 0)
            #expect(!result.stderr.contains("URGENT"))
        }
    }
}
