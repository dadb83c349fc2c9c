import Foundation
import ProloFuzzChecks
import ProloTestSupport
import Testing

/// Every committed fuzz input, replayed through the checks the libFuzzer targets run (see Tools/FUZZING.md): the
/// seeds in `Tools/Fuzz/corpus/TARGET/` and the findings in `Tools/Fuzz/findings/TARGET-*`. This is how CI runs the
/// fuzz targets, in seconds and without a libFuzzer build. A broken round trip fails the input's test case; a trap in
/// a decoder stops the test process, which fails the run just as well.
@Suite("Committed fuzz inputs")
struct FuzzCorpusTests {
    /// One committed input and the target that reads it.
    struct Input: Sendable, CustomTestStringConvertible {
        let target: FuzzTarget
        /// The path from the repository root: `Tools/Fuzz/corpus/event/record-00.bin`.
        let path: String

        var testDescription: String { path }
    }

    static let corpus = "Tools/Fuzz/corpus"
    static let findings = "Tools/Fuzz/findings"

    /// The files of a folder of the repository, as paths from its root, sorted; empty when the folder is missing.
    static func files(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.repositoryRoot + "/" + folder)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\($0)" }
    }

    /// The target a finding is for: the start of its name, up to the first `-` (`batch-64mib-allocation.batch`).
    static func target(ofFinding path: String) -> FuzzTarget? {
        let name = (path as NSString).lastPathComponent
        return name.split(separator: "-", maxSplits: 1).first.flatMap { FuzzTarget(rawValue: String($0)) }
    }

    /// Every corpus file and every finding whose name says its target.
    static func inputs() -> [Input] {
        let seeds = FuzzTarget.allCases.flatMap { target in
            files(in: "\(corpus)/\(target.rawValue)").map { Input(target: target, path: $0) }
        }
        let found = files(in: findings).compactMap { path in
            target(ofFinding: path).map { Input(target: $0, path: path) }
        }
        return seeds + found
    }

    @Test("every target has committed seeds, and every finding is named after the target that reads it")
    func everyInputIsReplayed() {
        for target in FuzzTarget.allCases {
            #expect(!Self.files(in: "\(Self.corpus)/\(target.rawValue)").isEmpty, "no seeds for \(target.rawValue)")
        }
        let unnamed = Self.files(in: Self.findings).filter { Self.target(ofFinding: $0) == nil }
        #expect(unnamed.isEmpty, "findings not named event-…, bundle-… or batch-…: \(unnamed)")
        #expect(Self.files(in: Self.findings).count >= 3)
    }

    @Test("each committed seed and finding goes through its target's checks without a crash", arguments: inputs())
    func replay(_ input: Input) throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.repositoryRoot + "/" + input.path))
        try input.target.check([UInt8](bytes))
    }
}
