import Foundation
import ProloDomain
import ProloStore
import ProloTestSupport
import Testing

/// SQLite's defensive mode (`SQLITE_DBCONFIG_DEFENSIVE`) is on for every connection the store opens: even with
/// `PRAGMA writable_schema = ON`, no statement may edit `sqlite_master` (where a tamperer would rewrite the
/// append-only triggers in place).
@Suite("Every store connection runs in SQLite's defensive mode")
struct DefensiveModeTests {
    private static let editSchema = "UPDATE sqlite_master SET sql = sql WHERE name = 'events_refuse_update'"

    /// Turns `writable_schema` on, then expects the schema edit to be refused (when preparing: a connection out of
    /// defensive mode prepares it, and then a writer runs it and a reader fails only on the read-only file).
    private static func expectSchemaEditRefused(
        _ connection: SQLiteConnection, sourceLocation: SourceLocation = #_sourceLocation
    ) throws(StoreError) {
        try connection.execute("PRAGMA writable_schema = ON")
        defer { try? connection.execute("PRAGMA writable_schema = OFF") }
        #expect(sourceLocation: sourceLocation) {
            try connection.statement(editSchema).run()
        } throws: { error in
            (error as? StoreError)?.message.contains("may not be modified") == true
        }
    }

    @Test("with writable_schema on, editing sqlite_master is refused on the writer, on a reader and on a new connection")
    func schemaEditRefused() throws {
        try TemporaryDirectory.with { directory in
            let (store, key) = try Fixtures.makeStore(in: directory)
            try store.record([try Fixtures.painDraft()], signedBy: key)
            #expect(throws: StoreError.self) {
                try store.write { connection throws(StoreError) in try Self.expectSchemaEditRefused(connection) }
                // Leave nothing committed, whatever happened above.
                throw StoreError(.internalError, "roll back")
            }
            try store.read { connection throws(StoreError) in try Self.expectSchemaEditRefused(connection) }
            let other = try SQLiteConnection(path: store.path)
            try Self.expectSchemaEditRefused(other)
            let reader = try SQLiteConnection(path: store.path, readOnly: true)
            try Self.expectSchemaEditRefused(reader)

            // The triggers are still there and still refuse.
            #expect(throws: StoreError.self) { try other.execute("DELETE FROM events") }
            #expect(try store.count() == 1)
        }
    }
}
