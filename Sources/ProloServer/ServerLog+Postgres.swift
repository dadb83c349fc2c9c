public import ProloDomain
public import ProloPostgres
public import ProloProjections
public import ProloStore
public import ProloSync

/// A clinic hub's PostgreSQL database as the server's log (issue 14): every call on a connection leased from the
/// hub's pool. It keeps no read models yet, so the server refuses the routes that read them (patients, alerts,
/// FHIR, the pages) with a clear error; sync, devices, enrollment, tokens and the access log work as on SQLite.
public final class PostgresServerLog: ServerLog {
    public let hub: PostgresHub
    public let isReadOnly: Bool

    public init(hub: PostgresHub, readOnly: Bool = false) {
        self.hub = hub
        self.isReadOnly = readOnly
    }

    public var identity: StoreIdentity { hub.identity }
    public var backendName: String { "postgresql" }
    public var readModels: ProjectedStore? { nil }

    public func token(presented text: String) async throws -> AccessToken? {
        try await hub.withLog { log throws(StoreError) in try await log.token(presented: text) }
    }

    public func tokens() async throws -> [AccessToken] {
        try await hub.withLog { log throws(StoreError) in try await log.tokens() }
    }

    public func registry() async throws -> DeviceRegistry {
        try await hub.withLog { log throws(StoreError) in try await log.registry() }
    }

    /// A slice's vector is, per origin, the highest position of what ``pull(from:heads:scope:limit:)`` would serve
    /// it from nothing: read from the slice itself here (the SQLite store counts it from its indexes, `ScopeVectors`).
    public func summary(_ scope: SyncScope) async throws -> (VersionVector, ChainHeads) {
        try await hub.withLog { log throws(StoreError) -> (VersionVector, ChainHeads) in
            var vector: VersionVector
            if let patient = scope.patient {
                let registry = try await log.registry()
                vector = VersionVector()
                try await log.scanMissing(from: VersionVector(), patient: patient) { stored throws(StoreError) in
                    if scope.admits(stored.event, registry: registry), stored.event.originSeq > vector[stored.event.origin.text] {
                        vector.advance(stored.event.origin.text, to: stored.event.originSeq)
                    }
                    return true
                }
            } else {
                vector = try await log.versionVector()
            }
            return (vector, try await log.chainHeads(at: vector))
        }
    }

    public func pull(from vector: VersionVector, heads: ChainHeads, scope: SyncScope, limit: Int) async throws -> PullBatch {
        try await hub.withLog { log throws(StoreError) -> PullBatch in
            var batch = PullBatch(scope: scope, registry: try await log.registry(), limit: limit)
            try await log.scanMissing(from: vector, heads: heads, patient: scope.patient) { stored throws(StoreError) in
                batch.offer(stored)
            }
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
