import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloTestSupport
import Testing

/// The projection's tables are ProloProjections' own track (`Schemas/sqlite/treatment-projection/`), applied when a
/// store is opened with the projection and recorded in `schema_tracks`; stores made before tracks keep what they hold.
@Suite("The read models' own schema track")
struct SchemaTrackTests {
    private let start: Int64 = 1_790_000_000_000

    private func consent(_ store: EventStore, _ key: DeviceKey) throws {
        try store.record(
            [
                try EventDraft(
                    CatalogExamples.consentRecorded, patient: "p-1", occurredAt: Timestamp(millisecondsSinceEpoch: start),
                    author: Fixtures.clinician)
            ], signedBy: key)
    }

    private func tables(_ store: EventStore) throws -> Set<String> {
        try store.read { connection throws(StoreError) -> Set<String> in
            let statement = try connection.statement("SELECT name FROM sqlite_schema WHERE type IN ('table', 'index')")
            defer { statement.reset() }
            var names: Set<String> = []
            while try statement.step() { names.insert(statement.text(0)) }
            return names
        }
    }

    private func tracks(_ store: EventStore) throws -> [String: Int64] {
        try store.read { connection throws(StoreError) -> [String: Int64] in
            let statement = try connection.statement("SELECT track, version FROM schema_tracks")
            defer { statement.reset() }
            var rows: [String: Int64] = [:]
            while try statement.step() { rows[statement.text(0)] = statement.int64(1) }
            return rows
        }
    }

    @Test("a store made without the projection has none of its tables; opening it with the projection makes and fills them")
    func madeByTheProjection() throws {
        try TemporaryDirectory.with { directory in
            let key = DeviceKey()
            let path = directory.file("laptop.sqlite")
            let plain = try EventStore.create(at: path, deviceName: "laptop", key: key)
            try consent(plain, key)
            let before = try tables(plain)
            #expect(before.contains("events") && before.contains("schema_tracks"))
            for table in ["projections", "patient_fold", "patient_fold_base", "patient_summary", "patient_alerts", "events_by_patient_time"] {
                #expect(!before.contains(table), "\(table) is the projection's, not the store's")
            }
            #expect(try tracks(plain).isEmpty)

            let projected = try ProjectedStore.open(at: path)
            #expect(try tracks(projected.store) == ["treatment-projection": 1])
            #expect(try tables(projected.store).isSuperset(of: ["patient_fold", "patient_summary", "events_by_patient_time"]))
            #expect(try projected.state(of: "p-1")?.consent == .given)
        }
    }

    @Test("a store made before tracks at user_version 10 keeps its read models: the track is recorded at 1 and nothing is rebuilt")
    func storeFromBeforeTracks() throws {
        try TemporaryDirectory.with { directory in
            let key = DeviceKey()
            let created = try ProjectedStore.create(at: directory.file("clinic.sqlite"), deviceName: "clinic", key: key)
            try consent(created.store, key)
            let expected = try readModelDump(created)
            // As the last build before tracks left it: every table made by the store's migrations 1 to 10.
            try created.store.write { connection throws(StoreError) in
                try connection.execute("DROP TABLE schema_tracks; PRAGMA user_version = 10;")
            }
            var rebuilt = 0
            let reopened = try ProjectedStore.open(at: created.store.path) { _, _ in rebuilt += 1 }
            #expect(rebuilt == 0)
            #expect(try tracks(reopened.store) == ["treatment-projection": 1])
            #expect(try readModelDump(reopened) == expected)
            let (version, before) = try reopened.store.read { connection throws(StoreError) -> (Int64?, String?) in
                let statement = try connection.statement("SELECT value FROM store_meta WHERE key = 'user_version_before_tracks'")
                defer { statement.reset() }
                return (try connection.scalarInt("PRAGMA user_version"), try statement.step() ? statement.text(0) : nil)
            }
            #expect(version == 11 && before == "10")
        }
    }

    @Test("read-model tables newer than this build refuse the projected open and are left unchanged; the log still opens")
    func newerTrackRefused() throws {
        try TemporaryDirectory.with { directory in
            let key = DeviceKey()
            let created = try ProjectedStore.create(at: directory.file("clinic.sqlite"), deviceName: "clinic", key: key)
            try consent(created.store, key)
            try created.store.write { connection throws(StoreError) in
                try connection.execute("UPDATE schema_tracks SET version = 99 WHERE track = 'treatment-projection'")
            }
            #expect {
                _ = try ProjectedStore.open(at: created.store.path)
            } throws: { error in
                let error = error as? StoreError
                return error?.code == .newerSchema && error?.message.contains("treatment-projection tables at version 99") == true
            }
            let plain = try EventStore.open(at: created.store.path)
            #expect(try tracks(plain) == ["treatment-projection": 99])
            #expect(try plain.count() == created.store.count())
        }
    }
}
