// The four workloads: initial sync, in-sync round trips, devices at once, and the load test.
import AsyncHTTPClient
import Foundation
import Logging
import ProloBenchSupport
import ProloDomain
import ProloHTTPSync
import ProloProjections
import ProloStore
import ProloSync

// MARK: 1. Initial sync

/// A brand-new laptop's first sync of a whole clinic.
struct InitialSync {
    let storeKind: String
    let report: SyncReport
    let seconds: Double
    let wire: WireCounts
    let converged: Bool
    let laptop: EventStore
}

/// A server store of `events` events of the clinical mix over `patients` patients, and laptops enrolled on it
/// (clinic role) with a clinic-scope token each.
struct LaptopClinic {
    let serverPath: String
    let rootKey: DeviceKey
    let laptops: [(name: String, key: DeviceKey, token: String)]
    let buildSeconds: Double
    let rebuildSeconds: Double

    static func make(at directory: String, events: Int, patients: Int, batch: Int, laptops count: Int) throws
        -> LaptopClinic
    {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let rootKey = DeviceKey()
        let start = now()
        var laptops: [(name: String, key: DeviceKey, token: String)] = []
        do {
            let root = try makeClinic(
                at: directory, events: events, patients: patients, devices: [], rootKey: rootKey, batch: batch, seed: 42
            )
            for index in 1...count {
                let key = DeviceKey()
                let name = "laptop-new-\(index)"
                try root.record([try enrollment(of: key, named: name, by: rootKey)], signedBy: rootKey)
                let (_, token) = try root.issueToken(device: name, scope: "clinic", expiresAt: nil)
                laptops.append((name, key, token))
            }
        }
        let built = seconds(since: start)
        BenchProgress.note("building the server's read models")
        let (_, rebuild) = try timed { _ = try ProjectedStore.open(at: directory + "/root.sqlite") }
        return LaptopClinic(
            serverPath: directory + "/root.sqlite", rootKey: rootKey, laptops: laptops, buildSeconds: built,
            rebuildSeconds: rebuild)
    }
}

/// A fresh laptop store (a `ProjectedStore` as `prolo sync` opens, or a plain `EventStore`) joined to the clinic
/// syncs once through the counting proxy.
func initialSync(
    projected: Bool, laptop: (name: String, key: DeviceKey, token: String), clinic: LaptopClinic, directory: String,
    proxy: ByteCountingProxy, http: HTTPClient, retries: RetryCounter
) async throws -> InitialSync {
    let path = directory + "/\(laptop.name).sqlite"
    let trust = StoreTrust.joining(root: clinic.rootKey.publicKey, homePatient: nil)
    let store =
        projected
        ? try ProjectedStore.create(at: path, deviceName: laptop.name, key: laptop.key, trust: trust).store
        : try EventStore.create(at: path, deviceName: laptop.name, key: laptop.key, trust: trust)
    var client = HTTPSyncClient(server: proxy.url, token: laptop.token, store: store, http: http)
    client.logger = .init(label: "prolo.bench.sync") { _ in RetryCountingHandler(counter: retries) }
    let before = proxy.snapshot
    let start = now()
    let report = try await client.sync { progress in BenchProgress.note("pulled \(progress.pulled)") }
    let elapsed = seconds(since: start)
    let wire = proxy.snapshot - before
    let afterCheck = proxy.snapshot
    let again = try await client.sync()
    let converged = again == SyncReport() && (proxy.snapshot - afterCheck).requests == 1
    return InitialSync(
        storeKind: projected ? "ProjectedStore (as `prolo sync`)" : "plain EventStore", report: report,
        seconds: elapsed,
        wire: wire, converged: converged, laptop: store)
}

// MARK: 2. In-sync round trips

struct RoundTrips {
    let count: Int
    let latencies: [Double]
    let vectorSeconds: [Double]
    let wire: WireCounts
    let wireSyncs: Int
    let nonEmpty: Int
}

/// `count` syncs of a laptop already in sync, straight to the server (latency), then `wireCount` more through
/// the proxy (bytes).
func roundTrips(
    laptop: EventStore, token: String, server: ServeProcess, proxy: ByteCountingProxy, http: HTTPClient,
    retries: RetryCounter, count: Int, wireCount: Int
) async throws -> RoundTrips {
    var direct = HTTPSyncClient(server: server.url, token: token, store: laptop, http: http)
    direct.logger = .init(label: "prolo.bench.sync") { _ in RetryCountingHandler(counter: retries) }
    var latencies: [Double] = []
    var vectorSeconds: [Double] = []
    var nonEmpty = 0
    for _ in 0..<count {
        let start = now()
        let report = try await direct.sync()
        latencies.append(seconds(since: start))
        if report != SyncReport() { nonEmpty += 1 }
        let (_, vector) = try timed { _ = try laptop.versionVector() }
        vectorSeconds.append(vector)
    }
    let proxied = HTTPSyncClient(server: proxy.url, token: token, store: laptop, http: http)
    let before = proxy.snapshot
    for _ in 0..<wireCount { try await proxied.sync() }
    return RoundTrips(
        count: count, latencies: latencies, vectorSeconds: vectorSeconds, wire: proxy.snapshot - before,
        wireSyncs: wireCount, nonEmpty: nonEmpty)
}

// MARK: 3 and 4. Devices at once, and the load test

struct DevicesRun {
    let devices: Int
    let laptops: Int
    let seconds: Double
    let tally: DeviceTally
    let finalErrors: [String]
    let converged: Int
    let retries: Int
    let retrySamples: [String]
    let setupSeconds: Double
    let serverRSS: [(seconds: Double, megabytes: Double)]
    let serverPeak: Double
    let metrics: [String]
}

/// Builds a clinic of `devices` devices, starts `prolo serve` on it, syncs every device once (not measured),
/// then runs them all at once as `loop` says, while sampling the server's RSS every `sampleSeconds`; then a final
/// sync of every device and the convergence check.
func devicesRun(
    at directory: String, devices count: Int, laptopPercent: Int, baseEvents: Int, basePatients: Int,
    loop makeLoop: () -> DeviceLoop, sampleSeconds: Double, database: String?
) async throws -> DevicesRun {
    let setupStart = now()
    BenchProgress.note("building a clinic of \(count) devices")
    let clinic = try DeviceClinic.make(
        at: directory, baseEvents: baseEvents, basePatients: basePatients, devices: count, laptopPercent: laptopPercent)
    let server = try await ServeProcess.start(store: clinic.serverPath, database: database)
    defer { server.stop() }
    let proxy = try ByteCountingProxy(target: server.port)
    defer { proxy.stop() }
    let http = makeHTTPClient(connections: count)
    let retries = RetryCounter()
    BenchProgress.note("first sync of every device (not measured)")
    let setupErrors = await syncAll(clinic.devices, server: server.url, http: http, retries: retries)
    let setupSeconds = seconds(since: setupStart)
    let setupRetries = retries.count

    BenchProgress.note("running \(count) devices")
    let samples = RSSSampler(pid: server.pid, every: sampleSeconds)
    let loop = makeLoop()
    let start = now()
    let tally = await runDevices(clinic, server: server.url, http: http, retries: retries, loop: loop)
    let elapsed = seconds(since: start)
    let series = await samples.stop()
    BenchProgress.note("final sync of every device and the convergence check")
    let finalErrors = await syncAll(clinic.devices, server: server.url, http: http, retries: retries)
    let converged = await convergedDevices(clinic.devices, proxy: proxy, http: http, retries: retries)
    let metrics = await fetchMetrics(server.url)
    let peak = server.peakMegabytes
    try? await http.shutdown()
    await server.finish()
    return DevicesRun(
        devices: count, laptops: clinic.devices.filter(\.isLaptop).count, seconds: elapsed, tally: tally,
        finalErrors: setupErrors + finalErrors, converged: converged, retries: retries.count - setupRetries,
        retrySamples: retries.samples, setupSeconds: setupSeconds, serverRSS: series, serverPeak: peak, metrics: metrics
    )
}

/// A client whose pool opens up to `connections` connections to the server (the shared one stops at 8).
func makeHTTPClient(connections: Int) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, connections)
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}

/// Samples a process's VmRSS every `every` seconds, from the start until ``stop()``.
final class RSSSampler: Sendable {
    private let task: Task<[(seconds: Double, megabytes: Double)], Never>

    init(pid: Int32, every interval: Double) {
        task = Task {
            let start = now()
            var series: [(seconds: Double, megabytes: Double)] = [(0, statusMegabytes("VmRSS", pid: pid))]
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                if Task.isCancelled { break }
                series.append((seconds(since: start), statusMegabytes("VmRSS", pid: pid)))
            }
            series.append((seconds(since: start), statusMegabytes("VmRSS", pid: pid)))
            return series
        }
    }

    func stop() async -> [(seconds: Double, megabytes: Double)] {
        task.cancel()
        return await task.value
    }
}
