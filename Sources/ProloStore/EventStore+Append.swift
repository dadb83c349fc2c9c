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
    ///   rebuild.
    @discardableResult
    public func append(
        _ events: [Event], scope: AppendScope = .unrestricted, checkpoint: PeerCheckpoint? = nil
    ) throws(StoreError) -> AppendOutcome {
        guard !events.isEmpty || checkpoint != nil else { return AppendOutcome() }
        // Key-independent checks first, on every core: a bad hash rejects the batch before any lock is taken.
        if let bad = try firstFailure(events, { $0.hasValidHash }) {
            throw StoreError(.invalidInput, "event \(bad.id) (origin \(bad.origin), originSeq \(bad.originSeq)): "
                + "hash does not match the envelope and body; the batch was refused and nothing was stored")
        }
        // Signatures of new events of origins already known, on every core; the rest are checked under the lock.
        // An event at or below what this store holds of its origin is either held already (the receiver counts it
        // as present without checking a signature: a re-sent batch or bundle costs no Ed25519) or a fork or a
        // slice's gap, rare, whose signature the receiver checks itself.
        let snapshot = try registry()
        let held = try versionVector()
        let checkable = events.compactMap { event -> (Event, DevicePublicKey)? in
            guard event.originSeq > held[event.origin.text] else { return nil }
            switch snapshot.admission(of: event) {
            case .admit(let key), .hold(let key, _, _): return (event, key)
            case .refuse: return nil
            }
        }
        // One signature per run (SignatureRuns): the last event's, which authenticates the run's content through
        // the hash links; a home store checks every event's own, as its slice has no runs to lean on. When an
        // anchor fails, every signature is checked, so the error names the first event whose own does not verify.
        let homePatient = identity.homePatient
        let runs = homePatient == nil ? SignatureRuns(checkable.map(\.0)) : nil
        let anchors = runs.map { $0.anchors.map { checkable[$0] } } ?? checkable
        if try firstFailure(anchors, { $0.1.isValidSignature($0.0.signature, for: $0.0.hash.bytes) }) != nil {
            let bad = try firstFailure(checkable, { $0.1.isValidSignature($0.0.signature, for: $0.0.hash.bytes) })
            throw Self.forged((bad ?? anchors[0]).0)
        }
        let verified = Set(checkable.map { $0.0.id })
        let unchecked = Set(runs?.unchecked.map { checkable[$0].0.id } ?? [])
        // Payloads of the same new events, on every core; the receiver checks any other event it stores itself.
        let payloads = try PayloadChecks(of: events.filter { $0.originSeq > held[$0.origin.text] })
        let ownOrigin = identity.origin
        let outcome = try write { connection throws(StoreError) -> AppendOutcome in
            var receiver = Receiver(
                connection: connection, registry: try self.registry(connection, remember: false), verified: verified,
                unchecked: unchecked, payloads: payloads, scope: scope, slice: homePatient, ownOrigin: ownOrigin,
                now: Self.wallMilliseconds())
            let before = receiver.registry
            for event in events { try receiver.receive(event, fromQuarantine: false) }
            try receiver.retryQuarantine()
            if receiver.registryChanged { try Self.saveRegistry(receiver.registry, since: before, connection) }
            if let checkpoint { try Self.saveCheckpoint(checkpoint, connection) }
            let foldable = receiver.foldable
            if !foldable.isEmpty { try observer?.didAppend(foldable, in: connection) }
            if !receiver.refold.isEmpty { try observer?.refold(receiver.refold, in: connection) }
            return receiver.outcome
        }
        return outcome
    }

    /// The first element (by position) for which `check` fails, checked on every core.
    private func firstFailure<Item: Sendable>(_ items: [Item], _ check: @escaping @Sendable (Item) -> Bool)
        throws(StoreError) -> Item?
    {
        let results: [Bool]
        do {
            results = try Parallel.map(items, minimumPerWorker: 32) { check($0) }
        } catch {
            throw StoreError(.internalError, "cannot verify events: \(error)")
        }
        return results.firstIndex(of: false).map { items[$0] }
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
        var receiver = Receiver(
            connection: connection, registry: try loadRegistry(connection), verified: [], unchecked: [],
            payloads: PayloadChecks(),
            scope: .unrestricted, slice: identity.homePatient, ownOrigin: identity.origin, now: wallMilliseconds())
        let before = receiver.registry
        for (origin, after) in revoked { try receiver.holdAfterRevocation(origin, after: after) }
        for origin in origins.sorted(by: { $0.text < $1.text }) { try receiver.holdForked(origin) }
        try receiver.retryQuarantine(also: origins)
        try saveRegistry(receiver.registry, since: before, connection)
        return (receiver.foldable, receiver.refold)
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

    static func forged(_ event: Event) -> StoreError {
        StoreError(
            .invalidInput,
            "event \(event.id) (origin \(event.origin), originSeq \(event.originSeq)): signature does not verify with "
                + "the key the device registry holds for its origin; the batch was refused and nothing was stored")
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

/// One append transaction's work: admits, quarantines or records forks, event by event.
struct Receiver {
    let connection: SQLiteConnection
    var registry: DeviceRegistry {
        didSet { registryChanged = true }
    }
    /// Whether this transaction changed the registry (an enrollment, a revocation, an origin frozen): only then is
    /// it written back, which compared every device's record on every push.
    private(set) var registryChanged = false
    /// Events whose content a checked signature authenticates (their own, or their run's last).
    let verified: Set<EventID>
    /// Of those, the ones whose own signature was not checked (SignatureRuns): listed in `unchecked_signatures`.
    let unchecked: Set<EventID>
    let payloads: PayloadChecks
    let scope: AppendScope
    /// The one patient of a home store: other origins' chains are held as slices (linked by `patientPrev`).
    let slice: PatientID?
    let ownOrigin: Identifier
    let now: Int64
    var outcome = AppendOutcome()
    /// Patients whose folded read models include an event this batch held out afterwards: refolded from the log.
    private(set) var refold: Set<PatientID> = []
    /// Events of this batch held out of the read models (unreadable payloads and review holds).
    private var outOfFold: Set<EventID> = []
    private var heads: [Identifier: (seq: Int64, hash: EventHash?)] = [:]
    private var touched: Set<Identifier> = []
    /// Observes received readings only to apply its drift bound: this store's own clock is read from the log.
    private var clock = HybridClock()

    init(
        connection: SQLiteConnection, registry: DeviceRegistry, verified: Set<EventID>, unchecked: Set<EventID>,
        payloads: PayloadChecks, scope: AppendScope, slice: PatientID?, ownOrigin: Identifier, now: Int64
    ) {
        self.connection = connection
        self.registry = registry
        self.verified = verified
        self.unchecked = unchecked
        self.payloads = payloads
        self.scope = scope
        self.slice = slice
        self.ownOrigin = ownOrigin
        self.now = now
    }

    /// Handles one event. Returns whether it is now held (appended or already present).
    @discardableResult
    mutating func receive(_ event: Event, fromQuarantine: Bool) throws(StoreError) -> Bool {
        if let held = try EventStore.storedHash(connection, id: event.id) {
            guard held == event.hash else {
                throw StoreError(
                    .invalidInput,
                    "event \(event.id) is already held with different content (hash \(held.short), received "
                        + "\(event.hash.short)); the batch was refused")
            }
            if !fromQuarantine { outcome.alreadyPresent += 1 }
            return true
        }
        if try EventStore.isForkEvidence(connection, event) {
            // Evidence of a fork held already: delivered again, it changes nothing (DESIGN §6.2).
            if !fromQuarantine { outcome.alreadyPresent += 1 }
            return true
        }
        if !fromQuarantine, let outside = scope.refusal(of: event) {
            // Outside what its sender may push (DeviceAccess): kept for the clinic to see, never retried.
            return try quarantine(event, outside, retry: false)
        }
        if let slice, event.patient != nil, event.patient != slice {
            // A home store never keeps another patient's data, not even in quarantine.
            outcome.outOfScope += 1
            return false
        }
        if let device = registry.devices[event.origin], device.frozenReason != nil,
            let taken = try heldHash(event.origin, event.originSeq), taken != event.hash
        {
            // A frozen origin admits nothing, but another conflicting event at a held position is more evidence
            // (perhaps of a lower fork position: every replica ends knowing the lowest).
            let signed = device.publicKey.isValidSignature(event.signature, for: event.hash.bytes)
            guard verified.contains(event.id) || signed else {
                guard fromQuarantine else { throw EventStore.forged(event) }
                return try quarantine(
                    event, "signature does not verify with the enrolled key of origin \(event.origin)")
            }
            try fork(event, heldHash: taken)
            return false
        }
        let key: DevicePublicKey
        var hold: (kind: ReviewHold, reason: String)?
        switch registry.admission(of: event) {
        case .refuse(let reason): return try quarantine(event, reason)
        case .admit(let admitted): key = admitted
        case .hold(let admitted, let kind, let reason):
            key = admitted
            hold = (kind, reason)
        }
        if !verified.contains(event.id) && !key.isValidSignature(event.signature, for: event.hash.bytes) {
            guard fromQuarantine else { throw EventStore.forged(event) }
            return try quarantine(event, "signature does not verify with the enrolled key of origin \(event.origin)")
        }
        guard try linked(event) else { return false }
        let stored = try EventStore.insert(connection, event, receivedAt: now)
        if unchecked.contains(event.id) {
            let mark = try connection.statement("INSERT INTO unchecked_signatures (seq, patient) VALUES (?, ?)")
            mark.bind(1, stored.seq)
            mark.bind(2, event.patient?.text)
            try mark.run()
        }
        if !fromQuarantine {
            // The same event may wait in quarantine from an earlier, refused delivery: it is held now.
            let settled = try connection.statement("DELETE FROM quarantine WHERE id = ?")
            settled.bind(1, event.id.text)
            try settled.run()
        }
        heads[event.origin] = (event.originSeq, event.hash)
        touched.insert(event.origin)
        outcome.appended.append(stored)
        // Waiting and admitted within this one batch (its enrollment came later in the batch) is simply new.
        if fromQuarantine, !outcome.quarantined.contains(where: { $0.id == event.id }) { outcome.admittedFromQuarantine += 1 }
        if clock.receive(event.hlc, wallMilliseconds: now) {
            try flag(
                event.id, "future-hlc",
                "recorded at \(event.hlc), more than \(clock.maximumDrift / 3_600_000) h ahead of this store's clock")
        }
        if let hold {
            // Authentic history that does not count (DESIGN §6): its chain stays whole, the clinic reviews it.
            try flag(event.id, hold.kind.rawValue, hold.reason)
            outOfFold.insert(event.id)
        } else if let unreadable = payloads.problem(of: event) {
            try flag(event.id, unreadable.kind.rawValue, unreadable.detail)
            outOfFold.insert(event.id)
            outcome.held.append(HeldEvent(event, reason: unreadable, receivedAt: stored.receivedAt))
        } else if event.type.isAdministrative {
            try applyRegistry(event)
        }
        return true
    }

    /// The events appended so far that the read models fold: all but the held ones.
    var foldable: [StoredEvent] {
        guard !outOfFold.isEmpty else { return outcome.appended }
        return outcome.appended.filter { !outOfFold.contains($0.event.id) }
    }

    /// Checks the chain links; quarantines a gap, records a fork. Returns whether the event may be inserted.
    private mutating func linked(_ event: Event) throws(StoreError) -> Bool {
        let head = try head(of: event.origin)
        if event.originSeq <= head.seq {
            let taken = try heldHash(event.origin, event.originSeq)
            if taken != nil || slice == nil || event.origin == ownOrigin {
                try fork(event, heldHash: taken)
                return false
            }
            // A home store's slice: a lower position not held here is outside the slice; nothing to link.
        }
        let sliced = slice != nil && event.origin != ownOrigin
        if !sliced {
            if event.originSeq > head.seq + 1 {
                try quarantine(event, "gap in origin \(event.origin)'s chain: held up to \(head.seq), waiting for \(head.seq + 1)")
                return false
            }
            if event.originSeq == head.seq + 1, event.prev != head.hash {
                try fork(event, heldHash: head.hash)
                return false
            }
        }
        if let patient = event.patient {
            let expected = try EventStore.patientHead(connection, origin: event.origin, patient: patient)
            guard event.patientPrev == expected else {
                if sliced {
                    try quarantine(event, "waiting for origin \(event.origin)'s previous event about patient \(patient)")
                    return false
                }
                throw StoreError(
                    .invalidInput,
                    "event \(event.id): patientPrev does not match origin \(event.origin)'s previous event for patient "
                        + "\(patient); the batch was refused")
            }
        } else if event.patientPrev != nil {
            throw StoreError(.invalidInput, "event \(event.id): an administrative event has no patientPrev; the batch was refused")
        }
        return true
    }

    private mutating func head(of origin: Identifier) throws(StoreError) -> (seq: Int64, hash: EventHash?) {
        if let head = heads[origin] { return head }
        let head = try EventStore.chainHead(connection, origin: origin)
        heads[origin] = head
        return head
    }

    private func heldHash(_ origin: Identifier, _ seq: Int64) throws(StoreError) -> EventHash? {
        let statement = try connection.statement("SELECT hash FROM events WHERE origin = ? AND origin_seq = ?")
        statement.bind(1, origin.text)
        statement.bind(2, seq)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return try? EventHash(bytes: statement.blob(0))
    }

    private mutating func applyRegistry(_ event: Event) throws(StoreError) {
        let payload: any EventPayload
        do {
            payload = try event.payload()
        } catch {
            try flag(event.id, "registry-refused", "unreadable registry payload: \(error)")
            return
        }
        let before = registry
        do {
            let enrolled = try registry.apply(event, payload: payload)
            touched.formUnion(enrolled)
        } catch {
            try flag(event.id, "registry-refused", error.message)
            return
        }
        for (origin, device) in registry.devices {
            if let after = device.revokedAfter, after != before.devices[origin]?.revokedAfter {
                try holdAfterRevocation(origin, after: after)
            }
        }
    }

    /// Holds out of the read models the stored events of a revoked origin recorded after its revocation, whichever
    /// arrived first (DESIGN §6, SECURITY.md): every replica ends with the same log and read models.
    mutating func holdAfterRevocation(_ origin: Identifier, after revoked: HLC) throws(StoreError) {
        try hold(
            .afterRevocation, origin: origin, where: "hlc > ?", revoked.packed,
            detail: "origin \(origin) was revoked at \(revoked); this event was recorded after")
    }

    /// Flags the stored events of `origin` that `condition` (bound to `value`) selects with `kind`, and marks their
    /// patients for a refold.
    private mutating func hold(
        _ kind: ReviewHold, origin: Identifier, where condition: String, _ value: Int64, detail: String
    ) throws(StoreError) {
        let select = try connection.statement(
            """
            SELECT id, patient FROM events WHERE origin = ? AND \(condition)
                AND id NOT IN (SELECT id FROM event_flags WHERE flag = ?)
            """)
        select.bind(1, origin.text)
        select.bind(2, value)
        select.bind(3, kind.rawValue)
        var found: [(EventID, PatientID?)] = []
        while try select.step() {
            guard let id = try? EventID(checked: select.text(0)) else { continue }
            found.append((id, select.optionalText(1).flatMap { try? PatientID(checked: $0) }))
        }
        select.reset()
        for (id, patient) in found {
            try flag(id, kind.rawValue, detail)
            outOfFold.insert(id)
            if let patient { refold.insert(patient) }
        }
    }

    @discardableResult
    private mutating func quarantine(_ event: Event, _ reason: String, retry: Bool = true) throws(StoreError) -> Bool {
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
        statement.bind(8, now)
        statement.bind(9, EventWireCodec.encode(event))
        try statement.run()
        if !outcome.quarantined.contains(where: { $0.id == event.id }) {
            outcome.quarantined.append(
                QuarantinedEvent(id: event.id, origin: event.origin, originSeq: event.originSeq, reason: reason))
        }
        return false
    }

    private mutating func fork(_ event: Event, heldHash: EventHash?) throws(StoreError) {
        // Evidence is served as it is, to slices too: its own signature is checked, whatever its run's anchor says.
        if unchecked.contains(event.id), let key = registry.devices[event.origin]?.publicKey,
            !key.isValidSignature(event.signature, for: event.hash.bytes)
        {
            throw EventStore.forged(event)
        }
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
        statement.bind(7, now)
        statement.bind(8, EventWireCodec.encode(event))
        try statement.run()
        // The lowest position of the origin's evidence names the fork, so replicas that met the two branches in
        // another order agree on it, on the frozen reason and on what is held out of the read models.
        let position = try forkPosition(of: event.origin) ?? event.originSeq
        registry.freeze(
            event.origin,
            reason: "fork at originSeq \(position): two validly signed events hold that position (a restored backup "
                + "or a copied key); its events from there on are held out of the read models for review")
        try holdForked(event.origin, from: position)
        outcome.forks.append(event.id)
        // Whatever waits in quarantine for this origin stays there: a frozen origin admits nothing.
        outcome.quarantined.removeAll { $0.id == event.id }
        let unquarantine = try connection.statement("DELETE FROM quarantine WHERE id = ?")
        unquarantine.bind(1, event.id.text)
        try unquarantine.run()
    }

    /// The lowest position of `origin`'s fork evidence here, or `nil` when it has none.
    private func forkPosition(of origin: Identifier) throws(StoreError) -> Int64? {
        let lowest = try connection.statement("SELECT min(origin_seq) FROM forks WHERE origin = ?")
        lowest.bind(1, origin.text)
        defer { lowest.reset() }
        _ = try lowest.step()
        return lowest.isNull(0) ? nil : lowest.int64(0)
    }

    /// Holds out of the read models every stored event of a forked origin from its fork position (by default the
    /// lowest of its evidence) on, whenever it was stored (Schemas/sync.md, "Forks"); an origin without fork
    /// evidence is left alone.
    mutating func holdForked(_ origin: Identifier, from position: Int64? = nil) throws(StoreError) {
        let lowest: Int64? = if let position { position } else { try forkPosition(of: origin) }
        guard let position = lowest else { return }
        try hold(
            .forked, origin: origin, where: "origin_seq >= ?", position,
            detail: "origin \(origin) forked: two validly signed events hold one position of its chain")
    }

    private mutating func flag(_ id: EventID, _ flag: String, _ detail: String) throws(StoreError) {
        try EventStore.flag(id, flag, detail, connection)
        if !outcome.flagged.contains(id) { outcome.flagged.append(id) }
    }

    /// Retries quarantined events of every origin this batch advanced or enrolled, until nothing more is admitted.
    mutating func retryQuarantine(also extra: Set<Identifier> = []) throws(StoreError) {
        var origins = touched.union(extra)
        var rounds = 0
        while !origins.isEmpty, rounds < 10_000 {
            rounds += 1
            touched = []
            for origin in origins.sorted(by: { $0.text < $1.text }) {
                for (id, event) in try quarantined(of: origin) {
                    let held = try receive(event, fromQuarantine: true)
                    if held {
                        let delete = try connection.statement("DELETE FROM quarantine WHERE id = ?")
                        delete.bind(1, id)
                        try delete.run()
                        outcome.quarantined.removeAll { $0.id.text == id }
                    }
                }
            }
            origins = touched
        }
    }

    private func quarantined(of origin: Identifier) throws(StoreError) -> [(String, Event)] {
        let statement = try connection.statement(
            "SELECT id, event FROM quarantine WHERE origin = ? AND retry = 1 ORDER BY origin_seq")
        statement.bind(1, origin.text)
        var result: [(String, Event)] = []
        while try statement.step() {
            guard let event = try? EventWireCodec.decode(statement.blob(1)) else { continue }
            result.append((statement.text(0), event))
        }
        statement.reset()
        return result
    }
}

/// Which events' payloads this build reads, checked on every core before the write lock is taken; an event
/// not checked here (admitted from quarantine, or at a position the vector said was held) is checked on demand.
struct PayloadChecks: Sendable {
    private var checked: Set<EventID> = []
    private var unreadable: [EventID: UnreadablePayload] = [:]

    init() {}

    init(of events: [Event]) throws(StoreError) {
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
    func problem(of event: Event) -> UnreadablePayload? {
        checked.contains(event.id) ? unreadable[event.id] : event.unreadablePayload
    }
}
