import Foundation
import ProloDomain
import ProloStore
import ProloTestSupport
import Testing

@Suite("Opening a store refuses what it cannot safely use, and touches nothing")
struct OpenStoreTests {
    private func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    private func expectRefused(_ path: String, code: StoreError.Code, mentioning text: String) {
        let before = bytes(path)
        #expect {
            try EventStore.open(at: path)
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.code == code && error.message.contains(text)
        }
        #expect(bytes(path) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test("a missing path is refused and no file is created")
    func missing() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("absent.sqlite")
            expectRefused(path, code: .storeNotFound, mentioning: path)
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test("a text file, an empty file and a directory are not stores")
    func notSQLite() throws {
        try TemporaryDirectory.with { directory in
            let text = directory.file("notes.txt")
            try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
            expectRefused(text, code: .notAStore, mentioning: "not a Prolo store")
            let empty = directory.file("empty.sqlite")
            try Data().write(to: URL(fileURLWithPath: empty))
            expectRefused(empty, code: .notAStore, mentioning: "not a Prolo store")
            expectRefused(directory.path, code: .notAStore, mentioning: "directory")
        }
    }

    @Test(
        "another SQLite database is not a Prolo store",
        .requires(.sqlite3, "no other SQLite database is made, so its refusal is not checked"))
    func otherDatabase() throws {
        let sqlite3 = try #require(RequiredTool.sqlite3.path)
        try TemporaryDirectory.with { directory in
            let path = directory.file("other.db")
            let result = try CommandRunner.run(sqlite3, [path, "CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1);"])
            #expect(result.status == 0)
            expectRefused(path, code: .notAStore, mentioning: "not a Prolo store")
        }
    }

    @Test(
        "a store with a newer schema version is refused and left as it was",
        .requires(.sqlite3, "no store from a newer Prolo is made, so its refusal is not checked"))
    func newerSchema() throws {
        let sqlite3 = try #require(RequiredTool.sqlite3.path)
        try TemporaryDirectory.with { directory in
            let path: String
            do {
                let (store, key) = try Fixtures.makeStore(in: directory)
                try store.record([try Fixtures.painDraft()], signedBy: key)
                path = store.path
            }
            let result = try CommandRunner.run(sqlite3, [path, "PRAGMA user_version = 99;"])
            #expect(result.status == 0)
            expectRefused(path, code: .newerSchema, mentioning: "99")
        }
    }

    @Test(
        "a plain sqlite3 UPDATE or DELETE on events is refused by the append-only triggers",
        .requires(.sqlite3, "the append-only triggers are not tried from outside Prolo"))
    func triggers() throws {
        let sqlite3 = try #require(RequiredTool.sqlite3.path)
        try TemporaryDirectory.with { directory in
            let (store, key) = try Fixtures.makeStore(in: directory)
            try store.record([try Fixtures.painDraft()], signedBy: key)
            for sql in ["UPDATE events SET patient = 'p-9'", "DELETE FROM events"] {
                let result = try CommandRunner.run(sqlite3, [store.path, sql])
                #expect(result.status != 0)
                #expect(result.stderr.contains("append-only"))
            }
            #expect(try store.events().first?.event.patient == "p-0001")
        }
    }
}
