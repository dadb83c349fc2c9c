import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloTestSupport
import Testing

@Suite("Read models in SQLite")
struct ReadModelTests {
    private let day: Int64 = 86_400_000
    private let start: Int64 = 1_790_000_000_000

    private func draft(_ payload: some EventPayload, _ patient: PatientID = "p-1", day offset: Int64) throws -> EventDraft {
        try EventDraft(
            payload, patient: patient, occurredAt: Timestamp(millisecondsSinceEpoch: start + offset * day),
            author: Fixtures.clinician)
    }

    /// A projected store and its key.
    private func projected(in directory: TemporaryDirectory, name: String = "clinic") throws -> (ProjectedStore, DeviceKey) {
        let key = DeviceKey()
        return (try ProjectedStore.create(at: directory.file("\(name).sqlite"), deviceName: name, key: key), key)
    }

    @Test("each append updates the read models in its own transaction")
    func updatedOnAppend() throws {
        try TemporaryDirectory.with { directory in
            let (store, key) = try projected(in: directory)
            #expect(try store.patients().isEmpty)
            try store.store.record(
                [
                    try draft(CatalogExamples.consentRecorded, day: 0), try draft(CatalogExamples.examRecorded, day: 0),
                    try draft(CatalogExamples.coursePlanned, day: 0),
                    try draft(CatalogExamples.injectionAdministered, day: 1),
                ], signedBy: key)
            let rows = try store.patients()
            try #require(rows.count == 1)
            #expect(rows[0].sessionsCompleted == 1 && rows[0].sessionsPlanned == 6 && rows[0].courseStatus == "active")
            let state = try #require(try store.state(of: "p-1"))
            #expect(state.nextDue?.from == start + day + 14 * day)
            #expect(try store.state(of: "p-unknown") == nil)
        }
    }

    @Test("a refused batch leaves the log and the read models as they were")
    func refusedBatchChangesNothing() throws {
        try TemporaryDirectory.with { directory in
            let (source, sourceKey) = try projected(in: directory, name: "laptop")
            let (target, _) = try projected(in: directory, name: "server")
            try target.store.registerOrigin(sourceKey.publicKey, name: "laptop")
            let events = try source.store.record(
                [try draft(CatalogExamples.consentRecorded, day: 0), try draft(CatalogExamples.injectionAdministered, day: 1)],
                signedBy: sourceKey
            ).map(\.event)
            try target.store.append([events[0]])
            let before = try readModelDump(target)
            let forged = Event(
                id: events[1].id, origin: events[1].origin, originSeq: events[1].originSeq, prev: events[1].prev,
                patientPrev: events[1].patientPrev, hlc: events[1].hlc, occurredAt: events[1].occurredAt,
                patient: events[1].patient, type: events[1].type, schemaVersion: events[1].schemaVersion,
                author: events[1].author, dictionary: events[1].dictionary, body: events[1].body, hash: events[1].hash,
                signature: [UInt8](repeating: 7, count: 64))
            #expect(throws: StoreError.self) { try target.store.append([forged]) }
            #expect(try readModelDump(target) == before)
            try target.store.append([events[1]])
            #expect(try target.state(of: "p-1")?.sessionsCompleted == 0)  // no course planned: counted in no course
            #expect(try target.state(of: "p-1")?.injectionsTotal == 1)
        }
    }

    @Test("damaged read-model rows make the append fail whole, naming the fix, and rebuild repairs them")
    func damagedRowsRollBackTheAppend() throws {
        try TemporaryDirectory.with { directory in
            let (store, key) = try projected(in: directory)
            try store.store.record([try draft(CatalogExamples.consentRecorded, day: 0)], signedBy: key)
            try store.store.write { connection throws(StoreError) in
                try connection.execute("UPDATE patient_fold SET checkpoint = X'7B7B' WHERE patient = 'p-1'")
            }
            let count = try store.store.count()
            #expect {
                try store.store.record([try draft(CatalogExamples.injectionAdministered, day: 1)], signedBy: key)
            } throws: { error in
                (error as? StoreError)?.code == .ioError && "\(error)".contains("prolo rebuild")
            }
            #expect(try store.store.count() == count)
            try store.rebuild()
            try store.store.record([try draft(CatalogExamples.injectionAdministered, day: 1)], signedBy: key)
            #expect(try store.state(of: "p-1")?.injectionsTotal == 1)
        }
    }

    /// A projected store holding p-1's consent and planned course.
    private func consentedAndPlanned(in directory: TemporaryDirectory) throws -> ProjectedStore {
        let (store, key) = try projected(in: directory)
        try store.store.record(
            [try draft(CatalogExamples.consentRecorded, day: 0), try draft(CatalogExamples.coursePlanned, day: 0)],
            signedBy: key)
        return store
    }

    @Test("a store whose read models were made by another projection version rebuilds them on open")
    func versionChangeRebuilds() throws {
        try TemporaryDirectory.with { directory in
            let store = try consentedAndPlanned(in: directory)
            let expected = try readModelDump(store)
            try store.store.write { connection throws(StoreError) in
                try connection.execute("DELETE FROM patient_summary")
                try connection.execute("UPDATE projections SET version = 0")
            }
            var progressCalls = 0
            let reopened = try ProjectedStore.open(at: store.store.path) { _, _ in progressCalls += 1 }
            #expect(progressCalls > 0)
            #expect(try readModelDump(reopened) == expected)
            // Opening again with the current version does not rebuild.
            var again = 0
            _ = try ProjectedStore.open(at: store.store.path) { _, _ in again += 1 }
            #expect(again == 0)
        }
    }

    @Test(
        "a store made before migration 10 (before module tracks) opens without the summary's state column, its read models rebuilt"
    )
    func summaryStateColumnDropped() throws {
        try TemporaryDirectory.with { directory in
            let store = try consentedAndPlanned(in: directory)
            let expected = try readModelDump(store)
            // The table as the store's migrations 2 to 9 left it, with a row of the previous build, and that build's
            // versions; no schema_tracks yet (the store's migration 11 makes it).
            try store.store.write { connection throws(StoreError) in
                try connection.execute(
                    """
                    DROP TABLE patient_summary;
                    CREATE TABLE patient_summary (
                        patient TEXT PRIMARY KEY, consent TEXT NOT NULL, course_status TEXT NOT NULL,
                        sessions_planned INTEGER, sessions_completed INTEGER NOT NULL, last_injection_at TEXT,
                        next_due_from TEXT, next_due_from_ms INTEGER, next_due_to TEXT, next_due_to_ms INTEGER,
                        open_alerts INTEGER NOT NULL, open_review_flags INTEGER NOT NULL,
                        open_side_effects INTEGER NOT NULL, responder INTEGER NOT NULL, state TEXT NOT NULL) STRICT;
                    INSERT INTO patient_summary VALUES ('p-1', 'given', 'active', 6, 0, NULL, NULL, NULL, NULL, NULL,
                        0, 0, 0, 0, '{}');
                    UPDATE projections SET version = 5;
                    DROP TABLE schema_tracks;
                    PRAGMA user_version = 9;
                    """)
            }
            var progressCalls = 0
            let reopened = try ProjectedStore.open(at: store.store.path) { _, _ in progressCalls += 1 }
            #expect(progressCalls > 0)
            let columns = try reopened.store.read { connection throws(StoreError) -> [String] in
                let statement = try connection.statement("SELECT name FROM pragma_table_info('patient_summary')")
                var names: [String] = []
                while try statement.step() { names.append(statement.text(0)) }
                statement.reset()
                return names
            }
            #expect(!columns.contains("state"))
            #expect(columns.contains("next_due_from_ms"))
            #expect(try readModelDump(reopened) == expected)
            #expect(try reopened.state(of: "p-1")?.consent == .given)
        }
    }

    @Test("due lists windows opening within the days asked, and alerts lists the most severe first")
    func dueAndAlerts() throws {
        try TemporaryDirectory.with { directory in
            let (store, key) = try projected(in: directory)
            var effect = CatalogExamples.sideEffectReported
            effect.relatedInjection = nil
            effect.onset = Timestamp(millisecondsSinceEpoch: start + 12 * day)
            effect.kinds = [.numbness]
            effect.grade = 3
            effect.temperatureC = nil
            try store.store.record(
                [
                    try draft(CatalogExamples.consentRecorded, "p-1", day: 0),
                    try draft(CatalogExamples.coursePlanned, "p-1", day: 0),
                    try draft(CatalogExamples.injectionAdministered, "p-1", day: 10),
                    try draft(CatalogExamples.consentRecorded, "p-2", day: 0),
                    try draft(CatalogExamples.coursePlanned, "p-2", day: 0),
                    try draft(CatalogExamples.injectionAdministered, "p-2", day: 30),
                    try draft(effect, "p-2", day: 12),
                ], signedBy: key)
            let now = Timestamp(millisecondsSinceEpoch: start + 20 * day)
            // p-1's window opens on day 24, p-2's on day 44.
            #expect(try store.due(within: 3, now: now).map(\.patient).isEmpty)
            #expect(try store.due(within: 4, now: now).map(\.patient) == ["p-1"])
            #expect(try store.due(within: 30, now: now).map(\.patient) == ["p-1", "p-2"])
            let alerts = try store.openAlerts()
            #expect(alerts.map(\.kind) == ["neurological-red-flag", "serious-adverse-event", "injection-while-red-flag"])
            #expect(alerts.allSatisfy { $0.patient == "p-2" })
        }
    }
}
