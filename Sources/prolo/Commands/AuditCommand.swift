import ArgumentParser
import Foundation
import ProloAudit
import ProloDomain
import ProloPostgres
import ProloProjections
import ProloStore

/// `prolo audit …`: verify and replay the history.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify the whole history, replay past states, list timelines and accesses, write reports.",
        discussion: "Every audit command that reads a patient's record is itself written to the access log.",
        subcommands: [Verify.self, Replay.self, Timeline.self, Report.self, Access.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify every chain, link, hash, signature and enrollment; name the first broken link.",
            discussion: """
                Exits 0 when the history verifies, 65 at the first broken link. Memory does not grow with the log.
                With --database (or PROLO_DATABASE_URL and no --store), verifies a PostgreSQL database's log by the
                same rules; its append-only triggers are checked there too.
                """)

        @OptionGroup var options: StoreOptions
        @OptionGroup var database: DatabaseOptions

        @Flag(name: .long, help: "Print a JSON report.")
        var json = false

        func run() async throws {
            try await guardedAsync {
                var bar = ProgressBar("verifying")
                let report: VerificationReport
                if let url = try database.chosen(over: options) {
                    report = try await PostgresLog.with(url) { log throws(StoreError) in
                        try await log.verify { done, total in bar.update(done, of: total) }
                    }
                } else {
                    let store = try EventStore.open(at: options.path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
                    let accessor = AuditLog.accessor(store, command: "prolo audit verify")
                    report = AuditLog.warned(
                        try ChainVerifier.verify(store, for: accessor) { done, total in bar.update(done, of: total) })
                }
                bar.finish()
                if json {
                    say(Output.json(AuditOutput.verification(report)))
                } else if let problem = report.firstProblem {
                    say("NOT VERIFIED after \(report.eventsChecked) events")
                    say("first broken link: \(problem)")
                } else {
                    say("verified \(report.eventsChecked) events in \(report.heads.count) chains")
                    let held = [
                        (report.heldAfterRevocation, "after-revocation"), (report.heldBrokenPatientLinks, "broken-patient-link"),
                    ].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
                    if !held.isEmpty { say("held for review (see prolo alerts): \(held.joined(separator: ", "))") }
                    for head in report.heads {
                        say("  \(head.origin)  \(Output.pad(head.device ?? "-", 24))  head \(head.originSeq)  \(head.hash.prefix(16))")
                    }
                }
                if let problem = report.firstProblem { throw Failure(.dataError, "the history does not verify: \(problem)") }
            }
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The treatment state as the store knew it at a moment, or as the facts stood then.",
            discussion: """
                --by recorded (default): events this store had received by TIME — what the clinician could see.
                --by occurred: events that occurred by TIME, including those recorded later, with every correction
                of them now held — what really happened.
                Before a patient's first event counts, the answer is that nothing was known (or had occurred) yet,
                with the empty state; a patient of whom the store holds no event at all exits 66.
                """)

        @OptionGroup var options: StoreOptions

        @Option(name: .long, help: "The moment, RFC 3339 UTC.")
        var asOf: String

        @Option(name: .long, help: "recorded or occurred.")
        var by = "recorded"

        @Option(name: .long, help: "One patient (default: every patient).")
        var patient: String?

        @Flag(name: .long, help: "Print JSON (the shape of prolo patient show --json).")
        var json = false

        func run() throws {
            try guarded {
                guard let time = try? Timestamp(checked: asOf) else { throw Failure(.usage, "--as-of: \(asOf) is not an RFC 3339 UTC time") }
                guard let basis = AuditReplay.Basis(rawValue: by) else { throw Failure(.usage, "--by must be recorded or occurred") }
                let store = try EventStore.open(at: options.path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
                let patients = try patient.map { text in
                    guard let id = try? PatientID(checked: text) else { throw Failure(.usage, "--patient: \(text) is not a patient id") }
                    return [id]
                } ?? AuditReplay.patients(in: store)
                let accessor = AuditLog.accessor(store, command: "prolo audit replay")
                let states = try patients.map { id in
                    AuditLog.warned(try AuditReplay.state(of: id, in: store, asOf: time, by: basis, for: accessor))
                }
                if patient != nil, let state = states.first {
                    if json {
                        say(Output.json(state.jsonValue(at: time)))
                    } else if state.eventCount == 0 {
                        let yet = basis == .recorded ? "was known" : "had occurred"
                        say("nothing \(yet) yet of patient \(state.patient) as of \(time) (by \(basis.rawValue)): "
                            + "no event counts")
                    } else {
                        say(PatientText.describe(state, now: time))
                    }
                    return
                }
                // Every patient: those of whom nothing counts yet are left out.
                let counted = states.filter { $0.eventCount > 0 }
                if json {
                    say(Output.json(.array(counted.map { $0.jsonValue(at: time) })))
                } else {
                    for state in counted {
                        say(PatientText.describe(state, now: time))
                        say("")
                    }
                }
            }
        }
    }

    struct Timeline: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every event of a patient in canonical order: who, which device, occurred, recorded, received.")

        @OptionGroup var options: StoreOptions

        @Option(name: .long, help: "The patient.")
        var patient: String

        @Flag(name: .long, help: "Print a JSON array.")
        var json = false

        func run() throws {
            try guarded {
                guard let id = try? PatientID(checked: patient) else { throw Failure(.usage, "--patient: \(patient) is not a patient id") }
                let store = try EventStore.open(at: options.path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
                let accessor = AuditLog.accessor(store, command: "prolo audit timeline")
                let entries = AuditLog.warned(try AuditTimeline.entries(of: id, in: store, for: accessor))
                if json {
                    say(Output.json(.array(entries.map(AuditOutput.entry))))
                } else {
                    for entry in entries {
                        var line = [
                            Output.pad(entry.event.type.rawValue, 24), "occurred \(entry.event.occurredAt.text)",
                            "recorded \(entry.recordedAt.text)", "received \(entry.receivedAt.text)",
                            "by \(entry.event.author.id) on \(entry.device ?? entry.event.origin.text)",
                        ].joined(separator: "  ")
                        if let target = entry.corrects { line += "  corrects \(target)" }
                        if !entry.correctedBy.isEmpty { line += "  corrected by \(entry.correctedBy.map(\.text).joined(separator: ","))" }
                        say(line)
                    }
                }
            }
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a self-contained HTML report: course, pain chart with sessions, alerts, timeline, verification.")

        @OptionGroup var options: StoreOptions

        @Option(name: .long, help: "The patient.")
        var patient: String

        @Option(name: .long, help: "The HTML file to write (refuses to overwrite).")
        var out: String

        func run() throws {
            try guarded {
                guard let id = try? PatientID(checked: patient) else { throw Failure(.usage, "--patient: \(patient) is not a patient id") }
                guard !FileManager.default.fileExists(atPath: out) else { throw Failure(.cannotCreate, "\(out) already exists") }
                let projected = try options.openProjected()
                let page = AuditLog.warned(
                    try AuditReport.page(
                        of: id, in: projected, for: AuditLog.accessor(projected.store, command: "prolo audit report")))
                do {
                    try Data(page.utf8).write(to: URL(fileURLWithPath: out), options: .withoutOverwriting)
                } catch {
                    throw Failure(.cannotCreate, "cannot write \(out): \(error.localizedDescription)")
                }
                say(out)
            }
        }
    }

    struct Access: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List who read or wrote what, when and with what outcome (HIPAA 164.312(b)).")

        @OptionGroup var options: StoreOptions

        @Option(name: .long, help: "Only accesses to this patient's record.")
        var patient: String?

        @Flag(name: .long, help: "Print a JSON array.")
        var json = false

        func run() throws {
            try guarded {
                let store = try EventStore.open(at: options.path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
                let records = try store.accessLog(patient: patient)
                if json {
                    say(Output.json(.array(records.map(AuditOutput.access))))
                } else {
                    for record in records {
                        say([record.at.text, Output.pad(record.device ?? "-", 16), Output.pad(record.method, 5), Output.pad(record.route, 26),
                            Output.pad(record.patient ?? "-", 10), Output.pad(record.purpose ?? "-", 14), "\(record.status)", record.outcome]
                            .joined(separator: "  "))
                    }
                }
            }
        }
    }
}

/// The CLI's side of ProloAudit's access log: who reads, and a warning when a read was not logged.
enum AuditLog {
    /// The person running `command` at this machine, on the store's device.
    static func accessor(_ store: EventStore, command: String) -> AuditAccessor {
        .localUser(ProcessInfo.processInfo.environment["USER"] ?? "unknown", of: store, command: command)
    }

    /// What was read. A store this user may read but not write (a read-only copy, a read-only file system) still
    /// answers, and the command says on stderr that the access was not logged and why, rather than refusing the
    /// read or skipping the log in silence.
    static func warned<Value>(_ read: AuditRead<Value>) -> Value {
        if let warning = read.warning {
            FileHandle.standardError.write(Data("prolo: warning: \(warning)\n".utf8))
        }
        return read.value
    }
}

/// JSON forms of audit results.
enum AuditOutput {
    static func verification(_ report: VerificationReport) -> JSONValue {
        .object([
            "verified": .bool(report.isClean),
            "eventsChecked": .int(Int64(report.eventsChecked)),
            "heldAfterRevocation": .int(Int64(report.heldAfterRevocation)),
            "heldBrokenPatientLinks": .int(Int64(report.heldBrokenPatientLinks)),
            "heads": .array(report.heads.map { head in
                .object(["origin": .string(head.origin), "device": head.device.map(JSONValue.string) ?? .null,
                    "originSeq": .int(head.originSeq), "hash": .string(head.hash)])
            }),
            "firstProblem": report.firstProblem.map { problem in
                .object([
                    "kind": .string(problem.kind.rawValue), "origin": problem.origin.map(JSONValue.string) ?? .null,
                    "originSeq": problem.originSeq.map(JSONValue.int) ?? .null,
                    "eventId": problem.eventID.map(JSONValue.string) ?? .null, "message": .string(problem.message),
                ])
            } ?? .null,
        ])
    }

    static func entry(_ entry: TimelineEntry) -> JSONValue {
        .object([
            "seq": .int(entry.seq), "id": .string(entry.event.id.text), "type": .string(entry.event.type.rawValue),
            "origin": .string(entry.event.origin.text), "originSeq": .int(entry.event.originSeq),
            "device": entry.device.map(JSONValue.string) ?? .null,
            "author": .object(["id": .string(entry.event.author.id.text), "role": .string(entry.event.author.role.rawValue)]),
            "occurredAt": .string(entry.event.occurredAt.text), "recordedAt": .string(entry.recordedAt.text),
            "receivedAt": .string(entry.receivedAt.text),
            "corrects": entry.corrects.map { .string($0.text) } ?? .null,
            "correctedBy": .array(entry.correctedBy.map { .string($0.text) }),
        ])
    }

    static func access(_ record: AccessRecord) -> JSONValue {
        .object([
            "at": .string(record.at.text), "token": record.token.map(JSONValue.string) ?? .null,
            "device": record.device.map(JSONValue.string) ?? .null, "scope": record.scope.map(JSONValue.string) ?? .null,
            "method": .string(record.method), "route": .string(record.route),
            "patient": record.patient.map(JSONValue.string) ?? .null, "purpose": record.purpose.map(JSONValue.string) ?? .null,
            "status": .int(Int64(record.status)), "outcome": .string(record.outcome),
        ])
    }
}
