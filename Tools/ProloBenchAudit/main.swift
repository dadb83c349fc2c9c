// prolo-bench-audit: the audit verification benchmark. Run through Tools/bench-audit.sh (release build).
//
// Workloads: record N events of the clinical mix over P patients into a plain EventStore in batches of 1000 (the
// store `prolo audit verify` reads); `ChainVerifier.verify` over the whole log, as `prolo audit verify` runs it
// (events/s, and VmRSS sampled at every progress callback with VmHWM reset before, to show memory stays flat);
// where one event's verification time goes, on one core; and the real command, `prolo audit verify --store FILE
// --json`, as a child process under `/usr/bin/time` (wall time, CPU time, its own peak RSS). Prints a Markdown table; `--rows FILE` appends the common table's rows.
//
// The clinical mix (`PatientStory`, `Clinic`) lives in Tools/BenchSupport, shared by every benchmark.
import Foundation
import ProloAudit
import ProloDomain
import ProloStore
import ProloBenchSupport

struct Options {
    var events = 1_000_000
    var patients = 10_000
    var batch = 1_000
    var directory = NSTemporaryDirectory() + "prolo-bench-audit-\(getpid())"
    var rows: String?
    var prolo: String?
    var store: String?
    var keep = false

    init(arguments: [String]) {
        let parsed = BenchArguments(
            arguments, options: ["--events", "--patients", "--batch", "--dir", "--rows", "--prolo", "--store"],
            flags: ["--keep"],
            usage: "usage: prolo-bench-audit [--events N] [--patients N] [--batch N] [--dir DIR] [--rows FILE] "
                + "[--prolo PATH] [--store FILE] [--keep]")
        events = parsed.int("--events") ?? events
        patients = parsed.int("--patients") ?? patients
        batch = parsed.int("--batch") ?? batch
        directory = parsed.directory(for: "prolo-bench-audit")
        rows = parsed.text("--rows")
        prolo = parsed.text("--prolo")
        store = parsed.text("--store")
        keep = parsed.flag("--keep")
        patients = max(1, min(patients, events))
        batch = max(1, batch)
        // The `prolo` built next to this executable (Tools/bench-audit.sh builds both in .build-bench).
        if prolo == nil {
            let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
                .appendingPathComponent("prolo").path
            if FileManager.default.isExecutableFile(atPath: sibling) { prolo = sibling }
        }
    }
}

/// User + system CPU seconds of this process (`RUSAGE_SELF`) or of its reaped children (`RUSAGE_CHILDREN`).
func cpuSeconds(_ who: Int32) -> Double {
    var usage = rusage()
    getrusage(who, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Runs `body` and returns its result with the CPU seconds this thread spent in it.
func threadTimed<Result>(_ body: () throws -> Result) rethrows -> (Result, Double) {
    func cpu() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
    let start = cpu()
    let result = try body()
    return (result, cpu() - start)
}

/// VmRSS at a progress callback of the verification.
struct Sample {
    let done: Int
    let seconds: Double
    let rss: Double
}

/// The real command as a child process: wall seconds, its peak RSS (MiB) and CPU seconds, and its JSON output.
///
/// It runs under `/usr/bin/time` when present, whose `wait4` reports `prolo`'s own peak (`%M`): a child spawned
/// straight from this process would start its peak at this process's RSS (`posix_spawn` shares the parent's memory
/// until `exec`, and the kernel keeps `ru_maxrss` across `exec`), so `getrusage(RUSAGE_CHILDREN)` here would report
/// this benchmark's RSS, not the command's. Without `/usr/bin/time`, the peak is the child's last VmHWM read.
func runCLI(_ prolo: String, store: String, directory: String) throws -> (
    seconds: Double, peak: Double, cpu: Double, status: Int32, output: String, rssSamples: [Double]
) {
    let timeTool = "/usr/bin/time"
    let timePath = directory + "/verify-time.txt"
    let viaTime = FileManager.default.isExecutableFile(atPath: timeTool)
    let command = [prolo, "audit", "verify", "--store", store, "--json"]
    let process = Process()
    process.executableURL = URL(fileURLWithPath: viaTime ? timeTool : prolo)
    process.arguments = viaTime ? ["-f", "%M %U %S", "-o", timePath] + command : Array(command.dropFirst())
    let outputPath = directory + "/verify-output.json"
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    let start = now()
    try process.run()
    var rssSamples: [Double] = []
    var lastPeak = 0.0
    while process.isRunning {
        // `prolo` itself: the child of /usr/bin/time, or the child.
        let parent = process.processIdentifier
        let children = (try? String(contentsOfFile: "/proc/\(parent)/task/\(parent)/children", encoding: .utf8)) ?? ""
        let pid = viaTime ? children.split(separator: " ").first.flatMap { Int32($0) } : parent
        if let pid {
            let rss = statusMegabytes("VmRSS", pid: pid)
            lastPeak = max(lastPeak, statusMegabytes("VmHWM", pid: pid))
            // From the second second on: before that the child is still starting (exec, dynamic linking).
            if rss > 0, seconds(since: start) >= 1 { rssSamples.append(rss) }
        }
        usleep(250_000)
    }
    process.waitUntilExit()
    let wall = seconds(since: start)
    try output.close()
    var peak = lastPeak
    var cpu = cpuSeconds(RUSAGE_CHILDREN.rawValue)
    if viaTime, let fields = try? String(contentsOfFile: timePath, encoding: .utf8).split(whereSeparator: \.isWhitespace)
        .compactMap({ Double($0) }), fields.count == 3
    {
        peak = fields[0] / 1024
        cpu = fields[1] + fields[2]
    }
    let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    return (wall, peak, cpu, process.terminationStatus, text, rssSamples)
}

// MARK: The run

func run() throws {
    BenchProgress.tool = "prolo-bench-audit"
    let options = Options(arguments: CommandLine.arguments)
    try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
    defer { if !options.keep { try? FileManager.default.removeItem(atPath: options.directory) } }
    var rows: [BenchRow] = []
    var markdown: [String] = []

    // 1. The store: built here, or an existing one (`--store`, for repeated runs and profiling).
    let path = options.store ?? options.directory + "/audit.sqlite"
    var loadLine = "an existing store (`--store`)"
    if options.store == nil {
        let ((recordSeconds, draftSeconds, loaded), wall) = try timed {
            let key = DeviceKey()
            let store = try EventStore.create(at: path, deviceName: "clinic-server", key: key)
            let (recordSeconds, draftSeconds) = try loadClinicalMix(
                into: store, key: key, events: options.events, patients: options.patients, batch: options.batch)
            return (recordSeconds, draftSeconds, try store.count())
        }
        // The store is closed: fold the WAL into the file, so its size is the log's and the verifier reads a
        // settled store (as a server's would be between checkpoints).
        try SQLiteConnection(path: path).execute("PRAGMA wal_checkpoint(TRUNCATE)")
        loadLine = "\(loaded) events of the clinical mix over \(options.patients) patients, recorded by one device "
            + "in batches of \(options.batch) in \(format(wall, 1)) s (\(format(Double(loaded) / recordSeconds)) "
            + "events/s in `record`, + \(format(draftSeconds, 1)) s drafting)"
        rows.append(BenchRow(
            "audit store: record() in batches of \(options.batch), plain EventStore", size: "\(loaded) events",
            eventsPerSecond: Double(loaded) / recordSeconds, bytesPerEvent: Double(fileBytes(path)) / Double(max(1, loaded)),
            peakRSSMegabytes: peakRSSMegabytes(), note: "setup of the verify benchmark"))
    }
    let storeBytes = fileBytes(path) + fileBytes(path + "-wal")
    _ = BenchProgress.start

    // 2. Verify in this process, as `prolo audit verify` does: the same call, sampled at each progress callback.
    var samples: [Sample] = []
    let report: VerificationReport
    let verifySeconds: Double
    let rssBefore: Double
    let peakReset: Bool
    var cpuBefore = 0.0
    let verifyCPU: Double
    do {
        let store = try EventStore.open(at: path)
        rssBefore = statusMegabytes("VmRSS")
        peakReset = resetPeakRSS()
        BenchProgress.note("verifying \(try store.count()) events")
        cpuBefore = cpuSeconds(RUSAGE_SELF.rawValue)
        let start = now()
        report = try ChainVerifier.verify(store) { done, total in
            samples.append(Sample(done: done, seconds: seconds(since: start), rss: statusMegabytes("VmRSS")))
            if samples.count % 50 == 0 { BenchProgress.note("verified \(done) of \(total)") }
        }
        verifySeconds = seconds(since: start)
        verifyCPU = cpuSeconds(RUSAGE_SELF.rawValue) - cpuBefore
    }
    let verifyPeak = statusMegabytes("VmHWM")
    let rssAfter = statusMegabytes("VmRSS")
    let checked = report.eventsChecked
    let rate = Double(checked) / verifySeconds
    let firstCallback = samples.first?.seconds ?? 0
    let lastCallback = samples.last?.seconds ?? verifySeconds
    func rss(at fraction: Double) -> Double {
        samples.first { Double($0.done) >= fraction * Double(checked) }?.rss ?? 0
    }
    let sampledPeak = samples.map(\.rss).max() ?? 0
    let sampledLow = samples.dropFirst(max(0, samples.count / 10 - 1)).map(\.rss).min() ?? 0
    rows.append(BenchRow(
        "audit verify: ChainVerifier.verify in process (hashes, signatures, chains, registry)", size: "\(checked) events",
        eventsPerSecond: rate, bytesPerEvent: Double(storeBytes) / Double(max(1, checked)),
        peakRSSMegabytes: peakReset ? verifyPeak : nil,
        note: "\(report.isClean ? "clean" : "NOT CLEAN"); RSS at 10/50/100 %: \(format(rss(at: 0.1))) / "
            + "\(format(rss(at: 0.5))) / \(format(rss(at: 1))) MiB; \(format(verifyCPU / verifySeconds, 2)) cores busy"))

    // 3. Where one event's time goes, on one core (a sample read the way the verifier reads a page). Timed in this
    // thread's CPU time, not wall time, so that other processes on a shared machine do not inflate it.
    let sampleSize = min(5_000, checked)
    var stages: [(String, Double)] = []
    do {
        let store = try EventStore.open(at: path)
        let key = store.identity.publicKey
        let (events, readSeconds) = try threadTimed {
            try store.events(EventFilter(origin: store.identity.origin, originSeqs: 1...Int64(max(1, sampleSize))))
                .map { $0.event }
        }
        let (hashes, hashSeconds) = threadTimed { events.allSatisfy(\.hasValidHash) }
        let (signatures, signatureSeconds) = threadTimed {
            events.allSatisfy { key.isValidSignature($0.signature, for: $0.hash.bytes) }
        }
        let (payloads, inflateSeconds) = threadTimed { events.allSatisfy { (try? $0.payloadBytes()) != nil } }
        stages = [
            ("read the row and decode it (SQLite step + `decodeRow`: ids, times, hashes; serial in the verifier)", readSeconds),
            ("check the hash (canonical envelope + SHA-256)\(hashes ? "" : " FAILED")", hashSeconds),
            ("verify the Ed25519 signature\(signatures ? "" : " FAILED")", signatureSeconds),
        ]
        stages.append(("(not done by verify) inflate the body\(payloads ? "" : " FAILED")", inflateSeconds))
    }
    func micro(_ time: Double) -> Double { time * 1e6 / Double(max(1, sampleSize)) }
    let serial = micro(stages[0].1)
    let parallel = micro(stages[1].1 + stages[2].1)
    let cores = Double(ProcessInfo.processInfo.activeProcessorCount)

    // 4. The real command, as a child process.
    var cliLine = "not run: no `prolo` executable (build it with `--product prolo` in the same scratch path, or pass --prolo)"
    var cliRSS = ""
    if let prolo = options.prolo {
        BenchProgress.note("running \(prolo) audit verify")
        let cli = try runCLI(prolo, store: path, directory: options.directory)
        let json = try? JSONSerialization.jsonObject(with: Data(cli.output.utf8)) as? [String: Any]
        let verified = json?["verified"] as? Bool == true && json?["eventsChecked"] as? Int == checked
        let rateCLI = Double(checked) / cli.seconds
        cliLine = "`prolo audit verify --store FILE --json`: exit \(cli.status), \(format(cli.seconds, 1)) s wall "
            + "(\(format(rateCLI)) events/s over the \(checked) events), \(format(cli.cpu, 1)) s CPU "
            + "(\(format(cli.cpu / cli.seconds, 2)) cores busy), peak RSS \(format(cli.peak)) MiB"
        if !cli.rssSamples.isEmpty {
            let count = cli.rssSamples.count
            let pick = { (fraction: Double) in cli.rssSamples[min(count - 1, Int(fraction * Double(count)))] }
            cliRSS = "VmRSS sampled every 0.25 s after its first second (\(count) samples) at 10/50/100 % of the run: \(format(pick(0.1))) / "
                + "\(format(pick(0.5))) / \(format(cli.rssSamples[count - 1])) MiB"
        }
        rows.append(BenchRow(
            "audit verify: `prolo audit verify --json` (child process, whole command)", size: "\(checked) events",
            eventsPerSecond: rateCLI, bytesPerEvent: Double(storeBytes) / Double(max(1, checked)),
            peakRSSMegabytes: cli.peak,
            note: "exit \(cli.status)\(verified ? ", verified" : ", NOT VERIFIED"); \(format(cli.cpu / cli.seconds, 2)) cores busy"))
        if cli.status != 0 || !verified {
            FileHandle.standardError.write(Data("prolo-bench-audit: prolo audit verify: exit \(cli.status): \(cli.output.prefix(400))\n".utf8))
        }
    }

    markdown.append("## Audit verify benchmark")
    markdown.append("")
    markdown.append("Machine: \(machine()); date: \(Timestamp.now().text.prefix(10)); build: release.")
    markdown.append("Store: \(loadLine); \(format(Double(storeBytes) / 1_048_576)) MiB with its WAL. Verification: "
        + "\(report.isClean ? "clean" : "NOT CLEAN: \(report.firstProblem.map(String.init(describing:)) ?? "")"), "
        + "\(report.heads.count) chains.")
    markdown.append("")
    markdown.append("| workload | events | events/s | time |")
    markdown.append("|---|---:|---:|---:|")
    markdown.append("| `ChainVerifier.verify` (as `prolo audit verify`), in this process | \(checked) | \(format(rate)) | "
        + "\(format(verifySeconds, 1)) s |")
    markdown.append("| CPU time of the process during verify; cores busy on average (of \(Int(cores))) |  | "
        + "\(format(Double(checked) / verifyCPU)) per CPU-second | \(format(verifyCPU, 1)) s; \(format(verifyCPU / verifySeconds, 2)) |")
    markdown.append("| until the first page's progress callback (count, triggers, registry, first \(samples.first?.done ?? 0) "
        + "events) / after the last page's (forks, derived columns) |  |  | \(format(firstCallback, 2)) s / "
        + "\(format(verifySeconds - lastCallback, 2)) s |")
    markdown.append("")
    markdown.append("| memory during verify | MiB |")
    markdown.append("|---|---:|")
    markdown.append("| VmRSS before verify (store open) | \(format(rssBefore)) |")
    for fraction in [0.1, 0.25, 0.5, 0.75, 1.0] {
        markdown.append("| VmRSS at \(format(fraction * 100)) % of the events | \(format(rss(at: fraction))) |")
    }
    markdown.append("| lowest / highest VmRSS sampled after 10 % (\(samples.count) samples, one per page of 2048) | "
        + "\(format(sampledLow)) / \(format(sampledPeak)) |")
    if peakReset {
        markdown.append("| peak RSS during verify (VmHWM, reset before it) | \(format(verifyPeak)) |")
    } else {
        markdown.append("| peak RSS of the process by the end of verify (VmHWM could not be reset) | \(format(verifyPeak)) |")
    }
    markdown.append("| VmRSS after verify | \(format(rssAfter)) |")
    markdown.append("")
    markdown.append("| one event's verification, one core, CPU time (\(sampleSize) events) | µs/event |")
    markdown.append("|---|---:|")
    for (name, time) in stages { markdown.append("| \(name) | \(format(micro(time), 1)) |") }
    let pagedCeiling = 1e6 / (serial + parallel / cores)
    let parallelCeiling = cores * 1e6 / (serial + parallel)
    let coreCount = Int(cores)
    markdown.append("| ceiling on \(coreCount) idle cores with the read serial and the checks parallel, as the verifier "
        + "pages: \(format(serial, 1)) + \(format(parallel, 1)) / \(coreCount) µs | \(format(pagedCeiling)) events/s |")
    markdown.append("| ceiling on \(coreCount) idle cores if the read also ran in parallel: (\(format(serial, 1)) + \(format(parallel, 1))) / "
        + "\(coreCount) µs | \(format(parallelCeiling)) events/s |")
    markdown.append("")
    markdown.append("The command: \(cliLine).\(cliRSS.isEmpty ? "" : " \(cliRSS).")")
    print(markdown.joined(separator: "\n"))
    BenchRow.append(rows, to: options.rows)
    if !report.isClean { exit(65) }
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("prolo-bench-audit: \(error)\n".utf8))
    exit(70)
}
