public import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import ProloDomain
public import ProloStore
public import ProloSync

/// Syncs a store with a clinic server over HTTP: the client side of the sync protocol (Schemas/openapi.yaml).
///
/// One ``sync(progress:)`` sends the vector's digest (one small request when in sync), pulls byte-bounded
/// batches until nothing is missing — each appended in its own transaction with the server's checkpoint —
/// then pushes what the server is missing. Every request is retried with exponential backoff on network
/// errors and 5xx; each step is idempotent, so an interrupted sync resumes where it stopped (at most one
/// batch is sent again) and never duplicates anything.
public struct HTTPSyncClient: Sendable {
    /// What a sync is doing, for a progress line.
    public struct Progress: Sendable {
        public var pulled = 0
        public var pushed = 0
    }

    public let server: String
    public let token: String
    public let store: EventStore
    public let http: HTTPClient
    public var batchBytes = 1 << 20
    /// Attempts per request before giving up (network errors and 5xx only).
    public var attempts = 6
    /// The first backoff delay; it doubles each attempt.
    public var initialBackoff: Duration = .milliseconds(200)
    public var logger = Logger(label: "prolo.sync")

    public init(server: String, token: String, store: EventStore, http: HTTPClient = HTTPSyncClient.sharedHTTPClient) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.token = token
        self.store = store
        self.http = http
    }

    /// The process-wide client every sync uses unless given another: like `HTTPClient.shared`, but a connection
    /// attempt gives up after 3 s. The shared client's pool keeps retrying a refused connection until its connect
    /// timeout, so a sync against a server that is down spent minutes per attempt; with this it fails each attempt
    /// in seconds and the backoff in `send` decides how long to keep trying. Never shut down, like the shared one.
    public static let sharedHTTPClient = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(timeout: .init(connect: .seconds(3), read: .seconds(120))))

    /// Pulls and pushes until both sides hold the same events (within this device's scope).
    ///
    /// What this store asks for and sends is decided by ``DeviceAccess`` from its identity; the server decides
    /// what the token allows. When the server grants only a patient's slice and this store cannot hold it (a
    /// store created without `--patient` used as a home device, or a home store of another patient), the sync
    /// fails with ``SyncError/Code/outOfScope`` before anything is pulled, appended or pushed.
    @discardableResult
    public func sync(progress: @Sendable (Progress) -> Void = { _ in }) async throws(SyncError) -> SyncReport {
        let identity = store.identity
        let access = DeviceAccess(store: identity)
        let localVector = try storeCall { try store.versionVector() }
        let localHeads = try storeCall { try store.chainHeads(at: localVector) }
        let local = SyncHello(
            storeID: identity.storeID, root: identity.rootPublicKey, device: identity.publicKey,
            scope: access.syncScope, vector: localVector, heads: localHeads)
        var session = SyncSession(local: local)
        _ = session.start()
        let summary = try await postJSON(
            "/v1/sync/summary", ["vectorDigest": .string(SyncWire.digest(of: localVector, heads: localHeads))])
        if summary["inSync"] == .bool(true) { return SyncReport() }
        let remote = try hello(from: summary)
        do throws(AccessError) {
            // The server is a clinic device: a slice from it holds other devices' chains with gaps.
            try access.checkReceiving(slice: remote.scope.patient, from: .clinic)
        } catch {
            throw SyncError(error)
        }
        var pending: [SyncSession.Action] = []
        for action in session.receive(.hello(remote)) {
            if case .fail(let error) = action { throw error }
            pending.append(action)
        }
        var counts = Progress()
        // What the server sent us: it holds each origin up to there (chains are gapless), so none of it is pushed
        // back, although the summary's vector (taken before the pulls) may not show what arrived since.
        var pulled = VersionVector()
        // A branch the server sends because our head differs from its event there may span several batches whose
        // first ones change nothing here; the vector alone then pulls the rest (each batch advances it), and the
        // push below shows the server the fork, which the next sync brings back as its evidence.
        var sendHeads = true
        // Pull until the server has nothing more for us.
        while true {
            let vector = try storeCall { try store.versionVector() }
            let heads = sendHeads ? try storeCall { try store.chainHeads(at: vector) } : ChainHeads()
            let (records, more) = try await pull(vector, heads: heads)
            for action in session.receive(.events(records, last: !more)) {
                switch action {
                case .append(let events, let checkpoint):
                    let outcome = try storeCall { try store.append(events, checkpoint: checkpoint) }
                    if outcome.appended.isEmpty && outcome.forks.isEmpty && outcome.quarantined.isEmpty {
                        sendHeads = false
                    }
                    for event in events { pulled.advance(event.origin.text, to: event.originSeq) }
                    session.appended(outcome)
                    counts.pulled += events.count
                    progress(counts)
                case .fail(let error): throw error
                default: continue
                }
            }
            if !more { break }
        }
        // Push what the server is missing.
        for case .sendMissing(var serverVector, var serverHeads, _) in pending {
            for (origin, seq) in pulled.heads where seq > serverVector[origin] {
                // Its head hash names the position the summary had, not this one.
                serverVector.advance(origin, to: seq)
                serverHeads.hashes[origin] = nil
            }
            let sent = try await pushMissing(from: serverVector, heads: serverHeads, access: access) { pushed in
                counts.pushed = pushed
                progress(counts)
            }
            _ = session.sentAll(count: sent)
        }
        return session.report
    }

    private func hello(from summary: JSONValue) throws(SyncError) -> SyncHello {
        guard let storeID = summary["storeId"]?.stringValue, let rootText = summary["root"]?.stringValue,
            let deviceText = summary["device"]?.stringValue, let scopeText = summary["scope"]?.stringValue,
            let root = try? DevicePublicKey(base64: rootText), let device = try? DevicePublicKey(base64: deviceText),
            let vectorValue = summary["vector"], let vector = try? VersionVector(json: CanonicalJSON.encode(vectorValue))
        else { throw SyncError(.malformed, "the server's summary is missing its store id, root, scope or vector") }
        // An older server sends no heads: it is served by the vector alone, as before.
        var heads = ChainHeads()
        if let value = summary["heads"] {
            guard let parsed = try? ChainHeads(json: value) else {
                throw SyncError(.malformed, "the server's summary has malformed chain heads")
            }
            heads = parsed
        }
        return SyncHello(
            storeID: storeID, root: root, device: device, scope: try SyncScope(text: scopeText), vector: vector,
            heads: heads)
    }

    private func pull(_ vector: VersionVector, heads: ChainHeads) async throws(SyncError) -> ([[UInt8]], Bool) {
        var members: [String: JSONValue] = ["vector": vector.jsonValue, "maxBytes": .int(Int64(batchBytes))]
        if !heads.isEmpty { members["heads"] = heads.jsonValue }
        let body = CanonicalJSON.encode(.object(members))
        let (bytes, headers) = try await send("/v1/sync/pull", body: body, contentType: "application/json")
        return (try SyncWire.decodeBatch(bytes), headers.first(name: "Prolo-More") == "true")
    }

    private func pushMissing(
        from serverVector: VersionVector, heads: ChainHeads, access: DeviceAccess, progress: (Int) -> Void
    ) async throws(SyncError) -> Int {
        // A home device sends only what it may push (what it wrote); anything else it holds came from the clinic.
        var batches: [[[UInt8]]] = []
        var cutter = BatchCutter(maximumBytes: batchBytes)
        try storeCall {
            try store.scanMissing(from: serverVector, heads: heads) { stored throws(StoreError) in
                guard access.mayPush(stored.event) else { return true }
                if let full = cutter.add(EventWireCodec.encode(stored.event)) { batches.append(full) }
                return true
            }
        }
        if let last = cutter.flush() { batches.append(last) }
        var sent = 0
        for batch in batches {
            let (bytes, _) = try await send("/v1/sync/push", body: try SyncWire.encodeBatch(batch), contentType: SyncWire.batchContentType)
            let answer = try? JSONParser.parse(bytes)
            if case .array(let quarantined)? = answer?["quarantined"], !quarantined.isEmpty {
                logger.warning("the server quarantined \(quarantined.count) pushed events", metadata: ["first": "\(quarantined[0])"])
            }
            sent += batch.count
            progress(sent)
        }
        return sent
    }

    // MARK: HTTP

    private func postJSON(_ path: String, _ object: [String: JSONValue]) async throws(SyncError) -> JSONValue {
        let (bytes, _) = try await send(path, body: CanonicalJSON.encode(.object(object)), contentType: "application/json")
        guard let value = try? JSONParser.parse(bytes) else { throw SyncError(.malformed, "\(path): the server's answer is not JSON") }
        return value
    }

    /// POSTs `body`, retrying network errors and 5xx with backoff; a 4xx is final and its JSON error is reported.
    private func send(_ path: String, body: [UInt8], contentType: String) async throws(SyncError) -> ([UInt8], HTTPHeaders) {
        var delay = initialBackoff
        var lastProblem = ""
        for attempt in 1...max(1, attempts) {
            var request = HTTPClientRequest(url: server + path)
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(body)
            do {
                let response = try await http.execute(request, timeout: .seconds(120))
                let buffer = try await response.body.collect(upTo: 256 << 20)
                let bytes = Array(buffer.readableBytesView)
                switch response.status.code {
                case 200..<300:
                    return (bytes, response.headers)
                case 500...:
                    lastProblem = "\(path): HTTP \(response.status.code)"
                default:
                    let message = (try? JSONParser.parse(bytes))?["error"]?["message"]?.stringValue ?? String(decoding: bytes.prefix(200), as: UTF8.self)
                    let code: SyncError.Code = [401, 403].contains(response.status.code) ? .untrustedSender : .refused
                    throw SyncError(code, "\(path): HTTP \(response.status.code): \(message)")
                }
            } catch let error as SyncError {
                throw error
            } catch {
                lastProblem = "\(path): \(Self.describe(error, server: server))"
            }
            guard attempt < attempts else { break }
            logger.notice("retrying", metadata: ["attempt": "\(attempt)", "problem": .string(lastProblem)])
            try? await Task.sleep(for: delay)
            delay *= 2
        }
        throw SyncError(.ioError, "\(lastProblem) (gave up after \(attempts) attempts; run sync again to resume)")
    }

    /// A network failure in words an operator can act on (NIO's own descriptions read "connection reset (error
    /// set): Connection refused) (errno: 111)" for a refused connection).
    static func describe(_ error: any Error, server: String) -> String {
        if let error = error as? IOError {
            return "cannot reach \(server): \(String(cString: strerror(error.errnoCode)))"
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "cannot reach \(server): no connection within the connect timeout"
            case .readTimeout, .deadlineExceeded: return "\(server) did not answer in time"
            case .remoteConnectionClosed: return "\(server) closed the connection before answering"
            default: return "\(server): \(error)"
            }
        }
        return "\(error)"
    }

    private func storeCall<Result>(_ body: () throws -> Result) throws(SyncError) -> Result {
        do {
            return try body()
        } catch let error as StoreError {
            throw SyncError(error)
        } catch let error as SyncError {
            throw error
        } catch {
            throw SyncError(.ioError, "\(error)")
        }
    }
}
