import Foundation
import ProloTestSupport
import Testing

@Suite("prolo record")
struct RecordCommandTests {
    @Test("record prints the new event's id, a UUID, and nothing on stderr")
    func printsUUID() throws {
        try CLIStore.with { store in
            let result = try store.record()
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.isEmpty)
            #expect(result.stdout.hasSuffix("\n"))
            #expect(UUID(uuidString: result.line) != nil, "not a UUID: \(result.stdout)")
            #expect(try store.eventIDs() == [result.line])
        }
    }

    @Test("the recorded payload reads back as the same JSON value")
    func payloadRoundTrips() throws {
        try CLIStore.with { store in
            let id = try store.recordID(CLIStore.painPayload)
            let event = try #require(try store.events().first)
            #expect(event["id"] as? String == id)
            let payload = try #require(event["payload"])
            #expect(try JSONText.same(payload, JSONText.parse(CLIStore.painPayload)))
        }
    }

    @Test("record --json prints the stored event, the same object show --json prints")
    func json() throws {
        try CLIStore.with { store in
            let result = try store.record(CLIStore.painPayload, ["--json"])
            try #require(result.status == 0, "\(result.stderr)")
            let object = try #require(try JSONText.parse(result.stdout) as? [String: Any])
            let id = try #require(object["id"] as? String)
            let shown = try store.prolo(["show", id, "--json"])
            try #require(shown.status == 0, "\(shown.stderr)")
            #expect(try JSONText.same(object, JSONText.parse(shown.stdout)))
        }
    }

    @Test("the alias `record pain` records the same type as --type pain.reported")
    func alias() throws {
        try CLIStore.with { store in
            let file = try store.write(CLIStore.painPayload)
            let viaAlias = try store.prolo(["record", "pain", "--patient", "p-0001", "--file", file])
            try #require(viaAlias.status == 0, "\(viaAlias.stderr)")
            let viaType = try store.recordID(CLIStore.painPayload, type: "pain.reported")

            let events = try store.events()
            try #require(events.count == 2)
            #expect(events.map { $0["id"] as? String } == [viaAlias.line, viaType])
            #expect(events[0]["type"] as? String == "pain.reported")
            #expect(events[1]["type"] as? String == "pain.reported")
            #expect(try JSONText.same(#require(events[0]["payload"]), #require(events[1]["payload"])))
        }
    }

    @Test("an alias and a --type that agree are accepted; ones that disagree exit 64 and record nothing")
    func aliasAndTypeTogether() throws {
        try CLIStore.with { store in
            let file = try store.write(CLIStore.painPayload)
            let agreeing = try store.prolo(
                ["record", "pain", "--type", "pain.reported", "--patient", "p-0001", "--file", file])
            #expect(agreeing.status == 0, "\(agreeing.stderr)")
            let before = try store.snapshot()

            let disagreeing = try store.prolo(
                ["record", "pain", "--type", "exam.recorded", "--patient", "p-0001", "--file", file])

            #expect(disagreeing.status == 64)
            #expect(disagreeing.stderr.contains("disagree"))
            try store.expectUnchangedAndStillRecording(since: before)
        }
    }

    @Test("--file - reads the payload from standard input")
    func standardInput() throws {
        try CLIStore.with { store in
            let payload = CLIStore.painPayload(score: 7, patient: "p-0002")
            let result = try store.prolo(
                ["record", "--type", "pain.reported", "--patient", "p-0002", "--file", "-"], stdin: payload)
            try #require(result.status == 0, "\(result.stderr)")
            let event = try #require(try store.events().first)
            #expect(event["id"] as? String == result.line)
            #expect(event["patient"] as? String == "p-0002")
            #expect(try JSONText.same(#require(event["payload"]), JSONText.parse(payload)))
        }
    }

    @Test("--occurred-at is stored exactly as given", arguments: ["2026-03-02T09:30:00Z", "2025-12-31T23:59:59.123Z"])
    func occurredAtKeptExactly(occurredAt: String) throws {
        try CLIStore.with { store in
            let id = try store.recordID(CLIStore.painPayload, ["--occurred-at", occurredAt])
            let shown = try store.prolo(["show", id, "--json"])
            try #require(shown.status == 0, "\(shown.stderr)")
            let object = try #require(try JSONText.parse(shown.stdout) as? [String: Any])
            #expect(object["occurredAt"] as? String == occurredAt)
            #expect(try store.events().first?["occurredAt"] as? String == occurredAt)
        }
    }

    @Test("--author and --role are stored as the event's author")
    func author() throws {
        try CLIStore.with { store in
            try store.recordID(CLIStore.painPayload, ["--author", "p-0001", "--role", "patient"])
            let author = try #require(try store.events().first?["author"] as? [String: Any])
            #expect(author["id"] as? String == "p-0001")
            #expect(author["role"] as? String == "patient")
        }
    }

    @Test("without --author the device name is the author, as a clinician")
    func defaultAuthor() throws {
        try CLIStore.with { store in
            try store.recordID()
            let author = try #require(try store.events().first?["author"] as? [String: Any])
            #expect(author["id"] as? String == "room-1")
            #expect(author["role"] as? String == "clinician")
        }
    }

    @Test("PROLO_STORE names the store when --store is absent")
    func environmentStore() throws {
        try CLIStore.with { store in
            let file = try store.write(CLIStore.painPayload)
            // Run from an empty directory: falling back to ./prolo.sqlite would fail with 66.
            let elsewhere = store.directory.file("elsewhere")
            try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: false)
            let result = try CommandRunner.prolo(
                ["record", "pain", "--patient", "p-0001", "--file", file], environment: ["PROLO_STORE": store.path],
                directory: elsewhere)
            try #require(result.status == 0, "\(result.stderr)")
            #expect(try store.eventIDs() == [result.line])
            #expect(!FileManager.default.fileExists(atPath: (elsewhere as NSString).appendingPathComponent("prolo.sqlite")))
        }
    }

    @Test("--store wins over PROLO_STORE")
    func storeOptionWins() throws {
        try TemporaryDirectory.with { directory in
            let chosen = try CLIStore(in: directory, name: "chosen.sqlite")
            let other = try CLIStore(in: directory, name: "other.sqlite", deviceName: "room-2")
            let file = try chosen.write(CLIStore.painPayload)
            let result = try CommandRunner.prolo(
                ["record", "pain", "--patient", "p-0001", "--file", file, "--store", chosen.path],
                environment: ["PROLO_STORE": other.path])
            try #require(result.status == 0, "\(result.stderr)")
            #expect(try chosen.eventIDs() == [result.line])
            #expect(try other.eventIDs().isEmpty)
        }
    }

    @Test("events of one device are numbered 1, 2, 3 in its chain")
    func chain() throws {
        try CLIStore.with { store in
            for score in 1...3 { try store.recordID(CLIStore.painPayload(score: score)) }
            let events = try store.events()
            #expect(events.map { $0["originSeq"] as? Int } == [1, 2, 3])
            #expect(events.map { $0["seq"] as? Int } == [1, 2, 3])
            #expect(events[0]["prev"] is NSNull)
            #expect(events[1]["prev"] as? String == events[0]["hash"] as? String)
            #expect(events[2]["prev"] as? String == events[1]["hash"] as? String)
        }
    }

    @Test("when a command ends, its events are checkpointed into the store file itself: a copy of it alone holds them")
    func nothingLeftInTheWAL() throws {
        try CLIStore.with { store in
            let id = try store.recordID()
            // A copy of the .sqlite file alone (as a naive backup makes it) holds the event.
            let copy = store.directory.file("copy.sqlite")
            try FileManager.default.copyItem(atPath: store.path, toPath: copy)
            try FileManager.default.copyItem(atPath: store.keyPath, toPath: copy + ".key")
            let shown = try CommandRunner.prolo(["show", id, "--store", copy])
            #expect(shown.status == 0, "\(shown.stderr)")
            #expect(shown.stdout.contains(id))
        }
    }
}
