internal import CSQLite

/// One SQLite connection with a cache of prepared statements. Not thread-safe: ``EventStore`` serialises access.
package final class SQLiteConnection {
    let path: String
    private let handle: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens an existing database file (never creates one unless `create` is set).
    package init(path: String, readOnly: Bool = false, create: Bool = false) throws(StoreError) {
        var flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create { flags |= SQLITE_OPEN_CREATE }
        flags |= SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        var pointer: OpaquePointer?
        let status = sqlite3_open_v2(path, &pointer, flags, nil)
        guard status == SQLITE_OK, let pointer else {
            let message = pointer.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(pointer)
            throw StoreError(create ? .cannotCreate : .ioError, "cannot open \(path): \(message)",
                cause: SQLiteFailure(code: status, message: message))
        }
        // Defensive mode on every connection, reader or writer: no SQL can corrupt the file on purpose
        // (`PRAGMA writable_schema` edits of sqlite_master, writes to shadow tables, journal_mode=OFF), so what
        // a tamperer has to do to the log needs another tool, and `audit verify` catches it there.
        let defensive = prolo_sqlite_db_config_int(pointer, SQLITE_DBCONFIG_DEFENSIVE, 1, nil)
        guard defensive == SQLITE_OK else {
            let message = String(cString: sqlite3_errstr(defensive))
            sqlite3_close_v2(pointer)
            throw StoreError(
                .internalError, "cannot turn on SQLite's defensive mode for \(path): \(message)",
                cause: SQLiteFailure(code: defensive, message: message))
        }
        self.path = path
        self.handle = pointer
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Keeps the `-wal` and `-shm` files when the last connection closes. SQLite still checkpoints everything
    /// into the main file then; the files stay so that a later reader on a full or read-only disk need not create
    /// them (reads keep working while the disk is full).
    package func keepWALFilesOnClose() {
        var on: Int32 = 1
        sqlite3_file_control(handle, "main", SQLITE_FCNTL_PERSIST_WAL, &on)
    }

    /// Waits up to `milliseconds` for another writer's lock before failing with ``StoreError/Code/busy``.
    package func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(handle, milliseconds)
    }

    /// Runs one or more statements that return no rows.
    package func execute(_ sql: String) throws(StoreError) {
        switch sql {
        case "BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK":
            // Every read and write runs these: keep them prepared instead of parsing them again each time.
            try statement(sql).run()
            return
        default:
            break
        }
        var errorMessage: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if status != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_free(errorMessage)
            throw error(status: status, message: message, sql: sql)
        }
    }

    /// A cached prepared statement for `sql`, reset and with bindings cleared.
    package func statement(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var pointer: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil)
        guard status == SQLITE_OK, let pointer else {
            throw error(status: status, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
        }
        let statement = SQLiteStatement(handle: pointer, connection: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// How many prepared statements the cache holds (one per distinct SQL text: bounded by the code's queries).
    package var cachedStatements: Int { statements.count }

    /// Bytes SQLite holds allocated in this process, all connections together (`sqlite3_memory_used()`).
    package static var memoryUsed: Int { Int(sqlite3_memory_used()) }

    /// Bytes of page cache this connection uses now (`SQLITE_DBSTATUS_CACHE_USED`).
    package var pageCacheBytes: Int {
        var current: Int32 = 0
        var highwater: Int32 = 0
        sqlite3_db_status(handle, SQLITE_DBSTATUS_CACHE_USED, &current, &highwater, 0)
        return Int(current)
    }

    /// Resets every cached statement, so none keeps a read snapshot open after the caller is done.
    package func resetStatements() {
        for statement in statements.values { statement.reset() }
    }

    /// The first column of the first row of `sql`, as an integer (or `nil` for no row or NULL).
    package func scalarInt(_ sql: String) throws(StoreError) -> Int64? {
        let statement = try statement(sql)
        // Reset before returning: a statement left mid-result keeps a read snapshot open, and a connection
        // holding an old snapshot can never upgrade to a write lock once another connection has committed.
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return statement.isNull(0) ? nil : statement.int64(0)
    }

    /// Whether the connection is inside a transaction.
    package var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Rows changed by the last statement.
    package var changes: Int { Int(sqlite3_changes(handle)) }

    /// Maps a SQLite result code to a store error that says what to do.
    package func error(status: Int32, message: String, sql: String?) -> StoreError {
        let primary = status & 0xFF
        let code: StoreError.Code
        switch primary {
        case SQLITE_BUSY, SQLITE_LOCKED: code = .busy
        case SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_CORRUPT: code = .ioError
        case SQLITE_NOTADB: code = .notAStore
        case SQLITE_CONSTRAINT: code = .chainConflict
        default: code = .internalError
        }
        var text = message
        switch primary {
        case SQLITE_BUSY, SQLITE_LOCKED:
            text = "the store \(path) is locked by another writer (\(message)); retry when it is done"
        case SQLITE_FULL:
            text = "the disk holding \(path) is full (\(message)); nothing was written"
        case SQLITE_CORRUPT:
            text = "the store \(path) is damaged (\(message))"
        case SQLITE_READONLY, SQLITE_CANTOPEN:
            text = "the store \(path) cannot be written or opened here (\(message)); check the permissions of the "
                + "file, its -wal and -shm files and their folder, and that the file system is not read-only"
        case SQLITE_IOERR:
            text = "reading or writing the store \(path) failed (\(message), SQLite code \(status))"
        default:
            break
        }
        return StoreError(code, text, cause: SQLiteFailure(code: status, message: message), sql: sql)
    }

    fileprivate var rawHandle: OpaquePointer { handle }
}

/// A prepared statement. Bind parameters by 1-based index, then ``step()`` through rows.
package final class SQLiteStatement {
    private let handle: OpaquePointer
    private unowned let connection: SQLiteConnection
    let sql: String

    fileprivate init(handle: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.handle = handle
        self.connection = connection
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    package func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    package func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    package func bind(_ index: Int32, _ value: Int64?) {
        if let value { bind(index, value) } else { sqlite3_bind_null(handle, index) }
    }

    package func bind(_ index: Int32, _ value: String) {
        // Native strings are contiguous UTF-8: bind them in place (SQLite copies them) instead of through a
        // temporary C string. Like a C string, the text ends at its first NUL.
        let bound = value.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            guard let base = utf8.baseAddress else { return false }
            let count = utf8.firstIndex(of: 0) ?? utf8.count
            // CChar and UInt8 are signed and unsigned variants of one type, so the memory may be read as either.
            let text = UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self)
            sqlite3_bind_text(handle, index, text, Int32(count), prolo_sqlite_transient())
            return true
        }
        if bound != true { sqlite3_bind_text(handle, index, value, -1, prolo_sqlite_transient()) }
    }

    package func bind(_ index: Int32, _ value: String?) {
        if let value { bind(index, value) } else { sqlite3_bind_null(handle, index) }
    }

    package func bind(_ index: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            _ = sqlite3_bind_blob(handle, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buffer.count),
                prolo_sqlite_transient())
        }
    }

    package func bind(_ index: Int32, _ bytes: [UInt8]?) {
        if let bytes { bind(index, bytes) } else { sqlite3_bind_null(handle, index) }
    }

    /// Advances to the next row; `false` when done.
    @discardableResult
    package func step() throws(StoreError) -> Bool {
        let status = sqlite3_step(handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let message = String(cString: sqlite3_errmsg(connection.rawHandle))
            sqlite3_reset(handle)
            throw connection.error(status: status, message: message, sql: sql)
        }
    }

    /// Runs a statement that returns no rows.
    package func run() throws(StoreError) {
        _ = try step()
        sqlite3_reset(handle)
    }

    /// The number of columns in a result row.
    package var columnCount: Int32 { sqlite3_column_count(handle) }

    package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    package func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    package func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        // The byte count SQLite knows saves a strlen; the text still ends at its first NUL, as a C string does.
        let bytes = UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, column)))
        let text = UnsafeBufferPointer(rebasing: bytes[..<(bytes.firstIndex(of: 0) ?? bytes.count)])
        return String(decoding: text, as: UTF8.self)
    }

    package func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    package func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { bytes, initialized in
            UnsafeMutableRawBufferPointer(bytes).copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: count))
            initialized = count
        }
    }

    package func optionalBlob(_ column: Int32) -> [UInt8]? { isNull(column) ? nil : blob(column) }
}

extension SQLiteConnection {
    /// The rowid of the last inserted row.
    package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(rawHandle) }
}

/// SQLite's own report of a failure (its extended result code and message): the ``StoreError/cause`` of an error
/// SQLite raised.
struct SQLiteFailure: Error, Sendable, CustomStringConvertible {
    let code: Int32
    let message: String
    var description: String { "SQLite error \(code): \(message)" }
}
