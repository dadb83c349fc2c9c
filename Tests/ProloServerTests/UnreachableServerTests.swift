import Foundation
import ProloDomain
import ProloHTTPSync
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("A server that cannot be reached")
struct UnreachableServerTests {
    /// A loopback port with nothing listening, and the socket bound to it (never listening), which stays open until
    /// the caller closes it: a port closed at once could be taken meanwhile by a server another test starts on port 0.
    private static func closedPort() throws -> (port: Int, descriptor: Int32) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
            }
        }
        if !bound { close(descriptor) }
        try #require(bound)
        return (Int(UInt16(bigEndian: address.sin_port)), descriptor)
    }

    @Test("a refused connection fails the sync in seconds, as an I/O error naming the server and the cause, and changes nothing")
    func refused() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let laptop = try clinic.addDevice("laptop", role: .clinic)
            let before = try laptop.store.versionVector()
            let closed = try Self.closedPort()
            defer { close(closed.descriptor) }
            let server = "http://127.0.0.1:\(closed.port)"
            var client = HTTPSyncClient(server: server, token: "not-a-token", store: laptop.store)
            client.attempts = 2
            client.initialBackoff = .milliseconds(10)
            let error = await #expect(throws: SyncError.self) { try await client.sync() }
            #expect(error?.code == .ioError)
            #expect(error?.message.contains("cannot reach \(server): Connection refused") == true, "\(String(describing: error))")
            #expect(error?.message.contains("gave up after 2 attempts") == true)
            #expect(try laptop.store.versionVector() == before)
        }
    }
}
