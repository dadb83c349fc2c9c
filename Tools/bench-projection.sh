#!/usr/bin/env bash
# The projection benchmark in a release build. Usage: Tools/bench-projection.sh [--events N] [--patients N] …
# Loads N events (default 1 000 000 over 10 000 patients) into a projected store, times `rebuild()` (events/s,
# RSS) and the projection's cost per append. Prints a Markdown table (machine, date). Machines here are noisy:
# compare ratios within one run, not absolute figures across runs. Builds in .build-bench so as not to disturb
# other builds; the store goes to $TMPDIR (a few GiB at full size; --dir DIR to put it elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product prolo-bench-projection --scratch-path .build-bench >&2
exec .build-bench/release/prolo-bench-projection "$@"
