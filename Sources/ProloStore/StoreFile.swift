import Foundation

/// Recognises a Prolo store: first by the SQLite magic bytes (before SQLite opens anything), then by its pragmas.
enum StoreFile {
    /// `PRAGMA application_id` of a Prolo store: the ASCII bytes `PROL`.
    static let applicationID: Int32 = 0x5052_4F4C

    /// What the header says.
    struct Header {
        let userVersion: Int
        let applicationID: Int32
    }

    /// Checks that `path` is an SQLite file, reading its first bytes only (SQLite never sees other files).
    static func inspect(_ path: String) throws(StoreError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw StoreError(.storeNotFound, "no store at \(path); run `prolo init --store \(path)` to create one")
        }
        guard !isDirectory.boolValue else {
            throw StoreError(.notAStore, "\(path) is a directory, not a Prolo store")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StoreError(.permissionDenied, "cannot read \(path): permission denied")
        }
        defer { try? handle.close() }
        let bytes = [UInt8]((try? handle.read(upToCount: 100)) ?? Data())
        guard bytes.count == 100, bytes.starts(with: Array("SQLite format 3\0".utf8)) else {
            throw StoreError(.notAStore, "\(path) is not a Prolo store (not an SQLite database)")
        }
    }

    /// Checks, through SQLite (so changes still in the WAL count), that the open file is a Prolo store
    /// this build can read. Reads only.
    static func check(_ connection: SQLiteConnection, path: String) throws(StoreError) -> Header {
        let applicationID: Int64
        let userVersion: Int64
        do {
            applicationID = try connection.scalarInt("PRAGMA application_id") ?? 0
            userVersion = try connection.scalarInt("PRAGMA user_version") ?? 0
        } catch {
            // Only SQLite's "not a database" means that; a file that cannot be read here (permissions, a read-only
            // folder for the -shm file, an I/O error) stays an I/O error, exit 74, with its own message.
            if error.code == .notAStore {
                throw StoreError(.notAStore, "\(path) is not a Prolo store (\(error.message))")
            }
            throw error
        }
        guard applicationID == Int64(Self.applicationID) else {
            throw StoreError(.notAStore, "\(path) is an SQLite database but not a Prolo store (application_id \(applicationID))")
        }
        guard userVersion <= Migration.latestVersion else {
            throw StoreError(
                .newerSchema,
                "\(path) has schema version \(userVersion), newer than this build's \(Migration.latestVersion); "
                    + "upgrade prolo to open it (the store was not changed)")
        }
        return Header(userVersion: Int(userVersion), applicationID: Int32(applicationID))
    }
}
