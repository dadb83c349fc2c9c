import ArgumentParser
import Foundation
import ProloDomain
import ProloProjections
import ProloStore

/// `prolo demo story`: records one patient's course in a new store, to show a newcomer what Prolo keeps.
struct DemoStoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "story",
        abstract: "Create a new store holding one patient's course of treatment, to see Prolo work.",
        discussion: """
            Records the catalog's example story in a new store: patient p-0001's prolotherapy course, September to \
            December 2026, as \(DemoStory.eventCount) signed events of all 17 types, each referring to the events \
            recorded here. The store goes in a new temporary directory (not ./prolo.sqlite), or at --store PATH \
            (or PROLO_STORE), which must not exist yet (exit 73 if it does). Prints where the store is, its events \
            as `prolo log` shows them, and commands to try next.
            """
    )

    @OptionGroup var options: StoreOptions

    @Flag(name: .long, help: "Print a JSON object {store, events: [ids]}.")
    var json = false

    /// The name of the demo store's device.
    static let deviceName = "demo-clinic-laptop"

    func run() throws {
        try guarded {
            let path: String
            var madeDirectory: String?
            if let explicit = options.explicitPath {
                path = explicit
            } else {
                let directory = try Self.makeTemporaryDirectory()
                madeDirectory = directory
                path = (directory as NSString).appendingPathComponent("clinic.sqlite")
            }
            var createdStore = false
            let story: (events: [StoredEvent], landmarks: DemoStory.Landmarks)
            do {
                story = try Self.recordStory(at: path) { createdStore = true }
            } catch {
                // Leave nothing half-told behind; a store that was already there was never touched.
                if createdStore {
                    for leftover in [path, path + "-wal", path + "-shm", DeviceKeyFile.path(forStore: path)] {
                        try? FileManager.default.removeItem(atPath: leftover)
                    }
                }
                if let madeDirectory { try? FileManager.default.removeItem(atPath: madeDirectory) }
                throw error
            }
            if json {
                say(
                    Output.json(
                        .object([
                            "store": .string(path),
                            "events": .array(story.events.map { .string($0.event.id.text) }),
                        ])))
            } else {
                let state = try ProjectedStore.open(at: path).state(of: DemoStory.patient)
                printSummary(path: path, story.events, story.landmarks, state: state)
            }
        }
    }

    /// Creates the store at `path`, calls `created`, and records the story with the store's device key.
    private static func recordStory(at path: String, created: () -> Void) throws
        -> (events: [StoredEvent], landmarks: DemoStory.Landmarks)
    {
        // Through the projection, as `prolo init` does, so the read models follow every recorded event.
        let store = try ProjectedStore.create(at: path, deviceName: deviceName).store
        created()
        let key = try DeviceKeyFile.load(from: DeviceKeyFile.path(forStore: store.path))
        var events: [StoredEvent] = []
        let landmarks = try DemoStory.play { draft in
            let stored = try store.record([draft], signedBy: key)[0]
            events.append(stored)
            return stored.event.id
        }
        return (events, landmarks)
    }

    /// A new, private directory `prolo-demo-XXXXXXXX` under the system's temporary folder.
    private static func makeTemporaryDirectory() throws -> String {
        let suffix = UUID().uuidString.lowercased().prefix(8)
        let directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("prolo-demo-\(suffix)")
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure(.cannotCreate, "cannot create the demo directory \(directory): \(error.localizedDescription)")
        }
        return directory
    }

    private func printSummary(
        path: String, _ events: [StoredEvent], _ landmarks: DemoStory.Landmarks, state: TreatmentState?
    ) {
        let store = Self.shellQuoted(path)
        func seq(of id: EventID) -> String { events.first { $0.event.id == id }.map { String($0.seq) } ?? "?" }
        say("demo store   \(path)")
        say("device key   \(DeviceKeyFile.path(forStore: path)) (device \"\(Self.deviceName)\")")
        say("recorded \(events.count) events of patient \(DemoStory.patient)'s course, September to December 2026:")
        say("")
        for event in events { say(Output.line(event)) }
        if let state {
            say("")
            say("the treatment state the projection folded from these events (prolo patient show \(state.patient)):")
            say("")
            say(PatientText.describe(state, now: .now()))
        }
        say("")
        say("next, try:")
        say("  prolo patient show \(DemoStory.patient) --json --store \(store)")
        say("  prolo alerts --store \(store)")
        say("  prolo log --store \(store)")
        say("  prolo log --type side-effect.reported --json --store \(store)")
        say("  prolo show \(landmarks.sideEffect) --store \(store)")
        say(
            "      (the fever report, seq \(seq(of: landmarks.sideEffect)): its relatedInjection is "
                + "\(landmarks.injection), the injection at seq \(seq(of: landmarks.injection)))")
        say("  prolo vector --store \(store)")
    }

    /// `text` as one shell word: unchanged when it is plain, else in single quotes.
    static func shellQuoted(_ text: String) -> String {
        let plain =
            !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                CharacterSet.alphanumerics.contains($0) && $0.isASCII || "/._-+:=@%,".unicodeScalars.contains($0)
            }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
