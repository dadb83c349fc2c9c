import Crypto
import Foundation
import ProloDomain
import ProloStore
import ProloSync
import ProloTestSupport

/// Byte-level tampering with bundle files and event records, for tests of what the import path refuses.
///
/// Rewriting keeps the header and its signature as they were and writes valid block checksums (and, when asked,
/// a valid encryption to the recipient), so only the checks above the file format (hash, signature, scope) can
/// catch the change.
enum BundleSurgery {
    /// Everything a bundle holds: the header, its signature, and its records block by block.
    struct Contents {
        var header: [UInt8]
        var headerSignature: [UInt8]
        var blocks: [BundleBlock]
        var records: [[UInt8]] { blocks.flatMap(\.records) }
    }

    /// Reads a whole (valid) bundle.
    static func read(_ path: String, key: DeviceKey?) throws -> Contents {
        var reader = try BundleReader(path: path, recipientKey: try key?.agreementKey())
        var blocks: [BundleBlock] = []
        while let block = try reader.nextBlock() { blocks.append(block) }
        return Contents(header: reader.header, headerSignature: reader.headerSignature, blocks: blocks)
    }

    /// Writes `records` under a header and signature as given (nothing is checked).
    static func write(
        _ records: [[UInt8]], header: [UInt8], headerSignature: [UInt8], to path: String,
        recipient: Curve25519.KeyAgreement.PublicKey?, blockBytes: Int = BundleWriter.defaultBlockBytes
    ) throws {
        var writer = try BundleWriter(
            path: path, header: header, headerSignature: headerSignature, recipient: recipient, blockBytes: blockBytes)
        for record in records { try writer.append(record) }
        _ = try writer.finish()
    }

    /// Re-writes the bundle at `path` to `output` with the same header and signature and the records passed
    /// through `alter` (given each record's index in the whole bundle), encrypted to `recipient`'s key.
    static func rewrite(
        _ path: String, readingWith key: DeviceKey?, to output: String, recipient: DeviceKey?,
        blockBytes: Int = BundleWriter.defaultBlockBytes, alter: (Int, [UInt8]) throws -> [UInt8]
    ) throws {
        let contents = try read(path, key: key)
        let records = try contents.records.enumerated().map { try alter($0.offset, $0.element) }
        try write(
            records, header: contents.header, headerSignature: contents.headerSignature, to: output,
            recipient: try recipient?.agreementKey().publicKey, blockBytes: blockBytes)
    }

    // MARK: Event records (EventWireCodec: u8 version, u32 envelope length, envelope, u32 body length, body,
    // 32-byte hash, u8 signature length, signature)

    private static func length(_ record: [UInt8], at offset: Int) -> Int {
        record[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
    }

    /// Where the body starts and how long it is.
    static func bodyRange(of record: [UInt8]) -> Range<Int> {
        let envelopeLength = length(record, at: 1)
        let bodyLengthAt = 1 + 4 + envelopeLength
        let bodyStart = bodyLengthAt + 4
        return bodyStart..<(bodyStart + length(record, at: bodyLengthAt))
    }

    /// The record with one bit of its body flipped (the hash and signature left as they were).
    static func flippingBodyBit(_ record: [UInt8]) -> [UInt8] {
        let body = bodyRange(of: record)
        precondition(!body.isEmpty, "the record has no body to damage")
        var altered = record
        altered[body.lowerBound + body.count / 2] ^= 0x08
        return altered
    }

    /// The record with its signature replaced by `signature` (same length).
    static func replacingSignature(_ record: [UInt8], with signature: [UInt8]) -> [UInt8] {
        let count = Int(record[record.count - signature.count - 1])
        precondition(count == signature.count, "the record's signature is \(count) bytes, not \(signature.count)")
        return Array(record.prefix(record.count - signature.count)) + signature
    }

    /// The record re-signed by `key`: a valid Ed25519 signature over the event's hash, by the wrong key.
    static func resigning(_ record: [UInt8], with key: DeviceKey) throws -> [UInt8] {
        let event = try EventWireCodec.decode(record)
        return replacingSignature(record, with: try key.signature(for: event.hash.bytes))
    }

    // MARK: Files

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func writeBytes(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// A copy of the first `count` bytes of the file at `path`.
    static func truncatedCopy(of path: String, to output: String, keeping count: Int64) throws {
        try writeBytes(Array(try bytes(path).prefix(Int(count))), to: output)
    }

    /// A copy with the format version (bytes 8–9, big-endian) set to `version`.
    static func copy(of path: String, to output: String, formatVersion version: UInt16) throws {
        var bytes = try bytes(path)
        bytes[8] = UInt8(version >> 8)
        bytes[9] = UInt8(version & 0xFF)
        try writeBytes(bytes, to: output)
    }

    /// A signed bundle header as `sender` would write it.
    static func header(
        sender: DeviceKey, store: EventStore, scope: SyncScope, cutAgainst: VersionVector = VersionVector()
    ) throws -> (bytes: [UInt8], signature: [UInt8]) {
        let header = BundleHeader(
            clinicRoot: store.identity.rootPublicKey, sender: sender.publicKey, senderStoreID: store.identity.storeID,
            senderName: store.identity.deviceName, scope: scope, cutAgainst: cutAgainst,
            senderVector: try store.versionVector(), createdAt: .now())
        return (header.bytes, try sender.signature(for: header.bytes))
    }
}
