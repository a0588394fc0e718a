#!/usr/bin/env bash
# bench/compare.sh BASE NEW [--filter REGEX] [--reps N] [--threshold PCT]
#                           [--min-time S] [--out DIR]
# The regression gate. BASE and NEW are each a results file (Google
# Benchmark JSON with repetitions, e.g. the base.json or new.json of an
# earlier compare), a git revision, or "." for the working tree as it is,
# uncommitted changes included. Each distinct commit is built once
# (--config=opt): the working tree, and a revision that is its HEAD while
# the tree is clean, in the checkout itself with your Bazel server (left
# running); any other revision in a temporary worktree, whose Bazel server
# and output base are removed at the end. The built sides run interleaved:
# repetition r of every binary of BASE, then of NEW, then r + 1, ... (N
# repetitions, default 9, each one Google Benchmark run with
# --benchmark_enable_random_interleaving), so drift of the machine hits both
# sides alike; a binary that exits non-zero or leaves no readable JSON fails
# its benchmarks on that side. reports/compare.py decides and writes
# DIR/compare.md and DIR/compare.json (DIR: --out, default
# reports/out/compare-<UTC time>), beside DIR/base.json and DIR/new.json,
# the merged runs of the sides that ran.
# Exit status: 0 no significant regression beyond the threshold (default
# 5 %), 1 a regression, 2 could not compare (bad arguments, a build or a
# benchmark failed, no benchmark in common). A failed build shows Bazel's
# whole output, and compare.md its error.
# Called by `./harness compare`.
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$(pwd)
PY=/usr/bin/python3

usage() { sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; }

filter=. reps=9 threshold=5 min_time=0.1 out="" specs=()
while [ $# -gt 0 ]; do
    case $1 in
        --filter) filter=${2:?}; shift 2 ;;
        --reps) reps=${2:?}; shift 2 ;;
        --threshold) threshold=${2:?}; shift 2 ;;
        --min-time) min_time=${2:?}; shift 2 ;;
        --out) out=${2:?}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "compare: unknown option $1" >&2; exit 2 ;;
        *) specs+=("$1"); shift ;;
    esac
done
[ ${#specs[@]} -eq 2 ] || { echo "compare: need BASE and NEW (see --help)" >&2; exit 2; }
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "compare: --reps wants a count, got '$reps'" >&2; exit 2; }
mkdir -p "${out:=reports/out/compare-$(date -u +%Y%m%dT%H%M%SZ)}"
out=$(cd "$out" && pwd)

tmp=$(mktemp -d)
worktrees=()
decided=""   # set once reports/compare.py has given the verdict
on_exit() {
    local rc=$? dir
    for dir in ${worktrees[@]+"${worktrees[@]}"}; do
        # This worktree's Bazel server and output base were ours: both go.
        (cd "$dir" && bazel clean --expunge >/dev/null 2>&1) || true
        git -C "$ROOT" worktree remove --force "$dir" >/dev/null 2>&1 || true
    done
    rm -rf "$tmp"
    # Any other failure is "could not compare", never 1 (a regression).
    if [ -z "$decided" ] && [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
        echo "compare: stopped by an unexpected error (status $rc)" >&2
        exit 2
    fi
}
trap on_exit EXIT

# fail REASON [LOG]: could not compare. The reason goes to the terminal and,
# with the error in LOG, into compare.md and compare.json; exits 2.
fail() {
    "$PY" reports/compare.py --cannot-compare "$1" ${2:+--log "$2"} --out "$out" \
        --base-spec "${specs[0]}" --new-spec "${specs[1]}" --threshold "$threshold" \
        --filter "$filter" || true
    exit 2
}

# ---- what each side is ---------------------------------------------------
# kind[side]: file or build; for a build, commit[side], dirty[side] (changed
# files) and key[side]: "checkout" (built in place) or the commit to check
# out. Sides with the same key share one build.
head=$(git rev-parse --verify --quiet HEAD || echo unknown)
changed=$(git status --porcelain 2>/dev/null | grep -c . || true)
declare -A kind=() commit=() dirty=() key=() spec=()
resolve() {
    local side=$1
    spec[$side]=$2
    if [ -f "$2" ]; then
        kind[$side]="file"
        return
    fi
    kind[$side]="build"
    if [ "$2" = . ]; then
        commit[$side]=$head dirty[$side]=$changed
    elif commit[$side]=$(git rev-parse --verify --quiet "$2^{commit}"); then
        dirty[$side]=0
    else
        fail "$2 is neither a results file, nor a revision, nor '.' (the working tree)"
    fi
    if [ "$2" = . ] || { [ "${commit[$side]}" = "$head" ] && [ "$changed" -eq 0 ]; }; then
        key[$side]=checkout
    else
        key[$side]=${commit[$side]}
    fi
}
resolve base "${specs[0]}"
resolve new "${specs[1]}"

# ---- building --------------------------------------------------------------
declare -A bins=()   # key -> file listing the benchmark binaries to run
# build SIDE: builds the side's key unless the other side did, and lists
# its binaries with a benchmark the filter selects (a binary whose listing
# fails is kept: its runs fail and say why).
build() {
    local side=$1 k=${key[$1]} label dir log=$tmp/$1.log targets t bin exe list
    label="${side^^} ${spec[$side]} (${commit[$side]:0:12})"
    if [ -n "${bins[$k]:-}" ]; then
        echo "compare: $label: same build as BASE"
        return
    fi
    if [ "$k" = checkout ]; then
        dir=$ROOT
        echo "compare: building $label in the checkout"
    else
        dir=$tmp/$side
        git worktree add --detach "$dir" "$k" >/dev/null 2>"$log" \
            || fail "checking out $label failed" "$log"
        worktrees+=("$dir")
        echo "compare: building $label in a temporary worktree"
    fi
    targets=$(cd "$dir" && bazel query 'attr(tags, nmc_bench, //bench/...)' 2>"$log") \
        || { cat "$log" >&2; fail "bazel query in $label failed (a broken BUILD file?)" "$log"; }
    # shellcheck disable=SC2086
    if [ -n "$targets" ] && ! (cd "$dir" && bazel build --config=opt $targets) 2>&1 | tee "$log" >&2
    then
        fail "building $label failed" "$log"
    fi
    bin=$(cd "$dir" && bazel info --config=opt bazel-bin 2>"$log") \
        || { cat "$log" >&2; fail "bazel info in $label failed" "$log"; }
    bins[$k]=$tmp/$side.bins
    for t in $targets; do
        exe=${t#//}
        exe="$bin/${exe%%:*}/${t##*:}"
        list=$("$exe" --benchmark_filter="$filter" --benchmark_list_tests 2>/dev/null </dev/null) \
            && [ -z "$list" ] && continue
        echo "$exe"
    done >"${bins[$k]}"
    [ -s "${bins[$k]}" ] || echo "compare: no benchmark of $label matches '$filter'"
}
for side in base new; do
    [ "${kind[$side]}" = file ] || build "$side"
done

# ---- running ---------------------------------------------------------------
# run_binary SIDE REP EXE: one Google Benchmark run; a line of the side's run
# list (merge_results.py --runs) records how it went.
run_binary() {
    local side=$1 r=$2 exe=$3 name=${3##*/} rc=0
    local json=$tmp/$side.$r.$name.json log=$tmp/$side.$r.$name.log
    "$exe" --benchmark_filter="$filter" --benchmark_min_time="$min_time" \
        --benchmark_repetitions=1 --benchmark_enable_random_interleaving=true \
        --benchmark_out="$json" --benchmark_out_format=json >"$log" 2>&1 </dev/null || rc=$?
    [ "$rc" -eq 0 ] || echo "compare: ${side^^}: $name exited with status $rc in repetition $r" >&2
    printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$name" "$rc" "$json" "$log" >>"$tmp/$side.runs.tsv"
}

run_args=()
if [ "${kind[base]}" = build ] || [ "${kind[new]}" = build ]; then
    echo "compare: $reps interleaved repetitions (filter '$filter')"
    : >"$tmp/base.runs.tsv"
    : >"$tmp/new.runs.tsv"
    for r in $(seq "$reps"); do
        for side in base new; do
            [ "${kind[$side]}" = build ] || continue
            while read -r exe; do
                run_binary "$side" "$r" "$exe"
            done <"${bins[${key[$side]}]}"
        done
        echo "compare: repetition $r of $reps done"
    done
    run_args=(--reps "$reps" --min-time "$min_time")
fi

declare -A results=()
compiler=$(clang --version 2>/dev/null | head -1 || echo unknown)
for side in base new; do
    if [ "${kind[$side]}" = file ]; then
        results[$side]=${spec[$side]}
        continue
    fi
    results[$side]=$out/$side.json
    "$PY" reports/merge_results.py --out "${results[$side]}" --runs "$tmp/$side.runs.tsv" \
        --commit "${commit[$side]}" --dirty "${dirty[$side]}" --mode compare \
        --compiler "$compiler" || fail "merging the runs of ${side^^} failed"
done

rc=0
"$PY" reports/compare.py "${results[base]}" "${results[new]}" --threshold "$threshold" \
    --filter "$filter" --out "$out" --base-spec "${specs[0]}" --new-spec "${specs[1]}" \
    ${run_args[@]+"${run_args[@]}"} || rc=$?
decided=1
exit "$rc"
