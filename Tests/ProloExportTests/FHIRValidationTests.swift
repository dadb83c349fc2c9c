import Foundation
import ProloDomain
import ProloExport
import ProloStore
import ProloTestSupport
import Testing

/// Every exported resource against the R4 JSON schema and fhir.resources' R4B models (Tools/fhir-validate.py).
@Suite(
    "FHIR exports validate against the R4 schema and the fhir.resources models",
    .requires(.pythonFHIR, "FHIR exports are not validated"),
    .requires(.fhirSchema, "FHIR exports are not validated against the R4 JSON schema"))
struct FHIRValidationTests {
    static let validator = Fixtures.repositoryRoot + "/Tools/fhir-validate.py"

    /// Runs the validator on `files`; returns its output, failing the test when it finds a problem.
    static func validate(_ files: [String]) throws -> String {
        let python = try RequiredTool.pythonFHIR.require("FHIR exports are not validated")
        let result = try CommandRunner.run(python, [validator, "--schema", Fixtures.fhirSchemaPath] + files)
        #expect(result.status == 0, "\(result.stdout.suffix(4000))\(result.stderr)")
        return result.stdout
    }

    @Test("the demo story, exported by the prolo binary twice, is byte-identical and validates end to end")
    func storyEndToEnd() throws {
        try TemporaryDirectory.with { directory in
            let store = directory.file("story.sqlite")
            let story = try CommandRunner.prolo(["demo", "story", "--store", store, "--json"])
            try #require(story.status == 0, "\(story.stderr)")
            let first = directory.file("first.json")
            let second = directory.file("second.json")
            for out in [first, second] {
                let export = try CommandRunner.prolo([
                    "export", "fhir", "--patient", "p-0001", "--store", store, "--out", out,
                ])
                try #require(export.status == 0, "\(export.stderr)")
            }
            #expect(FileManager.default.contentsEqual(atPath: first, andPath: second))
            let output = try Self.validate([first])
            #expect(output.hasSuffix("70 resources, 0 problems\n"), "\(output.suffix(300))")
            let log = try EventStore.open(at: store).accessLog(patient: "p-0001")
            #expect(log.filter { $0.purpose == "export-fhir" && $0.route == "prolo export fhir" }.count == 2)
        }
    }

    /// Writes `bytes` to a file in `directory` and validates it; the validator must find no problem.
    static func validate(_ bytes: [UInt8], in directory: TemporaryDirectory) throws {
        let path = directory.file("export.json")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try validate([path]).contains(" 0 problems"))
    }

    @Test("a record with retractions and amendments validates")
    func retractionsValidate() throws {
        try TemporaryDirectory.with { directory in
            let (store, _) = try ExportFixture.retractionStore(in: directory)
            try Self.validate(try FHIRExport.patientBundle(of: "p-0002", from: store).bytes, in: directory)
        }
    }

    @Test("a bulk export of a clinic validates, file by file")
    func bulkValidates() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try BulkExportTests.clinic(in: directory)
            let out = directory.file("bulk")
            let manifest = try FHIRBulkExport.export(from: clinic.root.store, to: out)
            let output = try Self.validate(manifest.outputs.map { out + "/" + $0.url })
            #expect(output.hasSuffix("\(manifest.resources) resources, 0 problems\n"), "\(output.suffix(300))")
        }
    }

    @Test("the history export of the demo story validates")
    func historyValidates() throws {
        try TemporaryDirectory.with { directory in
            let store = try ExportFixture.storyStore(in: directory)
            try Self.validate(try FHIRHistoryExport.patientHistory(of: "p-0001", from: store).bytes, in: directory)
        }
    }

    @Test("the validator catches a wrong status, a missing required element and an impossible date")
    func validatorCatchesMistakes() throws {
        try TemporaryDirectory.with { directory in
            let (store, _) = try ExportFixture.retractionStore(in: directory)
            var text = String(decoding: try FHIRExport.patientBundle(of: "p-0002", from: store).bytes, as: UTF8.self)
            text = text.replacingOccurrences(of: "\"status\":\"amended\"", with: "\"status\":\"done\"")
            text = text.replacingOccurrences(of: "\"birthDate\":\"1971-04-12\"", with: "\"birthDate\":\"1971-02-30\"")
            text = text.replacingOccurrences(of: "\"recorded\":", with: "\"recordedAt\":")
            let path = directory.file("broken.json")
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let python = try RequiredTool.pythonFHIR.require("FHIR exports are not validated")
            let result = try CommandRunner.run(python, [Self.validator, "--schema", Fixtures.fhirSchemaPath, path])
            #expect(result.status == 1)
            #expect(result.stdout.contains("'done' is not one of"))
            #expect(result.stdout.contains("birthDate"))
            #expect(result.stdout.contains("recorded"))
        }
    }
}
