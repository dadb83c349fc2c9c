import Foundation
import ProloDomain
import ProloExport
import ProloStore
import ProloTestSupport
import Testing

/// Stores to export and ways to read what the export wrote.
enum ExportFixture {
    /// The demo story (`prolo demo story`: patient p-0001's course with a correction, a retraction, a cleared alert
    /// and a closed course) recorded in a new store by the built `prolo` binary.
    static func storyStore(in directory: TemporaryDirectory) throws -> EventStore {
        let path = directory.file("story.sqlite")
        let result = try CommandRunner.prolo(["demo", "story", "--store", path, "--json"])
        try #require(result.status == 0, "prolo demo story: \(result.stderr)")
        return try EventStore.open(at: path)
    }

    /// A store whose patient p-0002 had a side effect and an exam retracted, and an amended pain score.
    static func retractionStore(in directory: TemporaryDirectory) throws -> (EventStore, retracted: [EventID]) {
        let (store, key) = try Fixtures.makeStore(in: directory, name: "retractions")
        let patient: PatientID = "p-0002"
        @discardableResult
        func record<Payload: EventPayload>(_ payload: Payload, at time: String) throws -> EventID {
            let draft = try EventDraft(
                payload, patient: patient, occurredAt: try Timestamp(checked: time), author: Fixtures.clinician)
            return try store.record([draft], signedBy: key)[0].event.id
        }
        try record(CatalogExamples.patientRegistered, at: "2026-09-01T08:00:00Z")
        try record(CatalogExamples.consentRecorded, at: "2026-09-01T08:10:00Z")
        let exam = try record(CatalogExamples.examRecorded, at: "2026-09-01T08:20:00Z")
        let injection = try record(CatalogExamples.injectionAdministered, at: "2026-09-01T09:00:00Z")
        var report = CatalogExamples.sideEffectReported
        report.relatedInjection = injection
        let sideEffect = try record(report, at: "2026-09-02T20:00:00Z")
        let pain = try record(CatalogExamples.painReported, at: "2026-09-03T20:00:00Z")
        var amendment = CatalogExamples.eventAmended
        amendment.target = pain
        try record(amendment, at: "2026-09-04T08:00:00Z")
        for target in [sideEffect, exam] {
            try record(
                EventRetracted(target: target, reason: .enteredInError, retractedBy: CatalogExamples.clinician),
                at: "2026-09-05T08:00:00Z")
        }
        return (store, [sideEffect, exam])
    }

    /// The Bundle of `patient`, parsed.
    static func bundle(of patient: PatientID, from store: EventStore) throws -> Bundle {
        Bundle(bytes: try FHIRExport.patientBundle(of: patient, from: store).bytes)
    }

    /// An exported Bundle and ways to look into it.
    struct Bundle {
        let bytes: [UInt8]
        let json: JSONValue

        init(bytes: [UInt8]) {
            self.bytes = bytes
            self.json = (try? JSONParser.parse(bytes)) ?? .null
        }

        var entries: [JSONValue] { if case .array(let items)? = json["entry"] { items } else { [] } }
        var resources: [JSONValue] { entries.compactMap { $0["resource"] } }
        var fullUrls: [String] { entries.compactMap { $0["fullUrl"]?.stringValue } }

        func resources(_ type: String) -> [JSONValue] { resources.filter { $0["resourceType"]?.stringValue == type } }

        func resource(_ type: String, _ id: String) -> JSONValue? {
            resources.first { $0["resourceType"]?.stringValue == type && $0["id"]?.stringValue == id }
        }

        /// Every `Type/id` the Bundle holds.
        var keys: Set<String> {
            Set(
                resources.compactMap { resource in
                    guard let type = resource["resourceType"]?.stringValue, let id = resource["id"]?.stringValue else {
                        return nil
                    }
                    return type + "/" + id
                })
        }
    }

    /// Every value of member `key`, anywhere in `value`.
    static func values(of key: String, in value: JSONValue) -> [JSONValue] {
        switch value {
        case .object(let members):
            return (members[key].map { [$0] } ?? []) + members.values.flatMap { values(of: key, in: $0) }
        case .array(let items): return items.flatMap { values(of: key, in: $0) }
        default: return []
        }
    }

    /// Every object in `value` that has all of `keys` (Codings have `system` and `code`).
    static func objects(with keys: [String], in value: JSONValue) -> [[String: JSONValue]] {
        switch value {
        case .object(let members):
            let here = keys.allSatisfy { members[$0] != nil } ? [members] : []
            return here + members.values.flatMap { objects(with: keys, in: $0) }
        case .array(let items): return items.flatMap { objects(with: keys, in: $0) }
        default: return []
        }
    }
}
