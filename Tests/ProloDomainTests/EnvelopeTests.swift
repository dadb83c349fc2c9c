import Foundation
import ProloDomain
import ProloTestSupport
import Testing

@Suite("The signed, chained envelope")
struct EnvelopeTests {
    private func sealedChain(count: Int, key: DeviceKey = Fixtures.fixedKey()) throws -> [Event] {
        var sealer = EventSealer(origin: key.publicKey.origin, lastSeq: 0, lastHash: nil, clock: HybridClock())
        return try (0..<count).map { index in
            let patient: PatientID = index % 2 == 0 ? "p-0001" : "p-0002"
            let draft = try Fixtures.painDraft(patient: patient, score: index % 11)
            let unsigned = sealer.link(try draft.compressed(), wallMilliseconds: 1_790_000_000_000) { _ in nil }
            return try unsigned.signed(with: key)
        }
    }

    @Test("a sealed event verifies against its origin's key, and only against it")
    func verifies() throws {
        let key = Fixtures.fixedKey()
        let event = try #require(try sealedChain(count: 1, key: key).first)
        try event.verify(publicKey: key.publicKey)
        #expect(event.origin == key.publicKey.origin)
        #expect(throws: EventVerificationError.self) { try event.verify(publicKey: Fixtures.fixedKey(seedByte: 9).publicKey) }
    }

    @Test("events chain by prev and by patientPrev, with gapless originSeq and increasing HLC")
    func chains() throws {
        let events = try sealedChain(count: 5)
        #expect(events.map(\.originSeq) == [1, 2, 3, 4, 5])
        #expect(events[0].prev == nil)
        for index in 1..<events.count {
            #expect(events[index].prev == events[index - 1].hash)
            #expect(events[index].hlc > events[index - 1].hlc)
        }
        #expect(events[0].patientPrev == nil && events[1].patientPrev == nil)
        #expect(events[2].patientPrev == events[0].hash)
        #expect(events[3].patientPrev == events[1].hash)
    }

    @Test("changing any signed field or a body byte breaks the hash; a forged signature fails")
    func detectsTampering() throws {
        let key = Fixtures.fixedKey()
        let event = try #require(try sealedChain(count: 1, key: key).first)
        func copy(
            occurredAt: Timestamp? = nil, patient: PatientID? = nil, type: EventType? = nil, body: [UInt8]? = nil,
            signature: [UInt8]? = nil, originSeq: Int64? = nil
        ) -> Event {
            Event(
                id: event.id, origin: event.origin, originSeq: originSeq ?? event.originSeq, prev: event.prev,
                patientPrev: event.patientPrev, hlc: event.hlc, occurredAt: occurredAt ?? event.occurredAt,
                patient: patient ?? event.patient, type: type ?? event.type, schemaVersion: event.schemaVersion,
                author: event.author, dictionary: event.dictionary, body: body ?? event.body, hash: event.hash,
                signature: signature ?? event.signature)
        }
        var flippedBody = event.body
        flippedBody[flippedBody.count / 2] ^= 1
        let tampered = [
            copy(occurredAt: Timestamp(millisecondsSinceEpoch: 0)), copy(patient: "p-9999"), copy(type: .examRecorded),
            copy(body: flippedBody), copy(originSeq: 2),
        ]
        for forged in tampered {
            #expect(!forged.hasValidHash)
            #expect(throws: EventVerificationError.self) { try forged.verify(publicKey: key.publicKey) }
        }
        var badSignature = event.signature
        badSignature[0] ^= 1
        #expect(throws: EventVerificationError.self) { try copy(signature: badSignature).verify(publicKey: key.publicKey) }
    }

    @Test("the stored body inflates to the canonical payload and decodes to the catalog type")
    func payloadRoundTrip() throws {
        let event = try #require(try sealedChain(count: 1).first)
        let payload = try #require(try event.payload() as? PainReported)
        #expect(payload.score == 0)
        #expect(payload.instrument == .nrs)
    }

    @Test("drafts refuse a patient on administrative events and require one on clinical events")
    func patientRule() {
        #expect(throws: PayloadError.self) {
            try EventDraft(
                CatalogExamples.deviceEnrolled, patient: "p-0001", occurredAt: .now(), author: Fixtures.clinician)
        }
        #expect(throws: PayloadError.self) {
            try EventDraft(CatalogExamples.painReported, patient: nil, occurredAt: .now(), author: Fixtures.clinician)
        }
    }

    @Test("key text round-trips and origin ids are derived from the key")
    func keys() throws {
        let key = Fixtures.fixedKey()
        let parsed = try DevicePublicKey(base64: key.publicKey.base64)
        #expect(parsed == key.publicKey)
        #expect(parsed.origin.text.count == 32)
        #expect(throws: IdentityError.self) { try DevicePublicKey(base64: "not-a-key") }
    }
}

@Suite("The envelope writer")
struct EnvelopeWriterTests {
    @Test("the hand-ordered canonical envelope equals the generic canonical encoder's output")
    func envelopeMatchesGenericEncoder() throws {
        let key = Fixtures.fixedKey()
        var sealer = EventSealer(origin: key.publicKey.origin, lastSeq: 0, lastHash: nil, clock: HybridClock())
        for patient in ["p-0001", "p-0001"] as [PatientID] {
            let draft = try Fixtures.painDraft(patient: patient)
            let event = try sealer.link(try draft.compressed(), wallMilliseconds: 1_790_000_000_000) { _ in nil }
                .signed(with: key)
            let generic = JSONValue.object([
                "author": .object(["id": .string(event.author.id.text), "role": .string(event.author.role.rawValue)]),
                "dict": .int(Int64(event.dictionary)), "hlc": .string(event.hlc.description), "id": .string(event.id.text),
                "occurredAt": .string(event.occurredAt.text), "origin": .string(event.origin.text),
                "originSeq": .int(event.originSeq), "patient": event.patient.map { .string($0.text) } ?? .null,
                "patientPrev": event.patientPrev.map { .string($0.hex) } ?? .null,
                "prev": event.prev.map { .string($0.hex) } ?? .null, "schemaVersion": .int(Int64(event.schemaVersion)),
                "type": .string(event.type.rawValue),
            ])
            #expect(event.canonicalEnvelope == CanonicalJSON.encode(generic))
        }
    }
}
