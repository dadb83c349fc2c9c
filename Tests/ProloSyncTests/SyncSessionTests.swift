import ProloDomain
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// The protocol state machine on its own: messages in, actions out, no store and no files.
@Suite("SyncSession: the sync protocol as a pure state machine")
struct SyncSessionTests {
    private let rootKey = Fixtures.fixedKey(seedByte: 1)
    private let localKey = Fixtures.fixedKey(seedByte: 40)
    private let peerKey = Fixtures.fixedKey(seedByte: 80)

    private func hello(
        _ storeID: String, device: DeviceKey, root: DeviceKey? = nil, scope: SyncScope = .full,
        vector: VersionVector = VersionVector()
    ) -> SyncHello {
        SyncHello(
            storeID: storeID, root: (root ?? rootKey).publicKey, device: device.publicKey, scope: scope, vector: vector)
    }

    /// `count` signed pain reports of `key`'s origin, chained from the start, built in memory.
    private func events(_ count: Int, by key: DeviceKey, patient: PatientID = "p-1") throws -> [Event] {
        var sealer = EventSealer(
            origin: key.publicKey.origin, lastSeq: 0, lastHash: nil, clock: HybridClock())
        return try (0..<count).map { index in
            let draft = try Fixtures.painDraft(
                patient: patient, score: index % 11, at: 1_790_000_000_000 + Int64(index) * 60_000)
            let unsigned = sealer.link(try draft.compressed(), wallMilliseconds: 1_790_000_000_000 + Int64(index)) {
                (_: PatientID) -> EventHash? in nil
            }
            return try unsigned.signed(with: key)
        }
    }

    /// A session that has sent its hello and received the peer's.
    private func exchanging(local: SyncHello, remote: SyncHello) -> SyncSession {
        var session = SyncSession(local: local)
        _ = session.start()
        _ = session.receive(.hello(remote))
        return session
    }

    private func failure(in actions: [SyncSession.Action]) -> SyncError? {
        guard actions.count == 1, case .fail(let error) = actions[0] else { return nil }
        return error
    }

    // MARK: Hello

    @Test("start sends this side's hello once and waits for the peer's")
    func startSendsHello() {
        let local = hello("store-local", device: localKey)
        var session = SyncSession(local: local)
        #expect(session.state == .idle)
        #expect(session.start() == [.send(.hello(local))])
        #expect(session.state == .awaitingHello)
        #expect(session.start() == [], "a second start sends nothing")
    }

    @Test("the peer's hello asks the driver to send what lies above the peer's vector, in the peer's scope")
    func helloLeadsToSendMissing() {
        let peerVector = VersionVector(heads: [localKey.publicKey.origin.text: 3, "0123456789abcdef0123456789abcdef": 9])
        let remote = hello("store-peer", device: peerKey, scope: .patient("p-7"), vector: peerVector)
        var session = SyncSession(local: hello("store-local", device: localKey))
        _ = session.start()
        let actions = session.receive(.hello(remote))
        #expect(actions == [.sendMissing(from: peerVector, scope: .patient("p-7"))])
        #expect(session.state == .exchanging)
        #expect(session.remote == remote)
    }

    @Test("a peer that trusts another clinic root fails the session with foreignClinic and nothing else")
    func foreignRootFails() throws {
        let otherRoot = Fixtures.fixedKey(seedByte: 120)
        let remote = hello("store-peer", device: peerKey, root: otherRoot, vector: VersionVector(heads: ["aa": 1]))
        var session = SyncSession(local: hello("store-local", device: localKey))
        _ = session.start()
        let actions = session.receive(.hello(remote))
        let error = try #require(failure(in: actions), "exactly one fail action, got \(actions)")
        #expect(error.code == .foreignClinic)
        #expect(error.message.contains("another clinic root"))
        #expect(session.state == .failed)
        #expect(session.remote == nil, "the foreign peer is not remembered")
        // Nothing more happens: no events are accepted, nothing is sent.
        let records = try events(2, by: peerKey).map(EventWireCodec.encode)
        #expect(session.receive(.events(records, last: true)) == [])
        #expect(session.sentAll(count: 0) == [])
        #expect(session.report == SyncReport())
    }

    @Test("a second hello while exchanging is a protocol error")
    func secondHelloFails() throws {
        let remote = hello("store-peer", device: peerKey)
        var session = exchanging(local: hello("store-local", device: localKey), remote: remote)
        let error = try #require(failure(in: session.receive(.hello(remote))))
        #expect(error.code == .malformed)
        #expect(session.state == .failed)
    }

    @Test("events before the peer's hello are a protocol error, and nothing is appended")
    func eventsBeforeHelloFail() throws {
        var session = SyncSession(local: hello("store-local", device: localKey))
        _ = session.start()
        let records = try events(1, by: peerKey).map(EventWireCodec.encode)
        let error = try #require(failure(in: session.receive(.events(records, last: false))))
        #expect(error.code == .malformed)
        #expect(session.state == .failed)
    }

    // MARK: Batches

    @Test("an events batch becomes one append of the decoded events with a checkpoint naming the peer")
    func batchBecomesAppend() throws {
        let peerVector = VersionVector(heads: [peerKey.publicKey.origin.text: 4])
        let remote = hello("store-peer-42", device: peerKey, vector: peerVector)
        var session = exchanging(local: hello("store-local", device: localKey), remote: remote)
        let sent = try events(4, by: peerKey)
        let actions = session.receive(.events(sent.map(EventWireCodec.encode), last: false))
        #expect(actions == [.append(sent, checkpoint: PeerCheckpoint(peer: "store-peer-42", vector: peerVector))])
        #expect(session.report.batches == 1)
        #expect(session.state == .exchanging, "not finished: neither side's last batch has crossed")
    }

    @Test("append outcomes are added up in the report")
    func outcomesAreReported() throws {
        var session = exchanging(
            local: hello("store-local", device: localKey), remote: hello("store-peer", device: peerKey))
        var outcome = AppendOutcome()
        outcome.alreadyPresent = 2
        outcome.forks = ["01a07b4f-7500-7a90-8043-ed469f361cd5"]
        session.appended(outcome)
        session.appended(outcome)
        #expect(session.report.alreadyPresent == 4)
        #expect(session.report.forks == 2)
        #expect(session.report.new == 0)
    }

    @Test("a malformed record fails the session naming the batch and the record, and nothing is appended")
    func malformedRecordFails() throws {
        var session = exchanging(
            local: hello("store-local", device: localKey), remote: hello("store-peer", device: peerKey))
        var records = try events(5, by: peerKey).map(EventWireCodec.encode)
        // The first batch is fine.
        let first = session.receive(.events(Array(records.prefix(2)), last: false))
        #expect(first.count == 1)
        // In the second batch, the second record is cut short.
        records[3].removeLast(10)
        let actions = session.receive(.events(Array(records.suffix(3)), last: true))
        let error = try #require(failure(in: actions), "exactly one fail action and no append, got \(actions)")
        #expect(error.code == .malformed)
        #expect(error.message.contains("batch 2, record 2"), "\(error.message)")
        #expect(error.message.contains("signature"), "says what is wrong with the record: \(error.message)")
        #expect(session.state == .failed)
        #expect(session.report.batches == 1, "the refused batch is not counted")
    }

    @Test("a record of an unknown wire version fails naming batch 1, record 1")
    func unknownRecordVersionFails() throws {
        var session = exchanging(
            local: hello("store-local", device: localKey), remote: hello("store-peer", device: peerKey))
        var record = EventWireCodec.encode(try events(1, by: peerKey)[0])
        record[0] = 9
        let error = try #require(failure(in: session.receive(.events([record], last: false))))
        #expect(error.code == .malformed)
        #expect(error.message.contains("batch 1, record 1"), "\(error.message)")
        #expect(error.message.contains("version 9"), "\(error.message)")
    }

    @Test("events after the peer's last batch are a protocol error")
    func eventsAfterLastFail() throws {
        var session = exchanging(
            local: hello("store-local", device: localKey), remote: hello("store-peer", device: peerKey))
        _ = session.receive(.events([], last: true))
        let records = try events(1, by: peerKey).map(EventWireCodec.encode)
        let error = try #require(failure(in: session.receive(.events(records, last: false))))
        #expect(error.code == .malformed)
        #expect(session.state == .failed)
    }

    // MARK: The in-sync case

    @Test("in sync: both sides exchange a hello and an empty last batch and finish with zero counts")
    func inSyncFinishes() throws {
        let vector = VersionVector(heads: [rootKey.publicKey.origin.text: 12, localKey.publicKey.origin.text: 5])
        var a = SyncSession(local: hello("store-a", device: localKey, vector: vector))
        var b = SyncSession(local: hello("store-b", device: peerKey, vector: vector))
        var wire: [(to: String, message: SyncMessage)] = []
        var finished: [String: SyncReport] = [:]
        var appended: [String: [SyncSession.Action]] = ["a": [], "b": []]

        func handle(_ actions: [SyncSession.Action], side: String, session: inout SyncSession) {
            let other = side == "a" ? "b" : "a"
            for action in actions {
                switch action {
                case .send(let message):
                    wire.append((other, message))
                case .sendMissing(let from, _, _):
                    // In sync: the peer's vector equals ours, so nothing lies above it.
                    #expect(from == vector)
                    wire.append((other, .events([], last: true)))
                    let after = session.sentAll(count: 0)
                    handle(after, side: side, session: &session)
                case .append(let events, _):
                    #expect(events.isEmpty)
                    appended[side, default: []].append(action)
                    session.appended(AppendOutcome())
                case .finished(let report):
                    finished[side] = report
                case .fail(let error):
                    Issue.record("side \(side) failed: \(error)")
                }
            }
        }

        let startA = a.start()
        handle(startA, side: "a", session: &a)
        let startB = b.start()
        handle(startB, side: "b", session: &b)
        var messages = 0
        while !wire.isEmpty {
            let (to, message) = wire.removeFirst()
            messages += 1
            if to == "a" {
                let actions = a.receive(message)
                handle(actions, side: "a", session: &a)
            } else {
                let actions = b.receive(message)
                handle(actions, side: "b", session: &b)
            }
        }

        #expect(messages == 4, "one hello and one empty batch each way")
        #expect(a.state == .finished)
        #expect(b.state == .finished)
        for side in ["a", "b"] {
            let report = try #require(finished[side], "side \(side) finished")
            #expect(report.new == 0)
            #expect(report.alreadyPresent == 0)
            #expect(report.quarantined == 0)
            #expect(report.forks == 0)
            #expect(report.admittedFromQuarantine == 0)
            #expect(report.sent == 0)
            #expect(report.batches == 1)
            // The empty last batch still saves the peer's checkpoint (so the next exchange can be skipped).
            #expect(appended[side]?.count == 1)
        }
    }

    @Test("the session finishes only when this side has sent its last batch and received the peer's, in either order")
    func finishesWhenBothLastBatchesCrossed() throws {
        let remote = hello("store-peer", device: peerKey)
        // Received first, then sent.
        var first = exchanging(local: hello("store-local", device: localKey), remote: remote)
        let received = first.receive(.events([], last: true))
        #expect(!received.contains { if case .finished = $0 { true } else { false } })
        #expect(first.state == .exchanging)
        let done = first.sentAll(count: 7)
        guard done.count == 1, case .finished(let report) = done[0] else {
            Issue.record("expected finished, got \(done)")
            return
        }
        #expect(report.sent == 7)
        #expect(first.state == .finished)

        // Sent first, then received.
        var second = exchanging(local: hello("store-local", device: localKey), remote: remote)
        #expect(second.sentAll(count: 0) == [])
        #expect(second.state == .exchanging)
        let actions = second.receive(.events([], last: true))
        #expect(actions.count == 2)
        guard case .finished = actions.last else {
            Issue.record("expected finished last, got \(actions)")
            return
        }
        #expect(second.state == .finished)
    }

    // MARK: After the end

    @Test("messages after a failure are ignored: no action, state stays failed, report unchanged")
    func messagesAfterFailureAreIgnored() throws {
        var session = exchanging(
            local: hello("store-local", device: localKey), remote: hello("store-peer", device: peerKey))
        let good = try events(3, by: peerKey).map(EventWireCodec.encode)
        _ = session.receive(.events(Array(good.prefix(1)), last: false))
        let reportBefore = session.report
        let failed = session.receive(.events([[0xFF, 0x00]], last: false))
        #expect(failure(in: failed) != nil)
        #expect(session.state == .failed)

        #expect(session.receive(.events(Array(good.suffix(2)), last: false)) == [])
        #expect(session.receive(.events([], last: true)) == [])
        #expect(session.receive(.hello(hello("store-peer", device: peerKey))) == [])
        #expect(session.sentAll(count: 5) == [])
        #expect(session.start() == [])
        #expect(session.state == .failed)
        #expect(session.report == reportBefore)
    }

    @Test("messages after the session finished are ignored")
    func messagesAfterFinishAreIgnored() throws {
        var session = exchanging(
            local: hello("store-local", device: localKey), remote: hello("store-peer", device: peerKey))
        _ = session.sentAll(count: 0)
        _ = session.receive(.events([], last: true))
        #expect(session.state == .finished)
        let records = try events(1, by: peerKey).map(EventWireCodec.encode)
        #expect(session.receive(.events(records, last: true)) == [])
        #expect(session.receive(.hello(hello("store-peer", device: peerKey))) == [])
        #expect(session.sentAll(count: 1) == [])
        #expect(session.state == .finished)
    }
}
