import ArgumentParser
import Foundation
import ProloDomain
import ProloProjections
import ProloStore

/// `prolo record-batch`: many events in one transaction, from JSON Lines.
struct RecordBatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record-batch",
        abstract: "Record many events in one transaction from JSON Lines.",
        discussion: """
            Each line is {"type": TYPE, "patient": ID, "occurredAt": RFC3339 (optional), "payload": {...}}.
            Every line is validated before anything is written; one bad line refuses the batch, naming the line
            and the JSON path, and the store is unchanged. Prints the new ids, one per line, once committed:
            a printed id is durable.
            """)

    @OptionGroup var options: StoreOptions

    @Option(name: .long, help: ArgumentHelp("The JSON Lines file, or - for standard input.", valueName: "PATH|-"))
    var file: String

    @Option(name: .long, help: "Who records them (default: the device name).")
    var author: String?

    /// The most lines in one batch.
    static let maximumLines = 100_000

    func run() throws {
        try guarded {
            let data: Data
            if file == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let contents = FileManager.default.contents(atPath: file) else { throw Failure(.noInput, "cannot read \(file)") }
                data = contents
            }
            let lines = data.split(separator: UInt8(ascii: "\n")).filter { !$0.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") } }
            guard !lines.isEmpty else { throw Failure(.dataError, "\(file): no lines") }
            guard lines.count <= Self.maximumLines else { throw Failure(.dataError, "\(file): more than \(Self.maximumLines) lines") }
            let store = try options.openProjected().store
            let key = try DeviceKeyFile.load(from: DeviceKeyFile.path(forStore: store.path))
            let authorID = try RecordCommand.authorID(author, store: store)
            var drafts: [EventDraft] = []
            for (index, line) in lines.enumerated() {
                let place = "\(file == "-" ? "standard input" : file) line \(index + 1)"
                let value: JSONValue
                do {
                    value = try JSONParser.parse(line)
                } catch {
                    throw Failure(.dataError, "\(place): not JSON: \(error)")
                }
                guard let typeName = value["type"]?.stringValue, let type = EventType(rawValue: typeName) else {
                    throw Failure(.dataError, "\(place): \"type\" must be an event type")
                }
                let patient = try value["patient"]?.stringValue.map { text in
                    guard let id = try? PatientID(checked: text) else { throw Failure(.dataError, "\(place): \"patient\" is not a patient id") }
                    return id
                }
                if type.isAdministrative != (patient == nil) {
                    throw Failure(.dataError, "\(place): \(type.rawValue) \(type.isAdministrative ? "has no" : "needs a") \"patient\"")
                }
                let occurred = try value["occurredAt"]?.stringValue.map { text in
                    guard let time = try? Timestamp(checked: text) else { throw Failure(.dataError, "\(place): \"occurredAt\" is not RFC 3339 UTC") }
                    return time
                } ?? Timestamp.now()
                guard let payload = value["payload"] else { throw Failure(.dataError, "\(place): \"payload\" is missing") }
                do throws(PayloadError) {
                    drafts.append(
                        try EventDraft(
                            type: type, json: CanonicalJSON.encode(payload), patient: patient, occurredAt: occurred,
                            author: Author(id: authorID, role: .clinician)))
                } catch {
                    throw Failure(error, source: place)
                }
            }
            let stored = try store.record(drafts, signedBy: key)
            say(stored.map(\.event.id.text).joined(separator: "\n"))
        }
    }
}
