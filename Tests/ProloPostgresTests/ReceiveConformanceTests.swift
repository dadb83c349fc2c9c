import Foundation
import ProloDomain
import ProloPostgres
import ProloStore
import ProloTestSupport
import Testing

/// A clinic whose hub (a clinic server joined to the root) holds the registry and nothing else: devices' events and
/// the root's enrollments reach it only through the hub's append, in whichever backend.
struct Clinic {
    let fixture: ClinicFixture
    let hub: ClinicFixture.Device

    init(in directory: TemporaryDirectory) throws {
        fixture = try ClinicFixture(in: directory)
        hub = try fixture.addDevice("hub")
    }

    /// Enrolls `app` on the root; returns the root's events the hub does not hold yet (its enrollments).
    func enroll(_ app: ForeignDevice, name: String) throws -> [Event] {
        try fixture.enroll(app.key.publicKey, name: name, role: .clinic)
        return try rootEvents()
    }

    /// Every event the root recorded, in order.
    func rootEvents() throws -> [Event] {
        try fixture.root.store.events().map(\.event)
    }
}

@Suite("Receiving events: one conformance suite over SQLite and PostgreSQL (issue 14)")
struct ReceiveConformanceTests {
    @Test("a device's events are stored once, served to a peer that lacks them in canonical order, and counted present when sent again", arguments: Backend.allCases)
    func storesServesAndDeduplicates(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let enrollments = try clinic.enroll(app, name: "app")
            let events = try (0..<20).map { index in try app.painReport(index % 2 == 0 ? "p-1" : "p-2", score: index % 10) }
            try await backend.with(clinic.hub.store) { hub in
                let before = try await hub.count()
                let first = try await hub.append(enrollments + events)
                #expect(first.appended.count == enrollments.count + events.count)
                #expect(first.quarantined.isEmpty)
                #expect(try await hub.count() == before + enrollments.count + events.count)
                #expect(try await hub.versionVector()[app.key.publicKey.origin.text] == 20)
                // Each stored event has its own arrival position.
                #expect(Set(first.appended.map(\.seq)).count == first.appended.count)
                #expect(!first.appended.contains { $0.seq == 0 })

                let again = try await hub.append(events)
                #expect(again.appended.isEmpty)
                #expect(again.alreadyPresent == events.count)
                #expect(try await hub.count() == before + enrollments.count + events.count)

                // A peer that holds the registry's events but none of the app's is served the app's chain.
                var peer = VersionVector()
                for (origin, seq) in try await hub.versionVector().heads where origin != app.key.publicKey.origin.text {
                    peer.advance(origin, to: seq)
                }
                let served = try await hub.missing(from: peer)
                #expect(served.map(\.id) == events.map(\.id))
                // Listed as `prolo log` lists them: by patient, by type, the latest few newest first.
                let p1 = try await hub.events(EventFilter(patient: "p-1")).map(\.event.id)
                #expect(p1 == events.filter { $0.patient == "p-1" }.map(\.id))
                let latest = try await hub.events(EventFilter(type: .painReported, limit: 3, newestFirst: true))
                #expect(latest.map(\.event.id) == events.suffix(3).reversed().map(\.id))
                #expect(latest.map(\.seq) == latest.map(\.seq).sorted(by: >))
                let positions = try await hub.events(
                    EventFilter(origin: app.key.publicKey.origin, originSeqs: 5...7)).map(\.event.originSeq)
                #expect(positions == [5, 6, 7])
                #expect(try await hub.missing(from: try await hub.versionVector()).isEmpty)
            }
        }
    }

    @Test("a forged signature or a bad hash refuses the whole batch with invalid-input naming the event and its place in the batch, stores nothing, and the next good batch is stored", arguments: Backend.allCases)
    func refusesForgeries(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let enrollments = try clinic.enroll(app, name: "app")
            let good = try app.painReport("p-1", score: 3)
            let honest = try app.painReport("p-1", score: 4)
            var forger = ForeignDevice()
            _ = try forger.painReport("p-1", score: 1)
            let forged = Event(
                id: honest.id, origin: honest.origin, originSeq: honest.originSeq, prev: honest.prev,
                patientPrev: honest.patientPrev, hlc: honest.hlc, occurredAt: honest.occurredAt, patient: honest.patient,
                type: honest.type, schemaVersion: honest.schemaVersion, author: honest.author,
                dictionary: honest.dictionary, body: honest.body, hash: honest.hash,
                signature: try forger.key.signature(for: honest.hash.bytes))
            let rehashed = Event(
                id: honest.id, origin: honest.origin, originSeq: honest.originSeq, prev: honest.prev,
                patientPrev: honest.patientPrev, hlc: honest.hlc, occurredAt: honest.occurredAt, patient: honest.patient,
                type: honest.type, schemaVersion: honest.schemaVersion, author: honest.author,
                dictionary: honest.dictionary, body: good.body, hash: honest.hash, signature: honest.signature)
            try await backend.with(clinic.hub.store) { hub in
                try await hub.append(enrollments)
                let before = try await hub.count()
                for bad in [forged, rehashed] {
                    let error = await #expect(throws: StoreError.self) { try await hub.append([good, bad]) }
                    #expect(error?.code == .invalidInput)
                    #expect(error?.message.contains("event \(bad.id)") == true)
                    #expect(error?.event == bad.id)
                    #expect(error?.offset == .batch(1))
                    #expect(try await hub.count() == before)
                    #expect(try await hub.quarantined().isEmpty)
                }
                // One id twice, the second copy's hash wrong: the error places the second, not the first with that id.
                let twice = await #expect(throws: StoreError.self) { try await hub.append([good, honest, rehashed]) }
                #expect(twice?.event == honest.id)
                #expect(twice?.offset == .batch(2))
                #expect(try await hub.count() == before)
                let outcome = try await hub.append([good, honest])
                #expect(outcome.appended.map(\.event.id) == [good.id, honest.id])
            }
        }
    }

    @Test("a gap waits in quarantine with its reason, and the missing link admits what waited", arguments: Backend.allCases)
    func gapWaitsForItsLink(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let enrollments = try clinic.enroll(app, name: "app")
            let events = try (0..<5).map { _ in try app.painReport("p-1", score: 5) }
            try await backend.with(clinic.hub.store) { hub in
                try await hub.append(enrollments)
                let early = try await hub.append(Array(events[2...]))
                #expect(early.appended.isEmpty)
                #expect(early.quarantined.count == 3)
                #expect(early.quarantined.allSatisfy { $0.reason.contains("gap in origin") })
                #expect(try await hub.quarantined().count == 3)
                let late = try await hub.append(Array(events[..<2]))
                #expect(late.appended.map(\.event.id) == events.map(\.id))
                #expect(late.admittedFromQuarantine == 3)
                #expect(try await hub.quarantined().isEmpty)
                #expect(try await hub.versionVector()[app.key.publicKey.origin.text] == 5)
            }
        }
    }

    @Test("an unenrolled device's events wait in quarantine until its enrollment arrives, which admits them", arguments: Backend.allCases)
    func enrollmentAdmitsWhatWaited(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let events = try (0..<3).map { _ in try app.painReport("p-1", score: 2) }
            let known = try clinic.rootEvents().count
            try await backend.with(clinic.hub.store) { hub in
                try await hub.append(try clinic.rootEvents())
                let waiting = try await hub.append(events)
                #expect(waiting.quarantined.count == 3)
                #expect(try await hub.registry().devices[app.key.publicKey.origin] == nil)
                let enrollment = Array(try clinic.enroll(app, name: "app")[known...])
                let admitted = try await hub.append(enrollment)
                #expect(admitted.admittedFromQuarantine == 3)
                #expect(admitted.appended.count == 4)
                #expect(try await hub.quarantined().isEmpty)
                #expect(try await hub.registry().devices[app.key.publicKey.origin]?.name == "app")
            }
        }
    }

    @Test("events ahead of their device's enrollment in the same batch are admitted by it, and nothing is left waiting", arguments: Backend.allCases)
    func enrollmentLaterInTheBatch(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let events = try (0..<3).map { _ in try app.painReport("p-1", score: 2) }
            let known = try clinic.rootEvents().count
            try await backend.with(clinic.hub.store) { hub in
                try await hub.append(try clinic.rootEvents())
                let enrollment = Array(try clinic.enroll(app, name: "app")[known...])
                let outcome = try await hub.append(events + enrollment)
                #expect(outcome.appended.count == 4)
                #expect(outcome.quarantined.isEmpty)
                #expect(outcome.admittedFromQuarantine == 0, "waiting and admitted in one batch is simply new")
                #expect(try await hub.quarantined().isEmpty)
                #expect(try await hub.versionVector()[app.key.publicKey.origin.text] == 3)
            }
        }
    }

    @Test("a second validly signed event at a held position is fork evidence: the origin is frozen, its events from the fork on held", arguments: Backend.allCases)
    func forkFreezesItsOrigin(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let enrollments = try clinic.enroll(app, name: "app")
            let shared = try (0..<2).map { _ in try app.painReport("p-1", score: 6) }
            var restored = app
            let mine = try app.painReport("p-1", score: 7)
            let theirs = try restored.painReport("p-1", score: 1)
            try await backend.with(clinic.hub.store) { hub in
                try await hub.append(enrollments + shared + [mine])
                let outcome = try await hub.append([theirs])
                #expect(outcome.forks == [theirs.id])
                #expect(outcome.appended.isEmpty)
                #expect(try await hub.forkEvidence() == [theirs.id.text])
                #expect(try await hub.registry().devices[app.key.publicKey.origin]?.frozenReason?.contains("fork at originSeq 3") == true)
                #expect(try await hub.flags(of: mine.id) == [ReviewHold.forked.rawValue])
                #expect(try await hub.flags(of: shared[1].id).isEmpty)
                // Delivered again, evidence changes nothing.
                let again = try await hub.append([theirs])
                #expect(again.alreadyPresent == 1)
                #expect(again.forks.isEmpty)
                // A peer that holds the other branch is sent the origin from its start, then the evidence.
                let vector = try await hub.versionVector()
                let heads = try await hub.chainHeads(at: vector)
                #expect(heads.forkedAt[app.key.publicKey.origin.text] == 3)
                // A peer whose head of an unforked origin is another branch's is served that origin from its first
                // event (the hub compares the hash it holds there with the peer's: without it, it would send nothing).
                let root = enrollments[0].origin
                let elsewhere = try EventHash(bytes: [UInt8](repeating: 9, count: 32))
                let served = try await hub.missing(from: vector, heads: ChainHeads(hashes: [root.text: elsewhere]))
                #expect(served.filter { $0.origin == root }.map(\.id) == enrollments.filter { $0.origin == root }.map(\.id))
            }
        }
    }

    @Test("a validly signed event whose payload breaks its schema is stored, flagged invalid-payload and listed held", arguments: Backend.allCases)
    func unreadablePayloadIsHeld(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let enrollments = try clinic.enroll(app, name: "app")
            let bad = try app.seal(.painReported, patient: "p-1", body: .json(#"{"instrument":"nrs","score":11}"#))
            let next = try app.painReport("p-1", score: 2)
            try await backend.with(clinic.hub.store) { hub in
                try await hub.append(enrollments)
                let outcome = try await hub.append([bad, next])
                #expect(outcome.appended.map(\.event.id) == [bad.id, next.id])
                #expect(outcome.held.map(\.id) == [bad.id])
                #expect(outcome.held.first?.reason.kind.rawValue == "invalid-payload")
                #expect(try await hub.flags(of: bad.id) == ["invalid-payload"])
                #expect(try await hub.flags(of: next.id).isEmpty)
            }
        }
    }

    @Test("a patient's slice is served that patient's events and the administrative ones, nothing of another patient", arguments: Backend.allCases)
    func sliceServesOnePatient(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let enrollments = try clinic.enroll(app, name: "app")
            let events = try (0..<6).map { index in try app.painReport(index % 2 == 0 ? "p-1" : "p-2", score: 3) }
            try await backend.with(clinic.hub.store) { hub in
                try await hub.append(enrollments + events)
                let served = try await hub.missing(from: VersionVector(), patient: "p-1")
                #expect(served.filter { $0.patient != nil }.map(\.id) == events.filter { $0.patient == "p-1" }.map(\.id))
                #expect(served.allSatisfy { $0.patient == nil || $0.patient == "p-1" })
                #expect(served.contains { $0.type == .deviceEnrolled })
            }
        }
    }
}
