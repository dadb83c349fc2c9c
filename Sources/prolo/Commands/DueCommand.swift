import ArgumentParser
import ProloDomain
import ProloProjections
import ProloStore

/// `prolo due`: patients whose next session window opens within some days (overdue ones included).
struct DueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "due", abstract: "List patients due for their next session, soonest deadline first.")

    @OptionGroup var options: StoreOptions

    @Option(name: .long, help: "Include windows opening within this many days from today.")
    var within = 7

    @Flag(name: .long, help: "Print a JSON array of objects.")
    var json = false

    func validate() throws {
        guard (0...3650).contains(within) else { throw ValidationError("--within must be 0 to 3650 days") }
    }

    func run() throws {
        try guarded {
            let now = Timestamp.now()
            let rows = try options.openProjected().due(within: within, now: now)
            if json {
                say(Output.json(.array(rows.map { SummaryOutput.object($0, now: now) })))
            } else {
                rows.forEach { say(SummaryOutput.line($0, now: now)) }
            }
        }
    }
}
