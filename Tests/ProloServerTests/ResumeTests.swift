import AsyncHTTPClient
import Foundation
import NIOCore
import ProloDomain
import ProloHTTPSync
import ProloServer
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// A sync cut off mid-transfer keeps what it committed, whole batches only, and the next sync completes it.
@Suite("Sync resumes after a cut")
struct ResumeTests {
    private static let total = 2_000
    /// Many patients with a short history each, as in a clinic: the read model folds a patient's whole history
    /// on every append, so few patients with long histories would make the cost of each batch grow with the log.
    private static let patients: [PatientID] = (1...300).map { Identifier(stringLiteral: "p-\($0)") }

    /// A clinic whose root holds `total` clinical events, and a new laptop enrolled on it.
    private func makeClinic(in directory: TemporaryDirectory) throws -> (ClinicFixture, ClinicFixture.Device, String) {
        let clinic = try ClinicFixture(in: directory)
        let laptop = try clinic.addDevice("laptop", role: .clinic)
        var random = SeededGenerator(seed: 3_000)
        for _ in 0..<(Self.total / 500) {
            try ClinicalDrafts.record(500, on: clinic.root, patients: Self.patients, using: &random)
        }
        let token = try clinic.root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil).1
        return (clinic, laptop, token)
    }

    /// What the progress callback saw: events committed so far and the largest batch.
    private struct Seen: Sendable {
        var committed = 0
        var largestBatch = 0
        var batches = 0
    }

    private func client(
        _ server: TestServer, token: String, store: EventStore, batchBytes: Int, http: HTTPClient = .shared
    ) -> HTTPSyncClient {
        var client = HTTPSyncClient(server: server.baseURL, token: token, store: store, http: http)
        client.batchBytes = batchBytes
        client.attempts = 2
        client.initialBackoff = .milliseconds(10)
        client.logger = quietLogger
        return client
    }

    /// Checks the laptop holds exactly the batches it reported committed, each origin's chain a gapless prefix.
    private func expectWholeBatches(_ laptop: ClinicFixture.Device, committed: Int, serverCount: Int) throws {
        let count = try laptop.store.count()
        #expect(count > 0, "the cut came before the first batch")
        #expect(count < serverCount, "the cut came after the last batch")
        #expect(count == committed, "the laptop holds \(count) events but committed \(committed): a partial batch")
        // Pulled in originSeq order per origin: what is held is a gapless prefix of each origin's chain.
        #expect(try laptop.store.versionVector().eventCount == Int64(count))
        #expect(try laptop.store.quarantine().isEmpty)
    }

    /// Syncs again and checks the laptop then holds the server's log: nothing lost, nothing twice.
    private func expectResumes(
        _ laptop: ClinicFixture.Device, root: ClinicFixture.Device, client: HTTPSyncClient, committed: Int,
        largestBatch: Int
    ) async throws {
        let serverCount = try root.store.count()
        let report = try await client.sync()
        #expect(report.new == serverCount - committed, "the resumed sync stored \(report.new) events")
        #expect(
            report.alreadyPresent <= largestBatch, "the resumed sync received \(report.alreadyPresent) events again")
        let ids = try laptop.store.events().map(\.event.id)
        #expect(ids.count == serverCount)
        #expect(Set(ids).count == ids.count, "the laptop holds an event twice")
        #expect(Set(ids) == (try eventIDs(root.store)))
        #expect(try laptop.store.versionVector() == root.store.versionVector())
        #expect(try await client.sync() == SyncReport())
    }

    @Test(
        "a sync cancelled mid-transfer keeps whole batches, and syncing again converges with no duplicate and nothing lost"
    )
    func cancelledMidTransfer() async throws {
        try await TemporaryDirectory.with { directory in
            let (clinic, laptop, token) = try makeClinic(in: directory)
            let root = clinic.root
            try await withServer(device: root) { server in
                let serverCount = try root.store.count()
                let seen = Box(Seen())
                let cutAfterBatches = 6
                let small = client(server, token: token, store: laptop.store, batchBytes: 4_000)
                let task = Task {
                    try await small.sync { progress in
                        let batches = seen.update { seen in
                            seen.largestBatch = max(seen.largestBatch, progress.pulled - seen.committed)
                            seen.committed = progress.pulled
                            seen.batches += 1
                            return seen.batches
                        }
                        // Cut the connection from the client's side, mid-transfer, right after a committed batch.
                        if batches == cutAfterBatches { withUnsafeCurrentTask { $0?.cancel() } }
                    }
                }
                let outcome = await task.result
                #expect(throws: SyncError.self) { try outcome.get() }
                let state = seen.get()
                #expect(state.batches == cutAfterBatches, "the sync went on after the cut")
                #expect(state.largestBatch > 1, "a 4 000-byte budget still carries several events")
                try expectWholeBatches(laptop, committed: state.committed, serverCount: serverCount)
                try await expectResumes(
                    laptop, root: root, client: client(server, token: token, store: laptop.store, batchBytes: 4_000),
                    committed: state.committed, largestBatch: state.largestBatch)
            }
        }
    }

    @Test(
        "a server shut down gracefully mid-transfer leaves the laptop with whole batches; a new server on the same store completes the sync"
    )
    func serverStoppedMidTransfer() async throws {
        try await TemporaryDirectory.with { directory in
            let (clinic, laptop, token) = try makeClinic(in: directory)
            let root = clinic.root
            let serverCount = try root.store.count()
            let first = try await TestServer.start(device: root)
            let seen = Box(Seen())
            let (cut, cutSignal) = AsyncStream.makeStream(of: Void.self)
            // HTTPClient.shared keeps retrying a refused connection for its 90 s connect timeout, per attempt;
            // a client with a short connect timeout notices the stopped server at once.
            let http = HTTPClient(
                eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                configuration: HTTPClient.Configuration(timeout: .init(connect: .seconds(1), read: .seconds(30))))
            let small = client(first, token: token, store: laptop.store, batchBytes: 4_000, http: http)
            let task = Task {
                try await small.sync { progress in
                    let batches = seen.update { seen in
                        seen.largestBatch = max(seen.largestBatch, progress.pulled - seen.committed)
                        seen.committed = progress.pulled
                        seen.batches += 1
                        return seen.batches
                    }
                    if batches == 4 { cutSignal.yield() }
                }
            }
            var signals = cut.makeAsyncIterator()
            await signals.next()
            var stopError: (any Error)?
            do { try await first.stop() } catch { stopError = error }
            let outcome = await task.result
            try await http.shutdown()
            if let stopError { throw stopError }
            #expect(throws: SyncError.self) { try outcome.get() }
            let state = seen.get()
            try expectWholeBatches(laptop, committed: state.committed, serverCount: serverCount)
            #expect(try root.store.count() == serverCount)

            // A new server on the same store (a new port) completes the sync.
            let second = try await TestServer.start(device: root)
            do {
                try await expectResumes(
                    laptop, root: root, client: client(second, token: token, store: laptop.store, batchBytes: 4_000),
                    committed: state.committed, largestBatch: state.largestBatch)
            } catch {
                try? await second.stop()
                throw error
            }
            try await second.stop()
        }
    }
}
