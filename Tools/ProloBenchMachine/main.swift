// The machine's Ed25519 limits, the references issue 13's append and verification aims are ratios to: signatures
// made and checked per second on every core at once (one thread per core, each with its own key, for a fixed time),
// and on one core. It uses swift-crypto's Curve25519.Signing, which on Linux is BoringSSL's ED25519_sign/verify —
// the library and the calls Prolo's EventSealer and EventStore make — over 32-byte messages, as Prolo signs an
// event's 32-byte hash. Rows go to `--rows FILE` as JSON lines (Tools/bench's BenchRow format).
//
//   prolo-bench-machine [--seconds S] [--threads N] [--rows FILE]
import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct Options {
    var seconds = 3.0
    var threads = ProcessInfo.processInfo.activeProcessorCount
    var rows: String?

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            func value() -> String {
                guard let value = iterator.next() else { fail("\(argument) needs a value") }
                return value
            }
            switch argument {
            case "--seconds": seconds = Double(value()) ?? { fail("--seconds takes a number") }()
            case "--threads": threads = Int(value()) ?? { fail("--threads takes a whole number") }()
            case "--rows": rows = value()
            case "--dir": _ = value()  // Tools/bench passes it to every benchmark; nothing is stored here
            case "-h", "--help":
                print("usage: prolo-bench-machine [--seconds S] [--threads N] [--rows FILE]")
                exit(0)
            default: fail("unknown argument \(argument)")
            }
        }
        if seconds <= 0 || threads < 1 { fail("--seconds must be > 0 and --threads ≥ 1") }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("prolo-bench-machine: \(message)\n".utf8))
    exit(2)
}

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func cpuSeconds() -> Double {
    var usage = rusage()
    #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
        getrusage(RUSAGE_SELF, &usage)
    #endif
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

enum Operation: String { case sign, verify }

/// One worker's loop: `operation` over and over until `deadline`, counted. Each worker has its own key and message
/// (32 bytes, like an event hash); verification checks a signature made before the clock starts.
///
/// `@unchecked Sendable` is safe: the lets are set before the worker's thread starts; `count` and `failures` are
/// written only by that thread, once, before it leaves the `done` group, and read by the main thread only after
/// `done.wait()` returns, which orders the write before the read.
final class Worker: @unchecked Sendable {
    let operation: Operation
    let key: Curve25519.Signing.PrivateKey
    let publicKey: Curve25519.Signing.PublicKey
    let message: [UInt8]
    let signature: Data
    var count = 0
    var failures = 0

    init(_ operation: Operation, seed: UInt8) throws {
        self.operation = operation
        key = Curve25519.Signing.PrivateKey()
        publicKey = key.publicKey
        message = (0..<32).map { UInt8(truncatingIfNeeded: Int($0) &* 31 &+ Int(seed)) }
        signature = try key.signature(for: message)
    }

    func run(until deadline: Double) {
        var count = 0
        var failures = 0
        var message = message
        while true {
            for _ in 0..<64 {
                switch operation {
                case .sign:
                    // Vary the message so no work can be hoisted out of the loop.
                    message[0] = UInt8(truncatingIfNeeded: count)
                    if (try? key.signature(for: message)) == nil { failures += 1 }
                case .verify:
                    if !publicKey.isValidSignature(signature, for: self.message) { failures += 1 }
                }
                count += 1
            }
            if now() >= deadline { break }
        }
        self.count = count
        self.failures = failures
    }
}

struct Rate {
    let operations: Int
    let seconds: Double
    let cpu: Double
    var perSecond: Double { Double(operations) / seconds }
    /// Operations per CPU-second: what one core does when it is not shared (the machine here is), so
    /// `perCPUSecond × cores` is the rate on idle cores.
    var perCPUSecond: Double { cpu > 0 ? Double(operations) / cpu : .nan }
}

/// Runs `threads` workers at once for `seconds`, each on its own thread, and counts what they did.
func measure(_ operation: Operation, threads: Int, seconds: Double) throws -> Rate {
    let workers = try (0..<threads).map { try Worker(operation, seed: UInt8(truncatingIfNeeded: $0)) }
    let ready = DispatchGroup()
    let done = DispatchGroup()
    let start = DispatchSemaphore(value: 0)
    let box = DeadlineBox()
    for worker in workers {
        ready.enter()
        done.enter()
        let thread = Thread {
            ready.leave()
            start.wait()
            worker.run(until: box.deadline)
            done.leave()
        }
        thread.start()
    }
    ready.wait()
    let cpuBefore = cpuSeconds()
    let began = now()
    box.deadline = began + seconds
    for _ in workers { start.signal() }
    done.wait()
    let elapsed = now() - began
    let cpu = cpuSeconds() - cpuBefore
    if workers.contains(where: { $0.failures > 0 }) { fail("\(operation.rawValue): an operation failed") }
    return Rate(operations: workers.reduce(0) { $0 + $1.count }, seconds: elapsed, cpu: cpu)
}

/// The moment the workers stop. `@unchecked Sendable` is safe: the main thread writes it once, before it signals
/// `start`, and the workers read it only after `start.wait()` returns, which orders the write before every read.
final class DeadlineBox: @unchecked Sendable {
    var deadline = 0.0
}

func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

func text(_ value: String) -> String {
    "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

func rowLine(_ workload: String, size: String, rate: Double, note: String) -> String {
    "{\"workload\":\(text(workload)),\"size\":\(text(size)),\"eventsPerSecond\":\(format(rate, 1)),"
        + "\"bytesPerEvent\":null,\"peakRSSMiB\":null,\"note\":\(text(note))}"
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let cores = ProcessInfo.processInfo.activeProcessorCount
var lines: [String] = []
var markdown = [
    "## Machine: Ed25519 (swift-crypto Curve25519.Signing, BoringSSL), 32-byte messages", "",
    "| workload | threads | operations | seconds | per second | per thread-second | CPU cores busy | per CPU-second |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
]
for operation in [Operation.sign, .verify] {
    let one = try measure(operation, threads: 1, seconds: options.seconds / 2)
    let all = try measure(operation, threads: options.threads, seconds: options.seconds)
    for (threads, rate) in [(1, one), (options.threads, all)] {
        markdown.append(
            "| Ed25519 \(operation.rawValue) | \(threads) | \(rate.operations) | \(format(rate.seconds, 2)) "
                + "| \(format(rate.perSecond, 0)) | \(format(rate.perSecond / Double(threads), 0)) "
                + "| \(format(rate.cpu / rate.seconds, 2)) | \(format(rate.perCPUSecond, 0)) |")
    }
    let speedup = all.perSecond / one.perSecond
    lines.append(
        rowLine(
            "machine: Ed25519 \(operation == .sign ? "signing" : "verification"), all cores "
                + "(swift-crypto / BoringSSL, one thread per core)",
            size: "\(all.operations) signatures", rate: all.perSecond,
            note: "\(options.threads) threads on \(cores) cores for \(format(all.seconds, 1)) s, "
                + "\(format(all.cpu / all.seconds, 2)) cores busy (the rest went to other processes); one thread: "
                + "\(format(one.perSecond, 0))/s, all cores ×\(format(speedup, 2)); per CPU-second "
                + "\(format(all.perCPUSecond, 0)) (\(format(1e6 / all.perCPUSecond, 1)) µs each), so idle cores would "
                + "give ≈ \(format(all.perCPUSecond * Double(cores), 0))/s; 32-byte messages"))
}
print(markdown.joined(separator: "\n"))
if let path = options.rows {
    let data = Data((lines.joined(separator: "\n") + "\n").utf8)
    if let handle = FileHandle(forWritingAtPath: path) {
        handle.seekToEndOfFile()
        handle.write(data)
        try? handle.close()
    } else if !FileManager.default.createFile(atPath: path, contents: data) {
        fail("cannot write \(path)")
    }
}
