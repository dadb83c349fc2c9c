import Foundation
import Synchronization

/// The server's Prometheus metrics: events appended, sync requests by route and outcome, batch latency.
///
/// Rendered in the Prometheus text exposition format at `GET /metrics`. Carries no personal data: labels are
/// route patterns and outcomes only.
public final class ServerMetrics: Sendable {
    private struct State {
        var eventsAppended = 0
        var eventsSent = 0
        var requests: [String: Int] = [:]  // "route|outcome" → count
        var latencyBuckets = Array(repeating: 0, count: ServerMetrics.bounds.count)
        var latencyCount = 0
        var latencySum = 0.0
    }

    /// Upper bounds of the batch-latency histogram, in seconds.
    static let bounds: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    private let state = Mutex(State())

    public init() {}

    /// Counts a request by route pattern and outcome (`ok`, `unauthenticated`, `forbidden`, `refused`, `error`).
    public func request(route: String, outcome: String) {
        state.withLock { $0.requests["\(route)|\(outcome)", default: 0] += 1 }
    }

    /// Counts events appended and records how long their batch took.
    public func batch(appended: Int, seconds: Double) {
        state.withLock { state in
            state.eventsAppended += appended
            state.latencyCount += 1
            state.latencySum += seconds
            for (index, bound) in Self.bounds.enumerated() where seconds <= bound { state.latencyBuckets[index] += 1 }
        }
    }

    /// Counts events sent to clients.
    public func sent(_ count: Int) {
        state.withLock { $0.eventsSent += count }
    }

    /// A value read when `/metrics` is asked (a cache's or pool's size): name, help text, value.
    public struct Gauge: Sendable {
        public let name: String
        public let help: String
        public let value: Double

        public init(_ name: String, _ help: String, _ value: Double) {
            self.name = name
            self.help = help
            self.value = value
        }
    }

    /// The text exposition format, the counters followed by `gauges`.
    public func render(gauges: [Gauge] = []) -> String {
        let snapshot = state.withLock { $0 }
        var lines: [String] = []
        lines.append("# HELP prolo_events_appended_total Events appended to the log from pushes.")
        lines.append("# TYPE prolo_events_appended_total counter")
        lines.append("prolo_events_appended_total \(snapshot.eventsAppended)")
        lines.append("# HELP prolo_events_sent_total Events sent to clients in pulls.")
        lines.append("# TYPE prolo_events_sent_total counter")
        lines.append("prolo_events_sent_total \(snapshot.eventsSent)")
        lines.append("# HELP prolo_sync_requests_total Requests by route and outcome.")
        lines.append("# TYPE prolo_sync_requests_total counter")
        for (key, count) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
            lines.append("prolo_sync_requests_total{route=\"\(parts[0])\",outcome=\"\(parts.count > 1 ? parts[1] : "")\"} \(count)")
        }
        lines.append("# HELP prolo_batch_seconds Time to verify and append one pushed batch.")
        lines.append("# TYPE prolo_batch_seconds histogram")
        for (index, bound) in Self.bounds.enumerated() {
            lines.append("prolo_batch_seconds_bucket{le=\"\(bound)\"} \(snapshot.latencyBuckets[index])")
        }
        lines.append("prolo_batch_seconds_bucket{le=\"+Inf\"} \(snapshot.latencyCount)")
        lines.append("prolo_batch_seconds_sum \(snapshot.latencySum)")
        lines.append("prolo_batch_seconds_count \(snapshot.latencyCount)")
        for gauge in gauges {
            lines.append("# HELP \(gauge.name) \(gauge.help)")
            lines.append("# TYPE \(gauge.name) gauge")
            let whole = gauge.value.rounded() == gauge.value && abs(gauge.value) < 1e15
            lines.append("\(gauge.name) \(whole ? String(Int64(gauge.value)) : String(gauge.value))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
