#!/usr/bin/env bash
# bench/run.sh [--quick] [--filter REGEX] [--procs LIST] [--out DIR] - build
# and run every benchmark binary (Bazel targets tagged nmc_bench under
# //bench/...), merge their Google Benchmark JSON into DIR/results.json with
# a machine fingerprint, and write DIR/REPORT.md (reports/make_report.py)
# with its plots (reports/plots.py, DIR/*.png, when matplotlib is there).
#   --quick   --benchmark_min_time=0.05, one repetition (smoke run; the
#             multi-process lock benchmarks 3 repetitions instead of 7)
#   full      --benchmark_min_time=0.5, 3 repetitions, aggregates only
#   --procs   the scaling sweep's process counts, e.g. 1,2,4,8 (default 1,
#             2, 4, ... up to 2 x nproc): lock/contended/IMPL/P and
#             camlbox/throughput_str32/IMPL/S run once per count
# Progress: before each benchmark a line "[n/N] NAME ... ~T left"; the
# estimate starts from min time x repetitions per benchmark and is scaled
# by the time the finished ones really took. Binaries of which the filter
# selects nothing are skipped.
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

quick=0 filter=. out="" procs=""
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1; shift ;;
        --filter) filter=${2:?--filter needs a REGEX}; shift 2 ;;
        --procs) procs=${2:?--procs needs a LIST (e.g. 1,2,4,8)}; shift 2 ;;
        --out) out=${2:?--out needs a DIR}; shift 2 ;;
        -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "bench: unknown option $1" >&2; exit 2 ;;
    esac
done

# The scaling sweep: 1, 2, 4, ... 2 x nproc (and 2 x nproc itself), the
# default of bench/common/procs_list.h, or --procs. Counts go up to 511
# (a camlbox run forks S senders and one receiver, at most 512 processes).
if [ -z "$procs" ]; then
    top=$((2 * $(nproc)))
    procs=1
    for ((p = 2; p <= top; p *= 2)); do procs+=",$p"; done
    [ $((top & (top - 1))) -eq 0 ] || procs+=",$top"
fi
if ! [[ $procs =~ ^[0-9]+(,[0-9]+)*$ ]]; then
    echo "bench: --procs wants comma-separated counts, e.g. 1,2,4,8 (got '$procs')" >&2
    exit 2
fi
for p in ${procs//,/ }; do
    if [ "$((10#$p))" -lt 1 ] || [ "$((10#$p))" -gt 511 ]; then
        echo "bench: --procs: $p is outside 1..511" >&2
        exit 2
    fi
done
export NMC_BENCH_PROCS=$procs
if [ "$quick" -eq 1 ]; then
    export NMC_BENCH_QUICK=1
else
    unset NMC_BENCH_QUICK
fi

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
    min_ms=50 reps=1
    run_flags=(--benchmark_min_time=0.05 --benchmark_repetitions=1)
    ocamlnet_flags=(--min-time 0.05 --repetitions 1) ocamlnet_timeout=300
else
    min_ms=500 reps=3
    run_flags=(--benchmark_min_time=0.5 --benchmark_repetitions=3
        --benchmark_report_aggregates_only=true)
    ocamlnet_flags=(--min-time 0.5 --repetitions 3 --aggregates-only) ocamlnet_timeout=900
fi

# ---- progress ---------------------------------------------------------------
# Every benchmark to run is listed first (--benchmark_list_tests, the
# peer's --list), each with an estimate in ms: per repetition (repeats:R in
# its name, else the run's) about twice the min time (Google Benchmark
# grows the iteration count until one run lasts the min time), at least
# 600 ms for a multi-process one (manual_time: forks, fixed work per
# iteration), plus 30 ms. The estimate of what is left is scaled by
# elapsed / estimate of what is done, once something is done.
now_ms() { local t=${EPOCHREALTIME/[.,]/}; NOW=$((10#$t / 1000)); }
estimate() { # NAME -> EST (ms)
    local name=$1 r=$reps per=$((2 * min_ms))
    [[ $name =~ /repeats:([0-9]+) ]] && r=${BASH_REMATCH[1]}
    if [[ $name =~ /min_time:([0-9]*)\.?([0-9]*) ]]; then
        local frac=${BASH_REMATCH[2]}000
        per=$((2 * (10#0${BASH_REMATCH[1]} * 1000 + 10#${frac:0:3})))
    fi
    [[ $name =~ /iterations:[0-9]+ ]] && per=20
    [[ $name =~ /manual_time ]] && [ "$per" -lt 600 ] && per=600
    EST=$((r * (per + 30)))
}
dur() { # ms -> "1m05s"
    local s=$(($1 / 1000))
    if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}
bench_n=0 bench_total=0 est_total=0 est_done=0 t_start=0
# progress NAME: announces benchmark number bench_n + 1
progress() {
    now_ms
    [ "$t_start" -ne 0 ] || t_start=$NOW
    local elapsed=$((NOW - t_start)) left=$((est_total - est_done)) eta
    [ "$left" -ge 0 ] || left=0
    if [ "$est_done" -gt 0 ]; then
        left=$((left * elapsed / est_done))
        eta="~$(dur "$left") left"
    else
        eta="~$(dur "$left") left (estimate)"
    fi
    echo "bench: [$((bench_n + 1))/$bench_total] $1 - $(dur "$elapsed") elapsed, $eta"
}
# finished EST: one more benchmark done
finished() { bench_n=$((bench_n + 1)); est_done=$((est_done + $1)); }

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

# The benchmarks of each binary that the filter selects; a binary with none
# is skipped (Google Benchmark would write no JSON).
declare -A names=() ests=()
exes=()
while read -r target; do
    pkg=${target#//}; pkg=${pkg%%:*}; name=${target##*:}
    exe="$bin/$pkg/$name"
    list=$("$exe" --benchmark_filter="$filter" --benchmark_list_tests 2>/dev/null) || list=""
    n=$(grep -c . <<<"$list" || true)
    if [ "$n" -eq 0 ]; then
        echo "bench: $target: no benchmark matches '$filter', skipped"
        continue
    fi
    exes+=("$exe")
    names[$exe]=$list
    e=""
    while read -r b; do
        estimate "$b"
        e+="$EST "
        est_total=$((est_total + EST))
    done <<<"$list"
    ests[$exe]=$e
    bench_total=$((bench_total + n))
done <<<"$targets"

# The OCamlnet peer is built (or found in its cache) before anything runs,
# so that its benchmarks count in N and the estimate; see ocamlnet_peer.
notes=()
ocamlnet_exe="" ocamlnet_n=0 ocamlnet_ests=()
ocamlnet_build() {
    local src=bench/peers/ocamlnet hash cache exe why rc list b
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
    list=$("$exe" --filter "$filter" --list 2>/dev/null) || list=""
    ocamlnet_n=$(grep -c . <<<"$list" || true)
    if [ "$ocamlnet_n" -eq 0 ]; then
        echo "bench: [ocamlnet] no OCamlnet benchmark matches '$filter'"
        return 0
    fi
    ocamlnet_exe=$exe
    while read -r b; do
        estimate "$b"
        ocamlnet_ests+=("$EST")
        est_total=$((est_total + EST))
    done <<<"$list"
    bench_total=$((bench_total + ocamlnet_n))
}
ocamlnet_build

echo "bench: $bench_total benchmarks in ${#exes[@]} binaries$([ "$ocamlnet_n" -eq 0 ] || echo " and the OCamlnet peer"), estimate ~$(dur "$est_total") (sweep over --procs $procs)"
failed=0 jsons=() i=0
for exe in "${exes[@]}"; do
    i=$((i + 1))
    json="$tmp/$i.json"
    mapfile -t list <<<"${names[$exe]}"
    read -r -a est <<<"${ests[$exe]}"
    echo "bench: ${exe##*/} (${#list[@]} benchmarks, filter '$filter')"
    # The console output passes through; a result line of benchmark m
    # (its name, or its name and an aggregate suffix once it repeats)
    # marks the ones before it and itself as done.
    j=0 rc=0
    progress "${list[0]}"
    while IFS= read -r line; do
        if [[ $line == "__nmc_rc "* ]]; then
            rc=${line#__nmc_rc }
            continue
        fi
        printf '%s\n' "$line"
        tok=${line%%[[:space:]]*}
        for ((m = j; m < ${#list[@]}; m++)); do
            b=${list[m]}
            if [ "$tok" = "$b" ] || { [[ $tok == "$b"_* ]] && [[ ${tok#"$b"_} != */* ]]; }; then
                r=$reps
                [[ $b =~ /repeats:([0-9]+) ]] && r=${BASH_REMATCH[1]}
                if [ "$tok" != "$b" ] || [ "$r" -le 1 ] || [[ $line == *"ERROR OCCURRED"* ]]; then
                    while [ "$j" -le "$m" ]; do finished "${est[j]}"; j=$((j + 1)); done
                    [ "$j" -ge "${#list[@]}" ] || progress "${list[j]}"
                fi
                break
            fi
        done
    done < <("$exe" --benchmark_filter="$filter" "${run_flags[@]}" \
        --benchmark_out="$json" --benchmark_out_format=json 2>&1; echo "__nmc_rc $?")
    while [ "$j" -lt "${#list[@]}" ]; do finished "${est[j]}"; j=$((j + 1)); done
    if [ "$rc" -eq 0 ]; then
        jsons+=("$json")
    else
        echo "bench: ${exe##*/} exited with status $rc" >&2
        failed=$((failed + 1))
        [ -s "$json" ] && jsons+=("$json")
    fi
done

# The original OCamlnet 4.1.9 as the peer "ocamlnet": OCaml programs in
# bench/peers/ocamlnet/, built by its build.sh into a cache directory keyed
# by the sources' hash (rebuilt only when they change; ocamlnet_build above),
# run with the same filter, min time and repetitions. Missing OCaml /
# OCamlnet, a failed build or a failed run never fails the bench: the reason
# goes into the report's notes (merge_results.py --note).
ocamlnet_peer() {
    local exe=$ocamlnet_exe json="$tmp/ocamlnet.json" n=$ocamlnet_n rc=0 line k=0
    [ -n "$exe" ] || return 0
    echo "bench: [ocamlnet] running $n OCamlnet benchmarks (filter '$filter')"
    # timeout signals the whole process group: master, worker, forked
    # children. The peer announces each benchmark ("ocamlnet: [i/n] NAME").
    while IFS= read -r line; do
        if [[ $line == "__nmc_rc "* ]]; then
            rc=${line#__nmc_rc }
            continue
        fi
        if [[ $line =~ ^ocamlnet:\ \[([0-9]+)/[0-9]+\]\ (.*)$ ]]; then
            while [ "$k" -lt $((BASH_REMATCH[1] - 1)) ]; do
                finished "${ocamlnet_ests[k]}"; k=$((k + 1))
            done
            progress "${BASH_REMATCH[2]} (ocamlnet)"
        else
            printf '%s\n' "$line"
        fi
    done < <(timeout --kill-after=10 "$ocamlnet_timeout" \
        "$exe" --filter "$filter" "${ocamlnet_flags[@]}" --out "$json" 2>&1; echo "__nmc_rc $?")
    while [ "$k" -lt "$n" ]; do finished "${ocamlnet_ests[k]}"; k=$((k + 1)); done
    if [ "$rc" -eq 0 ] && [ -s "$json" ]; then
        jsons+=("$json")
        notes+=("ocamlnet peer: $n benchmarks of OCamlnet $(dpkg-query -W -f='${Version}' libocamlnet-ocaml-dev 2>/dev/null || echo '(version unknown)'), OCaml $(ocamlfind ocamlopt -version 2>/dev/null), programs in bench/peers/ocamlnet/")
    else
        [ "$rc" -ne 0 ] || rc="0, no JSON"
        if [ -s "$json" ]; then
            jsons+=("$json")
            notes+=("ocamlnet peer failed: ocamlnet_bench exited with status $rc (timeout ${ocamlnet_timeout}s); the figures it measured before are kept")
        else
            notes+=("ocamlnet peer failed: ocamlnet_bench exited with status $rc (timeout ${ocamlnet_timeout}s); its figures are missing")
        fi
        echo "bench: [ocamlnet] ${notes[-1]}" >&2
    fi
}
ocamlnet_peer
now_ms
echo "bench: $bench_n benchmarks measured in $(dur $((NOW - t_start)))"

"$PY" reports/merge_results.py --out "$out/results.json" \
    --compiler "$(clang --version | head -1)" \
    --commit "$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
    --dirty "$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -c . || true)" \
    --mode "$([ "$quick" -eq 1 ] && echo quick || echo full)" --procs "$procs" \
    ${notes[@]+"${notes[@]/#/--note=}"} ${jsons[@]+"${jsons[@]}"}
"$PY" reports/make_report.py "$out/results.json" \
    --targets reports/targets.json --out "$out/REPORT.md"

if [ "$default_out" -eq 1 ]; then
    ln -sfn "out/$stamp" reports/latest
fi
echo "bench: wrote $out/results.json and $out/REPORT.md$(cd "$out" && n=$(ls -- *.png 2>/dev/null | wc -l) && [ "$n" -eq 0 ] || echo " and $n plots")"
[ "$failed" -eq 0 ] || { echo "bench: $failed binaries failed" >&2; exit 1; }
