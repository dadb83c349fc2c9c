import Foundation
import ProloTestSupport
import Testing

@Suite("prolo init")
struct InitCommandTests {
    @Test("init prints the origin and the public key, and writes the device key and the store with mode 0600")
    func createsStoreAndKey() throws {
        try CLIStore.with { store in
            #expect(store.origin.count == 32)
            #expect(store.origin.allSatisfy { $0.isHexDigit && !$0.isUppercase })
            let publicKey = try #require(CLIStore.value(of: "public key", in: store.initOutput))
            #expect(Data(base64Encoded: publicKey)?.count == 32, "not a base64 Ed25519 key: \(publicKey)")
            #expect(store.initOutput.contains(store.keyPath))

            let attributes = try FileManager.default.attributesOfItem(atPath: store.keyPath)
            let permissions = try #require(attributes[.posixPermissions] as? NSNumber)
            #expect(permissions.intValue & 0o777 == 0o600)
            #expect(FileManager.default.fileExists(atPath: store.path))
            // The store holds patient records: owner only, and SQLite gives its -wal and -shm the same mode.
            try store.recordID()
            for file in [store.path, store.path + "-wal", store.path + "-shm"] where FileManager.default.fileExists(atPath: file) {
                let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)
                #expect(mode.intValue & 0o777 == 0o600, "\(file) has mode \(String(mode.intValue, radix: 8))")
            }
        }
    }

    @Test("init --json names the store, the key file, the origin and the public key")
    func json() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("clinic.sqlite")
            let result = try CommandRunner.prolo(["init", "--store", path, "--device-name", "room-2", "--json"])
            try #require(result.status == 0, "\(result.stderr)")
            let object = try #require(try JSONText.parse(result.stdout) as? [String: Any])
            #expect(object["store"] as? String == path)
            #expect(object["keyFile"] as? String == path + ".key")
            #expect(object["deviceName"] as? String == "room-2")
            #expect((object["origin"] as? String)?.count == 32)
            #expect((object["publicKey"] as? String).flatMap { Data(base64Encoded: $0) }?.count == 32)
        }
    }

    @Test("init on an existing store exits 73, names the path, and leaves the store and its key working")
    func refusesExistingStore() throws {
        try CLIStore.with { store in
            try store.recordID()
            let before = try store.snapshot()
            let key = try contents(of: store.keyPath)

            let result = try CommandRunner.prolo(["init", "--store", store.path, "--device-name", "intruder"])

            #expect(result.status == 73)
            #expect(result.stderr.hasPrefix("prolo: error: "))
            #expect(result.stderr.contains(store.path))
            #expect(result.stderr.contains("already exists"))
            #expect(result.stdout.isEmpty)
            #expect(try contents(of: store.keyPath) == key, "the device key was overwritten")
            try store.expectUnchangedAndStillRecording(since: before)
        }
    }

    @Test("init --clinic names the root device after the clinic as an identifier, so records need no --author")
    func clinicRootNameIsAnIdentifier() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("server.sqlite")
            let made = try CommandRunner.prolo(["init", "--clinic", "North Clinic (Bergen)", "--store", path, "--json"])
            try #require(made.status == 0, "\(made.stderr)")
            let object = try #require(try JSONText.parse(made.stdout) as? [String: Any])
            #expect(object["deviceName"] as? String == "north-clinic-bergen-root")

            let single = directory.file("pain.json")
            try CLIStore.painPayload(score: 6).write(toFile: single, atomically: true, encoding: .utf8)
            let recorded = try CommandRunner.prolo(["record", "pain", "--patient", "p-0001", "--file", single, "--store", path])
            #expect(recorded.status == 0, "\(recorded.stderr)")

            let lines = directory.file("batch.jsonl")
            let line = #"{"type":"pain.reported","patient":"p-0001","payload":\#(CLIStore.painPayload(score: 5))}"#
            try (line + "\n").write(toFile: lines, atomically: true, encoding: .utf8)
            let batch = try CommandRunner.prolo(["record-batch", "--file", lines, "--store", path])
            #expect(batch.status == 0, "\(batch.stderr)")
        }
    }
}
