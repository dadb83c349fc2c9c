import ArgumentParser
import ProloDomain
import ProloPostgres
import ProloStore

/// `prolo log`: lists events, one line each or as a JSON array.
struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "List events in local arrival order.",
        discussion: """
            Columns: local seq, occurred at, type, patient, origin/originSeq, short hash. With --database (or
            PROLO_DATABASE_URL and no --store), a clinic hub's PostgreSQL database.
            """
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, help: "Only this patient's events.")
    var patient: String?

    @Option(name: .long, help: "Only events of this type.")
    var type: String?

    @Option(name: .long, help: "Only the latest N events.")
    var limit: Int?

    @Flag(name: .long, help: "Print a JSON array of events with their payloads.")
    var json = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        try await guardedAsync {
            var filter = EventFilter()
            if let patient {
                do throws(PayloadError) { filter.patient = try PatientID(checked: patient) } catch {
                    throw Failure(.usage, "--patient: \(error.message)")
                }
            }
            if let type { filter.type = try EventType(checked: type) }
            if let limit {
                filter.limit = limit
                filter.newestFirst = true
            }
            var events: [StoredEvent]
            if let url = try database.chosen(over: options) {
                let selected = filter
                events = try await PostgresLog.with(url) { log throws(StoreError) in try await log.events(selected) }
            } else {
                events = try EventStore.open(at: options.path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
                    .events(filter)
            }
            if limit != nil { events.reverse() }
            if json {
                say(Output.json(.array(try events.map(Output.eventObject))))
            } else {
                for event in events { say(Output.line(event)) }
            }
        }
    }
}
