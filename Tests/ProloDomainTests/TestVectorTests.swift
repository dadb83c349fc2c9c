import Foundation
import ProloDomain
import ProloTestSupport
import Testing

/// Reproduces `Schemas/test-vectors/events.v1.json` and `events.v2.json`: canonical envelope bytes, hash, signature
/// and body. The v1 file is never rewritten: its side-effect report stays a v1 payload of schema version 1.
///
/// Set `PROLO_WRITE_TEST_VECTORS=1` to regenerate the files (only ever when the format changes on purpose).
@Suite("Published test vectors")
struct TestVectorTests {
    static let path = Fixtures.repositoryRoot + "/Schemas/test-vectors/events.v1.json"
    static let pathV2 = Fixtures.repositoryRoot + "/Schemas/test-vectors/events.v2.json"

    /// The v1 vector events: a fixed key, fixed ids and times, the story's pain report and its side-effect report as
    /// v1 recorded it (no local signs).
    static func vectorEvents() throws -> (DeviceKey, [Event]) {
        var v1Report = CatalogExamples.sideEffectReported
        v1Report.localSigns = nil
        let drafts = [
            try EventDraft(
                CatalogExamples.painReported, patient: CatalogExamples.patient,
                occurredAt: try Timestamp(checked: "2026-12-01T08:00:00Z"), author: Author(id: "p-0001", role: .patient)),
            try EventDraft(
                type: .sideEffectReported, json: try PayloadCodec.canonicalBytes(of: v1Report), schemaVersion: 1,
                patient: CatalogExamples.patient, occurredAt: try Timestamp(checked: "2026-12-02T19:30:00Z"),
                author: Author(id: "p-0001", role: .patient)),
        ]
        return try signed(drafts, ids: ["01a0d3c1-1800-7000-8000-000000000001", "01a0d8e7-6a00-7000-8000-000000000002"])
    }

    /// The v2 vector events: the story's exam and side-effect report at schema version 2.
    static func vectorEventsV2() throws -> (DeviceKey, [Event]) {
        let drafts = [
            try EventDraft(
                CatalogExamples.examRecorded, patient: CatalogExamples.patient,
                occurredAt: try Timestamp(checked: "2026-12-01T09:00:00Z"), author: Author(id: "prac-0012", role: .clinician)),
            try EventDraft(
                CatalogExamples.sideEffectReported, patient: CatalogExamples.patient,
                occurredAt: try Timestamp(checked: "2026-12-02T19:30:00Z"), author: Author(id: "p-0001", role: .patient)),
        ]
        return try signed(drafts, ids: ["01a0d3dc-0000-7000-8000-000000000003", "01a0d8e7-6a00-7000-8000-000000000004"])
    }

    static func signed(_ drafts: [EventDraft], ids: [EventID]) throws -> (DeviceKey, [Event]) {
        let key = Fixtures.fixedKey()
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

    @Test("the published vectors are reproduced byte for byte: envelope, body, hash and signature", arguments: [1, 2])
    func reproduces(version: Int) throws {
        let (key, events) = try version == 1 ? Self.vectorEvents() : Self.vectorEventsV2()
        let path = version == 1 ? Self.path : Self.pathV2
        let rendered = try Self.render(key: key, events: events)
        if ProcessInfo.processInfo.environment["PROLO_WRITE_TEST_VECTORS"] == "1" {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(CanonicalJSON.encode(rendered)).write(to: URL(fileURLWithPath: path))
        }
        let published = try JSONParser.parse(try #require(FileManager.default.contents(atPath: path)))
        #expect(events.allSatisfy { $0.unreadablePayload == nil })
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
