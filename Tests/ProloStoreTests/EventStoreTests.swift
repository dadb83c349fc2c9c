import Foundation
import ProloDomain
import ProloStore
import ProloTestSupport
import Testing

@Suite("The SQLite event log")
struct EventStoreTests {
    @Test("a new store keeps its identity across reopening and writes its key with mode 0600")
    func createAndReopen() throws {
        try TemporaryDirectory.with { directory in
            let (store, key) = try Fixtures.makeStore(in: directory)
            let reopened = try EventStore.open(at: store.path)
            #expect(reopened.identity == store.identity)
            #expect(reopened.identity.publicKey == key.publicKey)
            let attributes = try FileManager.default.attributesOfItem(atPath: DeviceKeyFile.path(forStore: store.path))
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect(try DeviceKeyFile.load(from: DeviceKeyFile.path(forStore: store.path)).publicKey == key.publicKey)
        }
    }

    @Test("a recorded batch is stored whole, chained, and readable by patient, type, origin range and seq")
    func recordAndRead() throws {
        try TemporaryDirectory.with { directory in
            let (store, key) = try Fixtures.makeStore(in: directory)
            let drafts = try Fixtures.storyDrafts(patient: "p-0001") + Fixtures.storyDrafts(patient: "p-0002")
            let stored = try store.record(drafts, signedBy: key)
            #expect(stored.count == drafts.count)
            #expect(try store.count() == drafts.count)
            let all = try store.events()
            #expect(all.map(\.event.originSeq) == Array(1...Int64(drafts.count)))
            for (earlier, later) in zip(all, all.dropFirst()) {
                #expect(later.event.prev == earlier.event.hash)
            }
            for item in all { try item.event.verify(publicKey: key.publicKey) }
            let patientTwo = try store.events(EventFilter(patient: "p-0002"))
            #expect(patientTwo.allSatisfy { $0.event.patient == "p-0002" })
            #expect(patientTwo.count == drafts.filter { $0.patient == "p-0002" }.count)
            #expect(try store.events(EventFilter(type: .painReported)).count == 2)
            let range = try store.events(EventFilter(origin: store.identity.origin, originSeqs: 3...5))
            #expect(range.map(\.event.originSeq) == [3, 4, 5])
            #expect(try store.events(EventFilter(afterSeq: Int64(drafts.count) - 2)).count == 2)
            let latest = try store.events(EventFilter(limit: 1, newestFirst: true))
            #expect(latest.first?.event.originSeq == Int64(drafts.count))
            #expect(try store.versionVector() == VersionVector(heads: [store.identity.origin.text: Int64(drafts.count)]))
            let byID = try #require(try store.event(id: stored[3].event.id))
            #expect(byID.event == stored[3].event)
        }
    }

    @Test("patientPrev links each event to the same origin's previous event for that patient")
    func patientChain() throws {
        try TemporaryDirectory.with { directory in
            let (store, key) = try Fixtures.makeStore(in: directory)
            try store.record([try Fixtures.painDraft(patient: "p-1"), try Fixtures.painDraft(patient: "p-2")], signedBy: key)
            try store.record([try Fixtures.painDraft(patient: "p-1")], signedBy: key)
            let events = try store.events().map(\.event)
            #expect(events[0].patientPrev == nil)
            #expect(events[1].patientPrev == nil)
            #expect(events[2].patientPrev == events[0].hash)
        }
    }

    @Test(
        "the version vector kept in memory equals the one read afresh after every change: local records, received batches, and records through another connection to the file (property, 40 steps)"
    )
    func versionVectorFollowsEveryAppend() throws {
        try TemporaryDirectory.with { directory in
            let (store, key) = try Fixtures.makeStore(in: directory)
            let (peer, peerKey) = try Fixtures.makeStore(in: directory, name: "peer", deviceName: "laptop-2")
            try store.registerOrigin(peerKey.publicKey, name: "laptop-2")
            let other = try EventStore.open(at: store.path)
            var random = SeededGenerator(seed: 21)
            for step in 0..<40 {
                let drafts = try (0..<Int.random(in: 1...4, using: &random)).map { _ in
                    try Fixtures.painDraft(patient: PatientID(checked: "p-\(Int.random(in: 1...3, using: &random))"), score: step % 11)
                }
                switch Int.random(in: 0..<3, using: &random) {
                case 0: try store.record(drafts, signedBy: key)
                case 1: try other.record(drafts, signedBy: key)
                default: try store.append(try peer.record(drafts, signedBy: peerKey).map(\.event))
                }
                // A store opened now has nothing in memory: it reads the vector from the index.
                let fresh = try EventStore.open(at: store.path).versionVector()
                #expect(try store.versionVector() == fresh, "step \(step)")
                #expect(try other.versionVector() == fresh, "step \(step)")
            }
            #expect(try store.versionVector().heads.values.reduce(0, +) == Int64(try store.count()))
        }
    }

    @Test("recording with another device's key is refused")
    func wrongKey() throws {
        try TemporaryDirectory.with { directory in
            let (store, _) = try Fixtures.makeStore(in: directory)
            #expect {
                try store.record([try Fixtures.painDraft()], signedBy: DeviceKey())
            } throws: { ($0 as? StoreError)?.code == .permissionDenied }
            #expect(try store.count() == 0)
        }
    }

    @Test("concurrent recorders on one store keep one gapless chain")
    func concurrentRecords() async throws {
        try await TemporaryDirectory.with { directory in
            let (store, key) = try Fixtures.makeStore(in: directory)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        for round in 0..<10 {
                            try store.record([try Fixtures.painDraft(patient: try PatientID(checked: "p-\(worker)"), score: round % 11)], signedBy: key)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let events = try store.events().map(\.event)
            #expect(events.map(\.originSeq) == Array(1...40))
            for (earlier, later) in zip(events, events.dropFirst()) {
                #expect(later.prev == earlier.hash)
                #expect(later.hlc > earlier.hlc)
            }
        }
    }
}
