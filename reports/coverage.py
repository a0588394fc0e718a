#!/usr/bin/python3
"""Writes the coverage summary (reports/coverage.md) from `llvm-cov export
-summary-only` JSON: line and branch coverage per file of impl/ (the
library; tests and support code left out), worst line coverage first
within each module, and the totals.

usage: coverage.py EXPORT.json OUT.md [--note TEXT]...
"""
import json
import os
import sys


def pct(covered, count):
    return 100.0 * covered / count if count else 100.0


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    src, out = args[0], args[1]
    notes = [args[i + 1] for i in range(2, len(args) - 1) if args[i] == "--note"]
    data = json.load(open(src))
    rows = []
    for f in data["data"][0]["files"]:
        name = f["filename"]
        i = name.find("impl/src/")
        if i < 0 or name.endswith("/coverage_exit.c"):  # the coverage build's own
            continue
        name = name[i:]
        s = f["summary"]
        rows.append((name, s["lines"], s["branches"], s["functions"]))
    rows.sort(key=lambda r: (os.path.dirname(r[0]), r[0]))
    tot = {k: [0, 0] for k in ("lines", "branches", "functions")}
    lines = []
    for name, l, b, fn in rows:
        for k, v in (("lines", l), ("branches", b), ("functions", fn)):
            tot[k][0] += v["covered"]
            tot[k][1] += v["count"]
        lines.append("| %s | %d / %d | %.1f %% | %d / %d | %.1f %% |" % (
            name, l["covered"], l["count"], pct(l["covered"], l["count"]),
            b["covered"], b["count"], pct(b["covered"], b["count"])))
    with open(out, "w") as o:
        o.write("# Coverage of impl/\n\n")
        o.write("Written by `./harness coverage` (clang source-based coverage, "
                "llvm-cov 14). Do not edit by hand.\n\n")
        for n in notes:
            o.write("%s\n\n" % n)
        o.write("**Total: lines %.1f %% (%d / %d), branches %.1f %% (%d / %d), "
                "functions %.1f %% (%d / %d).**\n\n" % (
                    pct(*tot["lines"]), tot["lines"][0], tot["lines"][1],
                    pct(*tot["branches"]), tot["branches"][0], tot["branches"][1],
                    pct(*tot["functions"]), tot["functions"][0], tot["functions"][1]))
        o.write("| file | lines | line % | branches | branch % |\n|---|---|---|---|---|\n")
        o.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
