public import Hummingbird
import HummingbirdTLS
public import Logging
import NIOCore
import NIOSSL
public import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import Foundation
import HTTPTypes
import HummingbirdCore

/// How `prolo serve` listens.
public struct ClinicServerConfiguration: Sendable {
    /// The interface to bind (loopback by default: put a clinic server on the network on purpose).
    public var host = "127.0.0.1"
    /// The port; 0 picks a free one (tests).
    public var port = 8787
    /// PEM certificate chain and private key for HTTPS; both or neither.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// The largest request body accepted (413 above it).
    public var maximumBodyBytes = 16 << 20
    /// The most record bytes in one pulled batch.
    public var batchBytes = 1 << 20
    /// The clinic's time zone, in which the web pages show times and count days (UTC by default).
    public var timeZone = TimeZone(secondsFromGMT: 0) ?? .current
    /// Where FHIR Bulk Data export jobs write their files, one subdirectory per job; `nil`: next to the store,
    /// `STORE.bulk-export/` (the store's directory holds patient data already, so its protection covers these). A
    /// server on a hub's database has no store file: `prolo serve --database` puts them beside the device's key file
    /// (`KEY.bulk-export/`); a library caller that names none gets a new directory of its own under the temporary
    /// directory, with a random name (made 0700, never one another user could have made first).
    public var bulkExportDirectory: String?
    /// How long a finished bulk export job's files stay for download before they are removed.
    public var bulkExportRetention: Duration = .seconds(3600)
    /// How many requests' store work (SQLite reads and appends) runs at once, on that many threads of the server's
    /// own for its whole life; the others wait their turn. The store has one writer and up to 8 readers.
    public var storeWorkers = 9

    public init() {}
}

/// The clinic server: the sync protocol, device enrollment and the read side of the projections over HTTP,
/// with bearer tokens whose scope decides what each caller may read and push (Schemas/openapi.yaml).
///
/// Every store call runs off the event loop; pushes go through the one verify-and-append path, one batch
/// per transaction, so a request cut off or a shutdown mid-batch never leaves half a batch.
public final class ClinicServer: Sendable {
    /// The log it serves: a SQLite store with its read models, or a clinic hub's PostgreSQL database.
    public let log: any ServerLog
    /// The server device's key (signs enrollments it records).
    public let key: DeviceKey
    public let configuration: ClinicServerConfiguration
    public let metrics = ServerMetrics()
    let logger: Logger
    /// The signed-in sessions of the web pages (in memory: a restart signs everyone out).
    let sessions = PageSessions()
    /// The FHIR Bulk Data export jobs (in memory; their files are removed on DELETE, after the retention, and, left
    /// over from an earlier run, at the first bulk request).
    let bulkJobs: BulkExportJobs
    /// The access log, written by group commit.
    let accessLog: AccessLogWriter

    /// A server of a SQLite store (``SQLiteServerLog``).
    public convenience init(projected: ProjectedStore, key: DeviceKey, configuration: ClinicServerConfiguration, logger: Logger) {
        self.init(
            log: SQLiteServerLog(projected: projected, storeWorkers: configuration.storeWorkers), key: key,
            configuration: configuration, logger: logger)
    }

    public init(log: any ServerLog, key: DeviceKey, configuration: ClinicServerConfiguration, logger: Logger) {
        self.log = log
        self.key = key
        self.configuration = configuration
        self.logger = logger
        self.bulkJobs = BulkExportJobs(
            root: configuration.bulkExportDirectory
                ?? log.readModels.map { $0.store.path + ".bulk-export" }
                ?? NSTemporaryDirectory() + "prolo-\(log.identity.storeID)-\(UUID().uuidString).bulk-export",
            retention: configuration.bulkExportRetention)
        self.accessLog = AccessLogWriter(log: log, logger: logger)
    }

    /// The routes, as registered (the OpenAPI test compares them with the document).
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("healthz") { _, _ in
            try self.json([
                "status": .string("ok"), "storeId": .string(self.log.identity.storeID),
                "backend": .string(self.log.backendName), "readOnly": .bool(self.log.isReadOnly),
            ])
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: self.metrics.render(gauges: self.gauges()))))
        }
        router.get("v1/server") { _, _ in try self.serverInfo() }
        router.post("v1/sync/summary") { request, context in await self.handle(request, context, route: "/v1/sync/summary", self.summary) }
        router.post("v1/sync/pull") { request, context in await self.handle(request, context, route: "/v1/sync/pull", self.pull) }
        router.post("v1/sync/push") { request, context in await self.handle(request, context, route: "/v1/sync/push", self.push) }
        router.get("v1/devices") { request, context in await self.handle(request, context, route: "/v1/devices", self.listDevices) }
        router.post("v1/devices") { request, context in await self.handle(request, context, route: "/v1/devices", self.enroll) }
        router.get("v1/patients/:patient") { request, context in
            await self.handle(request, context, route: "/v1/patients/{patient}", self.patient)
        }
        router.get("v1/alerts") { request, context in await self.handle(request, context, route: "/v1/alerts", self.alerts) }
        router.get("v1/fhir/Patient/:patient/$everything") { request, context in
            await self.handle(request, context, route: "/v1/fhir/Patient/{patient}/$everything", self.fhirEverything)
        }
        router.get("v1/fhir/$export") { request, context in
            await self.handle(request, context, route: "/v1/fhir/$export", self.bulkKickOff)
        }
        router.get("v1/fhir/$export/:job") { request, context in
            await self.handle(request, context, route: "/v1/fhir/$export/{job}", self.bulkStatus)
        }
        router.delete("v1/fhir/$export/:job") { request, context in
            await self.handle(request, context, route: "/v1/fhir/$export/{job}", self.bulkDelete)
        }
        router.get("v1/fhir/$export/:job/:file") { request, context in
            await self.handle(request, context, route: "/v1/fhir/$export/{job}/{file}", self.bulkFile)
        }
        // After every route, so both wrap only the not-found responder: the pages under /ui have a router of their
        // own (ClinicServer+Pages.swift), outside the JSON API that Schemas/openapi.yaml describes.
        router.add(middleware: PagesMiddleware(pages: makePagesRouter().buildResponder()))
        // Last, so it knows every route; it wraps the not-found responder, not the routes.
        router.add(
            middleware: MethodNotAllowedMiddleware(routes: router.routes.map { ($0.path.description, $0.method) }))
        return router
    }

    /// The Hummingbird application (HTTP, or HTTPS with a certificate and key).
    public func makeApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws
        -> some ApplicationProtocol
    {
        let server: HTTPServerBuilder
        if let certificate = configuration.tlsCertificatePath, let keyPath = configuration.tlsKeyPath {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            let privateKey = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
            server = try .tls(.http1(), tlsConfiguration: tls)
        } else {
            server = .http1()
        }
        return Application(
            router: makeRouter(), server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "prolo"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    // MARK: Handling

    /// Who is calling: their token and what it allows (its scope held to the enrolled device it is bound to).
    struct Caller: Sendable {
        let token: AccessToken
        let access: DeviceAccess
    }

    /// A refusal or failure, answered with a JSON error body.
    struct Refusal: Error {
        let status: HTTPResponse.Status
        let code: String
        let message: String
        /// The event a refusal is about, and its record's position in the pushed body (from 1), when it is one of
        /// the batch: what a device's sync can show beside the message (`Schemas/openapi.yaml`, `Error`).
        var event: EventID? = nil
        var record: Int? = nil
        var outcome: String {
            switch status.code {
            case 401: "unauthenticated"
            case 403: "forbidden"
            case 500...: "error"
            default: "refused"
            }
        }
    }

    /// What a handler returns: the response and what the access log should say.
    struct Handled {
        var response: Response
        var patient: String? = nil
        var purpose: String
    }

    private func handle(
        _ request: Request, _ context: BasicRequestContext, route: String,
        _ handler: @escaping @Sendable (Request, BasicRequestContext, Caller) async throws -> Handled
    ) async -> Response {
        var logger = context.logger
        logger[metadataKey: "route"] = .string(route)
        var record = AccessRecord(method: request.method.rawValue, route: route, status: 500, outcome: "error", requestID: context.id)
        let response: Response
        do {
            let (token, registry) = try await authenticate(request)
            record.record(token)
            logger[metadataKey: "device"] = .string(token.device)
            logger[metadataKey: "scope"] = .string(token.scope)
            let caller = try await authorize(token, in: registry)
            var context = context
            context.logger = logger
            let handled = try await handler(request, context, caller)
            record.record(handled)
            response = handled.response
        } catch let refusal as Refusal {
            record.status = Int(refusal.status.code)
            record.outcome = refusal.outcome
            logger.info("refused", metadata: ["status": "\(refusal.status.code)", "code": .string(refusal.code)])
            response = errorResponse(refusal)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            record.status = 413
            record.outcome = "refused"
            response = errorResponse(
                Refusal(status: .contentTooLarge, code: "too-large",
                    message: "the request body is larger than \(configuration.maximumBodyBytes) bytes; send smaller batches"))
        } catch {
            logger.error("request failed", metadata: ["error": "\(error)"])
            response = errorResponse(Refusal(status: .internalServerError, code: "internal", message: "internal error: \(error)"))
        }
        await finish(record, route: route)
        return response
    }

    /// The valid token the request presents (401 without one), and the registry read with it.
    private func authenticate(_ request: Request) async throws -> (AccessToken, DeviceRegistry) {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw Refusal(status: .unauthorized, code: "no-token", message: "send Authorization: Bearer TOKEN (prolo token issue)")
        }
        return try await authenticate(presented: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
    }

    /// The valid token whose secret is `text` (401 when it is unknown, revoked or expired), and the registry read
    /// with it (``ServerLog/credentials(presented:)``).
    func authenticate(presented text: String) async throws -> (AccessToken, DeviceRegistry) {
        let (found, registry) = try await log.credentials(presented: text)
        guard let token = found else {
            throw Refusal(status: .unauthorized, code: "bad-token", message: "the token is not one this server issued")
        }
        if token.revokedAt != nil {
            throw Refusal(status: .unauthorized, code: "revoked-token", message: "token \(token.id) was revoked")
        }
        guard token.isValid(at: .now()) else {
            throw Refusal(status: .unauthorized, code: "expired-token", message: "token \(token.id) has expired")
        }
        return (token, registry)
    }

    /// What `token` allows, as ``DeviceAccess`` decides from its scope and the enrolled device it is bound to: a
    /// token bound to no single device or with an unknown scope is refused (401); one whose device was revoked,
    /// or whose scope no longer fits its device, is forbidden (403). Against `registry` when the token was read with
    /// it, else the log's.
    func authorize(_ token: AccessToken, in known: DeviceRegistry? = nil) async throws -> Caller {
        let registry = if let known { known } else { try await log.registry() }
        do throws(AccessError) {
            return Caller(token: token, access: try DeviceAccess(token: token, registry: registry))
        } catch {
            switch error.code {
            case .unboundToken, .malformedScope:
                throw Refusal(status: .unauthorized, code: "bad-token", message: error.message)
            default:
                // The token is genuine, but its device may no longer use it (revoked, or not the scope's device).
                throw Refusal(status: .forbidden, code: error.code.rawValue, message: error.message)
            }
        }
    }

    func json(_ object: [String: JSONValue], status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(.object(object)))))
    }

    func errorResponse(_ refusal: Refusal) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if refusal.status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"prolo\"" }
        var error: [String: JSONValue] = ["code": .string(refusal.code), "message": .string(refusal.message)]
        if let event = refusal.event { error["event"] = .string(event.text) }
        if let record = refusal.record { error["record"] = .int(Int64(record)) }
        let body = CanonicalJSON.encode(.object(["error": .object(error)]))
        return Response(status: refusal.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The request body, refused above `limit` (by default the configured limit).
    func body(of request: Request, limit: Int? = nil) async throws -> [UInt8] {
        let limit = limit ?? configuration.maximumBodyBytes
        let tooLarge = Refusal(
            status: .contentTooLarge, code: "too-large",
            message: "the request body is larger than \(limit) bytes; send smaller batches")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw tooLarge
        }
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }

    /// The request body as a JSON object.
    func jsonBody(of request: Request) async throws -> JSONValue {
        let bytes = try await body(of: request)
        guard let value = try? JSONParser.parse(bytes), value.objectValue != nil else {
            throw Refusal(status: .badRequest, code: "malformed", message: "the body must be a JSON object")
        }
        return value
    }

    private func serverInfo() throws -> Response {
        let identity = log.identity
        return try json([
            "storeId": .string(identity.storeID), "deviceName": .string(identity.deviceName),
            "publicKey": .string(identity.publicKey.base64), "origin": .string(identity.origin.text),
            "root": .string(identity.rootPublicKey.base64),
            "bundleKey": .string((try? key.agreementPublicKeyBase64()) ?? ""),
        ])
    }
}
