#!/usr/bin/env bash
# Builds the static HTML documentation (DocC) of the library modules, without any package plugin:
#   1. swift build of the library targets with symbol graphs (scratch path .build-docs, never .build);
#   2. for each module, docc convert of Sources/M/M.docc with that module's symbol graphs only.
# Fails when docc warns about anything in a catalog (an unresolved ``Symbol`` or <doc:Article> link,
# for one); with --strict, also on warnings in the doc comments of Sources/.
#
# Usage: Tools/docs.sh [--strict] [--skip-build] [MODULE ...]      (default: every library module)
# Output: .build-docs/docs/<Module>.doccarchive, one static site per module, and with every module
#         .build-docs/docs/Prolo.doccarchive, all of them in one site (docc merge).
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_MODULES=(ProloDomain ProloStore ProloProjections ProloSync ProloAudit ProloHTTPSync ProloServer)
SCRATCH=.build-docs
GRAPHS="$PWD/$SCRATCH/symbol-graphs"
OUT="$SCRATCH/docs"
strict=0
skip_build=0
modules=()
for argument in "$@"; do
    case "$argument" in
        --strict) strict=1 ;;
        --skip-build) skip_build=1 ;;
        -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        -*) echo "docs.sh: unknown option $argument (see --help)" >&2; exit 64 ;;
        *)
            if [[ ! -d "Sources/$argument/$argument.docc" ]]; then
                echo "docs.sh: no catalog Sources/$argument/$argument.docc" >&2
                exit 64
            fi
            modules+=("$argument") ;;
    esac
done
((${#modules[@]})) || modules=("${ALL_MODULES[@]}")

# docc ships beside swift in the toolchain (/opt/swift/usr/bin here); `xcrun docc` on macOS.
DOCC="${DOCC:-}"
if [[ -z "$DOCC" ]]; then
    if command -v docc >/dev/null 2>&1; then
        DOCC=$(command -v docc)
    elif [[ -x "$(dirname "$(readlink -f "$(command -v swift)")")/docc" ]]; then
        DOCC="$(dirname "$(readlink -f "$(command -v swift)")")/docc"
    elif command -v xcrun >/dev/null 2>&1; then
        DOCC=$(xcrun --find docc)
    else
        echo "docs.sh: docc not found; set DOCC=/path/to/docc" >&2
        exit 69
    fi
fi

started=$SECONDS

# 1. Symbol graphs. The compiler writes them when it emits a module, so a module that an earlier run built
#    (and that has not changed) gets none: its stale graphs are removed first, and a module left without a
#    graph has its .swiftmodule removed so that the next build emits it, and its graph, again.
symbol_graph_flags=(-Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$GRAPHS")
build_targets() {
    # ProloServer pulls in every library module but ProloAudit; ProloAudit the rest.
    local target log
    for target in ProloServer ProloAudit; do
        log="$SCRATCH/docs-build-$target.log"
        echo "== swift build --scratch-path $SCRATCH --target $target (symbol graphs in $SCRATCH/symbol-graphs)"
        if ! swift build --scratch-path "$SCRATCH" --target "$target" "${symbol_graph_flags[@]}" >"$log" 2>&1; then
            cat "$log" >&2
            echo "docs.sh: swift build --target $target failed" >&2
            exit 1
        fi
        # Package-level warnings (unhandled files) and the closing line; compiler warnings only counted.
        grep -E '^(warning|error):|^    /|^Build of target' "$log" || true
        local compiler_warnings
        compiler_warnings=$(grep -cE '^/[^ ]*:[0-9]+:[0-9]+: warning:' "$log" || true)
        ((compiler_warnings == 0)) || echo "   ($compiler_warnings compiler warning(s) in the code, not the docs: $log)"
        # A catalog SwiftPM does not recognise would show up as an unhandled file of our own sources.
        if grep -qE "^    $PWD/Sources/" "$log"; then
            echo "docs.sh: SwiftPM does not handle some files under Sources/ (above)" >&2
            exit 1
        fi
    done
}
if ((!skip_build)); then
    mkdir -p "$GRAPHS"
    for module in "${ALL_MODULES[@]}"; do rm -f "$GRAPHS/$module.symbols.json" "$GRAPHS/$module@"*.symbols.json; done
    build_targets
    rebuild=()
    for module in "${ALL_MODULES[@]}"; do
        [[ -f "$GRAPHS/$module.symbols.json" ]] || rebuild+=("$module")
    done
    if ((${#rebuild[@]})); then
        echo "== re-emitting up-to-date modules for their symbol graphs: ${rebuild[*]}"
        build_dir=$(swift build --scratch-path "$SCRATCH" --show-bin-path)
        for module in "${rebuild[@]}"; do
            rm -f "$build_dir/Modules/$module.swiftmodule" "$build_dir/$module.swiftmodule"
        done
        build_targets
    fi
fi

# 2. One archive per module, from its catalog and its own graphs (M.symbols.json and its extension graphs
#    M@Other.symbols.json), so no module's pages pick up another's symbols.
mkdir -p "$OUT"
catalog_warnings=0
source_warnings=0
for module in "${modules[@]}"; do
    graphs="$SCRATCH/symbol-graphs-by-module/$module"
    rm -rf "$graphs"
    mkdir -p "$graphs"
    if [[ ! -f "$GRAPHS/$module.symbols.json" ]]; then
        echo "docs.sh: no symbol graph for $module (run without --skip-build)" >&2
        exit 1
    fi
    cp "$GRAPHS/$module.symbols.json" "$graphs/"
    for extension in "$GRAPHS/$module@"*.symbols.json; do
        if [[ -e "$extension" ]]; then cp "$extension" "$graphs/"; fi
    done
    archive="$OUT/$module.doccarchive"
    log="$SCRATCH/docs-$module.log"
    rm -rf "$archive"
    echo "== docc convert $module"
    if ! "$DOCC" convert "Sources/$module/$module.docc" \
        --fallback-display-name "$module" \
        --fallback-bundle-identifier "org.prolo.$module" \
        --additional-symbol-graph-dir "$graphs" \
        --output-path "$archive" \
        --transform-for-static-hosting \
        --ide-console-output >"$log" 2>&1; then
        cat "$log" >&2
        echo "docs.sh: docc convert failed for $module" >&2
        exit 1
    fi
    # --ide-console-output writes one "path:line:col: warning: …" line per diagnostic.
    in_catalog=$(grep -E "^[^ ]*/Sources/$module/$module\.docc/[^:]*:[0-9]+:[0-9]+: (warning|error):" "$log" || true)
    in_sources=$(grep -E "^[^ ]*\.swift:[0-9]+:[0-9]+: (warning|error):" "$log" || true)
    other=$(grep -E ": (warning|error):" "$log" | grep -v -F "/Sources/$module/$module.docc/" \
        | grep -v -E '\.swift:[0-9]+:[0-9]+:' || true)
    if [[ -n "$in_catalog" ]]; then
        echo "$in_catalog" | sed "s|^$PWD/||"
        catalog_warnings=$((catalog_warnings + $(echo "$in_catalog" | wc -l)))
    fi
    if [[ -n "$other" ]]; then
        echo "$other" | sed "s|^$PWD/||"
        catalog_warnings=$((catalog_warnings + $(echo "$other" | wc -l)))
    fi
    if [[ -n "$in_sources" ]]; then
        count=$(echo "$in_sources" | wc -l)
        source_warnings=$((source_warnings + count))
        if ((strict)); then
            echo "$in_sources" | sed "s|^$PWD/||"
        else
            echo "   $count doc-comment warning(s) in Sources/$module (shown with --strict; full log: $log)"
        fi
    fi
done

# 3. With every module built, one combined site as well: a landing page listing the modules.
combined=""
if ((${#modules[@]} == ${#ALL_MODULES[@]})); then
    combined="$OUT/Prolo.doccarchive"
    rm -rf "$combined"
    archives=()
    for module in "${modules[@]}"; do archives+=("$OUT/$module.doccarchive"); done
    echo "== docc merge (all modules in $combined)"
    if ! "$DOCC" merge "${archives[@]}" --synthesized-landing-page-name Prolo --output-path "$combined" \
        >"$SCRATCH/docs-merge.log" 2>&1; then
        cat "$SCRATCH/docs-merge.log" >&2
        echo "docs.sh: docc merge failed" >&2
        exit 1
    fi
fi

elapsed=$((SECONDS - started))
echo
if ((catalog_warnings)); then
    echo "docs.sh: $catalog_warnings warning(s) in the documentation catalogs (above); fix them" >&2
    exit 1
fi
if ((strict && source_warnings)); then
    echo "docs.sh: $source_warnings warning(s) in doc comments (above; --strict)" >&2
    exit 1
fi
echo "Documentation built in ${elapsed}s: ${#modules[@]} archive(s) in $OUT/, no catalog warnings."
for module in "${modules[@]}"; do
    printf '  %-18s %s\n' "$module" "$OUT/$module.doccarchive"
done
if [[ -n "$combined" ]]; then
    printf '  %-18s %s\n' "(all, combined)" "$combined"
    cat <<EOF
To view (each archive is a static site):
  cd $combined && python3 -m http.server 8000
  then open http://localhost:8000/documentation/ (every module), or /documentation/prolodomain and so on
EOF
else
    first="${modules[0]}"
    cat <<EOF
To view (each archive is a static site):
  cd $OUT/$first.doccarchive && python3 -m http.server 8000
  then open http://localhost:8000/documentation/$(echo "$first" | tr '[:upper:]' '[:lower:]')
EOF
fi
