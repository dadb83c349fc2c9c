internal import CZlib

/// zlib (RFC 1950) compression of one block's framed records.
enum BundleCompression {
    /// The zlib level blocks are written with: records are mostly already-compressed event bodies, so the
    /// default level gains almost as much as the best one at a fraction of the time.
    static let level: Int32 = Z_DEFAULT_COMPRESSION

    /// Compresses `raw`, or returns nil when zlib fails (out of memory).
    static func compress(_ raw: [UInt8]) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: Int(compressBound(uLong(raw.count))))
        var outputCount = uLongf(output.count)
        let status = output.withUnsafeMutableBufferPointer { outputBuffer in
            raw.withUnsafeBufferPointer { inputBuffer in
                compress2(
                    outputBuffer.baseAddress, &outputCount, inputBuffer.baseAddress, uLong(inputBuffer.count), level)
            }
        }
        guard status == Z_OK else { return nil }
        output.removeSubrange(Int(outputCount)...)
        return output
    }

    /// Inflates `compressed`, which must hold exactly one zlib stream of exactly `rawCount` bytes; nil otherwise.
    static func decompress(_ compressed: [UInt8], rawCount: Int) -> [UInt8]? {
        // One spare byte: a stream that inflates to more than `rawCount` then fails instead of fitting exactly.
        var output = [UInt8](repeating: 0, count: rawCount + 1)
        var outputCount = uLongf(output.count)
        var inputCount = uLong(compressed.count)
        let status = output.withUnsafeMutableBufferPointer { outputBuffer in
            compressed.withUnsafeBufferPointer { inputBuffer in
                uncompress2(outputBuffer.baseAddress, &outputCount, inputBuffer.baseAddress, &inputCount)
            }
        }
        guard status == Z_OK, Int(outputCount) == rawCount, Int(inputCount) == compressed.count else { return nil }
        output.removeLast()
        return output
    }
}
