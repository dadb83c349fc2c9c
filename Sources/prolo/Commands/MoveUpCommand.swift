import ArgumentParser
import Foundation
import ProloAudit
import ProloDomain
import ProloPostgres
import ProloStore

/// `prolo move-up`: a clinic server's SQLite store copied into PostgreSQL, verified before it is committed.
struct MoveUpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "move-up",
        abstract: "Copy this SQLite store into an empty PostgreSQL database, every event re-verified there.",
        discussion: """
            Copies the store's identity, device registry, every event (the same bytes, in the same order), review
            flags, fork evidence, quarantine and sync checkpoints in one transaction, then verifies the copy as
            `prolo audit verify --database` does before committing: a copy that does not verify is not committed.
            Read models are not copied; they are rebuilt from the events. Stop the server writing to the store
            first (events that arrive during the copy stay behind). Schemas/postgresql/README.md has the setup.
            Exits 0 when the copy is committed and verified, 65 when the store does not verify or the database is
            not empty, 74 when the database cannot be reached.
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Print a JSON report.")
    var json = false

    func run() async throws {
        try await guardedAsync {
            guard let url = try database.url() else {
                throw Failure(.usage, "name the PostgreSQL database with --database URL or PROLO_DATABASE_URL")
            }
            let store = try EventStore.open(at: options.path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
            let started = Date()
            var bar = ProgressBar("moving up")
            let report = try await PostgresLog.with(url) { log throws(StoreError) in
                try await log.moveUp(from: store) { _, done, total in bar.update(done, of: total) }
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(started)
            if json {
                say(Output.json(.object([
                    "database": .string(url.redacted), "events": .int(Int64(report.events)),
                    "origins": .int(Int64(report.origins)), "flags": .int(Int64(report.flags)),
                    "forks": .int(Int64(report.forks)), "quarantined": .int(Int64(report.quarantined)),
                    "peers": .int(Int64(report.peers)), "verification": AuditOutput.verification(report.verification),
                ])))
            } else {
                say("copied \(report.events) events of \(report.verification.heads.count) chains into \(url.redacted)")
                say("  registry \(report.origins) devices, \(report.flags) review flags, \(report.forks) forks, "
                    + "\(report.quarantined) in quarantine, \(report.peers) sync peers")
                say("  verified in the database: \(report.verification.eventsChecked) events, every hash and signature")
                say(String(format: "  %.1f s, %.0f events/s", seconds, Double(report.events) / max(seconds, 0.001)))
            }
        }
    }
}
