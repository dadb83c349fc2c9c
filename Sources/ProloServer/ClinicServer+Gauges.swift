import Foundation
import ProloStore
import ProloSync

extension ClinicServer {
    /// The sizes of what the server keeps in memory, read when `/metrics` is asked: the store's connections and
    /// caches, the page sessions, the bulk export jobs, and the process's resident memory (issue 13: a growing RSS
    /// is told from a filling cache by reading these beside it).
    func gauges() -> [ServerMetrics.Gauge] {
        var gauges: [ServerMetrics.Gauge] = [
            .init("prolo_page_sessions", "Signed-in sessions of the clinic pages held in memory.", Double(sessions.count)),
            .init("prolo_page_sessions_limit", "The most page sessions held.", Double(PageSessions.capacity)),
            .init("prolo_bulk_export_jobs", "FHIR bulk export jobs held.", Double(bulkJobs.count)),
        ]
        if let sqlite = log as? SQLiteServerLog { gauges += Self.gauges(of: sqlite) }
        if let threads = Self.threadCount() {
            gauges.append(.init("process_threads", "Threads of this process.", Double(threads)))
        }
        if let resident = Self.residentBytes() {
            gauges.append(.init("process_resident_memory_bytes", "Resident memory size in bytes.", Double(resident)))
        }
        return gauges
    }

    /// A SQLite store's connections and caches, and the store threads' work.
    private static func gauges(of sqlite: SQLiteServerLog) -> [ServerMetrics.Gauge] {
        let caches = sqlite.store.caches()
        let work = sqlite.storeWork.load  // running and waiting read together
        let scopeVectors = sqlite.scopeVectors
        let storeWork = sqlite.storeWork
        return [
            .init("prolo_store_writer_connections", "Database connections that write (one per store).", 1),
            .init(
                "prolo_store_reader_connections", "Read-only database connections open (idle and in use).",
                Double(caches.readerConnections)),
            .init(
                "prolo_store_reader_pool_capacity", "The most read-only connections kept idle.",
                Double(caches.readerPoolCapacity)),
            .init(
                "prolo_sqlite_page_cache_bytes", "SQLite page cache in use: the writer's and the idle readers'.",
                Double(caches.writerPageCacheBytes + caches.idleReaderPageCacheBytes)),
            .init(
                "prolo_sqlite_writer_page_cache_limit_bytes",
                "The writer's SQLite page cache limit (PRAGMA cache_size).", Double(caches.writerPageCacheLimitBytes)),
            .init(
                "prolo_sqlite_memory_used_bytes",
                "Everything SQLite holds allocated: page caches of all connections, statements, temporary b-trees.",
                Double(caches.sqliteMemoryBytes)),
            .init(
                "prolo_sqlite_statements_cached", "Prepared statements kept for reuse (writer and idle readers).",
                Double(caches.cachedStatements)),
            .init(
                "prolo_scope_vector_events_cached",
                "Administrative events kept decoded for slices' version vectors (one per enrollment and revocation).",
                Double(scopeVectors.cachedEvents)),
            .init("prolo_store_work_running", "Requests' store work running now.", Double(work.running)),
            .init(
                "prolo_store_work_waiting", "Requests' store work waiting for a turn.", Double(work.waiting)),
            .init("prolo_store_work_limit", "The most store work run at once.", Double(storeWork.limit)),
        ]
    }

    /// VmRSS of this process from /proc (Linux); `nil` elsewhere.
    static func residentBytes() -> Int? {
        status("VmRSS:").map { $0 * 1024 }
    }

    /// The number of threads of this process from /proc (Linux); `nil` elsewhere.
    static func threadCount() -> Int? {
        status("Threads:")
    }

    /// The number after `field` in /proc/self/status.
    private static func status(_ field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) })
        else { return nil }
        return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }
    }
}
