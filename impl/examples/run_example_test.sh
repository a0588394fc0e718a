#!/usr/bin/env bash
# Runs an example program in a fresh socket directory and compares its
# standard output with the expected text; prints Check's summary line.
# usage: run_example_test.sh NAME BINARY EXPECTED_OUTPUT
name=$1 bin=$2 expected=$3
dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/nmc-example.XXXXXX")
out=$("$bin" "$dir/sockets")
rc=$?
rm -rf "$dir"
if [ $rc -eq 0 ] && [ "$out" = "$expected" ]; then
    echo "$name: Checks: 1, Failures: 0, Errors: 0"
    exit 0
fi
echo "$name: exit status $rc, output:"
echo "$out"
echo "$name: Checks: 1, Failures: 1, Errors: 0"
exit 1
