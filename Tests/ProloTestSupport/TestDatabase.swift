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
}
