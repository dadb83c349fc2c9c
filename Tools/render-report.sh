#!/usr/bin/env bash
# Renders a patient's audit report in headless Chromium and checks it, for a look by eye or in CI.
#
#   Tools/render-report.sh STORE PATIENT [OUTDIR]
#
# Writes OUTDIR/report.html (prolo audit report), OUTDIR/report.png (a 1000×1400 screenshot) and
# OUTDIR/report.dom.html (the DOM as the browser built it), then checks that the DOM holds the pain chart and
# that the browser logged no console message or uncaught error. Exits 1 when a check fails, 2 on usage,
# 3 when chromium is missing. PROLO=path/to/prolo picks the binary (default: prolo on PATH, else .build/debug/prolo).
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 STORE PATIENT [OUTDIR]" >&2
    exit 2
fi
store=$1
patient=$2
outdir=${3:-$(mktemp -d "${TMPDIR:-/tmp}/prolo-report.XXXXXX")}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

here=$(cd "$(dirname "$0")/.." && pwd)
prolo=${PROLO:-$(command -v prolo || echo "$here/.build/debug/prolo")}
chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$chromium" ]]; then
    echo "$0: chromium is not installed (apt-get install -y chromium)" >&2
    exit 3
fi

html=$outdir/report.html
png=$outdir/report.png
dom=$outdir/report.dom.html
log=$outdir/chromium.log
rm -f "$html" "$png" "$dom" "$log"

"$prolo" audit report --store "$store" --patient "$patient" --out "$html" >/dev/null
profile=$(mktemp -d "${TMPDIR:-/tmp}/prolo-chromium.XXXXXX")
trap 'rm -rf "$profile"' EXIT
flags=(--headless=new --no-sandbox --disable-gpu "--user-data-dir=$profile")

timeout 60 "$chromium" "${flags[@]}" "--screenshot=$png" --window-size=1000,1400 "file://$html" >/dev/null 2>&1
timeout 60 "$chromium" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$html" >"$dom" 2>"$log"

status=0
size=$(stat -c %s "$png" 2>/dev/null || echo 0)
if [[ "$size" -lt 30000 ]]; then
    echo "FAIL: screenshot $png is $size bytes" >&2
    status=1
fi
if ! grep -q '<svg' "$dom"; then
    echo "FAIL: no <svg> in the DOM ($dom)" >&2
    status=1
fi
in_file=$(grep -o '<circle class="pain-point ' "$html" | wc -l)
in_dom=$(grep -o '<circle class="pain-point ' "$dom" | wc -l)
if [[ "$in_file" -ne "$in_dom" ]]; then
    echo "FAIL: $in_file pain points in the file, $in_dom in the DOM" >&2
    status=1
fi
if grep -iE 'uncaught|console' "$log" >&2; then
    echo "FAIL: the browser logged the lines above" >&2
    status=1
fi
echo "report  $html"
echo "png     $png ($size bytes)"
echo "dom     $dom ($in_dom pain points)"
exit $status
