import ArgumentParser
import ProloDomain
import ProloStore

/// `prolo show`: one event with its envelope and payload.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one event and its payload.")

    @OptionGroup var options: StoreOptions

    @Argument(help: "The event id (a UUID).")
    var eventID: String

    @Flag(name: .long, help: "Print the event as JSON.")
    var json = false

    func run() throws {
        try guarded {
            let id: EventID
            do throws(PayloadError) { id = try EventID(checked: eventID) } catch { throw Failure(.usage, "EVENT_ID: \(error.message)") }
            let store = try EventStore.open(at: options.path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
            guard let stored = try store.event(id: id) else {
                throw Failure(.noInput, "no event \(id) in \(store.path)")
            }
            let object = try Output.eventObject(stored)
            if json {
                say(Output.json(object))
                return
            }
            let event = stored.event
            say("event        \(event.id)")
            say("type         \(event.type.rawValue) v\(event.schemaVersion)")
            say("patient      \(event.patient?.text ?? "-")")
            say("occurred at  \(event.occurredAt)")
            say("received at  \(stored.receivedAt) (local seq \(stored.seq))")
            say("author       \(event.author.id) (\(event.author.role.rawValue))")
            say("origin       \(event.origin) #\(event.originSeq)")
            say("hlc          \(event.hlc)")
            say("prev         \(event.prev?.hex ?? "-")")
            say("patientPrev  \(event.patientPrev?.hex ?? "-")")
            say("hash         \(event.hash.hex)")
            say("body         \(event.body.count) bytes, dictionary v\(event.dictionary)")
            say("payload      \(Output.json(object["payload"] ?? .null))")
        }
    }
}
