import Foundation

/// Reads a store file's SQLite header without opening it, so a wrong file is refused before SQLite touches it.
enum StoreFile {
    /// `PRAGMA application_id` of a Prolo store: the ASCII bytes `PROL`.
    static let applicationID: Int32 = 0x5052_4F4C

    /// What the header says.
    struct Header {
        let userVersion: Int
        let applicationID: Int32
    }

    /// Checks that `path` is a Prolo store this build can open, without writing anything.
    static func inspect(_ path: String) throws(StoreError) -> Header {
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
        func bigEndian(_ offset: Int) -> Int32 {
            Int32(bitPattern: bytes[offset..<(offset + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
        let header = Header(userVersion: Int(bigEndian(60)), applicationID: bigEndian(68))
        guard header.applicationID == applicationID else {
            throw StoreError(.notAStore, "\(path) is an SQLite database but not a Prolo store (application_id \(header.applicationID))")
        }
        guard header.userVersion <= Migration.latestVersion else {
            throw StoreError(
                .newerSchema,
                "\(path) has schema version \(header.userVersion), newer than this build's \(Migration.latestVersion); "
                    + "upgrade prolo to open it (the store was not changed)")
        }
        return header
    }
}
