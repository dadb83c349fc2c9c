import Foundation
import ProloAudit
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// Where the verifier's registry rules and the append path's admission rules must agree.
@Suite("audit verify and the device registry")
struct ChainVerifierRegistryTests {
    @Test("an enrollment recorded by a laptop before the root enrolled it is either refused by the root or verifies there")
    func enrollmentBeforeOwnEnrollment() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            // The laptop is set up (trusting the root) but not yet enrolled; an admin on it enrolls a tablet
            // (as happens too when the laptop's clock is behind the root's).
            let laptop = try clinic.addDevice("laptop", enroll: false)
            let tablet = DeviceKey()
            let payload = DeviceEnrolled(
                deviceName: "tablet", publicKey: try PublicKeyBase64(checked: tablet.publicKey.base64), role: .clinic,
                patient: nil, enrolledBy: try Identifier(checked: laptop.store.identity.origin.text))
            // The laptop itself refuses: its own enrollment has not reached it, so its enrollments would not
            // verify anywhere (the auditor replays the registry in canonical order).
            #expect {
                try laptop.store.recordOne(
                    try EventDraft(payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-2", role: .admin)),
                    key: laptop.key)
            } throws: { error in
                (error as? StoreError)?.code == .permissionDenied && "\(error)".contains("sync first")
            }
            // Once enrolled and synced, its enrollments are admitted by the root and verify there.
            try clinic.enroll(laptop, role: .clinic)
            try clinic.transfer(from: clinic.root, to: laptop)
            let later = try laptop.store.recordOne(
                try EventDraft(payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-2", role: .admin)),
                key: laptop.key
            ).event
            try clinic.transfer(from: laptop, to: clinic.root)
            #expect(try clinic.root.store.event(id: later.id) != nil)
            #expect(try clinic.root.store.registry().devices[tablet.publicKey.origin] != nil)
            let report = try ChainVerifier.verify(clinic.root.store)
            #expect(report.isClean, "\(String(describing: report.firstProblem))")
        }
    }

    @Test("an event a revoked device recorded after its revocation is held and verifies; with its hold deleted it does not")
    func eventAfterRevocation() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let laptop = try clinic.addDevice("laptop")
            let root = clinic.root
            try laptop.store.record([try AuditStory.pain("p-1", score: 5, at: .now())], signedBy: laptop.key)
            try clinic.transfer(from: laptop, to: root)
            // The laptop is stolen: the root revokes it.
            let revocation = DeviceRevoked(
                publicKey: try PublicKeyBase64(checked: laptop.key.publicKey.base64), reason: .stolen, revokedBy: "admin-1")
            try root.store.record(
                [try EventDraft(revocation, patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))],
                signedBy: root.key)
            Thread.sleep(forTimeInterval: 0.005)
            // The thief records with the laptop's key; the root's append path holds the event out of the read models.
            let stolen = try laptop.store.recordOne(try AuditStory.pain("p-1", score: 0, at: .now()), key: laptop.key).event
            try clinic.transfer(from: laptop, to: root)
            #expect(try root.store.event(id: stolen.id) != nil)
            #expect(try root.store.reviewHeldEvents().map(\.id) == [stolen.id])
            #expect(try ChainVerifier.verify(root.store).isClean)

            // Removing the hold (event_flags is an ordinary table) would make the thief's event count: verify names it.
            try SQLiteShell.run(root.store.path, "PRAGMA wal_checkpoint(TRUNCATE)")
            let copy = directory.file("copy.sqlite")
            try SQLiteShell.copyStore(root.store.path, to: copy)
            try SQLiteShell.run(copy, "DELETE FROM event_flags WHERE id = \(SQLiteShell.quote(stolen.id.text));")
            #expect(try EventStore.open(at: copy).event(id: stolen.id) != nil)
            let report = try ChainVerifier.verify(EventStore.open(at: copy))
            #expect(report.firstProblem?.kind == .revoked, "\(String(describing: report.firstProblem))")
            #expect(report.firstProblem?.kind.rawValue == "after-revocation")
            #expect(report.firstProblem?.eventID == stolen.id.text, "\(String(describing: report.firstProblem))")
            #expect(report.firstProblem?.origin == laptop.store.identity.origin.text)
            #expect(report.firstProblem?.originSeq == 2)
        
        }
    }

    @Test("an honest replica that received a stolen device's event before the revocation reached it still verifies, and reports the event as held")
    func revocationArrivingLate() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let server = try clinic.addDevice("server", role: .replica)
            let laptop = try clinic.addDevice("laptop")
            let root = clinic.root
            try clinic.transfer(from: root, to: server)
            let revocation = DeviceRevoked(
                publicKey: try PublicKeyBase64(checked: laptop.key.publicKey.base64), reason: .stolen, revokedBy: "admin-1")
            try root.store.record(
                [try EventDraft(revocation, patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))],
                signedBy: root.key)
            Thread.sleep(forTimeInterval: 0.005)
            // The thief syncs with the server before the server hears of the revocation; then the server does.
            let stolen = try laptop.store.recordOne(try AuditStory.pain("p-1", score: 0, at: .now()), key: laptop.key).event
            try clinic.transfer(from: laptop, to: server)
            try clinic.transfer(from: root, to: server)
            #expect(try server.store.registry().devices[laptop.store.identity.origin]?.revokedAfter != nil)
            #expect(try server.store.event(id: stolen.id) != nil, "admitted while the server knew of no revocation")
            // Nobody edited the server's store: the revocation held the event out of the read models when it
            // arrived, and verify reports it as held, not as tampering.
            #expect(try server.store.reviewHeldEvents().map(\.id) == [stolen.id])
            let report = try ChainVerifier.verify(server.store)
            #expect(report.isClean, "\(String(describing: report.firstProblem))")
            #expect(report.heldAfterRevocation == 1)
        }
    }
}
