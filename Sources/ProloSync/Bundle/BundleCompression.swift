internal import CZlib

/// zlib (RFC 1950) compression of one block's framed records.
enum BundleCompression {
    /// The zlib level blocks are written with: records are mostly already-compressed event bodies, so the
    /// default level gains almost as much as the best one at a fraction of the time.
    static let level: Int32 = Z_DEFAULT_COMPRESSION
    /// The level an HTTP batch is written with, answered while the device waits: on 300 events of the clinical mix,
    /// level 1 wrote 3.5 % more bytes than the default in two thirds of the time (a server's pulls spent 8 % of its
    /// time in `deflate` under 200 devices).
    static let fastLevel: Int32 = 1

    /// Compresses `raw` at `level`, or returns nil when zlib fails (out of memory).
    static func compress(_ raw: [UInt8], level: Int32 = level) -> [UInt8]? {
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
    ///
    /// The output grows with what the stream actually produces (from at most 64 KiB, doubling, never past
    /// `rawCount`), so a few bytes that merely *declare* a large `rawCount` cost no more memory than they inflate
    /// to (a fuzzing finding: a 10-byte batch declaring 64 MiB used to allocate 64 MiB before failing).
    static func decompress(_ compressed: [UInt8], rawCount: Int) -> [UInt8]? {
        guard rawCount >= 0 else { return nil }
        // At a fixed address: zlib's state points back to its stream and checks it on every call.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }
        guard prolo_inflate_init(stream) == Z_OK else { return nil }
        defer { inflateEnd(stream) }
        // One spare byte: a stream that inflates to more than `rawCount` then fails instead of fitting exactly.
        let limit = rawCount + 1
        var output = [UInt8](repeating: 0, count: min(limit, 64 << 10))
        var produced = 0
        return compressed.withUnsafeBufferPointer { input -> [UInt8]? in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.pointee.avail_in = uInt(input.count)
            while true {
                if produced == output.count {
                    guard output.count < limit else { return nil }
                    output.append(contentsOf: repeatElement(0, count: min(limit, output.count * 2) - output.count))
                }
                let room = output.count - produced
                let status = output.withUnsafeMutableBufferPointer { buffer in
                    stream.pointee.next_out = buffer.baseAddress! + produced
                    stream.pointee.avail_out = uInt(room)
                    return inflate(stream, Z_NO_FLUSH)
                }
                produced += room - Int(stream.pointee.avail_out)
                switch status {
                case Z_STREAM_END:
                    guard produced == rawCount, stream.pointee.avail_in == 0 else { return nil }
                    output.removeSubrange(produced...)
                    return output
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.pointee.avail_out == 0:
                    continue  // more room needed; the loop grows the output or refuses
                default:
                    return nil  // damaged, cut off (no input left), or a dictionary this format never uses
                }
            }
        }
    }
}
