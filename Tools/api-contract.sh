#!/usr/bin/env bash
# Holds the HTTP API to Schemas/openapi.yaml with a client nobody here wrote: schemathesis (pinned, in a virtual
# environment), every check on (Tools/api-contract/schemathesis.toml; one exception there, with its reason), a fixed seed and a bounded number of examples, against a real `prolo serve` over
# a store holding the demo story, once with a token of each scope (clinic, audit, patient). Every route the
# document lists is exercised, so a route added later cannot drift from its contract. Exits 1 on any finding.
#
#   Tools/api-contract.sh [SEED]      (default seed 1; needs python3 with venv, and a built prolo)
#
# Environment: PROLO (the prolo binary; default .build/debug/prolo), SCHEMATHESIS_VENV (default
# .build-venv/schemathesis), API_CONTRACT_EXAMPLES (examples per operation, default 25).
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-1}
prolo=${PROLO:-.build/debug/prolo}
venv=${SCHEMATHESIS_VENV:-.build-venv/schemathesis}
[[ -x $prolo ]] || { echo "api-contract: $prolo is not built (swift build --product prolo)" >&2; exit 2; }
if [[ ! -x $venv/bin/st ]] || ! "$venv/bin/st" --version | grep -q "4.32.5"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==4.32.5"
fi

dir=$(mktemp -d)
server=
cleanup() { [[ -n $server ]] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

store=$dir/clinic.sqlite
"$prolo" demo story --store "$store" >/dev/null
patient=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["patient"])' < <("$prolo" patients --json --store "$store"))
root=$("$prolo" device key --store "$store")
"$prolo" init --device-name contract-tablet --trust "$root" --patient "$patient" --store "$dir/home.sqlite" >/dev/null
"$prolo" device enroll --name contract-tablet --role home --patient "$patient" \
    --public-key "$("$prolo" device key --store "$dir/home.sqlite")" --store "$store" >/dev/null
root_name=$("$prolo" device list --json --store "$store" | python3 -c \
    'import json,sys; print(next(d["name"] for d in json.load(sys.stdin) if d["role"] == "root"))')
declare -A tokens
tokens[clinic]=$("$prolo" token issue --device "$root_name" --scope clinic --store "$store" 2>/dev/null)
tokens[audit]=$("$prolo" token issue --device "$root_name" --scope audit --store "$store" 2>/dev/null)
tokens[patient]=$("$prolo" token issue --device contract-tablet --scope "patient:$patient" --store "$store" 2>/dev/null)

"$prolo" serve --store "$store" --port 0 2>"$dir/serve.log" >/dev/null &
server=$!
url=
for _ in $(seq 1 200); do
    url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$dir/serve.log" | head -1 || true)
    [[ -n $url ]] && break
    kill -0 "$server" 2>/dev/null || { cat "$dir/serve.log" >&2; exit 1; }
    sleep 0.05
done
[[ -n $url ]] || { echo "api-contract: prolo serve did not say where it listens" >&2; cat "$dir/serve.log" >&2; exit 1; }

status=0
for scope in clinic audit patient; do
    echo "== schemathesis against $url with a $scope token (seed $seed)"
    if ! PROLO_TOKEN=${tokens[$scope]} PROLO_PATIENT=$patient SCHEMATHESIS_HOOKS=Tools/api-contract/hooks.py \
        "$venv/bin/st" --config-file Tools/api-contract/schemathesis.toml run Schemas/openapi.yaml --url "$url" \
        --seed "$seed" --max-examples "${API_CONTRACT_EXAMPLES:-25}" --no-color >"$dir/st-$scope.log" 2>&1
    then
        status=1
        cat "$dir/st-$scope.log"
    else
        sed -n "/WARNINGS/,\$p" "$dir/st-$scope.log"
    fi
done
exit $status
