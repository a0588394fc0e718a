#!/usr/bin/env bash
# fuzz/run.sh TARGET [--seconds N] [--merge] - libFuzzer on a committed corpus.
# Builds //fuzz:TARGET_fuzzer with --config=fuzz (libFuzzer + ASan + UBSan),
# runs it for N seconds (default 60) on a scratch copy of fuzz/TARGET/corpus
# with fuzz/TARGET/TARGET.dict. A finding exits non-zero and leaves the
# reproducer in fuzz/TARGET/crashes/ (replay it: the fuzzer binary with the
# file as argument). --merge adds the new interesting inputs to the corpus.
# Called by `./harness fuzz`; packages are assumed installed.
# NMC_BAZEL_STARTUP: Bazel startup options (e.g. --output_base=DIR).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

# shellcheck disable=SC2206
BAZEL=(bazel ${NMC_BAZEL_STARTUP:-})
target=${1:-}
if [ -z "$target" ] || [ ! -d "fuzz/$target/corpus" ]; then
    echo "usage: ./harness fuzz TARGET [--seconds N] [--merge]; targets:" \
        "$(find fuzz -mindepth 2 -maxdepth 2 -name corpus | cut -d/ -f2 | sort | tr '\n' ' ')" >&2
    exit 2
fi
shift
seconds=60 merge=0
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=${2:?--seconds needs N}; shift 2 ;;
        --merge) merge=1; shift ;;
        *) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    esac
done

"${BAZEL[@]}" build --config=fuzz "//fuzz:${target}_fuzzer"
bin="$("${BAZEL[@]}" info --config=fuzz bazel-bin)/fuzz/${target}_fuzzer"
crashes="fuzz/$target/crashes"
mkdir -p "$crashes"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "fuzz/$target/corpus/"* "$scratch/"

status=0
"$bin" "$scratch" -dict="fuzz/$target/$target.dict" -max_total_time="$seconds" \
    -artifact_prefix="$crashes/" -print_final_stats=1 -rss_limit_mb=4096 || status=$?
if [ "$status" -ne 0 ]; then
    echo "fuzz: $target found a failure; reproducer(s) in $crashes/:" >&2
    ls "$crashes" >&2
    exit "$status"
fi
if [ "$merge" -eq 1 ]; then
    "$bin" -merge=1 "fuzz/$target/corpus" "$scratch"
fi
echo "fuzz: $target ran ${seconds}s, no finding; corpus $(find "$scratch" -type f | wc -l) inputs"
