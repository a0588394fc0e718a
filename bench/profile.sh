#!/usr/bin/env bash
# bench/profile.sh FILTER [--out DIR] [--seconds S]
# Profiles the benchmarks matching FILTER (a Google Benchmark regex): for
# each benchmark binary that has a match, `perf stat` with the software
# events every machine has (task-clock, context switches, CPU migrations,
# page faults) plus the hardware ones where the machine exposes them
# (cycles, instructions, branch and cache misses), then `perf record -g`
# and the top symbols with their call chains (`perf report --stdio`).
# Writes DIR/profile.md (default reports/out/profile-<time>/) and says
# plainly when perf is missing or not permitted (perf_event_paranoid).
# Called by `./harness profile`.
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
BAZEL=(bazel ${NMC_BAZEL_STARTUP:-})

filter="" out="" seconds=0.5
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=${2:?}; shift 2 ;;
        --seconds) seconds=${2:?}; shift 2 ;;
        -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
        -*) echo "profile: unknown option $1" >&2; exit 2 ;;
        *) filter=$1; shift ;;
    esac
done
[ -n "$filter" ] || { echo "profile: need a FILTER (regex of benchmark names)" >&2; exit 2; }
out=${out:-reports/out/profile-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
report="$out/profile.md"

if ! command -v perf >/dev/null; then
    echo "profile: perf is not installed (Debian: linux-perf)" | tee "$report" >&2
    exit 1
fi
if ! perf stat -e task-clock true >/dev/null 2>&1; then
    echo "profile: perf may not count here (kernel.perf_event_paranoid =" \
        "$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo '?'); run as root" \
        "or lower it)" | tee "$report" >&2
    exit 1
fi
# Hardware events only where the PMU is exposed (not in most VMs).
events=task-clock,context-switches,cpu-migrations,page-faults
if perf stat -e cycles true 2>&1 | grep -q "cycles" &&
    ! perf stat -e cycles true 2>&1 | grep -q "not supported"; then
    events=$events,cycles,instructions,branch-misses,cache-misses
    hw="hardware counters available"
else
    hw="no hardware counters on this machine (software events only)"
fi

targets=$("${BAZEL[@]}" query 'attr(tags, nmc_bench, //bench/...)' 2>/dev/null | sort)
# shellcheck disable=SC2086
"${BAZEL[@]}" build --config=opt $targets >/dev/null 2>&1
bin=$("${BAZEL[@]}" info --config=opt bazel-bin 2>/dev/null)

{
    echo "# Profile: \`$filter\`"
    echo
    echo "perf $(perf --version | awk '{print $3}'), events: $events ($hw)."
    echo "Each benchmark binary runs with --benchmark_filter='$filter'" \
        "--benchmark_min_time=$seconds."
} >"$report"

found=0
while read -r target; do
    pkg=${target#//}; pkg=${pkg%%:*}
    exe="$bin/$pkg/${target##*:}"
    names=$("$exe" --benchmark_list_tests --benchmark_filter="$filter" 2>/dev/null || true)
    [ -n "$names" ] || continue
    found=$((found + 1))
    echo "profile: $target"
    run=("$exe" --benchmark_filter="$filter" --benchmark_min_time="$seconds")
    {
        echo
        echo "## $target"
        echo
        echo "Benchmarks: $(tr '\n' ' ' <<<"$names")"
        echo
        echo '### perf stat'
        echo
        echo '```'
        perf stat -e "$events" -- "${run[@]}" 2>&1 >/dev/null |
            sed -n '/Performance counter stats/,$p' | grep -v '^$'
        echo '```'
        echo
        echo '### perf record: top symbols and call chains'
        echo
        echo '```'
        perf record -q -g -o "$out/perf.data" -- "${run[@]}" >/dev/null 2>&1
        perf report -i "$out/perf.data" --stdio --no-children --percent-limit 3 \
            --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60
        echo '```'
    } >>"$report"
done <<<"$targets"
rm -f "$out/perf.data" "$out/perf.data.old"
[ "$found" -gt 0 ] || { echo "profile: no benchmark matches '$filter'" >&2; exit 1; }
echo "profile: wrote $report"
