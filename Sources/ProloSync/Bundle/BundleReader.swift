public import Crypto
import Foundation

/// Reads a bundle file one block at a time, verifying as it goes (layout: `Schemas/bundle.md`).
///
/// Opening reads and verifies the preamble and header only; ``nextBlock()`` then returns each block whole, in
/// order, after checking its checksum, its authentication (for encrypted bundles) and its record framing. At most
/// one block is held in memory. The last call verifies the trailer (block and record counts, whole-file checksum,
/// and for encrypted bundles that no block was cut off) and returns nil.
///
/// Damage is reported precisely and finally: a block that fails any check is refused entirely, every block before
/// it has already been returned, and the error names the block index and byte offset. Because records arrive before
/// the trailer is checked, a caller that must not act on an incomplete bundle should apply records only once
/// ``nextBlock()`` has returned nil (or apply them idempotently, as sync does).
///
/// ```swift
/// var reader = try BundleReader(path: "export.prolobundle", recipientKey: try deviceKey.agreementKey())
/// while let block = try reader.nextBlock() {
///     for record in block.records { … }
/// }
/// ```
///
/// A reader is not meant to be copied: copies share one file position.
public struct BundleReader {
    /// The bundle's path.
    public let path: String
    /// The bundle format version the file was written in.
    public let formatVersion: Int
    /// The caller-defined header (canonical JSON: sender, clinic, scope, vector), exactly as written.
    public let header: [UInt8]
    /// The signature over ``header`` the writer was given, exactly as written; this reader does not check it.
    public let headerSignature: [UInt8]
    /// For an encrypted bundle, the recipient key id it is encrypted to: lowercase hex of the first 8 bytes of
    /// SHA-256 of the recipient's X25519 public key. Nil for an unencrypted bundle.
    public let recipientKeyID: String?
    private let state: BundleReaderState

    /// Whether the header and blocks are encrypted to a recipient key.
    public var isEncrypted: Bool { recipientKeyID != nil }

    /// The bundle's counts and size, once ``nextBlock()`` has verified the trailer; nil before.
    public var summary: BundleSummary? { state.summary }

    /// Opens a bundle and reads its preamble and header.
    ///
    /// - Parameters:
    ///   - path: the bundle file.
    ///   - recipientKey: the private X25519 key the bundle is encrypted to (a device's
    ///     `DeviceKey.agreementKey()`); ignored for unencrypted bundles.
    /// - Throws: ``BundleError/Code/notABundle``, ``BundleError/Code/unsupportedVersion``,
    ///   ``BundleError/Code/truncated``, ``BundleError/Code/corruptHeader``, ``BundleError/Code/wrongRecipient``
    ///   (no key or another key than the bundle's recipient), ``BundleError/Code/encryptionFailed``,
    ///   ``BundleError/Code/ioError``.
    public init(path: String, recipientKey: Curve25519.KeyAgreement.PrivateKey? = nil) throws(BundleError) {
        let scanner = try BundleScanner(path: path)
        let preamble = try scanner.readPreamble()
        var section = preamble.storedHeader
        var recipient: HPKE.Recipient?
        if preamble.isEncrypted {
            let wanted = BundleFormat.hex(preamble.keyID)
            guard let recipientKey else {
                throw BundleError(
                    .wrongRecipient,
                    "\(path) is encrypted for recipient key id \(wanted); give the private key of that recipient",
                    byteOffset: 18)
            }
            let given = BundleFormat.hex(BundleFormat.keyID(of: recipientKey.publicKey))
            guard given == wanted else {
                throw BundleError(
                    .wrongRecipient,
                    "this bundle is encrypted for another recipient (key id \(wanted)); the key given has id \(given)",
                    byteOffset: 18)
            }
            do {
                var opener = try HPKE.Recipient(
                    privateKey: recipientKey, ciphersuite: BundleFormat.ciphersuite, info: BundleFormat.hpkeInfo,
                    encapsulatedKey: Data(preamble.encapsulatedKey))
                section = Array(try opener.open(preamble.storedHeader, authenticating: preamble.bytes))
                recipient = opener
            } catch {
                throw BundleError(
                    .encryptionFailed,
                    "cannot decrypt the header of \(path) although it is addressed to this key (id \(given)): the "
                        + "bundle was altered or written by faulty software",
                    byteOffset: Int64(BundleFormat.preambleSize), cause: error)
            }
        }
        guard let parts = Self.split(section) else {
            throw BundleError(
                .corruptHeader, "\(path) has a damaged header: its header and signature lengths do not add up",
                byteOffset: Int64(BundleFormat.preambleSize))
        }
        self.path = path
        formatVersion = Int(preamble.version)
        header = parts.header
        headerSignature = parts.signature
        recipientKeyID = preamble.isEncrypted ? BundleFormat.hex(preamble.keyID) : nil
        state = BundleReaderState(scanner: scanner, recipient: recipient)
    }

    /// Returns the next verified block, or nil once the trailer has been verified.
    ///
    /// - Throws: ``BundleError/Code/corruptBlock`` (checksum, authentication, order or framing; names the block),
    ///   ``BundleError/Code/truncated`` (names the block being read and where the file ends),
    ///   ``BundleError/Code/badTrailer``, ``BundleError/Code/ioError``. After an error every call throws it again.
    public mutating func nextBlock() throws(BundleError) -> BundleBlock? {
        try state.nextBlock()
    }

    /// Checks a bundle's structure and checksums without decrypting it: magic, version, header checksum, every
    /// block's checksum and order, the trailer's counts and the whole-file checksum.
    ///
    /// This needs no key, so a courier or an intermediate server can tell a damaged copy from a good one. It does
    /// not prove who wrote the bundle, nor (for encrypted bundles) that blocks authenticate: only a reader with the
    /// recipient's key checks that.
    public static func verify(path: String) throws(BundleError) -> BundleSummary {
        let scanner = try BundleScanner(path: path)
        _ = try scanner.readPreamble()
        while true {
            if case .trailer(let trailer) = try scanner.nextFrame() { return trailer.summary }
        }
    }

    /// Splits a plaintext header section into the header and its signature.
    private static func split(_ section: [UInt8]) -> (header: [UInt8], signature: [UInt8])? {
        guard section.count >= 4 else { return nil }
        let headerCount = Int(BundleFormat.get(UInt32.self, from: section, at: 0))
        guard section.count >= 8 + headerCount else { return nil }
        let signatureCount = Int(BundleFormat.get(UInt32.self, from: section, at: 4 + headerCount))
        guard section.count == 8 + headerCount + signatureCount else { return nil }
        return (Array(section[4..<(4 + headerCount)]), Array(section[(8 + headerCount)...]))
    }
}

/// The mutable state behind a ``BundleReader``: the scanner, the HPKE context and the terminal outcome.
private final class BundleReaderState {
    private let scanner: BundleScanner
    private var recipient: HPKE.Recipient?
    private var failure: BundleError?
    private(set) var summary: BundleSummary?

    init(scanner: BundleScanner, recipient: HPKE.Recipient?) {
        self.scanner = scanner
        self.recipient = recipient
    }

    func nextBlock() throws(BundleError) -> BundleBlock? {
        if let failure { throw failure }
        if summary != nil { return nil }
        do {
            switch try scanner.nextFrame() {
            case .block(let block): return try open(block)
            case .trailer(let trailer):
                try check(trailer)
                summary = trailer.summary
                return nil
            }
        } catch {
            failure = error
            throw error
        }
    }

    /// Decrypts, inflates and splits one checksum-verified block.
    private func open(_ block: StoredBlock) throws(BundleError) -> BundleBlock {
        let path = scanner.path
        let damaged = { (reason: String) -> BundleError in
            BundleError(
                .corruptBlock,
                "\(path) has a damaged block \(block.index) at byte \(block.offset): \(reason); nothing of it was "
                    + "used; copy the bundle again",
                blockIndex: block.index, byteOffset: block.offset)
        }
        var compressed = block.stored
        if var opener = recipient {
            do {
                compressed = Array(try opener.open(block.stored, authenticating: block.authenticatedFields))
            } catch {
                throw damaged("it does not authenticate (altered, reordered, or taken from another bundle)")
            }
            recipient = opener
        }
        guard let raw = BundleCompression.decompress(compressed, rawCount: block.rawCount) else {
            throw damaged("its payload does not inflate to the \(block.rawCount) bytes it declares")
        }
        guard let records = Self.records(in: raw, count: block.recordCount) else {
            throw damaged("its records do not add up to the \(block.recordCount) it declares")
        }
        return BundleBlock(
            index: block.index, offset: block.offset, storedByteCount: block.storedByteCount, records: records)
    }

    private func check(_ trailer: StoredTrailer) throws(BundleError) {
        guard var opener = recipient else { return }
        do {
            _ = try opener.open(trailer.seal, authenticating: trailer.fields)
        } catch {
            throw BundleError(
                .badTrailer,
                "\(scanner.path) has a bad trailer at byte \(trailer.offset): it does not authenticate, so blocks "
                    + "may have been removed from the end; do not trust this copy",
                byteOffset: trailer.offset)
        }
        recipient = opener
    }

    /// Splits framed records (`u32` length, bytes) that must fill `raw` exactly.
    private static func records(in raw: [UInt8], count: Int) -> [[UInt8]]? {
        // Each record has at least its 4-byte length, so the count is bounded by the bytes that carry it. Blocks are
        // a container of any records (empty ones included); event records are judged by the importer, record by
        // record, so a block of many tiny records costs its importer one refusal at the first.
        guard count <= raw.count / 4 else { return nil }
        var records: [[UInt8]] = []
        records.reserveCapacity(count)
        var position = 0
        while position < raw.count {
            guard raw.count - position >= 4 else { return nil }
            let length = Int(BundleFormat.get(UInt32.self, from: raw, at: position))
            position += 4
            guard raw.count - position >= length else { return nil }
            records.append(Array(raw[position..<(position + length)]))
            position += length
        }
        return records.count == count ? records : nil
    }
}
