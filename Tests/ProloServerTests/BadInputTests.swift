import Foundation
import ProloDomain
import ProloServer
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// Malformed, oversized and forged input: a clear 4xx with a JSON error, the store unchanged, the server still serving.
@Suite("Bad input over HTTP")
struct BadInputTests {
    /// A clinic root serving with a 10 000-byte body limit, a laptop enrolled on it holding events the server lacks.
    private struct Setup {
        let clinic: ClinicFixture
        let root: ClinicFixture.Device
        let laptop: ClinicFixture.Device
        let token: String
        let laptopEvents: [Event]
    }

    private func setUp(in directory: TemporaryDirectory) throws -> Setup {
        let clinic = try ClinicFixture(in: directory)
        let laptop = try clinic.addDevice("laptop", role: .clinic)
        var random = SeededGenerator(seed: 11)
        try ClinicalDrafts.record(5, on: clinic.root, patients: ["p-1", "p-2"], using: &random)
        let events = try ClinicalDrafts.record(3, on: laptop, patients: ["p-1"], using: &random).map(\.event)
        let token = try clinic.root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil).1
        return Setup(clinic: clinic, root: clinic.root, laptop: laptop, token: token, laptopEvents: events)
    }

    private var configuration: ClinicServerConfiguration {
        var configuration = ClinicServerConfiguration()
        configuration.maximumBodyBytes = 10_000
        return configuration
    }

    /// Sends a bad request and checks the refusal, that nothing changed, and that a valid request still succeeds.
    private func expectRefused(
        _ path: String, body: [UInt8], contentType: String, status: Int, code: String? = nil,
        messageContains: [String] = [],
        setup: Setup, server: TestServer, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let vector = try setup.root.store.versionVector()
        let count = try setup.root.store.count()
        let response = try await rawRequest(
            "POST", server.url(path), token: setup.token, body: body, contentType: contentType)
        #expect(
            response.status == status, "\(path): \(response.status) \(response.text.prefix(300))",
            sourceLocation: sourceLocation)
        #expect(
            response.hasErrorBody, "\(path): no JSON error body: \(response.text.prefix(300))",
            sourceLocation: sourceLocation)
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        if let code { #expect(response.errorCode == code, sourceLocation: sourceLocation) }
        for part in messageContains {
            #expect(
                response.errorMessage?.contains(part) == true, "message \(response.errorMessage ?? "-") lacks \(part)",
                sourceLocation: sourceLocation)
        }
        #expect(try setup.root.store.versionVector() == vector, "the store changed", sourceLocation: sourceLocation)
        #expect(try setup.root.store.count() == count, sourceLocation: sourceLocation)
        #expect(try setup.root.store.quarantine().isEmpty, sourceLocation: sourceLocation)
        // The server keeps serving.
        let summary = try await rawRequest(
            "POST", server.url("/v1/sync/summary"), token: setup.token, body: jsonBytes(["vectorDigest": .string("")]),
            contentType: "application/json")
        #expect(summary.status == 200, "the server stopped serving after a bad request", sourceLocation: sourceLocation)
    }

    private func push(_ records: [[UInt8]], setup: Setup, server: TestServer) async throws -> RawResponse {
        try await rawRequest(
            "POST", server.url("/v1/sync/push"), token: setup.token, body: try SyncWire.encodeBatch(records),
            contentType: SyncWire.batchContentType)
    }

    @Test(
        "a body over the server's limit is refused with 413 and a JSON error, the store unchanged, the server still serving"
    )
    func oversizedBody() async throws {
        try await TemporaryDirectory.with { directory in
            let setup = try setUp(in: directory)
            try await withServer(device: setup.root, configuration: configuration) { server in
                var random = SeededGenerator(seed: 1)
                let big = (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &random) }
                let bigJSON = jsonBytes(["vectorDigest": .string(String(repeating: "a", count: 20_000))])
                let vector = try setup.root.store.versionVector()
                let count = try setup.root.store.count()
                // With a Content-Length over the limit, and chunked (the limit is found while reading).
                for (path, body, type, chunked) in [
                    ("/v1/sync/push", big, SyncWire.batchContentType, false),
                    ("/v1/sync/summary", bigJSON, "application/json", false),
                    ("/v1/sync/push", big, SyncWire.batchContentType, true),
                    ("/v1/sync/summary", bigJSON, "application/json", true),
                ] {
                    let response = try await rawRequest(
                        "POST", server.url(path), token: setup.token, body: body, contentType: type, chunked: chunked)
                    #expect(
                        response.hasErrorBody,
                        "\(path) (chunked: \(chunked)): no JSON error body: \(response.text.prefix(300))")
                    // (Before ClinicServer.body(of:) mapped NIOTooManyBytesError, this was answered 500 "internal".)
                    #expect(
                        response.status == 413,
                        "\(path) (chunked: \(chunked)): \(response.status) \(response.text.prefix(300))")
                    #expect(response.errorCode == "too-large")
                    let logged = try #require(try setup.root.store.accessLog().last)
                    #expect(logged.status == 413 && logged.outcome == "refused", "\(logged)")
                    #expect(try setup.root.store.versionVector() == vector, "the store changed")
                    #expect(try setup.root.store.count() == count)
                }
                // The server keeps serving, and a batch under the limit goes through.
                let ok = try await push(setup.laptopEvents.map(EventWireCodec.encode), setup: setup, server: server)
                #expect(ok.status == 200)
                #expect(ok.json?["new"] == .int(3))
            }
        }
    }

    @Test("random bytes as a batch are refused with 400")
    func malformedBatch() async throws {
        try await TemporaryDirectory.with { directory in
            let setup = try setUp(in: directory)
            try await withServer(device: setup.root, configuration: configuration) { server in
                var random = SeededGenerator(seed: 2)
                let noise = (0..<2_000).map { _ in UInt8.random(in: 0...255, using: &random) }
                try await expectRefused(
                    "/v1/sync/push", body: noise, contentType: SyncWire.batchContentType, status: 400,
                    code: "malformed-batch",
                    setup: setup, server: server)
                // Too short for a header, and a valid header over a cut-off stream.
                try await expectRefused(
                    "/v1/sync/push", body: [0, 0, 0], contentType: SyncWire.batchContentType, status: 400, setup: setup,
                    server: server)
                let whole = try SyncWire.encodeBatch(setup.laptopEvents.map(EventWireCodec.encode))
                try await expectRefused(
                    "/v1/sync/push", body: Array(whole.prefix(whole.count / 2)), contentType: SyncWire.batchContentType,
                    status: 400,
                    setup: setup, server: server)
            }
        }
    }

    @Test("a batch whose second record is not an event is refused with 400 naming the record, and none of it is stored")
    func recordNotAnEvent() async throws {
        try await TemporaryDirectory.with { directory in
            let setup = try setUp(in: directory)
            try await withServer(device: setup.root, configuration: configuration) { server in
                // Long enough to pass the batch framing (records under 42 bytes are refused there, as malformed-batch).
                let records = [
                    EventWireCodec.encode(setup.laptopEvents[0]),
                    Array("not an event, though long enough to be framed as one record".utf8),
                ]
                try await expectRefused(
                    "/v1/sync/push", body: try SyncWire.encodeBatch(records), contentType: SyncWire.batchContentType,
                    status: 400,
                    code: "malformed-event", messageContains: ["record 2"], setup: setup, server: server)
            }
        }
    }

    @Test(
        "a forged event (signed by another key) is refused with 422 naming the event, and none of its batch is stored")
    func forgedEvent() async throws {
        try await TemporaryDirectory.with { directory in
            let setup = try setUp(in: directory)
            try await withServer(device: setup.root, configuration: configuration) { server in
                let genuine = setup.laptopEvents[1]
                let forger = DeviceKey()
                let forged = Event(
                    id: genuine.id, origin: genuine.origin, originSeq: genuine.originSeq, prev: genuine.prev,
                    patientPrev: genuine.patientPrev, hlc: genuine.hlc, occurredAt: genuine.occurredAt,
                    patient: genuine.patient,
                    type: genuine.type, schemaVersion: genuine.schemaVersion, author: genuine.author,
                    dictionary: genuine.dictionary,
                    body: genuine.body, hash: genuine.hash, signature: try forger.signature(for: genuine.hash.bytes))
                #expect(forged.hasValidHash)
                // Last of its run, where the run's signature is checked (SignatureRuns; a bad signature inside a run
                // is held unchecked and flagged later: SignatureRunsTests).
                let records = [setup.laptopEvents[0], forged].map(EventWireCodec.encode)
                try await expectRefused(
                    "/v1/sync/push", body: try SyncWire.encodeBatch(records), contentType: SyncWire.batchContentType,
                    status: 422,
                    messageContains: [genuine.id.text], setup: setup, server: server)

                // A bad hash (a body byte changed after signing) is refused the same way.
                var body = genuine.body
                body[body.count / 2] ^= 0x01
                let tampered = Event(
                    id: genuine.id, origin: genuine.origin, originSeq: genuine.originSeq, prev: genuine.prev,
                    patientPrev: genuine.patientPrev, hlc: genuine.hlc, occurredAt: genuine.occurredAt,
                    patient: genuine.patient,
                    type: genuine.type, schemaVersion: genuine.schemaVersion, author: genuine.author,
                    dictionary: genuine.dictionary,
                    body: body, hash: genuine.hash, signature: genuine.signature)
                try await expectRefused(
                    "/v1/sync/push",
                    body: try SyncWire.encodeBatch([setup.laptopEvents[0], tampered].map(EventWireCodec.encode)),
                    contentType: SyncWire.batchContentType, status: 422, messageContains: [genuine.id.text],
                    setup: setup,
                    server: server)

                // The genuine batch is appended.
                let ok = try await push(setup.laptopEvents.map(EventWireCodec.encode), setup: setup, server: server)
                #expect(ok.status == 200, "\(ok.text)")
                #expect(ok.json?["new"] == .int(3))
            }
        }
    }

    @Test("a body that is not a JSON object is refused with 400 on the JSON routes")
    func nonJSONBody() async throws {
        try await TemporaryDirectory.with { directory in
            let setup = try setUp(in: directory)
            try await withServer(device: setup.root, configuration: configuration) { server in
                try await expectRefused(
                    "/v1/sync/summary", body: Array("vectorDigest=abc".utf8), contentType: "application/json",
                    status: 400,
                    code: "malformed", setup: setup, server: server)
                try await expectRefused(
                    "/v1/sync/summary", body: Array("[1, 2, 3]".utf8), contentType: "application/json", status: 400,
                    setup: setup,
                    server: server)
                try await expectRefused(
                    "/v1/sync/pull", body: Array("{\"vector\": ".utf8), contentType: "application/json", status: 400,
                    setup: setup,
                    server: server)
                try await expectRefused(
                    "/v1/sync/pull", body: jsonBytes(["vector": .string("everything")]),
                    contentType: "application/json", status: 400,
                    setup: setup, server: server)
                try await expectRefused(
                    "/v1/devices",
                    body: jsonBytes([
                        "name": .string("tablet"), "role": .string("clinic"), "publicKey": .string("not-a-key"),
                    ]),
                    contentType: "application/json", status: 400, setup: setup, server: server)
            }
        }
    }
}
