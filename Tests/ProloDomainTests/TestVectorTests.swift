import Foundation
import ProloDomain
import ProloTestSupport
import Testing

/// Reproduces `Schemas/test-vectors/events.v1.json`: canonical envelope bytes, hash, signature and body.
///
/// Set `PROLO_WRITE_TEST_VECTORS=1` to regenerate the file (only ever when the format changes on purpose).
@Suite("Published test vectors")
struct TestVectorTests {
    static let path = Fixtures.repositoryRoot + "/Schemas/test-vectors/events.v1.json"

    /// The vector events: a fixed key, fixed ids and times, the story's pain report and side-effect report.
    static func vectorEvents() throws -> (DeviceKey, [Event]) {
        let key = Fixtures.fixedKey()
        let drafts = [
            try EventDraft(
                CatalogExamples.painReported, patient: CatalogExamples.patient,
                occurredAt: try Timestamp(checked: "2026-12-01T08:00:00Z"), author: Author(id: "p-0001", role: .patient)),
            try EventDraft(
                CatalogExamples.sideEffectReported, patient: CatalogExamples.patient,
                occurredAt: try Timestamp(checked: "2026-12-02T19:30:00Z"), author: Author(id: "p-0001", role: .patient)),
        ]
        let ids: [EventID] = ["01a0d3c1-1800-7000-8000-000000000001", "01a0d8e7-6a00-7000-8000-000000000002"]
        var previous: EventHash?
        var events: [Event] = []
        for (index, draft) in drafts.enumerated() {
            let compressed = try draft.compressed(with: .current)
            let hlc = HLC(wallMilliseconds: draft.occurredAt.millisecondsSinceEpoch + 60_000, counter: 0)
            let envelopeFields = (
                id: ids[index], origin: key.publicKey.origin, originSeq: Int64(index + 1), prev: previous,
                patientPrev: previous
            )
            let unsignedEnvelope = Event(
                id: envelopeFields.id, origin: envelopeFields.origin, originSeq: envelopeFields.originSeq,
                prev: envelopeFields.prev, patientPrev: envelopeFields.patientPrev, hlc: hlc,
                occurredAt: draft.occurredAt, patient: draft.patient, type: draft.type,
                schemaVersion: draft.schemaVersion, author: draft.author, dictionary: compressed.dictionary,
                body: compressed.body, hash: try EventHash(bytes: [UInt8](repeating: 0, count: 32)), signature: [])
            let hash = Event.computeHash(envelope: unsignedEnvelope.canonicalEnvelope, body: compressed.body)
            let signature = try key.signature(for: hash.bytes)
            events.append(
                Event(
                    id: unsignedEnvelope.id, origin: unsignedEnvelope.origin, originSeq: unsignedEnvelope.originSeq,
                    prev: unsignedEnvelope.prev, patientPrev: unsignedEnvelope.patientPrev, hlc: hlc,
                    occurredAt: draft.occurredAt, patient: draft.patient, type: draft.type,
                    schemaVersion: draft.schemaVersion, author: draft.author, dictionary: compressed.dictionary,
                    body: compressed.body, hash: hash, signature: signature))
            previous = hash
        }
        return (key, events)
    }

    static func render(key: DeviceKey, events: [Event]) throws -> JSONValue {
        .object([
            "description": .string(
                "Prolo event envelope v1 test vectors. hash = SHA-256(canonicalEnvelope || 0x0A || body); "
                    + "sig = Ed25519(hash) with the key whose 32-byte seed is given. See Schemas/envelope.md."),
            "seedHex": .string(Hex.encode(key.seed)),
            "publicKey": .string(key.publicKey.base64),
            "origin": .string(key.publicKey.origin.text),
            "dictionaryFile": .string("Schemas/dictionaries/v1.dict"),
            "events": .array(
                try events.map { event in
                    .object([
                        "canonicalPayload": .string(String(decoding: try event.payloadBytes(), as: UTF8.self)),
                        "canonicalEnvelope": .string(String(decoding: event.canonicalEnvelope, as: UTF8.self)),
                        "bodyBase64": .string(Data(event.body).base64EncodedString()),
                        "hash": .string(event.hash.hex),
                        "sigBase64": .string(Data(event.signature).base64EncodedString()),
                    ])
                }),
        ])
    }

    @Test("the published vectors are reproduced byte for byte: envelope, body, hash and signature")
    func reproduces() throws {
        let (key, events) = try Self.vectorEvents()
        let rendered = try Self.render(key: key, events: events)
        if ProcessInfo.processInfo.environment["PROLO_WRITE_TEST_VECTORS"] == "1" {
            try FileManager.default.createDirectory(
                atPath: (Self.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(CanonicalJSON.encode(rendered)).write(to: URL(fileURLWithPath: Self.path))
        }
        let published = try JSONParser.parse(try #require(FileManager.default.contents(atPath: Self.path)))
        #expect(published == rendered)
        for event in events {
            try event.verify(publicKey: key.publicKey)
        }
    }

    @Test(
        "the vectors verify independently in Python (hashlib, zlib with the dictionary, Ed25519 from cryptography)",
        .requires(.pythonCryptography, "the test vectors are not verified by a second implementation"))
    func verifiesInPython() throws {
        let python = try #require(RequiredTool.pythonCryptography.path)
        let result = try CommandRunner.run(python, [Fixtures.repositoryRoot + "/Tools/check-test-vectors.py"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
}
