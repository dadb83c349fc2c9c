import Foundation
import ProloDomain
import ProloExport
import ProloServer
import ProloStore
import ProloTestSupport
import Testing

/// `GET /v1/fhir/Patient/{patient}/$everything` over a real server on loopback: the patient's right of access with a
/// `patient:ID` token, and the clinic's and auditor's reads, each in the access log.
@Suite("FHIR $everything over HTTP")
struct FHIREverythingTests {
    @Test("a patient token gets its own $everything and 403 for another patient's; clinic and audit tokens read any")
    func patientRightOfAccess() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            try clinic.addDevice("auditor", role: .audit)
            try clinic.addDevice("home-1", role: .home, patient: "p-1")
            try clinic.addDevice("home-2", role: .home, patient: "p-2")
            var registrations: [PatientID: EventID] = [:]
            for (offset, patient) in [PatientID("p-1"), "p-2"].enumerated() {
                let start = 1_790_000_000_000 + Int64(offset) * 3_600_000
                let drafts = try [
                    Fixtures.draft(CatalogExamples.patientRegistered, patient: patient, at: start),
                    Fixtures.draft(CatalogExamples.consentRecorded, patient: patient, at: start + 60_000),
                    Fixtures.draft(CatalogExamples.examRecorded, patient: patient, at: start + 120_000),
                    Fixtures.painDraft(patient: patient, score: 4 + offset, at: start + 180_000),
                ]
                registrations[patient] = try root.store.record(drafts, signedBy: root.key)[0].event.id
            }
            var tokens: [String: String] = [:]
            for (device, scope) in [("root", "clinic"), ("auditor", "audit"), ("home-1", "patient:p-1")] {
                tokens[scope] = try root.store.issueToken(device: device, scope: scope, expiresAt: nil).1
            }
            func path(_ patient: String) -> String { "/v1/fhir/Patient/\(patient)/$everything" }

            try await withServer(device: root) { server in
                let own = try await rawRequest("GET", server.url(path("p-1")), token: tokens["patient:p-1"])
                #expect(own.status == 200, "\(own.text.prefix(300))")
                #expect(own.header("Content-Type") == "application/fhir+json")
                let bundle = try #require(own.json)
                #expect(bundle["type"]?.stringValue == "collection")
                let fullUrls = (bundle["entry"]?.arrayItems ?? []).compactMap { $0["fullUrl"]?.stringValue }
                #expect(fullUrls.count > 20)
                #expect(fullUrls.allSatisfy { $0.hasPrefix(server.url("/v1/fhir/")) })
                // The same bytes as the library's export with the server's base: the server adds no rule of its own.
                let expected = try FHIRExport.patientBundle(
                    of: "p-1", from: root.store, options: FHIRExportOptions(base: server.url("/v1/fhir"))
                ).bytes
                #expect(own.body == expected)

                let other = try await rawRequest("GET", server.url(path("p-2")), token: tokens["patient:p-1"])
                #expect(other.status == 403)
                #expect(other.errorCode == "out-of-scope")
                // By the Patient resource's id (the registration's UUID), the scope still holds.
                let otherByID = try await rawRequest(
                    "GET", server.url(path(registrations["p-2"]!.text)), token: tokens["patient:p-1"])
                #expect(otherByID.status == 403)
                let ownByID = try await rawRequest(
                    "GET", server.url(path(registrations["p-1"]!.text)), token: tokens["patient:p-1"])
                #expect(ownByID.body == own.body)

                for scope in ["clinic", "audit"] {
                    let read = try await rawRequest("GET", server.url(path("p-2")), token: tokens[scope])
                    #expect(read.status == 200, "\(scope): \(read.text.prefix(200))")
                }
                let unknown = try await rawRequest("GET", server.url(path("p-9")), token: tokens["clinic"])
                #expect(unknown.status == 404)
                #expect(unknown.errorCode == "no-such-patient")
                let anonymous = try await rawRequest("GET", server.url(path("p-1")))
                #expect(anonymous.status == 401)
            }
            let log = try root.store.accessLog().filter { $0.route == "/v1/fhir/Patient/{patient}/$everything" }
            #expect(log.count == 8)
            #expect(log.filter { $0.outcome == "ok" && $0.purpose == "export-fhir" && $0.patient == "p-1" }.count == 2)
            #expect(log.filter { $0.outcome == "forbidden" && $0.scope == "patient:p-1" }.count == 2)
            #expect(log.filter { $0.outcome == "ok" && $0.patient == "p-2" }.count == 2)
        }
    }
}

extension JSONValue {
    /// The elements of an array; none otherwise.
    fileprivate var arrayItems: [JSONValue] { if case .array(let items) = self { items } else { [] } }
}
