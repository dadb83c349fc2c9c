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
        try ZlibStreamPool.with(.deflate) { stream throws(BodyCodecError) -> [UInt8] in
            if !dictionary.bytes.isEmpty {
                let status = dictionary.bytes.withUnsafeBufferPointer {
                    deflateSetDictionary(stream, $0.baseAddress, uInt($0.count))
                }
                guard status == Z_OK else { throw .zlib("deflateSetDictionary failed (\(status))") }
            }
            var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(input.count))) + 16)
            var mutableInput = input
            let status = mutableInput.withUnsafeMutableBufferPointer { inputBuffer in
                output.withUnsafeMutableBufferPointer { outputBuffer in
                    stream.pointee.next_in = inputBuffer.baseAddress
                    stream.pointee.avail_in = uInt(inputBuffer.count)
                    stream.pointee.next_out = outputBuffer.baseAddress
                    stream.pointee.avail_out = uInt(outputBuffer.count)
                    return deflate(stream, Z_FINISH)
                }
            }
            guard status == Z_STREAM_END else { throw .zlib("deflate did not finish (\(status))") }
            output.removeSubrange(Int(stream.pointee.total_out)...)
            return output
        }
    }

    /// Inflates a stored body with the dictionary of the given version.
    public static func decompress(_ input: [UInt8], dictionaryVersion: Int) throws(BodyCodecError) -> [UInt8] {
        guard let dictionary = CompressionDictionary.version(dictionaryVersion) else {
            throw .unknownDictionary(dictionaryVersion)
        }
        return try ZlibStreamPool.with(.inflate) { stream throws(BodyCodecError) -> [UInt8] in
            try inflate(input, dictionary: dictionary, stream: stream)
        }
    }

    private static func inflate(
        _ input: [UInt8], dictionary: CompressionDictionary, stream: UnsafeMutablePointer<z_stream>
    ) throws(BodyCodecError) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(max(256, input.count * 6))
        var chunk = [UInt8](repeating: 0, count: 16_384)
        var mutableInput = input
        return try mutableInput.withUnsafeMutableBufferPointer { inputBuffer throws(BodyCodecError) -> [UInt8] in
            stream.pointee.next_in = inputBuffer.baseAddress
            stream.pointee.avail_in = uInt(inputBuffer.count)
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { chunkBuffer in
                    stream.pointee.next_out = chunkBuffer.baseAddress
                    stream.pointee.avail_out = uInt(chunkBuffer.count)
                    return CZlib.inflate(stream, Z_NO_FLUSH)
                }
                var result = status
                if status == Z_NEED_DICT {
                    guard !dictionary.bytes.isEmpty else { throw .corrupt("body needs a dictionary but dict is 0") }
                    result = dictionary.bytes.withUnsafeBufferPointer {
                        inflateSetDictionary(stream, $0.baseAddress, uInt($0.count))
                    }
                    guard result == Z_OK else { throw .corrupt("body was compressed with another dictionary") }
                }
                let produced = chunk.count - Int(stream.pointee.avail_out)
                output.append(contentsOf: chunk[0..<produced])
                guard output.count <= maximumInflatedSize else {
                    throw .tooLarge(limit: maximumInflatedSize)
                }
                switch result {
                case Z_STREAM_END:
                    guard stream.pointee.avail_in == 0 else { throw .corrupt("trailing bytes after the compressed body") }
                    return output
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    if stream.pointee.avail_in == 0 { throw .corrupt("compressed body is truncated") }
                    continue
                default:
                    let reason = stream.pointee.msg.map { String(cString: $0) } ?? String(cString: zError(result))
                    throw .corrupt("zlib reports \(reason)")
                }
            }
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
