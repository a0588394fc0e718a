#!/bin/sh
# Runs icount.py (check or update) with the baseline and the benchmark
# binaries Bazel hands over; update writes the baseline in the source tree
# (bazel run sets BUILD_WORKSPACE_DIRECTORY).
# usage: icount_run.sh check|update BASELINE ICOUNT_PY BINARY...
set -eu
mode=$1 baseline=$2 script=$3
shift 3
if [ "$mode" = update ]; then
    baseline="${BUILD_WORKSPACE_DIRECTORY:?use bazel run}/reports/baselines/icount.json"
fi
exec /usr/bin/python3 "$script" "$mode" "$baseline" "$@"
