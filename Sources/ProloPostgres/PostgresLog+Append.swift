import Foundation
import NIOCore
import PostgresNIO
public import ProloDomain
import ProloProjections
public import ProloStore

extension PostgresLog {
    /// The advisory lock key that orders registry changes against appends ('PRRG'): a batch that may change the
    /// registry (an administrative event) takes it alone, every other batch shares it.
    static let registryLock: Int64 = 1_347_572_295  // prolo_lock_batch (migration 5) takes the same key

    /// Appends events recorded elsewhere: the verify-and-append path of a SQLite store (`EventStore.append`), on
    /// PostgreSQL. The same checks (``AppendPreflight``), the same decisions (``EventAdmission``), the same outcome
    /// and error codes; only performing them differs.
    ///
    /// Concurrency: writers are serialized per origin, not globally. A batch locks the `origins` rows of the origins
    /// it carries (`SELECT … FOR UPDATE`, in origin order, so two batches never wait on each other in a cycle) and
    /// reads the chain heads and the registry after taking them. A batch that may change the registry (it carries
    /// an administrative event) takes an advisory lock alone that every other batch shares, so no batch decides
    /// against a registry another is changing, and an enrollment's retry of the quarantine sees every event that
    /// waited for it.
    ///
    /// The lock-free checks run here under the batch's own origins' locks (other devices' batches go on), against
    /// the heads the prefetch read: one round trip fewer per push than reading them before the transaction.
    /// Every event's own signature is checked (no ``SignatureRuns``): this backend keeps no list of unchecked
    /// signatures, and what it serves to a patient's slice must have its own checked. The treatment read models
    /// (``PostgresReadModel``) fold what the batch admitted in the same transaction, and fold again the patients
    /// whose events it held out afterwards, as on SQLite.
    @discardableResult
    public func append(
        _ events: [Event], scope: AppendScope = .unrestricted, checkpoint: PeerCheckpoint? = nil
    ) async throws(StoreError) -> AppendOutcome {
        guard !events.isEmpty || checkpoint != nil else { return AppendOutcome() }
        let origins = Array(Set(events.map(\.origin.text))).sorted()
        let identity = try await identity()
        let administrative = events.contains { $0.type.isAdministrative }
        return try await transaction("cannot append") { () async throws(StoreError) -> AppendOutcome in
            let registry = try await lockForWriting(origins: origins, exclusive: administrative)
            var reads = PrefetchedAdmissionLog()
            try await reads.fetch(for: events, from: self)
            // Under the batch's own origins' locks only, so other devices' batches go on meanwhile; the heads just
            // fetched say which events are new.
            let preflight = try AppendPreflight(
                events, registry: registry, held: reads.heldVector, signatureRuns: false)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let admission = EventAdmission(
                registry: registry, verified: preflight.verified, payloads: preflight.payloads,
                scope: scope, slice: identity.homePatient, ownOrigin: identity.origin, now: now)
            var receiver = PostgresReceiver(log: self, admission: admission, reads: reads)
            let before = receiver.registry
            try await receiver.receive(events, fromQuarantine: false)
            try await receiver.retryQuarantine()
            try await receiver.flush()
            if receiver.registryChanged { try await saveRegistry(receiver.registry, since: before, now: now) }
            if let checkpoint { try await saveCheckpoint(checkpoint, now: now) }
            try await receiver.fold()
            return receiver.outcome
        }
    }
}

/// One append transaction's work on PostgreSQL: the ``AdmissionDriver`` every backend shares, over a
/// ``PostgresAdmissionBackend``. Before a group of events is decided, what admission reads of them is fetched in one
/// query (``PrefetchedAdmissionLog``); what it decides is queued and sent at ``flush()``: at the end, and before the
/// quarantine is read again for a retry. A flush inserts its new events together, in one statement between two
/// review holds (a hold flags the events stored before it).
struct PostgresReceiver {
    let log: PostgresLog
    private(set) var driver: AdmissionDriver<PostgresAdmissionBackend>

    init(log: PostgresLog, admission: EventAdmission, reads: PrefetchedAdmissionLog = PrefetchedAdmissionLog()) {
        self.log = log
        self.driver = AdmissionDriver(backend: PostgresAdmissionBackend(reads: reads), admission: admission)
    }

    var outcome: AppendOutcome { driver.outcome }
    var registryChanged: Bool { driver.registryChanged }
    var registry: DeviceRegistry { driver.registry }

    /// Decides each of `events`, in order, after fetching what deciding them reads. Returns the ids now held.
    @discardableResult
    mutating func receive(_ events: [Event], fromQuarantine: Bool) async throws(StoreError) -> Set<EventID> {
        try await driver.backend.reads.fetch(for: events, from: log)
        return try driver.receive(events, fromQuarantine: fromQuarantine)
    }

    /// Retries quarantined events of every origin this batch advanced or enrolled, until nothing more is admitted.
    mutating func retryQuarantine() async throws(StoreError) {
        var origins = driver.originsToRetry()
        while !origins.isEmpty {
            // Only origins whose quarantine may hold something to retry (PrefetchedAdmissionLog.mightWait).
            for origin in origins where driver.backend.reads.mightWait(origin) {
                // What this transaction quarantined or released is in the table before it is read.
                try await flush()
                let rows = try await log.run(
                    "SELECT event FROM quarantine WHERE origin = \(origin.text) AND retry ORDER BY origin_seq, id COLLATE \"C\"",
                    "cannot read the quarantine")
                var waiting: [Event] = []
                for row in rows {
                    guard let bytes = try PostgresLog.decode(row, 0, as: ByteBuffer.self, "event"),
                        let event = try? EventWireCodec.decode(Array(bytes.readableBytesView))
                    else { continue }
                    driver.backend.reads.waits(event.id.text, origin: origin)
                    waiting.append(event)
                }
                guard !waiting.isEmpty else { continue }
                try await driver.backend.reads.fetch(for: waiting, from: log)
                try driver.retry(waiting)
            }
            origins = driver.originsToRetry()
        }
    }

    /// Sends the queued writes in order, new events together in one statement that fills in their `seq` (the other
    /// writes do not read `events`, so they go as they come, except a review hold, which goes after the events before
    /// it), reports what the holds took, and deletes what the batch released from quarantine.
    mutating func flush() async throws(StoreError) {
        let (writes, released) = driver.backend.take()
        var inserts: [(Event, Int64)] = []
        for write in writes {
            switch write {
            case .insert(let event, let receivedAt):
                inserts.append((event, receivedAt))
            case .quarantine(let event, let reason, let retry, let receivedAt):
                try await quarantine(event, reason, retry: retry, receivedAt: receivedAt)
            case .fork(let event, let heldHash, let detectedAt):
                try await fork(event, heldHash: heldHash, detectedAt: detectedAt)
            case .flag(let id, let flag):
                try await log.run(
                    """
                    INSERT INTO event_flags (id, flag, detail) VALUES (\(id.text), \(flag.kind), \(flag.detail))
                    ON CONFLICT (id, flag) DO UPDATE SET detail = excluded.detail
                    """, "cannot flag event \(id)")
            case .hold(let kind, let origin, let selection, let detail):
                try await insert(inserts)
                inserts = []
                driver.held(try await hold(kind, origin: origin, selection, detail: detail))
            }
        }
        try await insert(inserts)
        if !released.isEmpty {
            try await log.run(
                "DELETE FROM quarantine WHERE id = ANY(\(released))", "cannot release quarantined events")
        }
    }

    /// Keeps the treatment read models current in this transaction (after ``flush()``): folds the events it admitted
    /// that they take, then folds again the patients whose folded events it held out.
    mutating func fold() async throws(StoreError) {
        let models = PostgresReadModel(log: log, policy: .standard)
        let foldable = driver.foldable
        let refold = driver.refold
        let patients = refold.union(foldable.compactMap(\.event.patient))
        guard !patients.isEmpty else { return }
        let stored = try await models.lock(Array(patients))
        if !foldable.isEmpty { try await models.didAppend(foldable, stored: stored) }
        if !refold.isEmpty { try await models.refold(refold) }
    }

    /// Inserts events in one statement and fills in their `seq`.
    private mutating func insert(_ events: [(Event, Int64)]) async throws(StoreError) {
        guard !events.isEmpty else { return }
        let rows: [EventRow] = events.map { event, receivedAt in
            EventRow(StoredEvent(seq: 0, receivedAt: Timestamp(millisecondsSinceEpoch: receivedAt), event: event))
        }
        let occurred = events.map { $0.0.occurredAt.millisecondsSinceEpoch }
        let inserted = try await log.run(
            """
            INSERT INTO events (id, origin, origin_seq, patient, type, schema_version, hlc, occurred_at, occurred_ms,
                received_at, author_id, author_role, prev, patient_prev, dict, body, hash, sig)
            SELECT id, origin, origin_seq, NULLIF(patient, ''), type, schema_version, hlc, occurred_at, occurred_ms,
                received_at, author_id, author_role, NULLIF(prev, ''::bytea), NULLIF(patient_prev, ''::bytea), dict,
                body, hash, sig
            FROM unnest(
                \(rows.map(\.id))::text[], \(rows.map(\.origin))::text[], \(rows.map(\.originSeq))::bigint[],
                \(rows.map { $0.patient ?? "" })::text[], \(rows.map(\.type))::text[],
                \(rows.map { Int32($0.schemaVersion) })::integer[], \(rows.map(\.hlc))::bigint[],
                \(rows.map(\.occurredAt))::text[], \(occurred)::bigint[], \(rows.map(\.receivedAt))::bigint[],
                \(rows.map(\.authorID))::text[], \(rows.map(\.authorRole))::text[],
                \(rows.map { ByteBuffer(bytes: $0.prev ?? []) })::bytea[],
                \(rows.map { ByteBuffer(bytes: $0.patientPrev ?? []) })::bytea[],
                \(rows.map { Int32($0.dictionary) })::integer[], \(rows.map { ByteBuffer(bytes: $0.body) })::bytea[],
                \(rows.map { ByteBuffer(bytes: $0.hash) })::bytea[], \(rows.map { ByteBuffer(bytes: $0.signature) })::bytea[]
            ) WITH ORDINALITY AS r(id, origin, origin_seq, patient, type, schema_version, hlc, occurred_at, occurred_ms,
                received_at, author_id, author_role, prev, patient_prev, dict, body, hash, sig, n)
            ORDER BY n
            RETURNING seq, id
            """, "cannot insert events")
        var seqs: [EventID: Int64] = [:]
        for row in inserted {
            guard let id = try PostgresLog.decode(row, 1, as: String.self, "id").flatMap({ try? EventID(checked: $0) })
            else { continue }
            seqs[id] = try PostgresLog.decode(row, 0, as: Int64.self, "seq")
        }
        driver.stored(seqs: seqs)
    }

    /// Flags the stored events of `origin` that `selection` selects with `kind`; returns those it flagged.
    private func hold(_ kind: ReviewHold, origin: Identifier, _ selection: HoldSelection, detail: String)
        async throws(StoreError) -> [HeldRow]
    {
        let comparison = selection.comparison
        let rows = try await log.run(
            PostgresQuery(
                unsafeSQL: """
                    WITH held AS (
                        INSERT INTO event_flags (id, flag, detail)
                        SELECT id, $1, $2 FROM events WHERE origin = $3 AND \(comparison.sql) $4
                        ON CONFLICT (id, flag) DO NOTHING
                        RETURNING id
                    )
                    SELECT held.id, events.patient FROM held JOIN events ON events.id = held.id
                    """,
                binds: PostgresBindings(kind.rawValue, detail, origin.text, comparison.value)),
            "cannot hold events of origin \(origin)")
        var held: [HeldRow] = []
        for row in rows {
            guard let id = try PostgresLog.decode(row, 0, as: String.self, "id").flatMap({ try? EventID(checked: $0) })
            else { continue }
            let patient = try PostgresLog.decode(row, 1, as: String.self, "patient").flatMap { try? PatientID(checked: $0) }
            held.append(HeldRow(id: id, patient: patient))
        }
        return held
    }

    private func quarantine(_ event: Event, _ reason: String, retry: Bool, receivedAt: Int64) async throws(StoreError) {
        try await log.run(
            """
            INSERT INTO quarantine (id, origin, origin_seq, patient, type, reason, retry, received_at, event)
            VALUES (\(event.id.text), \(event.origin.text), \(event.originSeq), \(event.patient?.text),
                \(event.type.rawValue), \(reason), \(retry), \(receivedAt), \(ByteBuffer(bytes: EventWireCodec.encode(event))))
            ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, retry = excluded.retry
            """, "cannot quarantine event \(event.id)")
    }

    private func fork(_ event: Event, heldHash: EventHash?, detectedAt: Int64) async throws(StoreError) {
        try await log.run(
            """
            INSERT INTO forks (origin, origin_seq, held_hash, other_id, other_hash, patient, detected_at, event)
            VALUES (\(event.origin.text), \(event.originSeq), \(heldHash.map { ByteBuffer(bytes: $0.bytes) }),
                \(event.id.text), \(ByteBuffer(bytes: event.hash.bytes)), \(event.patient?.text), \(detectedAt),
                \(ByteBuffer(bytes: EventWireCodec.encode(event))))
            ON CONFLICT DO NOTHING
            """, "cannot record fork evidence \(event.id)")
    }
}
