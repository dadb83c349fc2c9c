import ArgumentParser
import ProloDomain
import ProloProjections
import ProloStore

/// `prolo quarantine`: events received but not admitted, with the reason.
struct QuarantineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "List events received but not admitted (unknown or revoked device, gap, outside scope), with why.")

    @OptionGroup var options: StoreOptions

    @Flag(name: .long, help: "Print a JSON array.")
    var json = false

    func run() throws {
        try guarded {
            let events = try options.openProjected().store.quarantine()
            if json {
                say(
                    Output.json(
                        .array(
                            events.map {
                                .object([
                                    "id": .string($0.id.text), "origin": .string($0.origin.text),
                                    "originSeq": .int($0.originSeq), "reason": .string($0.reason),
                                ])
                            })))
            } else {
                for event in events { say("\(event.id)  \(event.origin.text.prefix(12))/\(event.originSeq)  \(event.reason)") }
            }
        }
    }
}
