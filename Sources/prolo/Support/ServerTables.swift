import Foundation
import ProloDomain
import ProloPostgres
import ProloProjections
import ProloStore

/// What an operator's command works on: a SQLite store, or a clinic hub's PostgreSQL database (`--database`, or
/// `PROLO_DATABASE_URL` with no `--store`). The rules are the backends' own; this only picks one.
enum ServerTables {
    case store(EventStore)
    case database(PostgresURL)

    /// The backend `options` and `database` name; the store is opened with its read models, as before.
    static func open(_ options: StoreOptions, _ database: DatabaseOptions) throws -> ServerTables {
        if let url = try database.chosen(over: options) { return .database(url) }
        return .store(try options.openProjected().store)
    }

    /// The device key's file: `--key`, else next to the store (with a database: the store that was moved up).
    func keyPath(_ key: String?, _ options: StoreOptions) -> String {
        if let key { return key }
        if case .store(let store) = self { return DeviceKeyFile.path(forStore: store.path) }
        return DeviceKeyFile.path(forStore: options.path)
    }

    func identity() async throws -> StoreIdentity {
        switch self {
        case .store(let store): store.identity
        case .database(let url): try await PostgresLog.with(url) { log throws(StoreError) in try await log.identity() }
        }
    }

    func registry() async throws -> DeviceRegistry {
        switch self {
        case .store(let store): try store.registry()
        case .database(let url): try await PostgresLog.with(url) { log throws(StoreError) in try await log.registry() }
        }
    }

    func record(_ drafts: [EventDraft], signedBy key: DeviceKey) async throws -> [StoredEvent] {
        switch self {
        case .store(let store): try store.record(drafts, signedBy: key)
        case .database(let url):
            try await PostgresLog.with(url) { log throws(StoreError) in try await log.record(drafts, signedBy: key) }
        }
    }

    func issueToken(for device: Identifier, scope: TokenScope, expiresAt: Timestamp?) async throws -> (AccessToken, String) {
        switch self {
        case .store(let store): try store.issueToken(for: device, scope: scope, expiresAt: expiresAt)
        case .database(let url):
            try await PostgresLog.with(url) { log throws(StoreError) in
                try await log.issueToken(for: device, scope: scope, expiresAt: expiresAt)
            }
        }
    }

    func tokens() async throws -> [AccessToken] {
        switch self {
        case .store(let store): try store.tokens()
        case .database(let url): try await PostgresLog.with(url) { log throws(StoreError) in try await log.tokens() }
        }
    }

    func revokeToken(id: String) async throws -> Bool {
        switch self {
        case .store(let store): try store.revokeToken(id: id)
        case .database(let url): try await PostgresLog.with(url) { log throws(StoreError) in try await log.revokeToken(id: id) }
        }
    }
}
