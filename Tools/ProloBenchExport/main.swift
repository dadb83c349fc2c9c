// prolo-bench-export: the FHIR export benchmark (issue 16). Run through Tools/bench (release build).
//
// Workloads, in one run so that their ratios hold on a noisy machine: record N events of the clinical mix over P
// patients into a plain EventStore in batches of 1000 (or open `--store FILE`, a store an earlier run kept with
// `--keep`); the reference, one core reading every event of the log, inflating its body and parsing the payload
// (`EventStore.scan` + `JSONParser`); then `FHIRBulkExport.export` of the whole clinic into a new folder, as
// `prolo export fhir --all --bulk DIR` runs it: events/s (the log's events over the export's wall time),
// resources/s, MiB written, and the peak RSS of the export alone (VmHWM reset before it, sampled at every
// patient), with the RSS after the first and the last tenth of the patients to show that memory stays flat.
// Prints a Markdown table; `--rows FILE` appends the common table's rows.
import Foundation
import ProloBenchSupport
import ProloDomain
import ProloExport
import ProloStore

struct Options {
    var events = 1_000_000
    var patients = 10_000
    var batch = 1_000
    var directory = NSTemporaryDirectory() + "prolo-bench-export-\(getpid())"
    var rows: String?
    var store: String?
    var keep = false

    init(arguments: [String]) {
        let parsed = BenchArguments(
            arguments, options: ["--events", "--patients", "--batch", "--dir", "--rows", "--store"], flags: ["--keep"],
            usage: "usage: prolo-bench-export [--events N] [--patients N] [--batch N] [--dir DIR] [--rows FILE] "
                + "[--store FILE] [--keep]")
        events = parsed.int("--events") ?? events
        patients = parsed.int("--patients") ?? patients
        batch = parsed.int("--batch") ?? batch
        directory = parsed.directory(for: "prolo-bench-export")
        rows = parsed.text("--rows")
        store = parsed.text("--store")
        keep = parsed.flag("--keep")
        patients = max(1, min(patients, events))
        batch = max(1, batch)
    }
}

/// The bytes of every file in a folder.
func folderBytes(_ path: String) -> Int {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).reduce(0) { $0 + fileBytes(path + "/" + $1) }
}

func run() throws {
    BenchProgress.tool = "prolo-bench-export"
    let options = Options(arguments: CommandLine.arguments)
    try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
    defer { if !options.keep { try? FileManager.default.removeItem(atPath: options.directory) } }
    var rows: [BenchRow] = []

    // 1. The store.
    let store: EventStore
    let path: String
    if let given = options.store {
        path = given
        store = try EventStore.open(at: given)
    } else {
        path = options.directory + "/clinic.sqlite"
        let key = DeviceKey()
        store = try EventStore.create(at: path, deviceName: "clinic-server", key: key)
        let (recordSeconds, _) = try loadClinicalMix(
            into: store, key: key, events: options.events, patients: options.patients, batch: options.batch)
        let count = try store.count()
        rows.append(BenchRow(
            "export setup: record() in batches of \(options.batch)", size: "\(count) events",
            eventsPerSecond: Double(count) / recordSeconds, bytesPerEvent: Double(fileBytes(path) + fileBytes(path + "-wal")) / Double(count),
            peakRSSMegabytes: peakRSSMegabytes(), note: "the store exported" + (options.keep ? " (kept: \(path))" : "")))
    }
    let count = try store.count()

    // 2. The reference: one core reads, inflates and parses every event.
    BenchProgress.note("scanning \(count) events (read + inflate + parse, one core)")
    var parsed = 0
    let (_, scanSeconds) = try timed {
        try store.scan(EventFilter()) { stored throws(StoreError) in
            if (try? JSONParser.parse(try stored.event.payloadBytes())) != nil { parsed += 1 }
        }
    }
    let scanRate = Double(count) / scanSeconds
    rows.append(BenchRow(
        "export reference: scan + inflate + parse every event, one core", size: "\(count) events",
        eventsPerSecond: scanRate, bytesPerEvent: nil, peakRSSMegabytes: nil, note: "\(parsed) payloads parsed"))

    // 3. The bulk export.
    let out = options.directory + "/bulk"
    _ = resetPeakRSS()
    let baseline = statusMegabytes("VmRSS")
    var tenths: [Double] = []
    BenchProgress.note("bulk export of \(count) events into \(out)")
    let (manifest, exportSeconds) = try timed {
        try FHIRBulkExport.export(from: store, to: out) { done, total in
            if done == max(1, total / 10) || done == total { tenths.append(statusMegabytes("VmRSS")) }
            if done % max(1, total / 5) == 0 { BenchProgress.note("exported \(done) of \(total) patients") }
        }
    }
    let bytes = folderBytes(out)
    let rate = Double(count) / exportSeconds
    let resourceRate = Double(manifest.resources) / exportSeconds
    let peak = peakRSSMegabytes()
    let flat = tenths.count == 2 ? "RSS after the first tenth \(format(tenths[0])) MiB, at the end \(format(tenths[1])) MiB" : ""
    rows.append(BenchRow(
        "export fhir --all --bulk (FHIRBulkExport)", size: "\(count) events, \(manifest.patients) patients",
        eventsPerSecond: rate, bytesPerEvent: Double(bytes) / Double(count), peakRSSMegabytes: peak,
        note: "\(manifest.resources) resources, \(format(resourceRate)) resources/s, \(format(Double(bytes) / 1_048_576, 1)) MiB written; "
            + "\(flat) (\(format(baseline)) before); ÷ one-core scan \(format(rate / scanRate, 2))×"))

    print("## FHIR export benchmark")
    print("")
    print("Machine: \(machine()); date: \(Timestamp.now().text.prefix(10)); build: release.")
    print("")
    print("| workload | events | events/s | resources/s | MiB written | peak RSS MiB | time |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("| scan + inflate + parse, one core | \(count) | \(format(scanRate)) | | | | \(format(scanSeconds, 1)) s |")
    print("| bulk export | \(count) | \(format(rate)) | \(format(resourceRate)) | \(format(Double(bytes) / 1_048_576, 1)) | \(format(peak)) | \(format(exportSeconds, 1)) s |")
    if !tenths.isEmpty { print("\nRSS (MiB) before the export \(format(baseline)); \(flat).") }
    BenchRow.append(rows, to: options.rows)
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("prolo-bench-export: \(error)\n".utf8))
    exit(70)
}
