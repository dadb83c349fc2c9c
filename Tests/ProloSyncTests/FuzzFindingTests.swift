import Foundation
import ProloDomain
import ProloSync
import Testing

/// The inputs in `Tools/Fuzz/findings/` (see Tools/FUZZING.md): a few bytes that announced far more than they
/// carried. Each is refused with a message, and the readers no longer size anything by the announcement.
@Suite("Fuzzing findings are refused without amplification")
struct FuzzFindingTests {
    static let findings = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tools/Fuzz/findings")

    static func finding(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: findings.appendingPathComponent(name)))
    }

    @Test("a 10-byte batch announcing 64 MiB is refused as a damaged zlib stream")
    func batchAnnouncingMoreThanItHolds() throws {
        let error = #expect(throws: SyncError.self) { try SyncWire.decodeBatch(try Self.finding("batch-64mib-allocation.batch")) }
        #expect(error?.code == .malformed)
        #expect(error?.message.contains("not a zlib stream") == true)
    }

    @Test("a batch of empty records is refused before it is inflated: a record is never shorter than its fixed fields")
    func batchOfEmptyRecords() throws {
        // 1 000 zero-length records framed in 4 000 bytes: the count exceeds what 4 000 bytes can carry.
        let bytes = try SyncWire.encodeBatch([[UInt8]](repeating: [], count: 1000))
        let error = #expect(throws: SyncError.self) { try SyncWire.decodeBatch(bytes) }
        #expect(error?.message.contains("cannot hold the 1000 records it announces") == true)
    }

    @Test("a batch whose one record is shorter than any event record is refused, naming the record")
    func shortRecord() throws {
        // Announcing no records keeps the count check out of the way, so the framing check speaks.
        var bytes = try SyncWire.encodeBatch([[1, 2, 3]])
        bytes.replaceSubrange(0..<4, with: [0, 0, 0, 0])
        let error = #expect(throws: SyncError.self) { try SyncWire.decodeBatch(bytes) }
        #expect(error?.message.contains("record 1: 3 bytes is shorter than any event record") == true)
    }

    @Test(
        "bundles announcing a 16 MiB header or a 64 MiB block in a few bytes are reported as truncated",
        arguments: ["bundle-16mib-header-allocation.prolobundle", "bundle-64mib-block-allocation.prolobundle"])
    func bundleAnnouncingMoreThanItHolds(name: String) throws {
        let path = Self.findings.appendingPathComponent(name).path
        let error = #expect(throws: BundleError.self) { _ = try BundleReader.verify(path: path) }
        #expect(error?.code == .truncated)
        #expect(error?.message.contains("truncated") == true)
    }
}
