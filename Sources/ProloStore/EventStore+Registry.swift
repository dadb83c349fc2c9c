public import ProloDomain
import Synchronization

extension EventStore {
    /// The device registry as this store holds it.
    public func registry() throws(StoreError) -> DeviceRegistry {
        try read { connection throws(StoreError) in try registry(connection, remember: true) }
    }

    /// The registry as `connection`'s transaction sees it: the copy in memory when the stored `registry_version` is
    /// the one it was read at (every change to `origins` raises it, in its own transaction: migration 8), otherwise
    /// read from `origins`. A server asks for it on nearly every request; it changes when a device is enrolled.
    ///
    /// Only a read transaction may `remember` what it read: it sees committed rows only. A write transaction's
    /// version may count its own uncommitted changes, which a rollback takes back and a later commit reuses.
    package func registry(_ connection: SQLiteConnection, remember: Bool) throws(StoreError) -> DeviceRegistry {
        let statement = try connection.statement("SELECT version FROM registry_version")
        guard try statement.step() else {
            statement.reset()
            throw StoreError(.ioError, "the store has no registry_version row (migration 8)")
        }
        let version = statement.int64(0)
        statement.reset()
        if let cached = registryCache.withLock({ $0 }), cached.version == version { return cached.registry }
        let registry = try Self.loadRegistry(connection)
        if remember { registryCache.withLock { $0 = RegistrySnapshot(version: version, registry: registry) } }
        return registry
    }

    /// Every device known to this store, by origin id, with its public key.
    public func knownOrigins() throws(StoreError) -> [String: DevicePublicKey] {
        try registry().devices.reduce(into: [:]) { $0[$1.key.text] = $1.value.publicKey }
    }

    package static func loadRegistry(_ connection: SQLiteConnection) throws(StoreError) -> DeviceRegistry {
        let statement = try connection.statement(
            """
            SELECT origin, public_key, name, role, patient, enrolled_by, updated_hlc, revoked_hlc, revoked_by, frozen_reason
            FROM origins
            """)
        var records: [DeviceRecord] = []
        while try statement.step() {
            guard let key = try? DevicePublicKey(rawBytes: statement.blob(1)) else {
                throw StoreError(.ioError, "origin \(statement.text(0)) has a malformed public key")
            }
            records.append(
                DeviceRecord(
                    publicKey: key, name: statement.optionalText(2) ?? statement.text(0),
                    role: DeviceRecord.Role(rawValue: statement.text(3)) ?? .clinic,
                    patient: statement.optionalText(4).flatMap { try? PatientID(checked: $0) },
                    enrolledBy: statement.optionalText(5).flatMap { try? EventID(checked: $0) },
                    updatedHLC: HLC(packed: statement.int64(6)),
                    revokedAfter: statement.isNull(7) ? nil : HLC(packed: statement.int64(7)),
                    revokedBy: statement.optionalText(8).flatMap { try? EventID(checked: $0) },
                    frozenReason: statement.optionalText(9)))
        }
        statement.reset()
        return DeviceRegistry(records)
    }

    /// Writes the records of `registry` that differ from `before`.
    static func saveRegistry(_ registry: DeviceRegistry, since before: DeviceRegistry, _ connection: SQLiteConnection)
        throws(StoreError)
    {
        let statement = try connection.statement(
            """
            INSERT INTO origins (origin, public_key, name, added_at, role, patient, enrolled_by, updated_hlc, revoked_hlc,
                revoked_by, frozen_reason)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (origin) DO UPDATE SET name = excluded.name, role = excluded.role, patient = excluded.patient,
                enrolled_by = excluded.enrolled_by, updated_hlc = excluded.updated_hlc, revoked_hlc = excluded.revoked_hlc,
                revoked_by = excluded.revoked_by, frozen_reason = excluded.frozen_reason
            """)
        for (origin, record) in registry.devices where before.devices[origin] != record {
            statement.bind(1, origin.text)
            statement.bind(2, record.publicKey.rawBytes)
            statement.bind(3, record.name)
            statement.bind(4, wallMilliseconds())
            statement.bind(5, record.role.rawValue)
            statement.bind(6, record.patient?.text)
            statement.bind(7, record.enrolledBy?.text)
            statement.bind(8, record.updatedHLC.packed)
            statement.bind(9, record.revokedAfter?.packed)
            statement.bind(10, record.revokedBy?.text)
            statement.bind(11, record.frozenReason)
            try statement.run()
        }
    }
}

extension EventStore {
    /// Applies this device's own `device.enrolled` / `device.revoked` events to the registry before they are
    /// stored; a refused one (this device may not administer, an unknown device) refuses the whole record.
    /// - Returns: the origins newly enrolled, whose quarantined events may now be admitted, and the origins newly
    ///   revoked with their revocation's HLC, whose later events must be held out of the read models.
    static func applyOwnRegistryEvents(_ events: [Event], _ connection: SQLiteConnection) throws(StoreError)
        -> (enrolled: Set<Identifier>, revoked: [Identifier: HLC])
    {
        guard events.contains(where: { $0.type == .deviceEnrolled || $0.type == .deviceRevoked }) else {
            return ([], [:])
        }
        let before = try loadRegistry(connection)
        var registry = before
        let enrolled = try applyOwn(events, to: &registry)
        try saveRegistry(registry, since: before, connection)
        var revoked: [Identifier: HLC] = [:]
        for (origin, device) in registry.devices {
            if let after = device.revokedAfter, after != before.devices[origin]?.revokedAfter {
                revoked[origin] = after
            }
        }
        return (enrolled, revoked)
    }
}

extension EventStore {
    /// Applies a device's own `device.enrolled` / `device.revoked` events among `events` to `registry`, refusing the
    /// whole record when one is refused (this device may not administer, an unknown device): the rule for every
    /// backend's `record`. Returns the origins newly enrolled.
    package static func applyOwn(_ events: [Event], to registry: inout DeviceRegistry) throws(StoreError) -> Set<Identifier> {
        var enrolled = Set<Identifier>()
        for event in events where event.type == .deviceEnrolled || event.type == .deviceRevoked {
            do {
                enrolled.formUnion(try registry.apply(event, payload: try event.payload()))
            } catch let refusal as RegistryRefusal {
                throw StoreError(.permissionDenied, "cannot record \(event.type.rawValue): \(refusal.message)")
            } catch {
                throw StoreError(.invalidInput, "cannot record \(event.type.rawValue): \(error)")
            }
        }
        return enrolled
    }
}

extension EventStore {
    /// The clinic's name, when this store is its root (`prolo init --clinic NAME`).
    public func clinicName() throws(StoreError) -> String? {
        try read { connection throws(StoreError) in try Self.meta(connection, "clinic_name") }
    }

    /// Records the clinic's name.
    public func setClinicName(_ name: String) throws(StoreError) {
        try write { connection throws(StoreError) in try Self.setMeta(connection, "clinic_name", name) }
    }
}

/// A device registry and the `registry_version` it was read at.
struct RegistrySnapshot: Sendable {
    let version: Int64
    let registry: DeviceRegistry
}
