import Foundation
import ProloDomain
import ProloExport
import ProloStore
import ProloTestSupport
import Testing

/// FHIR Bulk Data export of a whole clinic (`prolo export fhir --all --bulk DIR`).
@Suite("Bulk export of the clinic")
struct BulkExportTests {
    /// A clinic server holding several patients' events from a laptop, the root and a home device.
    static func clinic(in directory: TemporaryDirectory) throws -> ClinicFixture {
        var random = SeededGenerator(seed: 16)
        let clinic = try ClinicFixture(in: directory)
        let laptop = try clinic.addDevice("laptop", role: .clinic)
        let home = try clinic.addDevice("home-1", role: .home, patient: "p-1")
        try clinic.addDevice("home-2", role: .home, patient: "p-2")
        for patient in ["p-1", "p-2", "p-3"] as [PatientID] {
            try clinic.root.store.record(
                [try Fixtures.draft(CatalogExamples.patientRegistered, patient: patient, at: 1_789_000_000_000)],
                signedBy: clinic.root.key)
        }
        try ClinicalDrafts.record(30, on: clinic.root, patients: ["p-1", "p-2", "p-3"], using: &random)
        try ClinicalDrafts.record(30, on: laptop, patients: ["p-1", "p-2", "p-4"], using: &random)
        try ClinicalDrafts.record(8, on: home, patients: [], using: &random)
        try clinic.transfer(from: laptop, to: clinic.root)
        try clinic.transfer(from: home, to: clinic.root)
        return clinic
    }

    /// Every resource of every ndjson file in `directory`, by file.
    static func read(_ directory: String) throws -> [String: [JSONValue]] {
        var files: [String: [JSONValue]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".ndjson") {
            let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
            files[name] = try text.split(separator: "\n").map { try JSONParser.parse(Array($0.utf8)) }
        }
        return files
    }

    @Test("one file per type, counted in the manifest; every event has one Provenance; references resolve across files")
    func wholeClinic() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try Self.clinic(in: directory)
            let store = clinic.root.store
            let out = directory.file("bulk")
            let manifest = try FHIRBulkExport.export(from: store, to: out)
            #expect(manifest.patients == 4)
            let files = try Self.read(out)
            let written = try JSONParser.parse(
                Array(try Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json"))))
            let outputs = written["output"]?.arrayItems ?? []
            #expect(outputs.count == files.count)
            for output in outputs {
                let url = try #require(output["url"]?.stringValue)
                #expect(files[url]?.count == output["count"]?.integerValue.map(Int.init))
                #expect(files[url]?.allSatisfy { $0["resourceType"] == output["type"] } == true)
            }
            let latest = try store.events().map(\.receivedAt).max()
            #expect(written["transactionTime"]?.stringValue == latest?.text)

            let resources = files.values.flatMap { $0 }
            let keys = resources.compactMap { resource -> String? in
                guard let type = resource["resourceType"]?.stringValue, let id = resource["id"]?.stringValue else {
                    return nil
                }
                return type + "/" + id
            }
            #expect(Set(keys).count == keys.count, "a resource is written twice")
            let references = ExportFixture.values(of: "reference", in: .array(resources)).compactMap(\.stringValue)
            #expect(
                Set(references).isSubset(of: Set(keys)), "\(Set(references).subtracting(Set(keys)).sorted().prefix(5))")

            // One Provenance per clinical event, and per enrollment of a patient's home device; none for the clinic's
            // own devices' enrollments, which are about no patient.
            let homeEnrollments = try store.events(EventFilter(type: .deviceEnrolled)).filter {
                ((try? $0.event.payload()) as? DeviceEnrolled)?.patient != nil
            }
            let expected = Set(try store.events().filter { $0.event.patient != nil }.map(\.event.id.text))
                .union(homeEnrollments.map(\.event.id.text))
            let provenances = Set((files["Provenance.ndjson"] ?? []).compactMap { $0["id"]?.stringValue })
            #expect(provenances == expected)
            #expect(files["Device.ndjson"]?.count == 4)
            #expect(try store.accessLog().filter { $0.purpose == "export-fhir-bulk" }.isEmpty)
        }
    }

    @Test("--since writes only the patients with events received after it, whole; a non-empty directory is refused")
    func incremental() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try Self.clinic(in: directory)
            let store = clinic.root.store
            let first = try FHIRBulkExport.export(from: store, to: directory.file("first"))
            let since = try Timestamp(checked: first.transactionTime)
            Thread.sleep(forTimeInterval: 0.01)
            let added = try store.record([try Fixtures.painDraft(patient: "p-3", score: 2)], signedBy: clinic.root.key)[
                0]
            let reader = AccessRecord(method: "CLI", route: "prolo export fhir --all", status: 0, outcome: "ok")
            let second = try FHIRBulkExport.export(
                from: store, to: directory.file("second"), since: since, reader: reader)
            #expect(second.patients == 1)
            #expect(second.transactionTime == added.receivedAt.text)
            let files = try Self.read(directory.file("second"))
            let provenances = Set((files["Provenance.ndjson"] ?? []).compactMap { $0["id"]?.stringValue })
            #expect(provenances == Set(try store.events(EventFilter(patient: "p-3")).map(\.event.id.text)))
            #expect(try store.accessLog().filter { $0.purpose == "export-fhir-bulk" }.map(\.patient) == ["p-3"])
            let error = #expect(throws: FHIRExportError.self) {
                try FHIRBulkExport.export(from: store, to: directory.file("second"))
            }
            #expect(error?.code == .output)
        }
    }

    @Test(
        "types writes only those types, each file the same as in the whole export; a cancelled export stops with cancelled"
    )
    func typesAndCancellation() throws {
        try TemporaryDirectory.with { directory in
            let store = try Self.clinic(in: directory).root.store
            _ = try FHIRBulkExport.export(from: store, to: directory.file("whole"))
            let whole = try Self.read(directory.file("whole"))
            let typed = try FHIRBulkExport.export(
                from: store, to: directory.file("typed"), types: ["Patient", "Provenance"])
            #expect(typed.outputs.map(\.type) == ["Patient", "Provenance"] && typed.patients == 4)
            let files = try Self.read(directory.file("typed"))
            #expect(files == whole.filter { ["Patient.ndjson", "Provenance.ndjson"].contains($0.key) })
            let types = Set(whole.keys.map { String($0.dropLast(".ndjson".count)) })
            #expect(types.isSubset(of: FHIRBulkExport.resourceTypes))

            var asked = 0
            #expect {
                try FHIRBulkExport.export(
                    from: store, to: directory.file("cancelled"),
                    isCancelled: {
                        asked += 1
                        return asked > 2
                    })
            } throws: { ($0 as? FHIRExportError)?.code == .cancelled }
        }
    }
}
