import Foundation
import ProloDomain
import ProloExport
import ProloStore
import ProloTestSupport
import Testing

/// The audit export: a history Bundle of every version, with each event's signed bytes.
@Suite("The FHIR history export")
struct HistoryExportTests {
    static func history(of patient: PatientID, from store: EventStore) throws -> ExportFixture.Bundle {
        ExportFixture.Bundle(bytes: try FHIRHistoryExport.patientHistory(of: patient, from: store).bytes)
    }

    @Test("every version is an entry; each resource's last version is what the collection export holds")
    func lastVersionsAreTheRecord() throws {
        try TemporaryDirectory.with { directory in
            let store = try ExportFixture.storyStore(in: directory)
            let history = try Self.history(of: "p-0001", from: store)
            let record = try ExportFixture.bundle(of: "p-0001", from: store)
            #expect(history.json["type"]?.stringValue == "history")
            var last: [String: JSONValue] = [:]
            for entry in history.entries {
                let request = try #require(entry["request"])
                #expect(entry["response"]?["status"] != nil)
                let key = try #require(request["url"]?.stringValue)
                if request["method"]?.stringValue == "DELETE" { last[key] = nil } else { last[key] = entry["resource"] }
            }
            let binaries = last.keys.filter { $0.hasPrefix("Binary/") }
            #expect(binaries.count == 19)
            for key in binaries { last[key] = nil }
            #expect(Set(last.keys) == record.keys)
            for resource in record.resources {
                let key = "\(resource["resourceType"]?.stringValue ?? "")/\(resource["id"]?.stringValue ?? "")"
                #expect(last[key] == resource, "\(key): the history's last version differs from the record")
            }
            // The amended pain score has two versions: the original 5 and the correction 4.
            let amended = try #require(record.resources("Observation").first { $0["status"]?.stringValue == "amended" })
            let versions = history.entries.compactMap(\.["resource"]).filter {
                $0["id"] == amended["id"] && $0["resourceType"] == amended["resourceType"]
            }
            #expect(versions.map { $0["valueInteger"]?.integerValue } == [5, 4])
            #expect(versions.map { $0["meta"]?["versionId"]?.stringValue } == ["1", "2"])
        }
    }

    @Test("a retracted AdverseEvent is deleted in the history, and the retracted exam gets an entered-in-error version")
    func retractionsInTheHistory() throws {
        try TemporaryDirectory.with { directory in
            let (store, retracted) = try ExportFixture.retractionStore(in: directory)
            let history = try Self.history(of: "p-0002", from: store)
            // The AdverseEvent has no entered-in-error: it is deleted, and so are the alerts it raised (the fold
            // drops them with it).
            let deletes = history.entries.compactMap(\.["request"]).filter { $0["method"]?.stringValue == "DELETE" }
            let urls = deletes.compactMap { $0["url"]?.stringValue }
            #expect(urls.first == "AdverseEvent/" + retracted[0].text)
            #expect(
                urls.dropFirst().allSatisfy {
                    $0.hasPrefix("DetectedIssue/\(retracted[0])-") || $0.hasPrefix("Flag/\(retracted[0])-")
                })
            #expect(urls.count == 5)
            let encounters = history.entries.compactMap(\.["resource"]).filter {
                $0["resourceType"]?.stringValue == "Encounter" && $0["id"]?.stringValue == retracted[1].text
            }
            #expect(encounters.map { $0["status"]?.stringValue } == ["finished", "entered-in-error"])
        }
    }

    @Test(
        "Tools/verify-fhir-signatures.py checks every signature without Prolo, and finds a changed byte",
        .requires(.pythonCryptography, "the history export's signatures are not checked without Prolo"))
    func signaturesVerifyWithoutProlo() throws {
        try TemporaryDirectory.with { directory in
            let store = try ExportFixture.storyStore(in: directory)
            let path = directory.file("history.json")
            let history = try FHIRHistoryExport.patientHistory(of: "p-0001", from: store).bytes
            try Data(history).write(to: URL(fileURLWithPath: path))
            let python = try RequiredTool.pythonCryptography.require("the history export's signatures are not checked")
            let script = Fixtures.repositoryRoot + "/Tools/verify-fhir-signatures.py"
            let dictionary = Fixtures.repositoryRoot + "/Schemas/dictionaries/v1.dict"
            let result = try CommandRunner.run(python, [script, path, "--dictionary", dictionary])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.hasSuffix("19 events, 0 problems\n"), "\(result.stdout)")

            // One event's body, changed inside its Binary: its hash no longer holds.
            var bundle = try JSONParser.parse(history)
            guard case .object(var members) = bundle, case .array(var entries)? = members["entry"],
                case .object(var entry) = entries[0], case .object(var binary)? = entry["resource"],
                let data = binary["data"]?.stringValue, var bytes = Data(base64Encoded: data)
            else {
                Issue.record("no Binary first")
                return
            }
            bytes[bytes.count - 120] ^= 0x01
            binary["data"] = .string(bytes.base64EncodedString())
            entry["resource"] = .object(binary)
            entries[0] = .object(entry)
            members["entry"] = .array(entries)
            bundle = .object(members)
            try Data(CanonicalJSON.encode(bundle)).write(to: URL(fileURLWithPath: path))
            let tampered = try CommandRunner.run(python, [script, path, "--dictionary", dictionary])
            #expect(tampered.status == 1)
            #expect(tampered.stdout.contains("hash != SHA-256"), "\(tampered.stdout)")
        }
    }
}
