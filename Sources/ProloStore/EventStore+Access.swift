public import ProloDomain
import Crypto
import Foundation

/// A bearer token of the clinic server, as stored (never the secret).
public struct AccessToken: Sendable, Hashable {
    public let id: String
    public let device: String
    /// `clinic`, `replica`, `audit` or `patient:ID`.
    public let scope: String
    public let issuedAt: Timestamp
    public let expiresAt: Timestamp?
    public let revokedAt: Timestamp?

    /// Whether it may be used at `now`.
    public func isValid(at now: Timestamp) -> Bool {
        revokedAt == nil && (expiresAt.map { now < $0 } ?? true)
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
    /// Issues a token; returns its stored form and the secret text, which is never stored and cannot be shown again.
    public func issueToken(device: String, scope: String, expiresAt: Timestamp?) throws(StoreError) -> (AccessToken, String) {
        var random = SystemRandomNumberGenerator()
        let id = Hex.encode((0..<6).map { _ in UInt8.random(in: 0...255, using: &random) })
        let secret = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let text = "prolo_\(id)_\(secret)"
        let now = Timestamp.now()
        try write { connection throws(StoreError) in
            let statement = try connection.statement(
                "INSERT INTO tokens (id, secret_hash, device, scope, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
            statement.bind(1, id)
            statement.bind(2, Array(SHA256.hash(data: Data(text.utf8))))
            statement.bind(3, device)
            statement.bind(4, scope)
            statement.bind(5, now.millisecondsSinceEpoch)
            statement.bind(6, expiresAt?.millisecondsSinceEpoch)
            try statement.run()
        }
        return (AccessToken(id: id, device: device, scope: scope, issuedAt: now, expiresAt: expiresAt, revokedAt: nil), text)
    }

    /// The stored token a presented bearer text belongs to, or `nil` when it matches none (checked in constant time).
    public func token(presented text: String) throws(StoreError) -> AccessToken? {
        // prolo_<id>_<secret>: the secret is base64url and may itself hold "_".
        let parts = text.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "prolo" else { return nil }
        let id = String(parts[1])
        let hash = Array(SHA256.hash(data: Data(text.utf8)))
        return try read { connection throws(StoreError) -> AccessToken? in
            let statement = try connection.statement(
                "SELECT id, secret_hash, device, scope, issued_at, expires_at, revoked_at FROM tokens WHERE id = ?")
            statement.bind(1, id)
            defer { statement.reset() }
            guard try statement.step() else { return nil }
            let stored = statement.blob(1)
            guard stored.count == hash.count, zip(stored, hash).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
            return Self.token(from: statement)
        }
    }

    /// Every token, newest first.
    public func tokens() throws(StoreError) -> [AccessToken] {
        try read { connection throws(StoreError) -> [AccessToken] in
            let statement = try connection.statement(
                "SELECT id, secret_hash, device, scope, issued_at, expires_at, revoked_at FROM tokens ORDER BY issued_at DESC")
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
        try write { connection throws(StoreError) in
            let statement = try connection.statement(
                """
                INSERT INTO access_log (at, token, device, scope, method, route, patient, purpose, status, outcome, request_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
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
            id: row.text(0), device: row.text(2), scope: row.text(3),
            issuedAt: Timestamp(millisecondsSinceEpoch: row.int64(4)),
            expiresAt: row.isNull(5) ? nil : Timestamp(millisecondsSinceEpoch: row.int64(5)),
            revokedAt: row.isNull(6) ? nil : Timestamp(millisecondsSinceEpoch: row.int64(6)))
    }
}
