#!/usr/bin/env bash
# bench/run.sh [--quick] [--filter REGEX] [--out DIR] - build and run every
# benchmark binary (Bazel targets tagged nmc_bench under //bench/...), merge
# their Google Benchmark JSON into DIR/results.json with a machine
# fingerprint, and write DIR/REPORT.md (reports/make_report.py).
#   --quick   --benchmark_min_time=0.05, one repetition (smoke run)
#   full      --benchmark_min_time=0.5, 3 repetitions, aggregates only
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
        -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
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

"$PY" reports/merge_results.py --out "$out/results.json" \
    --compiler "$(clang --version | head -1)" \
    --commit "$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
    --dirty "$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -c . || true)" \
    --mode "$([ "$quick" -eq 1 ] && echo quick || echo full)" "${jsons[@]}"
"$PY" reports/make_report.py "$out/results.json" \
    --targets reports/targets.json --out "$out/REPORT.md"

if [ "$default_out" -eq 1 ]; then
    ln -sfn "out/$stamp" reports/latest
fi
echo "bench: wrote $out/results.json and $out/REPORT.md"
[ "$failed" -eq 0 ] || { echo "bench: $failed binaries failed" >&2; exit 1; }
