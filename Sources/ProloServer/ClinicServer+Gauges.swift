import Foundation
import ProloStore

extension ClinicServer {
    /// The sizes of what the server keeps in memory, read when `/metrics` is asked: the store's connection pool and
    /// caches, the page sessions, the bulk export jobs, and the process's resident memory (issue 13: a growing RSS
    /// is told from a filling cache by reading these beside it).
    func gauges() -> [ServerMetrics.Gauge] {
        var gauges: [ServerMetrics.Gauge] = []
        if let caches = try? store.caches() {
            gauges += [
                .init(
                    "prolo_store_connections", "Database connections in the store's pool.", Double(caches.connections)),
                .init("prolo_sqlite_page_cache_bytes", "SQLite page cache in use.", Double(caches.pageCacheBytes)),
                .init(
                    "prolo_sqlite_page_cache_limit_bytes", "SQLite page cache limit (PRAGMA cache_size).",
                    Double(caches.pageCacheLimitBytes)),
                .init(
                    "prolo_sqlite_statements_cached", "Prepared statements kept for reuse.",
                    Double(caches.cachedStatements)),
            ]
        }
        gauges += [
            .init(
                "prolo_page_sessions", "Signed-in sessions of the clinic pages held in memory.", Double(sessions.count)),
            .init("prolo_page_sessions_limit", "The most page sessions held.", Double(PageSessions.capacity)),
            .init("prolo_bulk_export_jobs", "FHIR bulk export jobs held.", Double(bulkJobs.count)),
        ]
        if let resident = Self.residentBytes() {
            gauges.append(.init("process_resident_memory_bytes", "Resident memory size in bytes.", Double(resident)))
        }
        return gauges
    }

    /// VmRSS of this process from /proc (Linux); `nil` elsewhere.
    static func residentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return nil }
        return kilobytes * 1024
    }
}
