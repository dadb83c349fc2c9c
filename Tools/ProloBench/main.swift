// prolo-bench: the event-log benchmark (issue 2). Run through Tools/bench-event-log.sh (release build).
//
// Workloads: append 100 000 events of the example mix over 1 000 patients in batches of 100 (compress and
// sign on every core, one transaction per batch); 5 000 events one commit each; read everything back with
// decompression and decoding; stored body bytes against canonical JSON bytes, with and without the preset
// dictionary. Prints a Markdown table.
import Foundation
import ProloDomain
import ProloStore
import ProloBenchSupport

struct Options {
    var events = 100_000
    var batch = 100
    var singles = 5_000
    var patients = 1_000
    var directory = NSTemporaryDirectory() + "prolo-bench-\(getpid())"
    /// Where to append the common table's rows (Tools/bench), as JSON lines.
    var rows: String?

    init(arguments: [String]) {
        let parsed = BenchArguments(
            arguments, options: ["--events", "--batch", "--singles", "--patients", "--dir", "--rows"],
            usage: "usage: prolo-bench [--events N] [--batch N] [--singles N] [--patients N] [--dir DIR] [--rows FILE]")
        events = parsed.int("--events") ?? events
        batch = parsed.int("--batch") ?? batch
        singles = parsed.int("--singles") ?? singles
        patients = parsed.int("--patients") ?? patients
        directory = parsed.directory(for: "prolo-bench")
        rows = parsed.text("--rows")
    }
}

/// Makes the example mix: every catalog example in turn, for patients p-0000…, with ids and times varied
/// so that bodies are not byte-identical copies of the dictionary.
struct Workload {
    let templates: [(EventType, JSONValue)]
    var generator = SystemRandomNumberGenerator()

    init() throws {
        templates = try CatalogExamples.all.map { payload in
            (type(of: payload).eventType, try PayloadCodec.encodeValue(payload))
        }
    }

    mutating func drafts(count: Int, patients: Int, offset: Int = 0) throws -> [EventDraft] {
        let author = Author(id: "prac-0012", role: .clinician)
        let base: Int64 = 1_790_000_000_000
        return try (0..<count).map { index in
            let (type, template) = templates[(index + offset) % templates.count]
            let patient = try PatientID(checked: String(format: "p-%04d", (index + offset) % patients))
            let shift = Int64(index + offset) * 61_000
            let value = vary(template, patient: patient.text, shift: shift)
            return try EventDraft(
                type: type, json: CanonicalJSON.encode(value), patient: type.isAdministrative ? nil : patient,
                occurredAt: Timestamp(millisecondsSinceEpoch: base + shift), author: author)
        }
    }

    private mutating func vary(_ value: JSONValue, patient: String, shift: Int64) -> JSONValue {
        switch value {
        case .string(let text):
            if text == "p-0001" { return .string(patient) }
            if UUIDRule.allows(text) { return .string(UUIDv7.make(milliseconds: 1_790_000_000_000 + shift).text) }
            if let time = try? Timestamp(checked: text) {
                return .string(Timestamp(millisecondsSinceEpoch: time.millisecondsSinceEpoch + shift).text)
            }
            return value
        case .array(let elements): return .array(elements.map { vary($0, patient: patient, shift: shift) })
        case .object(let members): return .object(members.mapValues { vary($0, patient: patient, shift: shift) })
        default: return value
        }
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}


func run() throws {
    let options = Options(arguments: CommandLine.arguments)
    try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: options.directory) }
    var workload = try Workload()
    var rows: [(String, String, String, String)] = []

    // 1. Batched append.
    let drafts = try workload.drafts(count: options.events, patients: options.patients)
    let key = DeviceKey()
    let batched = try EventStore.create(at: options.directory + "/batched.sqlite", deviceName: "bench", key: key)
    let batchSeconds = try seconds {
        var start = 0
        while start < drafts.count {
            let end = min(drafts.count, start + options.batch)
            try batched.record(Array(drafts[start..<end]), signedBy: key)
            start = end
        }
    }
    rows.append(("append, batches of \(options.batch) (compress + sign + chain + insert)", "\(options.events)",
        format(Double(options.events) / batchSeconds), String(format: "%.2f s", batchSeconds)))

    // 2. One commit each.
    let singleKey = DeviceKey()
    let singles = try EventStore.create(at: options.directory + "/single.sqlite", deviceName: "bench", key: singleKey)
    let singleDrafts = Array(drafts.prefix(options.singles))
    let singleSeconds = try seconds {
        for draft in singleDrafts { try singles.record([draft], signedBy: singleKey) }
    }
    rows.append(("append, one commit each (fsync per event)", "\(options.singles)",
        format(Double(options.singles) / singleSeconds), String(format: "%.2f s", singleSeconds)))

    // 3. Read everything back: inflate and parse every body, and decode typed payloads. The first pass stops
    // after inflating, so the table shows what the store and the codec cost apart from the JSON parser.
    var inflatedCount = 0
    let inflateSeconds = try seconds {
        try batched.scan(EventFilter()) { stored throws(StoreError) in
            do {
                _ = try stored.event.payloadBytes()
                inflatedCount += 1
            } catch {
                throw StoreError(.ioError, "event \(stored.event.id): \(error)")
            }
        }
    }
    rows.append(("read all: scan + inflate", "\(inflatedCount)", format(Double(inflatedCount) / inflateSeconds),
        String(format: "%.2f s", inflateSeconds)))

    var readCount = 0
    var canonicalBytes = 0
    var storedBytes = 0
    let readSeconds = try seconds {
        try batched.scan(EventFilter()) { stored throws(StoreError) in
            do {
                let payload = try stored.event.payloadBytes()
                _ = try JSONParser.parse(payload)
                canonicalBytes += payload.count
                storedBytes += stored.event.body.count
                readCount += 1
            } catch {
                throw StoreError(.ioError, "event \(stored.event.id): \(error)")
            }
        }
    }
    rows.append(("read all: scan + inflate + parse JSON", "\(readCount)", format(Double(readCount) / readSeconds),
        String(format: "%.2f s", readSeconds)))

    let sample = Array(try batched.events(EventFilter(limit: 20_000)))
    let typedSeconds = try seconds {
        _ = try Parallel.map(sample) { try $0.event.payload() }
    }
    rows.append(("read: decode typed, validated payloads (all cores)", "\(sample.count)",
        format(Double(sample.count) / typedSeconds), String(format: "%.2f s", typedSeconds)))

    // 4. Size: stored body vs canonical JSON, with the dictionary and without.
    var plainBytes = 0
    for draft in drafts.prefix(20_000) {
        plainBytes += try BodyCodec.compress(draft.payloadBytes, dictionary: .none).count
    }
    let plainCanonical = drafts.prefix(20_000).reduce(0) { $0 + $1.payloadBytes.count }
    let fileBytes = (try FileManager.default.attributesOfItem(atPath: batched.path)[.size] as? Int) ?? 0

    // 5. Where the time of an append goes, one core, per event.
    let stageDrafts = Array(drafts.prefix(10_000))
    var compressedDrafts: [CompressedDraft] = []
    let compressSeconds = try seconds { compressedDrafts = try stageDrafts.map { try $0.compressed() } }
    var sealer = EventSealer(origin: key.publicKey.origin, lastSeq: 0, lastHash: nil, clock: HybridClock())
    var unsigned: [UnsignedEvent] = []
    let linkSeconds = seconds {
        unsigned = compressedDrafts.map { sealer.link($0, wallMilliseconds: 1_790_000_000_000) { _ in nil } }
    }
    let signSeconds = try seconds { _ = try unsigned.map { try $0.signed(with: key) } }
    var stages: [(String, Double)] = [
        ("compress (zlib + dictionary)", compressSeconds), ("link (HLC, UUID, canonical envelope, SHA-256)", linkSeconds),
        ("sign (Ed25519)", signSeconds),
    ]
    stages.append(("total of the above", compressSeconds + linkSeconds + signSeconds))

    print("## Event log benchmark")
    print("")
    print("Machine: \(machine()); date: \(Timestamp.now().text.prefix(10)); build: release.")
    print("")
    print("| workload | events | events/s | time |")
    print("|---|---:|---:|---:|")
    for row in rows { print("| \(row.0) | \(row.1) | \(row.2) | \(row.3) |") }
    print("")
    print("| size | value |")
    print("|---|---:|")
    print("| canonical JSON per event (mean) | \(canonicalBytes / max(1, readCount)) B |")
    print("| stored body per event, preset dictionary v1 | \(storedBytes / max(1, readCount)) B |")
    print("| stored body ÷ canonical JSON, dictionary v1 | \(String(format: "%.1f %%", 100 * Double(storedBytes) / Double(max(1, canonicalBytes)))) |")
    print("| stored body ÷ canonical JSON, plain zlib (no dictionary) | \(String(format: "%.1f %%", 100 * Double(plainBytes) / Double(max(1, plainCanonical)))) |")
    print("| SQLite file per event (envelope, indexes, body) | \(fileBytes / max(1, options.events)) B |")
    print("| peak RSS | \(format(peakRSSMegabytes())) MiB |")
    print("")
    print("| append stage, one core | µs/event |")
    print("|---|---:|")
    for (name, time) in stages {
        print("| \(name) | \(String(format: "%.1f", time * 1e6 / Double(stageDrafts.count))) |")
    }

    // The common table's rows (Tools/bench). Bytes per event: the batched store's SQLite file once its WAL is
    // folded in (a one-commit-each store's WAL holds a page image per commit, so its size says nothing per event),
    // the stored body for the reads. Peak RSS: the whole run's.
    guard let rowsPath = options.rows else { return }
    try? SQLiteConnection(path: batched.path).execute("PRAGMA wal_checkpoint(TRUNCATE)")
    func storeBytes(_ path: String) -> Int {
        [path, path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
        }
    }
    let bytesPerEvent: [(Double?, String)] = [
        (Double(storeBytes(batched.path)) / Double(max(1, options.events)), "bytes: SQLite file, WAL checkpointed"),
        (nil, "the same store format"),
        (Double(storedBytes) / Double(max(1, readCount)), "bytes: stored body"),
        (Double(storedBytes) / Double(max(1, readCount)), "bytes: stored body"), (nil, "a sample"),
    ]
    let peak = peakRSSMegabytes()
    let common = zip(rows, bytesPerEvent).map { row, bytes in
        BenchRow(
            "event log: " + row.0, size: "\(row.1) events", eventsPerSecond: Double(row.2),
            bytesPerEvent: bytes.0, peakRSSMegabytes: peak, note: "time \(row.3); \(bytes.1); peak RSS of the whole run")
    }
    BenchRow.append(common, to: rowsPath)
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("prolo-bench: \(error)\n".utf8))
    exit(70)
}
