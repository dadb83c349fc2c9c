import Foundation
import ProloDomain
import ProloHTTPSync
import ProloServer
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

@Suite("Server metrics")
struct MetricsTests {
    /// The samples of a Prometheus text exposition: `name{labels}` → value.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    @Test("/metrics after some pushes reports events appended and requests by route and outcome, without personal data")
    func metricsAfterPushes() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let laptop = try clinic.addDevice("laptop", role: .clinic)
            try clinic.addDevice("auditor", role: .audit)
            var random = SeededGenerator(seed: 9)
            let token = try root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil).1
            let audit = try root.store.issueToken(device: "auditor", scope: "audit", expiresAt: nil).1

            try await withServer(device: root) { server in
                let before = Self.samples(try await rawRequest("GET", server.url("/metrics")).text)
                #expect(before["prolo_events_appended_total"] == 0)

                // Three batches pushed by hand, then a sync that pushes more.
                var pushed = 0
                for _ in 0..<3 {
                    let events = try ClinicalDrafts.record(4, on: laptop, patients: ["p-1", "p-2"], using: &random)
                    let response = try await rawRequest(
                        "POST", server.url("/v1/sync/push"), token: token,
                        body: try SyncWire.encodeBatch(events.map { EventWireCodec.encode($0.event) }),
                        contentType: SyncWire.batchContentType)
                    #expect(response.status == 200)
                    pushed += 4
                }
                try ClinicalDrafts.record(5, on: laptop, patients: ["p-1"], using: &random)
                let report = try await HTTPSyncClient(server: server.baseURL, token: token, store: laptop.store).sync()
                #expect(report.sent == 5)
                pushed += 5
                // Refusals: no token, and an audit token pushing.
                #expect(
                    try await rawRequest("POST", server.url("/v1/sync/push"), body: try SyncWire.encodeBatch([])).status
                        == 401)
                #expect(
                    try await rawRequest(
                        "POST", server.url("/v1/sync/push"), token: audit, body: try SyncWire.encodeBatch([])
                    ).status == 403)

                let response = try await rawRequest("GET", server.url("/metrics"))
                #expect(response.status == 200)
                #expect(response.header("Content-Type")?.hasPrefix("text/plain") == true)
                let samples = Self.samples(response.text)
                let appended = try #require(
                    samples["prolo_events_appended_total"], "no prolo_events_appended_total in\n\(response.text)")
                #expect(appended > 0)
                #expect(appended == Double(pushed))
                // The one pull sent the laptop what only the server held: the root's own (enrollment) events.
                let rootOwn = try root.store.events(EventFilter(origin: root.store.identity.origin)).count
                #expect(samples["prolo_events_sent_total"] == Double(rootOwn))
                #expect(samples[#"prolo_sync_requests_total{route="/v1/sync/push",outcome="ok"}"#] == 4)
                #expect(samples[#"prolo_sync_requests_total{route="/v1/sync/push",outcome="unauthenticated"}"#] == 1)
                #expect(samples[#"prolo_sync_requests_total{route="/v1/sync/push",outcome="forbidden"}"#] == 1)
                #expect(samples[#"prolo_sync_requests_total{route="/v1/sync/summary",outcome="ok"}"#] == 1)
                #expect((samples[#"prolo_sync_requests_total{route="/v1/sync/pull",outcome="ok"}"#] ?? 0) >= 1)
                #expect(samples["prolo_batch_seconds_count"] == 4)
                #expect(samples[#"prolo_batch_seconds_bucket{le="+Inf"}"#] == 4)
                // Caches and pools, read when asked: one connection, a page cache in use within its limit, the
                // statements the routes prepared, no page sessions or bulk jobs yet, and the process's RSS.
                #expect(samples["prolo_store_writer_connections"] == 1)
                let readers = try #require(samples["prolo_store_reader_connections"], "no readers in\n\(response.text)")
                #expect(readers >= 1 && readers <= samples["prolo_store_reader_pool_capacity"] ?? 0)
                #expect((samples["prolo_sqlite_page_cache_bytes"] ?? 0) > 0)
                #expect(samples["prolo_sqlite_writer_page_cache_limit_bytes"] == Double(16 << 20))
                #expect((samples["prolo_sqlite_statements_cached"] ?? 0) > 0)
                #expect((samples["prolo_sqlite_memory_used_bytes"] ?? 0) >= (samples["prolo_sqlite_page_cache_bytes"] ?? 0))
                #expect(samples["prolo_page_sessions"] == 0 && samples["prolo_page_sessions_limit"] == 10_000)
                #expect(samples["prolo_bulk_export_jobs"] == 0)
                // No home device asked for its slice's vector: no administrative event decoded for one.
                #expect(samples["prolo_scope_vector_events_cached"] == 0)
                #expect((samples["process_resident_memory_bytes"] ?? 0) > 1_000_000)
                // The store work of requests is bounded; this request's own /metrics runs no store work.
                #expect(samples["prolo_store_work_limit"] == 9)
                #expect(samples["prolo_store_work_running"] == 0 && samples["prolo_store_work_waiting"] == 0)
                #expect((samples["process_threads"] ?? 0) >= 1)
                // No patient ids, device names or tokens in the labels.
                for secret in ["p-1", "p-2", "laptop", "auditor", token] {
                    #expect(!response.text.contains(secret), "/metrics mentions \(secret)")
                }
            }
        }
    }
}
