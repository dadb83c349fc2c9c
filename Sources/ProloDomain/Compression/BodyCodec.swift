internal import CZlib

/// zlib compression of canonical event bodies with a versioned preset dictionary.
///
/// Compression happens once, at the origin; the compressed bytes are what is hashed, signed, stored
/// and synced, so they are never re-made. Inflation refuses corrupt input and bodies larger than
/// ``maximumInflatedSize`` (a zip bomb must not exhaust memory).
public enum BodyCodec {
    /// The largest canonical body accepted: 1 MiB.
    public static let maximumInflatedSize = 1 << 20

    /// Compresses canonical JSON with the given dictionary.
    public static func compress(_ input: [UInt8], dictionary: CompressionDictionary = .current) throws(BodyCodecError)
        -> [UInt8]
    {
        // The stream is raw deflate; the RFC 1950 wrapper is written here. The bytes are the same as zlib's own
        // wrapper at level 9 (header 78 DA, or 78 F9 and the dictionary's Adler-32 with a preset dictionary),
        // but the dictionary's checksum comes from a cache instead of being recomputed for every body.
        try ZlibStreamPool.with(.deflate) { zlib throws(BodyCodecError) -> [UInt8] in
            let stream = zlib.stream
            let presetID: UInt32?
            if dictionary.bytes.isEmpty {
                presetID = nil
            } else {
                let status = dictionary.bytes.withUnsafeBufferPointer {
                    deflateSetDictionary(stream, $0.baseAddress, uInt($0.count))
                }
                guard status == Z_OK else { throw .zlib("deflateSetDictionary failed (\(status))") }
                presetID = DictionaryID.of(dictionary)
            }
            let headerCount = presetID == nil ? 2 : 6
            let capacity = headerCount + Int(deflateBound(stream, uLong(input.count))) + 4
            var status = Z_OK
            var written = 0
            let output = input.withUnsafeBufferPointer { inputBuffer in
                [UInt8](unsafeUninitializedCapacity: capacity) { outputBuffer, initialized in
                    let header = Wrapper.header(presetDictionary: presetID != nil)
                    outputBuffer[0] = UInt8(header >> 8)
                    outputBuffer[1] = UInt8(header & 0xFF)
                    if let presetID { Wrapper.storeBigEndian(presetID, at: 2, in: outputBuffer) }
                    // zlib never writes through next_in; the pointer is mutable only in the C declaration.
                    stream.pointee.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress)
                    stream.pointee.avail_in = uInt(inputBuffer.count)
                    stream.pointee.next_out = outputBuffer.baseAddress! + headerCount
                    stream.pointee.avail_out = uInt(capacity - headerCount - 4)
                    status = deflate(stream, Z_FINISH)
                    written = headerCount + Int(stream.pointee.total_out)
                    guard status == Z_STREAM_END else { return }
                    let checksum = Wrapper.adler32(of: UnsafeRawBufferPointer(inputBuffer))
                    Wrapper.storeBigEndian(checksum, at: written, in: outputBuffer)
                    written += 4
                    initialized = written
                }
            }
            guard status == Z_STREAM_END else { throw .zlib("deflate did not finish (\(status))") }
            return output
        }
    }

    /// Inflates a stored body with the dictionary of the given version.
    public static func decompress(_ input: [UInt8], dictionaryVersion: Int) throws(BodyCodecError) -> [UInt8] {
        guard let dictionary = CompressionDictionary.version(dictionaryVersion) else {
            throw .unknownDictionary(dictionaryVersion)
        }
        return try ZlibStreamPool.with(.inflate) { zlib throws(BodyCodecError) -> [UInt8] in
            try input.withUnsafeBufferPointer { inputBuffer throws(BodyCodecError) -> [UInt8] in
                try inflate(inputBuffer, dictionary: dictionary, zlib: zlib)
            }
        }
    }

    /// Checks the RFC 1950 wrapper around a raw deflate stream and inflates it into the stream's scratch space.
    ///
    /// Refuses exactly what zlib's own wrapper handling refuses (bad header check, method, window size, wrong or
    /// missing dictionary, bad Adler-32), plus trailing bytes and bodies over ``maximumInflatedSize``.
    private static func inflate(
        _ input: UnsafeBufferPointer<UInt8>, dictionary: CompressionDictionary, zlib: ZlibStream
    ) throws(BodyCodecError) -> [UInt8] {
        guard input.count >= 2 else { throw .corrupt("compressed body is truncated") }
        let header = UInt16(input[0]) << 8 | UInt16(input[1])
        guard header % 31 == 0 else { throw .corrupt("zlib reports incorrect header check") }
        guard input[0] & 0x0F == UInt8(Z_DEFLATED) else { throw .corrupt("zlib reports unknown compression method") }
        guard Int32(input[0] >> 4) + 8 <= ZlibStream.windowBits else {
            throw .corrupt("zlib reports invalid window size")
        }
        var offset = 2
        let stream = zlib.stream
        if input[1] & Wrapper.presetDictionaryFlag != 0 {
            guard input.count >= 6 else { throw .corrupt("compressed body is truncated") }
            guard !dictionary.bytes.isEmpty else { throw .corrupt("body needs a dictionary but dict is 0") }
            guard Wrapper.loadBigEndian(at: 2, in: input) == DictionaryID.of(dictionary) else {
                throw .corrupt("body was compressed with another dictionary")
            }
            let status = dictionary.bytes.withUnsafeBufferPointer {
                inflateSetDictionary(stream, $0.baseAddress, uInt($0.count))
            }
            guard status == Z_OK else { throw .zlib("inflateSetDictionary failed (\(status))") }
            offset = 6
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + offset)
        stream.pointee.avail_in = uInt(input.count - offset)
        // At most one byte past the limit is produced: enough to know the body is too large.
        let limit = maximumInflatedSize + 1
        var produced = 0
        while true {
            if produced == zlib.output.count {
                guard produced < limit else { throw .tooLarge(limit: maximumInflatedSize) }
                zlib.growOutput(to: min(limit, max(4096, zlib.output.count * 2)), keeping: produced)
            }
            let room = zlib.output.count - produced
            stream.pointee.next_out = zlib.output.baseAddress!.assumingMemoryBound(to: UInt8.self) + produced
            stream.pointee.avail_out = uInt(room)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            produced += room - Int(stream.pointee.avail_out)
            guard produced <= maximumInflatedSize else { throw .tooLarge(limit: maximumInflatedSize) }
            switch status {
            case Z_STREAM_END:
                let content = UnsafeRawBufferPointer(rebasing: zlib.output[0..<produced])
                let trailing = Int(stream.pointee.avail_in)
                guard trailing >= 4 else { throw .corrupt("compressed body is truncated") }
                let checksum = Wrapper.loadBigEndian(at: input.count - trailing, in: input)
                guard checksum == Wrapper.adler32(of: content) else {
                    throw .corrupt("zlib reports incorrect data check")
                }
                guard trailing == 4 else { throw .corrupt("trailing bytes after the compressed body") }
                return [UInt8](unsafeUninitializedCapacity: produced) { result, initialized in
                    if produced > 0 { UnsafeMutableRawBufferPointer(result).copyMemory(from: content) }
                    initialized = produced
                }
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                if stream.pointee.avail_in == 0 { throw .corrupt("compressed body is truncated") }
                continue
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? String(cString: zError(status))
                throw .corrupt("zlib reports \(reason)")
            }
        }
    }

    /// The RFC 1950 wrapper of a stored body.
    private enum Wrapper {
        /// `FDICT`: a preset dictionary's Adler-32 follows the two header bytes.
        static let presetDictionaryFlag: UInt8 = 0x20

        /// The two header bytes zlib writes at level 9 with a 32 KiB window: `CMF` = 0x78, `FLEVEL` = 3.
        static func header(presetDictionary: Bool) -> UInt16 {
            var header: UInt16 = (UInt16(Z_DEFLATED) + UInt16((ZlibStream.windowBits - 8) << 4)) << 8 | 3 << 6
            if presetDictionary { header |= UInt16(presetDictionaryFlag) }
            // As zlib computes FCHECK (it adds 31 when the remainder is already 0).
            return header + (31 - header % 31)
        }

        static func adler32(of bytes: UnsafeRawBufferPointer) -> UInt32 {
            let start = CZlib.adler32(0, nil, 0)
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return UInt32(start) }
            return UInt32(CZlib.adler32(start, base.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
        }

        static func storeBigEndian(_ value: UInt32, at offset: Int, in buffer: UnsafeMutableBufferPointer<UInt8>) {
            buffer[offset] = UInt8(truncatingIfNeeded: value >> 24)
            buffer[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
            buffer[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
            buffer[offset + 3] = UInt8(truncatingIfNeeded: value)
        }

        static func loadBigEndian(at offset: Int, in buffer: UnsafeBufferPointer<UInt8>) -> UInt32 {
            UInt32(buffer[offset]) << 24 | UInt32(buffer[offset + 1]) << 16 | UInt32(buffer[offset + 2]) << 8
                | UInt32(buffer[offset + 3])
        }
    }

    /// The Adler-32 of each shipped dictionary (the `DICTID` of RFC 1950), computed once.
    private enum DictionaryID {
        /// The identifier of every dictionary of this build, by version (versions are consecutive from 1).
        private static let known: [Int: UInt32] = {
            var known: [Int: UInt32] = [:]
            var version = 1
            while let dictionary = CompressionDictionary.version(version) {
                known[version] = compute(dictionary)
                version += 1
            }
            return known
        }()

        static func of(_ dictionary: CompressionDictionary) -> UInt32 {
            // Comparing with the shipped dictionary is O(1) when the bytes share its storage, as they do for
            // `.current` and `version(_:)`; other dictionaries (tests) are checksummed each time.
            if let id = known[dictionary.version], CompressionDictionary.version(dictionary.version) == dictionary {
                return id
            }
            return compute(dictionary)
        }

        private static func compute(_ dictionary: CompressionDictionary) -> UInt32 {
            dictionary.bytes.withUnsafeBytes { Wrapper.adler32(of: $0) }
        }
    }
}

/// A body that cannot be compressed or inflated.
public enum BodyCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// zlib refused an operation (out of memory, bad parameters).
    case zlib(String)
    /// The stored bytes are not a valid zlib stream for this dictionary.
    case corrupt(String)
    /// The body names a dictionary version this build does not have.
    case unknownDictionary(Int)
    /// The body inflates past the size limit.
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case .zlib(let message): "zlib error: \(message)"
        case .corrupt(let message): "corrupt body: \(message)"
        case .unknownDictionary(let version): "unknown compression dictionary version \(version)"
        case .tooLarge(let limit): "body inflates to more than \(limit) bytes"
        }
    }
}
