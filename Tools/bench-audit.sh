#!/usr/bin/env bash
# The audit verify benchmark in a release build. Usage: Tools/bench-audit.sh [--events N] [--patients N] …
# Records N events (default 1 000 000 over 10 000 patients) into a store, runs the verification `prolo audit verify`
# runs (ChainVerifier) in process — events/s, VmRSS sampled at every page to show memory stays flat, VmHWM reset
# before it — and then the real `prolo audit verify --store FILE --json` as a child process (wall time, peak RSS).
# Prints a Markdown table (machine, date). Machines here are noisy: compare ratios within one run, not absolute
# figures across runs. Builds `prolo` and `prolo-bench-audit` in .build-bench so as not to disturb other builds; the
# store goes to $TMPDIR (about 0.6 GiB at full size; --dir DIR to put it elsewhere, --keep to keep it, --store FILE
# to verify an existing store instead of building one).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product prolo --scratch-path .build-bench >&2
swift build -c release --product prolo-bench-audit --scratch-path .build-bench >&2
exec .build-bench/release/prolo-bench-audit "$@"
