import ArgumentParser
import ProloDomain
import ProloPostgres
import ProloProjections
import ProloStore

/// `prolo patients`: one row per patient.
struct PatientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patients", abstract: "List every patient with status, sessions, next due and alert count.",
        discussion: "With --database (or PROLO_DATABASE_URL and no --store), a clinic hub's PostgreSQL database.")

    @OptionGroup var options: StoreOptions
    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Print a JSON array of objects.")
    var json = false

    func run() async throws {
        try await guardedAsync {
            let rows: [PatientSummary]
            if let url = try database.chosen(over: options) {
                rows = try await readingHub(url) { log throws(StoreError) in try await log.patients() }
            } else {
                rows = try options.openProjected().patients()
            }
            let now = Timestamp.now()
            if json {
                say(Output.json(.array(rows.map { SummaryOutput.object($0, now: now) })))
            } else {
                rows.forEach { say(SummaryOutput.line($0, now: now)) }
            }
        }
    }
}

/// Renders a patient summary row.
enum SummaryOutput {
    static func object(_ row: PatientSummary, now: Timestamp) -> JSONValue {
        .object([
            "patient": .string(row.patient),
            "consent": .string(row.consent),
            "status": .string(row.courseStatus),
            "sessionsPlanned": row.sessionsPlanned.map { .int(Int64($0)) } ?? .null,
            "sessionsCompleted": .int(Int64(row.sessionsCompleted)),
            "lastInjectionAt": row.lastInjectionAt.map(JSONValue.string) ?? .null,
            "nextDue": row.nextDueFrom.flatMap { from in
                row.nextDueTo.map { .object(["from": .string(from), "to": .string($0)]) }
            } ?? .null,
            "overdue": .bool(row.overdue(at: now)),
            "alerts": .int(Int64(row.openAlerts)),
            "reviewFlags": .int(Int64(row.openReviewFlags)),
            "openSideEffects": .int(Int64(row.openSideEffects)),
            "responder": .bool(row.responder),
        ])
    }

    static func line(_ row: PatientSummary, now: Timestamp) -> String {
        let sessions = "\(row.sessionsCompleted)/\(row.sessionsPlanned.map(String.init) ?? "-")"
        let due = row.nextDueFrom.map { String($0.prefix(10)) + "…" + String((row.nextDueTo ?? "").prefix(10)) } ?? "-"
        return [
            Output.pad(row.patient, 14), Output.pad(row.courseStatus, 7), Output.pad(sessions, 6),
            Output.pad(due + (row.overdue(at: now) ? " OVERDUE" : ""), 32), "alerts \(row.openAlerts)",
        ].joined(separator: "  ")
    }
}
