import Foundation
import ProloAudit
import ProloDomain
import ProloProjections
import ProloStore
import ProloTestSupport
import Testing

/// Verification at the hash-chain limit (issue 13 item 2; `SignatureRuns`, `Schemas/sync.md`): a batch is checked
/// one signature per run, and the properties that keep it honest.
@Suite("Signatures are checked per run, and the rest before a slice is served them")
struct SignatureRunsTests {
    /// A laptop's store with `count` pain reports (patients p-1 and p-2 by turns) and a clinic store that knows it.
    private func pair(in directory: TemporaryDirectory, count: Int = 8, homePatient: PatientID? = nil) throws
        -> (laptop: EventStore, target: EventStore, key: DeviceKey, events: [Event])
    {
        let (laptop, key) = try Fixtures.makeStore(in: directory, name: "laptop", deviceName: "laptop")
        let target: EventStore
        if let homePatient {
            target = try EventStore.create(
                at: directory.file("home.sqlite"), deviceName: "home",
                trust: .joining(root: DeviceKey().publicKey, homePatient: homePatient))
        } else {
            (target, _) = try Fixtures.makeStore(in: directory, name: "server", deviceName: "server")
        }
        try target.registerOrigin(key.publicKey, name: "laptop")
        let drafts = try (0..<count).map { try Fixtures.painDraft(patient: $0 % 2 == 0 ? "p-1" : "p-2", score: $0 % 11) }
        return (laptop, target, key, try laptop.record(drafts, signedBy: key).map(\.event))
    }

    /// `event` with another signature (its content, and so its hash, unchanged).
    private func resigned(_ event: Event, signature: [UInt8]) -> Event {
        Event(
            id: event.id, origin: event.origin, originSeq: event.originSeq, prev: event.prev,
            patientPrev: event.patientPrev, hlc: event.hlc, occurredAt: event.occurredAt, patient: event.patient,
            type: event.type, schemaVersion: event.schemaVersion, author: event.author, dictionary: event.dictionary,
            body: event.body, hash: event.hash, signature: signature)
    }

    @Test("runs: one origin's consecutive, hash-linked events; the anchor is each run's last (property, 300 shuffles)")
    func runsProperty() throws {
        try TemporaryDirectory.with { directory in
            let (_, _, _, events) = try pair(in: directory, count: 12)
            let (second, secondKey) = try Fixtures.makeStore(in: directory, name: "laptop-2", deviceName: "laptop-2")
            let others = try second.record(
                try (0..<5).map { try Fixtures.painDraft(patient: "p-3", score: $0) }, signedBy: secondKey
            ).map(\.event)
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<300 {
                // A random sub-batch of two origins' chains, shuffled: gaps and interleavings of every kind.
                let batch = (events + others).filter { _ in Bool.random(using: &generator) }.shuffled(using: &generator)
                let runs = SignatureRuns(batch)
                #expect(runs.runs.flatMap { $0 }.sorted() == Array(batch.indices), "every event in exactly one run")
                for run in runs.runs {
                    for (earlier, later) in zip(run, run.dropFirst()) {
                        #expect(batch[later].origin == batch[earlier].origin)
                        #expect(batch[later].originSeq == batch[earlier].originSeq + 1)
                        #expect(batch[later].prev == batch[earlier].hash, "each link is a hash the next one covers")
                    }
                }
                // Maximal: a run's last event is not followed, in the batch, by the next event of its chain.
                for run in runs.runs {
                    let last = batch[run.last!]
                    #expect(!batch.contains { $0.origin == last.origin && $0.originSeq == last.originSeq + 1 })
                }
                #expect(Set(runs.anchors).isDisjoint(with: runs.unchecked))
                #expect(runs.anchors.count == runs.runs.count)
            }
        }
    }

    @Test("a batch of one run is stored with one signature checked: the others are listed as unchecked")
    func oneSignaturePerRun() throws {
        try TemporaryDirectory.with { directory in
            let (_, target, _, events) = try pair(in: directory)
            let outcome = try target.append(events)
            #expect(outcome.appended.count == events.count)
            #expect(try target.uncheckedSignatureCount() == events.count - 1)
            // Checking them settles the list and flags nothing: every signature was good.
            #expect(try target.checkUncheckedSignatures(about: nil).isEmpty)
            #expect(try target.uncheckedSignatureCount() == 0)
        }
    }

    @Test("a tampered event anywhere in a run, its hash recomputed, still refuses the batch and names it", arguments: [0, 3, 6])
    func tamperedInsideARun(position: Int) throws {
        try TemporaryDirectory.with { directory in
            let (_, target, _, events) = try pair(in: directory)
            var batch = events
            let victim = batch[position]
            var body = victim.body
            body[body.count - 2] ^= 0x01
            let hash = Event.computeHash(envelope: victim.canonicalEnvelope, body: body)
            batch[position] = Event(
                id: victim.id, origin: victim.origin, originSeq: victim.originSeq, prev: victim.prev,
                patientPrev: victim.patientPrev, hlc: victim.hlc, occurredAt: victim.occurredAt, patient: victim.patient,
                type: victim.type, schemaVersion: victim.schemaVersion, author: victim.author,
                dictionary: victim.dictionary, body: body, hash: hash, signature: victim.signature)
            #expect(batch[position].hasValidHash, "the tampering is consistent: only a signature can tell")
            #expect {
                try target.append(batch)
            } throws: { error in
                (error as? StoreError)?.code == .invalidInput && (error as? StoreError)?.message.contains(victim.id.text) == true
            }
            #expect(try target.count() == 0, "nothing of the batch was stored")
            #expect(try target.append(events).appended.count == events.count, "the genuine batch then goes in")
        }
    }

    @Test(
        "an authentic event with a bad signature inside a run: stored unchecked, then flagged bad-signature, an alert, never served to a slice, and named by audit verify")
    func badSignatureInsideARun() throws {
        try TemporaryDirectory.with { directory in
            // An enrolled laptop and the clinic's root, so that audit verify has nothing else to say.
            let clinic = try ClinicFixture(in: directory)
            let laptop = try clinic.addDevice("laptop")
            let drafts = try (0..<8).map { try Fixtures.painDraft(patient: $0 % 2 == 0 ? "p-1" : "p-2", score: $0) }
            let events = try laptop.store.record(drafts, signedBy: laptop.key).map(\.event)
            let target = clinic.root.store
            var batch = events
            let victim = batch[2]  // p-1's, inside the run: the run's last signature vouches for its content
            batch[2] = resigned(victim, signature: try DeviceKey().signature(for: victim.hash.bytes))
            #expect(try target.append(batch).appended.count == events.count)
            #expect(try target.uncheckedSignatureCount() == events.count - 1)

            // Serving p-1's slice checks first: the bad one is flagged and left out; p-1's others are served.
            var served: [EventID] = []
            try target.scanMissing(from: VersionVector(), patient: "p-1") { stored throws(StoreError) in
                served.append(stored.event.id)
                return true
            }
            let p1 = events.filter { $0.patient == "p-1" }.map(\.id)
            #expect(!served.contains(victim.id))
            #expect(Set(p1).subtracting([victim.id]).isSubset(of: Set(served)))
            #expect(try target.badSignatures().map(\.id) == [victim.id.text])
            // p-2's events were not checked for p-1's slice; they are checked when p-2's slice is served.
            #expect(try target.uncheckedSignatureCount() == events.filter { $0.patient == "p-2" }.count - 1)
            try target.scanMissing(from: VersionVector(), patient: "p-2") { _ throws(StoreError) in true }
            #expect(try target.uncheckedSignatureCount() == 0)

            // A clinic peer (no slice) is sent the event as it is: its content is authentic history.
            var all: [EventID] = []
            try target.scanMissing(from: VersionVector()) { stored throws(StoreError) in
                all.append(stored.event.id)
                return true
            }
            #expect(all.contains(victim.id))

            // An integrity alert of its origin, as severe as a fork.
            let alert = try #require(try clinic.root.projected.openAlerts().first { $0.kind == EventStore.badSignatureFlag })
            #expect(alert.raisedBy == [victim.id.text] && alert.patient == "p-1" && !alert.isReviewFlag)
            #expect(alert.severity == TreatmentState.severity(of: AlertKind.forkDetected.rawValue))

            // audit verify still checks every signature, and names the event.
            let report = try ChainVerifier.verify(target)
            #expect(report.firstProblem?.kind == .badSignature)
            #expect(report.firstProblem?.eventID == victim.id.text)
        }
    }

    @Test("a home store checks every event's own signature: a bad one inside a run refuses the batch")
    func homeStoreChecksEach() throws {
        try TemporaryDirectory.with { directory in
            let (_, home, _, events) = try pair(in: directory, homePatient: "p-1")
            var slice = events.filter { $0.patient == "p-1" }
            let victim = slice[1]
            slice[1] = resigned(victim, signature: try DeviceKey().signature(for: victim.hash.bytes))
            #expect {
                try home.append(slice)
            } throws: { ($0 as? StoreError)?.message.contains(victim.id.text) == true }
            #expect(try home.uncheckedSignatureCount() == 0)
        }
    }
}
