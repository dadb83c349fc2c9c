internal import CZlib
import Synchronization

/// A reusable raw-deflate stream: allocating a deflate state costs more than compressing a small event, so
/// streams are reset and reused through a pool rather than made per body.
///
/// The streams are raw (no zlib header or trailer): ``BodyCodec`` writes and checks the RFC 1950 wrapper
/// itself, so that the preset dictionary's Adler-32 is computed once per process instead of once per body.
///
/// `@unchecked Sendable` is sound: a stream (and its ``output`` buffer) is used by one thread at a time — it
/// is only reachable by the thread that took it out of ``ZlibStreamPool`` until it is put back, and the pool's
/// mutex orders the hand-over. The `z_stream` lives at a fixed heap address because zlib's internal state
/// points back to it.
final class ZlibStream: @unchecked Sendable {
    enum Kind { case deflate, inflate }

    /// The window size (log2) of every Prolo body: zlib's maximum, as the stored headers declare (`CINFO` = 7).
    static let windowBits: Int32 = 15
    /// zlib's default memory level; it decides the hash table size, so compressed bytes depend on it.
    static let memoryLevel: Int32 = 8

    let kind: Kind
    let stream: UnsafeMutablePointer<z_stream>
    /// Scratch space an inflate writes into before the result is copied out at its exact size; kept between
    /// uses so that reading a body allocates only its result.
    private(set) var output: UnsafeMutableRawBufferPointer

    /// Scratch kept while idle; a larger one (grown for an unusually large body) is freed when the stream is returned.
    private static let keptOutputSize = 16 * 1024

    init?(_ kind: Kind) {
        self.kind = kind
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let version = zlibVersion()
        let size = Int32(MemoryLayout<z_stream>.size)
        // Negative window bits select raw deflate (RFC 1951) with a 2^15-byte window.
        let status =
            switch kind {
            case .deflate:
                deflateInit2_(
                    stream, Z_BEST_COMPRESSION, Z_DEFLATED, -Self.windowBits, Self.memoryLevel, Z_DEFAULT_STRATEGY,
                    version, size)
            case .inflate: inflateInit2_(stream, -Self.windowBits, version, size)
            }
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            return nil
        }
        output = .allocate(byteCount: kind == .inflate ? Self.keptOutputSize : 0, alignment: 1)
    }

    deinit {
        switch kind {
        case .deflate: deflateEnd(stream)
        case .inflate: inflateEnd(stream)
        }
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Clears the stream for the next body.
    func reset() -> Bool {
        switch kind {
        case .deflate: deflateReset(stream) == Z_OK
        case .inflate: inflateReset(stream) == Z_OK
        }
    }

    /// Frees scratch space grown past the size kept while idle.
    func trimOutput() {
        guard output.count > Self.keptOutputSize else { return }
        output.deallocate()
        output = .allocate(byteCount: Self.keptOutputSize, alignment: 1)
    }

    /// Grows ``output`` to at least `byteCount` bytes, keeping the first `keeping` bytes.
    func growOutput(to byteCount: Int, keeping: Int) {
        guard byteCount > output.count else { return }
        let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 1)
        if keeping > 0, let source = output.baseAddress {
            grown.baseAddress!.copyMemory(from: source, byteCount: keeping)
        }
        output.deallocate()
        output = grown
    }
}

/// Idle zlib streams, shared by all threads.
enum ZlibStreamPool {
    private static let idle = Mutex<(deflate: [ZlibStream], inflate: [ZlibStream])>(([], []))
    /// Streams kept idle per kind; more are freed when returned.
    private static let capacity = 16

    /// Runs `body` with a reset stream of the given kind, returning it to the pool afterwards.
    static func with<Result>(
        _ kind: ZlibStream.Kind, _ body: (ZlibStream) throws(BodyCodecError) -> Result
    ) throws(BodyCodecError) -> Result {
        let reused = idle.withLock { pools -> ZlibStream? in
            switch kind {
            case .deflate: pools.deflate.popLast()
            case .inflate: pools.inflate.popLast()
            }
        }
        guard let stream = reused ?? ZlibStream(kind) else { throw .zlib("cannot initialise a zlib stream") }
        guard stream.reset() else { throw .zlib("cannot reset a zlib stream") }
        defer {
            stream.trimOutput()
            idle.withLock { pools in
                switch kind {
                case .deflate: if pools.deflate.count < capacity { pools.deflate.append(stream) }
                case .inflate: if pools.inflate.count < capacity { pools.inflate.append(stream) }
                }
            }
        }
        return try body(stream)
    }
}
