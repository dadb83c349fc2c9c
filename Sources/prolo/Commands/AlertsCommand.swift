import ArgumentParser
import ProloDomain
import ProloPostgres
import ProloProjections
import ProloStore

/// `prolo alerts`: uncleared alerts across all patients, most severe first; review flags after them.
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List uncleared alerts of every patient, most severe first.",
        discussion: """
            Order: neurological-red-flag and breathlessness-or-chest-pain; possible-infection and \
            allergic-reaction; serious-adverse-event, exam-red-flag and not-a-candidate; injection-while-red-flag \
            and lidocaine-dose; injection-without-consent, immediate-reaction and post-injection-headache; \
            fork-detected; session-cap and sessions-beyond-plan; session-too-soon; no-improvement; then review \
            flags (possible-duplicate, conflicting-amendments, after-close, intense-pain), and events the log holds \
            out of the read models: invalid-payload and unknown-schema-version (this build cannot read them), \
            after-revocation (a revoked device recorded them after its revocation), out-of-scope (a home device's \
            event about another patient), broken-patient-link (a device's event whose patientPrev does not name its \
            previous event about that patient). Rules, thresholds and sources: Schemas/clinical-rules.md; holds: \
            Schemas/sync.md and Schemas/envelope.md. Clear an alert with `prolo record clear-alert`. With --database \
            (or PROLO_DATABASE_URL and no --store), a clinic hub's PostgreSQL database.
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Print a JSON array of objects.")
    var json = false

    func run() async throws {
        try await guardedAsync {
            let alerts: [AlertRecord]
            if let url = try database.chosen(over: options) {
                alerts = try await readingHub(url) { log throws(StoreError) in try await log.openAlerts() }
            } else {
                alerts = try options.openProjected().openAlerts()
            }
            if json {
                say(
                    Output.json(
                        .array(
                            alerts.map {
                                .object([
                                    "patient": .string($0.patient), "kind": .string($0.kind),
                                    "raisedBy": .array($0.raisedBy.map(JSONValue.string)),
                                    "raisedAt": .string($0.raisedAt), "severity": .int(Int64($0.severity)),
                                    "review": .bool($0.isReviewFlag), "cleared": .bool(false),
                                ])
                            })))
            } else {
                for alert in alerts {
                    say(
                        [Output.pad(alert.patient, 14), Output.pad(alert.kind, 26), String(alert.raisedAt.prefix(10)),
                            alert.raisedBy.joined(separator: ",")].joined(separator: "  "))
                }
            }
        }
    }
}
