import NIOCore
import PostgresNIO
public import ProloDomain
public import ProloStore

/// The clinic server's bearer tokens and access log in PostgreSQL (`Schemas/postgresql/0002`), by the rules a
/// SQLite store's (`EventStore+Access.swift`) follow: ``AccessToken/mint()`` and ``DeviceAccess`` decide, this
/// stores.
extension PostgresLog {
    /// Issues a token to the enrolled device named by `device` (its origin, or a name only one enrolled device has)
    /// with `scope`; returns its stored form and the secret text, which is never stored.
    public func issueToken(device: String, scope: String, expiresAt: Timestamp?) async throws(StoreError)
        -> (AccessToken, String)
    {
        let (origin, parsed) = try DeviceAccess.grant(scope, to: device, in: try await registry())
        return try await issueToken(for: origin, scope: parsed, expiresAt: expiresAt)
    }

    /// Issues a token with `scope` to the enrolled device of origin `device`, checked with ``DeviceAccess`` against
    /// the registry in the same transaction.
    public func issueToken(for device: Identifier, scope: TokenScope, expiresAt: Timestamp?) async throws(StoreError)
        -> (AccessToken, String)
    {
        let (id, text, secretHash) = AccessToken.mint()
        let now = Timestamp.now()
        let name = try await transaction("cannot issue a token") { () async throws(StoreError) -> String in
            try await run("SELECT pg_advisory_xact_lock_shared(\(Self.registryLock))", "cannot lock the registry")
            guard let record = try await registry().devices[device] else {
                throw StoreError(.invalidInput, "no enrolled device has origin \(device); enroll it first (prolo device enroll)")
            }
            do throws(AccessError) {
                _ = try DeviceAccess(granting: scope, to: record)
            } catch {
                throw StoreError(error)
            }
            try await run(
                """
                INSERT INTO tokens (id, secret_hash, device, origin, scope, issued_at, expires_at)
                VALUES (\(id), \(ByteBuffer(bytes: secretHash)), \(record.name), \(device.text), \(scope.description),
                    \(now.millisecondsSinceEpoch), \(expiresAt?.millisecondsSinceEpoch))
                """, "cannot store the token")
            return record.name
        }
        let token = AccessToken(
            id: id, device: name, origin: device, scope: scope.description, issuedAt: now, expiresAt: expiresAt,
            revokedAt: nil)
        return (token, text)
    }

    /// The stored token a presented bearer text belongs to, or `nil` when it matches none.
    public func token(presented text: String) async throws(StoreError) -> AccessToken? {
        guard let (id, hash) = AccessToken.presented(text) else { return nil }
        let rows = try await run(TokenByID.self, PostgresBindings(id), "cannot read tokens")
        return try Self.token(rows.first, matching: hash)
    }

    /// Every token, newest first.
    public func tokens() async throws(StoreError) -> [AccessToken] {
        var tokens: [AccessToken] = []
        for row in try await run(
            "SELECT \(unescaped: Self.tokenColumns) FROM tokens ORDER BY issued_at DESC", "cannot read tokens")
        {
            tokens.append(try Self.token(row))
        }
        return tokens
    }

    /// Revokes a token by id; returns whether one was revoked.
    @discardableResult
    public func revokeToken(id: String) async throws(StoreError) -> Bool {
        let rows = try await run(
            """
            UPDATE tokens SET revoked_at = \(Timestamp.now().millisecondsSinceEpoch)
            WHERE id = \(id) AND revoked_at IS NULL RETURNING id
            """, "cannot revoke token \(id)")
        return !rows.isEmpty
    }

    /// Appends access-log lines in one statement (a server writes the lines of concurrent requests together).
    public func logAccess(contentsOf records: [AccessRecord]) async throws(StoreError) {
        guard !records.isEmpty else { return }
        try await run(
            """
            INSERT INTO access_log (at, token, device, scope, method, route, patient, purpose, status, outcome, request_id)
            SELECT at, NULLIF(token, E'\\x01'), NULLIF(device, E'\\x01'), NULLIF(scope, E'\\x01'), method, route,
                NULLIF(patient, E'\\x01'), NULLIF(purpose, E'\\x01'), status, outcome, NULLIF(request_id, E'\\x01')
            FROM unnest(
                \(records.map(\.at.millisecondsSinceEpoch))::bigint[], \(Self.nullable(records.map(\.token)))::text[],
                \(Self.nullable(records.map(\.device)))::text[], \(Self.nullable(records.map(\.scope)))::text[],
                \(records.map(\.method))::text[], \(records.map(\.route))::text[],
                \(Self.nullable(records.map(\.patient)))::text[], \(Self.nullable(records.map(\.purpose)))::text[],
                \(records.map { Int64($0.status) })::bigint[], \(records.map(\.outcome))::text[],
                \(Self.nullable(records.map(\.requestID)))::text[]
            ) AS r(at, token, device, scope, method, route, patient, purpose, status, outcome, request_id)
            """, "cannot write the access log")
    }

    /// The access log, oldest first, optionally for one patient.
    public func accessLog(patient: String? = nil) async throws(StoreError) -> [AccessRecord] {
        let columns = "at, token, device, scope, method, route, patient, purpose, status, outcome, request_id"
        let rows: [PostgresRow]
        if let patient {
            rows = try await run(
                "SELECT \(unescaped: columns) FROM access_log WHERE patient = \(patient) ORDER BY seq",
                "cannot read the access log")
        } else {
            rows = try await run("SELECT \(unescaped: columns) FROM access_log ORDER BY seq", "cannot read the access log")
        }
        var records: [AccessRecord] = []
        for row in rows {
            func text(_ index: Int) throws(StoreError) -> String? { try Self.decode(row, index, as: String.self, "text") }
            records.append(
                AccessRecord(
                    at: Timestamp(millisecondsSinceEpoch: try Self.decode(row, 0, as: Int64.self, "at") ?? 0),
                    token: try text(1), device: try text(2), scope: try text(3), method: try text(4) ?? "",
                    route: try text(5) ?? "", patient: try text(6), purpose: try text(7),
                    status: Int(try Self.decode(row, 8, as: Int32.self, "status") ?? 0), outcome: try text(9) ?? "",
                    requestID: try text(10)))
        }
        return records
    }

    static let tokenColumns = "id, secret_hash, device, scope, issued_at, expires_at, revoked_at, origin"

    /// Text values for an array parameter, NULL as a control character no text of the log holds (unnest's arrays
    /// here carry no NULLs).
    static func nullable(_ values: [String?]) -> [String] { values.map { $0 ?? "\u{1}" } }

    /// The token of `row` (as ``tokenColumns``) when its stored secret hash is `hash`'s; `nil` for no row or no match.
    static func token(_ row: PostgresRow?, matching hash: [UInt8]) throws(StoreError) -> AccessToken? {
        guard let row, let stored = try decode(row, 1, as: ByteBuffer.self, "secret_hash"),
            AccessToken.matches(stored: Array(stored.readableBytesView), presented: hash)
        else { return nil }
        return try token(row)
    }

    private static func token(_ row: PostgresRow) throws(StoreError) -> AccessToken {
        AccessToken(
            id: try decode(row, 0, as: String.self, "id") ?? "", device: try decode(row, 2, as: String.self, "device") ?? "",
            origin: try decode(row, 7, as: String.self, "origin").flatMap { try? Identifier(checked: $0) },
            scope: try decode(row, 3, as: String.self, "scope") ?? "",
            issuedAt: Timestamp(millisecondsSinceEpoch: try decode(row, 4, as: Int64.self, "issued_at") ?? 0),
            expiresAt: try decode(row, 5, as: Int64.self, "expires_at").map { Timestamp(millisecondsSinceEpoch: $0) },
            revokedAt: try decode(row, 6, as: Int64.self, "revoked_at").map { Timestamp(millisecondsSinceEpoch: $0) })
    }
}
