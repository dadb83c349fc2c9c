import ProloDomain
import ProloStore

/// The append path's backend on PostgreSQL (``AdmissionBackend``): admission reads what was fetched ahead
/// (``PrefetchedAdmissionLog``), and the writes it decides are queued in order, to be sent when the receiver flushes
/// (``PostgresReceiver/flush()``): admission is synchronous, the database is a round trip away. The reads count the
/// queued writes as done.
struct PostgresAdmissionBackend: AdmissionBackend {
    /// A write decided and not sent yet.
    enum QueuedWrite {
        case insert(Event, receivedAt: Int64)
        case quarantine(Event, reason: String, retry: Bool, receivedAt: Int64)
        case fork(Event, heldHash: EventHash?, detectedAt: Int64)
        case flag(EventID, EventFlag)
        case hold(ReviewHold, origin: Identifier, HoldSelection, detail: String)
    }

    var reads: PrefetchedAdmissionLog
    private var queued: [QueuedWrite] = []
    /// Ids to take out of quarantine; only those known to wait there are deleted (most batches release none).
    private var released: Set<String> = []

    init(reads: PrefetchedAdmissionLog = PrefetchedAdmissionLog()) {
        self.reads = reads
    }

    /// The writes queued since the last call, in order, and the quarantined ids they release.
    mutating func take() -> (writes: [QueuedWrite], released: [String]) {
        defer {
            queued = []
            released = []
        }
        return (queued, Array(released.intersection(reads.quarantined)))
    }

    func hash(of id: EventID) throws(StoreError) -> EventHash? { try reads.hash(of: id) }

    func hash(origin: Identifier, originSeq: Int64) throws(StoreError) -> EventHash? {
        try reads.hash(origin: origin, originSeq: originSeq)
    }

    func isForkEvidence(_ event: Event) throws(StoreError) -> Bool { try reads.isForkEvidence(event) }
    func chainHead(of origin: Identifier) throws(StoreError) -> ChainHead { try reads.chainHead(of: origin) }

    func patientHead(origin: Identifier, patient: PatientID) throws(StoreError) -> EventHash? {
        try reads.patientHead(origin: origin, patient: patient)
    }

    func forkPosition(of origin: Identifier) throws(StoreError) -> Int64? { try reads.forkPosition(of: origin) }

    mutating func insert(_ event: Event, receivedAt: Int64, uncheckedSignature: Bool) throws(StoreError) -> Int64? {
        // This backend keeps no list of unchecked signatures: its appends check every event's own.
        guard !uncheckedSignature else {
            throw StoreError(
                .internalError, "event \(event.id) was admitted with its own signature unchecked, which PostgreSQL does not list",
                event: event.id)
        }
        queued.append(.insert(event, receivedAt: receivedAt))
        reads.inserted(event)
        return nil
    }

    mutating func quarantine(_ event: Event, reason: String, retry: Bool, receivedAt: Int64) throws(StoreError) {
        queued.append(.quarantine(event, reason: reason, retry: retry, receivedAt: receivedAt))
        reads.waits(event.id.text, origin: event.origin)
    }

    mutating func release(_ id: EventID) throws(StoreError) { released.insert(id.text) }

    mutating func recordFork(_ event: Event, heldHash: EventHash?, detectedAt: Int64) throws(StoreError) {
        queued.append(.fork(event, heldHash: heldHash, detectedAt: detectedAt))
        reads.recordedEvidence(event)
    }

    mutating func flag(_ id: EventID, _ flag: EventFlag) throws(StoreError) { queued.append(.flag(id, flag)) }

    mutating func hold(_ hold: ReviewHold, origin: Identifier, _ selection: HoldSelection, detail: String)
        throws(StoreError) -> [HeldRow]
    {
        queued.append(.hold(hold, origin: origin, selection, detail: detail))
        return []
    }
}
