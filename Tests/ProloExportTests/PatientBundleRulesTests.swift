import Foundation
import ProloDomain
import ProloExport
import ProloStore
import ProloTestSupport
import Testing

/// The project's own rules for a FHIR export, which no validator here checks (MAPPING.md), on the demo story.
@Suite("A patient's FHIR Bundle keeps the project's rules")
struct PatientBundleRulesTests {
    @Test("every literal reference resolves to an entry of the Bundle, and fullUrls are unique")
    func referencesResolve() throws {
        try TemporaryDirectory.with { directory in
            let bundle = try ExportFixture.bundle(of: "p-0001", from: try ExportFixture.storyStore(in: directory))
            #expect(bundle.json["type"]?.stringValue == "collection")
            #expect(Set(bundle.fullUrls).count == bundle.fullUrls.count)
            let base = FHIRExportOptions.defaultBase + "/"
            #expect(Set(bundle.fullUrls) == Set(bundle.keys.map { base + $0 }))
            let references = ExportFixture.values(of: "reference", in: bundle.json).compactMap(\.stringValue)
            #expect(references.count > 50)
            for reference in references {
                #expect(bundle.keys.contains(reference), "\(reference) is not in the Bundle")
            }
        }
    }

    @Test("every Consent has a policyRule (ppc-1) and every coding names a system of the mapping")
    func consentsAndCodeSystems() throws {
        try TemporaryDirectory.with { directory in
            let bundle = try ExportFixture.bundle(of: "p-0001", from: try ExportFixture.storyStore(in: directory))
            let consents = bundle.resources("Consent")
            #expect(!consents.isEmpty)
            for consent in consents { #expect(consent["policyRule"]?["coding"] != nil) }
            let codings = ExportFixture.objects(with: ["system", "code"], in: bundle.json)
            #expect(codings.count > 100)
            for coding in codings {
                let system = coding["system"]?.stringValue ?? ""
                #expect(FHIRSystem.codeSystems.contains(system), "\(system) is not a code system of the mapping")
            }
        }
    }

    @Test("NRS scores are integers 0–10 and ODI scores 0–100 %")
    func scoreRanges() throws {
        try TemporaryDirectory.with { directory in
            let bundle = try ExportFixture.bundle(of: "p-0001", from: try ExportFixture.storyStore(in: directory))
            var seen = (nrs: 0, odi: 0)
            for observation in bundle.resources("Observation") {
                let codes = ExportFixture.values(of: "code", in: observation["code"] ?? .null).compactMap(\.stringValue)
                if codes.contains("72514-3") {
                    seen.nrs += 1
                    let score = try #require(observation["valueInteger"]?.integerValue)
                    #expect((0...10).contains(score))
                }
                if codes.contains("97909-6") {
                    seen.odi += 1
                    #expect(observation["valueQuantity"]?["code"]?.stringValue == "%")
                    let score = try #require(observation["valueQuantity"]?["value"]?.integerValue)
                    #expect((0...100).contains(score))
                }
            }
            #expect(seen.nrs == 2 && seen.odi == 1)
        }
    }

    @Test("one Provenance per event, whose Ed25519 signature verifies against the stored event and its Device's key")
    func signaturesVerify() throws {
        try TemporaryDirectory.with { directory in
            let store = try ExportFixture.storyStore(in: directory)
            let bundle = try ExportFixture.bundle(of: "p-0001", from: store)
            let provenances = bundle.resources("Provenance")
            // The story's 17 clinical events and the two administrative events about the patient's home tablet.
            #expect(provenances.count == 19)
            #expect(Set(provenances.compactMap { $0["id"]?.stringValue }).count == provenances.count)
            for provenance in provenances {
                let id = try EventID(checked: try #require(provenance["id"]?.stringValue))
                let stored = try #require(try store.event(id: id), "Provenance \(id) names no stored event")
                let signature = try #require(provenance["signature"]?.arrayItems.first)
                #expect(signature["type"]?.arrayItems.first?["code"]?.stringValue == "1.2.840.10065.1.12.1.14")
                let data = try #require(Data(base64Encoded: signature["data"]?.stringValue ?? ""))
                #expect(Array(data) == stored.event.signature)
                let hash = ExportFixture.objects(with: ["url", "valueString"], in: signature)
                    .first { $0["url"]?.stringValue?.hasSuffix("event-hash") == true }?["valueString"]?.stringValue
                #expect(hash == stored.event.hash.hex)
                #expect(stored.event.hasValidHash)
                // The key comes from the Bundle's Device, as a receiver without Prolo would take it.
                let who = try #require(signature["who"]?["reference"]?.stringValue)
                #expect(who == "Device/" + stored.event.origin.text)
                let device = try #require(bundle.resource("Device", String(who.dropFirst("Device/".count))))
                let keyText = try #require(
                    device["identifier"]?.arrayItems.first { $0["system"]?.stringValue == "urn:prolo:device-key" }?[
                        "value"]?
                        .stringValue)
                let key = try DevicePublicKey(base64: keyText)
                #expect(key.isValidSignature(Array(data), for: stored.event.hash.bytes))
                #expect(!key.isValidSignature(Array(data), for: Array(repeating: 0, count: 32)))
            }
        }
    }

    @Test("the same store exports byte-identical Bundles")
    func byteIdentical() throws {
        try TemporaryDirectory.with { directory in
            let store = try ExportFixture.storyStore(in: directory)
            let first = try FHIRExport.patientBundle(of: "p-0001", from: store).bytes
            let second = try FHIRExport.patientBundle(of: "p-0001", from: try EventStore.open(at: store.path)).bytes
            #expect(first == second)
            #expect(first.count > 20_000)
        }
    }

    @Test("an amended pain score is the corrected value at versionId 2, with an UPDATE Provenance")
    func amendmentIsAVersion() throws {
        try TemporaryDirectory.with { directory in
            let bundle = try ExportFixture.bundle(of: "p-0001", from: try ExportFixture.storyStore(in: directory))
            let amended = bundle.resources("Observation").filter { $0["status"]?.stringValue == "amended" }
            #expect(amended.count == 1)
            let observation = try #require(amended.first)
            #expect(observation["valueInteger"]?.integerValue == 4)
            #expect(observation["meta"]?["versionId"]?.stringValue == "2")
            let reference = "Observation/" + (observation["id"]?.stringValue ?? "")
            let updates = bundle.resources("Provenance").filter { provenance in
                provenance["activity"]?["coding"]?.arrayItems.first?["code"]?.stringValue == "UPDATE"
                    && (provenance["target"]?.arrayItems ?? []).contains { $0["reference"]?.stringValue == reference }
            }
            #expect(updates.count == 1)
        }
    }
}

extension JSONValue {
    /// The elements of an array; none otherwise.
    var arrayItems: [JSONValue] { if case .array(let items) = self { items } else { [] } }
}
