import Foundation
public import ProloDomain
public import ProloPostgres
public import ProloProjections
public import ProloStore
public import Testing

/// The backends a conformance test runs against: one suite, parameterized, never a second copy per backend.
public enum Backend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    /// The embedded default: a SQLite store file.
    case sqlite
    /// A clinic hub's PostgreSQL database (``TestDatabase``; skipped with the reason printed without one).
    case postgresql

    public var testDescription: String { rawValue }

    /// Runs `body` with a hub log: `store` itself, or `store` moved up into a new PostgreSQL database (as
    /// `prolo move-up` does), whose log then takes the same input.
    public func with<Value>(_ store: EventStore, _ body: (HubLog) async throws -> Value) async throws -> Value {
        try await with(store, projected: nil, body)
    }

    /// As ``with(_:_:)``, with the SQLite store's read models reachable (``HubLog/state(of:)``, ``HubLog/patients()``,
    /// ``HubLog/openAlerts()``, ``HubLog/rebuild()``); the PostgreSQL database keeps its own.
    public func with<Value>(_ projected: ProjectedStore, _ body: (HubLog) async throws -> Value) async throws -> Value {
        try await with(projected.store, projected: projected, body)
    }

    private func with<Value>(_ store: EventStore, projected: ProjectedStore?, _ body: (HubLog) async throws -> Value)
        async throws -> Value
    {
        switch self {
        case .sqlite:
            return try await body(HubLog(store: store, projected: projected))
        case .postgresql:
            return try await TestDatabase.with("the PostgreSQL half of the conformance suite is not tried") { url in
                var result: Result<Value, any Error> = .failure(CancellationError())
                try await PostgresLog.with(url) { log throws(StoreError) in
                    _ = try await log.moveUp(from: store)
                    do {
                        result = .success(try await body(HubLog(log: log)))
                    } catch {
                        result = .failure(error)
                    }
                }
                return try result.get()
            }
        }
    }
}

/// A hub's log in either backend, through the operations sync and admission use, with what a test reads back.
public struct HubLog {
    private let store: EventStore?
    private let projected: ProjectedStore?
    private let log: PostgresLog?

    init(store: EventStore, projected: ProjectedStore?) {
        self.store = store
        self.projected = projected
        self.log = nil
    }

    init(log: PostgresLog) {
        self.store = nil
        self.projected = nil
        self.log = log
    }

    /// A patient's treatment state from the read models.
    public func state(of patient: PatientID) async throws -> TreatmentState? {
        if let log { return try await log.state(of: patient) }
        return try readModels().state(of: patient)
    }

    public func patients() async throws -> [PatientSummary] {
        if let log { return try await log.patients() }
        return try readModels().patients()
    }

    public func due(within days: Int, now: Timestamp) async throws -> [PatientSummary] {
        if let log { return try await log.due(within: days, now: now) }
        return try readModels().due(within: days, now: now)
    }

    public func openAlerts() async throws -> [AlertRecord] {
        if let log { return try await log.openAlerts() }
        return try readModels().openAlerts()
    }

    /// Empties the read models and folds the log again.
    public func rebuild() async throws {
        if let log { return try await log.rebuildReadModels() }
        try readModels().rebuild()
    }

    private func readModels() throws -> ProjectedStore {
        guard let projected else { throw StoreError(.internalError, "this test's SQLite hub was given without its read models") }
        return projected
    }

    @discardableResult
    public func append(_ events: [Event], scope: AppendScope = .unrestricted) async throws -> AppendOutcome {
        if let log { return try await log.append(events, scope: scope) }
        return try store!.append(events, scope: scope)
    }

    public func count() async throws -> Int {
        if let log { return try await log.count() }
        return try store!.count()
    }

    public func events(_ filter: EventFilter = EventFilter()) async throws -> [StoredEvent] {
        if let log { return try await log.events(filter) }
        return try store!.events(filter)
    }

    public func versionVector() async throws -> VersionVector {
        if let log { return try await log.versionVector() }
        return try store!.versionVector()
    }

    public func chainHeads(at vector: VersionVector) async throws -> ChainHeads {
        if let log { return try await log.chainHeads(at: vector) }
        return try store!.chainHeads(at: vector)
    }

    public func registry() async throws -> DeviceRegistry {
        if let log { return try await log.registry() }
        return try store!.registry()
    }

    @discardableResult
    public func record(_ drafts: [EventDraft], signedBy key: DeviceKey) async throws -> [StoredEvent] {
        if let log { return try await log.record(drafts, signedBy: key) }
        return try store!.record(drafts, signedBy: key)
    }

    public func issueToken(device: String, scope: String) async throws -> (AccessToken, String) {
        if let log { return try await log.issueToken(device: device, scope: scope, expiresAt: nil) }
        return try store!.issueToken(device: device, scope: scope, expiresAt: nil)
    }

    public func token(presented text: String) async throws -> AccessToken? {
        if let log { return try await log.token(presented: text) }
        return try store!.token(presented: text)
    }

    @discardableResult
    public func revokeToken(id: String) async throws -> Bool {
        if let log { return try await log.revokeToken(id: id) }
        return try store!.revokeToken(id: id)
    }

    public func logAccess(contentsOf records: [AccessRecord]) async throws {
        if let log { return try await log.logAccess(contentsOf: records) }
        try store!.logAccess(contentsOf: records)
    }

    public func accessLog(patient: String? = nil) async throws -> [AccessRecord] {
        if let log { return try await log.accessLog(patient: patient) }
        return try store!.accessLog(patient: patient)
    }

    /// What a peer holding `vector` and `heads` is served, in order.
    public func missing(from vector: VersionVector, heads: ChainHeads = ChainHeads(), patient: PatientID? = nil)
        async throws -> [Event]
    {
        var events: [Event] = []
        if let log {
            try await log.scanMissing(from: vector, heads: heads, patient: patient) { stored throws(StoreError) in
                events.append(stored.event)
                return true
            }
        } else {
            try store!.scanMissing(from: vector, heads: heads, patient: patient) { stored throws(StoreError) in
                events.append(stored.event)
                return true
            }
        }
        return events
    }

    /// The ids waiting in quarantine, sorted.
    public func quarantined() async throws -> [String] {
        try await column("SELECT id FROM quarantine ORDER BY id")
    }

    /// The flags of event `id`, sorted.
    public func flags(of id: EventID) async throws -> [String] {
        try await column("SELECT flag FROM event_flags WHERE id = '\(id.text)' ORDER BY flag")
    }

    /// The ids held as fork evidence, sorted.
    public func forkEvidence() async throws -> [String] {
        try await column("SELECT other_id FROM forks ORDER BY other_id")
    }

    /// The first column of `sql`'s rows, as text, in either backend.
    private func column(_ sql: String) async throws -> [String] {
        if let log { return try await log.texts(sql).compactMap { $0 } }
        return try store!.read { connection throws(StoreError) -> [String] in
            let statement = try connection.statement(sql)
            defer { statement.reset() }
            var values: [String] = []
            while try statement.step() { values.append(statement.text(0)) }
            return values
        }
    }
}
