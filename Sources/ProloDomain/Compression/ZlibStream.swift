internal import CZlib
import Synchronization

/// A reusable zlib stream: allocating a deflate state costs more than compressing a small event, so streams
/// are reset and reused through a pool rather than made per body.
///
/// `@unchecked Sendable` is sound: a stream is used by one thread at a time — it is only reachable by the
/// thread that took it out of ``ZlibStreamPool`` until it is put back, and the pool's mutex orders the
/// hand-over. The `z_stream` lives at a fixed heap address because zlib's internal state points back to it.
final class ZlibStream: @unchecked Sendable {
    enum Kind { case deflate, inflate }

    let kind: Kind
    let stream: UnsafeMutablePointer<z_stream>

    init?(_ kind: Kind) {
        self.kind = kind
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status =
            switch kind {
            case .deflate: prolo_deflate_init(stream, Z_BEST_COMPRESSION, 8)
            case .inflate: prolo_inflate_init(stream)
            }
        guard status == Z_OK else {
            stream.deallocate()
            return nil
        }
    }

    deinit {
        switch kind {
        case .deflate: deflateEnd(stream)
        case .inflate: inflateEnd(stream)
        }
        stream.deallocate()
    }

    /// Clears the stream for the next body.
    func reset() -> Bool {
        switch kind {
        case .deflate: deflateReset(stream) == Z_OK
        case .inflate: inflateReset(stream) == Z_OK
        }
    }
}

/// Idle zlib streams, shared by all threads.
enum ZlibStreamPool {
    private static let idle = Mutex<(deflate: [ZlibStream], inflate: [ZlibStream])>(([], []))
    /// Streams kept idle per kind; more are freed when returned.
    private static let capacity = 16

    /// Runs `body` with a reset stream of the given kind, returning it to the pool afterwards.
    static func with<Result>(
        _ kind: ZlibStream.Kind, _ body: (UnsafeMutablePointer<z_stream>) throws(BodyCodecError) -> Result
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
            idle.withLock { pools in
                switch kind {
                case .deflate: if pools.deflate.count < capacity { pools.deflate.append(stream) }
                case .inflate: if pools.inflate.count < capacity { pools.inflate.append(stream) }
                }
            }
        }
        return try body(stream.stream)
    }
}
