public import ProloDomain
import Foundation
import Synchronization

/// The device's append-only event log in one SQLite file (DESIGN §4).
///
/// Guarantees: an acknowledged ``record(_:signedBy:)`` or ``append(_:scope:checkpoint:)`` is durable (WAL, `synchronous=FULL`);
/// a batch is one transaction, so it is stored whole or not at all; events are never updated or
/// deleted (triggers refuse it); each origin's events form one gapless hash chain. The store is safe to
/// share between threads; writers are serialised, and a second process waits for the lock up to the
/// busy timeout and then fails with ``StoreError/Code/busy``.
public final class EventStore: Sendable {
    /// The store file.
    public let path: String
    /// The store instance and its device.
    public let identity: StoreIdentity
    let connection: Mutex<SQLiteConnection>
    let readers: ReaderPool
    /// Runs inside every append transaction (the projections' read models), so both commit or neither does.
    let observer: (any AppendObserver)?
    /// The device registry last read by a read transaction, with the `registry_version` it was read at.
    let registryCache = Mutex<RegistrySnapshot?>(nil)
    /// The version vector last read, with the highest `seq` it covers.
    let vectorCache = Mutex<VectorSnapshot?>(nil)

    private init(
        path: String, identity: StoreIdentity, connection: consuming sending SQLiteConnection,
        observer: (any AppendObserver)?, busyTimeoutMilliseconds: Int32
    ) {
        self.path = path
        self.identity = identity
        self.readers = ReaderPool(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        self.connection = Mutex(connection)
        self.observer = observer
    }

    /// Closes the read-only connections before the writer: SQLite checkpoints the WAL into the main file when the
    /// last connection closes, which only a read-write one can do. Without this order a command left its events in
    /// `-wal` at exit, and a copy of the `.sqlite` file alone missed them. (The emptied `-wal` and `-shm` files stay:
    /// see `SQLiteConnection.keepWALFilesOnClose()`.)
    deinit {
        readers.closeIdle()
    }

    // MARK: Creating and opening

    /// Creates a new store at `path` for a new device, with its key file at `DeviceKeyFile.path(forStore:)`.
    ///
    /// Refuses to overwrite an existing store or key file. On failure nothing is left behind.
    public static func create(
        at path: String, deviceName: String, key: DeviceKey = DeviceKey(), trust: StoreTrust = .clinicRoot
    ) throws(StoreError) -> EventStore {
        try create(at: path, deviceName: deviceName, key: key, trust: trust, observer: nil)
    }

    /// Creates a store whose appends also run `observer` in their transaction.
    package static func create(
        at path: String, deviceName: String, key: DeviceKey, trust: StoreTrust, observer: (any AppendObserver)?
    ) throws(StoreError) -> EventStore {
        guard (try? Label(checked: deviceName)) != nil else {
            throw StoreError(.invalidInput, "device name must be 1 to 200 characters, not only white space")
        }
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.cannotCreate, "\(path) already exists; choose another --store path or open the existing store")
        }
        let keyPath = DeviceKeyFile.path(forStore: path)
        do {
            try DeviceKeyFile.create(key, at: keyPath)
        } catch {
            throw StoreError(error)
        }
        do {
            let connection = try SQLiteConnection(path: path, create: true)
            // Patient records: readable by the store's owner only, like the device key. SQLite gives the -wal
            // and -shm files the database file's mode, so this is set before WAL mode creates them.
            try restrictToOwner(path)
            try connection.execute("PRAGMA journal_mode = WAL")
            try connection.execute("PRAGMA application_id = \(StoreFile.applicationID)")
            try configure(connection, busyTimeoutMilliseconds: 5000)
            try Migration.migrate(connection, from: 0)
            try observer?.schema.apply(connection, store: path)
            let storeID = UUIDv7.make(milliseconds: Self.wallMilliseconds()).text
            try connection.execute("BEGIN IMMEDIATE")
            try setMeta(connection, "store_id", storeID)
            try setMeta(connection, "device_name", deviceName)
            try setMeta(connection, "device_public_key", key.publicKey.base64)
            let root: DevicePublicKey
            var homePatient: PatientID?
            switch trust {
            case .clinicRoot:
                root = key.publicKey
                try insertOrigin(connection, key.publicKey, name: deviceName, role: .root)
            case .joining(let clinicRoot, let patient):
                root = clinicRoot
                homePatient = patient
                try insertOrigin(connection, clinicRoot, name: "clinic root", role: .root)
                try insertOrigin(
                    connection, key.publicKey, name: deviceName, role: patient == nil ? .clinic : .home, patient: patient)
                if let patient { try setMeta(connection, "home_patient", patient.text) }
            }
            try setMeta(connection, "root_public_key", root.base64)
            try connection.execute("COMMIT")
            let identity = StoreIdentity(
                storeID: storeID, deviceName: deviceName, publicKey: key.publicKey, rootPublicKey: root,
                homePatient: homePatient)
            return EventStore(
                path: path, identity: identity, connection: connection, observer: observer, busyTimeoutMilliseconds: 5000)
        } catch {
            for leftover in [path, path + "-wal", path + "-shm", keyPath] {
                try? FileManager.default.removeItem(atPath: leftover)
            }
            throw error
        }
    }

    /// Opens an existing store.
    ///
    /// Refuses, without writing anything, a missing file, a file that is not a Prolo store, and a store
    /// made by a newer schema version. Applies pending migrations of this build.
    public static func open(at path: String, busyTimeoutMilliseconds: Int32 = 5000) throws(StoreError) -> EventStore {
        try open(at: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds, observer: nil)
    }

    /// Opens a store whose appends also run `observer` in their transaction.
    package static func open(
        at path: String, busyTimeoutMilliseconds: Int32, observer: (any AppendObserver)?
    ) throws(StoreError) -> EventStore {
        try StoreFile.inspect(path)
        let connection = try SQLiteConnection(path: path)
        connection.setBusyTimeout(milliseconds: busyTimeoutMilliseconds)
        let header = try StoreFile.check(connection, path: path)
        try configure(connection, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        if header.userVersion < Migration.latestVersion {
            try Migration.migrate(connection, from: header.userVersion)
        }
        try observer?.schema.apply(connection, store: path)
        var values: [String: String] = [:]
        for key in StoreIdentity.metaKeys { values[key] = try meta(connection, key) }
        let identity = try StoreIdentity(meta: values, of: path)
        connection.resetStatements()
        return EventStore(
            path: path, identity: identity, connection: connection, observer: observer,
            busyTimeoutMilliseconds: busyTimeoutMilliseconds)
    }

    private static func configure(_ connection: SQLiteConnection, busyTimeoutMilliseconds: Int32) throws(StoreError) {
        connection.setBusyTimeout(milliseconds: busyTimeoutMilliseconds)
        connection.keepWALFilesOnClose()
        try connection.execute("PRAGMA synchronous = FULL")
        try connection.execute("PRAGMA foreign_keys = ON")
        try connection.execute("PRAGMA trusted_schema = OFF")
        // 16 MiB of page cache: index pages of a large log stay in memory across batches.
        try connection.execute("PRAGMA cache_size = -\(Self.pageCacheLimitBytes / 1024)")
        try connection.execute("PRAGMA wal_autocheckpoint = 4000")
    }

    // MARK: Writing

    /// Records new events of this device: chains, compresses and signs them, and appends them in one transaction.
    ///
    /// Compression and signing run on every core; linking and the insert run under the write lock.
    /// - Returns: the stored events, in the order of `drafts`.
    @discardableResult
    public func record(_ drafts: [EventDraft], signedBy key: DeviceKey) throws(StoreError) -> [StoredEvent] {
        guard key.publicKey == identity.publicKey else {
            throw StoreError(
                .permissionDenied,
                "the device key does not belong to this store (store device \(identity.deviceName), origin \(identity.origin))")
        }
        guard !drafts.isEmpty else { return [] }
        if let patient = identity.homePatient, let other = drafts.first(where: { $0.patient != nil && $0.patient != patient }) {
            throw StoreError(
                .permissionDenied,
                "this is patient \(patient)'s home device; it cannot record events about patient \(other.patient?.text ?? "?")")
        }
        let compressed = try Self.compress(drafts)
        let origin = identity.origin
        return try write { connection throws(StoreError) -> [StoredEvent] in
            let now = Self.wallMilliseconds()
            let head = try Self.chainHead(connection, origin: origin)
            let clock = HybridClock(last: try Self.latestHLC(connection, notAfter: now))
            var sealer = EventSealer(origin: origin, lastSeq: head.seq, lastHash: head.hash, clock: clock)
            var unsigned: [UnsignedEvent] = []
            unsigned.reserveCapacity(compressed.count)
            for draft in compressed {
                unsigned.append(
                    try sealer.link(draft, wallMilliseconds: now) { patient throws(StoreError) in
                        try Self.patientHead(connection, origin: origin, patient: patient)
                    })
            }
            let events: [Event]
            do {
                events = try Parallel.map(unsigned, minimumPerWorker: 16) { try $0.signed(with: key) }
            } catch {
                throw StoreError(.internalError, "cannot sign events: \(error)")
            }
            let registry = try Self.applyOwnRegistryEvents(events, connection)
            let stored = try events.map { event throws(StoreError) in try Self.insert(connection, event, receivedAt: now) }
            // A store restored from a backup may have received the branch it forked from: what waits of it in
            // quarantine at the positions just recorded is fork evidence now, found here rather than at a later
            // delivery of it, and what was recorded from the fork on is held like the rest of the forked origin.
            var reexamined = registry.enrolled
            if try Self.waitsOrForked(origin, connection) { reexamined.insert(origin) }
            let admitted = try Self.admitQuarantined(
                of: reexamined, revoking: registry.revoked, connection, identity: identity)
            try observer?.didAppend(stored + admitted.foldable, in: connection)
            if !admitted.refold.isEmpty { try observer?.refold(admitted.refold, in: connection) }
            return stored
        }
    }

    /// Compresses the drafts' bodies on every core: the first step of every backend's `record`.
    package static func compress(_ drafts: [EventDraft]) throws(StoreError) -> [CompressedDraft] {
        do {
            return try Parallel.map(drafts, minimumPerWorker: 16) { try $0.compressed() }
        } catch {
            throw StoreError(.internalError, "cannot compress event body: \(error)")
        }
    }

    /// Adds a device whose events this store may append (its key verifies them). Re-adding the same key is a no-op.
    ///
    /// A key trusted by hand gets the `clinic` role unless told otherwise; normally devices join through a
    /// `device.enrolled` event instead (see `DeviceRegistry`).
    public func registerOrigin(
        _ publicKey: DevicePublicKey, name: String?, role: DeviceRecord.Role = .clinic, patient: PatientID? = nil
    ) throws(StoreError) {
        try write { connection throws(StoreError) in
            try Self.insertOrigin(connection, publicKey, name: name, role: role, patient: patient)
        }
    }

    /// Runs `body` in one immediate (write-locking) transaction; commits if it returns, rolls back if it throws.
    package func write<Result: Sendable>(_ body: (SQLiteConnection) throws(StoreError) -> Result) throws(StoreError)
        -> Result
    {
        try connection.withLock { connection throws(StoreError) -> Result in
            try connection.execute("BEGIN IMMEDIATE")
            do throws(StoreError) {
                let result = try body(connection)
                connection.resetStatements()
                try connection.execute("COMMIT")
                return result
            } catch {
                if connection.isInTransaction { try? connection.execute("ROLLBACK") }
                throw error
            }
        }
    }

    // MARK: Reading

    /// The event with this id, or `nil`.
    public func event(id: EventID) throws(StoreError) -> StoredEvent? {
        try read { connection throws(StoreError) in
            let statement = try connection.statement("SELECT \(Self.columns) FROM events WHERE id = ?")
            statement.bind(1, id.text)
            guard try statement.step() else { return nil }
            return try Self.decodeRow(statement)
        }
    }

    /// Events matching `filter`, in local arrival order (or newest first).
    public func events(_ filter: EventFilter = EventFilter()) throws(StoreError) -> [StoredEvent] {
        var result: [StoredEvent] = []
        try scan(filter) { result.append($0) }
        return result
    }

    /// Calls `body` with each event matching `filter`, without holding them all in memory.
    public func scan(_ filter: EventFilter, _ body: (StoredEvent) throws(StoreError) -> Void) throws(StoreError) {
        var clauses: [String] = []
        if filter.patient != nil { clauses.append("patient = ?") }
        if filter.type != nil { clauses.append("type = ?") }
        if filter.origin != nil { clauses.append("origin = ?") }
        if filter.origin != nil, filter.originSeqs != nil { clauses.append("origin_seq BETWEEN ? AND ?") }
        if filter.afterSeq != nil { clauses.append("seq > ?") }
        var sql = "SELECT \(Self.columns) FROM events"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += filter.newestFirst ? " ORDER BY seq DESC" : " ORDER BY seq"
        if filter.limit != nil { sql += " LIMIT ?" }
        try read { connection throws(StoreError) in
            let statement = try connection.statement(sql)
            var index: Int32 = 1
            func next() -> Int32 {
                defer { index += 1 }
                return index
            }
            if let patient = filter.patient { statement.bind(next(), patient.text) }
            if let type = filter.type { statement.bind(next(), type.rawValue) }
            if let origin = filter.origin {
                statement.bind(next(), origin.text)
                if let range = filter.originSeqs {
                    statement.bind(next(), range.lowerBound)
                    statement.bind(next(), range.upperBound)
                }
            }
            if let after = filter.afterSeq { statement.bind(next(), after) }
            if let limit = filter.limit { statement.bind(next(), Int64(limit)) }
            while try statement.step() {
                try body(try Self.decodeRow(statement))
            }
            statement.reset()
        }
    }

    /// For each origin, the highest `originSeq` held.
    public func versionVector() throws(StoreError) -> VersionVector {
        try read { connection throws(StoreError) in
            // Events are only ever added, each with a higher `seq`: the vector read at the highest `seq` then is
            // brought up to date from the events after it, and is reused as it is while none arrived (a server
            // answers it on nearly every sync request). One kept from a later snapshot than this read's is returned
            // too: what it adds was committed while this call ran.
            let last = try connection.statement("SELECT max(seq) FROM events")
            _ = try last.step()
            let highest = last.isNull(0) ? 0 : last.int64(0)
            last.reset()
            let cached = vectorCache.withLock { $0 }
            if let cached, cached.highestSeq >= highest { return cached.vector }
            var vector: VersionVector
            if let cached, cached.highestSeq < highest {
                vector = cached.vector
                // NOT INDEXED: the new rows by their `seq` range, not a pass over the (origin, origin_seq) index.
                let since = try connection.statement(
                    "SELECT origin, max(origin_seq) FROM events NOT INDEXED WHERE seq > ? GROUP BY origin")
                since.bind(1, cached.highestSeq)
                while try since.step() { vector.advance(since.text(0), to: since.int64(1)) }
                since.reset()
            } else {
                vector = try Self.readVersionVector(connection)
            }
            vectorCache.withLock { current in
                if (current?.highestSeq ?? -1) < highest { current = VectorSnapshot(highestSeq: highest, vector: vector) }
            }
            return vector
        }
    }

    /// The version vector from the `(origin, origin_seq)` index.
    private static func readVersionVector(_ connection: SQLiteConnection) throws(StoreError) -> VersionVector {
        // A skip-scan of the (origin, origin_seq) index: one seek per origin, not a pass over every event
        // (`GROUP BY origin` reads the whole index, which every sync's first request paid).
        let statement = try connection.statement(
            """
            WITH RECURSIVE held(origin) AS (
                SELECT min(origin) FROM events
                UNION ALL
                SELECT (SELECT min(origin) FROM events WHERE origin > held.origin) FROM held WHERE held.origin IS NOT NULL
            )
            SELECT origin, (SELECT max(origin_seq) FROM events WHERE events.origin = held.origin)
            FROM held WHERE origin IS NOT NULL
            """)
        var heads: [String: Int64] = [:]
        while try statement.step() {
            heads[statement.text(0)] = statement.int64(1)
        }
        statement.reset()
        return VersionVector(heads: heads)
    }

    /// The number of events held.
    public func count() throws(StoreError) -> Int {
        try read { connection throws(StoreError) in Int(try connection.scalarInt("SELECT count(*) FROM events") ?? 0) }
    }

    /// Runs `body` with the connection, serialised with writers of this process.
    ///
    /// Reads run on their own read-only connections: they see the last committed state and never wait for a
    /// writer (WAL). A read of several statements that must agree runs in one `BEGIN` … `COMMIT`.
    package func read<Result: Sendable>(_ body: (SQLiteConnection) throws(StoreError) -> Result) throws(StoreError)
        -> Result
    {
        try readers.with { connection throws(StoreError) -> Result in
            try connection.execute("BEGIN")
            defer {
                connection.resetStatements()
                try? connection.execute("COMMIT")
            }
            return try body(connection)
        }
    }

    // MARK: SQL

    package static let columns = """
        seq, id, origin, origin_seq, patient, type, schema_version, hlc, occurred_at, received_at, author_id, \
        author_role, prev, patient_prev, dict, body, hash, sig
        """

    static func insert(_ connection: SQLiteConnection, _ event: Event, receivedAt: Int64) throws(StoreError)
        -> StoredEvent
    {
        let statement = try connection.statement(
            """
            INSERT INTO events (id, origin, origin_seq, patient, type, schema_version, hlc, occurred_at, occurred_ms,
                received_at, author_id, author_role, prev, patient_prev, dict, body, hash, sig)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        statement.bind(1, event.id.text)
        statement.bind(2, event.origin.text)
        statement.bind(3, event.originSeq)
        statement.bind(4, event.patient?.text)
        statement.bind(5, event.type.rawValue)
        statement.bind(6, Int64(event.schemaVersion))
        statement.bind(7, event.hlc.packed)
        statement.bind(8, event.occurredAt.text)
        statement.bind(9, event.occurredAt.millisecondsSinceEpoch)
        statement.bind(10, receivedAt)
        statement.bind(11, event.author.id.text)
        statement.bind(12, event.author.role.rawValue)
        statement.bind(13, event.prev?.bytes)
        statement.bind(14, event.patientPrev?.bytes)
        statement.bind(15, Int64(event.dictionary))
        statement.bind(16, event.body)
        statement.bind(17, event.hash.bytes)
        statement.bind(18, event.signature)
        try statement.run()
        return StoredEvent(
            seq: connection.lastInsertRowID, receivedAt: Timestamp(millisecondsSinceEpoch: receivedAt), event: event)
    }

    package static func decodeRow(_ row: SQLiteStatement) throws(StoreError) -> StoredEvent {
        try self.row(row).decoded()
    }

    /// The columns of ``columns``, unchecked.
    package static func row(_ row: SQLiteStatement) -> EventRow {
        EventRow(
            seq: row.int64(0), id: row.text(1), origin: row.text(2), originSeq: row.int64(3), patient: row.optionalText(4),
            type: row.text(5), schemaVersion: row.int64(6), hlc: row.int64(7), occurredAt: row.text(8),
            receivedAt: row.int64(9), authorID: row.text(10), authorRole: row.text(11), prev: row.optionalBlob(12),
            patientPrev: row.optionalBlob(13), dictionary: row.int64(14), body: row.blob(15), hash: row.blob(16),
            signature: row.blob(17))
    }

    static func chainHead(_ connection: SQLiteConnection, origin: Identifier) throws(StoreError)
        -> (seq: Int64, hash: EventHash?)
    {
        let statement = try connection.statement(
            "SELECT origin_seq, hash FROM events WHERE origin = ? ORDER BY origin_seq DESC LIMIT 1")
        statement.bind(1, origin.text)
        guard try statement.step() else { return (0, nil) }
        let head = (statement.int64(0), try? EventHash(bytes: statement.blob(1)))
        statement.reset()
        return head
    }

    static func patientHead(_ connection: SQLiteConnection, origin: Identifier, patient: PatientID)
        throws(StoreError) -> EventHash?
    {
        let statement = try connection.statement(
            "SELECT hash FROM events WHERE patient = ? AND origin = ? ORDER BY origin_seq DESC LIMIT 1")
        statement.bind(1, patient.text)
        statement.bind(2, origin.text)
        guard try statement.step() else { return nil }
        let hash = try? EventHash(bytes: statement.blob(0))
        statement.reset()
        return hash
    }

    /// Sets `path` to mode 0600.
    private static func restrictToOwner(_ path: String) throws(StoreError) {
        guard chmod(path, 0o600) == 0 else {
            let reason = String(cString: strerror(errno))
            throw StoreError(.cannotCreate, "cannot restrict \(path) to its owner (chmod 600): \(reason)")
        }
    }

    /// Whether `event` is held as fork evidence already.
    static func isForkEvidence(_ connection: SQLiteConnection, _ event: Event) throws(StoreError) -> Bool {
        let statement = try connection.statement(
            "SELECT 1 FROM forks WHERE origin = ? AND origin_seq = ? AND other_hash = ?")
        statement.bind(1, event.origin.text)
        statement.bind(2, event.originSeq)
        statement.bind(3, event.hash.bytes)
        defer { statement.reset() }
        return try statement.step()
    }

    static func storedHash(_ connection: SQLiteConnection, id: EventID) throws(StoreError) -> EventHash? {
        let statement = try connection.statement("SELECT hash FROM events WHERE id = ?")
        statement.bind(1, id.text)
        guard try statement.step() else { return nil }
        let hash = try? EventHash(bytes: statement.blob(0))
        statement.reset()
        return hash
    }

    /// The latest HLC held that is not beyond the drift bound, so a far-future event does not drag the clock.
    private static func latestHLC(_ connection: SQLiteConnection, notAfter now: Int64) throws(StoreError) -> HLC {
        let bound = HLC(wallMilliseconds: now + HybridClock.defaultMaximumDrift, counter: UInt16.max).packed
        let statement = try connection.statement("SELECT max(hlc) FROM events WHERE hlc <= ?")
        statement.bind(1, bound)
        guard try statement.step(), !statement.isNull(0) else { return HLC(wallMilliseconds: 0, counter: 0) }
        let hlc = HLC(packed: statement.int64(0))
        statement.reset()
        return hlc
    }

    static func insertOrigin(
        _ connection: SQLiteConnection, _ key: DevicePublicKey, name: String?, role: DeviceRecord.Role,
        patient: PatientID? = nil
    ) throws(StoreError) {
        let statement = try connection.statement(
            """
            INSERT INTO origins (origin, public_key, name, added_at, role, patient) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (origin) DO NOTHING
            """)
        statement.bind(1, key.origin.text)
        statement.bind(2, key.rawBytes)
        statement.bind(3, name)
        statement.bind(4, wallMilliseconds())
        statement.bind(5, role.rawValue)
        statement.bind(6, patient?.text)
        try statement.run()
    }

    static func setMeta(_ connection: SQLiteConnection, _ key: String, _ value: String) throws(StoreError) {
        let statement = try connection.statement(
            "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        statement.bind(1, key)
        statement.bind(2, value)
        try statement.run()
    }

    static func meta(_ connection: SQLiteConnection, _ key: String) throws(StoreError) -> String? {
        let statement = try connection.statement("SELECT value FROM store_meta WHERE key = ?")
        statement.bind(1, key)
        guard try statement.step() else { return nil }
        let value = statement.text(0)
        statement.reset()
        return value
    }

    static func wallMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}

/// A version vector and the highest `events.seq` it covers.
struct VectorSnapshot: Sendable {
    let highestSeq: Int64
    let vector: VersionVector
}
