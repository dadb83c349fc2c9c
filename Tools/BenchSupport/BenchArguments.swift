// The benchmarks' command lines, parsed one way everywhere.
import Foundation

/// A benchmark's command line: `--name VALUE` options and bare `--flag`s; anything else prints `usage` and exits 64.
/// Integers may be written with underscores (`--events 1_000_000`); a value that does not parse leaves the
/// benchmark's default.
public struct BenchArguments {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    public init(_ arguments: [String] = CommandLine.arguments, options: [String], flags known: [String] = [], usage: String) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            if known.contains(argument) {
                flags.insert(argument)
                continue
            }
            guard options.contains(argument), let value = iterator.next() else {
                FileHandle.standardError.write(Data((usage + "\n").utf8))
                exit(64)
            }
            values[argument] = value
        }
    }

    /// The value of `--name`, as given.
    public func text(_ name: String) -> String? { values[name] }

    /// The value of `--name` as an integer.
    public func int(_ name: String) -> Int? { values[name].flatMap { Int($0.replacingOccurrences(of: "_", with: "")) } }

    /// The value of `--name` as a number.
    public func double(_ name: String) -> Double? { values[name].flatMap(Double.init) }

    /// Whether the bare `--name` was given.
    public func flag(_ name: String) -> Bool { flags.contains(name) }

    /// Where the benchmark keeps its stores: a folder of this process's own, under `--dir` or the temporary folder.
    public func directory(for tool: String) -> String {
        (values["--dir"] ?? NSTemporaryDirectory()) + "/\(tool)-\(getpid())"
    }
}
