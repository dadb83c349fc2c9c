import Foundation
import ProloAudit
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// The append-only triggers exactly as migration 1 creates them.
private let originalTriggers = """
    CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
    BEGIN
        SELECT RAISE(ABORT, 'events are append-only: record an event.amended or event.retracted instead of UPDATE');
    END;
    CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
    BEGIN
        SELECT RAISE(ABORT, 'events are append-only: record an event.retracted instead of DELETE');
    END;
    """

/// Edits `audit verify` should catch or stores it should accept, and does not yet (each a known issue).
@Suite("audit verify: gaps found while testing")
struct ChainVerifierGapTests {
    @Test("a changed occurred_ms (the unsigned copy of occurred_at that rebuild reads), triggers restored, is reported at that event")
    func tamperedOccurredMilliseconds() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let start = Timestamp.now().millisecondsSinceEpoch - 20 * AuditStory.day
            let events = try root.store.record(
                [
                    try AuditStory.exam("p-1", nrs: 8, odi: 40, at: AuditStory.at(start)),
                    try AuditStory.pain("p-1", score: 3, at: AuditStory.at(start + 5 * AuditStory.day)),
                ], signedBy: root.key)
            let exam = events[0].event
            #expect(try root.projected.state(of: "p-1")?.latestPain.nrs == 3)

            // Move the exam after the pain report in the column the read model is rebuilt from, then put the
            // triggers back as they were: nothing signed changed.
            let copy = try SQLiteShell.tamperableCopy(of: root.store, in: directory, name: "copy.sqlite")
            try SQLiteShell.run(
                copy,
                "UPDATE events SET occurred_ms = \(start + 10 * AuditStory.day) WHERE id = \(SQLiteShell.quote(exam.id.text));"
                    + originalTriggers)
            let report = try ChainVerifier.verify(EventStore.open(at: copy))
            #expect(report.triggersIntact)
            let rebuilt = try ProjectedStore.open(at: copy)
            try rebuilt.rebuild()
            let latest = try rebuilt.state(of: "p-1")?.latestPain.nrs
            #expect(report.firstProblem?.kind == .derivedColumn, "\(String(describing: report.firstProblem))")
            #expect(report.firstProblem?.kind.rawValue == "derived-column")
            #expect(
                report.firstProblem?.eventID == exam.id.text,
                "verify: \(String(describing: report.firstProblem)); after rebuild the latest NRS is \(latest.map(String.init) ?? "-"), the signed history says 3")
        
        }
    }

    @Test("an append-only trigger replaced by a no-op trigger of the same name is reported as missing-trigger")
    func replacedTrigger() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            try clinic.root.store.record([try AuditStory.pain("p-1", score: 3, at: .now())], signedBy: clinic.root.key)
            let copy = directory.file("copy.sqlite")
            try SQLiteShell.copyStore(clinic.root.store.path, to: copy)
            try SQLiteShell.run(
                copy,
                """
                DROP TRIGGER events_refuse_update;
                CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events WHEN 0 BEGIN SELECT 1; END;
                """)
            // The log can be edited now …
            try SQLiteShell.run(copy, "UPDATE events SET received_at = received_at + 1")
            let report = try ChainVerifier.verify(EventStore.open(at: copy))
            #expect(report.firstProblem?.kind == .missingTrigger, "\(String(describing: report.firstProblem))")
            #expect(!report.triggersIntact)
        
        }
    }

    @Test("an honest home device's store (its patient's slice of other devices' chains) verifies")
    func homeStoreSlice() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let home = try clinic.addDevice("tablet", role: .home, patient: "p-1")
            let root = clinic.root
            // The root records about two patients: the tablet receives only p-1's events (originSeq 3 of the root).
            try root.store.record(
                [try AuditStory.pain("p-2", score: 3, at: .now()), try AuditStory.pain("p-1", score: 4, at: .now())],
                signedBy: root.key)
            try clinic.transfer(from: root, to: home)
            try home.store.record([try AuditStory.pain("p-1", score: 2, at: .now())], signedBy: home.key)
            #expect(try home.store.events(EventFilter(patient: "p-1")).count == 2)
            #expect(try home.store.events(EventFilter(patient: "p-2")).isEmpty)
            let report = try ChainVerifier.verify(home.store)
            #expect(report.isClean, "\(String(describing: report.firstProblem))")
        
        }
    }
}
