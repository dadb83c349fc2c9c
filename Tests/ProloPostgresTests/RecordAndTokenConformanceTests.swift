import Foundation
import ProloDomain
import ProloPostgres
import ProloStore
import ProloTestSupport
import Testing

@Suite("A hub's own events and its tokens: one conformance suite over SQLite and PostgreSQL (issue 14)")
struct RecordAndTokenConformanceTests {
    @Test("the hub's own events chain after what it holds; an enrollment it may not record yet is refused whole; one it may admits the device's waiting events", arguments: Backend.allCases)
    func recordsItsOwnEvents(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let waiting = try (0..<3).map { _ in try app.painReport("p-1", score: 5) }
            let enrollment = try EventDraft(
                DeviceEnrolled(
                    deviceName: "app", publicKey: try PublicKeyBase64(checked: app.key.publicKey.base64), role: .clinic,
                    patient: nil, enrolledBy: try Identifier(checked: clinic.hub.store.identity.origin.text)),
                patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))
            let hubKey = clinic.hub.key
            try await backend.with(clinic.hub.store) { hub in
                try await hub.append(waiting)
                let before = try await hub.count()
                // The hub's own enrollment has not reached it: it may not enroll others yet.
                let refused = await #expect(throws: StoreError.self) { try await hub.record([enrollment], signedBy: hubKey) }
                #expect(refused?.code == .permissionDenied)
                #expect(try await hub.count() == before)

                try await hub.append(try clinic.rootEvents())
                let enrolled = try await hub.record([enrollment], signedBy: hubKey)
                #expect(enrolled.count == 1)
                #expect(try await hub.registry().devices[app.key.publicKey.origin]?.name == "app")
                #expect(try await hub.quarantined().isEmpty)
                #expect(try await hub.versionVector()[app.key.publicKey.origin.text] == 3)

                let first = try await hub.record([try Fixtures.painDraft(patient: "p-1", score: 4)], signedBy: hubKey)[0]
                let second = try await hub.record([try Fixtures.painDraft(patient: "p-1", score: 3)], signedBy: hubKey)[0]
                #expect(second.event.originSeq == first.event.originSeq + 1)
                #expect(second.event.prev == first.event.hash)
                #expect(second.event.patientPrev == first.event.hash)
                #expect(first.event.originSeq == enrolled[0].event.originSeq + 1)
                #expect(second.event.hlc > first.event.hlc)
                #expect(try await hub.versionVector()[hubKey.publicKey.origin.text] == second.event.originSeq)
                let wrongKey = DeviceKey()
                let error = await #expect(throws: StoreError.self) {
                    try await hub.record([try Fixtures.painDraft(patient: "p-1", score: 3)], signedBy: wrongKey)
                }
                #expect(error?.code == .permissionDenied)
            }
        }
    }

    @Test("a token issued before the move-up and one issued after are found by their text, not by another's, and refused once revoked; a scope that does not fit its device is refused", arguments: Backend.allCases)
    func tokens(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            try clinic.hub.store.append(try clinic.rootEvents())
            let laptop = try clinic.fixture.addDevice("laptop")
            try clinic.hub.store.append(try clinic.rootEvents())
            let (earlier, earlierText) = try clinic.hub.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil)
            try await backend.with(clinic.hub.store) { hub in
                #expect(try await hub.token(presented: earlierText)?.id == earlier.id)
                let (token, text) = try await hub.issueToken(device: laptop.key.publicKey.origin.text, scope: "replica")
                #expect(token.device == "laptop")
                let found = try await hub.token(presented: text)
                #expect(found?.id == token.id)
                #expect(found?.scope == "replica")
                #expect(found?.origin == laptop.key.publicKey.origin)
                #expect(found?.revokedAt == nil)
                // The right id with another secret is no token.
                #expect(try await hub.token(presented: "prolo_\(token.id)_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") == nil)
                #expect(try await hub.token(presented: "not-a-token") == nil)
                #expect(try await hub.revokeToken(id: token.id))
                #expect(try await !hub.revokeToken(id: token.id))
                #expect(try await hub.token(presented: text)?.revokedAt != nil)
                let error = await #expect(throws: StoreError.self) {
                    try await hub.issueToken(device: "laptop", scope: "patient:p-1")
                }
                #expect(error?.code == .permissionDenied)
                let unknown = await #expect(throws: StoreError.self) { try await hub.issueToken(device: "nobody", scope: "clinic") }
                #expect(unknown?.code == .invalidInput)
            }
        }
    }

    @Test("the access log takes a group of lines in one write and reads them back in order, by patient too", arguments: Backend.allCases)
    func accessLog(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            try await backend.with(clinic.hub.store) { hub in
                let lines = [
                    AccessRecord(token: "t1", device: "laptop", scope: "clinic", method: "POST", route: "/v1/sync/pull",
                        purpose: "sync-pull", status: 200, outcome: "ok", requestID: "r1"),
                    AccessRecord(method: "GET", route: "/v1/patients/{patient}", patient: "p-1", status: 401,
                        outcome: "unauthenticated"),
                ]
                try await hub.logAccess(contentsOf: lines)
                let read = try await hub.accessLog()
                #expect(read.suffix(2).map(\.route) == lines.map(\.route))
                #expect(read.suffix(2).first?.token == "t1")
                #expect(read.suffix(2).last?.token == nil)
                #expect(read.suffix(2).last?.status == 401)
                #expect(try await hub.accessLog(patient: "p-1").map(\.route) == ["/v1/patients/{patient}"])
            }
        }
    }

    @Test(
        "a server's login role granted only prolo_writer does what a server does: appends, records, issues tokens, writes the access log",
        .requires(.postgres, "the server role's grants are not tried"))
    func writerRoleSuffices() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let enrollments = try clinic.enroll(app, name: "app")
            let events = try (0..<5).map { _ in try app.painReport("p-1", score: 3) }
            let hubKey = clinic.hub.key
            let draft = try Fixtures.painDraft(patient: "p-1", score: 2)
            try await TestDatabase.with { url in
                _ = try await PostgresLog.with(url) { log throws(StoreError) in try await log.moveUp(from: clinic.hub.store) }
                try await TestDatabase.asServerRole(url) { server in
                    try await PostgresLog.with(server) { log throws(StoreError) in
                        let outcome = try await log.append(enrollments + events)
                        #expect(outcome.appended.count == enrollments.count + events.count)
                        let own = try await log.record([draft], signedBy: hubKey)
                        #expect(own.count == 1)
                        let (token, text) = try await log.issueToken(device: "app", scope: "clinic", expiresAt: nil)
                        #expect(try await log.token(presented: text)?.id == token.id)
                        #expect(try await log.revokeToken(id: token.id))
                        try await log.logAccess(contentsOf: [AccessRecord(method: "GET", route: "/v1/alerts", status: 200, outcome: "ok")])
                        #expect(try await log.accessLog().last?.route == "/v1/alerts")
                    }
                }
            }
        }
    }
}
