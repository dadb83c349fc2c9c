public import ProloDomain
import Foundation

extension EventStore {
    /// Appends events recorded elsewhere: the one verify-and-append path every transport uses (DESIGN §6).
    ///
    /// Guarantees:
    /// - **Verified**: every event's hash and links are checked, and its content authenticated by a signature
    ///   checked against the key the device registry holds for its origin, before anything is stored: its own, or
    ///   within a run of its origin's consecutive hash-linked events the run's last (``SignatureRuns``; a home store
    ///   checks every event's own). A bad hash or a forged signature where it is checked rejects the whole batch
    ///   with an error naming the event, and the store is unchanged. The own signatures left unchecked are checked
    ///   before a slice is served them (``checkUncheckedSignatures(about:)``) and by `audit verify`.
    /// - **Nothing dropped**: an event that cannot be admitted yet (unknown or revoked origin, a gap in its
    ///   chain, outside the sender's scope) is kept in quarantine with the reason and retried when an
    ///   enrollment or the missing link arrives. A second validly signed event at a taken chain position is
    ///   kept as fork evidence and freezes its origin.
    /// - **Idempotent** (events already held are counted, not stored again) and **atomic**: the batch, the
    ///   read models and the peer checkpoint commit in one transaction.
    /// - An event more than 24 h ahead of this store's clock is stored and flagged `future-hlc`, and does not
    ///   advance the local clock (``HybridClock/receive(_:wallMilliseconds:)``).
    /// - **Held, not refused**: a validly signed event whose payload this build cannot read (it breaks its
    ///   schema, does not inflate, or has an unknown schema version) is authentic history. It is stored, so its
    ///   origin's chain stays whole, flagged `invalid-payload` or `unknown-schema-version`, left out of the read
    ///   models, and listed in ``AppendOutcome/held`` and ``heldEvents()``. A build that reads it folds it on
    ///   rebuild. So is one whose `patientPrev` does not name its origin's previous event about its patient
    ///   (held `broken-patient-link`, ``reviewHeldEvents()``): its origin's later events still arrive.
    @discardableResult
    public func append(
        _ events: [Event], scope: AppendScope = .unrestricted, checkpoint: PeerCheckpoint? = nil
    ) throws(StoreError) -> AppendOutcome {
        guard !events.isEmpty || checkpoint != nil else { return AppendOutcome() }
        // Key-independent checks and signatures first, on every core, before any lock is taken (AppendPreflight).
        let homePatient = identity.homePatient
        let preflight = try AppendPreflight(
            events, registry: try registry(), held: try versionVector(), signatureRuns: homePatient == nil)
        let ownOrigin = identity.origin
        let outcome = try write { connection throws(StoreError) -> AppendOutcome in
            let admission = EventAdmission(
                registry: try self.registry(connection, remember: false), verified: preflight.verified,
                unchecked: preflight.unchecked, payloads: preflight.payloads, scope: scope, slice: homePatient,
                ownOrigin: ownOrigin, now: Self.wallMilliseconds())
            var driver = AdmissionDriver(backend: SQLiteAdmissionBackend(connection: connection), admission: admission)
            let before = driver.registry
            try driver.receive(events, fromQuarantine: false)
            try driver.retryQuarantine()
            if driver.registryChanged { try Self.saveRegistry(driver.registry, since: before, connection) }
            if let checkpoint { try Self.saveCheckpoint(checkpoint, connection) }
            let foldable = driver.foldable
            if !foldable.isEmpty { try observer?.didAppend(foldable, in: connection) }
            if !driver.refold.isEmpty { try observer?.refold(driver.refold, in: connection) }
            return driver.outcome
        }
        return outcome
    }

    /// Re-examines what waits in quarantine for `origins` (after this device enrolled them, or recorded events of
    /// its own origin at positions another branch of it may wait for), holds out of the read models a forked
    /// origin's events from its fork on (those just recorded too) and what this device's own revocations revoked,
    /// inside the caller's transaction; returns the events admitted that the read models fold (not the held ones)
    /// and the patients whose read models must be refolded.
    static func admitQuarantined(
        of origins: Set<Identifier>, revoking revoked: [Identifier: HLC] = [:], _ connection: SQLiteConnection,
        identity: StoreIdentity
    ) throws(StoreError) -> (foldable: [StoredEvent], refold: Set<PatientID>) {
        guard !origins.isEmpty || !revoked.isEmpty else { return ([], []) }
        let admission = EventAdmission(
            registry: try loadRegistry(connection), slice: identity.homePatient, ownOrigin: identity.origin,
            now: wallMilliseconds())
        var driver = AdmissionDriver(backend: SQLiteAdmissionBackend(connection: connection), admission: admission)
        let before = driver.registry
        for (origin, after) in revoked { try driver.holdAfterRevocation(origin, after: after) }
        for origin in origins.sorted(by: { $0.text < $1.text }) { try driver.holdForked(origin) }
        try driver.retryQuarantine(also: origins)
        try saveRegistry(driver.registry, since: before, connection)
        return (driver.foldable, driver.refold)
    }

    /// Whether `origin` has events waiting in quarantine or fork evidence here: only then must this device's own
    /// recording re-examine it (a store restored from a backup receiving the branch it forked from).
    static func waitsOrForked(_ origin: Identifier, _ connection: SQLiteConnection) throws(StoreError) -> Bool {
        let statement = try connection.statement(
            """
            SELECT EXISTS (SELECT 1 FROM quarantine WHERE origin = ?1) OR EXISTS (SELECT 1 FROM forks WHERE origin = ?1)
            """)
        statement.bind(1, origin.text)
        defer { statement.reset() }
        _ = try statement.step()
        return statement.int64(0) != 0
    }

    package static func forged(_ event: Event) -> StoreError {
        StoreError(
            .invalidInput,
            "event \(event.id) (origin \(event.origin), originSeq \(event.originSeq)): signature does not verify with "
                + "the key the device registry holds for its origin; the batch was refused and nothing was stored",
            event: event.id)
    }

    /// Flags an event (`event_flags`), replacing a flag it had, inside the caller's transaction.
    static func flag(_ id: EventID, _ flag: String, _ detail: String, _ connection: SQLiteConnection)
        throws(StoreError)
    {
        let statement = try connection.statement(
            "INSERT OR REPLACE INTO event_flags (id, flag, detail) VALUES (?, ?, ?)")
        statement.bind(1, id.text)
        statement.bind(2, flag)
        statement.bind(3, detail)
        try statement.run()
    }

    static func saveCheckpoint(_ checkpoint: PeerCheckpoint, _ connection: SQLiteConnection) throws(StoreError) {
        let statement = try connection.statement(
            """
            INSERT INTO sync_peers (peer, vector, updated_at) VALUES (?, ?, ?)
            ON CONFLICT (peer) DO UPDATE SET vector = excluded.vector, updated_at = excluded.updated_at
            """)
        statement.bind(1, checkpoint.peer)
        statement.bind(2, String(decoding: CanonicalJSON.encode(checkpoint.vector.jsonValue), as: UTF8.self))
        statement.bind(3, wallMilliseconds())
        try statement.run()
    }

    /// What this store last learnt a peer holds, or `nil`.
    public func checkpoint(of peer: String) throws(StoreError) -> VersionVector? {
        try read { connection throws(StoreError) -> VersionVector? in
            let statement = try connection.statement("SELECT vector FROM sync_peers WHERE peer = ?")
            statement.bind(1, peer)
            defer { statement.reset() }
            guard try statement.step() else { return nil }
            return try? VersionVector(json: Array(statement.text(0).utf8))
        }
    }
}

/// What a peer is known to hold after a batch from it, saved in the batch's transaction.
public struct PeerCheckpoint: Sendable, Hashable {
    /// The peer's store id.
    public let peer: String
    /// Its version vector.
    public let vector: VersionVector

    public init(peer: String, vector: VersionVector) {
        self.peer = peer
        self.vector = vector
    }
}

/// The append path's backend on SQLite (``AdmissionBackend``): reads and writes inside the append's transaction, at
/// once.
struct SQLiteAdmissionBackend: AdmissionBackend {
    let connection: SQLiteConnection

    func hash(of id: EventID) throws(StoreError) -> EventHash? { try EventStore.storedHash(connection, id: id) }

    func hash(origin: Identifier, originSeq: Int64) throws(StoreError) -> EventHash? {
        let statement = try connection.statement("SELECT hash FROM events WHERE origin = ? AND origin_seq = ?")
        statement.bind(1, origin.text)
        statement.bind(2, originSeq)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return try? EventHash(bytes: statement.blob(0))
    }

    func isForkEvidence(_ event: Event) throws(StoreError) -> Bool { try EventStore.isForkEvidence(connection, event) }

    func chainHead(of origin: Identifier) throws(StoreError) -> ChainHead {
        let head = try EventStore.chainHead(connection, origin: origin)
        return ChainHead(seq: head.seq, hash: head.hash)
    }

    func patientHead(origin: Identifier, patient: PatientID) throws(StoreError) -> EventHash? {
        try EventStore.patientHead(connection, origin: origin, patient: patient)
    }

    func insert(_ event: Event, receivedAt: Int64, uncheckedSignature: Bool) throws(StoreError) -> Int64? {
        let stored = try EventStore.insert(connection, event, receivedAt: receivedAt)
        if uncheckedSignature {
            let mark = try connection.statement("INSERT INTO unchecked_signatures (seq, patient) VALUES (?, ?)")
            mark.bind(1, stored.seq)
            mark.bind(2, event.patient?.text)
            try mark.run()
        }
        return stored.seq
    }

    func quarantine(_ event: Event, reason: String, retry: Bool, receivedAt: Int64) throws(StoreError) {
        let statement = try connection.statement(
            """
            INSERT INTO quarantine (id, origin, origin_seq, patient, type, reason, retry, received_at, event)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, retry = excluded.retry
            """)
        statement.bind(1, event.id.text)
        statement.bind(2, event.origin.text)
        statement.bind(3, event.originSeq)
        statement.bind(4, event.patient?.text)
        statement.bind(5, event.type.rawValue)
        statement.bind(6, reason)
        statement.bind(7, retry ? 1 : 0)
        statement.bind(8, receivedAt)
        statement.bind(9, EventWireCodec.encode(event))
        try statement.run()
    }

    func release(_ id: EventID) throws(StoreError) {
        let statement = try connection.statement("DELETE FROM quarantine WHERE id = ?")
        statement.bind(1, id.text)
        try statement.run()
    }

    func recordFork(_ event: Event, heldHash: EventHash?, detectedAt: Int64) throws(StoreError) {
        let statement = try connection.statement(
            """
            INSERT OR IGNORE INTO forks (origin, origin_seq, held_hash, other_id, other_hash, patient, detected_at, event)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        statement.bind(1, event.origin.text)
        statement.bind(2, event.originSeq)
        statement.bind(3, heldHash?.bytes)
        statement.bind(4, event.id.text)
        statement.bind(5, event.hash.bytes)
        statement.bind(6, event.patient?.text)
        statement.bind(7, detectedAt)
        statement.bind(8, EventWireCodec.encode(event))
        try statement.run()
    }

    func forkPosition(of origin: Identifier) throws(StoreError) -> Int64? {
        let lowest = try connection.statement("SELECT min(origin_seq) FROM forks WHERE origin = ?")
        lowest.bind(1, origin.text)
        defer { lowest.reset() }
        _ = try lowest.step()
        return lowest.isNull(0) ? nil : lowest.int64(0)
    }

    func flag(_ id: EventID, _ flag: EventFlag) throws(StoreError) {
        try EventStore.flag(id, flag.kind, flag.detail, connection)
    }

    func hold(_ hold: ReviewHold, origin: Identifier, _ selection: HoldSelection, detail: String)
        throws(StoreError) -> [HeldRow]
    {
        let comparison = selection.comparison
        let select = try connection.statement(
            """
            SELECT id, patient FROM events WHERE origin = ? AND \(comparison.sql) ?
                AND id NOT IN (SELECT id FROM event_flags WHERE flag = ?)
            """)
        select.bind(1, origin.text)
        select.bind(2, comparison.value)
        select.bind(3, hold.rawValue)
        var found: [HeldRow] = []
        while try select.step() {
            guard let id = try? EventID(checked: select.text(0)) else { continue }
            found.append(HeldRow(id: id, patient: select.optionalText(1).flatMap { try? PatientID(checked: $0) }))
        }
        select.reset()
        for row in found { try flag(row.id, EventFlag(hold.rawValue, detail)) }
        return found
    }

    /// What waits in `origin`'s quarantine to be retried, in the order ``AdmissionDriver/retry(_:)`` takes.
    func waiting(of origin: Identifier) throws(StoreError) -> [Event] {
        let statement = try connection.statement(
            "SELECT event FROM quarantine WHERE origin = ? AND retry = 1 ORDER BY origin_seq, id")
        statement.bind(1, origin.text)
        var result: [Event] = []
        while try statement.step() {
            guard let event = try? EventWireCodec.decode(statement.blob(0)) else { continue }
            result.append(event)
        }
        statement.reset()
        return result
    }
}

extension AdmissionDriver where Backend == SQLiteAdmissionBackend {
    /// Retries quarantined events of every origin this batch advanced or enrolled (and `extra`), until nothing more is
    /// admitted.
    mutating func retryQuarantine(also extra: Set<Identifier> = []) throws(StoreError) {
        try retryQuarantine(also: extra) { backend, origin throws(StoreError) in try backend.waiting(of: origin) }
    }
}

/// Which events' payloads this build reads, checked on every core before the write lock is taken; an event
/// not checked here (admitted from quarantine, or at a position the vector said was held) is checked on demand.
package struct PayloadChecks: Sendable {
    private var checked: Set<EventID> = []
    private var unreadable: [EventID: UnreadablePayload] = [:]

    package init() {}

    package init(of events: [Event]) throws(StoreError) {
        let results: [UnreadablePayload?]
        do {
            results = try Parallel.map(events, minimumPerWorker: 32) { $0.unreadablePayload }
        } catch {
            throw StoreError(.internalError, "cannot check event payloads: \(error)")
        }
        checked = Set(events.map(\.id))
        for (event, result) in zip(events, results) { unreadable[event.id] = result }
    }

    /// Why this build cannot read `event`'s payload, or `nil`.
    package func problem(of event: Event) -> UnreadablePayload? {
        checked.contains(event.id) ? unreadable[event.id] : event.unreadablePayload
    }
}
