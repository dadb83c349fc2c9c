// prolo-bench-sync: the sync benchmark. Run through Tools/bench-sync.sh (release build).
//
// Workloads: a clinic root store holding N events of the clinical mix over P patients, recorded by the root and
// a few devices it enrolled (their events reach the root through the verify-and-append path); export everything
// to a bundle file, not encrypted and encrypted (events/s, bytes per event); import the encrypted bundle into a
// fresh joined store, with read models (as `prolo sync import`) and without (events/s, full verification); import
// it again when every event is already present; the effect of export order (a device whose origin id sorts before
// the root's: its events wait in quarantine for their enrollment); and the bytes of the in-sync exchange with a
// version vector of 1 000 origins. Prints a Markdown table.
import Crypto
import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloBenchSupport
import ProloSync

struct Options {
    var events = 100_000
    var patients = 1_000
    var devices = 3
    var batch = 1_000
    var origins = 1_000
    var orderEvents = 20_000
    var directory = NSTemporaryDirectory() + "prolo-bench-sync-\(getpid())"
    /// Where to append the common table's rows (Tools/bench), as JSON lines.
    var rows: String?

    init(arguments: [String]) {
        let parsed = BenchArguments(
            arguments, options: ["--events", "--patients", "--devices", "--batch", "--origins", "--order-events", "--dir", "--rows"],
            usage: "usage: prolo-bench-sync [--events N] [--patients N] [--devices N] [--batch N] [--origins N] "
                + "[--order-events N] [--dir DIR] [--rows FILE]")
        events = parsed.int("--events") ?? events
        patients = parsed.int("--patients") ?? patients
        devices = parsed.int("--devices") ?? devices
        batch = parsed.int("--batch") ?? batch
        origins = parsed.int("--origins") ?? origins
        orderEvents = parsed.int("--order-events") ?? orderEvents
        directory = parsed.directory(for: "prolo-bench-sync")
        rows = parsed.text("--rows")
        patients = max(1, min(patients, events))
        batch = max(1, batch)
        devices = max(0, devices)
        origins = max(1, origins)
    }
}


// MARK: The clinic

// `key(sorting:_:)`, `enrollment(of:named:by:)` and `makeClinic` are in ProloBenchSupport (BenchClinic.swift).

// MARK: The run

struct Row {
    let name: String
    let events: Int
    let seconds: Double
    var bytes: Int? = nil
    var note = ""
}

func run() throws {
    BenchProgress.tool = "prolo-bench-sync"
    let options = Options(arguments: CommandLine.arguments)
    let directory = options.directory
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var rows: [Row] = []

    // 1. The clinic: devices whose origins sort after the root's (the best export order; see section 5).
    let rootKey = DeviceKey()
    let deviceKeys = (0..<options.devices).map { _ in key(sorting: true, rootKey) }
    let (root, setupSeconds) = try timed {
        try makeClinic(
            at: directory, events: options.events, patients: options.patients, devices: deviceKeys, rootKey: rootKey,
            batch: options.batch, seed: 42)
    }
    let total = try root.count()
    var wireBytes = 0
    var bodyBytes = 0
    try root.scan(EventFilter()) { stored in
        wireBytes += EventWireCodec.encode(stored.event).count
        bodyBytes += stored.event.body.count
    }

    // Where the time of verifying a received event goes, one core, per event (a sample of the root's events).
    let registry = try root.registry()
    let sample = Array(try root.events(EventFilter(limit: 5_000)))
    let records = sample.map { EventWireCodec.encode($0.event) }
    let (decoded, decodeSeconds) = try timed { try records.map { try EventWireCodec.decode($0) } }
    let (hashesValid, hashSeconds) = timed { decoded.allSatisfy(\.hasValidHash) }
    let keys = decoded.map { event -> DevicePublicKey? in
        if case .admit(let key) = registry.admission(of: event) { return key }
        return nil
    }
    let (signaturesValid, signatureSeconds) = timed {
        zip(decoded, keys).allSatisfy { event, key in key?.isValidSignature(event.signature, for: event.hash.bytes) ?? false }
    }
    let stages: [(String, Double)] = [
        ("decode the wire record (EventWireCodec.decode: envelope JSON, ids, hashes)", decodeSeconds),
        ("check the hash (canonical envelope + SHA-256)\(hashesValid ? "" : " FAILED")", hashSeconds),
        ("verify the Ed25519 signature\(signaturesValid ? "" : " FAILED")", signatureSeconds),
    ]

    // 2. Export.
    let receiverKey = DeviceKey()
    let plainPath = directory + "/full.prolo"
    let encryptedPath = directory + "/full-encrypted.prolo"
    BenchProgress.note("exporting")
    let (plainSummary, plainSeconds) = try timed {
        try BundleExport.export(from: root, signedBy: rootKey, to: plainPath)
    }
    rows.append(Row(
        name: "export everything, not encrypted", events: plainSummary.events, seconds: plainSeconds,
        bytes: Int(plainSummary.bytes), note: "\(plainSummary.blocks) blocks"))
    var encryptedOptions = BundleExport.Options()
    encryptedOptions.recipient = try receiverKey.agreementKey().publicKey
    let (encryptedSummary, encryptedSeconds) = try timed {
        try BundleExport.export(from: root, signedBy: rootKey, to: encryptedPath, options: encryptedOptions)
    }
    rows.append(Row(
        name: "export everything, encrypted to the receiver (HPKE)", events: encryptedSummary.events,
        seconds: encryptedSeconds, bytes: Int(encryptedSummary.bytes), note: "\(encryptedSummary.blocks) blocks"))

    // 3. Import into fresh joined stores, then again with everything present.
    let trust = StoreTrust.joining(root: rootKey.publicKey, homePatient: nil)
    BenchProgress.note("importing into a projected store")
    let projected = try ProjectedStore.create(
        at: directory + "/receiver-projected.sqlite", deviceName: "laptop-new", key: receiverKey, trust: trust)
    let (projectedReport, projectedSeconds) = try timed {
        try BundleImport.import(from: encryptedPath, into: projected.store, key: receiverKey)
    }
    rows.append(Row(
        name: "import the encrypted bundle into a fresh joined ProjectedStore (verify + read models; `prolo sync import`)",
        events: projectedReport.new, seconds: projectedSeconds, note: describe(projectedReport)))
    BenchProgress.note("importing into a plain store")
    let plain = try EventStore.create(
        at: directory + "/receiver-plain.sqlite", deviceName: "laptop-new", key: receiverKey, trust: trust)
    let (plainReport, plainImportSeconds) = try timed {
        try BundleImport.import(from: encryptedPath, into: plain, key: receiverKey)
    }
    rows.append(Row(
        name: "import the encrypted bundle into a fresh joined plain EventStore (verify, no read models)",
        events: plainReport.new, seconds: plainImportSeconds, note: describe(plainReport)))
    BenchProgress.note("importing again")
    let (againReport, againSeconds) = try timed {
        try BundleImport.import(from: encryptedPath, into: projected.store, key: receiverKey)
    }
    rows.append(Row(
        name: "import it again into the ProjectedStore: all already present", events: againReport.alreadyPresent,
        seconds: againSeconds, note: describe(againReport)))
    let (againPlainReport, againPlainSeconds) = try timed {
        try BundleImport.import(from: plainPath, into: plain, key: receiverKey)
    }
    rows.append(Row(
        name: "import the unencrypted bundle into the plain EventStore: all already present",
        events: againPlainReport.alreadyPresent, seconds: againPlainSeconds, note: describe(againPlainReport)))
    let receiverVector = try projected.store.versionVector()
    let rootVector = try root.versionVector()
    let plainVector = try plain.versionVector()
    let converged = receiverVector == rootVector && plainVector == receiverVector

    // 4. An in-sync bundle of this clinic (cut against the receiver's vector): header and trailer only.
    let emptyPath = directory + "/in-sync.prolo"
    var cutOptions = BundleExport.Options(cutAgainst: receiverVector)
    cutOptions.recipient = encryptedOptions.recipient
    let (emptySummary, emptySeconds) = try timed {
        try BundleExport.export(from: root, signedBy: rootKey, to: emptyPath, options: cutOptions)
    }

    // 5. Export order: one device recording everything, its origin sorting after or before the root's.
    var orderRows: [Row] = []
    for deviceFirst in [false, true] {
        BenchProgress.note("order scenario, device first: \(deviceFirst)")
        let scenario = directory + "/order-\(deviceFirst)"
        try FileManager.default.createDirectory(atPath: scenario, withIntermediateDirectories: true)
        let orderRootKey = DeviceKey()
        let deviceKey = key(sorting: !deviceFirst, orderRootKey)
        let orderRoot = try makeClinic(
            at: scenario, events: options.orderEvents, patients: max(1, options.orderEvents / 100), devices: [deviceKey],
            rootKey: orderRootKey, batch: options.batch, seed: 11, rootRecords: false)
        let bundle = scenario + "/full.prolo"
        try BundleExport.export(from: orderRoot, signedBy: orderRootKey, to: bundle)
        let orderReceiverKey = DeviceKey()
        let receiver = try EventStore.create(
            at: scenario + "/receiver.sqlite", deviceName: "laptop-new", key: orderReceiverKey,
            trust: .joining(root: orderRootKey.publicKey, homePatient: nil))
        let (report, seconds) = try timed { try BundleImport.import(from: bundle, into: receiver, key: orderReceiverKey) }
        orderRows.append(Row(
            name: deviceFirst
                ? "device's origin sorts before the root's: its events wait in quarantine for the enrollment"
                : "device's origin sorts after the root's: the enrollment arrives first",
            events: report.new + report.admittedFromQuarantine, seconds: seconds, note: describe(report)))
    }

    // 6. The in-sync exchange with a vector of many origins.
    var generator = SeededGenerator(state: 5)
    var heads: [String: Int64] = [:]
    while heads.count < options.origins {
        heads[DeviceKey().publicKey.origin.text] = Int64.random(in: 1...200_000, using: &generator)
    }
    let vector = VersionVector(heads: heads)
    let vectorJSON = CanonicalJSON.encode(vector.jsonValue)
    let identity = root.identity
    let helloFields: [String: JSONValue] = [
        "storeId": .string(identity.storeID), "root": .string(identity.rootPublicKey.base64),
        "device": .string(identity.publicKey.base64), "scope": .string(SyncScope.full.description),
    ]
    var helloWithVector = helloFields
    helloWithVector["vector"] = vector.jsonValue
    let helloBytes = CanonicalJSON.encode(.object(helloWithVector)).count
    let emptyBatch = try SyncWire.encodeBatch([]).count
    let (digest, digestSeconds) = timed { SyncWire.digest(of: vector) }
    let digestRequest = CanonicalJSON.encode(.object(["vectorDigest": .string(digest)])).count
    let digestResponse = CanonicalJSON.encode(.object(["inSync": .bool(true), "vectorDigest": .string(digest)])).count
    let header = BundleHeader(
        clinicRoot: identity.rootPublicKey, sender: identity.publicKey, senderStoreID: identity.storeID,
        senderName: identity.deviceName, scope: .full, cutAgainst: vector, senderVector: vector, createdAt: .now())
    let (_, vectorSeconds) = try timed { try root.versionVector() }
    let compressedVector = try SyncWire.encodeBatch([vectorJSON]).count - 8 - 4

    print("## Sync benchmark")
    print("")
    print("Machine: \(machine()); date: \(Timestamp.now().text.prefix(10)); build: release.")
    print("Clinic: a root store with \(total) events over \(options.patients) patients, recorded by the root and "
        + "\(options.devices) enrolled devices in turn (batches of \(options.batch); devices' batches reach the root "
        + "through verify-and-append); built in \(format(setupSeconds, 1)) s. Mean stored body \(bodyBytes / max(1, total)) B, "
        + "mean wire record (envelope + body + signature) \(wireBytes / max(1, total)) B per event. Receivers "
        + "converged with the root: \(converged ? "yes" : "NO").")
    print("")
    print("| workload | events | events/s | bundle bytes/event | time | notes |")
    print("|---|---:|---:|---:|---:|---|")
    for row in rows {
        print("| \(row.name) | \(row.events) | \(format(Double(row.events) / row.seconds)) | "
            + "\(row.bytes.map { format(Double($0) / Double(max(1, row.events)), 1) } ?? "") | "
            + "\(format(row.seconds, 2)) s | \(row.note) |")
    }
    print("")
    print("Export order (\(options.orderEvents) events recorded by one enrolled device, imported into a fresh joined "
        + "plain EventStore; a full export goes origin by origin, sorted by origin id):")
    print("")
    print("| order | events stored | events/s | time | notes |")
    print("|---|---:|---:|---:|---|")
    for row in orderRows {
        print("| \(row.name) | \(row.events) | \(format(Double(row.events) / row.seconds)) | \(format(row.seconds, 2)) s "
            + "| \(row.note) |")
    }
    print("")
    print("In-sync exchange, version vector of \(vector.heads.count) origins (origin ids are 32 hex characters):")
    print("")
    print("| what | bytes |")
    print("|---|---:|")
    print("| version vector as canonical JSON | \(vectorJSON.count) (\(format(Double(vectorJSON.count) / Double(vector.heads.count), 1)) per origin) |")
    print("| the same, zlib-compressed (for comparison only; nothing sends it so) | \(compressedVector) |")
    print("| SyncHello as canonical JSON (storeId, root, device, scope, vector) | \(helloBytes) |")
    print("| empty last batch (`SyncWire.encodeBatch([])`) | \(emptyBatch) |")
    print("| **in sync, vector exchange as in SyncSession: hello + empty last batch, each way** | "
        + "**\(2 * (helloBytes + emptyBatch))** |")
    print("| in sync over HTTP: `POST /v1/sync/summary` body `{\"vectorDigest\"}` + response `{\"inSync\":true,…}` "
        + "(JSON bodies only, no HTTP headers) | \(digestRequest) + \(digestResponse) = \(digestRequest + digestResponse) |")
    print("| in sync by bundle: header with cutAgainst and senderVector of \(vector.heads.count) origins (canonical JSON, "
        + "before signature and framing) | \(header.bytes.count) |")
    print("| in sync by bundle, this clinic (\(receiverVector.heads.count) origins): whole encrypted file, "
        + "\(emptySummary.events) events | \(fileBytes(emptyPath)) (\(format(emptySeconds * 1000, 1)) ms to export) |")
    print("")
    print("| verifying a received event, one core (\(sample.count) of the root's events) | µs/event |")
    print("|---|---:|")
    for (name, time) in stages {
        print("| \(name) | \(format(time * 1e6 / Double(max(1, sample.count)), 1)) |")
    }
    let perEvent = stages.reduce(0) { $0 + $1.1 } / Double(max(1, sample.count))
    print("| total; ceiling on \(ProcessInfo.processInfo.activeProcessorCount) cores if nothing else ran | "
        + "\(format(perEvent * 1e6, 1)) µs = \(format(Double(ProcessInfo.processInfo.activeProcessorCount) / perEvent)) events/s |")
    print("")
    print("| cost of the in-sync check | time |")
    print("|---|---:|")
    print("| `versionVector()` of the root (\(total) events, \(options.devices + 1) origins) | \(format(vectorSeconds * 1000, 2)) ms |")
    print("| digest of the \(vector.heads.count)-origin vector (canonical JSON + SHA-256) | \(format(digestSeconds * 1000, 2)) ms |")
    print("| peak RSS of the whole run | \(format(peakRSSMegabytes())) MiB |")

    // The common table's rows (Tools/bench). Bytes per event: the bundle's for exports; peak RSS: the whole run's.
    let peak = peakRSSMegabytes()
    var common = (rows + orderRows).map { row in
        BenchRow(
            "sync: \(row.name)", size: "\(row.events) events", eventsPerSecond: Double(row.events) / row.seconds,
            bytesPerEvent: row.bytes.map { Double($0) / Double(max(1, row.events)) }, peakRSSMegabytes: peak,
            note: row.note + (orderRows.contains { $0.name == row.name } ? "; \(options.orderEvents) events by one device" : ""))
    }
    common.append(BenchRow(
        "sync: in-sync exchange, vector of \(vector.heads.count) origins", size: "\(vector.heads.count) origins",
        peakRSSMegabytes: peak,
        note: "HTTP digest summary \(digestRequest + digestResponse) B of JSON bodies; SyncHello + empty batch each way "
            + "\(2 * (helloBytes + emptyBatch)) B; bundle header \(header.bytes.count) B"))
    BenchRow.append(common, to: options.rows)
}

func describe(_ report: SyncReport) -> String {
    var parts = ["\(report.new) new", "\(report.alreadyPresent) already present"]
    if report.quarantined > 0 { parts.append("\(report.quarantined) quarantined") }
    if report.admittedFromQuarantine > 0 { parts.append("\(report.admittedFromQuarantine) admitted from quarantine") }
    if report.forks > 0 { parts.append("\(report.forks) forks") }
    parts.append("\(report.batches) batches")
    return parts.joined(separator: ", ")
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("prolo-bench-sync: \(error)\n".utf8))
    exit(70)
}
