import Foundation
import ProloTestSupport
import Testing

@Suite("prolo demo")
struct DemoCommandTests {
    /// The 17 event types of the v1 catalog, as named by `Schemas/events/`.
    private static let catalogTypes: Set<String> = {
        let folder = (Fixtures.repositoryRoot as NSString).appendingPathComponent("Schemas/events")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return Set(files.filter { $0.hasSuffix(".v1.json") }.map { String($0.dropLast(".v1.json".count)) })
    }()

    @Test("demo into a new --store records the story: 19 events of all 17 types, p-0001's and the device registry's")
    func recordsTheStory() throws {
        try TemporaryDirectory.with { directory in
            let store = try CLIStore(demoIn: directory)
            #expect(store.initOutput.contains("demo store   \(store.path)"))
            #expect(FileManager.default.fileExists(atPath: store.keyPath))

            let events = try store.events()
            #expect(events.count == 19)
            let types = events.compactMap { $0["type"] as? String }
            #expect(Set(types) == Self.catalogTypes)
            #expect(Self.catalogTypes.count == 17)
            for event in events {
                let type = try #require(event["type"] as? String)
                if type.hasPrefix("device.") {
                    #expect(event["patient"] is NSNull, "\(type) is administrative")
                } else {
                    #expect(event["patient"] as? String == "p-0001", "\(type) is not p-0001's")
                }
            }
            let occurred = events.compactMap { $0["occurredAt"] as? String }
            #expect(occurred.first == "2026-09-07T08:30:00Z")
            #expect(occurred.last == "2026-12-14T11:15:00Z")
            #expect(occurred == occurred.sorted(), "the story is recorded in clinical order")
        }
    }

    @Test("demo prints the store, then the events exactly as prolo log lists them, then commands that work")
    func printsLogLinesAndNextSteps() throws {
        try TemporaryDirectory.with { directory in
            let store = try CLIStore(demoIn: directory)
            let log = try store.prolo(["log"])
            try #require(log.status == 0, "\(log.stderr)")
            let logLines = log.stdout.split(separator: "\n").map(String.init)
            #expect(logLines.count == 19)
            let printed = store.initOutput.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let start = try #require(printed.firstIndex(of: logLines[0]), "no log line in: \(store.initOutput)")
            #expect(Array(printed[start..<min(printed.count, start + logLines.count)]) == logLines)

            let suggestions = printed.drop { $0 != "next, try:" }.filter { $0.hasPrefix("  prolo ") }
            #expect(suggestions.count >= 3)
            for suggestion in suggestions {
                let words = suggestion.split(separator: " ").dropFirst().map(String.init)
                #expect(words.suffix(2) == ["--store", store.path], "\(suggestion)")
                let result = try CommandRunner.prolo(words)
                #expect(result.status == 0, "`\(suggestion)` failed: \(result.stderr)")
                #expect(!result.stdout.isEmpty, "`\(suggestion)` printed nothing")
            }
        }
    }

    @Test("every reference in the demo points at the event recorded for it, never at a catalog example's id")
    func referencesPointAtRecordedEvents() throws {
        try TemporaryDirectory.with { directory in
            let store = try CLIStore(demoIn: directory)
            let events = try store.events()
            func ids(ofType type: String) -> [String] {
                events.filter { $0["type"] as? String == type }.compactMap { $0["id"] as? String }
            }
            func payload(ofType type: String) throws -> [String: Any] {
                let event = try #require(events.first { $0["type"] as? String == type }, "no \(type) event")
                return try #require(event["payload"] as? [String: Any])
            }
            let injection = try #require(ids(ofType: "injection.administered").first)
            let sideEffect = try #require(ids(ofType: "side-effect.reported").first)
            let pain = try #require(ids(ofType: "pain.reported").first)
            let course = try #require(ids(ofType: "course.planned").first)
            let sessions = ids(ofType: "session.scheduled")
            try #require(sessions.count == 3, "the first session, the second, and the second's duplicate")

            #expect(try payload(ofType: "side-effect.reported")["relatedInjection"] as? String == injection)
            #expect(try payload(ofType: "alert.cleared")["raisedBy"] as? [String] == [sideEffect])
            #expect(try payload(ofType: "side-effect.resolved")["report"] as? String == sideEffect)
            #expect(try payload(ofType: "session.cancelled")["session"] as? String == sessions[1])
            #expect(try payload(ofType: "event.amended")["target"] as? String == pain)
            #expect(try payload(ofType: "event.amended")["targetType"] as? String == "pain.reported")
            let retraction = try payload(ofType: "event.retracted")
            #expect(retraction["target"] as? String == sessions[2])
            #expect((retraction["note"] as? String)?.contains(sessions[1]) == true, "\(retraction)")
            #expect(try payload(ofType: "course.closed")["course"] as? String == course)

            // Each reference precedes the event that makes it, and no example id is left anywhere in the store.
            let order = Dictionary(
                uniqueKeysWithValues: events.enumerated().compactMap { offset, event in
                    (event["id"] as? String).map { ($0, offset) }
                })
            let referrers = [
                "side-effect.reported": injection, "alert.cleared": sideEffect, "side-effect.resolved": sideEffect,
                "session.cancelled": sessions[1], "event.amended": pain, "event.retracted": sessions[2],
                "course.closed": course,
            ]
            for (type, target) in referrers {
                let referrer = try #require(ids(ofType: type).first)
                #expect(try #require(order[target]) < #require(order[referrer]), "\(type) precedes its target")
            }
            let everything = try store.prolo(["log", "--json"]).stdout
            for exampleID in try Self.exampleEventIDs() {
                #expect(!everything.contains(exampleID), "the catalog example id \(exampleID) was not rewritten")
            }
        }
    }

    @Test("demo into an existing store exits 73, names the path, and leaves the store and its key unchanged")
    func refusesExistingStore() throws {
        try CLIStore.with { store in
            try store.recordID()
            let before = try store.snapshot()
            let key = try contents(of: store.keyPath)

            let result = try CommandRunner.prolo(["demo", "story", "--store", store.path])

            #expect(result.status == 73)
            #expect(result.stderr.hasPrefix("prolo: error: "))
            #expect(result.stderr.contains(store.path))
            #expect(result.stderr.contains("already exists"))
            #expect(result.stdout.isEmpty)
            #expect(try contents(of: store.keyPath) == key, "the device key was overwritten")
            try store.expectUnchangedAndStillRecording(since: before)
        }
    }

    @Test("demo honours PROLO_STORE, and demo --json names the store and the recorded ids in order")
    func environmentAndJSON() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("from-env.sqlite")
            let result = try CommandRunner.prolo(["demo", "story", "--json"], environment: ["PROLO_STORE": path])
            try #require(result.status == 0, "\(result.stderr)")
            let object = try #require(try JSONText.parse(result.stdout) as? [String: Any], "\(result.stdout)")
            #expect(object["store"] as? String == path)
            let log = try CommandRunner.prolo(["log", "--json", "--store", path])
            let events = try #require(try JSONText.parse(log.stdout) as? [[String: Any]])
            #expect(object["events"] as? [String] == events.compactMap { $0["id"] as? String })
            #expect(events.count == 19)

            let again = try CommandRunner.prolo(["demo", "story"], environment: ["PROLO_STORE": path])
            #expect(again.status == 73)
        }
    }

    @Test("demo without --store makes a new temporary directory each time and leaves the working directory alone")
    func temporaryStoreByDefault() throws {
        try TemporaryDirectory.with { directory in
            let temporary = directory.file("tmp")
            try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
            let working = directory.file("work")
            try FileManager.default.createDirectory(atPath: working, withIntermediateDirectories: false)
            var stores: [String] = []
            for _ in 0..<2 {
                let result = try CommandRunner.prolo(
                    ["demo", "story", "--json"], environment: ["TMPDIR": temporary + "/"], directory: working)
                try #require(result.status == 0, "\(result.stderr)")
                let object = try #require(try JSONText.parse(result.stdout) as? [String: Any])
                let store = try #require(object["store"] as? String)
                #expect(store.hasPrefix(temporary + "/prolo-demo-"), "\(store)")
                #expect(store.hasSuffix("/clinic.sqlite"))
                #expect(FileManager.default.fileExists(atPath: store))
                stores.append(store)
            }
            #expect(stores[0] != stores[1])
            #expect(try FileManager.default.contentsOfDirectory(atPath: working).isEmpty)
        }
    }

    /// Every event id the published examples use (the catalog's placeholders for references).
    private static func exampleEventIDs() throws -> Set<String> {
        let folder = (Fixtures.repositoryRoot as NSString).appendingPathComponent("Schemas/examples")
        let pattern = try NSRegularExpression(pattern: "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")
        var found: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".json") {
            let text = try String(contentsOfFile: (folder as NSString).appendingPathComponent(file), encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                found.insert((text as NSString).substring(with: match.range))
            }
        }
        try #require(found.count >= 5, "expected the examples to reference events: \(found)")
        return found
    }
}

extension CLIStore {
    /// Makes a store with `prolo demo --store` at `name` inside `directory`; `initOutput` holds what demo printed.
    init(demoIn directory: TemporaryDirectory, name: String = "clinic.sqlite") throws {
        self.directory = directory
        path = directory.file(name)
        let result = try CommandRunner.prolo(["demo", "story", "--store", path])
        try #require(result.status == 0, "prolo demo failed (\(result.status)): \(result.stderr)")
        initOutput = result.stdout
        let vector = try CommandRunner.prolo(["vector", "--json", "--store", path])
        let heads = try #require(try JSONText.parse(vector.stdout) as? [String: Int], "\(vector.stdout)")
        origin = try #require(heads.keys.first, "no origin in \(vector.stdout)")
    }
}
