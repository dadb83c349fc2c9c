import ArgumentParser
import Foundation
import ProloDomain
import ProloPostgres
import ProloProjections
import ProloStore

/// `prolo rebuild`: recompute every read model from the log.
struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Recompute every read model from the event log.",
        discussion: """
            One transaction: on failure the previous read models stay. Shows progress on a terminal. With --database \
            (or PROLO_DATABASE_URL and no --store), a clinic hub's PostgreSQL database: appends wait for the rebuild.
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Print a JSON summary.")
    var json = false

    func run() async throws {
        try await guardedAsync {
            var bar = ProgressBar("rebuilding")
            let start = Date()
            let patients: Int
            if let url = try database.chosen(over: options) {
                patients = try await PostgresLog.with(url) { log throws(StoreError) in
                    try await log.rebuildReadModels { done, total in bar.update(done, of: total) }
                    return try await log.patients().count
                }
            } else {
                let store = try options.openProjected()
                try store.rebuild { done, total in bar.update(done, of: total) }
                patients = try store.patients().count
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(start)
            if json {
                say(Output.json(.object(["patients": .int(Int64(patients)), "seconds": .double(seconds)])))
            } else {
                say("rebuilt read models of \(patients) patients in \(String(format: "%.2f", seconds)) s")
            }
        }
    }
}
