import ProloDomain
import ProloExport
import ProloStore
import ProloTestSupport
import Testing

@Suite("Retracted facts in a FHIR export")
struct RetractionExportTests {
    @Test("every resource of a retracted event is entered-in-error, or absent where R4 has no such status")
    func retractedFactsAreEnteredInErrorOrAbsent() throws {
        try TemporaryDirectory.with { directory in
            let (store, retracted) = try ExportFixture.retractionStore(in: directory)
            let bundle = try ExportFixture.bundle(of: "p-0002", from: store)
            for target in retracted.map(\.text) {
                let made = bundle.resources.filter { resource in
                    let id = resource["id"]?.stringValue ?? ""
                    return resource["resourceType"]?.stringValue != "Provenance"
                        && (id == target || id.hasPrefix(target + "-"))
                }
                #expect(!made.isEmpty || target == retracted[0].text)
                for resource in made {
                    let type = resource["resourceType"]?.stringValue ?? ""
                    #expect(type != "AdverseEvent", "a retracted AdverseEvent is left out")
                    if type == "Condition" {
                        #expect(
                            resource["verificationStatus"]?["coding"]?.arrayItems.first?["code"]?.stringValue
                                == "entered-in-error")
                        #expect(resource["clinicalStatus"] == nil)
                    } else {
                        #expect(resource["status"]?.stringValue == "entered-in-error", "\(type) of retracted \(target)")
                    }
                }
            }
            #expect(bundle.resources("AdverseEvent").isEmpty)
            #expect(
                bundle.resource("Observation", retracted[0].text + "-temperature")?["status"]?.stringValue
                    == "entered-in-error")
            // No DetectedIssue for the retracted side effect's alerts; the retraction's Provenance is a DELETE.
            #expect(
                bundle.resources("DetectedIssue").allSatisfy { issue in
                    !ExportFixture.values(of: "reference", in: issue).contains {
                        $0.stringValue?.contains(retracted[0].text) == true
                    }
                })
            let deletes = bundle.resources("Provenance").filter {
                $0["activity"]?["coding"]?.arrayItems.first?["code"]?.stringValue == "DELETE"
            }
            #expect(deletes.count == 2)
            let references = Set(ExportFixture.values(of: "reference", in: bundle.json).compactMap(\.stringValue))
            #expect(references.isSubset(of: bundle.keys))
        }
    }

    @Test("a patient the store does not hold is refused as no-such-patient")
    func unknownPatient() throws {
        try TemporaryDirectory.with { directory in
            let (store, _) = try ExportFixture.retractionStore(in: directory)
            let error = #expect(throws: FHIRExportError.self) {
                try FHIRExport.patientBundle(of: "p-9999", from: store)
            }
            #expect(error?.code == .noSuchPatient)
        }
    }
}
