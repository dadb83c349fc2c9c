import Foundation
import ProloDomain
import ProloHTTPSync
import ProloProjections
import ProloServer
import ProloStore
import ProloSync
import ProloTestSupport
import ServiceLifecycle
import Testing

@Suite("Devices converge over HTTP")
struct HTTPConvergenceTests {
    private static let patients: [PatientID] = ["p-1", "p-2", "p-3"]

    /// Syncs `store` with the server and returns the report.
    private func sync(_ store: EventStore, token: String, server: TestServer, batchBytes: Int = 1 << 20) async throws
        -> SyncReport
    {
        var client = HTTPSyncClient(server: server.baseURL, token: token, store: store)
        client.batchBytes = batchBytes
        client.attempts = 2
        client.initialBackoff = .milliseconds(20)
        client.logger = quietLogger
        return try await client.sync()
    }

    /// Every check that two full copies hold the same log and the same read models.
    private func expectSameFullCopy(_ device: ClinicFixture.Device, as reference: ClinicFixture.Device) throws {
        #expect(try device.store.versionVector() == reference.store.versionVector(), "\(device.name) vector differs")
        #expect(
            try eventIDs(device.store) == eventIDs(reference.store),
            "\(device.name) holds other events than \(reference.name)")
        #expect(try device.store.quarantine().isEmpty, "\(device.name) quarantines events")
        #expect(try device.projected.patients() == reference.projected.patients())
        #expect(try device.projected.openAlerts() == reference.projected.openAlerts())
        for patient in Self.patients {
            #expect(
                try device.projected.state(of: patient) == reference.projected.state(of: patient),
                "\(device.name): \(patient)")
        }
    }

    @Test(
        "a laptop and two home devices syncing over HTTP, interleaved with recording, converge: the laptop holds the server's log, each home device exactly its patient's slice, read models agree"
    )
    func laptopAndHomeDevicesConverge() async throws {
        try await TemporaryDirectory.with { directory in
            var random = SeededGenerator(seed: 20_260_901)
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let laptop = try clinic.addDevice("laptop", role: .clinic)
            let home1 = try clinic.addDevice("home-1", role: .home, patient: "p-1")
            let home2 = try clinic.addDevice("home-2", role: .home, patient: "p-2")
            let laptopToken = try root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil).1
            let home1Token = try root.store.issueToken(device: "home-1", scope: "patient:p-1", expiresAt: nil).1
            let home2Token = try root.store.issueToken(device: "home-2", scope: "patient:p-2", expiresAt: nil).1
            let clients: [(ClinicFixture.Device, String)] = [
                (laptop, laptopToken), (home1, home1Token), (home2, home2Token),
            ]

            try await withServer(device: root) { server in
                for round in 0..<3 {
                    // Everyone records, then syncs in a round-dependent order, with more recording in between.
                    try ClinicalDrafts.record(4, on: root, patients: Self.patients, using: &random)
                    try ClinicalDrafts.record(5, on: laptop, patients: Self.patients, using: &random)
                    try ClinicalDrafts.record(3, on: home1, patients: [], using: &random)
                    try ClinicalDrafts.record(3, on: home2, patients: [], using: &random)
                    let order = round % 2 == 0 ? clients : clients.reversed()
                    for (device, token) in order {
                        // A small batch budget in one round, so pulls take several batches.
                        _ = try await sync(
                            device.store, token: token, server: server, batchBytes: round == 1 ? 2_000 : 1 << 20)
                        try ClinicalDrafts.record(1, on: device, patients: Self.patients, using: &random)
                    }
                }
                // Until quiescent: each device syncs until a whole pass moves nothing.
                var passes = 0
                while passes < 5 {
                    passes += 1
                    var moved = 0
                    for (device, token) in clients {
                        let report = try await sync(device.store, token: token, server: server)
                        moved += report.new + report.sent + report.quarantined + report.admittedFromQuarantine
                    }
                    if moved == 0 { break }
                }
                #expect(passes < 5, "the devices did not converge in four passes")

                // The laptop holds the server's log and read models.
                try expectSameFullCopy(laptop, as: root)
                #expect(try root.store.quarantine().isEmpty, "the server quarantines events")

                // Each home device holds exactly its patient's events, and none of another patient.
                let everything = try root.store.events().map(\.event)
                for home in [home1, home2] {
                    let patient = try #require(home.homePatient)
                    let held = try home.store.events().map(\.event)
                    #expect(
                        held.allSatisfy { $0.patient == nil || $0.patient == patient },
                        "\(home.name) holds another patient's events")
                    let otherHomes = held.compactMap { try? $0.payload() as? DeviceEnrolled }.filter {
                        $0.role == .home && $0.patient != patient
                    }
                    #expect(otherHomes.isEmpty, "\(home.name) holds the enrollment of another patient's home device")
                    #expect(
                        Set(held.filter { $0.patient == patient }.map(\.id))
                            == Set(everything.filter { $0.patient == patient }.map(\.id)),
                        "\(home.name) does not hold exactly its patient's slice")
                    #expect(try home.projected.state(of: patient) == root.projected.state(of: patient))
                    #expect(try home.store.quarantine().isEmpty, "\(home.name) quarantines events")
                    for other in Self.patients where other != patient {
                        #expect(try home.projected.state(of: other) == nil, "\(home.name) has a read model of \(other)")
                    }
                }
                // Every device's own events reached the server.
                for (device, _) in clients {
                    let own = try device.store.events(EventFilter(origin: device.store.identity.origin)).map(\.event.id)
                    #expect(!own.isEmpty)
                    #expect(
                        Set(own).isSubset(of: Set(everything.map(\.id))),
                        "\(device.name)'s events did not all reach the server")
                }
                // In sync: each sync now is one small exchange with nothing to move.
                for (device, token) in clients {
                    #expect(
                        try await sync(device.store, token: token, server: server) == SyncReport(),
                        "\(device.name) not in sync")
                }
            }
        }
    }

    @Test("two servers replicate both ways over HTTP: same vector on both sides, and a second sync reports in sync")
    func twoServersReplicate() async throws {
        try await TemporaryDirectory.with { directory in
            var random = SeededGenerator(seed: 77)
            let clinic = try ClinicFixture(in: directory)
            let first = clinic.root
            let second = try clinic.addDevice("server-2", role: .replica)
            let laptop = try clinic.addDevice("laptop", role: .clinic)
            let replicaToken = try first.store.issueToken(device: "server-2", scope: "replica", expiresAt: nil).1

            try ClinicalDrafts.record(20, on: first, patients: Self.patients, using: &random)
            try ClinicalDrafts.record(15, on: second, patients: Self.patients, using: &random)

            try await withServer(device: first) { firstServer in
                try await withServer(device: second) { secondServer in
                    var replication = HTTPSyncClient(
                        server: firstServer.baseURL, token: replicaToken, store: second.store)
                    replication.attempts = 2
                    replication.initialBackoff = .milliseconds(20)

                    let report = try await replication.sync()
                    #expect(report.new > 0, "the second server pulled nothing")
                    #expect(report.sent == 15, "the second server pushed \(report.sent) of its 15 events")
                    #expect(try first.store.versionVector() == second.store.versionVector())
                    try expectSameFullCopy(second, as: first)
                    #expect(try await replication.sync() == SyncReport(), "a second replication moved something")

                    // The laptop syncs with the second server only; its events reach the first by replication. Its
                    // token is bound to its key, so the second server issues it once it holds the enrollment.
                    let laptopToken = try second.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil).1

                    // New events on both servers and on a laptop that talks to the second server only.
                    try ClinicalDrafts.record(6, on: first, patients: Self.patients, using: &random)
                    try ClinicalDrafts.record(7, on: laptop, patients: Self.patients, using: &random)
                    _ = try await sync(laptop.store, token: laptopToken, server: secondServer)
                    try ClinicalDrafts.record(4, on: second, patients: Self.patients, using: &random)

                    // Continuous replication in a service group, until both sides hold the same vector.
                    let service = ReplicationService(
                        client: replication, interval: .milliseconds(50), logger: quietLogger)
                    let group = ServiceGroup(configuration: .init(services: [service], logger: quietLogger))
                    let running = Task { try await group.run() }
                    let deadline = ContinuousClock.now + .seconds(20)
                    while try first.store.versionVector() != second.store.versionVector(),
                        ContinuousClock.now < deadline
                    {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    await group.triggerGracefulShutdown()
                    try await running.value

                    try expectSameFullCopy(second, as: first)
                    let laptopEvents = try laptop.store.events(EventFilter(origin: laptop.store.identity.origin)).map(
                        \.event.id)
                    #expect(laptopEvents.count == 7)
                    #expect(
                        Set(laptopEvents).isSubset(of: try eventIDs(first.store)),
                        "the laptop's events did not reach the first server")
                    #expect(
                        try await replication.sync() == SyncReport(), "after replication, a sync still moved something")
                    // The first server logged the replica's requests under its token.
                    let log = try first.store.accessLog()
                    #expect(log.contains { $0.scope == "replica" && $0.route == "/v1/sync/push" && $0.outcome == "ok" })
                }
            }
        }
    }
}
