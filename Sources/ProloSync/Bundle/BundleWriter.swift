public import Crypto
import Foundation

/// Writes a bundle file: a header, then records in checksummed, zlib-compressed blocks, then a trailer
/// (layout: `Schemas/bundle.md`).
///
/// Writing is streamed: at most one block of records is held in memory, whatever the bundle's size. The bytes go
/// to `PATH.partial`, which ``finish()`` flushes to disk and renames to `PATH`, so a crash or an abandoned writer
/// never leaves a file at `PATH` that looks complete (an abandoned writer removes its `.partial`). An existing file
/// is never overwritten.
///
/// Given a recipient key, the header and every block are HPKE-sealed to it (X25519, HKDF-SHA256,
/// ChaCha20-Poly1305) and the trailer carries an authentication tag, so only that recipient can read the records
/// and blocks cannot be altered, reordered, dropped or cut off without the reader noticing.
///
/// ```swift
/// var writer = try BundleWriter(path: "export.prolobundle", header: header, headerSignature: signature,
///                               recipient: clinicKey)
/// for record in records { try writer.append(record) }
/// let summary = try writer.finish()
/// ```
///
/// A writer is not meant to be copied: copies share one file.
public struct BundleWriter {
    /// The raw bytes of records after which a block is cut, unless configured otherwise: 1 MiB.
    public static let defaultBlockBytes = 1 << 20

    /// The path the finished bundle will have.
    public let path: String
    private let state: BundleWriterState

    /// Creates `PATH.partial` and writes the preamble and header to it.
    ///
    /// - Parameters:
    ///   - path: where the finished bundle goes; it must not exist yet.
    ///   - header: the caller's header (canonical JSON: sender, clinic, scope, vector), carried as is.
    ///   - headerSignature: the caller's signature over `header`, carried as is.
    ///   - recipient: the X25519 key to encrypt the bundle to; nil writes an unencrypted bundle.
    ///   - blockBytes: the raw size (records with their 4-byte lengths) at which a block is cut, 1 byte to 64 MiB.
    ///     A record larger than this gets a block of its own.
    /// - Throws: ``BundleError/Code/exists`` when `path` or `PATH.partial` exists, ``BundleError/Code/invalidInput``
    ///   for a header or `blockBytes` outside the format's limits, ``BundleError/Code/ioError`` when the file
    ///   cannot be written.
    public init(
        path: String, header: [UInt8], headerSignature: [UInt8], recipient: Curve25519.KeyAgreement.PublicKey? = nil,
        blockBytes: Int = BundleWriter.defaultBlockBytes
    ) throws(BundleError) {
        guard (1...BundleFormat.maximumBlockBytes).contains(blockBytes) else {
            throw BundleError(
                .invalidInput, "block size \(blockBytes) is outside 1...\(BundleFormat.maximumBlockBytes) bytes")
        }
        let sectionSize = 8 + header.count + headerSignature.count + BundleFormat.tagSize
        guard sectionSize <= BundleFormat.maximumHeaderSection else {
            throw BundleError(
                .invalidInput,
                "the header and its signature take \(sectionSize) bytes; a bundle header holds at most "
                    + "\(BundleFormat.maximumHeaderSection) bytes")
        }
        if FileManager.default.fileExists(atPath: path) {
            throw BundleError(.exists, "\(path) already exists; remove it or choose another name")
        }
        let partialPath = path + ".partial"
        let file: BundleFileHandle
        do {
            file = try BundleFileHandle.create(partialPath)
        } catch {
            guard error.code == .exists else { throw error }
            throw BundleError(
                .exists,
                "\(partialPath) exists: another export to \(path) is running, or one was interrupted; "
                    + "remove it if no export is running")
        }
        self.path = path
        state = BundleWriterState(file: file, partialPath: partialPath, finalPath: path, blockBytes: blockBytes)
        try state.writeHeader(header, signature: headerSignature, recipient: recipient)
    }

    /// Adds one record (the binary encoding of a signed event) after the records appended so far.
    ///
    /// The record is buffered; a block is compressed and written whenever the buffer reaches the block size.
    /// - Throws: ``BundleError/Code/invalidInput`` for a record over 64 MiB or a finished writer,
    ///   ``BundleError/Code/ioError`` when writing fails. After any error the writer is unusable and its
    ///   `.partial` file is removed when it goes away.
    public mutating func append(_ record: [UInt8]) throws(BundleError) {
        try state.append(record)
    }

    /// Writes the last block and the trailer, flushes the file to disk and renames it to ``path``.
    ///
    /// When this returns, the bundle is complete and durable at ``path``.
    /// - Throws: ``BundleError/Code/exists`` when a file appeared at ``path`` meanwhile (nothing is overwritten),
    ///   ``BundleError/Code/ioError`` when writing, flushing or renaming fails.
    public mutating func finish() throws(BundleError) -> BundleSummary {
        try state.finish()
    }
}

/// The mutable state behind a ``BundleWriter``; it removes the `.partial` file if the bundle is never finished.
private final class BundleWriterState {
    let file: BundleFileHandle
    let partialPath: String
    let finalPath: String
    let blockBytes: Int

    private var sender: HPKE.Sender?
    private var fileHash = SHA256()
    private var offset: Int64 = 0
    private var buffer: [UInt8] = []
    private var bufferedRecords = 0
    private var blocks = 0
    private var records = 0
    private var finished = false
    private var failure: BundleError?

    init(file: BundleFileHandle, partialPath: String, finalPath: String, blockBytes: Int) {
        self.file = file
        self.partialPath = partialPath
        self.finalPath = finalPath
        self.blockBytes = blockBytes
    }

    deinit {
        if !finished { BundleFileHandle.remove(partialPath) }
    }

    /// Runs `body` unless the writer already failed or finished; remembers the error it throws.
    private func guarded<Result>(_ body: () throws(BundleError) -> Result) throws(BundleError) -> Result {
        if let failure { throw failure }
        if finished { throw BundleError(.invalidInput, "the bundle \(finalPath) is already finished") }
        do {
            return try body()
        } catch {
            failure = error
            throw error
        }
    }

    /// Writes bytes that count towards the whole-file checksum.
    private func emit(_ bytes: [UInt8]) throws(BundleError) {
        try file.write(bytes)
        fileHash.update(data: bytes)
        offset += Int64(bytes.count)
    }

    private func seal(_ message: [UInt8], authenticating aad: [UInt8], what: String) throws(BundleError) -> [UInt8] {
        guard var sender else { return message }
        defer { self.sender = sender }
        do {
            return Array(try sender.seal(message, authenticating: aad))
        } catch {
            throw BundleError(.encryptionFailed, "cannot encrypt \(what) of \(finalPath): \(error)", cause: error)
        }
    }

    func writeHeader(
        _ header: [UInt8], signature: [UInt8], recipient: Curve25519.KeyAgreement.PublicKey?
    ) throws(BundleError) {
        try guarded { () throws(BundleError) in
            var preamble = BundleFormat.magic
            BundleFormat.put(BundleFormat.version, into: &preamble)
            if let recipient {
                do {
                    sender = try HPKE.Sender(
                        recipientKey: recipient, ciphersuite: BundleFormat.ciphersuite, info: BundleFormat.hpkeInfo)
                } catch {
                    throw BundleError(
                        .encryptionFailed, "cannot set up encryption to the recipient key: \(error)", cause: error)
                }
            }
            if let sender, let recipient {
                BundleFormat.put(BundleFormat.encryptedFlag, into: &preamble)
                BundleFormat.put(BundleFormat.kemID, into: &preamble)
                BundleFormat.put(BundleFormat.kdfID, into: &preamble)
                BundleFormat.put(BundleFormat.aeadID, into: &preamble)
                preamble += BundleFormat.keyID(of: recipient)
                let encapsulated = Array(sender.encapsulatedKey)
                guard encapsulated.count == BundleFormat.encapsulatedKeySize else {
                    throw BundleError(
                        .encryptionFailed, "the HPKE encapsulated key has \(encapsulated.count) bytes, expected 32")
                }
                preamble += encapsulated
            } else {
                preamble += [UInt8](repeating: 0, count: 2 + 6 + BundleFormat.keyIDSize + 32)
            }
            var section: [UInt8] = []
            section.reserveCapacity(8 + header.count + signature.count)
            BundleFormat.put(UInt32(header.count), into: &section)
            section += header
            BundleFormat.put(UInt32(signature.count), into: &section)
            section += signature
            let stored = try seal(section, authenticating: preamble, what: "the header")

            var bytes = preamble
            BundleFormat.put(UInt32(stored.count), into: &bytes)
            bytes += stored
            bytes += SHA256.hash(data: bytes)
            try emit(bytes)
        }
    }

    func append(_ record: [UInt8]) throws(BundleError) {
        try guarded { () throws(BundleError) in
            guard record.count <= BundleFormat.maximumRecordSize else {
                throw BundleError(
                    .invalidInput,
                    "record \(records + bufferedRecords) is \(record.count) bytes; a bundle record holds at most "
                        + "\(BundleFormat.maximumRecordSize) bytes")
            }
            if bufferedRecords > 0, buffer.count + 4 + record.count > blockBytes {
                try writeBlock()
            }
            if buffer.capacity == 0 { buffer.reserveCapacity(min(blockBytes, BundleWriter.defaultBlockBytes) + 4) }
            BundleFormat.put(UInt32(record.count), into: &buffer)
            buffer += record
            bufferedRecords += 1
            if buffer.count >= blockBytes { try writeBlock() }
        }
    }

    /// Compresses (and seals) the buffered records and writes them as the next block.
    private func writeBlock() throws(BundleError) {
        guard blocks < Int(UInt32.max) else {
            throw BundleError(.invalidInput, "a bundle holds at most \(UInt32.max) blocks")
        }
        let index = blocks
        guard let compressed = BundleCompression.compress(buffer) else {
            throw BundleError(.ioError, "cannot compress block \(index) of \(finalPath) (out of memory?)")
        }
        var fields: [UInt8] = [BundleFormat.blockKind]
        BundleFormat.put(UInt32(index), into: &fields)
        BundleFormat.put(UInt32(bufferedRecords), into: &fields)
        BundleFormat.put(UInt32(buffer.count), into: &fields)
        let stored = try seal(compressed, authenticating: fields, what: "block \(index)")
        BundleFormat.put(UInt32(stored.count), into: &fields)
        var checksum = SHA256()
        checksum.update(data: fields)
        checksum.update(data: stored)
        try emit(fields + checksum.finalize())
        try emit(stored)
        blocks += 1
        records += bufferedRecords
        bufferedRecords = 0
        buffer.removeAll(keepingCapacity: buffer.capacity <= 2 * blockBytes + 64)
    }

    func finish() throws(BundleError) -> BundleSummary {
        try guarded { () throws(BundleError) -> BundleSummary in
            if bufferedRecords > 0 { try writeBlock() }
            var trailer: [UInt8] = [BundleFormat.trailerKind]
            BundleFormat.put(UInt32(blocks), into: &trailer)
            BundleFormat.put(UInt64(records), into: &trailer)
            if sender != nil { trailer += try seal([], authenticating: trailer, what: "the trailer") }
            try emit(trailer)
            let digest = Array(fileHash.finalize())
            try file.write(digest)
            try file.synchronize()
            try BundleFileHandle.publish(partialPath, as: finalPath)
            finished = true
            return BundleSummary(blocks: blocks, records: records, bytes: offset + Int64(digest.count))
        }
    }
}
