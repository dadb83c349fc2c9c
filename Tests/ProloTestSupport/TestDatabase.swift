import Foundation
public import ProloPostgres
import ProloStore

/// A new, empty PostgreSQL database per test, in the cluster `PROLO_TEST_DATABASE_URL` names (``RequiredTool/postgres``),
/// dropped when the test is done. Without the variable the running test is skipped with the reason printed (or fails
/// under `PROLO_REQUIRE_TOOLS=1`).
public enum TestDatabase {
    /// Runs `body` with the URL of a new database; drops the database afterwards, whatever `body` did.
    public static func with<Value>(
        _ unchecked: String = "the PostgreSQL backend is not tried", _ body: (PostgresURL) async throws -> Value
    ) async throws -> Value {
        let admin = try PostgresURL(try RequiredTool.postgres.require(unchecked))
        let name = "prolo_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try await PostgresLog.administer(admin, "CREATE DATABASE \(name)")
        let result: Result<Value, any Error>
        do {
            result = .success(try await body(admin.database(name)))
        } catch {
            result = .failure(error)
        }
        try await PostgresLog.administer(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        return try result.get()
    }

    /// Runs `body` with the URL of `url`'s database as a server's login role would reach it: a new role granted
    /// `prolo_writer` and nothing else (the database must be migrated); the role is dropped afterwards.
    public static func asServerRole<Value>(_ url: PostgresURL, _ body: (PostgresURL) async throws -> Value)
        async throws -> Value
    {
        let role = "prolo_server_\(url.database.suffix(8))"
        try await PostgresLog.administer(
            url, "CREATE ROLE \(role) LOGIN;\nGRANT prolo_writer TO \(role);\nGRANT CONNECT ON DATABASE \(url.database) TO \(role);")
        let server = try PostgresURL(
            "postgresql://\(role)@\(url.host ?? "")\(url.host == nil ? "" : ":\(url.port)")/\(url.database)?sslmode=disable"
                + (url.host == nil ? "&host=\(url.socketFolder)" : ""))
        let result: Result<Value, any Error>
        do {
            result = .success(try await body(server))
        } catch {
            result = .failure(error)
        }
        try await PostgresLog.administer(url, "DROP OWNED BY \(role);\nDROP ROLE \(role);")
        return try result.get()
    }
}
