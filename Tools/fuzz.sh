#!/usr/bin/env bash
# Fuzzes the wire decoders with libFuzzer for a bounded time (see Tools/FUZZING.md). CI does not fuzz: `swift test`
# replays the committed corpus and findings through the same checks (Tests/ProloSyncTests/FuzzCorpusTests.swift).
#
#   Tools/fuzz.sh [SECONDS] [TARGET ...]
#
# SECONDS is the time per target (default 60); TARGETs are event, bundle and batch (default: all three).
# For each target it builds prolo-fuzz-TARGET with libFuzzer and AddressSanitizer in .build-fuzz (debug by default),
# writes the seed corpus with Tools/fuzz-seeds.py if Tools/Fuzz/corpus/TARGET is missing or empty, runs the
# fuzzer (at lower priority: builds elsewhere on the machine keep their share), and prints the executions and
# whether it found a crash. Inputs the fuzzer discovers go to .build-fuzz/corpus/TARGET (the committed seeds are
# only read); crash, timeout and out-of-memory inputs, and the logs, go to .build-fuzz/runs/DATE/.
#
# Exit status: 0 when no target crashed, 1 when one did, 2 on a build or usage error.
# Environment: FUZZ_ARGS, extra libFuzzer flags (for example "-max_len=65536" or "-seed=1");
# FUZZ_CONFIGURATION=release builds optimised, for long runs (`assert` is compiled out; preconditions, overflow
# and bounds checks stay).
# One fuzzing process at a time, at nice 10: the machine this was written on has two cores shared with builds.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: Tools/fuzz.sh [SECONDS] [event|bundle|batch ...]" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
targets=("$@")
((${#targets[@]})) || targets=(event bundle batch)

scratch=.build-fuzz
configuration=${FUZZ_CONFIGURATION:-debug}
[[ $configuration == debug || $configuration == release ]] ||
    { echo "fuzz.sh: FUZZ_CONFIGURATION is debug or release, not '$configuration'" >&2; exit 2; }
runs="$scratch/runs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$runs"

for target in "${targets[@]}"; do
    case $target in
    event | bundle | batch) ;;
    *) echo "fuzz.sh: unknown target '$target' (event, bundle, batch)" >&2; exit 2 ;;
    esac
done

for target in "${targets[@]}"; do
    product="prolo-fuzz-$target"
    echo "== $product: building ($configuration) with libFuzzer and AddressSanitizer in $scratch"
    # Not `--sanitize=fuzzer --sanitize=address`: SwiftPM keeps sanitizers in a Set and passes each as its own
    # `-sanitize=` flag in hash order, which changes from one run to the next, and swiftc honours only the last
    # one. Swift code then gets either coverage or ASan, never both, and every flip rebuilds everything. One
    # `--sanitize=fuzzer` (SwiftPM's libFuzzer linking) plus explicit combined flags is deterministic.
    # BoringSSL is left out of coverage (Tools/Fuzz/coverage-ignorelist.txt): instrumenting its crypto loops only
    # slowed every input down.
    if ! swift build -c "$configuration" --product "$product" --scratch-path "$scratch" --sanitize=fuzzer \
        -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address \
        -Xcc -fsanitize-coverage-ignorelist="$PWD/Tools/Fuzz/coverage-ignorelist.txt" >"$runs/$target-build.log" 2>&1; then
        grep -E "error:" "$runs/$target-build.log" | head -20 || tail -20 "$runs/$target-build.log"
        echo "fuzz.sh: building $product failed; see $runs/$target-build.log" >&2
        exit 2
    fi
done

seeds_missing=0
for target in "${targets[@]}"; do
    [[ -n "$(ls -A "Tools/Fuzz/corpus/$target" 2>/dev/null)" ]] || seeds_missing=1
done
if ((seeds_missing)); then
    echo "== writing seed corpora (Tools/fuzz-seeds.py)"
    python3 Tools/fuzz-seeds.py
fi

summary=()
crashed=0
for target in "${targets[@]}"; do
    product="prolo-fuzz-$target"
    corpus="$scratch/corpus/$target"
    mkdir -p "$corpus"
    log="$runs/$target.log"
    echo "== $product: fuzzing for ${seconds}s (log: $log)"
    # The first directory receives new inputs; the committed seeds are read only. Timeouts count from 20 s (the
    # machine may be busy); a single allocation over 512 MiB is a finding (the decoders' own limits are 64 MiB).
    # LeakSanitizer is off through ASAN_OPTIONS (which silences both libFuzzer's per-input check and the check at
    # exit): Swift packs pointers into enum spare bits, so it reports one-time globals (such as
    # BundleFormat.hpkeInfo) as leaks. Not with libFuzzer's -detect_leaks=0: that also removes the malloc hooks
    # that -malloc_limit_mb needs.
    # shellcheck disable=SC2086
    ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" nice -n 10 "$scratch/$configuration/$product" \
        "$corpus" "Tools/Fuzz/corpus/$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=20 \
        -malloc_limit_mb=512 -rss_limit_mb=2048 -artifact_prefix="$runs/$target-" \
        ${FUZZ_ARGS:-} >"$log" 2>&1 || true
    # libFuzzer prints final stats at a normal end; after a crash, the last progress line says how far it got.
    executions=$(grep -oE 'stat::number_of_executed_units:\s+[0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' ||
        grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || echo 0)
    speed=$(grep -oE 'stat::average_exec_per_sec:\s+[0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || echo 0)
    coverage=$(grep -oE '#[0-9]+\s+(INITED|NEW|REDUCE|pulse|DONE)\s+cov: [0-9]+' "$log" | tail -1 |
        grep -oE '[0-9]+$' || echo "?")
    artifacts=$(ls "$runs/$target-"{crash,leak,timeout,oom,slow-unit}-* 2>/dev/null || true)
    if [[ -n $artifacts ]]; then
        crashed=1
        status="FOUND $(echo "$artifacts" | wc -l) artifact(s)"
        grep -E "^==[0-9]+==ERROR|Fatal error|SUMMARY|ERROR: libFuzzer" "$log" | head -5 | sed 's/^/    /'
        echo "$artifacts" | sed 's/^/    /'
        first=$(echo "$artifacts" | head -1)
        echo "    reproduce: $scratch/$configuration/$product $first"
        echo "    minimise:  $scratch/$configuration/$product -minimize_crash=1 -max_total_time=60 $first" \
            "-exact_artifact_path=$first.min"
    elif grep -q "^Done [0-9]* runs" "$log"; then
        status="no crash"
    else
        crashed=1
        status="DID NOT FINISH (see $log)"
        tail -5 "$log" | sed 's/^/    /'
    fi
    summary+=("$(printf '%-18s %10s executions %7s exec/s  cov %6s  %s' \
        "$product" "$executions" "$speed" "$coverage" "$status")")
done

echo
echo "== summary ($seconds s per target, $configuration build; runs in $runs)"
printf '%s\n' "${summary[@]}"
exit $crashed
