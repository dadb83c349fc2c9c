// prolo-bench-projection: the treatment projection benchmark. Run through Tools/bench-projection.sh (release build).
//
// Workloads: record N events of a clinical mix over P patients into a ProjectedStore in batches of 1000 (the read
// models are kept current in every append transaction, as in use); `rebuild()` over the whole log (events/s, the
// RSS before it and its own peak); then the projection's incremental cost per append: the same events through a
// plain EventStore and through a ProjectedStore, one commit each and in batches of 100, on fresh stores (short
// patient histories) and on the loaded store (long ones). Prints a Markdown table.
//
// The clinical mix (`PatientStory`, `Clinic`) lives in Tools/BenchSupport, shared by every benchmark.
import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloBenchSupport

struct Options {
    var events = 1_000_000
    var patients = 10_000
    var batch = 1_000
    var singles = 2_000
    var batched = 20_000
    var appendBatch = 100
    var directory = NSTemporaryDirectory() + "prolo-bench-projection-\(getpid())"
    /// Where to append the common table's rows (Tools/bench), as JSON lines.
    var rows: String?

    init(arguments: [String]) {
        let parsed = BenchArguments(
            arguments,
            options: ["--events", "--patients", "--batch", "--singles", "--batched", "--append-batch", "--dir", "--rows"],
            usage: "usage: prolo-bench-projection [--events N] [--patients N] [--batch N] [--singles N] "
                + "[--batched N] [--append-batch N] [--dir DIR] [--rows FILE]")
        events = parsed.int("--events") ?? events
        patients = parsed.int("--patients") ?? patients
        batch = parsed.int("--batch") ?? batch
        singles = parsed.int("--singles") ?? singles
        batched = parsed.int("--batched") ?? batched
        appendBatch = parsed.int("--append-batch") ?? appendBatch
        directory = parsed.directory(for: "prolo-bench-projection")
        rows = parsed.text("--rows")
        patients = max(1, min(patients, events))
        batch = max(1, batch)
        appendBatch = max(1, appendBatch)
    }
}


/// Plain against projected appends of the same events: `projected` records each chunk live (so the story's
/// references are real ids there), then `plain` records the very same drafts; chunks alternate so that the
/// machine's noise falls on both. `openProjected` and `openPlain` are called once per chunk and their store is
/// released at the chunk's end, so two connections to one file are never open at once (see BENCHMARKS.md:
/// a second connection's writes fail on the first one's stale read snapshot). Returns the seconds spent inside
/// `record` for each.
func compareAppends(
    events: Int, perCommit: Int, chunks: Int, clinic: inout Clinic, patients: Range<Int>,
    openProjected: () throws -> EventStore, openPlain: () throws -> EventStore, key: DeviceKey
) throws -> (plain: Double, projected: Double, events: Int) {
    var plainSeconds = 0.0
    var projectedSeconds = 0.0
    var cursor = 0
    var done = 0
    let perChunk = max(perCommit, (events + chunks - 1) / chunks)
    while done < events {
        var chunkDrafts: [[EventDraft]] = []
        var chunkDone = 0
        do {
            let projected = try openProjected()
            while chunkDone < perChunk, done + chunkDone < events {
                let count = min(perCommit, events - done - chunkDone, patients.count)
                let indices = (0..<count).map { patients.lowerBound + (cursor + $0) % patients.count }
                cursor = (cursor + count) % patients.count
                let drafts = try clinic.drafts(for: indices)
                let start = now()
                let stored = try projected.record(drafts, signedBy: key)
                projectedSeconds += seconds(since: start)
                clinic.recorded(stored, for: indices)
                chunkDrafts.append(drafts)
                chunkDone += count
            }
        }
        do {
            let plain = try openPlain()
            for drafts in chunkDrafts {
                let start = now()
                try plain.record(drafts, signedBy: key)
                plainSeconds += seconds(since: start)
            }
        }
        done += chunkDone
    }
    return (plainSeconds, projectedSeconds, done)
}

// MARK: The run

func run() throws {
    BenchProgress.tool = "prolo-bench-projection"
    let options = Options(arguments: CommandLine.arguments)
    try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: options.directory) }
    var rows: [(String, String, String, String)] = []

    // 1. Load: the clinical mix, one event per patient per round (as a clinic's days go), in batches.
    let key = DeviceKey()
    let loadedPath = options.directory + "/loaded.sqlite"
    var projected: ProjectedStore? = try ProjectedStore.create(at: loadedPath, deviceName: "bench", key: key)
    var clinic = try Clinic(patients: options.patients, seed: 42)
    var mix: [EventType: Int] = [:]
    var recordSeconds = 0.0
    var draftSeconds = 0.0
    var loaded = 0
    var roundRates: [(events: Int, seconds: Double)] = []
    let loadStart = now()
    while loaded < options.events {
        let round = min(options.patients, options.events - loaded)
        var start = 0
        let roundStart = recordSeconds
        while start < round {
            let indices = start..<min(round, start + options.batch)
            let draftStart = now()
            let drafts = try clinic.drafts(for: indices)
            draftSeconds += seconds(since: draftStart)
            for draft in drafts { mix[draft.type, default: 0] += 1 }
            let recordStart = now()
            let stored = try projected!.store.record(drafts, signedBy: key)
            recordSeconds += seconds(since: recordStart)
            clinic.recorded(stored, for: indices)
            start = indices.upperBound
        }
        loaded += round
        roundRates.append((round, recordSeconds - roundStart))
        if loaded % 100_000 < options.patients || loaded == options.events {
            BenchProgress.note(
                "loaded \(loaded) events (\(format(Double(loaded) / max(recordSeconds, 1e-9))) events/s in record)")
        }
    }
    let loadWall = seconds(since: loadStart)
    rows.append((
        "load: record() in batches of \(options.batch) into a ProjectedStore (compress, sign, insert, read models)",
        "\(loaded)", format(Double(loaded) / recordSeconds),
        "\(format(recordSeconds, 1)) s (+ \(format(draftSeconds, 1)) s drafting; wall \(format(loadWall, 1)) s)"))
    let tenth = max(1, roundRates.count / 10)
    func rate(_ rounds: ArraySlice<(events: Int, seconds: Double)>) -> String {
        format(Double(rounds.reduce(0) { $0 + $1.events }) / max(1e-9, rounds.reduce(0) { $0 + $1.seconds }))
    }
    rows.append((
        "load, first tenth of the rounds (~\(tenth / 2) events per patient held) / last tenth "
            + "(~\(options.events / options.patients - tenth / 2))", "",
        "\(rate(roundRates.prefix(tenth))) / \(rate(roundRates.suffix(tenth)))", ""))
    let afterLoadPeak = statusMegabytes("VmHWM")
    let fileAfterLoad = fileMegabytes(loadedPath)
    let walAfterLoad = fileMegabytes(loadedPath + "-wal")

    // 2. Rebuild.
    let rssBefore = statusMegabytes("VmRSS")
    let peakReset = resetPeakRSS()
    var progressCalls = 0
    var folded = 0
    BenchProgress.note("rebuilding")
    let rebuildStart = now()
    try projected!.rebuild { done, _ in
        progressCalls += 1
        folded = done
    }
    let rebuildSeconds = seconds(since: rebuildStart)
    let rebuildPeak = statusMegabytes("VmHWM")
    let rssAfter = statusMegabytes("VmRSS")
    rows.append((
        "rebuild(): empty the read models, refold every patient (one transaction)", "\(folded)",
        format(Double(folded) / rebuildSeconds), "\(format(rebuildSeconds, 1)) s"))
    let patientRows = try projected!.patients().count

    // The one-core limit the rebuild is measured against (issue 13): read every event's body, inflate it and parse
    // its JSON, on one thread, nothing else.
    BenchProgress.note("one-core scan, inflate and parse")
    let scanStart = now()
    let scanned = try projected!.store.read { connection throws(StoreError) -> Int in
        let statement = try connection.statement("SELECT dict, body FROM events WHERE patient IS NOT NULL")
        defer { statement.reset() }
        var count = 0
        while try statement.step() {
            let body = try? BodyCodec.decompress(statement.blob(1), dictionaryVersion: Int(statement.int64(0)))
            if let body, (try? JSONParser.parse(body)) != nil { count += 1 }
        }
        return count
    }
    let scanSeconds = seconds(since: scanStart)
    rows.append((
        "one core: scan every event, inflate and parse its body (the rebuild's reference)", "\(scanned)",
        format(Double(scanned) / scanSeconds),
        "\(format(scanSeconds, 1)) s; rebuild ÷ this: ×\(format((Double(folded) / rebuildSeconds) / (Double(scanned) / scanSeconds), 2))"))

    // 3. Incremental cost per append on the loaded store: the same file, opened with and without the projection.
    let walAfterRebuild = fileMegabytes(loadedPath + "-wal")
    projected = nil
    var appendRows: [(String, Double, Double, Int)] = []
    do {
        BenchProgress.note("appends on the loaded store")
        let openProjected = { () throws -> EventStore in try ProjectedStore.open(at: loadedPath).store }
        let openPlain = { () throws -> EventStore in try EventStore.open(at: loadedPath) }
        let singles = try compareAppends(
            events: options.singles, perCommit: 1, chunks: 8, clinic: &clinic, patients: 0..<options.patients,
            openProjected: openProjected, openPlain: openPlain, key: key)
        appendRows.append((
            "one commit each, loaded store (~\(options.events / options.patients) events per patient)", singles.plain,
            singles.projected, singles.events))
        let batched = try compareAppends(
            events: options.batched, perCommit: options.appendBatch, chunks: 8, clinic: &clinic,
            patients: 0..<options.patients, openProjected: openProjected, openPlain: openPlain, key: key)
        appendRows.append((
            "batches of \(options.appendBatch) (distinct patients), loaded store", batched.plain, batched.projected,
            batched.events))
    }

    // 4. The same on fresh stores: new patients, about ten events each by the end.
    do {
        let freshKey = DeviceKey()
        let freshProjected = try ProjectedStore.create(
            at: options.directory + "/fresh-projected.sqlite", deviceName: "bench", key: freshKey)
        let freshPlain = try EventStore.create(
            at: options.directory + "/fresh-plain.sqlite", deviceName: "bench", key: freshKey)
        let freshPatients = max(options.appendBatch, options.singles / 10)
        var freshClinic = try Clinic(patients: freshPatients, seed: 7, firstNumber: options.patients)
        BenchProgress.note("appends on fresh stores")
        let singles = try compareAppends(
            events: options.singles, perCommit: 1, chunks: 8, clinic: &freshClinic, patients: 0..<freshPatients,
            openProjected: { freshProjected.store }, openPlain: { freshPlain }, key: freshKey)
        appendRows.insert(
            ("one commit each, fresh stores (\(freshPatients) patients)", singles.plain, singles.projected, singles.events),
            at: 0)
        let batchedPatients = max(options.appendBatch, options.batched / 10)
        var batchedClinic = try Clinic(patients: batchedPatients, seed: 9, firstNumber: options.patients + freshPatients)
        let batched = try compareAppends(
            events: options.batched, perCommit: options.appendBatch, chunks: 8, clinic: &batchedClinic,
            patients: 0..<batchedPatients, openProjected: { freshProjected.store }, openPlain: { freshPlain }, key: freshKey)
        appendRows.insert(
            ("batches of \(options.appendBatch) (distinct patients), fresh stores", batched.plain, batched.projected,
                batched.events), at: 2)
    }

    print("## Projection benchmark")
    print("")
    print("Machine: \(machine()); date: \(Timestamp.now().text.prefix(10)); build: release.")
    print("Workload: \(loaded) events over \(options.patients) patients (\(patientRows) with read-model rows), one "
        + "device; event mix:")
    print(
        mix.sorted { $0.value > $1.value }.map { "\($0.key.rawValue) \(format(100 * Double($0.value) / Double(max(1, loaded)), 1)) %" }
            .joined(separator: ", ") + ".")
    print("")
    print("| workload | events | events/s | time |")
    print("|---|---:|---:|---:|")
    for row in rows { print("| \(row.0) | \(row.1) | \(row.2) | \(row.3) |") }
    print("")
    print("| memory and size | value |")
    print("|---|---:|")
    print("| store file after loading (with WAL) | \(format(fileAfterLoad)) MiB |")
    print("| of which WAL after loading / after rebuild | \(format(walAfterLoad)) / \(format(walAfterRebuild)) MiB |")
    print("| peak RSS after loading (VmHWM) | \(format(afterLoadPeak)) MiB |")
    print("| RSS before rebuild (VmRSS) | \(format(rssBefore)) MiB |")
    if peakReset {
        print("| peak RSS during rebuild (VmHWM, reset before it) | \(format(rebuildPeak)) MiB |")
        print("| rebuild's own growth (peak − before) | \(format(rebuildPeak - rssBefore)) MiB |")
    } else {
        print("| peak RSS of the process by the end of rebuild (VmHWM could not be reset) | \(format(rebuildPeak)) MiB |")
    }
    print("| RSS after rebuild (VmRSS) | \(format(rssAfter)) MiB |")
    print("| rebuild progress callbacks | \(progressCalls) |")
    print("")
    print("| append: same events, plain EventStore vs ProjectedStore | events | plain µs/event | projected µs/event "
        + "| projection's cost µs/event | projected ÷ plain |")
    print("|---|---:|---:|---:|---:|---:|")
    for (name, plain, projectedTime, count) in appendRows {
        let plainMicro = plain * 1e6 / Double(count)
        let projectedMicro = projectedTime * 1e6 / Double(count)
        print("| \(name) | \(count) | \(format(plainMicro, 1)) | \(format(projectedMicro, 1)) | "
            + "\(format(projectedMicro - plainMicro, 1)) | \(format(projectedMicro / plainMicro, 2)) |")
    }

    // The common table's rows (Tools/bench).
    var common = [
        BenchRow(
            "projection: load, record() in batches of \(options.batch) into a ProjectedStore", size: "\(loaded) events",
            eventsPerSecond: Double(loaded) / recordSeconds, bytesPerEvent: fileAfterLoad * 1_048_576 / Double(max(1, loaded)),
            peakRSSMegabytes: afterLoadPeak,
            note: "\(options.patients) patients; first / last tenth \(rate(roundRates.prefix(tenth))) / "
                + "\(rate(roundRates.suffix(tenth))) events/s; bytes: store file with WAL"),
        BenchRow(
            "projection: rebuild() of every read model", size: "\(folded) events",
            eventsPerSecond: Double(folded) / rebuildSeconds, peakRSSMegabytes: peakReset ? rebuildPeak : nil,
            note: "RSS before \(format(rssBefore)) MiB; \(peakReset ? "peak during rebuild" : "VmHWM could not be reset"); "
                + "×\(format((Double(folded) / rebuildSeconds) / (Double(scanned) / scanSeconds), 2)) the one-core scan, "
                + "inflate and parse (\(format(Double(scanned) / scanSeconds)) events/s)"),
    ]
    for (name, plain, projectedTime, count) in appendRows {
        common.append(BenchRow(
            "projection: append with read models, \(name)", size: "\(count) events",
            eventsPerSecond: Double(count) / projectedTime,
            note: "plain EventStore \(format(Double(count) / plain)) events/s (×\(format(projectedTime / plain, 2)))"))
    }
    BenchRow.append(common, to: options.rows)
}


do {
    try run()
} catch {
    FileHandle.standardError.write(Data("prolo-bench-projection: \(error)\n".utf8))
    exit(70)
}
