#!/usr/bin/env bash
# The sync benchmark in a release build. Usage: Tools/bench-sync.sh [--events N] [--patients N] [--origins N] …
# Builds a clinic root of N events (default 100 000), exports it to bundles, imports them into fresh joined stores
# (and again, all present), and measures the in-sync exchange for a vector of 1 000 origins. Prints a Markdown
# table (machine, date). Machines here are noisy: compare ratios within one run, not absolute figures across runs.
# Builds in .build-bench so as not to disturb other builds.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product prolo-bench-sync --scratch-path .build-bench >&2
exec .build-bench/release/prolo-bench-sync "$@"
