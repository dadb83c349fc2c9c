public import ProloDomain
import Crypto
import Foundation

/// A bearer token of the clinic server, as stored (never the secret). It is bound to one enrolled device by the
/// origin of its key; ``DeviceAccess/init(token:registry:)`` decides what it allows.
public struct AccessToken: Sendable, Hashable {
    /// The public part of the token, shown in listings and logs.
    public let id: String
    /// The device's name when the token was issued (for people; names are not unique).
    public let device: String
    /// The origin of the enrolled device the token is bound to; `nil` for a token issued by name before tokens
    /// were bound to keys whose name named no single device (such a token is refused).
    public let origin: Identifier?
    /// `clinic`, `replica`, `audit` or `patient:ID`.
    public let scope: String
    public let issuedAt: Timestamp
    public let expiresAt: Timestamp?
    public let revokedAt: Timestamp?

    package init(
        id: String, device: String, origin: Identifier?, scope: String, issuedAt: Timestamp, expiresAt: Timestamp?,
        revokedAt: Timestamp?
    ) {
        self.id = id
        self.device = device
        self.origin = origin
        self.scope = scope
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    /// Whether it may be used at `now`.
    public func isValid(at now: Timestamp) -> Bool {
        revokedAt == nil && (expiresAt.map { now < $0 } ?? true)
    }

    /// A new token's public id, its whole text (`prolo_<id>_<secret>`, shown once, never stored) and the SHA-256 of
    /// the text that every backend stores instead.
    package static func mint() -> (id: String, text: String, secretHash: [UInt8]) {
        var random = SystemRandomNumberGenerator()
        let id = Hex.encode((0..<6).map { _ in UInt8.random(in: 0...255, using: &random) })
        let secret = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let text = "prolo_\(id)_\(secret)"
        return (id, text, Array(SHA256.hash(data: Data(text.utf8))))
    }

    /// The id a presented bearer text names and the hash to compare with the stored one; `nil` when it is not a
    /// Prolo token. The secret is base64url and may itself hold "_".
    package static func presented(_ text: String) -> (id: String, hash: [UInt8])? {
        let parts = text.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "prolo" else { return nil }
        return (String(parts[1]), Array(SHA256.hash(data: Data(text.utf8))))
    }

    /// Whether a stored secret hash is the presented one, compared in constant time.
    package static func matches(stored: [UInt8], presented hash: [UInt8]) -> Bool {
        stored.count == hash.count && zip(stored, hash).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0
    }
}

/// One line of the access log.
public struct AccessRecord: Sendable, Hashable {
    public var at: Timestamp
    public var token: String?
    public var device: String?
    public var scope: String?
    public var method: String
    public var route: String
    public var patient: String?
    public var purpose: String?
    public var status: Int
    public var outcome: String
    public var requestID: String?

    public init(
        at: Timestamp = .now(), token: String? = nil, device: String? = nil, scope: String? = nil, method: String,
        route: String, patient: String? = nil, purpose: String? = nil, status: Int, outcome: String,
        requestID: String? = nil
    ) {
        self.at = at
        self.token = token
        self.device = device
        self.scope = scope
        self.method = method
        self.route = route
        self.patient = patient
        self.purpose = purpose
        self.status = status
        self.outcome = outcome
        self.requestID = requestID
    }
}

extension EventStore {
    /// Issues a token to the enrolled device named by `device` (its origin, or a name only one enrolled device has)
    /// with `scope` (`clinic`, `replica`, `audit` or `patient:ID`); returns its stored form and the secret text,
    /// which is never stored and cannot be shown again.
    ///
    /// Refused (``StoreError/Code/invalidInput``, or ``StoreError/Code/permissionDenied`` when the scope does not
    /// fit the device) as ``DeviceAccess`` decides: an unknown, revoked or ambiguous device, a malformed scope, a
    /// `patient:ID` scope for anything but that patient's home device, another scope for a home device.
    public func issueToken(device: String, scope: String, expiresAt: Timestamp?) throws(StoreError) -> (AccessToken, String) {
        let (origin, parsed) = try DeviceAccess.grant(scope, to: device, in: try registry())
        return try issueToken(for: origin, scope: parsed, expiresAt: expiresAt)
    }

    /// Issues a token with `scope` to the enrolled device of origin `device`, checked with ``DeviceAccess`` in the
    /// same transaction; returns its stored form and the secret text, which is never stored and cannot be shown
    /// again.
    public func issueToken(for device: Identifier, scope: TokenScope, expiresAt: Timestamp?) throws(StoreError)
        -> (AccessToken, String)
    {
        let (id, text, secretHash) = AccessToken.mint()
        let now = Timestamp.now()
        let name = try write { connection throws(StoreError) -> String in
            let registry = try self.registry(connection, remember: false)
            guard let record = registry.devices[device] else {
                throw StoreError(.invalidInput, "no enrolled device has origin \(device); enroll it first (prolo device enroll)")
            }
            do throws(AccessError) {
                _ = try DeviceAccess(granting: scope, to: record)
            } catch {
                throw StoreError(error)
            }
            let statement = try connection.statement(
                "INSERT INTO tokens (id, secret_hash, device, origin, scope, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            statement.bind(1, id)
            statement.bind(2, secretHash)
            statement.bind(3, record.name)
            statement.bind(4, device.text)
            statement.bind(5, scope.description)
            statement.bind(6, now.millisecondsSinceEpoch)
            statement.bind(7, expiresAt?.millisecondsSinceEpoch)
            try statement.run()
            return record.name
        }
        let token = AccessToken(
            id: id, device: name, origin: device, scope: scope.description, issuedAt: now, expiresAt: expiresAt,
            revokedAt: nil)
        return (token, text)
    }

    /// The stored token a presented bearer text belongs to, or `nil` when it matches none (checked in constant time).
    public func token(presented text: String) throws(StoreError) -> AccessToken? {
        guard let (id, hash) = AccessToken.presented(text) else { return nil }
        return try read { connection throws(StoreError) -> AccessToken? in
            let statement = try connection.statement(
                "SELECT id, secret_hash, device, scope, issued_at, expires_at, revoked_at, origin FROM tokens WHERE id = ?")
            statement.bind(1, id)
            defer { statement.reset() }
            guard try statement.step() else { return nil }
            guard AccessToken.matches(stored: statement.blob(1), presented: hash) else { return nil }
            return Self.token(from: statement)
        }
    }

    /// Every token, newest first.
    public func tokens() throws(StoreError) -> [AccessToken] {
        try read { connection throws(StoreError) -> [AccessToken] in
            let statement = try connection.statement(
                "SELECT id, secret_hash, device, scope, issued_at, expires_at, revoked_at, origin FROM tokens ORDER BY issued_at DESC")
            var result: [AccessToken] = []
            while try statement.step() { result.append(Self.token(from: statement)) }
            statement.reset()
            return result
        }
    }

    /// Revokes a token by id; returns whether one was revoked.
    @discardableResult
    public func revokeToken(id: String) throws(StoreError) -> Bool {
        try write { connection throws(StoreError) -> Bool in
            let statement = try connection.statement("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            statement.bind(1, Timestamp.now().millisecondsSinceEpoch)
            statement.bind(2, id)
            try statement.run()
            return connection.changes > 0
        }
    }

    /// Appends to the access log.
    public func logAccess(_ record: AccessRecord) throws(StoreError) {
        try logAccess(contentsOf: [record])
    }

    /// Appends access-log lines in one transaction (a server writes the lines of concurrent requests together).
    public func logAccess(contentsOf records: [AccessRecord]) throws(StoreError) {
        guard !records.isEmpty else { return }
        try write { connection throws(StoreError) in
            let statement = try connection.statement(
                """
                INSERT INTO access_log (at, token, device, scope, method, route, patient, purpose, status, outcome, request_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for record in records {
                statement.bind(1, record.at.millisecondsSinceEpoch)
                statement.bind(2, record.token)
                statement.bind(3, record.device)
                statement.bind(4, record.scope)
                statement.bind(5, record.method)
                statement.bind(6, record.route)
                statement.bind(7, record.patient)
                statement.bind(8, record.purpose)
                statement.bind(9, Int64(record.status))
                statement.bind(10, record.outcome)
                statement.bind(11, record.requestID)
                try statement.run()
            }
        }
    }

    /// The access log, oldest first, optionally for one patient.
    public func accessLog(patient: String? = nil) throws(StoreError) -> [AccessRecord] {
        try read { connection throws(StoreError) -> [AccessRecord] in
            var sql = "SELECT at, token, device, scope, method, route, patient, purpose, status, outcome, request_id FROM access_log"
            if patient != nil { sql += " WHERE patient = ?" }
            sql += " ORDER BY seq"
            let statement = try connection.statement(sql)
            if let patient { statement.bind(1, patient) }
            var result: [AccessRecord] = []
            while try statement.step() {
                result.append(
                    AccessRecord(
                        at: Timestamp(millisecondsSinceEpoch: statement.int64(0)), token: statement.optionalText(1),
                        device: statement.optionalText(2), scope: statement.optionalText(3), method: statement.text(4),
                        route: statement.text(5), patient: statement.optionalText(6), purpose: statement.optionalText(7),
                        status: Int(statement.int64(8)), outcome: statement.text(9), requestID: statement.optionalText(10)))
            }
            statement.reset()
            return result
        }
    }

    private static func token(from row: SQLiteStatement) -> AccessToken {
        AccessToken(
            id: row.text(0), device: row.text(2), origin: row.optionalText(7).flatMap { try? Identifier(checked: $0) },
            scope: row.text(3),
            issuedAt: Timestamp(millisecondsSinceEpoch: row.int64(4)),
            expiresAt: row.isNull(5) ? nil : Timestamp(millisecondsSinceEpoch: row.int64(5)),
            revokedAt: row.isNull(6) ? nil : Timestamp(millisecondsSinceEpoch: row.int64(6)))
    }
}

extension DeviceAccess {
    /// The enrolled device `device` names (its origin, or a name only one enrolled device has) and `scope` parsed:
    /// what a token is issued for, in every backend. Refused as ``StoreError/init(_:)`` maps the ``AccessError``.
    package static func grant(_ scope: String, to device: String, in registry: DeviceRegistry) throws(StoreError)
        -> (Identifier, TokenScope)
    {
        do throws(AccessError) {
            let parsed = try TokenScope(text: scope)
            return (try DeviceAccess.device(device, in: registry).origin, parsed)
        } catch {
            throw StoreError(error)
        }
    }
}

extension StoreError {
    /// A scope refusal met while issuing a token: ``StoreError/Code/permissionDenied`` when the scope does not fit
    /// the device or the device was revoked, ``StoreError/Code/invalidInput`` otherwise.
    public init(_ error: AccessError) {
        switch error.code {
        case .scopeNotAllowed, .deviceRevoked, .unboundToken, .notThisStoresScope: self.init(.permissionDenied, error.message)
        case .malformedScope, .unknownDevice, .ambiguousDevice: self.init(.invalidInput, error.message)
        }
    }
}
