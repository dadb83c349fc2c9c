import Foundation
import ProloDomain
import ProloStore
import ProloTestSupport
import Testing

/// The access log written by group commit (`AccessLogWriter`): concurrent requests' lines go in together, and no
/// response leaves before its line is in the store.
@Suite("The access log under concurrent requests")
struct AccessLogGroupCommitTests {
    @Test(
        "40 concurrent reads of 40 patients: each response arrives after its line is in the access log, and every line is there once"
    )
    func everyLineBeforeItsResponse() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            try clinic.addDevice("laptop", role: .clinic)
            let patients = try (1...40).map { try PatientID(checked: "p-\($0)") }
            try root.store.record(
                try patients.map { try Fixtures.painDraft(patient: $0, score: 4) }, signedBy: root.key)
            let token = try root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil).1
            let store = root.store

            try await withServer(device: root) { server in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for patient in patients {
                        group.addTask {
                            let response = try await rawRequest(
                                "GET", server.url("/v1/patients/\(patient)"), token: token)
                            #expect(response.status == 200, "\(response.text.prefix(200))")
                            // Written before the response left: this request's line is there.
                            let lines = try store.accessLog(patient: patient.text)
                            #expect(!lines.isEmpty, "no access-log line for \(patient) when its response arrived")
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let reads = try store.accessLog().filter { $0.route == "/v1/patients/{patient}" }
            #expect(reads.count == 40)
            #expect(Set(reads.map(\.requestID)).count == 40)
            #expect(Dictionary(grouping: reads, by: { $0.patient ?? "" }).mapValues(\.count) == Dictionary(
                uniqueKeysWithValues: patients.map { ($0.text, 1) }))
        }
    }
}
