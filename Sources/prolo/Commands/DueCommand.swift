import ArgumentParser
import ProloDomain
import ProloPostgres
import ProloProjections
import ProloStore

/// `prolo due`: patients whose next session window opens within some days (overdue ones included).
struct DueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "due", abstract: "List patients due for their next session, soonest deadline first.",
        discussion: "With --database (or PROLO_DATABASE_URL and no --store), a clinic hub's PostgreSQL database.")

    @OptionGroup var options: StoreOptions
    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, help: "Include windows opening within this many days from today.")
    var within = 7

    @Flag(name: .long, help: "Print a JSON array of objects.")
    var json = false

    func validate() throws {
        guard (0...3650).contains(within) else { throw ValidationError("--within must be 0 to 3650 days") }
    }

    func run() async throws {
        try await guardedAsync {
            let now = Timestamp.now()
            let rows: [PatientSummary]
            if let url = try database.chosen(over: options) {
                let days = within
                rows = try await readingHub(url) { log throws(StoreError) in try await log.due(within: days, now: now) }
            } else {
                rows = try options.openProjected().due(within: within, now: now)
            }
            if json {
                say(Output.json(.array(rows.map { SummaryOutput.object($0, now: now) })))
            } else {
                rows.forEach { say(SummaryOutput.line($0, now: now)) }
            }
        }
    }
}
