#!/usr/bin/env bash
# The event-log benchmark in a release build. Usage: Tools/bench-event-log.sh [--events N] [--singles N] …
# Prints a Markdown table (machine, date, events/s, bytes per event). Machines here are noisy: compare
# ratios within one run, not absolute figures across runs. Builds in .build-bench so as not to disturb other builds.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product prolo-bench --scratch-path .build-bench >&2
exec .build-bench/release/prolo-bench "$@"
