import NIOCore
import Synchronization
import PostgresNIO
public import ProloDomain
public import ProloStore

extension PostgresLog {
    /// Whose log this is: the identity `store_meta` holds (copied by ``moveUp(from:progress:)``).
    public func identity() async throws(StoreError) -> StoreIdentity {
        if let knownIdentity { return knownIdentity }
        let rows = try await run(
            "SELECT key, value FROM store_meta WHERE key = ANY(\(StoreIdentity.metaKeys))", "cannot read store_meta")
        var values: [String: String] = [:]
        for row in rows {
            if let key = try Self.decode(row, 0, as: String.self, "key") {
                values[key] = try Self.decode(row, 1, as: String.self, "value")
            }
        }
        return try StoreIdentity(meta: values, of: "the database \(url.redacted)")
    }

    /// The device registry as last applied (`origins`), as a SQLite store's `EventStore.registry()` reads it. On a
    /// hub's connection, the copy in memory when `registry_version` (migration 3) is the one it was read at.
    ///
    /// Not to be asked (nor ``leaseSnapshot()``, nor ``forkPositions()``) after a transaction changed the registry or
    /// recorded fork evidence (``saveRegistry(_:since:now:)``, a fork: both raise the version): the version it would
    /// see counts the transaction's own uncommitted change, which a rollback takes back, and the cache would keep it.
    public func registry() async throws(StoreError) -> DeviceRegistry {
        try await registry(atVersion: registryCache == nil ? nil : try await registryVersion())
    }

    /// The registry and the fork positions as this hub connection's lease first read them (one version check per
    /// lease, none after it): for what a request reads (a summary, a pull), never for a transaction that decides
    /// against the registry (an append takes it from ``lockForWriting(origins:exclusive:)``, under its locks).
    func leaseSnapshot() async throws(StoreError) -> RegistrySnapshot {
        if let known = lease.withLock({ $0 }) { return known }
        let snapshot = try await self.snapshot(at: try await registryVersion())
        lease.withLock { $0 = snapshot }
        return snapshot
    }

    /// The registry as this lease first read it (``leaseSnapshot()``); on a connection of its own (a command's), as
    /// it stands.
    public func registryForReading() async throws(StoreError) -> DeviceRegistry {
        registryCache == nil ? try await loadRegistry() : try await leaseSnapshot().registry
    }

    /// The token whose secret is `text` (`nil` when none is) and the registry, by one statement on a hub's connection
    /// (the token and the registry's version together; the registry from memory when it has not changed): what a
    /// server authenticates and authorizes each request with.
    public func credentials(presented text: String) async throws(StoreError) -> (token: AccessToken?, registry: DeviceRegistry) {
        guard registryCache != nil else { return (try await token(presented: text), try await loadRegistry()) }
        let (id, hash) = AccessToken.presented(text) ?? ("", [])
        let rows = try await run(TokenAndRegistryVersion.self, PostgresBindings(id), "cannot read tokens")
        let version = try Self.decode(rows.first, 8, as: Int64.self, "version") ?? -1
        return (try Self.token(rows.first, matching: hash), try await registry(atVersion: version))
    }

    /// Takes a write's locks (the registry's advisory lock, exclusive when the write may change the registry, then
    /// `origins`' rows in origin order: `prolo_lock_batch`, migration 5) and returns the registry as it stands once
    /// they are held: one round trip, where it was three.
    func lockForWriting(origins: [String], exclusive: Bool) async throws(StoreError) -> DeviceRegistry {
        let rows = try await run(LockBatch.self, PostgresBindings(exclusive, origins), "cannot lock the batch's chains")
        return try await registry(atVersion: try Self.decode(rows.first, 0, as: Int64.self, "version") ?? -1)
    }

    /// The registry at `version` on a hub's connection (from memory when it was read at that version); as it stands
    /// on a connection of its own, which keeps nothing (`version` is then not asked for: `nil`).
    private func registry(atVersion version: Int64?) async throws(StoreError) -> DeviceRegistry {
        guard let version, registryCache != nil else { return try await loadRegistry() }
        return try await snapshot(at: version).registry
    }

    private func registryVersion() async throws(StoreError) -> Int64 {
        let rows = try await run(RegistryVersion.self, "cannot read the registry's version")
        return try Self.decode(rows.first, 0, as: Int64.self, "version") ?? -1
    }

    /// The registry and fork positions at `version`: from memory, or read and remembered. Read after the version,
    /// so a change committed between the two is kept under the older number and only makes the next request read
    /// them again (fork evidence raises the version too: migration 5).
    private func snapshot(at version: Int64) async throws(StoreError) -> RegistrySnapshot {
        if let cached = registryCache?.snapshot(at: version) { return cached }
        let snapshot = RegistrySnapshot(registry: try await loadRegistry(), forkedHere: try await loadForkPositions())
        registryCache?.remember(snapshot, at: version)
        return snapshot
    }

    private func loadRegistry() async throws(StoreError) -> DeviceRegistry {
        let rows = try await run(
            """
            SELECT origin, public_key, name, role, patient, enrolled_by, updated_hlc, revoked_hlc, revoked_by, frozen_reason
            FROM origins
            """, "cannot read the device registry")
        var records: [DeviceRecord] = []
        for row in rows {
            let origin = try Self.decode(row, 0, as: String.self, "origin") ?? ""
            guard let keyBytes = try Self.decode(row, 1, as: ByteBuffer.self, "public_key"),
                let key = try? DevicePublicKey(rawBytes: Array(keyBytes.readableBytesView))
            else {
                throw StoreError(.ioError, "origin \(origin) has a malformed public key")
            }
            records.append(
                DeviceRecord(
                    publicKey: key, name: try Self.decode(row, 2, as: String.self, "name") ?? origin,
                    role: DeviceRecord.Role(rawValue: try Self.decode(row, 3, as: String.self, "role") ?? "") ?? .clinic,
                    patient: try Self.decode(row, 4, as: String.self, "patient").flatMap { try? PatientID(checked: $0) },
                    enrolledBy: try Self.decode(row, 5, as: String.self, "enrolled_by").flatMap { try? EventID(checked: $0) },
                    updatedHLC: HLC(packed: try Self.decode(row, 6, as: Int64.self, "updated_hlc") ?? 0),
                    revokedAfter: try Self.decode(row, 7, as: Int64.self, "revoked_hlc").map { HLC(packed: $0) },
                    revokedBy: try Self.decode(row, 8, as: String.self, "revoked_by").flatMap { try? EventID(checked: $0) },
                    frozenReason: try Self.decode(row, 9, as: String.self, "frozen_reason")))
        }
        return DeviceRegistry(records)
    }

    /// Writes the records of `registry` that differ from `before`, inside the caller's transaction.
    func saveRegistry(_ registry: DeviceRegistry, since before: DeviceRegistry, now: Int64) async throws(StoreError) {
        for (origin, record) in registry.devices.sorted(by: { $0.key.text < $1.key.text })
        where before.devices[origin] != record {
            try await run(
                """
                INSERT INTO origins (origin, public_key, name, added_at, role, patient, enrolled_by, updated_hlc,
                    revoked_hlc, revoked_by, frozen_reason)
                VALUES (\(origin.text), \(ByteBuffer(bytes: record.publicKey.rawBytes)), \(record.name), \(now),
                    \(record.role.rawValue), \(record.patient?.text), \(record.enrolledBy?.text),
                    \(record.updatedHLC.packed), \(record.revokedAfter?.packed), \(record.revokedBy?.text),
                    \(record.frozenReason))
                ON CONFLICT (origin) DO UPDATE SET name = excluded.name, role = excluded.role, patient = excluded.patient,
                    enrolled_by = excluded.enrolled_by, updated_hlc = excluded.updated_hlc,
                    revoked_hlc = excluded.revoked_hlc, revoked_by = excluded.revoked_by,
                    frozen_reason = excluded.frozen_reason
                """, "cannot save the device registry")
        }
    }

    /// Saves what a peer holds, inside the caller's transaction.
    func saveCheckpoint(_ checkpoint: PeerCheckpoint, now: Int64) async throws(StoreError) {
        let vector = String(decoding: CanonicalJSON.encode(checkpoint.vector.jsonValue), as: UTF8.self)
        try await run(
            """
            INSERT INTO sync_peers (peer, vector, updated_at) VALUES (\(checkpoint.peer), \(vector), \(now))
            ON CONFLICT (peer) DO UPDATE SET vector = excluded.vector, updated_at = excluded.updated_at
            """, "cannot save the peer's checkpoint")
    }

    /// What this log last learnt a peer holds, or `nil`.
    public func checkpoint(of peer: String) async throws(StoreError) -> VersionVector? {
        let rows = try await run("SELECT vector FROM sync_peers WHERE peer = \(peer)", "cannot read sync_peers")
        guard let text = try Self.decode(rows.first, 0, as: String.self, "vector") else { return nil }
        return try? VersionVector(json: Array(text.utf8))
    }
}

/// The device registry and where each forked origin's chain splits (the lowest position of its fork evidence), as
/// read at one `registry_version`.
struct RegistrySnapshot: Sendable {
    let registry: DeviceRegistry
    let forkedHere: [String: Int64]
}

/// The registry a hub's connections read last, with the fork positions, and the `registry_version` it was read at.
final class RegistryCache: Sendable {
    private let cached = Mutex<(version: Int64, snapshot: RegistrySnapshot)?>(nil)

    func snapshot(at version: Int64) -> RegistrySnapshot? {
        cached.withLock { $0?.version == version ? $0?.snapshot : nil }
    }

    func remember(_ snapshot: RegistrySnapshot, at version: Int64) {
        cached.withLock { $0 = (version, snapshot) }
    }
}
