#!/usr/bin/env bash
# bench/compare.sh BASE NEW [--filter REGEX] [--reps N] [--threshold PCT]
#                           [--min-time S]
# The regression gate. BASE and NEW are Google Benchmark JSON files (with
# repetitions) or git revisions. For revisions both are checked out in
# temporary worktrees, their benchmark binaries built (--config=opt), and
# run interleaved: repetition r of every binary of BASE, then of NEW, then
# r + 1, ... (N repetitions, default 9, each one Google Benchmark run with
# --benchmark_enable_random_interleaving), so drift of the machine hits
# both sides alike. reports/compare.py then decides: exit 1 on a
# significant regression beyond the threshold (default 5 %), else 0.
# Called by `./harness compare`.
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$(pwd)
PY=/usr/bin/python3

filter=. reps=9 threshold=5 min_time=0.1 sides=()
while [ $# -gt 0 ]; do
    case $1 in
        --filter) filter=${2:?}; shift 2 ;;
        --reps) reps=${2:?}; shift 2 ;;
        --threshold) threshold=${2:?}; shift 2 ;;
        --min-time) min_time=${2:?}; shift 2 ;;
        -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
        -*) echo "compare: unknown option $1" >&2; exit 2 ;;
        *) sides+=("$1"); shift ;;
    esac
done
[ ${#sides[@]} -eq 2 ] || { echo "compare: need BASE and NEW" >&2; exit 2; }

if [ -f "${sides[0]}" ] && [ -f "${sides[1]}" ]; then
    exec "$PY" reports/compare.py "${sides[0]}" "${sides[1]}" --threshold "$threshold"
fi

tmp=$(mktemp -d)
cleanup() {
    for side in base new; do
        if [ -d "$tmp/$side" ]; then
            (cd "$tmp/$side" && bazel shutdown >/dev/null 2>&1) || true
            git -C "$ROOT" worktree remove --force "$tmp/$side" >/dev/null 2>&1 || true
        fi
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# Checks out revision $2 as side $1 and builds its benchmark binaries;
# writes their paths to $tmp/$1.bins.
build_side() {
    local side=$1 rev=$2 dir="$tmp/$1"
    git -C "$ROOT" rev-parse --verify --quiet "$rev^{commit}" >/dev/null \
        || { echo "compare: $rev is neither a file nor a revision" >&2; exit 2; }
    git -C "$ROOT" worktree add --detach "$dir" "$rev" >/dev/null
    echo "compare: building $side = $rev ($(git -C "$dir" rev-parse --short HEAD))"
    local targets bin
    targets=$(cd "$dir" && bazel query 'attr(tags, nmc_bench, //bench/...)' 2>/dev/null | sort)
    # shellcheck disable=SC2086
    (cd "$dir" && bazel build --config=opt $targets 2>&1 | tail -1)
    bin=$(cd "$dir" && bazel info --config=opt bazel-bin 2>/dev/null)
    # Only the binaries with a benchmark the filter selects.
    while read -r t; do
        local pkg=${t#//} exe
        exe="$bin/${pkg%%:*}/${t##*:}"
        [ -n "$("$exe" --benchmark_filter="$filter" --benchmark_list_tests 2>/dev/null)" ] \
            && echo "$exe"
    done <<<"$targets" >"$tmp/$side.bins"
    [ -s "$tmp/$side.bins" ] || { echo "compare: no benchmark matches '$filter' in $rev" >&2; exit 2; }
}

build_side base "${sides[0]}"
build_side new "${sides[1]}"

echo "compare: $reps interleaved repetitions (filter '$filter')"
for r in $(seq "$reps"); do
    for side in base new; do
        i=0
        while read -r exe; do
            i=$((i + 1))
            "$exe" --benchmark_filter="$filter" --benchmark_min_time="$min_time" \
                --benchmark_repetitions=1 --benchmark_enable_random_interleaving=true \
                --benchmark_out="$tmp/$side.$r.$i.json" --benchmark_out_format=json \
                >/dev/null 2>&1 || true
        done <"$tmp/$side.bins"
    done
    echo "compare: repetition $r of $reps done"
done

for side in base new; do
    "$PY" reports/merge_results.py --out "$tmp/$side.json" "$tmp/$side".*.json >/dev/null
done
"$PY" reports/compare.py "$tmp/base.json" "$tmp/new.json" --threshold "$threshold"
