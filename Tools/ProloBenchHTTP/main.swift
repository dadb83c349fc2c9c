// Placeholder: filled in by the benchmark work (see Tools/BENCHMARKS.md).
print("not yet")
