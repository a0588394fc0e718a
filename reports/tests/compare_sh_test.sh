#!/usr/bin/env bash
# Tests of bench/compare.sh, the regression gate's driver, in throwaway git
# repositories: a fake `bazel` first in PATH "builds" benchmark binaries
# that are shell scripts writing Google Benchmark JSON, and logs every call
# (workspace, command), so that exit codes (broken BUILD file, failed build,
# crashing benchmark), which builds happen and where, and what is left
# behind are checked in seconds. Prints Check's summary line.
# usage: compare_sh_test.sh COMPARE_SH COMPARE_PY MERGE_RESULTS_PY
set -uo pipefail

COMPARE_SH=$(readlink -f "$1") COMPARE_PY=$(readlink -f "$2") MERGE_PY=$(readlink -f "$3")
if [ -n "${TEST_TMPDIR:-}" ]; then
    T=$TEST_TMPDIR/compare_sh
    rm -rf "$T"
else
    T=$(mktemp -d)
    trap 'rm -rf "$T"' EXIT
fi
mkdir -p "$T/bin" "$T/tmp"
export TMPDIR=$T/tmp HOME=$T GIT_CONFIG_NOSYSTEM=1 PYTHONDONTWRITEBYTECODE=1
export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@example.org
export GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@example.org
export FAKE_BAZEL_LOG=$T/bazel.log FAKE_BAZEL_ROOT=$T/output_bases
export PATH=$T/bin:$PATH
: >"$FAKE_BAZEL_LOG"

# The fake Bazel: query prints bench/targets (or fails on a BUILD.broken),
# build copies //PKG:NAME's PKG/NAME.sh into the workspace's output base
# (or fails on a COMPILE_ERROR line in it), info prints that bin directory,
# clean --expunge removes the output base.
cat >"$T/bin/bazel" <<'EOF'
#!/usr/bin/env bash
ws=$PWD
ob=$FAKE_BAZEL_ROOT/$(md5sum <<<"$ws" | cut -c1-16)
words=()
for a; do [[ $a == --* ]] || words+=("$a"); done
printf '%s\t%s\n' "$ws" "$*" >>"$FAKE_BAZEL_LOG"
case ${words[0]} in
    query)
        if [ -f BUILD.broken ]; then
            echo "ERROR: $ws/bench/BUILD:1:5: syntax error at 'oops': expected ," >&2
            echo "ERROR: Error loading package 'bench'" >&2
            exit 7
        fi
        cat bench/targets ;;
    build)
        for t in "${words[@]:1}"; do
            pkg=${t#//}; pkg=${pkg%%:*}; name=${t##*:}
            if grep -q COMPILE_ERROR "$pkg/$name.sh"; then
                echo "ERROR: $ws/$pkg/BUILD:3:1: Compiling $pkg/$name.c failed: (Exit 1)"
                echo "$pkg/$name.c:7:12: error: expected ';' before '}' token"
                echo "Target $t failed to build"
                echo "INFO: Elapsed time: 0.1s, Critical Path: 0.01s"
                echo "FAILED: Build did NOT complete successfully"
                exit 1
            fi
            mkdir -p "$ob/bin/$pkg"
            cp "$pkg/$name.sh" "$ob/bin/$pkg/$name"
            chmod +x "$ob/bin/$pkg/$name"
        done ;;
    info) echo "$ob/bin" ;;
    clean) rm -rf "$ob" ;;
esac
EOF
chmod +x "$T/bin/bazel"

# fake_bench "NAMES" TIME: a fake Google Benchmark binary; CRASH=1 in it
# makes a run (not the listing) die of SIGSEGV.
fake_bench() {
    cat <<EOF
#!/usr/bin/env bash
NAMES="$1" TIME=$2 CRASH=0
EOF
    cat <<'EOF'
filter=. out="" list=0
for a; do
    case $a in
        --benchmark_filter=*) filter=${a#*=} ;;
        --benchmark_out=*) out=${a#*=} ;;
        --benchmark_list_tests) list=1 ;;
    esac
done
names=$(printf '%s\n' $NAMES | grep -E -- "$filter")
if [ "$list" = 1 ]; then
    [ -z "$names" ] || echo "$names"
    exit 0
fi
[ "$CRASH" = 0 ] || kill -SEGV $$
rows=""
for n in $names; do
    t=$((TIME + RANDOM % 3))
    rows+="${rows:+,}{\"name\": \"$n\", \"run_name\": \"$n\", \"run_type\": \"iteration\","
    rows+=" \"iterations\": 1, \"real_time\": $t, \"cpu_time\": $t, \"time_unit\": \"ns\"}"
done
echo "{\"context\": {}, \"benchmarks\": [$rows]}" >"$out"
echo "$names"
EOF
}

# mkrepo NAME: a git repository with the gate's scripts and two fake
# binaries, a_bench (fake/a/nmc, fake/b/nmc) and b_bench (fake/c/nmc), in
# one commit; prints its path.
mkrepo() {
    local r=$T/$1
    mkdir -p "$r/bench" "$r/reports"
    cp "$COMPARE_SH" "$r/bench/compare.sh"
    cp "$COMPARE_PY" "$MERGE_PY" "$r/reports/"
    printf '//bench:a_bench\n//bench:b_bench\n' >"$r/bench/targets"
    fake_bench "fake/a/nmc fake/b/nmc" 100 >"$r/bench/a_bench.sh"
    fake_bench "fake/c/nmc" 50 >"$r/bench/b_bench.sh"
    git -C "$r" init -q
    git -C "$r" add -A
    git -C "$r" commit -qm base
    echo "$r"
}

commit_all() { git -C "$1" add -A && git -C "$1" commit -qm "$2"; }

# gate REPO ARGS...: runs REPO's compare.sh (3 repetitions unless ARGS say
# otherwise); sets RC, OUT (stdout and stderr), DIR (its --out) and CALLS
# (the fake Bazel calls it made: workspace TAB arguments).
N=0
gate() {
    local repo=$1 before
    shift
    N=$((N + 1))
    DIR=$T/out.$N
    before=$(wc -l <"$FAKE_BAZEL_LOG")
    RC=0
    OUT=$("$repo/bench/compare.sh" --reps 3 --out "$DIR" "$@" 2>&1) || RC=$?
    CALLS=$(tail -n +$((before + 1)) "$FAKE_BAZEL_LOG")
}

die() { printf '%s\n--- compare.sh said:\n%s\n' "$1" "${OUT:-}"; exit 1; }
# calls CMD: the fake Bazel calls of the last gate with command CMD.
calls() { awk -F'\t' -v c="$1" '$2 ~ "^" c { print }' <<<"$CALLS"; }
# json_get EXPR: a Python expression over compare.json (as "d").
json_get() {
    /usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$DIR/compare.json" "$1"
}

# expect: exit 2 and the broken BUILD file's error on the terminal and in compare.md
broken_build_file_is_status_2() {
    local r
    r=$(mkrepo broken_build)
    touch "$r/BUILD.broken"
    commit_all "$r" "break a BUILD file"
    gate "$r" HEAD~1 HEAD
    [ "$RC" -eq 2 ] || die "exit status $RC, want 2"
    grep -q "syntax error at 'oops'" <<<"$OUT" || die "the query's error is not shown"
    grep -q "syntax error at 'oops'" "$DIR/compare.md" || die "compare.md lacks the error"
}

# expect: exit 2 and the compiler's error (not only Bazel's last line) shown and in compare.md
failed_build_is_status_2_with_its_error() {
    local r
    r=$(mkrepo failed_build)
    echo "# COMPILE_ERROR" >>"$r/bench/b_bench.sh"
    commit_all "$r" "break the build"
    gate "$r" HEAD~1 HEAD
    [ "$RC" -eq 2 ] || die "exit status $RC, want 2"
    grep -q "error: expected ';' before '}'" <<<"$OUT" || die "the compiler's error is not shown"
    grep -q "error: expected ';' before '}'" "$DIR/compare.md" || die "compare.md lacks the error"
    [ "$(json_get 'd["status"]')" = "could not compare" ] || die "compare.json: $(cat "$DIR/compare.json")"
}

# expect: exit 2, the crashed binary named with SIGSEGV, its benchmarks failed, the other compared
crashing_benchmark_on_new_is_status_2() {
    local r
    r=$(mkrepo crash)
    sed -i 's/CRASH=0/CRASH=1/' "$r/bench/a_bench.sh"
    commit_all "$r" "a_bench crashes"
    gate "$r" HEAD~1 HEAD
    [ "$RC" -eq 2 ] || die "exit status $RC, want 2"
    grep -q "a_bench exited with status 139" <<<"$OUT" || die "the crash is not reported"
    [ "$(json_get '[b["status"] for b in d["benchmarks"]]')" = "['failed', 'failed', 'same']" ] \
        || die "statuses: $(json_get '[(b["name"], b["status"]) for b in d["benchmarks"]]')"
    [ "$(json_get 'd["failures"][0]["signal"]')" = SIGSEGV ] || die "no SIGSEGV in compare.json"
}

# expect: exit 0 with the renamed benchmark listed as added and removed
renamed_benchmark_is_added_and_removed() {
    local r
    r=$(mkrepo rename)
    sed -i 's|fake/c/nmc|fake/c2/nmc|' "$r/bench/b_bench.sh"
    commit_all "$r" "rename fake/c"
    gate "$r" HEAD~1 HEAD
    [ "$RC" -eq 0 ] || die "exit status $RC, want 0"
    grep -q "added: fake/c2/nmc" <<<"$OUT" && grep -q "removed: fake/c/nmc" <<<"$OUT" \
        || die "added / removed not listed"
}

# expect: one build, in the checkout, whose Bazel server is left alone
same_commit_builds_once_in_the_checkout() {
    local r
    r=$(mkrepo same_head)
    gate "$r" HEAD HEAD
    [ "$RC" -eq 0 ] || die "exit status $RC, want 0"
    [ "$(calls build | wc -l)" -eq 1 ] || die "builds: $(calls build)"
    [ "$(calls build | cut -f1)" = "$r" ] || die "built in $(calls build | cut -f1), not $r"
    [ -z "$(calls shutdown)$(calls clean)" ] || die "the checkout's server was stopped: $CALLS"
}

# expect: one build in a temporary worktree, expunged and removed after
same_old_revision_builds_once_and_cleans_up() {
    local r ws
    r=$(mkrepo same_old)
    echo "# later" >>"$r/bench/targets"
    commit_all "$r" "a later commit"
    gate "$r" HEAD~1 HEAD~1
    [ "$RC" -eq 0 ] || die "exit status $RC, want 0"
    [ "$(calls build | wc -l)" -eq 1 ] || die "builds: $(calls build)"
    ws=$(calls build | cut -f1)
    [ "$ws" != "$r" ] || die "HEAD~1 was built in the checkout"
    calls clean | grep -q "^$ws	clean --expunge" || die "the worktree's server was not expunged"
    [ ! -e "$ws" ] || die "worktree $ws left behind"
    [ "$(git -C "$r" worktree list | wc -l)" -eq 1 ] || die "$(git -C "$r" worktree list)"
}

# expect: "." measures the uncommitted change (a regression, exit 1); HEAD built apart
working_tree_is_a_side() {
    local r
    r=$(mkrepo tree)
    sed -i 's/TIME=50/TIME=80/' "$r/bench/b_bench.sh"
    gate "$r" HEAD . --reps 6
    [ "$RC" -eq 1 ] || die "exit status $RC, want 1"
    [ "$(json_get '[b["status"] for b in d["benchmarks"]]')" = "['same', 'same', 'regression']" ] \
        || die "statuses: $(json_get '[b["status"] for b in d["benchmarks"]]')"
    [ "$(json_get 'd["new"]["dirty_files"]')" = 1 ] || die "NEW's dirty files not counted"
    [ "$(calls build | wc -l)" -eq 2 ] || die "builds: $(calls build)"
    calls build | grep -q "^$r	" || die "the working tree was not built in place"
}

# expect: a results file against a revision builds only the revision
results_file_against_a_revision() {
    local r
    r=$(mkrepo mixed)
    gate "$r" HEAD HEAD
    cp "$DIR/base.json" "$T/mixed_base.json"
    gate "$r" "$T/mixed_base.json" HEAD
    [ "$RC" -eq 0 ] || die "exit status $RC, want 0"
    [ "$(calls build | wc -l)" -eq 1 ] || die "builds: $(calls build)"
    [ "$(json_get 'd["counts"]["compared"]')" = 3 ] || die "not 3 compared"
}

# expect: after the cases above, no worktree, temporary directory or output base left
nothing_left_behind() {
    [ -z "$(ls -A "$T/tmp")" ] || die "left in TMPDIR: $(ls -A "$T/tmp")"
    local r ws
    for r in "$T"/*/.git; do
        r=${r%/.git}
        [ "$(git -C "$r" worktree list | wc -l)" -eq 1 ] || die "worktrees of $r remain"
    done
    for ws in $(cut -f1 "$FAKE_BAZEL_LOG" | sort -u); do
        [ "$ws" = "${ws#"$T/tmp"}" ] || [ ! -e "$FAKE_BAZEL_ROOT/$(md5sum <<<"$ws" | cut -c1-16)" ] \
            || die "output base of $ws left behind"
    done
}

CASES=(broken_build_file_is_status_2 failed_build_is_status_2_with_its_error
       crashing_benchmark_on_new_is_status_2 renamed_benchmark_is_added_and_removed
       same_commit_builds_once_in_the_checkout same_old_revision_builds_once_and_cleans_up
       working_tree_is_a_side results_file_against_a_revision nothing_left_behind)
failures=0
for c in "${CASES[@]}"; do
    if ( "$c" ); then
        echo "PASS $c"
    else
        echo "FAIL $c"
        failures=$((failures + 1))
    fi
done
echo "Checks: ${#CASES[@]}, Failures: $failures, Errors: 0"
[ "$failures" -eq 0 ]
