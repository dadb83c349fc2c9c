import Crypto
import Foundation
import ProloDomain
import ProloSync
import ProloTestSupport
import Testing

@Suite("Bundle files carry records in checksummed, optionally encrypted blocks and refuse damage precisely")
struct BundleFileTests {
    // MARK: - Helpers

    private static let header = Array(#"{"clinic":"c-1","scope":"clinic","sender":"laptop-1","vector":{}}"#.utf8)
    private static let signature: [UInt8] = (0..<64).map { UInt8($0 * 3 & 0xFF) }

    /// `count` records of varied sizes (0–599 bytes) and poorly compressible content, each starting with its number.
    private static func records(_ count: Int, seed: UInt64 = 1) -> [[UInt8]] {
        var state = seed
        return (0..<count).map { index in
            var record = Array("record-\(index)|".utf8)
            for _ in 0..<((index * 37) % 600) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                record.append(UInt8(truncatingIfNeeded: state >> 56))
            }
            return record
        }
    }

    private static func recipientKey(_ seedByte: UInt8 = 1) throws -> Curve25519.KeyAgreement.PrivateKey {
        try Fixtures.fixedKey(seedByte: seedByte).agreementKey()
    }

    @discardableResult
    private static func write(
        _ records: [[UInt8]], to path: String, recipient: Curve25519.KeyAgreement.PublicKey? = nil,
        blockBytes: Int = 8 * 1024
    ) throws -> BundleSummary {
        var writer = try BundleWriter(
            path: path, header: header, headerSignature: signature, recipient: recipient, blockBytes: blockBytes)
        for record in records { try writer.append(record) }
        return try writer.finish()
    }

    /// Every block a reader returns before it stops, and the error it stopped with (nil after a verified trailer).
    private static func readAll(
        _ path: String, key: Curve25519.KeyAgreement.PrivateKey? = nil
    ) throws -> (blocks: [BundleBlock], error: BundleError?) {
        var reader = try BundleReader(path: path, recipientKey: key)
        var blocks: [BundleBlock] = []
        do {
            while let block = try reader.nextBlock() { blocks.append(block) }
            return (blocks, nil)
        } catch {
            return (blocks, error)
        }
    }

    private static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    private static func store(_ bytes: [UInt8], at path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    private static func expectError(
        _ code: BundleError.Code, mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> Void
    ) {
        do {
            try body()
            Issue.record("expected a \(code) error", sourceLocation: sourceLocation)
        } catch let error as BundleError {
            #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
            #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - Round trips

    @Test("records round-trip across many blocks in an unencrypted bundle")
    func plainRoundTrip() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("export.prolobundle")
            let records = Self.records(2_000)
            let summary = try Self.write(records, to: path)
            #expect(summary.records == 2_000)
            #expect(summary.blocks > 10)
            #expect(summary.bytes == Int64(try Self.bytes(path).count))
            #expect(!FileManager.default.fileExists(atPath: path + ".partial"))

            var reader = try BundleReader(path: path)
            #expect(reader.formatVersion == 1)
            #expect(!reader.isEncrypted)
            #expect(reader.recipientKeyID == nil)
            #expect(reader.header == Self.header)
            #expect(reader.headerSignature == Self.signature)
            var read: [[UInt8]] = []
            var previousOffset: Int64 = -1
            var expectedIndex = 0
            while let block = try reader.nextBlock() {
                #expect(block.index == expectedIndex)
                #expect(block.offset > previousOffset)
                #expect(!block.records.isEmpty)
                expectedIndex += 1
                previousOffset = block.offset
                read += block.records
            }
            #expect(read == records)
            #expect(expectedIndex == summary.blocks)
            #expect(reader.summary == summary)
            #expect(try reader.nextBlock() == nil)
            #expect(try BundleReader.verify(path: path) == summary)
        }
    }

    @Test("records round-trip in a bundle encrypted to the recipient, and nothing readable is left in the file")
    func encryptedRoundTrip() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("export.prolobundle")
            let key = try Self.recipientKey()
            let records =
                Array(repeating: Array("a readable patient note that compresses well. ".utf8), count: 300)
                + Self.records(1_000)
            let summary = try Self.write(records, to: path, recipient: key.publicKey)

            let (blocks, error) = try Self.readAll(path, key: key)
            #expect(error == nil)
            #expect(blocks.flatMap(\.records) == records)
            #expect(blocks.map(\.index) == Array(0..<summary.blocks))

            let reader = try BundleReader(path: path, recipientKey: key)
            #expect(reader.isEncrypted)
            #expect(reader.header == Self.header)
            #expect(reader.headerSignature == Self.signature)
            let keyID = SHA256.hash(data: key.publicKey.rawRepresentation).prefix(8)
                .map { String(format: "%02x", $0) }.joined()
            #expect(reader.recipientKeyID == keyID)

            let file = Data(try Self.bytes(path))
            #expect(file.range(of: Data(Self.header.prefix(20))) == nil)
            #expect(file.range(of: Data("record-1|".utf8)) == nil)
            #expect(file.range(of: Data("patient note".utf8)) == nil)
            // Integrity is checkable without the key.
            #expect(try BundleReader.verify(path: path) == summary)
        }
    }

    @Test("an empty bundle has a header, no blocks and a verified trailer")
    func emptyBundle() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("empty.prolobundle")
            let key = try Self.recipientKey()
            let summary = try Self.write([], to: path, recipient: key.publicKey)
            #expect(summary.blocks == 0 && summary.records == 0)
            let (blocks, error) = try Self.readAll(path, key: key)
            #expect(blocks.isEmpty && error == nil)
        }
    }

    @Test("a record larger than the block size gets a block of its own, and empty records survive")
    func oversizedRecord() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("big.prolobundle")
            let records: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 7, count: 50_000), [4]]
            try Self.write(records, to: path, blockBytes: 1_024)
            let (blocks, error) = try Self.readAll(path)
            #expect(error == nil)
            #expect(blocks.map(\.records.count) == [2, 1, 1])
            #expect(blocks.flatMap(\.records) == records)
        }
    }

    // MARK: - Damage

    @Test("a flipped bit in block 2 refuses that block, naming it and its offset, after returning blocks 0 and 1")
    func flippedBit() throws {
        for encrypted in [false, true] {
            try TemporaryDirectory.with { directory in
                let path = directory.file("export.prolobundle")
                let key = try Self.recipientKey()
                try Self.write(Self.records(1_000), to: path, recipient: encrypted ? key.publicKey : nil)
                let intact = try Self.readAll(path, key: key).blocks
                var bytes = try Self.bytes(path)
                bytes[Int(intact[2].offset) + 49 + 10] ^= 0x10
                try Self.store(bytes, at: path)

                var reader = try BundleReader(path: path, recipientKey: key)
                #expect(try reader.nextBlock()?.records == intact[0].records)
                #expect(try reader.nextBlock()?.records == intact[1].records)
                for _ in 0..<2 {  // the error is final: asking again gives it again
                    do throws(BundleError) {
                        let block = try reader.nextBlock()
                        Issue.record("block 2 was returned: \(String(describing: block?.index))")
                    } catch {
                        #expect(error.code == .corruptBlock)
                        #expect(error.blockIndex == 2)
                        #expect(error.byteOffset == intact[2].offset)
                        #expect(error.message.contains("block 2 at byte \(intact[2].offset)"))
                    }
                }
                Self.expectError(.corruptBlock, mentioning: "block 2") { _ = try BundleReader.verify(path: path) }
            }
        }
    }

    @Test("a file cut in the middle of block 3 returns blocks 0–2, then names block 3 and the byte it ends at")
    func truncatedInBlock() throws {
        for encrypted in [false, true] {
            try TemporaryDirectory.with { directory in
                let path = directory.file("export.prolobundle")
                let key = try Self.recipientKey()
                try Self.write(Self.records(1_000), to: path, recipient: encrypted ? key.publicKey : nil)
                let intact = try Self.readAll(path, key: key).blocks
                let cut = Int(intact[3].offset) + intact[3].storedByteCount / 2
                try Self.store(Array(try Self.bytes(path).prefix(cut)), at: path)

                let (blocks, error) = try Self.readAll(path, key: key)
                #expect(blocks.map(\.index) == [0, 1, 2])
                #expect(blocks.map(\.records) == intact.prefix(3).map(\.records))
                let failure = try #require(error)
                #expect(failure.code == .truncated)
                #expect(failure.blockIndex == 3)
                #expect(failure.byteOffset == Int64(cut))
                #expect(failure.message.contains("truncated at byte \(cut) in block 3"))
            }
        }
    }

    @Test("a file cut inside its header, between blocks (no trailer) or in its trailer is truncated")
    func truncatedElsewhere() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("export.prolobundle")
            let cutPath = directory.file("cut.prolobundle")
            try Self.write(Self.records(1_000), to: path)
            let bytes = try Self.bytes(path)
            let intact = try Self.readAll(path).blocks

            try Self.store(Array(bytes.prefix(40)), at: cutPath)
            Self.expectError(.truncated, mentioning: "truncated at byte 40, inside its header") {
                _ = try BundleReader(path: cutPath)
            }
            try Self.store(Array(bytes.prefix(5)), at: cutPath)
            Self.expectError(.truncated, mentioning: "truncated at byte 5") { _ = try BundleReader(path: cutPath) }

            let last = try #require(intact.last)
            let boundary = Int(last.offset) + last.storedByteCount
            try Self.store(Array(bytes.prefix(boundary)), at: cutPath)
            let (blocks, error) = try Self.readAll(cutPath)
            #expect(blocks.count == intact.count)
            #expect(error?.code == .truncated)
            #expect(error?.message.contains("has no trailer: it ends at byte \(boundary)") == true)

            try Self.store(Array(bytes.prefix(boundary + 20)), at: cutPath)
            let inTrailer = try Self.readAll(cutPath).error
            #expect(inTrailer?.code == .truncated)
            #expect(inTrailer?.message.contains("in its trailer") == true)
        }
    }

    @Test("a damaged whole-file checksum or bytes after the trailer are a bad trailer")
    func badTrailer() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("export.prolobundle")
            let damagedPath = directory.file("damaged.prolobundle")
            try Self.write(Self.records(500), to: path)
            let bytes = try Self.bytes(path)

            var flipped = bytes
            flipped[flipped.count - 1] ^= 0x01
            try Self.store(flipped, at: damagedPath)
            let (blocks, error) = try Self.readAll(damagedPath)
            #expect(blocks.flatMap(\.records) == Self.records(500))
            #expect(error?.code == .badTrailer)
            #expect(error?.message.contains("whole-file checksum") == true)

            try Self.store(bytes + [0], at: damagedPath)
            #expect(try Self.readAll(damagedPath).error?.code == .badTrailer)
            Self.expectError(.badTrailer, mentioning: "bytes follow it") {
                _ = try BundleReader.verify(path: damagedPath)
            }
        }
    }

    @Test("a damaged header is refused before any block is read")
    func corruptHeader() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("export.prolobundle")
            try Self.write(Self.records(10), to: path)
            var bytes = try Self.bytes(path)
            bytes[70] ^= 0x01  // inside the header JSON
            try Self.store(bytes, at: path)
            Self.expectError(.corruptHeader, mentioning: "do not match their checksum") {
                _ = try BundleReader(path: path)
            }
        }
    }

    // MARK: - Encryption

    @Test("a bundle for another recipient is refused, naming the key id it wants")
    func wrongRecipient() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("export.prolobundle")
            let clinic = try Self.recipientKey(1)
            let other = try Self.recipientKey(99)
            try Self.write(Self.records(50), to: path, recipient: clinic.publicKey)
            let wanted = try BundleReader(path: path, recipientKey: clinic).recipientKeyID ?? "?"

            Self.expectError(.wrongRecipient, mentioning: "encrypted for another recipient (key id \(wanted))") {
                _ = try BundleReader(path: path, recipientKey: other)
            }
            Self.expectError(.wrongRecipient, mentioning: "encrypted for recipient key id \(wanted)") {
                _ = try BundleReader(path: path, recipientKey: nil)
            }
        }
    }

    @Test("encrypted blocks cannot be reordered or cut off, even with every checksum recomputed")
    func reorderedBlocks() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("export.prolobundle")
            let forged = directory.file("forged.prolobundle")
            let key = try Self.recipientKey()
            try Self.write(Self.records(1_000), to: path, recipient: key.publicKey)
            let bytes = try Self.bytes(path)
            let intact = try Self.readAll(path, key: key).blocks
            func range(_ block: BundleBlock) -> Range<Int> {
                Int(block.offset)..<(Int(block.offset) + block.storedByteCount)
            }

            // Swap blocks 1 and 2, renumber them and fix their checksums and the trailer's, as a tamperer could.
            var swapped = Array(bytes[..<range(intact[1]).lowerBound])
            swapped += Self.renumbered(Array(bytes[range(intact[2])]), as: 1)
            swapped += Self.renumbered(Array(bytes[range(intact[1])]), as: 2)
            swapped += bytes[range(intact[2]).upperBound...]
            try Self.store(Self.withFileChecksum(swapped), at: forged)
            #expect(try BundleReader.verify(path: forged).blocks == intact.count)  // structure alone looks fine
            let (blocks, error) = try Self.readAll(forged, key: key)
            #expect(blocks.map(\.index) == [0])
            #expect(error?.code == .corruptBlock)
            #expect(error?.blockIndex == 1)
            #expect(error?.message.contains("does not authenticate") == true)

            // Drop the last block and rewrite the trailer's counts.
            let last = try #require(intact.last)
            var shortened = Array(bytes[..<range(last).lowerBound])
            var trailer = Array(bytes[range(last).upperBound...])
            trailer[4] = UInt8(intact.count - 1)  // block count (fits one byte here)
            let records = UInt64(intact.dropLast().reduce(0) { $0 + $1.records.count })
            for shift in 0..<8 { trailer[5 + shift] = UInt8(truncatingIfNeeded: records >> (56 - 8 * UInt64(shift))) }
            shortened += trailer
            try Self.store(Self.withFileChecksum(shortened), at: forged)
            let cutOff = try Self.readAll(forged, key: key)
            #expect(cutOff.blocks.count == intact.count - 1)
            #expect(cutOff.error?.code == .badTrailer)
            #expect(cutOff.error?.message.contains("does not authenticate") == true)
        }
    }

    /// The process's current and peak resident memory in MiB, from `/proc/self/status` (Linux; zeros elsewhere).
    private static func residentMiB() -> (current: Int, peak: Int) {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func value(_ name: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
        }
        return (value("VmRSS"), value("VmHWM"))
    }

    /// Resets the peak resident memory to the current one (Linux).
    private static func resetPeakResident() {
        try? Data("5".utf8).write(to: URL(fileURLWithPath: "/proc/self/clear_refs"))
    }

    /// A stored block with its index field set to `index` and its checksum recomputed.
    private static func renumbered(_ block: [UInt8], as index: UInt32) -> [UInt8] {
        var block = block
        for shift in 0..<4 { block[1 + shift] = UInt8(truncatingIfNeeded: index >> (24 - 8 * UInt32(shift))) }
        var hash = SHA256()
        hash.update(data: block[0..<17])
        hash.update(data: block[49...])
        block.replaceSubrange(17..<49, with: Array(hash.finalize()))
        return block
    }

    /// A file with its last 32 bytes replaced by the SHA-256 of everything before them.
    private static func withFileChecksum(_ file: [UInt8]) -> [UInt8] {
        let body = file.dropLast(32)
        return Array(body) + SHA256.hash(data: Array(body))
    }

    // MARK: - Not a bundle, versions, existing files

    @Test("a format version this build does not know is refused, naming it and the supported one")
    func unknownVersion() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("future.prolobundle")
            try Self.write(Self.records(10), to: path)
            var bytes = try Self.bytes(path)
            bytes[8] = 0
            bytes[9] = 7
            try Self.store(bytes, at: path)
            Self.expectError(.unsupportedVersion, mentioning: "format version 7; this build reads format version 1") {
                _ = try BundleReader(path: path)
            }
        }
    }

    @Test("a text file, an empty file and a directory are not bundles; a missing file is an I/O error")
    func notABundle() throws {
        try TemporaryDirectory.with { directory in
            let text = directory.file("notes.txt")
            try Self.store(Array("hello, this is not a bundle".utf8), at: text)
            Self.expectError(.notABundle, mentioning: "not a Prolo bundle") { _ = try BundleReader(path: text) }
            let empty = directory.file("empty")
            try Self.store([], at: empty)
            Self.expectError(.notABundle, mentioning: "it is empty") { _ = try BundleReader(path: empty) }
            Self.expectError(.notABundle, mentioning: "directory") { _ = try BundleReader(path: directory.path) }
            Self.expectError(.ioError, mentioning: "does not exist") {
                _ = try BundleReader(path: directory.file("absent"))
            }
        }
    }

    @Test("a writer refuses an existing path or .partial file and leaves both untouched")
    func existingOutput() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("export.prolobundle")
            try Self.store([1, 2, 3], at: path)
            Self.expectError(.exists, mentioning: "already exists") { try Self.write([[1]], to: path) }
            #expect(try Self.bytes(path) == [1, 2, 3])

            let other = directory.file("other.prolobundle")
            try Self.store([4], at: other + ".partial")
            Self.expectError(.exists, mentioning: "other.prolobundle.partial exists") {
                try Self.write([[1]], to: other)
            }
            #expect(try Self.bytes(other + ".partial") == [4])
            #expect(!FileManager.default.fileExists(atPath: other))
        }
    }

    @Test("an abandoned writer leaves nothing behind, and a bundle is only visible once finished")
    func abandonedWriter() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("export.prolobundle")
            do {
                var writer = try BundleWriter(path: path, header: Self.header, headerSignature: Self.signature)
                for record in Self.records(500) { try writer.append(record) }
                withExtendedLifetime(writer) {
                    #expect(!FileManager.default.fileExists(atPath: path))
                    #expect(FileManager.default.fileExists(atPath: path + ".partial"))
                }
            }
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        }
    }

    @Test("a writer refuses impossible block sizes")
    func invalidOptions() throws {
        try TemporaryDirectory.with { directory in
            Self.expectError(.invalidInput, mentioning: "block size") {
                try Self.write([[1]], to: directory.file("a"), blockBytes: 0)
            }
            Self.expectError(.invalidInput, mentioning: "block size") {
                try Self.write([[1]], to: directory.file("b"), blockBytes: 1 << 30)
            }
        }
    }

    // MARK: - Scale

    @Test("a 50 000-record bundle is read back in blocks no larger than the block size")
    func boundedBlocks() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("large.prolobundle")
            let key = try Self.recipientKey()
            var writer = try BundleWriter(
                path: path, header: Self.header, headerSignature: Self.signature, recipient: key.publicKey)
            var record = [UInt8](repeating: 0, count: 400)
            for index in 0..<50_000 {
                withUnsafeBytes(of: UInt32(index).bigEndian) { record.replaceSubrange(0..<4, with: $0) }
                record[4 + index % 396] &+= 1
                try writer.append(record)
            }
            let summary = try writer.finish()
            #expect(summary.records == 50_000)
            #expect(summary.blocks >= 19)  // 50 000 × 404 bytes in blocks of at most 1 MiB

            var reader = try BundleReader(path: path, recipientKey: key)
            var count = 0
            var largest = 0
            while let block = try reader.nextBlock() {
                let raw = block.records.reduce(0) { $0 + 4 + $1.count }
                #expect(raw <= BundleWriter.defaultBlockBytes)
                #expect(block.storedByteCount <= BundleWriter.defaultBlockBytes + 1_024)
                for (offset, record) in block.records.enumerated() {
                    let number = record.prefix(4).reduce(0) { $0 << 8 | Int($1) }
                    if number != count + offset { Issue.record("record \(count + offset) is out of order") }
                }
                largest = max(largest, raw)
                count += block.records.count
            }
            #expect(count == 50_000)
            #expect(largest > BundleWriter.defaultBlockBytes / 2)
        }
    }

    @Test(
        "throughput of a 50 000-record bundle (set PROLO_BUNDLE_BENCH=1 to run)",
        .enabled(if: ProcessInfo.processInfo.environment["PROLO_BUNDLE_BENCH"] != nil))
    func throughput() throws {
        try TemporaryDirectory.with { directory in
            let key = try Self.recipientKey()
            // Peak memory first, before anything else grows the process: 500 000 records of 400 bytes (~190 MiB)
            // made on the fly, written and read back encrypted.
            Self.resetPeakResident()
            let before = Self.residentMiB()
            let large = directory.file("large")
            var writer = try BundleWriter(
                path: large, header: Self.header, headerSignature: Self.signature, recipient: key.publicKey)
            var record = [UInt8](repeating: 0x41, count: 400)
            for index in 0..<500_000 {
                withUnsafeBytes(of: UInt64(index).bigEndian) { record.replaceSubrange(0..<8, with: $0) }
                try writer.append(record)
            }
            let size = try writer.finish().bytes
            var reader = try BundleReader(path: large, recipientKey: key)
            var total = 0
            while let block = try reader.nextBlock() { total += block.records.count }
            #expect(total == 500_000)
            print(
                "bundle memory: 500000 records (\(size) bytes on disk): RSS \(before.current) MiB before (peak "
                    + "\(before.peak) MiB), peak \(Self.residentMiB().peak) MiB while writing and reading")
            let records = Self.records(50_000).map { Array(($0 + Array(repeating: 0x41, count: 400)).prefix(400)) }
            let megabytes = Double(records.count * 400) / 1_048_576
            for recipient in [nil, key.publicKey] {
                let path = directory.file(recipient == nil ? "plain" : "sealed")
                let clock = ContinuousClock()
                var summary: BundleSummary?
                let writing = try clock.measure {
                    var writer = try BundleWriter(
                        path: path, header: Self.header, headerSignature: Self.signature, recipient: recipient)
                    for record in records { try writer.append(record) }
                    summary = try writer.finish()
                }
                var count = 0
                let reading = try clock.measure {
                    var reader = try BundleReader(path: path, recipientKey: key)
                    while let block = try reader.nextBlock() { count += block.records.count }
                }
                #expect(count == records.count)
                let seconds = { (duration: Duration) in
                    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
                }
                print(
                    "bundle \(recipient == nil ? "plain" : "encrypted"): \(records.count) records, "
                        + "\(String(format: "%.1f", megabytes)) MiB of records, \(summary?.bytes ?? 0) bytes on disk, "
                        + "write \(String(format: "%.1f", megabytes / seconds(writing))) MiB/s, "
                        + "read \(String(format: "%.1f", megabytes / seconds(reading))) MiB/s")
            }
        }
    }
}
