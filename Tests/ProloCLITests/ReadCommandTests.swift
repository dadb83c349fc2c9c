import Foundation
import ProloTestSupport
import Testing

@Suite("prolo log, show and vector")
struct ReadCommandTests {
    /// The catalog's `patient.registered` example, or a minimal valid one while the examples are being written.
    private static let registrationPayload: String = {
        let example = (Fixtures.repositoryRoot as NSString).appendingPathComponent(
            "Schemas/examples/patient.registered.json")
        if let data = FileManager.default.contents(atPath: example) { return String(decoding: data, as: UTF8.self) }
        return #"{"birthDate":"1971-04-12","mrn":"MRN-0042117","name":{"family":"Lindqvist","given":"Maren"},"sex":"female"}"#
    }()

    /// A store holding, in order: pain reports of p-0001 (scores 1, 2, 3), one of p-0002 (score 4), and
    /// p-0001's registration (alias `register`). `body` gets the five ids in that order.
    private func storyStore(_ body: (CLIStore, [String]) throws -> Void) throws {
        try CLIStore.with { store in
            var ids: [String] = []
            for score in 1...3 { ids.append(try store.recordID(CLIStore.painPayload(score: score))) }
            ids.append(try store.recordID(CLIStore.painPayload(score: 4, patient: "p-0002"), patient: "p-0002"))
            ids.append(try store.recordID(Self.registrationPayload, type: "register"))
            try body(store, ids)
        }
    }

    @Test("log lists a recorded event on one line with its type, patient, origin and chain position")
    func logLine() throws {
        try CLIStore.with { store in
            let id = try store.recordID()
            let result = try store.prolo(["log"])
            try #require(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n")
            try #require(lines.count == 1)
            let line = String(lines[0])
            #expect(line.contains("pain.reported"))
            #expect(line.contains("p-0001"))
            #expect(line.contains(String(store.origin.prefix(12)) + "/1"))
            let event = try #require(try store.events().first)
            #expect(event["id"] as? String == id)
            let hash = try #require(event["hash"] as? String)
            #expect(line.hasSuffix(String(hash.prefix(12))))
        }
    }

    @Test("log of an empty store prints nothing, and log --json an empty array")
    func emptyStore() throws {
        try CLIStore.with { store in
            let plain = try store.prolo(["log"])
            #expect(plain.status == 0)
            #expect(plain.stdout.isEmpty)
            #expect(try store.events().isEmpty)
            let vector = try store.prolo(["vector", "--json"])
            #expect(vector.status == 0)
            #expect(try JSONText.parse(vector.stdout) as? [String: Int] == [:])
        }
    }

    @Test("log --json is an array of events carrying their envelope and the payload as recorded")
    func logJSON() throws {
        try CLIStore.with { store in
            let payload = CLIStore.painPayload
            let id = try store.recordID(payload, ["--occurred-at", "2026-03-02T09:30:00Z"])
            let events = try store.events()
            try #require(events.count == 1)
            let event = events[0]
            for field in ["id", "seq", "origin", "originSeq", "type", "patient", "occurredAt", "hash", "payload"] {
                #expect(event[field] != nil, "log --json lacks \(field)")
            }
            #expect(event["id"] as? String == id)
            #expect(event["seq"] as? Int == 1)
            #expect(event["origin"] as? String == store.origin)
            #expect(event["originSeq"] as? Int == 1)
            #expect(event["type"] as? String == "pain.reported")
            #expect(event["patient"] as? String == "p-0001")
            #expect(event["occurredAt"] as? String == "2026-03-02T09:30:00Z")
            let hash = try #require(event["hash"] as? String)
            #expect(hash.count == 64 && hash.allSatisfy(\.isHexDigit))
            #expect(try JSONText.same(#require(event["payload"]), JSONText.parse(payload)))
        }
    }

    @Test("show ID --json prints the same object as log --json lists")
    func showJSON() throws {
        try storyStore { store, ids in
            let listed = try store.events()
            try #require(listed.count == ids.count)
            for (id, event) in zip(ids, listed) {
                let shown = try store.prolo(["show", id, "--json"])
                try #require(shown.status == 0, "\(shown.stderr)")
                #expect(try JSONText.same(JSONText.parse(shown.stdout), event), "show \(id) differs from log")
            }
        }
    }

    @Test("show ID prints the event for people, with its id, type, patient and payload")
    func showText() throws {
        try CLIStore.with { store in
            let id = try store.recordID(CLIStore.painPayload(score: 3))
            let shown = try store.prolo(["show", id])
            try #require(shown.status == 0, "\(shown.stderr)")
            #expect(CLIStore.value(of: "event", in: shown.stdout) == id)
            #expect(CLIStore.value(of: "type", in: shown.stdout) == "pain.reported v1")
            #expect(CLIStore.value(of: "patient", in: shown.stdout) == "p-0001")
            let payload = try #require(CLIStore.value(of: "payload", in: shown.stdout))
            #expect(try JSONText.same(JSONText.parse(payload), JSONText.parse(CLIStore.painPayload(score: 3))))
        }
    }

    @Test("vector --json maps this device's origin to the number of events it recorded")
    func vector() throws {
        try CLIStore.with { store in
            for score in 0..<3 { try store.recordID(CLIStore.painPayload(score: score)) }
            let result = try store.prolo(["vector", "--json"])
            try #require(result.status == 0, "\(result.stderr)")
            #expect(try JSONText.parse(result.stdout) as? [String: Int] == [store.origin: 3])
            let plain = try store.prolo(["vector"])
            #expect(plain.line.split(separator: " ", omittingEmptySubsequences: true) == [
                Substring(store.origin), "3",
            ])
        }
    }

    @Test("vector --json --heads adds each origin's head hash, and sync export --for-vector reads that form: nothing is missing from the same store")
    func vectorWithHeads() throws {
        try CLIStore.with { store in
            for score in 0..<3 { try store.recordID(CLIStore.painPayload(score: score)) }
            let result = try store.prolo(["vector", "--json", "--heads"])
            try #require(result.status == 0, "\(result.stderr)")
            let parsed = try #require(try JSONText.parse(result.stdout) as? [String: Any])
            #expect(parsed["vector"] as? [String: Int] == [store.origin: 3])
            let heads = try #require(parsed["heads"] as? [String: Any])
            let hashes = try #require(heads["hashes"] as? [String: String])
            #expect(hashes.keys.sorted() == [store.origin] && hashes[store.origin]?.count == 64)
            let vectorFile = try store.write(result.stdout, named: "self.vector")
            let bundle = store.directory.file("self.bundle")
            let export = try store.prolo(["sync", "export", "--out", bundle, "--for-vector", vectorFile, "--json"])
            try #require(export.status == 0, "\(export.stderr)")
            #expect((try JSONText.parse(export.stdout) as? [String: Any])?["events"] as? Int == 0)
        }
    }

    @Test("log --limit N lists the latest N events, oldest first")
    func limit() throws {
        try storyStore { store, ids in
            #expect(try store.eventIDs(["--limit", "2"]) == Array(ids.suffix(2)))
            #expect(try store.eventIDs(["--limit", "1"]) == [ids.last!])
            #expect(try store.eventIDs(["--limit", "100"]) == ids)
            let plain = try store.prolo(["log", "--limit", "2"])
            #expect(plain.stdout.split(separator: "\n").count == 2)
        }
    }

    @Test("log --patient lists only that patient's events")
    func patientFilter() throws {
        try storyStore { store, ids in
            let forFirst = try store.events(["--patient", "p-0001"])
            #expect(forFirst.map { $0["id"] as? String } == [ids[0], ids[1], ids[2], ids[4]])
            #expect(forFirst.allSatisfy { $0["patient"] as? String == "p-0001" })
            #expect(try store.eventIDs(["--patient", "p-0002"]) == [ids[3]])
            #expect(try store.eventIDs(["--patient", "p-9999"]).isEmpty)
        }
    }

    @Test("log --type lists only events of that type")
    func typeFilter() throws {
        try storyStore { store, ids in
            let pains = try store.events(["--type", "pain.reported"])
            #expect(pains.map { $0["id"] as? String } == Array(ids.prefix(4)))
            #expect(pains.allSatisfy { $0["type"] as? String == "pain.reported" })
            #expect(try store.eventIDs(["--type", "patient.registered"]) == [ids[4]])
            #expect(try store.eventIDs(["--type", "exam.recorded"]).isEmpty)
        }
    }

    @Test("log filters combine: --patient, --type and --limit together")
    func combinedFilters() throws {
        try storyStore { store, ids in
            let latestTwo = try store.eventIDs(["--patient", "p-0001", "--type", "pain.reported", "--limit", "2"])
            #expect(latestTwo == [ids[1], ids[2]])
            let registration = try store.eventIDs(["--patient", "p-0001", "--type", "patient.registered"])
            #expect(registration == [ids[4]])
            let otherPatient = try store.eventIDs(["--patient", "p-0002", "--type", "pain.reported"])
            #expect(otherPatient == [ids[3]])
        }
    }

    @Test("log, show and vector use PROLO_STORE when --store is absent")
    func environmentStore() throws {
        try CLIStore.with { store in
            let id = try store.recordID()
            let elsewhere = store.directory.file("elsewhere")
            try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: false)
            let environment = ["PROLO_STORE": store.path]

            let log = try CommandRunner.prolo(["log", "--json"], environment: environment, directory: elsewhere)
            try #require(log.status == 0, "\(log.stderr)")
            #expect((try JSONText.parse(log.stdout) as? [[String: Any]])?.map { $0["id"] as? String } == [id])

            let show = try CommandRunner.prolo(["show", id, "--json"], environment: environment, directory: elsewhere)
            #expect(show.status == 0, "\(show.stderr)")

            let vector = try CommandRunner.prolo(["vector", "--json"], environment: environment, directory: elsewhere)
            #expect(try JSONText.parse(vector.stdout) as? [String: Int] == [store.origin: 1])

            // Without either, the default ./prolo.sqlite is looked for in the working directory, and is missing.
            let missing = try CommandRunner.prolo(["log"], directory: elsewhere)
            #expect(missing.status == 66)
            #expect(missing.stderr.contains("prolo.sqlite"))
        }
    }

    @Test("show of an id that is not in the store exits 66 and names the id")
    func showUnknown() throws {
        try CLIStore.with { store in
            try store.recordID()
            let before = try store.snapshot()
            let unknown = "01a21169-594f-7f8a-a907-236565e31bbc"
            let result = try store.prolo(["show", unknown])
            #expect(result.status == 66)
            #expect(result.stderr.hasPrefix("prolo: error: "))
            #expect(result.stderr.contains(unknown))
            #expect(result.stdout.isEmpty)
            try store.expectUnchangedAndStillRecording(since: before)
        }
    }

    @Test("show of something that is not a UUID exits 64 and names EVENT_ID")
    func showMalformedID() throws {
        try CLIStore.with { store in
            let result = try store.prolo(["show", "not-a-uuid"])
            #expect(result.status == 64)
            #expect(result.stderr.contains("EVENT_ID"))
        }
    }

    @Test("log --limit 0 is a usage error (64)")
    func zeroLimit() throws {
        try CLIStore.with { store in
            let result = try store.prolo(["log", "--limit", "0"])
            #expect(result.status == 64)
            #expect(result.stderr.contains("--limit"))
        }
    }
}
