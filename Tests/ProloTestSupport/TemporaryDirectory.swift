import Foundation

/// A fresh directory under the system's temporary folder, removed when the scope ends.
public struct TemporaryDirectory: Sendable {
    /// The directory's path.
    public let path: String

    /// Runs `body` with a new temporary directory and removes it afterwards.
    public static func with<Result>(_ body: (TemporaryDirectory) throws -> Result) throws -> Result {
        let directory = try TemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory.path) }
        return try body(directory)
    }

    /// Async variant of ``with(_:)``.
    public static func with<Result>(_ body: (TemporaryDirectory) async throws -> Result) async throws -> Result {
        let directory = try TemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory.path) }
        return try await body(directory)
    }

    private init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("prolo-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}
