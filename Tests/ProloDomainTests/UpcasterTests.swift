import ProloDomain
import ProloTestSupport
import Testing

/// New schema versions with upcasters (issue 15 item 4): exam.recorded v2, side-effect.reported v2 and alert.cleared
/// v2 are read by this build; their v1 events are never rewritten, and are mapped onto v2 on every read.
@Suite("Schema versions and upcasters")
struct UpcasterTests {
    static func v1Exam() throws -> JSONValue {
        var exam = CatalogExamples.examRecorded
        exam.bodyWeightKg = nil
        exam.anticoagulantOrAntiplatelet = nil
        exam.bleedingDisorder = nil
        exam.allergies = nil
        return try PayloadCodec.encodeValue(exam)
    }

    @Test("exam.recorded, side-effect.reported and alert.cleared are at v2 and read v1 and v2; pain.reported stays v1")
    func versions() {
        #expect(EventType.examRecorded.readableSchemaVersions == 1...2)
        #expect(EventType.sideEffectReported.readableSchemaVersions == 1...2)
        #expect(EventType.alertCleared.readableSchemaVersions == 1...2)
        #expect(EventType.painReported.readableSchemaVersions == 1...1)
    }

    @Test("a v1 exam upcasts to v2 with the new facts absent (not recorded), and decodes at schema version 1")
    func examV1() throws {
        let v1 = try Self.v1Exam()
        #expect(try EventType.examRecorded.upcast(v1, from: 1) == v1)
        let decoded = try #require(
            try EventType.examRecorded.decodePayload(from: CanonicalJSON.encode(v1), schemaVersion: 1) as? ExamRecorded)
        #expect(decoded.bodyWeightKg == nil && decoded.allergies == nil && decoded.anticoagulantOrAntiplatelet == nil)
    }

    @Test("a payload marked v1 that carries a v2 field is refused, naming the field; at v2 it is read")
    func v2FieldsRefusedInV1() throws {
        let v2Exam = try PayloadCodec.canonicalBytes(of: CatalogExamples.examRecorded)
        #expect(throws: PayloadError.self) { try EventType.examRecorded.decodePayload(from: v2Exam, schemaVersion: 1) }
        do {
            _ = try EventType.examRecorded.decodePayload(from: v2Exam, schemaVersion: 1)
        } catch {
            #expect(error.path == "$.bodyWeightKg")
        }
        let read = try #require(
            try EventType.examRecorded.decodePayload(from: v2Exam, schemaVersion: 2) as? ExamRecorded)
        #expect(read.bodyWeightKg?.value == 68)

        let v2Report = try PayloadCodec.canonicalBytes(of: CatalogExamples.sideEffectReported)
        do {
            _ = try EventType.sideEffectReported.decodePayload(from: v2Report, schemaVersion: 1)
            Issue.record("localSigns was accepted at v1")
        } catch {
            #expect(error.path == "$.localSigns")
        }
        var chest = CatalogExamples.sideEffectReported
        chest.localSigns = nil
        chest.kinds = [.breathlessness, .chestPain]
        do {
            _ = try EventType.sideEffectReported.decodePayload(
                from: PayloadCodec.canonicalBytes(of: chest), schemaVersion: 1)
            Issue.record("chest-pain was accepted at v1")
        } catch {
            #expect(error.path == "$.kinds[1]")
        }
        let clearance = AlertCleared(
            alertKind: .examRedFlag, raisedBy: [CatalogExamples.injectionEventID], clinician: "prac-0012",
            reason: "Seen.")
        do {
            _ = try EventType.alertCleared.decodePayload(
                from: PayloadCodec.canonicalBytes(of: clearance), schemaVersion: 1)
            Issue.record("exam-red-flag was accepted by alert.cleared v1")
        } catch {
            #expect(error.path == "$.alertKind")
        }
    }

    @Test("a draft of schema version 1 keeps its v1 bytes and version; the event is readable, not held")
    func v1DraftIsStoredAsGiven() throws {
        let v1 = CanonicalJSON.encode(try Self.v1Exam())
        let draft = try EventDraft(
            type: .examRecorded, json: v1, schemaVersion: 1, patient: CatalogExamples.patient,
            occurredAt: try Timestamp(checked: "2026-09-07T09:30:00Z"),
            author: Author(id: "prac-0012", role: .clinician))
        #expect(draft.schemaVersion == 1)
        #expect(draft.payloadBytes == v1)
    }

    @Test(
        "schema version 3 is not known to this build: decoding names the version (a receiving store holds it as unknown-schema-version)"
    )
    func v3Unknown() throws {
        let bytes = try PayloadCodec.canonicalBytes(of: CatalogExamples.examRecorded)
        do {
            _ = try EventType.examRecorded.decodePayload(from: bytes, schemaVersion: 3)
            Issue.record("v3 was read")
        } catch {
            #expect(error.path == "schemaVersion")
        }
    }
}
