/// The three libFuzzer targets and what each one does with an input.
///
/// The fuzz executables (`Tools/Fuzz/*/main.swift`) and the corpus replay test
/// (`Tests/ProloSyncTests/FuzzCorpusTests.swift`) run inputs through the same ``check(_:)``, so every committed
/// corpus file and finding is replayed by `swift test` in seconds, without a libFuzzer build.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `prolo-fuzz-event`: binary event records, JSON, event payloads, canonical envelopes and compressed bodies.
    case event
    /// `prolo-fuzz-bundle`: bundle files, as given and resealed with valid checksums.
    case bundle
    /// `prolo-fuzz-batch`: HTTP sync batches, as given and deflated by the harness.
    case batch

    /// Runs one input through the target's decoders. Decoders refusing the input is expected and ignored; a decoded
    /// value that breaks a round trip throws; a trap in a decoder (a failed precondition, an overflow, an
    /// out-of-bounds index) stops the process, which is what libFuzzer reports as a crash.
    public func check(_ input: [UInt8]) throws(FuzzCheckFailure) {
        switch self {
        case .event: try EventDecoderCheck.run(input)
        case .bundle: try BundleReaderCheck.run(input)
        case .batch: try BatchDecoderCheck.run(input)
        }
    }
}
