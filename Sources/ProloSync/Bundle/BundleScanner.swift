import Crypto

/// The fixed preamble and stored header section of a bundle, checksum-verified but not yet decrypted.
struct BundlePreamble {
    /// The 58 preamble bytes, authenticated as the header's AAD when the bundle is encrypted.
    let bytes: [UInt8]
    let version: UInt16
    let flags: UInt16
    let kemID: UInt16
    let kdfID: UInt16
    let aeadID: UInt16
    let keyID: [UInt8]
    let encapsulatedKey: [UInt8]
    /// The header section as stored (sealed when the bundle is encrypted).
    let storedHeader: [UInt8]

    var isEncrypted: Bool { flags & BundleFormat.encryptedFlag != 0 }
}

/// One block as stored, after its checksum, index and sizes were checked.
struct StoredBlock {
    let index: Int
    let offset: Int64
    let recordCount: Int
    let rawCount: Int
    /// Kind, index, record count and raw length: the payload's AAD when the bundle is encrypted.
    let authenticatedFields: [UInt8]
    let stored: [UInt8]
    let storedByteCount: Int
}

/// The trailer, after the whole-file checksum and the counts were checked.
struct StoredTrailer {
    let offset: Int64
    /// Kind, block count and record count: the seal's AAD.
    let fields: [UInt8]
    /// The AEAD tag sealing the trailer (empty when the bundle is not encrypted).
    let seal: [UInt8]
    let summary: BundleSummary
}

/// Walks a bundle file's structure and checksums, one block at a time, without any key.
///
/// It checks everything that can be checked over stored bytes: magic, version, the header checksum, each block's
/// checksum, index and sizes, the trailer's counts and the whole-file checksum. Decryption and inflation are the
/// ``BundleReader``'s job.
final class BundleScanner {
    enum Frame {
        case block(StoredBlock)
        case trailer(StoredTrailer)
    }

    private let file: BundleFileHandle
    var path: String { file.path }
    private var fileHash = SHA256()
    /// Bytes read so far: the offset of the next byte.
    private(set) var offset: Int64 = 0
    private var nextIndex = 0
    private var records = 0
    private(set) var isEncrypted = false

    init(path: String) throws(BundleError) {
        file = try BundleFileHandle.openForReading(path)
    }

    /// Reads `count` bytes into the whole-file checksum, or throws what `cut(endOffset)` makes when the file ends.
    private func read(
        _ count: Int, hashed: Bool = true, cut: (Int64) -> BundleError
    ) throws(BundleError) -> [UInt8] {
        let bytes = try file.read(count)
        if hashed { fileHash.update(data: bytes) }
        offset += Int64(bytes.count)
        guard bytes.count == count else { throw cut(offset) }
        return bytes
    }

    private func truncatedInHeader(_ end: Int64) -> BundleError {
        BundleError(
            .truncated,
            "\(path) is truncated at byte \(end), inside its header: the copy is incomplete; copy the bundle again",
            byteOffset: end)
    }

    /// Reads and checks the preamble and header section.
    func readPreamble() throws(BundleError) -> BundlePreamble {
        let head = try file.read(10)
        fileHash.update(data: head)
        offset = Int64(head.count)
        let magic = BundleFormat.magic
        guard head.count >= magic.count, Array(head.prefix(magic.count)) == magic else {
            if !head.isEmpty, head.count < magic.count, Array(magic.prefix(head.count)) == head {
                throw truncatedInHeader(offset)
            }
            let what = head.isEmpty ? "it is empty" : "it does not start with \"PROLOBDL\""
            throw BundleError(.notABundle, "\(path) is not a Prolo bundle: \(what)", byteOffset: 0)
        }
        guard head.count == 10 else { throw truncatedInHeader(offset) }
        let version = BundleFormat.get(UInt16.self, from: head, at: 8)
        guard BundleFormat.supportedVersions.contains(version) else {
            let supported = BundleFormat.supportedVersions.map(String.init).joined(separator: ", ")
            throw BundleError(
                .unsupportedVersion,
                "\(path) is a Prolo bundle of format version \(version); this build reads format version \(supported)"
                    + (version > BundleFormat.version ? ": update Prolo to import it" : ""),
                byteOffset: 8)
        }
        let rest = try read(BundleFormat.preambleSize - head.count, cut: truncatedInHeader)
        let bytes = head + rest
        let sizeField = try read(4, cut: truncatedInHeader)
        let sectionSize = Int(BundleFormat.get(UInt32.self, from: sizeField, at: 0))
        guard sectionSize <= BundleFormat.maximumHeaderSection else {
            throw BundleError(
                .corruptHeader,
                "\(path) has a damaged header: it declares \(sectionSize) header bytes, more than the "
                    + "\(BundleFormat.maximumHeaderSection) allowed; copy the bundle again",
                byteOffset: Int64(BundleFormat.preambleSize))
        }
        let storedHeader = try read(sectionSize, cut: truncatedInHeader)
        let expected = Array(fileHash.finalize())
        let digest = try read(BundleFormat.digestSize, cut: truncatedInHeader)
        guard digest == expected else {
            throw BundleError(
                .corruptHeader,
                "\(path) has a damaged header: its preamble and header do not match their checksum at byte "
                    + "\(offset - Int64(BundleFormat.digestSize)); copy the bundle again",
                byteOffset: offset - Int64(BundleFormat.digestSize))
        }
        let preamble = BundlePreamble(
            bytes: bytes, version: version, flags: BundleFormat.get(UInt16.self, from: bytes, at: 10),
            kemID: BundleFormat.get(UInt16.self, from: bytes, at: 12),
            kdfID: BundleFormat.get(UInt16.self, from: bytes, at: 14),
            aeadID: BundleFormat.get(UInt16.self, from: bytes, at: 16), keyID: Array(bytes[18..<26]),
            encapsulatedKey: Array(bytes[26..<58]), storedHeader: storedHeader)
        try check(preamble)
        isEncrypted = preamble.isEncrypted
        return preamble
    }

    /// Refuses unknown features and inconsistent encryption fields.
    private func check(_ preamble: BundlePreamble) throws(BundleError) {
        let unknown = preamble.flags & ~BundleFormat.knownFlags
        guard unknown == 0 else {
            throw BundleError(
                .unsupportedVersion,
                "\(path) uses features this build does not know (flags \(BundleFormat.hex16(unknown)) of format "
                    + "version \(preamble.version)); update Prolo to import it",
                byteOffset: 10)
        }
        let suite = [preamble.kemID, preamble.kdfID, preamble.aeadID]
        if preamble.isEncrypted {
            guard suite == [BundleFormat.kemID, BundleFormat.kdfID, BundleFormat.aeadID] else {
                throw BundleError(
                    .unsupportedVersion,
                    "\(path) is encrypted with HPKE suite KEM \(BundleFormat.hex16(preamble.kemID)), "
                        + "KDF \(BundleFormat.hex16(preamble.kdfID)), AEAD \(BundleFormat.hex16(preamble.aeadID)); "
                        + "this build reads KEM 0x0020 (X25519), KDF 0x0001 (HKDF-SHA256), AEAD 0x0003 "
                        + "(ChaCha20-Poly1305)",
                    byteOffset: 12)
            }
        } else {
            guard suite == [0, 0, 0], preamble.keyID.allSatisfy({ $0 == 0 }),
                preamble.encapsulatedKey.allSatisfy({ $0 == 0 })
            else {
                throw BundleError(
                    .corruptHeader,
                    "\(path) has a damaged header: it is marked unencrypted but carries encryption fields",
                    byteOffset: 12)
            }
        }
    }

    /// Reads the next block, or the trailer; throws at the first damage.
    func nextFrame() throws(BundleError) -> Frame {
        let start = offset
        let index = nextIndex
        let kind = try file.read(1)
        guard let kindByte = kind.first else {
            // A cut copy like any other (the writer shows a bundle under its name only once the trailer is written):
            // the whole blocks before it stand, and the complete file finishes the import.
            let last = index == 0 ? "right after its header" : "after block \(index - 1)"
            throw BundleError(
                .truncated,
                "\(path) has no trailer: it ends at byte \(start), \(last); the export was cut short or never "
                    + "finished; copy or export it again",
                byteOffset: start)
        }
        fileHash.update(data: kind)
        offset += 1
        switch kindByte {
        case BundleFormat.blockKind: return .block(try readBlock(index: index, start: start))
        case BundleFormat.trailerKind: return .trailer(try readTrailer(start: start))
        default:
            throw BundleError(
                .corruptBlock,
                "\(path) is damaged at byte \(start): block \(index) should start there but the byte is "
                    + "0x\(BundleFormat.hex([kindByte])), neither a block nor the trailer; copy the bundle again",
                blockIndex: index, byteOffset: start)
        }
    }

    private func readBlock(index: Int, start: Int64) throws(BundleError) -> StoredBlock {
        let path = path
        let cut = { (end: Int64) -> BundleError in
            BundleError(
                .truncated,
                "\(path) is truncated at byte \(end) in block \(index) (which starts at byte \(start)): "
                    + (index == 0 ? "no block is complete" : "blocks 0–\(index - 1) are complete")
                    + "; copy the bundle again",
                blockIndex: index, byteOffset: end)
        }
        let damaged = { (reason: String) -> BundleError in
            BundleError(
                .corruptBlock,
                "\(path) has a damaged block \(index) at byte \(start): \(reason); nothing of it was used; copy the "
                    + "bundle again",
                blockIndex: index, byteOffset: start)
        }
        let rest = try read(BundleFormat.blockFieldsSize - 1, cut: cut)
        let fields = [BundleFormat.blockKind] + rest
        let storedCount = Int(BundleFormat.get(UInt32.self, from: fields, at: 13))
        guard storedCount <= BundleFormat.maximumStoredBlock else {
            throw damaged("it declares \(storedCount) stored bytes, more than a block can hold")
        }
        let checksum = try read(BundleFormat.digestSize, cut: cut)
        let stored = try read(storedCount, cut: cut)
        var hash = SHA256()
        hash.update(data: fields)
        hash.update(data: stored)
        guard Array(hash.finalize()) == checksum else { throw damaged("it does not match its checksum") }
        let declaredIndex = Int(BundleFormat.get(UInt32.self, from: fields, at: 1))
        guard declaredIndex == index else { throw damaged("it is numbered \(declaredIndex), out of order") }
        let recordCount = Int(BundleFormat.get(UInt32.self, from: fields, at: 5))
        let rawCount = Int(BundleFormat.get(UInt32.self, from: fields, at: 9))
        guard rawCount <= BundleFormat.maximumBlockBytes, recordCount >= 1, recordCount <= rawCount / 4 else {
            throw damaged("it declares \(recordCount) records in \(rawCount) bytes")
        }
        nextIndex += 1
        records += recordCount
        return StoredBlock(
            index: index, offset: start, recordCount: recordCount, rawCount: rawCount,
            authenticatedFields: Array(fields.prefix(BundleFormat.blockAADSize)), stored: stored,
            storedByteCount: Int(offset - start))
    }

    private func readTrailer(start: Int64) throws(BundleError) -> StoredTrailer {
        let path = path
        let cut = { (end: Int64) -> BundleError in
            BundleError(
                .truncated,
                "\(path) is truncated at byte \(end) in its trailer (which starts at byte \(start)); copy the bundle "
                    + "again",
                byteOffset: end)
        }
        let bad = { (reason: String) -> BundleError in
            BundleError(.badTrailer, "\(path) has a bad trailer at byte \(start): \(reason)", byteOffset: start)
        }
        let counts = try read(BundleFormat.trailerFieldsSize - 1, cut: cut)
        let fields = [BundleFormat.trailerKind] + counts
        var seal: [UInt8] = []
        if isEncrypted { seal = try read(BundleFormat.tagSize, cut: cut) }
        let expected = Array(fileHash.finalize())
        let digest = try read(BundleFormat.digestSize, hashed: false, cut: cut)
        guard digest == expected else {
            throw bad(
                "the whole-file checksum does not match; the file was damaged after it was written; copy it again")
        }
        let blocks = Int(BundleFormat.get(UInt32.self, from: fields, at: 1))
        let declaredRecords = BundleFormat.get(UInt64.self, from: fields, at: 5)
        guard blocks == nextIndex, declaredRecords == UInt64(records) else {
            throw bad(
                "it declares \(blocks) blocks and \(declaredRecords) records but the file holds \(nextIndex) blocks "
                    + "and \(records) records")
        }
        let extra = try file.read(1)
        guard extra.isEmpty else {
            throw bad("bytes follow it from byte \(offset); the file is not a bundle as written; copy it again")
        }
        return StoredTrailer(
            offset: start, fields: fields, seal: seal,
            summary: BundleSummary(blocks: blocks, records: records, bytes: offset))
    }
}
