public import ProloDomain
import Crypto

/// The bytes of the sync protocol over HTTP (Schemas/openapi.yaml): batches of event records in the bundle's
/// block payload format, and the digest that makes the in-sync case one small request.
public enum SyncWire {
    /// The media type of a batch body.
    public static let batchContentType = "application/vnd.prolo.batch"
    /// The largest batch body accepted after inflating (records are checked one by one after that).
    public static let maximumInflatedBytes = 64 << 20

    /// A batch: `u32 record count`, `u32 inflated length`, then zlib of the records each framed as
    /// `u32 length` + bytes — the payload of a bundle block with a small header (all big-endian).
    public static func encodeBatch(_ records: [[UInt8]]) throws(SyncError) -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity(records.reduce(0) { $0 + $1.count + 4 })
        for record in records {
            put(UInt32(record.count), into: &raw)
            raw.append(contentsOf: record)
        }
        guard let compressed = BundleCompression.compress(raw, level: BundleCompression.fastLevel) else { throw SyncError(.ioError, "zlib cannot compress a batch") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(compressed.count + 8)
        put(UInt32(records.count), into: &bytes)
        put(UInt32(raw.count), into: &bytes)
        bytes.append(contentsOf: compressed)
        return bytes
    }

    /// Reads a batch, refusing anything malformed with a message that says where.
    public static func decodeBatch(_ bytes: [UInt8]) throws(SyncError) -> [[UInt8]] {
        guard bytes.count >= 8 else { throw SyncError(.malformed, "a batch starts with 8 header bytes; got \(bytes.count)") }
        let count = Int(get(bytes, at: 0))
        let rawCount = Int(get(bytes, at: 4))
        guard rawCount <= maximumInflatedBytes else {
            throw SyncError(.malformed, "a batch of \(rawCount) bytes exceeds the \(maximumInflatedBytes)-byte limit")
        }
        let framed = 4 + EventWireCodec.minimumRecordBytes
        guard count <= rawCount / framed else {
            throw SyncError(.malformed, "a batch of \(rawCount) bytes cannot hold the \(count) records it announces")
        }
        guard let raw = BundleCompression.decompress(Array(bytes[8...]), rawCount: rawCount) else {
            throw SyncError(.malformed, "the batch body is not a zlib stream of \(rawCount) bytes (cut off or damaged)")
        }
        var records: [[UInt8]] = []
        records.reserveCapacity(count)
        var position = 0
        while position < raw.count {
            guard raw.count - position >= 4 else { throw SyncError(.malformed, "record \(records.count + 1): cut in its length") }
            let length = Int(get(raw, at: position))
            position += 4
            guard raw.count - position >= length else {
                throw SyncError(.malformed, "record \(records.count + 1): \(length) bytes announced, \(raw.count - position) left")
            }
            guard length >= EventWireCodec.minimumRecordBytes else {
                throw SyncError(.malformed, "record \(records.count + 1): \(length) bytes is shorter than any event record")
            }
            records.append(Array(raw[position..<position + length]))
            position += length
        }
        guard records.count == count else {
            throw SyncError(.malformed, "the batch announces \(count) records but holds \(records.count)")
        }
        return records
    }

    /// Hex SHA-256 of the vector's canonical JSON: equal digests mean equal vectors. With chain heads, of
    /// `{"vector": …, "heads": …}`: equal digests then also mean the same branch of every origin and the same
    /// knowledge of forks (a peer that sends the vector's digest alone, an older build, is never told "in sync"
    /// and exchanges as before).
    public static func digest(of vector: VersionVector, heads: ChainHeads = ChainHeads()) -> String {
        let value = heads.isEmpty ? vector.jsonValue : .object(["vector": vector.jsonValue, "heads": heads.jsonValue])
        return Hex.encode(SHA256.hash(data: CanonicalJSON.encode(value)))
    }

    private static func put(_ value: UInt32, into bytes: inout [UInt8]) {
        bytes.append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }

    private static func get(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
