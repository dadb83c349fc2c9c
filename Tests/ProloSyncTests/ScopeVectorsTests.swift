import Foundation
import ProloDomain
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// A slice's version vector read from the indexes (issue 13, item 5: the server's summary for a home device read and
/// inflated the whole slice on every sync) against the slice itself.
@Suite("A scope's version vector from the indexes")
struct ScopeVectorsTests {
    /// The vector as the server computed it before: every event `scanMissing` serves the slice from nothing, each
    /// admitted by the scope (the definition the indexed one must keep).
    static func readFromTheSlice(_ store: EventStore, _ scope: SyncScope) throws -> VersionVector {
        guard let patient = scope.patient else { return try store.versionVector() }
        let registry = try store.registry()
        var vector = VersionVector()
        try store.scanMissing(from: VersionVector(), patient: patient) { stored throws(StoreError) in
            if scope.admits(stored.event, registry: registry) {
                vector.advance(stored.event.origin.text, to: stored.event.originSeq)
            }
            return true
        }
        return vector
    }

    @Test(
        "every patient's vector equals the one read from the slice: home devices of two patients, one revoked, another patient's enrollment last, and an event whose signature fails"
    )
    func equalsTheSlice() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let laptop = try clinic.addDevice("laptop")
            let home1 = try clinic.addDevice("home-1", role: .home, patient: "p-1")
            let spare = try clinic.addDevice("home-1b", role: .home, patient: "p-1")
            let home2 = try clinic.addDevice("home-2", role: .home, patient: "p-2")
            var random = SeededGenerator(seed: 13)
            try ClinicalDrafts.record(40, on: laptop, patients: ["p-1", "p-2", "p-3"], using: &random)
            try ClinicalDrafts.record(5, on: home1, patients: [], using: &random)
            try ClinicalDrafts.record(5, on: home2, patients: [], using: &random)
            for device in [laptop, home1, home2] { try clinic.transfer(from: device, to: clinic.root) }
            try clinic.revoke(spare)
            // p-2's enrollment after p-1's revocation: the root's last event is in p-2's slice only.
            let late = try clinic.addDevice("home-2b", role: .home, patient: "p-2")

            // A run of the laptop's whose p-1 event before the last does not verify: checked before a slice is
            // served, flagged, and never counted in p-1's vector.
            let drafts = try (0..<8).map { try Fixtures.painDraft(patient: $0 % 2 == 0 ? "p-1" : "p-2", score: $0) }
            var batch = try laptop.store.record(drafts, signedBy: laptop.key).map(\.event)
            let victim = batch[6]
            batch[6] = Event(
                id: victim.id, origin: victim.origin, originSeq: victim.originSeq, prev: victim.prev,
                patientPrev: victim.patientPrev, hlc: victim.hlc, occurredAt: victim.occurredAt, patient: victim.patient,
                type: victim.type, schemaVersion: victim.schemaVersion, author: victim.author,
                dictionary: victim.dictionary, body: victim.body, hash: victim.hash,
                signature: try DeviceKey().signature(for: victim.hash.bytes))
            let store = clinic.root.store
            #expect(try store.append(batch).appended.count == batch.count)

            let vectors = ScopeVectors(store: store)
            for patient: PatientID in ["p-1", "p-2", "p-3", "p-9"] {
                let indexed = try vectors.vector(.patient(patient))
                #expect(indexed == (try Self.readFromTheSlice(store, .patient(patient))), "patient \(patient)")
            }
            #expect(try vectors.vector(.full) == (try store.versionVector()))

            let root = store.identity.origin.text
            let p1 = try vectors.vector(.patient("p-1"))
            let p2 = try vectors.vector(.patient("p-2"))
            #expect(try store.badSignatures().map(\.id) == [victim.id.text])
            #expect(p1[laptop.store.identity.origin.text] == victim.originSeq - 2)
            #expect(p2[laptop.store.identity.origin.text] == batch[7].originSeq)
            #expect(p2[root] == (try store.versionVector())[root])
            #expect(p1[root] < p2[root])
            #expect(p1[home2.store.identity.origin.text] == 0 && p2[home1.store.identity.origin.text] == 0)
            #expect(p2[late.store.identity.origin.text] == 0)
            // Administrative events are decoded once (at most each) and kept; the patients' own events never are.
            let administrative = try store.events().filter { $0.event.patient == nil }.count
            let kept = vectors.cachedEvents
            #expect(kept > 0 && kept <= administrative)
            _ = try vectors.vector(.patient("p-1"))
            #expect(vectors.cachedEvents == kept)
        }
    }

    @Test(
        "the registry kept in memory follows every change to the devices, one made through another connection to the file too, and the slice's vector with it"
    )
    func registryFollowsChanges() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            try clinic.addDevice("home-1", role: .home, patient: "p-1")
            let store = clinic.root.store
            let vectors = ScopeVectors(store: store)
            let before = try store.registry()
            let vectorBefore = try vectors.vector(.patient("p-1"))
            #expect(try store.registry().devices == before.devices)

            // Another process's connection (`prolo device enroll` beside a running server) enrolls a device.
            let other = try EventStore.open(at: store.path)
            let key = DeviceKey()
            let payload = DeviceEnrolled(
                deviceName: "home-1b", publicKey: try PublicKeyBase64(checked: key.publicKey.base64), role: .home,
                patient: "p-1", enrolledBy: try Identifier(checked: store.identity.origin.text))
            let enrolled = try other.record(
                [try EventDraft(payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))],
                signedBy: clinic.root.key)[0]

            let after = try store.registry()
            #expect(after.devices.count == before.devices.count + 1)
            #expect(after.devices.values.contains { $0.name == "home-1b" && $0.patient == "p-1" })
            let vectorAfter = try vectors.vector(.patient("p-1"))
            #expect(vectorAfter[store.identity.origin.text] == enrolled.event.originSeq)
            #expect(vectorAfter[store.identity.origin.text] > vectorBefore[store.identity.origin.text])
        }
    }
}
