// prolo-bench-postgres: the PostgreSQL backend's benchmark (issue 14). Run through Tools/bench (release build).
//
// Workloads, in one run so that their ratios hold on a noisy machine: record N events of the clinical mix over P
// patients into a SQLite store (batches of 1000); `ChainVerifier.verify` over it (the SQLite audit: the reference);
// `PostgresLog.moveUp` of the store into a new PostgreSQL database (`prolo move-up`: COPY of every event and the
// registry, then the copy verified in the database before commit); `PostgresLog.verify` (`prolo audit verify
// --database`). The database server runs on the same 2 cores as this process: its work and ours share them.
//
// The cluster: `--database URL` (a superuser's URL; a database is created in it and dropped after), else
// PROLO_BENCH_DATABASE_URL or PROLO_TEST_DATABASE_URL (Tools/bench starts a throwaway one with
// Tools/postgres-cluster.sh when none is set). Prints a Markdown table; `--rows FILE` appends the common rows.
import Foundation
import ProloAudit
import ProloBenchSupport
import ProloDomain
import ProloPostgres
import ProloStore

struct Options {
    var events = 1_000_000
    var patients = 10_000
    var batch = 1_000
    var directory = NSTemporaryDirectory() + "prolo-bench-postgres-\(getpid())"
    var rows: String?
    var database = ProcessInfo.processInfo.environment["PROLO_BENCH_DATABASE_URL"]
        ?? ProcessInfo.processInfo.environment["PROLO_TEST_DATABASE_URL"]

    init(arguments: [String]) {
        let parsed = BenchArguments(
            arguments, options: ["--events", "--patients", "--batch", "--dir", "--rows", "--database"],
            usage: "usage: prolo-bench-postgres [--events N] [--patients N] [--batch N] [--dir DIR] [--rows FILE] "
                + "[--database URL]")
        events = parsed.int("--events") ?? events
        patients = parsed.int("--patients") ?? patients
        batch = parsed.int("--batch") ?? batch
        directory = parsed.directory(for: "prolo-bench-postgres")
        rows = parsed.text("--rows")
        database = parsed.text("--database") ?? database
        patients = max(1, min(patients, events))
    }
}

func run() async throws {
    BenchProgress.tool = "prolo-bench-postgres"
    let options = Options(arguments: CommandLine.arguments)
    guard let text = options.database, !text.isEmpty else {
        FileHandle.standardError.write(Data("prolo-bench-postgres: no PostgreSQL: pass --database URL or set PROLO_BENCH_DATABASE_URL\n".utf8))
        exit(69)
    }
    let admin = try PostgresURL(text)
    try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: options.directory) }
    var rows: [BenchRow] = []

    // 1. The SQLite store.
    let path = options.directory + "/server.sqlite"
    let key = DeviceKey()
    let store = try EventStore.create(at: path, deviceName: "clinic-server", key: key)
    let (recordSeconds, _) = try loadClinicalMix(
        into: store, key: key, events: options.events, patients: options.patients, batch: options.batch)
    let count = try store.count()
    let storeBytes = fileBytes(path) + fileBytes(path + "-wal")
    rows.append(BenchRow(
        "postgres setup: record() into SQLite in batches of \(options.batch)", size: "\(count) events",
        eventsPerSecond: Double(count) / recordSeconds, bytesPerEvent: Double(storeBytes) / Double(count),
        peakRSSMegabytes: peakRSSMegabytes(), note: "the store moved up"))

    // 2. The reference: the SQLite audit in this process.
    BenchProgress.note("verifying \(count) events in SQLite")
    let (sqliteReport, sqliteSeconds) = try timed { try ChainVerifier.verify(store) }
    let sqliteRate = Double(sqliteReport.eventsChecked) / sqliteSeconds
    rows.append(BenchRow(
        "audit verify, SQLite (ChainVerifier, reference for the two below)", size: "\(count) events",
        eventsPerSecond: sqliteRate, bytesPerEvent: nil, peakRSSMegabytes: nil,
        note: sqliteReport.isClean ? "clean" : "NOT CLEAN"))

    // 3. Move up, then verify in PostgreSQL, in a database of its own.
    let name = "prolo_bench_\(getpid())"
    try await PostgresLog.administer(admin, "DROP DATABASE IF EXISTS \(name);\nCREATE DATABASE \(name);")
    let url = admin.database(name)
    BenchProgress.note("moving \(count) events up into \(url.redacted)")
    let start = now()
    let moved = try await PostgresLog.with(url) { log throws(StoreError) in
        try await log.moveUp(from: store) { phase, done, total in
            if done % 200_000 < ChainVerifier.pageSize { BenchProgress.note("\(phase) \(done) of \(total)") }
        }
    }
    let moveSeconds = seconds(since: start)
    let moveRate = Double(moved.events) / moveSeconds
    let databaseBytes = try await PostgresLog.with(url) { log throws(StoreError) in
        Int(try await log.texts("SELECT pg_database_size(current_database())::text").first.flatMap { $0 }.flatMap { Int($0) } ?? 0)
    }
    rows.append(BenchRow(
        "prolo move-up: SQLite → PostgreSQL, COPY + verified in the database before commit", size: "\(moved.events) events",
        eventsPerSecond: moveRate, bytesPerEvent: Double(databaseBytes) / Double(max(1, moved.events)),
        peakRSSMegabytes: peakRSSMegabytes(),
        note: "\(moved.verification.isClean ? "verified" : "NOT VERIFIED"); ÷ SQLite verify \(format(moveRate / sqliteRate, 2))×; "
            + "bytes/event = database size"))
    BenchProgress.note("verifying in PostgreSQL")
    let verifyStart = now()
    let report = try await PostgresLog.with(url) { log throws(StoreError) in try await log.verify() }
    let pgSeconds = seconds(since: verifyStart)
    let pgRate = Double(report.eventsChecked) / pgSeconds
    rows.append(BenchRow(
        "audit verify --database, PostgreSQL (ChainAudit's rules)", size: "\(report.eventsChecked) events",
        eventsPerSecond: pgRate, bytesPerEvent: nil, peakRSSMegabytes: peakRSSMegabytes(),
        note: "\(report.isClean ? "clean" : "NOT CLEAN"); ÷ SQLite verify \(format(pgRate / sqliteRate, 2))×"))
    try await PostgresLog.administer(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")

    print("## PostgreSQL backend benchmark")
    print("")
    print("Machine: \(machine()); date: \(Timestamp.now().text.prefix(10)); build: release; PostgreSQL on the same cores.")
    print("")
    print("| workload | events | events/s | time |")
    print("|---|---:|---:|---:|")
    print("| audit verify, SQLite | \(sqliteReport.eventsChecked) | \(format(sqliteRate)) | \(format(sqliteSeconds, 1)) s |")
    print("| prolo move-up (COPY, then verified in PostgreSQL) | \(moved.events) | \(format(moveRate)) | \(format(moveSeconds, 1)) s |")
    print("| audit verify --database | \(report.eventsChecked) | \(format(pgRate)) | \(format(pgSeconds, 1)) s |")
    BenchRow.append(rows, to: options.rows)
    if !report.isClean || !moved.verification.isClean { exit(65) }
}

do {
    try await run()
} catch {
    FileHandle.standardError.write(Data("prolo-bench-postgres: \(error)\n".utf8))
    exit(70)
}
