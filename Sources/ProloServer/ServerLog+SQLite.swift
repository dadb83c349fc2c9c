import Dispatch
public import ProloDomain
public import ProloExport
public import ProloProjections
public import ProloStore
public import ProloSync

/// A SQLite store as the server's log: its calls run on the server's store threads (``StoreWork``), its read models
/// serve the pages, patients, alerts and FHIR routes.
public final class SQLiteServerLog: ServerLog {
    public let projected: ProjectedStore
    public let isReadOnly: Bool
    let storeWork: StoreWork
    /// Each scope's version vector, as the summary of every sync announces it.
    let scopeVectors: ScopeVectors

    public init(projected: ProjectedStore, storeWorkers: Int, readOnly: Bool = false) {
        self.projected = projected
        self.isReadOnly = readOnly
        self.storeWork = StoreWork(limit: storeWorkers)
        self.scopeVectors = ScopeVectors(store: projected.store)
    }

    var store: EventStore { projected.store }
    public var identity: StoreIdentity { store.identity }
    public var backendName: String { "sqlite" }
    public var readModels: ProjectedStore? { projected }

    public func credentials(presented text: String) async throws -> (token: AccessToken?, registry: DeviceRegistry) {
        try await storeWork.run { (try self.store.token(presented: text), try self.store.registry()) }
    }

    public func tokens() async throws -> [AccessToken] {
        try await storeWork.run { try self.store.tokens() }
    }

    public func registry() async throws -> DeviceRegistry {
        try await storeWork.run { try self.store.registry() }
    }

    public func summary(_ scope: SyncScope) async throws -> (VersionVector, ChainHeads) {
        try await storeWork.run { () throws -> (VersionVector, ChainHeads) in
            let vector = try self.scopeVectors.vector(scope)
            return (vector, try self.store.chainHeads(at: vector))
        }
    }

    public func pull(from vector: VersionVector, heads: ChainHeads, scope: SyncScope, limit: Int) async throws -> PullBatch {
        try await storeWork.run { () throws -> PullBatch in
            var batch = PullBatch(scope: scope, registry: try self.store.registry(), limit: limit)
            try self.store.scanMissing(from: vector, heads: heads, patient: scope.patient) { stored throws(StoreError) in
                batch.offer(stored)
            }
            batch.finish()
            return batch
        }
    }

    public func state(of patient: PatientID) async throws -> TreatmentState? {
        try await storeWork.run { try self.projected.state(of: patient) }
    }

    public func openAlerts() async throws -> [AlertRecord] {
        try await storeWork.run { try self.projected.openAlerts() }
    }

    public func events(ids: [EventID]) async throws -> [StoredEvent] {
        try await storeWork.run { try ids.compactMap { id throws(StoreError) in try self.store.event(id: id) } }
    }

    public func events(_ filter: EventFilter) async throws -> [StoredEvent] {
        try await storeWork.run { try self.store.events(filter) }
    }

    public func due(within days: Int, now: Timestamp) async throws -> [PatientSummary] {
        try await storeWork.run { try self.projected.due(within: days, now: now) }
    }

    public func versionVector() async throws -> VersionVector {
        try await storeWork.run { try self.store.versionVector() }
    }

    public func quarantine() async throws -> [QuarantinedEvent] {
        try await storeWork.run { try self.store.quarantine() }
    }

    public func forks() async throws -> [ForkEvidence] {
        try await storeWork.run { try self.store.forks() }
    }

    public func accessLog() async throws -> [AccessRecord] {
        try await storeWork.run { try self.store.accessLog() }
    }

    public var recordSource: any FHIRRecordSource { store }

    public func clinicName() async throws -> String? {
        try await storeWork.run { try self.store.clinicName() }
    }

    public func patientBundle(of patient: PatientID, options: FHIRExportOptions) async throws -> [UInt8] {
        try await storeWork.run { try FHIRExport.patientBundle(of: patient, from: self.store, options: options).bytes }
    }

    public func append(_ events: [Event], scope: AppendScope) async throws -> AppendOutcome {
        try await storeWork.run { try self.store.append(events, scope: scope) }
    }

    public func record(_ drafts: [EventDraft], signedBy key: DeviceKey) async throws -> [StoredEvent] {
        try await storeWork.run { try self.store.record(drafts, signedBy: key) }
    }

    /// On a thread of its own, not the store threads: the access log's group commit waits for the writer and its
    /// `fsync`, which requests' store work should not queue behind (issue 13).
    public func logAccess(contentsOf records: [AccessRecord]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try self.store.logAccess(contentsOf: records) })
            }
        }
    }
}
