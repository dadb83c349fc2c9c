import ArgumentParser
import Foundation
import ProloDomain
import ProloPostgres
import ProloProjections
import ProloStore

/// `prolo patient show ID`: one patient's treatment state.
struct PatientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patient", abstract: "Read one patient's treatment state.", subcommands: [Show.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a patient's course, pain trend, side effects, alerts and review flags.",
            discussion: """
                Exits 66 when the store holds no event of the patient. With --database (or PROLO_DATABASE_URL and \
                no --store), a clinic hub's PostgreSQL database.
                """)

        @OptionGroup var options: StoreOptions
        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The patient id.", valueName: "ID"))
        var patient: String

        @Flag(name: .long, help: "Print the state as a JSON object.")
        var json = false

        func run() async throws {
            try await guardedAsync {
                guard let id = try? PatientID(checked: patient) else {
                    throw Failure(.usage, "ID: \(patient) is not a patient id (\(IdentifierRule.expectation))")
                }
                let found: TreatmentState?
                let place: String
                if let url = try database.chosen(over: options) {
                    found = try await readingHub(url) { log throws(StoreError) in try await log.state(of: id) }
                    place = url.redacted
                } else {
                    let store = try options.openProjected()
                    found = try store.state(of: id)
                    place = store.store.path
                }
                guard let state = found else {
                    throw Failure(.noInput, "no events of patient \(id) in \(place)")
                }
                let now = Timestamp.now()
                say(json ? Output.json(state.jsonValue(at: now)) : PatientText.describe(state, now: now))
            }
        }
    }
}

/// The human-readable form of a treatment state.
enum PatientText {
    static func describe(_ state: TreatmentState, now: Timestamp) -> String {
        var lines: [String] = []
        lines.append("patient        \(state.patient)")
        lines.append("consent        \(state.consent.rawValue)")
        var course = state.courseStatus.rawValue
        if let reason = state.closingReason { course += " (\(reason))" }
        lines.append("course         \(course)")
        lines.append("sessions       \(state.sessionsCompleted) of \(state.sessionsPlanned.map(String.init) ?? "?")")
        if let last = state.lastInjectionAt { lines.append("last injection \(day(last))") }
        if let due = state.nextDue {
            lines.append("next due       \(day(due.from)) … \(day(due.to))\(state.overdue(at: now) ? "  OVERDUE" : "")")
        }
        lines.append("pain NRS       \(pain(state.baselinePain.nrs, state.latestPain.nrs, state.improvementPercent.nrs))")
        lines.append("ODI            \(pain(state.baselinePain.odi, state.latestPain.odi, state.improvementPercent.odi))")
        lines.append("responder      \(state.responder ? "yes" : "no")")
        for effect in state.openSideEffects {
            let days = effect.daysSinceInjection.map { ", \($0) d after injection" } ?? ""
            lines.append("side effect    grade \(effect.grade) \(effect.kinds.joined(separator: "+"))\(days) (\(effect.event))")
        }
        if !state.adjunctTherapies.isEmpty {
            let therapies = state.adjunctTherapies.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
            lines.append("adjuncts       \(therapies.joined(separator: ", "))")
        }
        for flag in state.alerts {
            lines.append("alert          \(flag.kind)\(flag.cleared ? " (cleared)" : "") by \(flag.raisedBy.joined(separator: ", "))")
        }
        for flag in state.reviewFlags {
            lines.append("review         \(flag.kind)\(flag.cleared ? " (cleared)" : "") by \(flag.raisedBy.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }

    static func day(_ milliseconds: Int64) -> String {
        String(Timestamp(millisecondsSinceEpoch: milliseconds).text.prefix(10))
    }

    private static func pain(_ baseline: Int?, _ latest: Int?, _ percent: Double?) -> String {
        let text = "\(baseline.map(String.init) ?? "-") → \(latest.map(String.init) ?? "-")"
        guard let percent else { return text }
        let change = (-percent).rounded()
        return text + (change == 0 ? " (no change)" : String(format: " (%+.0f %%)", change))
    }
}
