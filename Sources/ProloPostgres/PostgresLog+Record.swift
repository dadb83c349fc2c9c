import Foundation
import NIOCore
import PostgresNIO
public import ProloDomain
public import ProloStore

extension PostgresLog {
    /// Records new events of this log's own device (a hub's server enrolling a device, an operator's `prolo device
    /// enroll --database`): chains, compresses and signs them as a SQLite store's `record` does (``EventSealer``),
    /// refuses the whole record when a registry event of it is refused (``EventStore/applyOwn(_:to:)``), then stores
    /// them through the same admission as received events, which applies the registry and re-examines what waited
    /// for an enrollment.
    ///
    /// Serialized with other writers of this device's origin by its `origins` row; a registry event takes the
    /// registry lock alone (``append(_:scope:checkpoint:)``).
    @discardableResult
    public func record(_ drafts: [EventDraft], signedBy key: DeviceKey) async throws(StoreError) -> [StoredEvent] {
        let identity = try await identity()
        guard key.publicKey == identity.publicKey else {
            throw StoreError(
                .permissionDenied,
                "the device key does not belong to this database's device (\(identity.deviceName), origin \(identity.origin))")
        }
        guard !drafts.isEmpty else { return [] }
        let compressed = try EventStore.compress(drafts)
        let origin = identity.origin
        let administrative = drafts.contains { $0.type.isAdministrative }
        return try await transaction("cannot record") { () async throws(StoreError) -> [StoredEvent] in
            let registry = try await lockForWriting(origins: [origin.text], exclusive: administrative)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let head = try await run(
                "SELECT origin_seq, hash FROM events WHERE origin = \(origin.text) ORDER BY origin_seq DESC LIMIT 1",
                "cannot read this device's chain head")
            let lastHash = try Self.decode(head.first, 1, as: ByteBuffer.self, "hash")
                .flatMap { try? EventHash(bytes: Array($0.readableBytesView)) }
            // The latest HLC held that is not beyond the drift bound, so a far-future event does not drag the clock.
            let bound = HLC(wallMilliseconds: now + HybridClock.defaultMaximumDrift, counter: UInt16.max).packed
            let latest = try await run("SELECT max(hlc) FROM events WHERE hlc <= \(bound)", "cannot read the clock")
            var sealer = EventSealer(
                origin: origin, lastSeq: try Self.decode(head.first, 0, as: Int64.self, "origin_seq") ?? 0,
                lastHash: lastHash,
                clock: HybridClock(last: HLC(packed: try Self.decode(latest.first, 0, as: Int64.self, "max") ?? 0)))
            let patientHeads = try await patientHeads(of: origin, Set(drafts.compactMap(\.patient)))
            var unsigned: [UnsignedEvent] = []
            for draft in compressed {
                unsigned.append(
                    try sealer.link(draft, wallMilliseconds: now) { patient throws(StoreError) in patientHeads[patient] })
            }
            let events: [Event]
            do {
                events = try Parallel.map(unsigned, minimumPerWorker: 16) { try $0.signed(with: key) }
            } catch {
                throw StoreError(.internalError, "cannot sign events: \(error)")
            }
            var checked = registry
            _ = try EventStore.applyOwn(events, to: &checked)
            let admission = EventAdmission(
                registry: registry, verified: Set(events.map(\.id)), ownOrigin: origin, now: now)
            var receiver = PostgresReceiver(log: self, admission: admission)
            try await receiver.receive(events, fromQuarantine: false)
            guard receiver.outcome.appended.count == events.count else {
                throw StoreError(
                    .internalError,
                    "this device's own events were not admitted (\(receiver.outcome.quarantined.first?.reason ?? "held"))")
            }
            try await receiver.retryQuarantine()
            try await receiver.flush()
            if receiver.registryChanged { try await saveRegistry(receiver.registry, since: registry, now: now) }
            try await receiver.fold()
            let ids = Set(events.map(\.id))
            return receiver.outcome.appended.filter { ids.contains($0.event.id) }
        }
    }

    /// The hash of `origin`'s latest event about each of `patients`.
    private func patientHeads(of origin: Identifier, _ patients: Set<PatientID>) async throws(StoreError)
        -> [PatientID: EventHash]
    {
        guard !patients.isEmpty else { return [:] }
        let rows = try await run(
            """
            SELECT p.patient, (
                SELECT hash FROM events e WHERE e.patient = p.patient AND e.origin = \(origin.text)
                ORDER BY e.origin_seq DESC LIMIT 1)
            FROM unnest(\(patients.map(\.text))::text[]) AS p(patient)
            """, "cannot read this device's patient chains")
        var heads: [PatientID: EventHash] = [:]
        for row in rows {
            guard let patient = try Self.decode(row, 0, as: String.self, "patient").flatMap({ try? PatientID(checked: $0) }),
                let bytes = try Self.decode(row, 1, as: ByteBuffer.self, "hash"),
                let hash = try? EventHash(bytes: Array(bytes.readableBytesView))
            else { continue }
            heads[patient] = hash
        }
        return heads
    }
}
