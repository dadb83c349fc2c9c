package import ProloDomain

/// The storage seam of the append path: what one append transaction asks of the log it writes, below the rules.
/// A backend answers admission's reads (``AdmissionLog``) and performs a handful of writes: at once (SQLite, inside
/// its transaction; a dictionary in the tests) or queued and sent later in the transaction (PostgreSQL, at each
/// flush, which then reports what the queued writes returned through ``AdmissionDriver/stored(seqs:)`` and
/// ``AdmissionDriver/held(_:)``).
/// Every write is one the rules chose (``AdmissionDriver``); a backend decides nothing.
///
/// A backend that queues writes must answer the reads as if they were done: an event inserted counts as held, a
/// fork recorded counts in ``forkPosition(of:)``.
package protocol AdmissionBackend: AdmissionLog {
    /// Stores an admitted event, received at `receivedAt` (ms since epoch); `uncheckedSignature`: its own signature
    /// was not checked (``SignatureRuns``), so list it as unchecked. Returns its `seq` when known now, `nil` when a
    /// queued write assigns it later.
    mutating func insert(_ event: Event, receivedAt: Int64, uncheckedSignature: Bool) throws(StoreError) -> Int64?
    /// Keeps `event` in quarantine with `reason`; a copy waiting there already takes the new reason and `retry`.
    mutating func quarantine(_ event: Event, reason: String, retry: Bool, receivedAt: Int64) throws(StoreError)
    /// Takes `id` out of quarantine if it waits there (it is held now, or is fork evidence).
    mutating func release(_ id: EventID) throws(StoreError)
    /// Keeps `event` as evidence of a fork against `heldHash` (the event held at its position, if any), unless it is
    /// kept already.
    mutating func recordFork(_ event: Event, heldHash: EventHash?, detectedAt: Int64) throws(StoreError)
    /// The lowest position of `origin`'s fork evidence (what this transaction recorded included), or `nil`.
    func forkPosition(of origin: Identifier) throws(StoreError) -> Int64?
    /// Flags `id`, replacing the detail of the same flag.
    mutating func flag(_ id: EventID, _ flag: EventFlag) throws(StoreError)
    /// Flags `hold` on every stored event of `origin` that `selection` selects and does not carry it yet (this
    /// transaction's too). Returns those flagged, or `[]` when a queued write does it and reports them later.
    mutating func hold(_ hold: ReviewHold, origin: Identifier, _ selection: HoldSelection, detail: String)
        throws(StoreError) -> [HeldRow]
}

/// Which of an origin's stored events a review hold takes.
package enum HoldSelection: Sendable, Hashable {
    /// Those recorded after its revocation (`hlc` above it).
    case recordedAfter(HLC)
    /// Those from its fork's position on.
    case from(originSeq: Int64)

    /// The selection as an SQL comparison on `events` (the column and operator; the value to bind after them), for
    /// every SQL backend.
    package var comparison: (sql: String, value: Int64) {
        switch self {
        case .recordedAfter(let revoked): ("hlc >", revoked.packed)
        case .from(let originSeq): ("origin_seq >=", originSeq)
        }
    }

    /// Whether it takes `event` (the same rule, for a backend without SQL).
    package func selects(_ event: Event) -> Bool {
        switch self {
        case .recordedAfter(let revoked): event.hlc > revoked
        case .from(let originSeq): event.originSeq >= originSeq
        }
    }
}

/// An event a review hold just took out of the read models, and its patient (whose read models to refold).
package struct HeldRow: Sendable, Hashable {
    package let id: EventID
    package let patient: PatientID?

    package init(id: EventID, patient: PatientID?) {
        self.id = id
        self.patient = patient
    }
}

/// One append transaction's work, for every backend: performs what ``EventAdmission`` decides through an
/// ``AdmissionBackend`` (insert, quarantine, fork evidence, flags, review holds), keeps the ``AppendOutcome``, applies
/// stored registry events, and retries the quarantine the batch may have unblocked. The rules of performing a step
/// live here once; a backend's append reads what it must ahead (PostgreSQL), hands the events in, and commits.
package struct AdmissionDriver<Backend: AdmissionBackend> {
    package var backend: Backend
    package private(set) var admission: EventAdmission
    /// Whether this transaction changed the registry (an enrollment, a revocation, an origin frozen): only then is it
    /// written back.
    package private(set) var registryChanged = false
    package private(set) var outcome = AppendOutcome()
    /// Patients whose folded read models include an event this transaction held out afterwards: refolded from the log.
    package private(set) var refold: Set<PatientID> = []
    /// Events of this transaction held out of the read models (unreadable payloads and review holds).
    private var outOfFold: Set<EventID> = []
    private var retryRounds = 0

    package init(backend: Backend, admission: EventAdmission) {
        self.backend = backend
        self.admission = admission
    }

    /// The device registry as this transaction changed it.
    package var registry: DeviceRegistry { admission.registry }

    /// The events appended that the read models fold: all but the held ones.
    package var foldable: [StoredEvent] {
        guard !outOfFold.isEmpty else { return outcome.appended }
        return outcome.appended.filter { !outOfFold.contains($0.event.id) }
    }

    /// Decides and performs each of `events` in order; a refusal of an event delivered now says where it is in the
    /// batch (``StoreError/placed(at:of:)``: by index, as one id may come twice). Returns the ids now held (appended
    /// or already present).
    @discardableResult
    package mutating func receive(_ events: [Event], fromQuarantine: Bool) throws(StoreError) -> Set<EventID> {
        var held: Set<EventID> = []
        for (index, event) in events.enumerated() {
            do throws(StoreError) {
                if try perform(event, fromQuarantine: fromQuarantine).holds { held.insert(event.id) }
            } catch {
                throw fromQuarantine ? error : error.placed(at: index, of: event)
            }
        }
        return held
    }

    /// Decides one event and performs the step; returns it.
    @discardableResult
    package mutating func perform(_ event: Event, fromQuarantine: Bool = false) throws(StoreError) -> AdmissionStep {
        let step = try admission.step(event, fromQuarantine: fromQuarantine, in: backend)
        switch step {
        case .present:
            if !fromQuarantine { outcome.alreadyPresent += 1 }
        case .outsideSlice:
            outcome.outOfScope += 1
        case .quarantine(let reason, let retry):
            try backend.quarantine(event, reason: reason, retry: retry, receivedAt: admission.now)
            if !outcome.quarantined.contains(where: { $0.id == event.id }) {
                outcome.quarantined.append(
                    QuarantinedEvent(id: event.id, origin: event.origin, originSeq: event.originSeq, reason: reason))
            }
        case .fork(let heldHash):
            try fork(event, heldHash: heldHash)
        case .insert(let insertion):
            try insert(event, insertion, fromQuarantine: fromQuarantine)
        }
        return step
    }

    private mutating func insert(_ event: Event, _ insertion: Insertion, fromQuarantine: Bool) throws(StoreError) {
        let seq = try backend.insert(
            event, receivedAt: admission.now, uncheckedSignature: insertion.uncheckedSignature)
        // The same event may wait in quarantine from an earlier, refused delivery: it is held now.
        if !fromQuarantine { try backend.release(event.id) }
        let receivedAt = Timestamp(millisecondsSinceEpoch: admission.now)
        outcome.appended.append(StoredEvent(seq: seq ?? 0, receivedAt: receivedAt, event: event))
        // Waiting and admitted within this one batch (its enrollment came later in the batch) is simply new.
        if fromQuarantine, !outcome.quarantined.contains(where: { $0.id == event.id }) { outcome.admittedFromQuarantine += 1 }
        for flag in insertion.flags { try self.flag(event.id, flag) }
        if insertion.outOfFold { outOfFold.insert(event.id) }
        if let unreadable = insertion.unreadable {
            outcome.held.append(HeldEvent(event, reason: unreadable, receivedAt: receivedAt))
        }
        guard insertion.appliesToRegistry else { return }
        switch admission.applyRegistry(event) {
        case .refused(let reason):
            try flag(event.id, EventFlag("registry-refused", reason))
        case .applied(_, let revoked):
            registryChanged = true
            for (origin, after) in revoked.sorted(by: { $0.key.text < $1.key.text }) {
                try holdAfterRevocation(origin, after: after)
            }
        }
    }

    /// Keeps fork evidence, freezes its origin at the lowest position of its evidence (so replicas that met the
    /// branches in another order agree) and holds the origin's events from there on.
    private mutating func fork(_ event: Event, heldHash: EventHash?) throws(StoreError) {
        try backend.recordFork(event, heldHash: heldHash, detectedAt: admission.now)
        let position = try backend.forkPosition(of: event.origin) ?? event.originSeq
        admission.freeze(event.origin, forkAt: position)
        registryChanged = true
        try holdForked(event.origin, from: position)
        outcome.forks.append(event.id)
        // Whatever waits in quarantine for this origin stays there: a frozen origin admits nothing.
        outcome.quarantined.removeAll { $0.id == event.id }
        try backend.release(event.id)
    }

    private mutating func flag(_ id: EventID, _ flag: EventFlag) throws(StoreError) {
        try backend.flag(id, flag)
        if !outcome.flagged.contains(id) { outcome.flagged.append(id) }
    }

    /// Holds out of the read models the stored events of a revoked origin recorded after its revocation, whichever
    /// arrived first (DESIGN §6, SECURITY.md): every replica ends with the same log and read models.
    package mutating func holdAfterRevocation(_ origin: Identifier, after revoked: HLC) throws(StoreError) {
        held(
            try backend.hold(
                .afterRevocation, origin: origin, .recordedAfter(revoked),
                detail: "origin \(origin) was revoked at \(revoked); this event was recorded after"))
    }

    /// Holds out of the read models every stored event of a forked origin from its fork position (by default the
    /// lowest of its evidence) on, whenever it was stored (Schemas/sync.md, "Forks"); an origin without fork
    /// evidence is left alone.
    package mutating func holdForked(_ origin: Identifier, from position: Int64? = nil) throws(StoreError) {
        let lowest: Int64? = if let position { position } else { try backend.forkPosition(of: origin) }
        guard let lowest else { return }
        held(
            try backend.hold(
                .forked, origin: origin, .from(originSeq: lowest),
                detail: "origin \(origin) forked: two validly signed events hold one position of its chain"))
    }

    /// Counts events a review hold took out of the read models (those a backend's queued hold reports too).
    package mutating func held(_ rows: [HeldRow]) {
        for row in rows {
            if !outcome.flagged.contains(row.id) { outcome.flagged.append(row.id) }
            outOfFold.insert(row.id)
            if let patient = row.patient { refold.insert(patient) }
        }
    }

    /// Fills in the `seq` a backend's queued insert assigned.
    package mutating func stored(seqs: [EventID: Int64]) {
        for index in outcome.appended.indices {
            let stored = outcome.appended[index]
            if let seq = seqs[stored.event.id] {
                outcome.appended[index] = StoredEvent(seq: seq, receivedAt: stored.receivedAt, event: stored.event)
            }
        }
    }

    /// The origins whose quarantine is worth a retry now, in order: those this transaction advanced or enrolled since
    /// the last call, and `extra`. Empty when nothing more can be admitted (or after 10 000 rounds, a bound no real
    /// exchange nears). The caller reads what waits for each and hands it to ``retry(_:)``.
    package mutating func originsToRetry(also extra: Set<Identifier> = []) -> [Identifier] {
        let origins = admission.takeTouched().union(extra)
        guard !origins.isEmpty, retryRounds < 10_000 else { return [] }
        retryRounds += 1
        return origins.sorted { $0.text < $1.text }
    }

    /// Retries the quarantine of every origin this transaction advanced or enrolled (and `extra`) until nothing more is
    /// admitted, reading what waits for each origin with `waiting`, for a backend that reads as it goes (SQLite, the
    /// memory backend; PostgreSQL's receiver drives ``originsToRetry(also:)`` and ``retry(_:)`` itself, reading ahead).
    package mutating func retryQuarantine(
        also extra: Set<Identifier> = [], waiting: (Backend, Identifier) throws(StoreError) -> [Event]
    ) throws(StoreError) {
        var origins = originsToRetry(also: extra)
        while !origins.isEmpty {
            for origin in origins { try retry(waiting(backend, origin)) }
            origins = originsToRetry()
        }
    }

    /// Retries events read from quarantine: one origin's, by position and then by id, so that two events waiting at one
    /// position (the branches of a fork behind a gap) are retried in the same order on every backend and the same
    /// one is held. Each now held leaves the quarantine.
    package mutating func retry(_ waiting: [Event]) throws(StoreError) {
        for event in waiting {
            guard try perform(event, fromQuarantine: true).holds else { continue }
            try backend.release(event.id)
            outcome.quarantined.removeAll { $0.id == event.id }
        }
    }
}

extension AdmissionStep {
    /// Whether the event is held after this step (appended, or present already).
    package var holds: Bool {
        switch self {
        case .present, .insert: true
        case .outsideSlice, .quarantine, .fork: false
        }
    }
}
