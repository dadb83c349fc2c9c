import Crypto
import Foundation

/// The constants of the bundle byte layout (`Schemas/bundle.md`), shared by the writer and the reader.
enum BundleFormat {
    /// `PROLOBDL`: the first eight bytes of every bundle.
    static let magic: [UInt8] = Array("PROLOBDL".utf8)
    /// The format version this build writes.
    static let version: UInt16 = 1
    /// The format versions this build reads.
    static let supportedVersions: [UInt16] = [1]

    /// Flag bit 0: headers and block payloads are HPKE-sealed to a recipient.
    static let encryptedFlag: UInt16 = 1 << 0
    /// Every flag bit version 1 defines.
    static let knownFlags: UInt16 = encryptedFlag

    /// RFC 9180 identifiers of the one cipher suite version 1 uses: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
    /// ChaCha20-Poly1305.
    static let kemID: UInt16 = 0x0020
    static let kdfID: UInt16 = 0x0001
    static let aeadID: UInt16 = 0x0003
    static let ciphersuite = HPKE.Ciphersuite.Curve25519_SHA256_ChachaPoly
    /// The HPKE `info` string, binding the key schedule to this format.
    static let hpkeInfo = Data("prolo-bundle-v1".utf8)
    /// Bytes an AEAD tag adds to each sealed message.
    static let tagSize = 16

    /// Bytes of the recipient key id (a prefix of SHA-256 of the recipient's X25519 public key).
    static let keyIDSize = 8
    /// Bytes of an X25519 encapsulated key.
    static let encapsulatedKeySize = 32
    /// Bytes of the fixed preamble: magic, version, flags, three suite ids, key id, encapsulated key.
    static let preambleSize = 8 + 2 + 2 + 6 + keyIDSize + encapsulatedKeySize
    /// Bytes of a SHA-256 digest.
    static let digestSize = 32

    /// Largest stored header section (header + signature + framing + tag).
    static let maximumHeaderSection = 16 << 20
    /// Largest raw (uncompressed, framed) block, and so the largest `blockBytes` a writer accepts.
    static let maximumBlockBytes = 64 << 20
    /// Largest single record: it must fit a block with its 4-byte length.
    static let maximumRecordSize = maximumBlockBytes - 4
    /// Largest stored block payload: zlib's worst-case expansion of a maximal block, plus a tag.
    static let maximumStoredBlock = maximumBlockBytes + (maximumBlockBytes >> 10) + 64

    /// The kind byte that opens a block (`B`).
    static let blockKind: UInt8 = 0x42
    /// The kind byte that opens the trailer (`T`).
    static let trailerKind: UInt8 = 0x54
    /// Bytes of a block's fixed fields before its checksum: kind, index, record count, raw length, stored length.
    static let blockFieldsSize = 1 + 4 + 4 + 4 + 4
    /// Bytes of a block's fields that its payload's AEAD authenticates: kind, index, record count, raw length.
    static let blockAADSize = 1 + 4 + 4 + 4
    /// Bytes of the trailer's count fields: kind, block count, record count.
    static let trailerFieldsSize = 1 + 4 + 8

    /// The short id of a recipient key: lowercase hex of the first 8 bytes of SHA-256 of its raw 32 bytes.
    static func keyID(of key: Curve25519.KeyAgreement.PublicKey) -> [UInt8] {
        Array(SHA256.hash(data: key.rawRepresentation).prefix(keyIDSize))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func hex16(_ value: UInt16) -> String { String(format: "0x%04x", value) }

    /// Appends `value` to `bytes`, big-endian.
    static func put<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Reads a big-endian integer at `offset` of bytes whose length the caller has checked.
    static func get<T: FixedWidthInteger>(_ type: T.Type, from bytes: [UInt8], at offset: Int) -> T {
        var value: T = 0
        for byte in bytes[offset..<(offset + MemoryLayout<T>.size)] {
            value = value << 8 | T(byte)
        }
        return value
    }
}
