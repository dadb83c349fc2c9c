// libFuzzer entry point of prolo-fuzz-bundle: bundle files, as given and resealed with valid checksums.
// See Tools/fuzz.sh and Tools/FUZZING.md. Without -sanitize=fuzzer this builds as an executable that does nothing
// (SwiftPM renames `main`; nothing here runs at top level). The checks are FuzzTarget.bundle in ProloFuzzChecks,
// which the corpus replay test (Tests/ProloSyncTests/FuzzCorpusTests.swift) runs too.
import ProloFuzzChecks

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    do {
        try FuzzTarget.bundle.check(Array(UnsafeRawBufferPointer(start: start, count: count)))
    } catch {
        preconditionFailure(error.description)
    }
    return 0
}
