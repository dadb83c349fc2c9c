import ArgumentParser
import Foundation
import ProloDomain
import ProloProjections
import ProloStore

/// `prolo rebuild`: recompute every read model from the log.
struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Recompute every read model from the event log.",
        discussion: "One transaction: on failure the previous read models stay. Shows progress on a terminal.")

    @OptionGroup var options: StoreOptions

    @Flag(name: .long, help: "Print a JSON summary.")
    var json = false

    func run() throws {
        try guarded {
            let store = try options.openProjected()
            var bar = ProgressBar("rebuilding")
            let start = Date()
            try store.rebuild { done, total in bar.update(done, of: total) }
            bar.finish()
            let patients = try store.patients().count
            let seconds = Date().timeIntervalSince(start)
            if json {
                say(Output.json(.object(["patients": .int(Int64(patients)), "seconds": .double(seconds)])))
            } else {
                say("rebuilt read models of \(patients) patients in \(String(format: "%.2f", seconds)) s")
            }
        }
    }
}
