// libFuzzer entry point; see Tools/fuzz.sh. Without -sanitize=fuzzer this builds as an executable that does nothing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    0
}
