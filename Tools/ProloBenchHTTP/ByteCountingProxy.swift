// A TCP proxy on 127.0.0.1 that forwards to a server and counts the HTTP/1.1 bytes crossing it, split into
// message heads (request/status line and headers, chunk framing) and bodies, each way.
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What crossed the proxy, in bytes.
struct WireCounts: Sendable {
    var requests = 0
    var requestHeads = 0
    var requestBodies = 0
    var responses = 0
    var responseHeads = 0
    var responseBodies = 0

    var bodies: Int { requestBodies + responseBodies }
    var total: Int { requestHeads + requestBodies + responseHeads + responseBodies }

    static func - (after: WireCounts, before: WireCounts) -> WireCounts {
        WireCounts(
            requests: after.requests - before.requests, requestHeads: after.requestHeads - before.requestHeads,
            requestBodies: after.requestBodies - before.requestBodies, responses: after.responses - before.responses,
            responseHeads: after.responseHeads - before.responseHeads,
            responseBodies: after.responseBodies - before.responseBodies)
    }
}

/// Forwards every connection to `127.0.0.1:target` with blocking sockets (two threads per connection) and
/// counts the HTTP framing it sees. Clients point at ``url`` instead of the server; the server is untouched.
final class ByteCountingProxy: Sendable {
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }
    private let listener: Int32
    private let counts = Mutex(WireCounts())

    init(target: Int) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw BenchError("proxy: socket() failed: errno \(errno)") }
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 256) == 0 else {
            throw BenchError("proxy: bind/listen failed: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    return  // closed by stop()
                }
                self.serve(client, target: target)
            }
        }
    }

    /// What crossed the proxy so far.
    var snapshot: WireCounts { counts.withLock { $0 } }

    /// Stops accepting connections (open ones end when either side closes).
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve(_ client: Int32, target: Int) {
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: target)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard server >= 0, connected == 0 else {
            close(client)
            if server >= 0 { close(server) }
            return
        }
        for descriptor in [client, server] {
            var one: Int32 = 1
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let finished = Mutex(0)
        let done: @Sendable () -> Void = {
            if finished.withLock({
                $0 += 1
                return $0
            }) == 2 {
                close(client)
                close(server)
            }
        }
        Thread.detachNewThread { [self] in
            pump(from: client, to: server, framer: HTTPFramer(isRequest: true))
            done()
        }
        Thread.detachNewThread { [self] in
            pump(from: server, to: client, framer: HTTPFramer(isRequest: false))
            done()
        }
    }

    private func pump(from source: Int32, to destination: Int32, framer: HTTPFramer) {
        var framer = framer
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let received = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if received < 0, errno == EINTR { continue }
            if received <= 0 { break }
            let chunk = buffer[0..<received]
            let seen = framer.consume(chunk)
            counts.withLock { counts in
                if framer.isRequest {
                    counts.requests += seen.messages
                    counts.requestHeads += seen.heads
                    counts.requestBodies += seen.bodies
                } else {
                    counts.responses += seen.messages
                    counts.responseHeads += seen.heads
                    counts.responseBodies += seen.bodies
                }
            }
            var offset = 0
            while offset < received {
                let sent = chunk.withUnsafeBytes {
                    send(destination, $0.baseAddress! + offset, received - offset, Int32(MSG_NOSIGNAL))
                }
                if sent < 0, errno == EINTR { continue }
                if sent <= 0 { break }
                offset += sent
            }
            if offset < received { break }
        }
        shutdown(destination, Int32(SHUT_WR))
        shutdown(source, Int32(SHUT_RD))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// Splits one direction of an HTTP/1.1 connection into message heads and bodies (Content-Length or chunked).
struct HTTPFramer {
    struct Seen {
        var messages = 0
        var heads = 0
        var bodies = 0
    }

    private enum State {
        case head
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd(remaining: Int)  // the CRLF after a chunk's data
        case trailers
    }

    let isRequest: Bool
    private var state = State.head
    private var line: [UInt8] = []  // the head (or chunk line) read so far

    init(isRequest: Bool) { self.isRequest = isRequest }

    mutating func consume(_ bytes: ArraySlice<UInt8>) -> Seen {
        var seen = Seen()
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch state {
            case .head:
                line.append(bytes[index])
                seen.heads += 1
                index += 1
                if line.count >= 4, line.suffix(4).elementsEqual([13, 10, 13, 10]) {
                    seen.messages += 1
                    state = bodyState(afterHead: line)
                    line.removeAll(keepingCapacity: true)
                }
            case .body(let remaining):
                let take = min(remaining, bytes.endIndex - index)
                seen.bodies += take
                index += take
                state = remaining - take == 0 ? .head : .body(remaining: remaining - take)
            case .chunkSize, .trailers:
                line.append(bytes[index])
                seen.heads += 1
                index += 1
                guard line.suffix(2).elementsEqual([13, 10]) else { continue }
                let text = String(decoding: line.dropLast(2), as: UTF8.self)
                line.removeAll(keepingCapacity: true)
                if case .trailers = state {
                    if text.isEmpty { state = .head }
                    continue
                }
                let size = Int(text.split(separator: ";").first.map(String.init) ?? "", radix: 16) ?? 0
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let take = min(remaining, bytes.endIndex - index)
                seen.bodies += take
                index += take
                state = remaining - take == 0 ? .chunkEnd(remaining: 2) : .chunkData(remaining: remaining - take)
            case .chunkEnd(let remaining):
                seen.heads += 1
                index += 1
                state = remaining == 1 ? .chunkSize : .chunkEnd(remaining: remaining - 1)
            }
        }
        if case .body(0) = state { state = .head }
        return seen
    }

    private func bodyState(afterHead head: [UInt8]) -> State {
        let lines = String(decoding: head, as: UTF8.self).lowercased().split(separator: "\r\n")
        if !isRequest, let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }),
            status < 200 || status == 204 || status == 304
        {
            return .head
        }
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0] == "transfer-encoding", parts[1].contains("chunked") { return .chunkSize }
            if parts[0] == "content-length", let length = Int(parts[1]) {
                return length > 0 ? .body(remaining: length) : .head
            }
        }
        return .head
    }
}
