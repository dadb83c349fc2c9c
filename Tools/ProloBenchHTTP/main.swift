// prolo-bench-http: the HTTP sync benchmark and the load test. Run through Tools/bench-http.sh and
// Tools/load-test.sh (release build; `prolo` is built beside this tool and run as the server).
//
// Workloads, each against a real `prolo serve` child process on 127.0.0.1 with in-process `HTTPSyncClient`s:
// 1. initial sync: a fresh laptop pulls a server store of N events (clinical mix) in one `sync()`;
// 2. in-sync round trips: the same laptop syncs again and again (latency, bytes);
// 3. devices at once: home tablets and laptops each record a few events and sync, several rounds, all at once;
// `--load`: 4. devices syncing in a loop for a duration, with the server's RSS sampled over time.
// Bytes are counted by a TCP proxy in this process that parses the HTTP/1.1 framing (ByteCountingProxy.swift).
import AsyncHTTPClient
import Foundation
import ProloBenchSupport
import ProloDomain
import ProloStore
import ProloSync

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

struct Options {
    var events = 100_000
    var patients = 1_000
    var batch = 1_000
    var initial = "both"
    var roundTrips = 200
    var wireTrips = 20
    var devices: Int?
    var rounds = 20
    var perRound = 3
    var laptopPercent: Int?
    var baseEvents = 2_000
    var basePatients = 100
    var load = false
    var duration = 300.0
    var pause = 3.0
    var sample = 10.0
    var maxRounds: Int?
    var rows: String?
    /// `postgresql`: every server runs on a PostgreSQL database (`prolo move-up`, then `prolo serve --database`) of
    /// the cluster `PROLO_BENCH_DATABASE_URL` (or `PROLO_TEST_DATABASE_URL`) names.
    var backend = "sqlite"
    var directory = NSTemporaryDirectory() + "prolo-bench-http-\(getpid())"

    static let usage = """
        usage: prolo-bench-http [--backend sqlite|postgresql] [--events N] [--patients N] [--batch N] [--initial both|projected|plain]
               [--round-trips N] [--devices N] [--rounds N] [--per-round N] [--laptops PERCENT]
               [--base-events N] [--base-patients N] [--rows FILE] [--dir DIR]
           or: prolo-bench-http --load [--devices N] [--duration S] [--pause S] [--sample S] [--max-rounds N] …
        """

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            if argument == "--load" {
                load = true
                continue
            }
            let text = iterator.next()
            let value = text.flatMap { Int($0.replacingOccurrences(of: "_", with: "")) }
            let number = text.flatMap(Double.init)
            switch argument {
            case "--events": events = value ?? events
            case "--patients": patients = value ?? patients
            case "--batch": batch = value ?? batch
            case "--initial" where ["both", "projected", "plain"].contains(text ?? ""): initial = text ?? initial
            case "--round-trips": roundTrips = value ?? roundTrips
            case "--devices": devices = value ?? devices
            case "--rounds": rounds = value ?? rounds
            case "--per-round": perRound = value ?? perRound
            case "--laptops": laptopPercent = value ?? laptopPercent
            case "--base-events": baseEvents = value ?? baseEvents
            case "--base-patients": basePatients = value ?? basePatients
            case "--duration": duration = number ?? duration
            case "--pause": pause = number ?? pause
            case "--sample": sample = number ?? sample
            case "--max-rounds": maxRounds = value ?? maxRounds
            case "--rows": rows = text
            case "--backend" where ["sqlite", "postgresql"].contains(text ?? ""): backend = text ?? backend
            case "--dir": directory = (text ?? directory) + "/prolo-bench-http-\(getpid())"
            default:
                FileHandle.standardError.write(Data((Self.usage + "\n").utf8))
                exit(64)
            }
        }
        patients = max(1, min(patients, events))
        basePatients = max(1, min(basePatients, baseEvents))
        batch = max(1, batch)
        perRound = max(1, perRound)
        laptopPercent = laptopPercent.map { max(0, min(100, $0)) }
    }
}

func run() async throws {
    BenchProgress.tool = "prolo-bench-http"
    let options = Options(arguments: CommandLine.arguments)
    try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: options.directory) }
    let date = Timestamp.now().text.prefix(10)
    var rows: [BenchRow] = []
    var lines: [String] = []
    var failed = false  // an error, or a device (or laptop) not in sync at the end
    func say(_ line: String = "") { lines.append(line) }
    var database: String?
    if options.backend == "postgresql" {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["PROLO_BENCH_DATABASE_URL"] ?? environment["PROLO_TEST_DATABASE_URL"] else {
            throw BenchError(
                "--backend postgresql needs PROLO_BENCH_DATABASE_URL (a cluster whose user may create databases); "
                    + "eval \"$(Tools/postgres-cluster.sh start)\" starts one")
        }
        database = url
        say("Backend: **PostgreSQL** (each server store moved up into a new database of \(url.split(separator: "@").last ?? "the cluster") "
            + "by `prolo move-up`; `prolo serve --database … --connections 12`, or `PROLO_BENCH_CONNECTIONS`). The load, the server and PostgreSQL share this machine's cores.")
        say()
    }

    if options.load {
        let devices = options.devices ?? 200
        let run = try await devicesRun(
            at: options.directory + "/load", devices: devices, laptopPercent: options.laptopPercent ?? 10,
            baseEvents: options.baseEvents, basePatients: options.basePatients,
            loop: {
                DeviceLoop(
                    perRound: 1...options.perRound, rounds: options.maxRounds,
                    deadline: now() + UInt64(options.duration * 1e9), pause: 0...options.pause)
            }, sampleSeconds: options.sample, database: database)
        say("## Load test")
        say()
        say(
            "Machine: \(machine()); date: \(date); build: release. Server: `prolo serve` (this build) as a child process."
        )
        say(
            "\(devices) devices (\(run.laptops) laptops with clinic tokens, \(devices - run.laptops) home devices with "
                + "patient tokens), each its own plain EventStore and HTTPSyncClient in this process, in a loop for "
                + "\(format(options.duration)) s: record 1–\(options.perRound) events, sync(), pause 0–\(format(options.pause, 1)) s. "
                + "Server store before: \(options.baseEvents) events over \(options.basePatients) patients + the enrollments; "
                + "every device synced once before the clock started (setup \(format(run.setupSeconds, 1)) s).")
        say()
        failed = !printDevices(
            run, into: &lines, rows: &rows,
            workload: "HTTP load: \(devices) devices syncing in a loop for \(format(options.duration)) s")
        say()
        say("Server RSS (VmRSS of `prolo serve`), sampled every \(format(options.sample)) s:")
        say()
        say("| t (s) | " + run.serverRSS.map { format($0.seconds) }.joined(separator: " | ") + " |")
        say("|---|" + String(repeating: "---:|", count: run.serverRSS.count))
        say("| MiB | " + run.serverRSS.map { format($0.megabytes, 1) }.joined(separator: " | ") + " |")
        say()
        let end = run.serverRSS.last?.seconds ?? 0
        let first = mean(run.serverRSS.filter { $0.seconds <= 60 }.map(\.megabytes))
        let last = mean(run.serverRSS.filter { $0.seconds >= end - 60 }.map(\.megabytes))
        if end < 120 { say("(The run is shorter than 2 minutes: the first and last minute overlap.)") }
        say(
            "Server RSS, mean of the first minute's samples → the last minute's: \(format(first, 1)) → \(format(last, 1)) MiB "
                + "(\(last >= first ? "+" : "")\(format(last - first, 1)) MiB, \(format((last - first) / max(first, 1) * 100, 1)) %); "
                + "server peak (VmHWM) \(format(run.serverPeak, 1)) MiB.")
        rows[rows.count - 1].note += "; server RSS first→last minute \(format(first, 1))→\(format(last, 1)) MiB"
    } else {
        // 1. Initial sync, into each kind of laptop store.
        let kinds = options.initial == "both" ? [true, false] : [options.initial == "projected"]
        let clinic = try LaptopClinic.make(
            at: options.directory + "/clinic", events: options.events, patients: options.patients,
            batch: options.batch, laptops: kinds.count)
        let server = try await ServeProcess.start(store: clinic.serverPath, database: database)
        defer { server.stop() }
        let proxy = try ByteCountingProxy(target: server.port)
        defer { proxy.stop() }
        let http = makeHTTPClient(connections: 8)
        let retries = RetryCounter()
        var initial: [InitialSync] = []
        for (index, projected) in kinds.enumerated() {
            BenchProgress.note("initial sync into a \(projected ? "projected" : "plain") store")
            initial.append(
                try await initialSync(
                    projected: projected, laptop: clinic.laptops[index], clinic: clinic,
                    directory: options.directory + "/clinic", proxy: proxy, http: http, retries: retries))
        }
        let initialPeak = server.peakMegabytes
        say("## HTTP sync benchmark")
        say()
        say(
            "Machine: \(machine()); date: \(date); build: release. Server: `prolo serve` (this build) as a child process "
                + "on 127.0.0.1; clients: `HTTPSyncClient` in this process. Bytes: counted by a TCP proxy in this process "
                + "between client and server, which parses the HTTP/1.1 framing (body = Content-Length bytes; head = "
                + "request or status line and headers); latencies are measured without the proxy except in the initial sync."
        )
        say()
        say("### Initial sync")
        say()
        say(
            "Server store: \(options.events) events over \(options.patients) patients recorded by the root in batches "
                + "of \(options.batch) (\(format(clinic.buildSeconds, 1)) s; read models built in \(format(clinic.rebuildSeconds, 1)) s "
                + "before `prolo serve` opened it). A brand-new laptop store joined to the clinic, with a clinic-scope token, "
                + "runs one `sync()`.")
        say()
        say(
            "| laptop store | events | events/s | time | body bytes/event | with HTTP heads | requests | converged | notes |"
        )
        say("|---|---:|---:|---:|---:|---:|---:|---|---|")
        for result in initial {
            let events = result.report.new + result.report.admittedFromQuarantine
            let perEvent = Double(result.wire.bodies) / Double(max(1, events))
            if !result.converged { failed = true }
            say(
                "| \(result.storeKind) | \(events) | \(format(Double(events) / result.seconds)) | \(format(result.seconds, 1)) s | "
                    + "\(format(perEvent, 1)) | \(format(Double(result.wire.total) / Double(max(1, events)), 1)) | "
                    + "\(result.wire.requests) | \(result.converged ? "yes" : "NO") | \(describe(result.report)) |")
            rows.append(
                BenchRow(
                    "HTTP initial sync into a fresh \(result.storeKind)", size: "\(events) events",
                    eventsPerSecond: Double(events) / result.seconds, bytesPerEvent: perEvent,
                    peakRSSMegabytes: initialPeak,
                    note:
                        "bytes: request+response bodies; peak RSS: the server's; converged: \(result.converged ? "yes" : "NO")"
                ))
        }
        say()
        say(
            "Server peak RSS (VmHWM) after the initial syncs: \(format(initialPeak, 1)) MiB; this process: "
                + "\(format(peakRSSMegabytes(), 1)) MiB.")

        // 2. In-sync round trips.
        if let laptop = initial.last {
            BenchProgress.note("in-sync round trips")
            let token = clinic.laptops[initial.count - 1].token
            let trips = try await roundTrips(
                laptop: laptop.laptop, token: token, server: server, proxy: proxy, http: http, retries: retries,
                count: options.roundTrips, wireCount: options.wireTrips)
            let perTrip = { (bytes: Int) in Double(bytes) / Double(max(1, trips.wireSyncs)) }
            say()
            say("### In-sync round trip")
            say()
            say(
                "The \(laptop.storeKind) laptop above, in sync with the server (\(try laptop.laptop.count()) events), "
                    + "calls `sync()` \(trips.count) times in a row (straight to the server), then \(trips.wireSyncs) times "
                    + "through the proxy for the bytes.")
            say()
            say("| what | value |")
            say("|---|---:|")
            say(
                "| latency of `sync()` p50 / p99 / max | \(format(milliseconds(trips.latencies, quantile: 0.5), 1)) / "
                    + "\(format(milliseconds(trips.latencies, quantile: 0.99), 1)) / \(format(milliseconds(trips.latencies, quantile: 1), 1)) ms |"
            )
            say(
                "| of which the laptop's own `versionVector()` (measured separately after each), p50 | "
                    + "\(format(milliseconds(trips.vectorSeconds, quantile: 0.5), 2)) ms |")
            say("| requests per round trip | \(format(perTrip(trips.wire.requests), 1)) |")
            say(
                "| bytes per round trip, bodies: request + response | \(format(perTrip(trips.wire.requestBodies))) + "
                    + "\(format(perTrip(trips.wire.responseBodies))) = \(format(perTrip(trips.wire.bodies))) |")
            say(
                "| bytes per round trip with HTTP heads: request + response | "
                    + "\(format(perTrip(trips.wire.requestHeads + trips.wire.requestBodies))) + "
                    + "\(format(perTrip(trips.wire.responseHeads + trips.wire.responseBodies))) = \(format(perTrip(trips.wire.total))) |"
            )
            say("| syncs that moved anything | \(trips.nonEmpty) |")
            rows.append(
                BenchRow(
                    "HTTP in-sync round trip (one sync() of a laptop already in sync)", size: "\(trips.count) syncs",
                    note: "p50 \(format(milliseconds(trips.latencies, quantile: 0.5), 1)) ms, p99 "
                        + "\(format(milliseconds(trips.latencies, quantile: 0.99), 1)) ms; \(format(perTrip(trips.wire.bodies))) B "
                        + "of bodies, \(format(perTrip(trips.wire.total))) B with HTTP heads per round trip"))
        }
        if retries.count > 0 {
            say("\nClient retries in sections 1–2: \(retries.count) (\(retries.samples.joined(separator: "; ")))")
        }
        try? await http.shutdown()
        await server.finish()

        // 3. Devices at once.
        let devices = options.devices ?? 50
        let run = try await devicesRun(
            at: options.directory + "/devices", devices: devices, laptopPercent: options.laptopPercent ?? 20,
            baseEvents: options.baseEvents, basePatients: options.basePatients,
            loop: { DeviceLoop(perRound: 1...options.perRound, rounds: options.rounds) }, sampleSeconds: 5,
            database: database)
        say()
        say("### \(devices) devices at once")
        say()
        say(
            "A second server store: \(options.baseEvents) events over \(options.basePatients) patients + \(devices) "
                + "enrollments. \(run.laptops) laptops (clinic tokens; each records the clinical mix for 8 new patients of its "
                + "own) and \(devices - run.laptops) home devices (patient tokens; pain reports), each its own plain "
                + "EventStore and HTTPSyncClient; every device synced once first (not measured). Then all at once, "
                + "\(options.rounds) rounds each: record 1–\(options.perRound) events, sync().")
        say()
        if !printDevices(
            run, into: &lines, rows: &rows, workload: "HTTP \(devices) devices at once, \(options.rounds) rounds")
        {
            failed = true
        }
    }
    if database != nil {
        for index in rows.indices { rows[index].workload += " — PostgreSQL server" }
    }
    BenchRow.append(rows, to: options.rows)
    if options.rows == nil { print(lines.joined(separator: "\n")) }
    if failed {
        FileHandle.standardError.write(
            Data("prolo-bench-http: FAILED: a sync threw or a device did not converge (see above)\n".utf8))
        exit(1)
    }
}

/// The devices table of sections 3 and 4, and its BenchRow; false when a sync threw or a device did not converge.
func printDevices(_ run: DevicesRun, into lines: inout [String], rows: inout [BenchRow], workload: String) -> Bool {
    let tally = run.tally
    let appendedText = run.metrics.first { $0.hasPrefix("prolo_events_appended_total ") }?.split(separator: " ").last
    let appended = appendedText.flatMap { Int($0) } ?? tally.pushed
    let moved = tally.pulled + appended
    let errors = tally.errors.count + run.finalErrors.count
    lines.append("| what | value |")
    lines.append("|---|---:|")
    lines.append(
        "| syncs | \(tally.syncs) in \(format(run.seconds, 1)) s (\(format(Double(tally.syncs) / run.seconds, 1)) syncs/s) |"
    )
    lines.append(
        "| events recorded on the devices / sent by devices in pushes / of which new to the server "
            + "(`prolo_events_appended_total`) / pulled by devices | \(tally.recorded) / \(tally.pushed) / \(appended) / \(tally.pulled) |"
    )
    lines.append(
        "| **events moved per second** (new to the server + new to the devices) | **\(format(Double(moved) / run.seconds))** |"
    )
    lines.append("| events new to the server per second | \(format(Double(appended) / run.seconds)) |")
    lines.append(
        "| latency of `sync()` p50 / p99 / max | \(format(milliseconds(tally.latencies, quantile: 0.5), 1)) / "
            + "\(format(milliseconds(tally.latencies, quantile: 0.99), 1)) / \(format(milliseconds(tally.latencies, quantile: 1), 1)) ms |"
    )
    lines.append("| **errors** (syncs that threw, also in the final pass) | **\(errors)** |")
    lines.append("| client retries (network error or 5xx, retried inside `sync()`) | \(run.retries) |")
    lines.append(
        "| devices in sync with the server within their scope afterwards | \(run.converged) of \(run.devices) |")
    lines.append("| server peak RSS (VmHWM) | \(format(run.serverPeak, 1)) MiB |")
    lines.append("")
    lines.append("Server `/metrics` afterwards: " + run.metrics.map { "`\($0)`" }.joined(separator: ", "))
    for error in (tally.errors + run.finalErrors).prefix(5) { lines.append("\nerror: \(error)") }
    for sample in run.retrySamples.prefix(3) { lines.append("\nretry: \(sample)") }
    rows.append(
        BenchRow(
            workload, size: "\(run.devices) devices, \(tally.syncs) syncs",
            eventsPerSecond: Double(moved) / run.seconds,
            peakRSSMegabytes: run.serverPeak,
            note:
                "events/s moved (new to the server + new to the devices); p50 \(format(milliseconds(tally.latencies, quantile: 0.5), 1)) ms, "
                + "p99 \(format(milliseconds(tally.latencies, quantile: 0.99), 1)) ms; errors \(errors); converged "
                + "\(run.converged)/\(run.devices); peak RSS: the server's"))
    return errors == 0 && run.converged == run.devices
}

func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }

func describe(_ report: SyncReport) -> String {
    var parts = ["\(report.new) new", "\(report.batches) batches"]
    if report.alreadyPresent > 0 { parts.append("\(report.alreadyPresent) already present") }
    if report.quarantined > 0 { parts.append("\(report.quarantined) quarantined") }
    if report.admittedFromQuarantine > 0 { parts.append("\(report.admittedFromQuarantine) admitted from quarantine") }
    if report.sent > 0 { parts.append("\(report.sent) sent") }
    return parts.joined(separator: ", ")
}

/// The server's counters from `GET /metrics` (events and requests by route and outcome).
func fetchMetrics(_ server: String) async -> [String] {
    guard let url = URL(string: server + "/metrics"), let (data, _) = try? await URLSession.shared.data(from: url)
    else {
        return ["(unavailable)"]
    }
    return String(decoding: data, as: UTF8.self).split(separator: "\n")
        .filter { !$0.hasPrefix("#") && ($0.contains("_total") || $0.hasPrefix("prolo_batch_seconds_count")) }
        .map(String.init)
}

do {
    try await run()
} catch {
    FileHandle.standardError.write(Data("prolo-bench-http: \(error)\n".utf8))
    exit(70)
}
