import Foundation
import ProloTestSupport
import Testing

/// A store made by `prolo init` in a temporary directory, and the ways the tests drive it through the binary.
///
/// Every check of "the store is unchanged" goes through the CLI's own view (`vector --json` and `log --json`),
/// so these tests see exactly what an operator would.
struct CLIStore {
    /// The temporary directory holding the store, its key and the payload files.
    let directory: TemporaryDirectory
    /// The store file.
    let path: String
    /// What `prolo init` printed.
    let initOutput: String
    /// The device's origin, as `prolo init` printed it.
    let origin: String

    /// The device key file beside the store.
    var keyPath: String { path + ".key" }

    /// A valid `pain.reported` payload: the catalog example when it is there, else a minimal one.
    static let painPayload: String = {
        let example = (Fixtures.repositoryRoot as NSString).appendingPathComponent("Schemas/examples/pain.reported.json")
        if let data = FileManager.default.contents(atPath: example) { return String(decoding: data, as: UTF8.self) }
        return #"{"instrument":"nrs","score":5,"reporter":{"role":"patient","id":"p-0001"}}"#
    }()

    /// A valid `pain.reported` payload with a given NRS score.
    static func painPayload(score: Int, patient: String = "p-0001") -> String {
        #"{"instrument":"nrs","score":\#(score),"reporter":{"role":"patient","id":"\#(patient)"}}"#
    }

    /// Runs `body` with a fresh store in a fresh temporary directory.
    static func with<Result>(_ body: (CLIStore) throws -> Result) throws -> Result {
        try TemporaryDirectory.with { directory in try body(try CLIStore(in: directory)) }
    }

    /// Makes a store with `prolo init` at `name` inside `directory`, passing `initArguments` on (e.g. `--trust`).
    init(
        in directory: TemporaryDirectory, name: String = "clinic.sqlite", deviceName: String = "room-1",
        initArguments: [String] = []
    ) throws {
        self.directory = directory
        path = directory.file(name)
        let result = try CommandRunner.prolo(["init", "--store", path, "--device-name", deviceName] + initArguments)
        try #require(result.status == 0, "prolo init failed: \(result.stderr)")
        initOutput = result.stdout
        origin = try #require(Self.value(of: "origin", in: result.stdout), "no origin line in: \(result.stdout)")
    }

    /// The value printed after `label` on its own line (`origin       abc…` → `abc…`).
    static func value(of label: String, in output: String) -> String? {
        for line in output.split(separator: "\n") where line.hasPrefix(label + " ") {
            return line.dropFirst(label.count).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    // MARK: Running prolo

    /// Runs `prolo` with `arguments` against this store (`--store` is appended).
    func prolo(_ arguments: [String], stdin: String? = nil) throws -> CommandResult {
        try CommandRunner.prolo(arguments + ["--store", path], stdin: stdin)
    }

    /// Writes `text` to a new file in the directory and returns its path.
    func write(_ text: String, named name: String = "payload-\(UUID().uuidString).json") throws -> String {
        let file = directory.file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Runs `prolo record` with `payload` written to a file.
    func record(
        _ payload: String = CLIStore.painPayload, type: String = "pain.reported", patient: String = "p-0001",
        _ extra: [String] = []
    ) throws -> CommandResult {
        let file = try write(payload)
        return try prolo(["record", "--type", type, "--patient", patient, "--file", file] + extra)
    }

    /// Records a payload that must be accepted, and returns the printed event id.
    @discardableResult
    func recordID(
        _ payload: String = CLIStore.painPayload, type: String = "pain.reported", patient: String = "p-0001",
        _ extra: [String] = []
    ) throws -> String {
        let result = try record(payload, type: type, patient: patient, extra)
        try #require(result.status == 0, "prolo record failed (\(result.status)): \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The events `prolo log --json` lists, with the given extra arguments.
    func events(_ arguments: [String] = []) throws -> [[String: Any]] {
        let result = try prolo(["log", "--json"] + arguments)
        try #require(result.status == 0, "prolo log --json failed (\(result.status)): \(result.stderr)")
        return try #require(try JSONText.parse(result.stdout) as? [[String: Any]], "not an array: \(result.stdout)")
    }

    /// The ids `prolo log --json` lists, in order.
    func eventIDs(_ arguments: [String] = []) throws -> [String] {
        try events(arguments).map { try #require($0["id"] as? String) }
    }

    // MARK: Checking that a failure changed nothing

    /// What the CLI shows of the store: its version vector and the ids of its events.
    struct Snapshot: Equatable, CustomStringConvertible {
        let vector: String
        let ids: [String]
        var description: String { "vector \(vector), \(ids.count) events" }
    }

    /// The store as `prolo vector --json` and `prolo log --json` show it.
    func snapshot() throws -> Snapshot {
        let vector = try prolo(["vector", "--json"])
        try #require(vector.status == 0, "prolo vector --json failed (\(vector.status)): \(vector.stderr)")
        let canonicalVector = try JSONText.canonical(try JSONText.parse(vector.stdout))
        return Snapshot(vector: canonicalVector, ids: try eventIDs())
    }

    /// Expects the store to look as it did in `before`, then that a good record is still accepted and counted.
    func expectUnchangedAndStillRecording(since before: Snapshot, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        #expect(try snapshot() == before, "the failed command changed the store", sourceLocation: sourceLocation)
        let id = try recordID()
        let after = try snapshot()
        #expect(after.ids == before.ids + [id], sourceLocation: sourceLocation)
        #expect(try JSONText.parse(after.vector) as? [String: Int] == [origin: before.ids.count + 1],
                sourceLocation: sourceLocation)
    }
}

/// JSON as the tests read it: parsed by Foundation, independently of the code under test.
enum JSONText {
    /// Parses JSON text (objects, arrays or scalars).
    static func parse(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    /// A stable text of a parsed value (sorted keys), for comparing two values.
    static func canonical(_ value: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether two JSON texts or parsed values denote the same JSON value.
    static func same(_ left: Any, _ right: Any) throws -> Bool {
        try canonical(left) == canonical(right)
    }
}

extension CommandResult {
    /// Standard output without the final newline.
    var line: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// The bytes of a file, for checking that a refused command did not touch it.
func contents(of path: String) throws -> Data {
    try #require(FileManager.default.contents(atPath: path), "cannot read \(path)")
}
