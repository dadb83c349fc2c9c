import Foundation
import ProloAudit
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// A real clinic for the tampering tests: the root enrolled a laptop (root originSeq 1), recorded five events
/// of p-1 (root originSeq 2…6), and received the laptop's three events (two of p-1, one of p-2) by bundle.
private struct TamperClinic {
    let clinic: ClinicFixture
    let root: ClinicFixture.Device
    let laptop: ClinicFixture.Device
    /// The root's own events as the root holds them, by originSeq (index 0 is originSeq 1).
    let rootChain: [StoredEvent]
    /// The laptop's events as the root holds them, by originSeq.
    let laptopChain: [StoredEvent]

    var rootOrigin: String { root.store.identity.origin.text }
    var laptopOrigin: String { laptop.store.identity.origin.text }
    var total: Int { rootChain.count + laptopChain.count }

    init(in directory: TemporaryDirectory) throws {
        clinic = try ClinicFixture(in: directory)
        laptop = try clinic.addDevice("laptop")
        root = clinic.root
        let start = Timestamp.now().millisecondsSinceEpoch - 20 * AuditStory.day
        try root.store.record(
            [
                try AuditStory.consent("p-1", at: AuditStory.at(start)),
                try AuditStory.exam("p-1", nrs: 7, odi: 42, at: AuditStory.at(start)),
                try AuditStory.course("p-1", at: AuditStory.at(start)),
                try AuditStory.injection("p-1", at: AuditStory.at(start + AuditStory.day)),
                try AuditStory.pain("p-1", score: 5, at: AuditStory.at(start + 8 * AuditStory.day)),
            ], signedBy: root.key)
        try laptop.store.record(
            [
                try AuditStory.pain("p-1", score: 4, at: AuditStory.at(start + 10 * AuditStory.day)),
                try AuditStory.pain("p-1", .odi, score: 30, at: AuditStory.at(start + 10 * AuditStory.day)),
                try AuditStory.pain("p-2", score: 6, at: AuditStory.at(start + 11 * AuditStory.day)),
            ], signedBy: laptop.key)
        try clinic.transfer(from: laptop, to: root)
        let rootStore = root.store
        func chain(_ origin: Identifier) throws -> [StoredEvent] {
            try rootStore.events(EventFilter(origin: origin)).sorted { $0.event.originSeq < $1.event.originSeq }
        }
        rootChain = try chain(rootStore.identity.origin)
        laptopChain = try chain(laptop.store.identity.origin)
    }

    /// The root's event at `originSeq`.
    func rootEvent(_ originSeq: Int64) -> Event { rootChain[Int(originSeq) - 1].event }
    func laptopEvent(_ originSeq: Int64) -> Event { laptopChain[Int(originSeq) - 1].event }
}

/// Verifies the store file at `path` as `prolo audit verify` does, opening it afresh.
private func verify(_ path: String) throws -> VerificationReport {
    try ChainVerifier.verify(EventStore.open(at: path))
}

/// The audit's conformance suite: each case runs on a SQLite copy (edited with the `sqlite3` shell) and on the store
/// moved up into PostgreSQL (edited over a superuser's connection), and must name the same problem at the same event.
@Suite("audit verify finds tampering behind Prolo's back, on every backend")
struct ChainVerifierTests {
    @Test(
        "an untouched store verifies clean, with a head for every origin at its last originSeq and the device's name",
        arguments: Backend.allCases)
    func cleanStore(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try TamperClinic(in: directory)
            let original = try ChainVerifier.verify(clinic.root.store)
            try await TamperedCopy.with(clinic.root.store, in: directory, backend, triggers: true) { copy in
                let report = try await copy.verify()
                #expect(report.firstProblem == nil, "\(String(describing: report.firstProblem))")
                #expect(report.isClean)
                #expect(report.triggersIntact)
                #expect(report.eventsChecked == clinic.total)
                #expect(clinic.total == 9)
                let heads = Dictionary(uniqueKeysWithValues: report.heads.map { ($0.origin, $0) })
                #expect(Set(heads.keys) == [clinic.rootOrigin, clinic.laptopOrigin])
                #expect(report.heads.count == 2)
                let rootHead = try #require(heads[clinic.rootOrigin])
                #expect(rootHead.originSeq == 6)
                #expect(rootHead.hash == clinic.rootEvent(6).hash.hex)
                #expect(rootHead.device == "root")
                let laptopHead = try #require(heads[clinic.laptopOrigin])
                #expect(laptopHead.originSeq == 3)
                #expect(laptopHead.hash == clinic.laptopEvent(3).hash.hex)
                #expect(laptopHead.device == "laptop")
                // The copy, in either backend, verifies as the live store does.
                #expect(report.heads == original.heads)
                #expect(report.eventsChecked == original.eventsChecked)
            }
        }
    }

    @Test(
        "removing the append-only triggers without touching an event is reported as missing-trigger, after every chain verified",
        arguments: Backend.allCases)
    func missingTrigger(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try TamperClinic(in: directory)
            try await TamperedCopy.with(clinic.root.store, in: directory, backend) { copy in
                let report = try await copy.verify()
                let problem = try #require(report.firstProblem)
                #expect(problem.kind == .missingTrigger)
                #expect(problem.origin == nil && problem.originSeq == nil && problem.eventID == nil)
                #expect(problem.message.contains("events_refuse_update"))
                #expect(!report.triggersIntact)
                #expect(report.eventsChecked == clinic.total)
                #expect(Set(report.heads.map(\.originSeq)) == [6, 3])
            }
            // One trigger is enough to be missing.
            try await TamperedCopy.with(clinic.root.store, in: directory, backend, name: "one", triggers: true) { copy in
                try await copy.removeTrigger("events_refuse_delete")
                let report = try await copy.verify()
                #expect(report.firstProblem?.kind == .missingTrigger)
                #expect(report.firstProblem?.message.contains("events_refuse_delete") == true)
            }
        }
    }

    @Test("(a) one flipped byte of an event's body is bad-hash at that event", arguments: Backend.allCases)
    func flippedBodyByte(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try TamperClinic(in: directory)
            let target = clinic.rootEvent(4)
            try await TamperedCopy.with(clinic.root.store, in: directory, backend) { copy in
                var body = target.body
                body[body.count / 2] ^= 0x01
                try await copy.run("UPDATE events SET body = \(copy.blob(body)) WHERE id = \(SQLiteShell.quote(target.id.text));")
                try expectProblem(try await copy.verify(), .badHash, origin: clinic.rootOrigin, originSeq: 4, event: target.id)
            }
        }
    }

    @Test("(b) a changed occurred_at, still valid RFC 3339, is bad-hash at that event", arguments: Backend.allCases)
    func changedOccurredAt(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try TamperClinic(in: directory)
            let target = clinic.rootEvent(3)
            let moved = Timestamp(millisecondsSinceEpoch: target.occurredAt.millisecondsSinceEpoch - 3 * AuditStory.day)
            #expect(moved.text != target.occurredAt.text)
            try await TamperedCopy.with(clinic.root.store, in: directory, backend) { copy in
                // The row still decodes: the new time is a valid RFC 3339 instant, only not the one signed.
                try await copy.run(
                    "UPDATE events SET occurred_at = \(SQLiteShell.quote(moved.text)), occurred_ms = \(moved.millisecondsSinceEpoch) "
                        + "WHERE id = \(SQLiteShell.quote(target.id.text));")
                #expect(try await copy.text("SELECT occurred_at FROM events WHERE id = \(SQLiteShell.quote(target.id.text))") == moved.text)
                try expectProblem(try await copy.verify(), .badHash, origin: clinic.rootOrigin, originSeq: 3, event: target.id)
            }
        }
    }

    @Test(
        "(c) an event deleted from the middle of a chain is a gap at the next originSeq, naming the first missing one",
        arguments: Backend.allCases)
    func deletedEvent(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try TamperClinic(in: directory)
            let deleted = clinic.rootEvent(4)
            let next = clinic.rootEvent(5)
            try await TamperedCopy.with(clinic.root.store, in: directory, backend) { copy in
                try await copy.run("DELETE FROM events WHERE id = \(SQLiteShell.quote(deleted.id.text));")
                #expect(try await copy.text("SELECT CAST(count(*) AS TEXT) FROM events") == "\(clinic.total - 1)")
                let report = try await copy.verify()
                try expectProblem(report, .gap, origin: clinic.rootOrigin, originSeq: 5, event: next.id)
                #expect(report.firstProblem?.message.contains("expected originSeq 4") == true, "\(String(describing: report.firstProblem))")
            }
        }
    }

    @Test(
        "(d) two events of one origin swapped is broken-link at the first swapped position, naming the event now there",
        arguments: Backend.allCases)
    func swappedEvents(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try TamperClinic(in: directory)
            let third = clinic.rootEvent(3)
            let fourth = clinic.rootEvent(4)
            try await TamperedCopy.with(clinic.root.store, in: directory, backend) { copy in
                // Swap their chain positions through a free value (UNIQUE (origin, origin_seq) and origin_seq >= 1).
                try await copy.run(
                    """
                    UPDATE events SET origin_seq = 1000003 WHERE id = \(SQLiteShell.quote(third.id.text));
                    UPDATE events SET origin_seq = 3 WHERE id = \(SQLiteShell.quote(fourth.id.text));
                    UPDATE events SET origin_seq = 4 WHERE id = \(SQLiteShell.quote(third.id.text));
                    """)
                // The rule: positions are read in originSeq order; position 3 is present (no gap), and the event now
                // there links to the hash of what was at 3, not to originSeq 2: the first broken link is at 3.
                try expectProblem(try await copy.verify(), .brokenLink, origin: clinic.rootOrigin, originSeq: 3, event: fourth.id)
            }
        }
    }

    @Test("(e) an event re-signed with another enrolled device's key is bad-signature at that event", arguments: Backend.allCases)
    func reSignedEvent(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try TamperClinic(in: directory)
            // A laptop event signed by the root's key, and a root event signed by the laptop's key.
            let cases: [(event: Event, signer: DeviceKey, origin: String, name: String)] = [
                (clinic.laptopEvent(2), clinic.root.key, clinic.laptopOrigin, "laptop-resigned"),
                (clinic.rootEvent(5), clinic.laptop.key, clinic.rootOrigin, "root-resigned"),
            ]
            for (event, signer, origin, name) in cases {
                let forged = try signer.signature(for: event.hash.bytes)
                #expect(forged != event.signature)
                try await TamperedCopy.with(clinic.root.store, in: directory, backend, name: name) { copy in
                    try await copy.run("UPDATE events SET sig = \(copy.blob(forged)) WHERE id = \(SQLiteShell.quote(event.id.text));")
                    try expectProblem(try await copy.verify(), .badSignature, origin: origin, originSeq: event.originSeq, event: event.id)
                }
            }
        }
    }

    @Test(
        "(f) a device.enrolled event signed by a stranger's root, inserted with all its columns, is untrusted-enrollment at that event",
        arguments: Backend.allCases)
    func strangerEnrollment(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try TamperClinic(in: directory)
            // Another "clinic" whose root is not this clinic's: it enrolls an intruder's device.
            let stranger = try ClinicFixture(in: directory, rootName: "stranger")
            try stranger.addDevice("intruder")
            let enrollment = try #require(try stranger.root.store.events(EventFilter(type: .deviceEnrolled)).first)
            #expect(enrollment.event.originSeq == 1)
            #expect(enrollment.event.hasValidHash)
            try await TamperedCopy.with(clinic.root.store, in: directory, backend) { copy in
                try await copy.insert(enrollment)
                let report = try await copy.verify()
                try expectProblem(
                    report, .untrustedEnrollment, origin: stranger.root.store.identity.origin.text, originSeq: 1,
                    event: enrollment.event.id)
                #expect(
                    report.firstProblem?.message.hasPrefix("device.enrolled signed by") == true,
                    "\(String(describing: report.firstProblem))")
            }
        }
    }

    @Test("prolo audit verify exits 65 naming the problem on stderr for a tampered copy, and 0 for a clean one")
    func verifyCommand() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try TamperClinic(in: directory)
            let clean = directory.file("clean.sqlite")
            try SQLiteShell.copyStore(clinic.root.store.path, to: clean)
            let ok = try CommandRunner.prolo(["audit", "verify", "--store", clean])
            #expect(ok.status == 0, "stdout: \(ok.stdout)\nstderr: \(ok.stderr)")
            #expect(ok.stdout.contains("verified \(clinic.total) events in 2 chains"), "\(ok.stdout)")
            #expect(ok.stdout.contains(clinic.rootOrigin) && ok.stdout.contains(clinic.laptopOrigin))
            #expect(ok.stderr.isEmpty, "\(ok.stderr)")

            let target = clinic.rootEvent(4)
            let tampered = try SQLiteShell.tamperableCopy(of: clinic.root.store, in: directory, name: "tampered.sqlite")
            var body = target.body
            body[body.count / 2] ^= 0x01
            try SQLiteShell.run(
                tampered, "UPDATE events SET body = X'\(SQLiteShell.hex(body))' WHERE id = \(SQLiteShell.quote(target.id.text))")
            let bad = try CommandRunner.prolo(["audit", "verify", "--store", tampered])
            #expect(bad.status == 65, "stdout: \(bad.stdout)\nstderr: \(bad.stderr)")
            #expect(bad.stderr.contains("bad-hash"), "\(bad.stderr)")
            #expect(bad.stderr.contains("origin \(clinic.rootOrigin) originSeq 4 event \(target.id.text)"), "\(bad.stderr)")
            #expect(bad.stdout.contains("NOT VERIFIED"), "\(bad.stdout)")

            let json = try CommandRunner.prolo(["audit", "verify", "--store", tampered, "--json"])
            #expect(json.status == 65)
            let object = try #require(try parseJSON(json.stdout) as? [String: Any], "\(json.stdout)")
            #expect(object["verified"] as? Bool == false)
            let problem = try #require(object["firstProblem"] as? [String: Any])
            #expect(problem["kind"] as? String == "bad-hash")
            #expect(problem["origin"] as? String == clinic.rootOrigin)
            #expect(problem["originSeq"] as? Int == 4)
            #expect(problem["eventId"] as? String == target.id.text)
        }
    }
}

@Suite("audit verify walks long chains page by page")
struct ChainVerifierPagingTests {
    @Test(
        "a chain of three pages verifies clean, and a flipped body byte on the third page is bad-hash at that event",
        arguments: Backend.allCases)
    func longChain(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let count = 2 * ChainVerifier.pageSize + 300
            let start = Timestamp.now().millisecondsSinceEpoch - 30 * AuditStory.day
            var drafts: [EventDraft] = []
            for index in 0..<count {
                drafts.append(try AuditStory.pain(try PatientID(checked: "p-\(index % 7)"), score: index % 11, at: AuditStory.at(start + Int64(index) * 1000)))
            }
            for slice in stride(from: 0, to: count, by: 1000) {
                try root.store.record(Array(drafts[slice..<min(count, slice + 1000)]), signedBy: root.key)
            }
            let origin = root.store.identity.origin
            let targetSeq = Int64(2 * ChainVerifier.pageSize + 123)
            let target = try #require(
                try root.store.events(EventFilter(origin: origin)).first { $0.event.originSeq == targetSeq }?.event)
            let original = try ChainVerifier.verify(root.store)
            #expect(original.isClean, "\(String(describing: original.firstProblem))")
            try await TamperedCopy.with(root.store, in: directory, backend, name: "long") { copy in
                // Untouched but for its triggers: every page's events verify, and only the triggers are reported.
                let untouched = try await copy.verify()
                #expect(untouched.eventsChecked == count)
                #expect(untouched.firstProblem?.kind == .missingTrigger, "\(String(describing: untouched.firstProblem))")
                var body = target.body
                body[body.count / 2] ^= 0x01
                try await copy.run("UPDATE events SET body = \(copy.blob(body)) WHERE id = \(SQLiteShell.quote(target.id.text));")
                let report = try await copy.verify()
                try expectProblem(report, .badHash, origin: origin.text, originSeq: targetSeq, event: target.id)
                #expect(report.eventsChecked == Int(targetSeq) - 1, "every event before the tampered one was judged, in order")
            }
        }
    }
}
