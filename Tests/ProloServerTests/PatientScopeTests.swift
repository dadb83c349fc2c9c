import Foundation
import ProloDomain
import ProloHTTPSync
import ProloProjections
import ProloServer
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// What a `patient:ID` token receives and may push over HTTP (DESIGN §6 "Scoped"), and a fork pushed over HTTP.
@Suite("Patient scope over HTTP")
struct PatientScopeTests {
    /// A clinic whose server holds several patients' events from several origins, the enrollments of clinic devices
    /// and of two patients' home devices, and a revocation of another patient's home device.
    struct Clinic {
        let clinic: ClinicFixture
        let laptop: ClinicFixture.Device
        let home1: ClinicFixture.Device
        let home2: ClinicFixture.Device
        /// The home device of p-2 that was revoked.
        let retired: ClinicFixture.Device
        var root: ClinicFixture.Device { clinic.root }

        init(in directory: TemporaryDirectory) throws {
            var random = SeededGenerator(seed: 12)
            clinic = try ClinicFixture(in: directory)
            laptop = try clinic.addDevice("laptop", role: .clinic)
            try clinic.addDevice("auditor", role: .audit)
            home1 = try clinic.addDevice("home-1", role: .home, patient: "p-1")
            home2 = try clinic.addDevice("home-2", role: .home, patient: "p-2")
            retired = try clinic.addDevice("home-2-old", role: .home, patient: "p-2")
            try ClinicalDrafts.record(6, on: clinic.root, patients: ["p-1", "p-2", "p-3"], using: &random)
            try ClinicalDrafts.record(8, on: laptop, patients: ["p-1", "p-2", "p-3"], using: &random)
            try ClinicalDrafts.record(3, on: home2, patients: [], using: &random)
            try clinic.transfer(from: laptop, to: clinic.root)
            try clinic.transfer(from: home2, to: clinic.root)
            try clinic.revoke(retired)
        }
    }

    /// Every event a pull with `body` (and then the vectors it leads to) returns, decoded one by one.
    static func pullAll(
        _ server: TestServer, token: String, vector: VersionVector, extra: [String: JSONValue] = [:]
    ) async throws -> [Event] {
        var vector = vector
        var events: [Event] = []
        for _ in 0..<100 {
            var body = extra
            body["vector"] = vector.jsonValue
            body["maxBytes"] = .int(2_000)
            let response = try await rawRequest(
                "POST", server.url("/v1/sync/pull"), token: token, body: jsonBytes(body),
                contentType: "application/json")
            try #require(response.status == 200, "\(response.text)")
            let batch = try SyncWire.decodeBatch(response.body).map { try EventWireCodec.decode($0) }
            events += batch
            for event in batch { vector.advance(event.origin.text, to: event.originSeq) }
            if response.header("Prolo-More") != "true" { return events }
        }
        Issue.record("the pull did not end in 100 batches")
        return events
    }

    /// Whether `event` may reach patient `patient`'s home device: its patient's events, and registry events
    /// about clinic devices or that patient's own home devices.
    static func belongs(_ event: Event, to patient: PatientID, registry: DeviceRegistry) throws -> Bool {
        if let about = event.patient { return about == patient }
        switch try event.payload() {
        case let enrolled as DeviceEnrolled:
            return enrolled.role != .home || enrolled.patient == patient
        case let revoked as DeviceRevoked:
            let target = try #require(registry.revocationTarget(revoked).flatMap { registry.devices[$0] })
            return target.role != .home || target.patient == patient
        default:
            return false
        }
    }

    @Test(
        "a patient token's pull, from an empty vector and from a forged vector, returns only its patient's events and the enrollments it needs, never another patient's or another patient's home device"
    )
    func pullReturnsOnlyThePatientsSlice() async throws {
        try await TemporaryDirectory.with { directory in
            let setup = try Clinic(in: directory)
            let root = setup.root
            let token = try root.store.issueToken(device: "home-1", scope: "patient:p-1", expiresAt: nil).1
            let everything = try root.store.events().map(\.event)
            let registry = try root.store.registry()
            try #require(everything.contains { $0.patient == "p-2" } && everything.contains { $0.patient == "p-3" })

            try await withServer(device: root) { server in
                // From nothing, asking in the body for the full scope and another patient (the server ignores both).
                let pulled = try await Self.pullAll(
                    server, token: token, vector: VersionVector(),
                    extra: ["scope": .string("full"), "patient": .string("p-2")])
                for event in pulled {
                    #expect(
                        try Self.belongs(event, to: "p-1", registry: registry),
                        "\(event.type.rawValue) \(event.id) about \(event.patient?.text ?? "-") reached p-1's device")
                }
                #expect(!pulled.contains { $0.patient == "p-2" || $0.patient == "p-3" })
                // Nothing about the other patient's home devices: neither enrollment nor revocation.
                let homeKeys = pulled.compactMap { try? $0.payload() as? DeviceEnrolled }.filter { $0.role == .home }
                    .map(\.publicKey.text)
                #expect(homeKeys == [setup.home1.key.publicKey.base64], "home enrollments sent: \(homeKeys)")
                #expect(!pulled.contains { $0.type == .deviceRevoked })
                // And the whole slice: every p-1 event, and the clinic devices' enrollments.
                #expect(
                    Set(pulled.filter { $0.patient == "p-1" }.map(\.id))
                        == Set(everything.filter { $0.patient == "p-1" }.map(\.id)))
                let clinicKeys = pulled.compactMap { try? $0.payload() as? DeviceEnrolled }.filter { $0.role != .home }
                    .map(\.publicKey.text)
                #expect(
                    Set(clinicKeys)
                        == [setup.laptop.key.publicKey.base64, setup.clinic.device("auditor").key.publicKey.base64])

                // A forged vector claiming every origin from nothing (every origin at 0) changes nothing.
                let zeros = VersionVector(heads: try root.store.versionVector().heads.mapValues { _ in 0 })
                let fromZeros = try await Self.pullAll(server, token: token, vector: zeros)
                #expect(fromZeros.map(\.id) == pulled.map(\.id))

                // A forged vector claiming everything the server holds: nothing is sent, of any patient.
                let full = try root.store.versionVector()
                let claimed = try await Self.pullAll(
                    server, token: token, vector: full, extra: ["scope": .string("full")])
                #expect(claimed.isEmpty, "\(claimed.count) events sent against a vector claiming everything")

                // A vector claiming everything but the root's own chain: only the root's p-1 events come back.
                let allButRoot = VersionVector(heads: full.heads.filter { $0.key != root.store.identity.origin.text })
                let rootOnly = try await Self.pullAll(server, token: token, vector: allButRoot)
                #expect(rootOnly.allSatisfy { $0.origin == root.store.identity.origin })
                #expect(rootOnly.allSatisfy { try! Self.belongs($0, to: "p-1", registry: registry) })
                #expect(
                    Set(rootOnly.filter { $0.patient != nil }.map(\.id))
                        == Set(
                            everything.filter { $0.origin == root.store.identity.origin && $0.patient == "p-1" }.map(
                                \.id)))
            }
        }
    }

    @Test(
        "a genuine home token pushing another patient's events: its own key's is held out of scope (stored, out of the read models, never in that patient's slice) and its chain goes on; another device's is quarantined"
    )
    func homeTokenCannotPushAnotherPatient() async throws {
        try await TemporaryDirectory.with { directory in
            let setup = try Clinic(in: directory)
            let root = setup.root
            let token = try root.store.issueToken(device: "home-1", scope: "patient:p-1", expiresAt: nil).1
            let p2Token = try root.store.issueToken(device: "home-2", scope: "patient:p-2", expiresAt: nil).1
            // An event of home-1's own key about p-2, made in a store that is not limited to p-1 (a copied key, or
            // a home app of another make), and its next event, about p-1.
            let copy = try EventStore.create(
                at: directory.file("home-1-copy.sqlite"), deviceName: "home-1", key: setup.home1.key,
                trust: .joining(root: root.key.publicKey, homePatient: nil))
            let ownKeysEvent = try copy.record(
                [try Fixtures.painDraft(patient: "p-2", score: 9)], signedBy: setup.home1.key)[0]
                .event
            let next = try copy.record(
                [try Fixtures.painDraft(patient: "p-1", score: 1, at: 1_796_000_000_000)], signedBy: setup.home1.key)[0]
                .event
            // The laptop's new event about p-2, relayed by the home device.
            let relayed = try setup.laptop.store.record(
                [try Fixtures.painDraft(patient: "p-2", score: 8, at: 1_795_000_000_000)], signedBy: setup.laptop.key)[
                    0
                ]
                .event
            let batch = try SyncWire.encodeBatch([ownKeysEvent, relayed].map(EventWireCodec.encode))

            let registry = try root.store.registry()
            let p2 = try root.projected.state(of: "p-2")
            let p1 = try root.projected.state(of: "p-1")

            try await withServer(device: root) { server in
                let response = try await rawRequest(
                    "POST", server.url("/v1/sync/push"), token: token, body: batch,
                    contentType: SyncWire.batchContentType)
                #expect(response.status == 200, "\(response.text)")
                #expect(response.json?["new"] == .int(1), "\(response.text)")
                guard case .array(let quarantined)? = response.json?["quarantined"] else {
                    Issue.record("no quarantined list in \(response.text)")
                    return
                }
                #expect(quarantined.count == 1, "\(response.text)")
                // The next event of home-1's chain is not blocked behind the held one.
                let second = try await rawRequest(
                    "POST", server.url("/v1/sync/push"), token: token,
                    body: try SyncWire.encodeBatch([EventWireCodec.encode(next)]), contentType: SyncWire.batchContentType)
                #expect(second.json?["new"] == .int(1), "\(second.text)")
                // p-2's home device never receives it.
                let pulled = try await Self.pullAll(server, token: p2Token, vector: VersionVector())
                #expect(!pulled.contains { $0.id == ownKeysEvent.id })
                #expect(pulled.contains { $0.patient == "p-2" })
            }
            #expect(try root.store.event(id: ownKeysEvent.id) != nil && root.store.event(id: next.id) != nil)
            #expect(try root.store.event(id: relayed.id) == nil)
            let held = try root.store.reviewHeldEvents()
            #expect(held.map(\.id) == [ownKeysEvent.id] && held.map(\.hold) == [.outOfScope])
            #expect(try root.store.registry() == registry)
            #expect(try root.projected.state(of: "p-2") == p2, "the held event is not folded")
            #expect(try root.projected.state(of: "p-1") != p1, "the next good event is")
            #expect(try root.projected.openAlerts().contains { $0.kind == "out-of-scope" && $0.raisedBy == [ownKeysEvent.id.text] })
            let waiting = try root.store.quarantine()
            let home1 = setup.home1.store.identity.origin.text
            #expect(waiting.map(\.id) == [relayed.id])
            let other = try #require(waiting.first { $0.id == relayed.id })
            #expect(other.reason.contains(home1) && other.reason.contains("its own events"), "\(other.reason)")
            try root.projected.rebuild()
            #expect(try root.projected.state(of: "p-2") == p2)
        }
    }

    @Test(
        "a fork pushed over HTTP (a restored laptop reusing its key) is kept as evidence and shows as fork-detected in /v1/alerts"
    )
    func forkPushedOverHTTPRaisesAnAlert() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let laptop = try clinic.addDevice("laptop", role: .clinic)
            let restored = try ProjectedStore.create(
                at: directory.file("laptop-restored.sqlite"), deviceName: "laptop", key: laptop.key,
                trust: .joining(root: root.key.publicKey, homePatient: nil))
            let held = try laptop.store.record(
                [try Fixtures.painDraft(patient: "p-1", score: 4)], signedBy: laptop.key)[0]
            let other = try restored.store.record(
                [try Fixtures.painDraft(patient: "p-1", score: 7, at: 1_791_000_000_000)], signedBy: laptop.key)[0]
            try #require(held.event.originSeq == other.event.originSeq && held.event.hash != other.event.hash)
            let token = try root.store.issueToken(
                device: laptop.key.publicKey.origin.text, scope: "clinic", expiresAt: nil
            ).1

            try await withServer(device: root) { server in
                for (event, forks) in [(held.event, 0), (other.event, 1)] {
                    let response = try await rawRequest(
                        "POST", server.url("/v1/sync/push"), token: token,
                        body: try SyncWire.encodeBatch([EventWireCodec.encode(event)]),
                        contentType: SyncWire.batchContentType)
                    #expect(response.status == 200, "\(response.text)")
                    #expect(response.json?["forks"] == .int(Int64(forks)), "\(response.text)")
                }
                let alerts = try await rawRequest("GET", server.url("/v1/alerts"), token: token)
                #expect(alerts.status == 200)
                guard case .array(let listed)? = alerts.json?["alerts"] else {
                    Issue.record("no alerts list in \(alerts.text)")
                    return
                }
                let fork = listed.first { $0["kind"]?.stringValue == "fork-detected" }
                #expect(fork != nil, "no fork-detected alert in \(alerts.text)")
                #expect(fork?["patient"]?.stringValue == "p-1")
            }
            #expect(try root.store.forks().map(\.otherEvent) == [other.event.id.text])
            #expect(try root.store.registry().devices[laptop.key.publicKey.origin]?.frozenReason != nil)
        }
    }
}
