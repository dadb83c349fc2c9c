import Foundation
import ProloDomain
import ProloPostgres
import ProloProjections
import ProloStore
import ProloTestSupport
import Testing

/// The treatment read models of a hub in either backend: kept in the append's transaction by one rule
/// (`PatientFoldUpdate`), they must say what the pure fold of the log says, whatever the batches and the order
/// devices arrive in, and what a rebuild says.
@Suite("The treatment read models: one conformance suite over SQLite and PostgreSQL (issue 14)")
struct ReadModelConformanceTests {
    static let patients: [PatientID] = ["p-1", "p-2", "p-3"]

    @Test(
        "read models kept at every push equal the pure fold of the log and a rebuild, whatever the batches and the devices' interleaving (late events fold onto the base or re-fold)",
        arguments: Backend.allCases, [1, 2, 3] as [UInt64])
    func keptEqualsFold(_ backend: Backend, seed: UInt64) async throws {
        try await TemporaryDirectory.with { directory in
            var random = SeededGenerator(seed: seed)
            let fixture = try ClinicFixture(in: directory)
            let hub = try fixture.addDevice("hub")
            let laptops = [try fixture.addDevice("laptop-a"), try fixture.addDevice("laptop-b")]
            let phone = try fixture.addDevice("phone", role: .home, patient: "p-1")
            // Each device records in random clinical order (times over 90 days): the hub meets events earlier in
            // clinical time than what it folded, from the other devices and from the same one.
            var chains: [[Event]] = []
            for laptop in laptops {
                chains.append(
                    try ClinicalDrafts.record(60, on: laptop, patients: Self.patients, using: &random).map(\.event))
            }
            chains.append(try ClinicalDrafts.record(40, on: phone, patients: ["p-1"], using: &random).map(\.event))
            let registry = try fixture.root.store.events().map(\.event)
            try await backend.with(hub.projected) { log in
                try await log.append(registry)
                // Random batches, each from one device, the devices interleaved at random; each chain in order.
                var next = chains.map { _ in 0 }
                while let device = next.indices.filter({ next[$0] < chains[$0].count }).randomElement(using: &random) {
                    let size = Int.random(in: 1...12, using: &random)
                    let batch = Array(chains[device][next[device]..<min(next[device] + size, chains[device].count)])
                    next[device] += batch.count
                    let outcome = try await log.append(batch)
                    #expect(outcome.appended.count == batch.count)
                }
                for patient in Self.patients {
                    var facts = PatientFacts(patient: patient)
                    for stored in try await log.events(EventFilter(patient: patient)) {
                        facts.insert(try ClinicalFact(event: stored.event))
                    }
                    let kept = try await log.state(of: patient)
                    #expect(kept == TreatmentFold.state(of: facts), "patient \(patient), seed \(seed)")
                }
                let patients = try await log.patients()
                let alerts = try await log.openAlerts()
                let due = try await log.due(within: 30, now: Timestamp(millisecondsSinceEpoch: 1_795_000_000_000))
                #expect(patients.map(\.patient) == Self.patients.map(\.text))
                try await log.rebuild()
                #expect(try await log.patients() == patients)
                #expect(try await log.openAlerts() == alerts)
                #expect(try await log.due(within: 30, now: Timestamp(millisecondsSinceEpoch: 1_795_000_000_000)) == due)
            }
        }
    }

    @Test(
        "a revocation that arrives after the revoked laptop's later events holds them out: the patient is folded again without them, and the alerts list them after-revocation",
        arguments: Backend.allCases)
    func revocationRefolds(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            var random = SeededGenerator(seed: 5)
            let fixture = try ClinicFixture(in: directory)
            let hub = try fixture.addDevice("hub")
            let laptop = try fixture.addDevice("laptop")
            let before = try ClinicalDrafts.record(10, on: laptop, patients: ["p-1"], using: &random).map(\.event)
            let enrollments = try fixture.root.store.events().map(\.event)
            let revocation = try fixture.revoke(laptop).event
            // Recorded after the revocation (a later HLC), and pushed before the hub hears of it.
            try await Task.sleep(for: .milliseconds(5))
            let after = try ClinicalDrafts.record(6, on: laptop, patients: ["p-1"], using: &random).map(\.event)
            try await backend.with(hub.projected) { log in
                try await log.append(enrollments)
                try await log.append(before + after)
                #expect(try await log.state(of: "p-1")?.eventCount == before.count + after.count)
                let outcome = try await log.append([revocation])
                #expect(Set(outcome.flagged) == Set(after.map(\.id)))
                #expect(try await log.state(of: "p-1")?.eventCount == before.count)
                let held = try await log.openAlerts().filter { $0.kind == ReviewHold.afterRevocation.rawValue }
                #expect(Set(held.flatMap(\.raisedBy)) == Set(after.map(\.id.text)))
                #expect(held.allSatisfy { $0.isReviewFlag && $0.patient == "p-1" })
                let alerts = try await log.openAlerts()
                try await log.rebuild()
                #expect(try await log.openAlerts() == alerts)
                #expect(try await log.state(of: "p-1")?.eventCount == before.count)
            }
        }
    }

    @Test(
        "an event whose payload this build cannot read is held out of the read models and listed as a review flag, and the patient's other events fold",
        arguments: Backend.allCases)
    func unreadableHeldOut(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            var (hub, app, enrollments) = try Self.hubAndApp(in: directory)
            let good = try app.painReport("p-1", score: 6)
            let unreadable = try app.seal(
                .painReported, patient: "p-1",
                body: .json(#"{"instrument":"nrs","reporter":{"id":"p-1","role":"patient"},"score":"high"}"#),
                author: Author(id: "p-1", role: .patient))
            let later = try app.painReport("p-1", score: 3)
            try await backend.with(hub.projected) { log in
                try await log.append(enrollments)
                let outcome = try await log.append([good, unreadable, later])
                #expect(outcome.held.map(\.id) == [unreadable.id])
                #expect(try await log.state(of: "p-1")?.eventCount == 2)
                let flags = try await log.openAlerts().filter { $0.raisedBy == [unreadable.id.text] }
                #expect(flags.map(\.kind) == [UnreadablePayload.Kind.invalidPayload.rawValue])
                #expect(flags.first?.isReviewFlag == true)
            }
        }
    }

    @Test(
        "what waits for a link is admitted and folded in the push that brings the link: a gap filled later in the same push, and a waiting event about a patient the filling push does not name",
        arguments: Backend.allCases)
    func linksAdmitWithinAPush(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            var (hub, app, enrollments) = try Self.hubAndApp(in: directory)
            let first = try app.painReport("p-1", score: 6)
            let second = try app.painReport("p-1", score: 5)
            let filler = try app.painReport("p-1", score: 4)
            let waiting = try app.painReport("p-2", score: 7)
            try await backend.with(hub.projected) { log in
                try await log.append(enrollments)
                // Reversed: the second waits for the first, which comes after it in the same push.
                let reversed = try await log.append([second, first])
                #expect(Set(reversed.appended.map(\.event.id)) == [first.id, second.id])
                #expect(try await log.quarantined().isEmpty)
                #expect(try await log.state(of: "p-1")?.eventCount == 2)
                // p-2's event waits for p-1's; the push about p-1 alone admits it, and p-2's read model folds it.
                let early = try await log.append([waiting])
                #expect(early.quarantined.map(\.id) == [waiting.id])
                #expect(try await log.state(of: "p-2") == nil)
                let late = try await log.append([filler])
                #expect(late.appended.map(\.event.id) == [filler.id, waiting.id])
                #expect(try await log.quarantined().isEmpty)
                #expect(try await log.state(of: "p-1")?.eventCount == 3)
                var facts = PatientFacts(patient: "p-2")
                facts.insert(try ClinicalFact(event: waiting))
                #expect(try await log.state(of: "p-2") == TreatmentFold.state(of: facts))
            }
        }
    }

    /// A clinic's hub and a foreign app enrolled as a clinic device, with the root's events (the enrollments) the hub
    /// must receive first.
    private static func hubAndApp(in directory: TemporaryDirectory) throws
        -> (hub: ClinicFixture.Device, app: ForeignDevice, enrollments: [Event])
    {
        let fixture = try ClinicFixture(in: directory)
        let hub = try fixture.addDevice("hub")
        let app = ForeignDevice()
        try fixture.enroll(app.key.publicKey, name: "app", role: .clinic)
        return (hub, app, try fixture.root.store.events().map(\.event))
    }
}
