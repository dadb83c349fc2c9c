public import ProloDomain
public import ProloExport
public import ProloProjections
public import ProloStore
public import ProloSync

/// What the clinic server's sync, device and token routes need of the log they serve: a SQLite store
/// (``SQLiteServerLog``, with its read models) or a clinic hub's PostgreSQL database (``PostgresServerLog``). The
/// rules stay above it, once: admission (`EventAdmission`), what a peer is missing (`MissingEvents`), what a scope
/// admits and how a pulled batch is cut (``PullBatch``), tokens (`AccessToken`, `DeviceAccess`).
///
/// Async: PostgreSQL's calls never hold a thread while they wait; SQLite's run on the server's store threads.
public protocol ServerLog: Sendable {
    /// Whose log this is.
    var identity: StoreIdentity { get }
    /// What the server says it runs on (`sqlite`, `postgresql`), in `/healthz` and the startup line.
    var backendName: String { get }
    /// The SQLite store with its read models (where the bulk export's jobs are kept beside it); `nil` on PostgreSQL.
    var readModels: ProjectedStore? { get }
    /// Whether this log refuses every write (a server on a standby, `prolo serve --read-only`).
    var isReadOnly: Bool { get }

    /// The token whose secret is `text` (`nil` when the log has none) and the registry to authorize it against: what
    /// every request starts with, so a backend may read both at once (a hub: one statement, the registry from memory).
    func credentials(presented text: String) async throws -> (token: AccessToken?, registry: DeviceRegistry)
    func tokens() async throws -> [AccessToken]
    func registry() async throws -> DeviceRegistry
    /// The log's version vector within `scope` and the chain heads at it (a sync summary's answer).
    func summary(_ scope: SyncScope) async throws -> (VersionVector, ChainHeads)
    /// One batch of what a caller of `scope` holding `vector` and `heads` is missing, cut at `limit` bytes.
    func pull(from vector: VersionVector, heads: ChainHeads, scope: SyncScope, limit: Int) async throws -> PullBatch
    func append(_ events: [Event], scope: AppendScope) async throws -> AppendOutcome
    func record(_ drafts: [EventDraft], signedBy key: DeviceKey) async throws -> [StoredEvent]
    func logAccess(contentsOf records: [AccessRecord]) async throws
    /// A patient's treatment state from the read models, or `nil` when they hold no event of theirs.
    func state(of patient: PatientID) async throws -> TreatmentState?
    /// Uncleared alerts of every patient, as `prolo alerts` lists them.
    func openAlerts() async throws -> [AlertRecord]
    /// The stored events with these ids (those the log holds), in one read.
    func events(ids: [EventID]) async throws -> [StoredEvent]
    /// The events `filter` selects, in arrival order.
    func events(_ filter: EventFilter) async throws -> [StoredEvent]
    /// Patients whose next session is due by `now + days`, soonest first (the today page).
    func due(within days: Int, now: Timestamp) async throws -> [PatientSummary]
    /// What the devices page shows beside the registry: how far each chain arrived, what waits, proven forks, and
    /// the access log's sync lines.
    func versionVector() async throws -> VersionVector
    func quarantine() async throws -> [QuarantinedEvent]
    func forks() async throws -> [ForkEvidence]
    func accessLog() async throws -> [AccessRecord]
    /// The clinic's name, if the store has one (every page's heading).
    func clinicName() async throws -> String?
    /// Where a bulk FHIR export reads (on its own thread): the store, or the hub's database.
    var recordSource: any FHIRRecordSource { get }
    /// A patient's record as one FHIR `collection` Bundle (`FHIRExport`), canonical JSON; a `FHIRExportError`
    /// `noSuchPatient` when the log holds no event of theirs.
    func patientBundle(of patient: PatientID, options: FHIRExportOptions) async throws -> [UInt8]
}

/// One pulled batch: the wire records of the events a scope admits, in the order served, cut by ``BatchCutter`` (the
/// rule every sender's batches follow) before the record that would take it past its byte limit (a first record
/// always goes, however large).
public struct PullBatch: Sendable {
    public private(set) var records: [[UInt8]] = []
    /// Whether events were left for the next batch.
    public private(set) var more = false
    private var cutter: BatchCutter
    private let scope: SyncScope
    private let registry: DeviceRegistry

    public init(scope: SyncScope, registry: DeviceRegistry, limit: Int) {
        self.scope = scope
        self.registry = registry
        self.cutter = BatchCutter(maximumBytes: limit)
    }

    /// Takes `stored` if the scope admits it; returns whether to go on (false once the batch is full).
    public mutating func offer(_ stored: StoredEvent) -> Bool {
        guard scope.admits(stored.event, registry: registry) else { return true }
        if let full = cutter.add(EventWireCodec.encode(stored.event)) {
            records = full
            more = true
            return false
        }
        return true
    }

    /// Ends the batch when the scan ran out before it was full.
    public mutating func finish() {
        if !more { records = cutter.flush() ?? [] }
    }
}
