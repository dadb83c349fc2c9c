#!/usr/bin/env bash
# The HTTP sync benchmark in a release build. Usage: Tools/bench-http.sh [--events N] [--patients N] [--devices N] …
# Against a real `prolo serve` child process on 127.0.0.1, with in-process HTTPSyncClients: a fresh laptop's initial
# sync of a server store of N events (default 100 000), in-sync round trips (latency, bytes), and 50 devices
# recording and syncing at once (throughput, latency, errors, convergence). Prints Markdown (machine, date), or
# appends BenchRow JSON lines with --rows FILE. Machines here are noisy: compare ratios within one run.
# Builds `prolo` and `prolo-bench-http` in .build-bench-http so as not to disturb other builds.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product prolo --scratch-path .build-bench-http >&2
swift build -c release --product prolo-bench-http --scratch-path .build-bench-http >&2
exec .build-bench-http/release/prolo-bench-http "$@"
