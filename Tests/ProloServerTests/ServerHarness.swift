import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ProloDomain
import ProloHTTPSync
import ProloPostgres
import ProloProjections
import ProloServer
import ProloStore
import ProloSync
import ProloTestSupport
import ServiceLifecycle
import Synchronization
import Testing

/// A logger that keeps test output readable: only errors from the server and the service group.
let quietLogger: Logger = {
    var logger = Logger(label: "prolo.tests.server")
    logger.logLevel = .error
    return logger
}()

/// A clinic server running for real on 127.0.0.1 (a free port), in its own service group.
///
/// Started with ``start(projected:key:configuration:)``; stopped with ``stop()``, which triggers the group's
/// graceful shutdown (never a task cancellation) and waits until the server has stopped.
final class TestServer: Sendable {
    let server: ClinicServer
    let port: Int
    /// `http://127.0.0.1:PORT`, no trailing slash.
    let baseURL: String
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    private init(server: ClinicServer, port: Int, group: ServiceGroup, running: Task<Void, any Error>) {
        self.server = server
        self.port = port
        self.baseURL = "http://127.0.0.1:\(port)"
        self.group = group
        self.running = running
    }

    /// Starts a server on `projected` (signing with `key`) and returns once it listens.
    static func start(
        projected: ProjectedStore, key: DeviceKey,
        configuration: ClinicServerConfiguration = ClinicServerConfiguration()
    ) async throws -> TestServer {
        try await start(
            log: SQLiteServerLog(projected: projected, storeWorkers: configuration.storeWorkers), key: key,
            configuration: configuration)
    }

    /// Starts a server on `log` (signing with `key`), with `services` (a PostgreSQL pool) run before it, and returns
    /// once it listens.
    static func start(
        log: any ServerLog, key: DeviceKey, configuration: ClinicServerConfiguration = ClinicServerConfiguration(),
        services: [any Service] = []
    ) async throws -> TestServer {
        var configuration = configuration
        configuration.host = "127.0.0.1"
        configuration.port = 0
        let server = ClinicServer(log: log, key: key, configuration: configuration, logger: quietLogger)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = try server.makeApplication { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: services + [application], logger: quietLogger))
        let running = Task {
            // If the server fails before it listens, the wait for the port below ends too.
            defer { portContinuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            await group.triggerGracefulShutdown()
            try await running.value
            throw HarnessError("the server stopped before it reported a bound port")
        }
        return TestServer(server: server, port: port, group: group, running: running)
    }

    /// Starts a server on a fixture device's store and key.
    static func start(
        device: ClinicFixture.Device, configuration: ClinicServerConfiguration = ClinicServerConfiguration()
    )
        async throws -> TestServer
    {
        try await start(projected: device.projected, key: device.key, configuration: configuration)
    }

    /// Gracefully shuts the server down and waits until it has stopped.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// The URL of a path on this server (`path` starts with `/`).
    func url(_ path: String) -> String { baseURL + path }
}

/// Runs `body` with a server on `device`'s store, and shuts the server down gracefully afterwards (also when
/// `body` throws).
func withServer<Result>(
    device: ClinicFixture.Device, configuration: ClinicServerConfiguration = ClinicServerConfiguration(),
    _ body: (TestServer) async throws -> Result
) async throws -> Result {
    try await run(try await TestServer.start(device: device, configuration: configuration), body)
}

/// Runs `body` with a server on `device`'s store in `backend`: the store itself, or the store moved up into a new
/// PostgreSQL database (skipped with the reason printed without one) served from a pool; `readOnly` as
/// `prolo serve --read-only`.
func withServer<Result>(
    _ backend: Backend, device: ClinicFixture.Device, readOnly: Bool = false,
    configuration: ClinicServerConfiguration = ClinicServerConfiguration(), _ body: (TestServer) async throws -> Result
) async throws -> Result {
    try await withServer(
        backend, projected: device.projected, key: device.key, readOnly: readOnly, configuration: configuration, body)
}

/// As ``withServer(_:device:readOnly:configuration:_:)``, for a store and the key of its device.
func withServer<Result>(
    _ backend: Backend, projected: ProjectedStore, key: DeviceKey, readOnly: Bool = false,
    configuration: ClinicServerConfiguration = ClinicServerConfiguration(), _ body: (TestServer) async throws -> Result
) async throws -> Result {
    switch backend {
    case .sqlite:
        let log = SQLiteServerLog(projected: projected, storeWorkers: configuration.storeWorkers, readOnly: readOnly)
        return try await run(try await TestServer.start(log: log, key: key, configuration: configuration), body)
    case .postgresql:
        return try await TestDatabase.with("the PostgreSQL-backed server is not tried") { url in
            _ = try await PostgresLog.with(url) { log throws(StoreError) in try await log.moveUp(from: projected.store) }
            let hub = try await PostgresHub.open(url, maximumConnections: 8, logger: quietLogger)
            let server = try await TestServer.start(
                log: PostgresServerLog(hub: hub, readOnly: readOnly), key: key, configuration: configuration,
                services: [hub.client])
            return try await run(server, body)
        }
    }
}

/// Runs `body` with `server` and stops the server afterwards, also when `body` throws.
private func run<Result>(_ server: TestServer, _ body: (TestServer) async throws -> Result) async throws -> Result {
    let result: Result
    do {
        result = try await body(server)
    } catch {
        try? await server.stop()
        throw error
    }
    try await server.stop()
    return result
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: Raw requests

/// A response as the wire carried it.
struct RawResponse: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]

    /// The body parsed as JSON, or `nil`.
    var json: JSONValue? { try? JSONParser.parse(body) }
    var text: String { String(decoding: body, as: UTF8.self) }
    /// `error.code` of a JSON error body.
    var errorCode: String? { json?["error"]?["code"]?.stringValue }
    /// `error.message` of a JSON error body.
    var errorMessage: String? { json?["error"]?["message"]?.stringValue }
    /// Whether the body is `{"error": {"code": STRING, "message": STRING}}`.
    var hasErrorBody: Bool { errorCode?.isEmpty == false && errorMessage?.isEmpty == false }
    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// Sends one request with AsyncHTTPClient's shared client and collects the whole response.
///
/// `token` becomes `Authorization: Bearer TOKEN`; `authorization` sets the header verbatim instead. A `chunked`
/// body is sent without a Content-Length. `headers` are added as they are.
func rawRequest(
    _ method: String, _ url: String, token: String? = nil, authorization: String? = nil, body: [UInt8]? = nil,
    contentType: String? = nil, chunked: Bool = false, headers: [String: String] = [:]
) async throws -> RawResponse {
    var request = HTTPClientRequest(url: url)
    request.method = HTTPMethod(rawValue: method)
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let authorization {
        request.headers.add(name: "Authorization", value: authorization)
    } else if let token {
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
    }
    if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
    if let body { request.body = chunked ? .bytes(body, length: .unknown) : .bytes(body) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let buffer = try await response.body.collect(upTo: 64 << 20)
    return RawResponse(
        status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
}

/// A JSON body's bytes.
func jsonBytes(_ object: [String: JSONValue]) -> [UInt8] { CanonicalJSON.encode(.object(object)) }

// MARK: Clinic data

/// A value that a `@Sendable` callback can update.
final class Box<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func get() -> Value { value.withLock { $0 } }
    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
    func update<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}
