public import ProloDomain
public import ProloExport
public import ProloPostgres
public import ProloProjections
public import ProloStore
public import ProloSync
import Dispatch
import Synchronization

/// A clinic hub's PostgreSQL database as the server's log (issue 14): every call on a connection leased from the
/// hub's pool. Every route works as on SQLite: sync, devices, enrollment, tokens, the access log, a patient's state
/// and the alerts (the treatment read models are kept in the database, `PostgresReadModel`), a patient's FHIR record
/// and the bulk export (from the events read here, by the export's rules), and the clinic's pages.
public final class PostgresServerLog: ServerLog {
    public let hub: PostgresHub
    public let isReadOnly: Bool
    /// The payloads of the administrative events read for slices' vectors, by `seq` (an event never changes; as
    /// many as the hub's enrollments and revocations), as `ScopeVectors` keeps them for a SQLite store.
    private let administrative = Mutex<[Int64: (any EventPayload)?]>([:])

    public init(hub: PostgresHub, readOnly: Bool = false) {
        self.hub = hub
        self.isReadOnly = readOnly
    }

    public var identity: StoreIdentity { hub.identity }
    public var backendName: String { "postgresql" }
    public var readModels: ProjectedStore? { nil }

    public func state(of patient: PatientID) async throws -> TreatmentState? {
        try await hub.withLog { log throws(StoreError) in try await log.state(of: patient) }
    }

    public func openAlerts() async throws -> [AlertRecord] {
        try await hub.withLog { log throws(StoreError) in try await log.openAlerts() }
    }

    public func events(ids: [EventID]) async throws -> [StoredEvent] {
        try await hub.withLog { log throws(StoreError) in try await log.events(ids: ids) }
    }

    public func events(_ filter: EventFilter) async throws -> [StoredEvent] {
        try await hub.withLog { log throws(StoreError) in try await log.events(filter) }
    }

    public func due(within days: Int, now: Timestamp) async throws -> [PatientSummary] {
        try await hub.withLog { log throws(StoreError) in try await log.due(within: days, now: now) }
    }

    public func versionVector() async throws -> VersionVector {
        try await hub.withLog { log throws(StoreError) in try await log.versionVector() }
    }

    public func quarantine() async throws -> [QuarantinedEvent] {
        try await hub.withLog { log throws(StoreError) in try await log.quarantine() }
    }

    public func forks() async throws -> [ForkEvidence] {
        try await hub.withLog { log throws(StoreError) in try await log.forks() }
    }

    public func accessLog() async throws -> [AccessRecord] {
        try await hub.withLog { log throws(StoreError) in try await log.accessLog() }
    }

    public func clinicName() async throws -> String? {
        try await hub.withLog { log throws(StoreError) in try await log.clinicName() }
    }

    public var recordSource: any FHIRRecordSource { PostgresRecordSource(hub: hub) }

    /// The log's events of the types a FHIR export reads beside a patient's (`FHIRExport.administrativeTypes`).
    static func administrativeEvents(_ log: PostgresLog) async throws(StoreError) -> [StoredEvent] {
        var events: [StoredEvent] = []
        for type in FHIRExport.administrativeTypes { events += try await log.events(EventFilter(type: type)) }
        return events
    }

    /// The patient's events, the administrative events and the registry, read on one connection; the Bundle made
    /// from them by the export's rule (`FHIRExport.patientBundle(of:events:administrative:registry:options:)`).
    public func patientBundle(of patient: PatientID, options: FHIRExportOptions) async throws -> [UInt8] {
        let (events, administrative, registry) = try await hub.withLog {
            log throws(StoreError) -> ([StoredEvent], [StoredEvent], DeviceRegistry) in
            (try await log.events(EventFilter(patient: patient)), try await Self.administrativeEvents(log), try await log.registry())
        }
        return try FHIRExport.patientBundle(
            of: patient, events: events, administrative: administrative, registry: registry, options: options)
    }

    public func credentials(presented text: String) async throws -> (token: AccessToken?, registry: DeviceRegistry) {
        try await hub.withLog { log throws(StoreError) in try await log.credentials(presented: text) }
    }

    public func tokens() async throws -> [AccessToken] {
        try await hub.withLog { log throws(StoreError) in try await log.tokens() }
    }

    public func registry() async throws -> DeviceRegistry {
        try await hub.withLog { log throws(StoreError) in try await log.registry() }
    }

    /// A slice's vector by the rule a SQLite store's follows (`ScopeVectors.vector(of:scope:registry:payload:)`),
    /// from the slice's positions; the administrative events' payloads are read once, together.
    public func summary(_ scope: SyncScope) async throws -> (VersionVector, ChainHeads) {
        try await hub.withLog { log throws(StoreError) -> (VersionVector, ChainHeads) in
            guard let patient = scope.patient else { return try await log.versionVectorAndHeads() }
            let (positions, hashes) = try await log.slicePositionsAndHashes(patient: patient)
            let unread = administrative.withLock { known in positions.administrative.map(\.seq).filter { known[$0] == nil } }
            let read = try await log.events(seqs: unread)
            let payloads = administrative.withLock { known -> [Int64: (any EventPayload)?] in
                for seq in unread { known[seq] = .some(try? read[seq]?.event.payload()) }
                return known
            }
            let vector = try ScopeVectors.vector(of: positions, scope: scope, registry: try await log.registryForReading()) {
                seq throws(StoreError) in payloads[seq] ?? nil
            }
            return (vector, try await log.chainHeads(at: vector, from: hashes))
        }
    }

    public func pull(from vector: VersionVector, heads: ChainHeads, scope: SyncScope, limit: Int) async throws -> PullBatch {
        try await hub.withLog { log throws(StoreError) -> PullBatch in
            var batch = PullBatch(scope: scope, registry: try await log.registryForReading(), limit: limit)
            try await log.scanMissing(from: vector, heads: heads, patient: scope.patient) { stored throws(StoreError) in
                batch.offer(stored)
            }
            batch.finish()
            return batch
        }
    }

    public func append(_ events: [Event], scope: AppendScope) async throws -> AppendOutcome {
        try await hub.withLog { log throws(StoreError) in try await log.append(events, scope: scope) }
    }

    public func record(_ drafts: [EventDraft], signedBy key: DeviceKey) async throws -> [StoredEvent] {
        try await hub.withLog { log throws(StoreError) in try await log.record(drafts, signedBy: key) }
    }

    public func logAccess(contentsOf records: [AccessRecord]) async throws {
        try await hub.withLog { log throws(StoreError) in try await log.logAccess(contentsOf: records) }
    }
}

/// A hub's database as a bulk FHIR export's source: each read a PostgreSQL call on a connection of the pool, which the
/// export's own thread waits for (never a thread of the concurrency pool or an event loop, which run the call).
struct PostgresRecordSource: FHIRRecordSource {
    let hub: PostgresHub

    func registry() throws(StoreError) -> DeviceRegistry {
        try waiting { log throws(StoreError) in try await log.registry() }
    }

    func administrativeEvents() throws(StoreError) -> [StoredEvent] {
        try waiting { log throws(StoreError) in try await PostgresServerLog.administrativeEvents(log) }
    }

    func patients(receivedAfter since: Timestamp?, registry: DeviceRegistry) throws(StoreError)
        -> (patients: Set<PatientID>, latest: Timestamp?)
    {
        try waiting { log throws(StoreError) in try await log.patients(receivedAfter: since, registry: registry) }
    }

    func events(of patients: [PatientID]) throws(StoreError) -> [PatientID: [StoredEvent]] {
        try waiting { log throws(StoreError) in try await log.events(of: patients) }
    }

    func logAccess(_ record: AccessRecord) throws(StoreError) {
        try waiting { log throws(StoreError) in try await log.logAccess(contentsOf: [record]) }
    }

    /// Runs `body` with a leased log on the concurrency pool and blocks this thread until it is done.
    private func waiting<Value: Sendable>(_ body: @escaping @Sendable (PostgresLog) async throws(StoreError) -> Value)
        throws(StoreError) -> Value
    {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<Value, StoreError>?>(nil)
        let hub = hub
        Task {
            let outcome: Result<Value, StoreError>
            do throws(StoreError) {
                outcome = .success(try await hub.withLog(body))
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0 ?? .failure(StoreError(.internalError, "the database read did not finish")) }.get()
    }
}
