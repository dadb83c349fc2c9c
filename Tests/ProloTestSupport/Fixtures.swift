import Foundation
import ProloDomain
import ProloStore

/// Ready-made stores, keys and drafts for tests.
public enum Fixtures {
    /// A clinician author.
    public static let clinician = Author(id: "dr-lee", role: .clinician)

    /// A fixed device key (seed 0x01…0x20), for reproducible signatures.
    public static func fixedKey(seedByte: UInt8 = 1) -> DeviceKey {
        try! DeviceKey(seed: (0..<32).map { seedByte &+ UInt8($0) })
    }

    /// A new store in `directory` with a fresh key; returns the store and its key.
    public static func makeStore(in directory: TemporaryDirectory, name: String = "store", deviceName: String = "laptop-1")
        throws -> (EventStore, DeviceKey)
    {
        let key = DeviceKey()
        let store = try EventStore.create(at: directory.file("\(name).sqlite"), deviceName: deviceName, key: key)
        return (store, key)
    }

    /// A draft of every catalog example for `patient` (administrative examples get no patient).
    public static func storyDrafts(patient: PatientID = "p-0001", start: Int64 = 1_790_000_000_000) throws -> [EventDraft] {
        try CatalogExamples.all.enumerated().map { offset, payload in
            try draft(payload, patient: patient, at: start + Int64(offset) * 86_400_000)
        }
    }

    /// A draft of one payload at a given time (ms since epoch).
    public static func draft(_ payload: any EventPayload, patient: PatientID, at milliseconds: Int64) throws -> EventDraft {
        try makeDraft(payload, patient: patient, at: milliseconds)
    }

    private static func makeDraft<Payload: EventPayload>(_ payload: Payload, patient: PatientID, at milliseconds: Int64)
        throws -> EventDraft
    {
        try EventDraft(
            payload, patient: Payload.eventType.isAdministrative ? nil : patient,
            occurredAt: Timestamp(millisecondsSinceEpoch: milliseconds), author: clinician)
    }

    /// A pain report draft with a given NRS score.
    public static func painDraft(patient: PatientID = "p-0001", score: Int = 5, at milliseconds: Int64 = 1_790_000_000_000)
        throws -> EventDraft
    {
        try EventDraft(
            PainReported(instrument: .nrs, score: score, reporter: Reporter(role: .patient, id: patient)),
            patient: patient, occurredAt: Timestamp(millisecondsSinceEpoch: milliseconds), author: clinician)
    }

    /// The FHIR R4 JSON Schema, gzipped in the repository (`Schemas/fhir/r4/`, see its README).
    public static var fhirSchemaPath: String {
        (repositoryRoot as NSString).appendingPathComponent("Schemas/fhir/r4/fhir.schema.json.gz")
    }

    /// The repository root (for reading Schemas/ and Tools/), found from this file's path.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
}
