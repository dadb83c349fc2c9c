#!/usr/bin/env bash
# The event-log benchmark in a release build. Usage: Tools/bench-event-log.sh [--events N] [--singles N] …
# Prints a Markdown table (machine, date, events/s, bytes per event). Machines here are noisy: compare
# ratios within one run, not absolute figures across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product prolo-bench >&2
exec .build/release/prolo-bench "$@"
