#!/usr/bin/env bash
# The load test in a release build. Usage: Tools/load-test.sh [--devices N] [--duration S] [--pause S] [--sample S] …
# Runs a real `prolo serve` as a child process and N simulated devices (default 200: home devices and laptops, each
# with its own store and HTTPSyncClient, in this process) syncing in a loop (record a little, sync, short random
# pause) for S seconds (default 300). Prints throughput, p50/p99 latency, errors (must be 0), convergence and the
# server's RSS sampled every 10 s (must stay flat). Builds in .build-bench-http so as not to disturb other builds.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product prolo --scratch-path .build-bench-http >&2
swift build -c release --product prolo-bench-http --scratch-path .build-bench-http >&2
exec .build-bench-http/release/prolo-bench-http --load "$@"
