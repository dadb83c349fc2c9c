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
            let before = receiver.admission.registry
            try await receiver.receive(events, fromQuarantine: false)
            try await receiver.retryQuarantine()
            try await receiver.flush()
            if receiver.registryChanged { try await saveRegistry(receiver.admission.registry, since: before, now: now) }
            if let checkpoint { try await saveCheckpoint(checkpoint, now: now) }
            try await receiver.fold()
            return receiver.outcome
        }
    }
}

/// One append transaction's work on PostgreSQL: performs what ``EventAdmission`` decides (insert, quarantine, fork
/// evidence, flags, review holds) and retries the quarantine the batch may have unblocked, as the SQLite store's
/// receiver does. What admission reads comes from a ``PrefetchedAdmissionLog`` fetched a group of events at a time;
/// new events are inserted together (``flush()``) before anything reads `events` again.
struct PostgresReceiver {
    let log: PostgresLog
    private(set) var admission: EventAdmission
    private var reads: PrefetchedAdmissionLog
    /// Whether this transaction changed the registry (an enrollment, a revocation, an origin frozen).
    private(set) var registryChanged = false
    private(set) var outcome = AppendOutcome()
    /// Events of this transaction held out of the read models (unreadable payloads and review holds).
    private var outOfFold: Set<EventID> = []
    /// Patients whose folded read models include an event this transaction held out afterwards.
    private var refold: Set<PatientID> = []
    /// Admitted events not inserted yet, in order, and quarantined ids to delete with them.
    private var pending: [Event] = []
    private var unquarantined: Set<String> = []

    init(log: PostgresLog, admission: EventAdmission, reads: PrefetchedAdmissionLog = PrefetchedAdmissionLog()) {
        self.log = log
        self.admission = admission
        self.reads = reads
    }

    /// Decides and performs each of `events`, in order. Returns the ids now held (appended or already present).
    @discardableResult
    mutating func receive(_ events: [Event], fromQuarantine: Bool) async throws(StoreError) -> Set<EventID> {
        try await reads.fetch(for: events, from: log)
        var held: Set<EventID> = []
        for (index, event) in events.enumerated() {
            let step: AdmissionStep
            do throws(StoreError) {
                step = try admission.step(event, fromQuarantine: fromQuarantine, in: reads)
            } catch {
                // A refusal names the event; a batch's says where it is in it, as on SQLite.
                throw fromQuarantine ? error : error.placed(at: index, of: event)
            }
            switch step {
            case .present:
                if !fromQuarantine { outcome.alreadyPresent += 1 }
                held.insert(event.id)
            case .outsideSlice:
                outcome.outOfScope += 1
            case .quarantine(let reason, let retry):
                try await quarantine(event, reason, retry: retry)
            case .fork(let heldHash):
                try await fork(event, heldHash: heldHash)
            case .insert(let insertion):
                try await insert(event, insertion, fromQuarantine: fromQuarantine)
                held.insert(event.id)
            }
        }
        return held
    }

    private mutating func insert(_ event: Event, _ insertion: Insertion, fromQuarantine: Bool) async throws(StoreError) {
        pending.append(event)
        reads.inserted(event)
        // The same event may wait in quarantine from an earlier, refused delivery: it is held now.
        unquarantined.insert(event.id.text)
        outcome.appended.append(StoredEvent(seq: 0, receivedAt: Timestamp(millisecondsSinceEpoch: admission.now), event: event))
        // Waiting and admitted within this one batch (its enrollment came later in the batch) is simply new.
        if fromQuarantine, !outcome.quarantined.contains(where: { $0.id == event.id }) { outcome.admittedFromQuarantine += 1 }
        for flag in insertion.flags { try await self.flag(event.id, flag.kind, flag.detail) }
        if insertion.outOfFold { outOfFold.insert(event.id) }
        if let unreadable = insertion.unreadable {
            outcome.held.append(HeldEvent(event, reason: unreadable, receivedAt: Timestamp(millisecondsSinceEpoch: admission.now)))
        }
        if insertion.appliesToRegistry {
            switch admission.applyRegistry(event) {
            case .refused(let reason):
                try await flag(event.id, "registry-refused", reason)
            case .applied(_, let revoked):
                registryChanged = true
                for (origin, after) in revoked.sorted(by: { $0.key.text < $1.key.text }) {
                    try await hold(
                        .afterRevocation, origin: origin, "hlc > \(after.packed)",
                        detail: "origin \(origin) was revoked at \(after); this event was recorded after")
                }
            }
        }
    }

    /// Keeps the treatment read models current in this transaction (after ``flush()``): folds the events it admitted
    /// that they take, then folds again the patients whose folded events it held out.
    mutating func fold() async throws(StoreError) {
        let models = PostgresReadModel(log: log, policy: .standard)
        let foldable = outcome.appended.filter { !outOfFold.contains($0.event.id) }
        let patients = refold.union(foldable.compactMap(\.event.patient))
        guard !patients.isEmpty else { return }
        let stored = try await models.lock(Array(patients))
        if !foldable.isEmpty { try await models.didAppend(foldable, stored: stored) }
        if !refold.isEmpty { try await models.refold(refold) }
    }

    /// Inserts the pending events in one statement and fills in their `seq`, and deletes what they end in quarantine.
    mutating func flush() async throws(StoreError) {
        if !pending.isEmpty {
            let received = Timestamp(millisecondsSinceEpoch: admission.now)
            let rows: [EventRow] = pending.map { EventRow(StoredEvent(seq: 0, receivedAt: received, event: $0)) }
            let occurred = pending.map { $0.occurredAt.millisecondsSinceEpoch }
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
            var seqs: [String: Int64] = [:]
            for row in inserted {
                seqs[try PostgresLog.decode(row, 1, as: String.self, "id") ?? ""] = try PostgresLog.decode(row, 0, as: Int64.self, "seq")
            }
            let ids = Set(pending.map(\.id))
            for index in outcome.appended.indices where ids.contains(outcome.appended[index].event.id) {
                let stored = outcome.appended[index]
                outcome.appended[index] = StoredEvent(
                    seq: seqs[stored.event.id.text] ?? 0, receivedAt: stored.receivedAt, event: stored.event)
            }
            pending = []
        }
        // Only rows known to wait (fetched with the batch, or read for a retry): most batches release none.
        let released = unquarantined.intersection(reads.quarantined)
        if !released.isEmpty {
            try await log.run(
                "DELETE FROM quarantine WHERE id = ANY(\(Array(released)))", "cannot release quarantined events")
        }
        unquarantined = []
    }

    /// Flags the stored events of `origin` that `condition` selects with `kind` (those of this batch too).
    private mutating func hold(_ kind: ReviewHold, origin: Identifier, _ condition: String, detail: String)
        async throws(StoreError)
    {
        try await flush()
        let rows = try await log.run(
            PostgresQuery(
                unsafeSQL: """
                    WITH held AS (
                        INSERT INTO event_flags (id, flag, detail)
                        SELECT id, $1, $2 FROM events WHERE origin = $3 AND \(condition)
                        ON CONFLICT (id, flag) DO NOTHING
                        RETURNING id
                    )
                    SELECT held.id, events.patient FROM held JOIN events ON events.id = held.id
                    """,
                binds: PostgresBindings(kind.rawValue, detail, origin.text)),
            "cannot hold events of origin \(origin)")
        for row in rows {
            guard let id = try PostgresLog.decode(row, 0, as: String.self, "id").flatMap({ try? EventID(checked: $0) })
            else { continue }
            if !outcome.flagged.contains(id) { outcome.flagged.append(id) }
            outOfFold.insert(id)
            if let patient = try PostgresLog.decode(row, 1, as: String.self, "patient").flatMap({ try? PatientID(checked: $0) }) {
                refold.insert(patient)
            }
        }
    }

    private mutating func quarantine(_ event: Event, _ reason: String, retry: Bool) async throws(StoreError) {
        try await log.run(
            """
            INSERT INTO quarantine (id, origin, origin_seq, patient, type, reason, retry, received_at, event)
            VALUES (\(event.id.text), \(event.origin.text), \(event.originSeq), \(event.patient?.text),
                \(event.type.rawValue), \(reason), \(retry), \(admission.now), \(ByteBuffer(bytes: EventWireCodec.encode(event))))
            ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, retry = excluded.retry
            """, "cannot quarantine event \(event.id)")
        reads.waits(event.id.text, origin: event.origin)
        if !outcome.quarantined.contains(where: { $0.id == event.id }) {
            outcome.quarantined.append(
                QuarantinedEvent(id: event.id, origin: event.origin, originSeq: event.originSeq, reason: reason))
        }
    }

    private mutating func fork(_ event: Event, heldHash: EventHash?) async throws(StoreError) {
        try await log.run(
            """
            INSERT INTO forks (origin, origin_seq, held_hash, other_id, other_hash, patient, detected_at, event)
            VALUES (\(event.origin.text), \(event.originSeq), \(heldHash.map { ByteBuffer(bytes: $0.bytes) }),
                \(event.id.text), \(ByteBuffer(bytes: event.hash.bytes)), \(event.patient?.text), \(admission.now),
                \(ByteBuffer(bytes: EventWireCodec.encode(event))))
            ON CONFLICT DO NOTHING
            """, "cannot record fork evidence \(event.id)")
        reads.recordedEvidence(event)
        let lowest = try await log.run(
            "SELECT min(origin_seq) FROM forks WHERE origin = \(event.origin.text)", "cannot read fork evidence")
        let position = try PostgresLog.decode(lowest.first, 0, as: Int64.self, "origin_seq") ?? event.originSeq
        admission.freeze(event.origin, forkAt: position)
        registryChanged = true
        try await hold(
            .forked, origin: event.origin, "origin_seq >= \(position)",
            detail: "origin \(event.origin) forked: two validly signed events hold one position of its chain")
        outcome.forks.append(event.id)
        // Whatever waits in quarantine for this origin stays there: a frozen origin admits nothing.
        outcome.quarantined.removeAll { $0.id == event.id }
        unquarantined.insert(event.id.text)
    }

    private mutating func flag(_ id: EventID, _ flag: String, _ detail: String) async throws(StoreError) {
        try await log.run(
            """
            INSERT INTO event_flags (id, flag, detail) VALUES (\(id.text), \(flag), \(detail))
            ON CONFLICT (id, flag) DO UPDATE SET detail = excluded.detail
            """, "cannot flag event \(id)")
        if !outcome.flagged.contains(id) { outcome.flagged.append(id) }
    }

    /// Retries quarantined events of every origin this batch advanced or enrolled, until nothing more is admitted.
    mutating func retryQuarantine() async throws(StoreError) {
        var origins = admission.takeTouched()
        var rounds = 0
        while !origins.isEmpty, rounds < 10_000 {
            rounds += 1
            // Only origins whose quarantine may hold something to retry (PrefetchedAdmissionLog.mightWait).
            for origin in origins.sorted(by: { $0.text < $1.text }) where reads.mightWait(origin) {
                let rows = try await log.run(
                    "SELECT event FROM quarantine WHERE origin = \(origin.text) AND retry ORDER BY origin_seq",
                    "cannot read the quarantine")
                var waiting: [Event] = []
                for row in rows {
                    guard let bytes = try PostgresLog.decode(row, 0, as: ByteBuffer.self, "event"),
                        let event = try? EventWireCodec.decode(Array(bytes.readableBytesView))
                    else { continue }
                    // Inserted by this batch and not yet flushed: its quarantine row is deleted at the flush.
                    if unquarantined.contains(event.id.text) { continue }
                    reads.waits(event.id.text, origin: origin)
                    waiting.append(event)
                }
                guard !waiting.isEmpty else { continue }
                let held = try await receive(waiting, fromQuarantine: true)
                unquarantined.formUnion(held.map(\.text))
                outcome.quarantined.removeAll { held.contains($0.id) }
            }
            origins = admission.takeTouched()
        }
    }
}
