#!/usr/bin/env bash
# bench/run.sh [--quick] [--filter REGEX] [--out DIR] - build and run every
# benchmark binary (Bazel targets tagged nmc_bench under //bench/...), merge
# their Google Benchmark JSON into DIR/results.json with a machine
# fingerprint, and write DIR/REPORT.md (reports/make_report.py).
#   --quick   --benchmark_min_time=0.05, one repetition (smoke run)
#   full      --benchmark_min_time=0.5, 3 repetitions, aggregates only
# The OCamlnet peer (bench/peers/ocamlnet/) runs after the C binaries when
# OCaml and OCamlnet are installed; otherwise REPORT.md says why it did not.
# DIR defaults to reports/out/<UTC timestamp>; reports/latest points to it.
# Called by `./harness bench`; the packages are assumed installed.
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$(pwd)
PY=/usr/bin/python3
# NMC_BAZEL_STARTUP: Bazel startup options (e.g. --output_base=DIR), split
# into words on purpose.
# shellcheck disable=SC2206
BAZEL=(bazel ${NMC_BAZEL_STARTUP:-})

quick=0 filter=. out=""
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1; shift ;;
        --filter) filter=${2:?--filter needs a REGEX}; shift 2 ;;
        --out) out=${2:?--out needs a DIR}; shift 2 ;;
        -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "bench: unknown option $1" >&2; exit 2 ;;
    esac
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
default_out=0
if [ -z "$out" ]; then
    out="reports/out/$stamp"
    default_out=1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$quick" -eq 1 ]; then
    run_flags=(--benchmark_min_time=0.05 --benchmark_repetitions=1)
else
    run_flags=(--benchmark_min_time=0.5 --benchmark_repetitions=3
        --benchmark_report_aggregates_only=true)
fi

targets=$("${BAZEL[@]}" query 'attr(tags, nmc_bench, //bench/...)' 2>/dev/null | sort)
if [ -z "$targets" ]; then
    echo "bench: no targets tagged nmc_bench under //bench/..." >&2
    exit 1
fi
total=$(wc -l <<<"$targets")
echo "bench: building $total benchmark binaries (--config=opt)"
# shellcheck disable=SC2086
"${BAZEL[@]}" build --config=opt $targets
bin=$("${BAZEL[@]}" info --config=opt bazel-bin 2>/dev/null)

i=0 failed=0 jsons=()
while read -r target; do
    i=$((i + 1))
    pkg=${target#//}; pkg=${pkg%%:*}; name=${target##*:}
    exe="$bin/$pkg/$name"
    json="$tmp/$i.json"
    echo "bench: [$i/$total] $target (filter '$filter')"
    if "$exe" --benchmark_filter="$filter" "${run_flags[@]}" \
        --benchmark_out="$json" --benchmark_out_format=json; then
        jsons+=("$json")
    else
        echo "bench: $target exited with status $?" >&2
        failed=$((failed + 1))
        [ -s "$json" ] && jsons+=("$json")
    fi
done <<<"$targets"

# The original OCamlnet 4.1.9 as the peer "ocamlnet": OCaml programs in
# bench/peers/ocamlnet/, built by its build.sh into a cache directory keyed
# by the sources' hash (rebuilt only when they change), run with the same
# filter, min time and repetitions. Missing OCaml / OCamlnet, a failed build
# or a failed run never fails the bench: the reason goes into the report's
# notes (merge_results.py --note).
notes=()
ocamlnet_peer() {
    local src=bench/peers/ocamlnet hash cache exe json="$tmp/ocamlnet.json" why n rc
    hash=$(cat "$src"/build.sh "$src"/*.ml | sha256sum | cut -c1-16)
    cache=${NMC_OCAMLNET_BUILD:-${XDG_CACHE_HOME:-$HOME/.cache}/netmcore-c/ocamlnet-peer}/$hash
    exe=$cache/ocamlnet_bench
    echo "bench: [ocamlnet] building the OCamlnet peer into $cache"
    rc=0
    why=$("$src/build.sh" "$cache" 2>&1 >"$tmp/ocamlnet_build.log") || rc=$?
    if [ "$rc" -ne 0 ]; then
        if [ "$rc" -eq 2 ]; then
            notes+=("ocamlnet peer skipped: ${why##*$'\n'}")
        else
            cat "$tmp/ocamlnet_build.log" >&2
            echo "$why" >&2
            notes+=("ocamlnet peer skipped: the build failed (bench/peers/ocamlnet/build.sh, status $rc): $(tail -1 <<<"$why")")
        fi
        echo "bench: [ocamlnet] ${notes[-1]}" >&2
        return 0
    fi
    n=$("$exe" --filter "$filter" --list 2>/dev/null | wc -l) || n=0
    if [ "$n" -eq 0 ]; then
        echo "bench: [ocamlnet] no OCamlnet benchmark matches '$filter'"
        return 0
    fi
    echo "bench: [ocamlnet] running $n OCamlnet benchmarks (filter '$filter')"
    # timeout signals the whole process group: master, worker, forked children
    if timeout --kill-after=10 "$ocamlnet_timeout" \
        "$exe" --filter "$filter" "${ocamlnet_flags[@]}" --out "$json" && [ -s "$json" ]; then
        jsons+=("$json")
        notes+=("ocamlnet peer: $n benchmarks of OCamlnet $(dpkg-query -W -f='${Version}' libocamlnet-ocaml-dev 2>/dev/null || echo '(version unknown)'), OCaml $(ocamlfind ocamlopt -version 2>/dev/null), programs in bench/peers/ocamlnet/")
    else
        rc=$?
        if [ -s "$json" ]; then
            jsons+=("$json")
            notes+=("ocamlnet peer failed: ocamlnet_bench exited with status $rc (timeout ${ocamlnet_timeout}s); the figures it measured before are kept")
        else
            notes+=("ocamlnet peer failed: ocamlnet_bench exited with status $rc (timeout ${ocamlnet_timeout}s); its figures are missing")
        fi
        echo "bench: [ocamlnet] ${notes[-1]}" >&2
    fi
}
if [ "$quick" -eq 1 ]; then
    ocamlnet_flags=(--min-time 0.05 --repetitions 1) ocamlnet_timeout=300
else
    ocamlnet_flags=(--min-time 0.5 --repetitions 3 --aggregates-only) ocamlnet_timeout=900
fi
ocamlnet_peer

"$PY" reports/merge_results.py --out "$out/results.json" \
    --compiler "$(clang --version | head -1)" \
    --commit "$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
    --dirty "$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -c . || true)" \
    --mode "$([ "$quick" -eq 1 ] && echo quick || echo full)" \
    ${notes[@]+"${notes[@]/#/--note=}"} ${jsons[@]+"${jsons[@]}"}
"$PY" reports/make_report.py "$out/results.json" \
    --targets reports/targets.json --out "$out/REPORT.md"

if [ "$default_out" -eq 1 ]; then
    ln -sfn "out/$stamp" reports/latest
fi
echo "bench: wrote $out/results.json and $out/REPORT.md"
[ "$failed" -eq 0 ] || { echo "bench: $failed binaries failed" >&2; exit 1; }
