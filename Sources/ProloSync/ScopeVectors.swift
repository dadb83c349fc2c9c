public import ProloDomain
public import ProloStore
import Synchronization

/// A store's version vector within a scope: what a peer of that scope holding everything it may hold announces. A
/// server answers it on every sync (`POST /v1/sync/summary`).
///
/// For a slice it is, per origin, the highest position among the events ``SyncScope/admits(_:registry:)`` lets
/// through, exactly what ``EventStore/scanMissing(from:heads:patient:_:)`` would serve the slice from nothing. The
/// patient's own events are counted by the store's indexes (``EventStore/slicePositions(patient:)``) without reading
/// one; the administrative events (enrollments and revocations, a few per device), which the scope decides by their
/// payloads, are read and decoded once each and their payloads kept here: an event never changes. Until issue 13 the
/// server read and inflated the patient's whole slice, and decoded every enrollment in it, for every summary.
public final class ScopeVectors: Sendable {
    private let store: EventStore
    /// The payloads of the administrative events read so far, by `seq` (as many as the store's enrollments and
    /// revocations; `nil`: a payload this build cannot decode, which no slice admits).
    private let administrative = Mutex<[Int64: (any EventPayload)?]>([:])

    public init(store: EventStore) {
        self.store = store
    }

    /// The store's vector within `scope`.
    public func vector(_ scope: SyncScope) throws(StoreError) -> VersionVector {
        guard let patient = scope.patient else { return try store.versionVector() }
        return try Self.vector(
            of: try store.slicePositions(patient: patient), scope: scope, registry: try store.registry(),
            payload: administrativePayload)
    }

    /// A slice's vector from its positions, whichever backend read them: the patient's own events count as they
    /// are; an administrative event or fork evidence about no patient counts when `scope` admits its payload
    /// (`payload(seq)`: the stored event's, `nil` when this build cannot decode it, which no slice admits).
    public static func vector(
        of positions: SlicePositions, scope: SyncScope, registry: DeviceRegistry,
        payload: (Int64) throws(StoreError) -> (any EventPayload)?
    ) throws(StoreError) -> VersionVector {
        var vector = positions.own
        for position in positions.administrative where position.originSeq > vector[position.origin] {
            guard let payload = try payload(position.seq), scope.admits(administrative: payload, registry: registry)
            else { continue }
            vector.advance(position.origin, to: position.originSeq)
        }
        for event in positions.administrativeEvidence where scope.admits(event, registry: registry) {
            vector.advance(event.origin.text, to: event.originSeq)
        }
        return vector
    }

    /// The payload of the administrative event stored at `seq`, from memory or read and decoded once.
    private func administrativePayload(_ seq: Int64) throws(StoreError) -> (any EventPayload)? {
        if let known = administrative.withLock({ $0[seq] }) { return known }
        guard let stored = try store.event(seq: seq) else { return nil }
        let payload = try? stored.event.payload()
        administrative.withLock { $0[seq] = payload }
        return payload
    }

    /// How many administrative events are kept in memory (for `/metrics`).
    public var cachedEvents: Int { administrative.withLock { $0.count } }
}
