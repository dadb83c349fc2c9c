// Simulated devices: each with its own store, key, token and HTTPSyncClient, recording a little and syncing.
import AsyncHTTPClient
import Foundation
import Logging
import ProloBenchSupport
import ProloDomain
import ProloHTTPSync
import ProloProjections
import ProloStore
import ProloSync
import Synchronization

/// One device of the simulated clinic: a laptop (clinic scope, records the clinical mix for its own patients) or
/// a patient's home tablet (patient scope, reports pain).
struct SimulatedDevice: Sendable {
    let index: Int
    let name: String
    let key: DeviceKey
    let store: EventStore
    let token: String
    /// The patient of a home device; nil for a laptop.
    let patient: PatientID?

    var isLaptop: Bool { patient == nil }

    func client(server: String, http: HTTPClient, retries: RetryCounter) -> HTTPSyncClient {
        var client = HTTPSyncClient(server: server, token: token, store: store, http: http)
        client.logger = Logger(label: "prolo.bench.sync") { _ in RetryCountingHandler(counter: retries) }
        return client
    }
}

/// A server store for the device workloads with its devices enrolled, tokens issued and device stores created.
struct DeviceClinic {
    let serverPath: String
    let devices: [SimulatedDevice]
    /// Where the clinic's stories begin: early enough that the root's history ends before today, so a home device's
    /// report recorded now comes after its patient's history, as in a clinic (stories dated ahead of now would make
    /// every such report a late event that re-folds its patient).
    let epoch: Int64

    /// A root store of `baseEvents` events over `basePatients` patients, `devices` devices enrolled (`laptopPercent`
    /// of them laptops, spread among the home devices), one token each; the read models are built so the server
    /// starts at once.
    static func make(
        at directory: String, baseEvents: Int, basePatients: Int, devices count: Int, laptopPercent: Int
    ) throws -> DeviceClinic {
        try FileManager.default.createDirectory(atPath: directory + "/devices", withIntermediateDirectories: true)
        let rootKey = DeviceKey()
        let serverPath = directory + "/root.sqlite"
        var devices: [SimulatedDevice] = []
        let epoch = PatientStory.epoch(endingBefore: .now(), eventsPerPatient: baseEvents / max(1, basePatients))
        do {
            let root = try makeClinic(
                at: directory, events: baseEvents, patients: basePatients, devices: [], rootKey: rootKey, batch: 1_000,
                seed: 7, epoch: epoch)
            let laptops = Int((Double(count) * Double(laptopPercent) / 100).rounded())
            var drafts: [EventDraft] = []
            for index in 0..<count {
                let isLaptop = (index * laptops) / count != ((index + 1) * laptops) / count
                let key = DeviceKey()
                let name = String(format: isLaptop ? "laptop-%03d" : "home-%03d", index)
                let patient =
                    isLaptop ? nil : try PatientID(checked: String(format: "p-%05d", index % max(1, basePatients)))
                drafts.append(
                    try enrollment(
                        of: key, named: name, by: rootKey, role: isLaptop ? .clinic : .home, patient: patient))
                let store = try EventStore.create(
                    at: directory + "/devices/\(name).sqlite", deviceName: name, key: key,
                    trust: .joining(root: rootKey.publicKey, homePatient: patient))
                devices.append(
                    SimulatedDevice(index: index, name: name, key: key, store: store, token: "", patient: patient))
            }
            try root.record(drafts, signedBy: rootKey)
            // A token is bound to an enrolled device's key: issued once the enrollments are recorded.
            devices = try devices.map { device in
                let (_, token) = try root.issueToken(
                    for: device.key.publicKey.origin, scope: device.patient.map { .patient($0) } ?? .clinic,
                    expiresAt: nil)
                return SimulatedDevice(
                    index: device.index, name: device.name, key: device.key, store: device.store, token: token,
                    patient: device.patient)
            }
        }
        _ = try ProjectedStore.open(at: serverPath)  // builds the read models once, before the server opens it
        return DeviceClinic(serverPath: serverPath, devices: devices, epoch: epoch)
    }
}

/// What a device records between syncs: the clinical mix for its own few patients (a laptop) or pain reports
/// (a home device). Lives inside the device's task.
struct DeviceRecorder {
    private var clinic: Clinic?
    private var generator: SeededGenerator
    private var turn = 0

    /// A laptop's patients' stories begin at `epoch`, the clinic's.
    init(for device: SimulatedDevice, epoch: Int64, laptopPatients: Int = 8) throws {
        generator = SeededGenerator(state: 1_000 + UInt64(device.index))
        clinic =
            device.isLaptop
            ? try Clinic(
                patients: laptopPatients, seed: UInt64(device.index), firstNumber: 50_000 + device.index * 100,
                epoch: epoch)
            : nil
    }

    /// Records `count` events on the device; returns how many.
    mutating func record(_ count: Int, on device: SimulatedDevice) throws -> Int {
        if var clinic {
            let indices = (0..<count).map { (turn + $0) % clinic.stories.count }
            turn += count
            var stored: [StoredEvent] = []
            for index in indices {  // one patient may come twice in a round: record in order
                let drafts = try clinic.drafts(for: [index])
                let one = try device.store.record(drafts, signedBy: device.key)
                clinic.recorded(one, for: [index])
                stored += one
            }
            self.clinic = clinic
            return stored.count
        }
        guard let patient = device.patient else { return 0 }
        let drafts = try (0..<count).map { _ in
            let reporter = Reporter(role: .patient, id: try Identifier(checked: patient.text))
            let pain = PainReported(
                instrument: .nrs, score: Int.random(in: 0...10, using: &generator), reporter: reporter)
            return try EventDraft(
                pain, patient: patient, occurredAt: .now(),
                author: Author(id: try Identifier(checked: patient.text), role: .patient))
        }
        return try device.store.record(drafts, signedBy: device.key).count
    }
}

/// What the devices did: every sync's latency, events moved, errors.
struct DeviceTally: Sendable {
    var latencies: [Double] = []
    var syncs = 0
    var recorded = 0
    var pulled = 0
    var pushed = 0
    var errors: [String] = []

    static func + (left: DeviceTally, right: DeviceTally) -> DeviceTally {
        DeviceTally(
            latencies: left.latencies + right.latencies, syncs: left.syncs + right.syncs,
            recorded: left.recorded + right.recorded, pulled: left.pulled + right.pulled,
            pushed: left.pushed + right.pushed, errors: left.errors + right.errors)
    }
}

/// How the devices behave in a run.
struct DeviceLoop: Sendable {
    /// Events recorded before each sync.
    var perRound: ClosedRange<Int> = 1...3
    /// Rounds per device (nil: until the deadline).
    var rounds: Int?
    /// When to stop (a ``now()`` value; nil: after `rounds`).
    var deadline: UInt64?
    /// Pause after each sync, in seconds.
    var pause: ClosedRange<Double> = 0...0
}

/// Runs every device of `clinic` at once, each in its own task: record, sync, pause; returns the merged tally.
func runDevices(
    _ clinic: DeviceClinic, server: String, http: HTTPClient, retries: RetryCounter, loop: DeviceLoop
) async -> DeviceTally {
    await withTaskGroup(of: DeviceTally.self) { group in
        for device in clinic.devices {
            group.addTask {
                var tally = DeviceTally()
                var generator = SeededGenerator(state: 77 + UInt64(device.index))
                let client = device.client(server: server, http: http, retries: retries)
                var recorder: DeviceRecorder
                do {
                    recorder = try DeviceRecorder(for: device, epoch: clinic.epoch)
                } catch {
                    tally.errors.append("\(device.name): \(error)")
                    return tally
                }
                var round = 0
                while loop.rounds.map({ round < $0 }) ?? true, loop.deadline.map({ now() < $0 }) ?? true {
                    round += 1
                    do {
                        tally.recorded += try recorder.record(
                            Int.random(in: loop.perRound, using: &generator), on: device)
                        let start = now()
                        let report = try await client.sync()
                        tally.latencies.append(seconds(since: start))
                        tally.pulled += report.new + report.admittedFromQuarantine
                        tally.pushed += report.sent
                    } catch {
                        tally.errors.append("\(device.name): \(error)")
                    }
                    tally.syncs += 1
                    let pause = Double.random(in: loop.pause, using: &generator)
                    if pause > 0 { try? await Task.sleep(for: .milliseconds(Int(pause * 1000))) }
                }
                return tally
            }
        }
        return await group.reduce(DeviceTally(), +)
    }
}

/// Syncs every device once, at most `width` at a time (setup and the final pass); returns the errors.
func syncAll(
    _ devices: [SimulatedDevice], server: String, http: HTTPClient, retries: RetryCounter, width: Int = 8
) async -> [String] {
    await withTaskGroup(of: [String].self) { group in
        var errors: [String] = []
        for (offset, device) in devices.enumerated() {
            if offset >= width, let done = await group.next() { errors += done }
            group.addTask {
                do {
                    try await device.client(server: server, http: http, retries: retries).sync()
                    return []
                } catch {
                    return ["\(device.name): \(error)"]
                }
            }
        }
        for await done in group { errors += done }
        return errors
    }
}

/// Whether every device is in sync with the server within its scope: a sync through the counting proxy that
/// sends only `/v1/sync/summary` (the server's digest of its vector in the device's scope equals the device's).
func convergedDevices(_ devices: [SimulatedDevice], proxy: ByteCountingProxy, http: HTTPClient, retries: RetryCounter)
    async -> Int
{
    var converged = 0
    for device in devices {
        let before = proxy.snapshot
        let report = try? await device.client(server: proxy.url, http: http, retries: retries).sync()
        if report == SyncReport(), (proxy.snapshot - before).requests == 1 { converged += 1 }
    }
    return converged
}

/// Counts the client's "retrying" notices (a network error or a 5xx it retried) and keeps the first few.
final class RetryCounter: Sendable {
    private let state = Mutex((count: 0, samples: [String]()))
    var count: Int { state.withLock { $0.count } }
    var samples: [String] { state.withLock { $0.samples } }

    func add(_ problem: String) {
        state.withLock { state in
            state.count += 1
            if state.samples.count < 5 { state.samples.append(problem) }
        }
    }
}

/// A log handler that only counts the sync client's retries.
struct RetryCountingHandler: LogHandler {
    let counter: RetryCounter
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .notice

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if event.message.description == "retrying" { counter.add(event.metadata?["problem"]?.description ?? "") }
    }
}

/// The `fraction` quantile of `values` (nearest rank), in milliseconds.
func milliseconds(_ values: [Double], quantile fraction: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
    return sorted[rank] * 1000
}
