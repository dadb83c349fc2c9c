import ProloDomain
import Testing

/// Inputs that trapped, kept so the crash cannot come back (see Tools/FUZZING.md).
///
/// Each case runs in a child process (an exit test), so a case that still traps fails that one test instead of
/// taking the whole test run down with it.
@Suite("Inputs that once trapped are refused or handled without trapping")
struct FuzzRegressionTests {
    /// `{"a": Int64.max, "b": 1}` parses as a version vector, and `eventCount` then sums the heads with `+`,
    /// which traps on overflow (`prolo sync export --for-vector FILE` died with SIGILL at SyncCommand.swift:119).
    /// Found by reading the code the bundle fuzzer reaches, not by the fuzzer. Refusing such a vector when it is
    /// parsed is as good a fix as counting it without trapping.
    @Test("a version vector whose heads add up past Int64.max is refused or counted without trapping")
    func versionVectorEventCountOverflow() async {
        await #expect(processExitsWith: .success) {
            let json = Array(#"{"a":9223372036854775807,"b":1}"#.utf8)
            if let vector = try? VersionVector(json: json) {
                _ = vector.eventCount
            }
        }
    }
}
