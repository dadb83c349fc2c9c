// Clocks, memory and machine facts for the benchmarks' tables.
import Foundation

/// Monotonic nanoseconds.
public func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Seconds elapsed since `start` (a ``now()`` value).
public func seconds(since start: UInt64) -> Double { Double(now() - start) / 1e9 }

/// Runs `body` and returns its result with the seconds it took.
public func timed<Result>(_ body: () throws -> Result) rethrows -> (Result, Double) {
    let start = now()
    let result = try body()
    return (result, seconds(since: start))
}

/// A field of /proc/self/status in MiB (`VmHWM`: peak resident set; `VmRSS`: current); 0 where not available.
public func statusMegabytes(_ field: String, pid: Int32? = nil) -> Double {
    let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
    guard let status = try? String(contentsOfFile: path, encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") })
    else { return 0 }
    let kilobytes = Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "0") ?? 0
    return kilobytes / 1024
}

/// This process's peak resident set so far, in MiB.
public func peakRSSMegabytes() -> Double { statusMegabytes("VmHWM") }

/// Resets VmHWM to the current RSS (Linux ≥ 4.0: `echo 5 > /proc/self/clear_refs`); false where not allowed.
public func resetPeakRSS() -> Bool {
    guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? handle.close() }
    do {
        try handle.write(contentsOf: Data("5".utf8))
        return true
    } catch {
        return false
    }
}

/// "2 cores, AMD EPYC …": the machine a table came from.
public func machine() -> String {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
        .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(model)"
}

/// A file's size in bytes (0 when missing).
public func fileBytes(_ path: String) -> Int {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
}

/// A store's size on disk with its WAL, in MiB.
public func fileMegabytes(_ path: String) -> Double {
    Double(fileBytes(path) + fileBytes(path + "-wal")) / 1_048_576
}

/// `value` with `digits` decimals.
public func format(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

/// A progress line on stderr, prefixed with the tool's name and the seconds since it started.
public enum BenchProgress {
    nonisolated(unsafe) public static var tool = "prolo-bench"
    public static let start = now()

    public static func note(_ text: String) {
        FileHandle.standardError.write(Data("\(tool) [\(format(seconds(since: start), 1)) s]: \(text)\n".utf8))
    }
}

/// One row of the common benchmark table (Tools/bench): what was measured, how much, how fast, how big.
public struct BenchRow: Sendable {
    public var workload: String
    public var size: String
    public var eventsPerSecond: Double?
    public var bytesPerEvent: Double?
    public var peakRSSMegabytes: Double?
    public var note: String

    public init(
        _ workload: String, size: String, eventsPerSecond: Double? = nil, bytesPerEvent: Double? = nil,
        peakRSSMegabytes: Double? = nil, note: String = ""
    ) {
        self.workload = workload
        self.size = size
        self.eventsPerSecond = eventsPerSecond
        self.bytesPerEvent = bytesPerEvent
        self.peakRSSMegabytes = peakRSSMegabytes
        self.note = note
    }

    /// The row as one JSON line, which Tools/bench collects from every benchmark (`--rows FILE`).
    public var jsonLine: String {
        func number(_ value: Double?) -> String { value.map { $0.isFinite ? format($0, 1) : "null" } ?? "null" }
        func text(_ value: String) -> String {
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return "{\"workload\":\(text(workload)),\"size\":\(text(size)),\"eventsPerSecond\":\(number(eventsPerSecond)),"
            + "\"bytesPerEvent\":\(number(bytesPerEvent)),\"peakRSSMiB\":\(number(peakRSSMegabytes)),\"note\":\(text(note))}"
    }

    /// Appends rows to `path` as JSON lines (nothing when `path` is nil).
    public static func append(_ rows: [BenchRow], to path: String?) {
        guard let path else { return }
        let text = rows.map(\.jsonLine).joined(separator: "\n") + "\n"
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data(text.utf8))
            try? handle.close()
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        }
    }
}
