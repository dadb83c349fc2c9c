import Foundation
import PostgresNIO
import ProloAudit
import ProloDomain
import ProloPostgres
import ProloStore
import ProloTestSupport
import Testing

/// A hub's server keeps the registry and the fork positions in memory between requests, asks for the registry's
/// version with each request's token, and reads the version vector from `origin_heads` (migration 5): what it
/// answers must follow the database whichever connection changed it.
@Suite("What a hub keeps in memory follows its database (issue 14)")
struct HubMemoryTests {
    /// Runs `body` with a hub open on a new database holding `store` moved up, its pool running.
    private func withHub(_ store: EventStore, _ body: (PostgresHub, PostgresURL) async throws -> Void) async throws {
        try await TestDatabase.with("the hub's memory is not tried") { url in
            _ = try await PostgresLog.with(url) { log throws(StoreError) in try await log.moveUp(from: store) }
            let hub = try await PostgresHub.open(url, maximumConnections: 4)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await hub.client.run() }
                defer { group.cancelAll() }
                try await body(hub, url)
            }
        }
    }

    /// Each origin's highest position, counted from the events themselves.
    private func counted(_ url: PostgresURL) async throws -> VersionVector {
        try await PostgresLog.with(url) { log throws(StoreError) -> VersionVector in
            var vector = VersionVector()
            for line in try await log.texts("SELECT origin || ' ' || max(origin_seq) FROM events GROUP BY origin") {
                let parts = (line ?? "").split(separator: " ")
                vector.advance(String(parts[0]), to: Int64(parts[1]) ?? 0)
            }
            return vector
        }
    }

    @Test(
        "fork evidence that arrives after a hub's requests read the fork positions is in the next request's chain heads and registry; so is a second fork, lower in the already frozen chain"
    )
    func forkPositionsFollowEvidence() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let enrollments = try clinic.enroll(app, name: "app")
            var shared = [try app.painReport("p-1", score: 6)]
            var early = app
            shared.append(try app.painReport("p-1", score: 6))
            let earlier = try early.painReport("p-1", score: 2)
            var restored = app
            let mine = try app.painReport("p-1", score: 7)
            let theirs = try restored.painReport("p-1", score: 1)
            let origin = app.key.publicKey.origin
            try await withHub(clinic.hub.store) { hub, _ in
                try await hub.withLog { log throws(StoreError) in _ = try await log.append(enrollments + shared + [mine]) }
                let (token, text) = try await hub.withLog { log throws(StoreError) in
                    try await log.issueToken(device: "hub", scope: "clinic", expiresAt: nil)
                }
                let before = try await hub.withLog { log throws(StoreError) in
                    try await log.chainHeads(at: try await log.versionVector())
                }
                #expect(before.forkedAt.isEmpty)
                #expect(try await hub.withLog { log throws(StoreError) in
                    try await log.credentials(presented: text).registry.devices[origin]?.frozenReason
                } == nil)

                let outcome = try await hub.withLog { log throws(StoreError) in try await log.append([theirs]) }
                #expect(outcome.forks == [theirs.id])
                let after = try await hub.withLog { log throws(StoreError) in
                    try await log.chainHeads(at: try await log.versionVector())
                }
                #expect(after.forkedAt[origin.text] == 3)
                let (found, registry) = try await hub.withLog { log throws(StoreError) in
                    try await log.credentials(presented: text)
                }
                #expect(found?.id == token.id)
                #expect(registry.devices[origin]?.frozenReason?.contains("fork at originSeq 3") == true)

                // The origin is frozen already: the hub must not go on serving the split at 3 from memory (the frozen
                // reason names the new lowest position, and the evidence raises the registry's version itself too,
                // migration 5).
                let second = try await hub.withLog { log throws(StoreError) in try await log.append([earlier]) }
                #expect(second.forks == [earlier.id])
                let lower = try await hub.withLog { log throws(StoreError) in
                    try await log.chainHeads(at: try await log.versionVector())
                }
                #expect(lower.forkedAt[origin.text] == 2)
            }
        }
    }

    @Test("an enrollment made on another connection (an operator's command) is in the registry the next request's token is read with; an unknown token still reads the registry")
    func credentialsFollowTheRegistry() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            let app = ForeignDevice()
            let enrollments = try clinic.enroll(app, name: "app")
            try await withHub(clinic.hub.store) { hub, url in
                let (token, text) = try await hub.withLog { log throws(StoreError) in
                    try await log.issueToken(device: "hub", scope: "clinic", expiresAt: nil)
                }
                let first = try await hub.withLog { log throws(StoreError) in try await log.credentials(presented: text) }
                #expect(first.token?.id == token.id)
                #expect(first.registry.devices[app.key.publicKey.origin] == nil)
                _ = try await PostgresLog.with(url) { log throws(StoreError) in try await log.append(enrollments) }
                let second = try await hub.withLog { log throws(StoreError) in
                    try await log.credentials(presented: "prolo_unknown_secret")
                }
                #expect(second.token == nil)
                #expect(second.registry.devices[app.key.publicKey.origin]?.name == "app")
            }
        }
    }

    @Test("the version vector a hub reads (origin_heads) is each origin's highest position after the move-up, appends and the hub's own records")
    func versionVectorIsTheHeads() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let enrollments = try clinic.enroll(app, name: "app")
            let reports = try (0..<3).map { _ in try app.painReport("p-1", score: 5) }
            try clinic.hub.store.append(enrollments + reports.prefix(2))
            try await withHub(clinic.hub.store) { hub, url in
                let moved = try await hub.withLog { log throws(StoreError) in try await log.versionVector() }
                #expect(moved == (try await counted(url)))
                #expect(moved[app.key.publicKey.origin.text] == 2)
                try await hub.withLog { log throws(StoreError) in _ = try await log.append([reports[2]]) }
                let appended = try await hub.withLog { log throws(StoreError) in try await log.versionVector() }
                #expect(appended == (try await counted(url)))
                #expect(appended[app.key.publicKey.origin.text] == 3)
                let consent = try EventDraft(
                    CatalogExamples.consentRecorded, patient: "p-2", occurredAt: .now(), author: Fixtures.clinician)
                _ = try await hub.withLog { log throws(StoreError) in try await log.record([consent], signedBy: clinic.hub.key) }
                let recorded = try await hub.withLog { log throws(StoreError) in try await log.versionVector() }
                #expect(recorded == (try await counted(url)))
                #expect(recorded[clinic.hub.key.publicKey.origin.text] > moved[clinic.hub.key.publicKey.origin.text])
            }
        }
    }

    @Test("audit verify --database finds a head below its origin's events and a disabled heads' trigger (derived-column), clean otherwise")
    func auditChecksTheHeads() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try Clinic(in: directory)
            var app = ForeignDevice()
            let enrollments = try clinic.enroll(app, name: "app")
            try clinic.hub.store.append(enrollments + [try app.painReport("p-1", score: 5), try app.painReport("p-1", score: 4)])
            let origin = app.key.publicKey.origin.text
            try await TestDatabase.with("the heads' audit is not tried") { url in
                try await PostgresLog.with(url) { log throws(StoreError) in
                    _ = try await log.moveUp(from: clinic.hub.store)
                    #expect(try await log.verify().firstProblem == nil)
                    try await log.execute("UPDATE origin_heads SET seq = 1 WHERE origin = '\(origin)'")
                    let low = try await log.verify().firstProblem
                    #expect(low?.kind == .derivedColumn && low?.origin == origin && low?.originSeq == 2)
                    try await log.execute("UPDATE origin_heads SET seq = 2 WHERE origin = '\(origin)'")
                    try await log.execute("ALTER TABLE events DISABLE TRIGGER events_advance_heads")
                    let disabled = try await log.verify().firstProblem
                    #expect(disabled?.kind == .derivedColumn && disabled?.message.contains("events_advance_heads") == true)
                }
            }
        }
    }
}
