#!/usr/bin/env bash
# bench/peers/ocamlnet/build.sh OUTDIR - build the OCamlnet peer benchmark
# (ocamlnet_bench) with Debian's ocaml-nox, ocaml-findlib and
# libocamlnet-ocaml-dev into OUTDIR/ocamlnet_bench. The sources are copied
# into OUTDIR first, so the compiler's .cmi/.cmx/.o files stay out of the
# source tree. Skips the build when the binary is newer than every source
# and this script. Exit status: 0 built or up to date; 1 the build failed;
# 2 OCaml or OCamlnet is missing (the reason on stderr, one line).
set -euo pipefail

src=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

SOURCES=(gb.ml procs.ml ocamlnet_bench.ml)   # in link order
PACKAGES=unix,str,bigarray,netsys,netshm,netcamlbox,netmulticore

if ! command -v ocamlfind >/dev/null 2>&1; then
    echo "ocamlfind not found (Debian packages ocaml-nox, ocaml-findlib)" >&2
    exit 2
fi
if ! command -v ocamlopt >/dev/null 2>&1; then
    echo "ocamlopt not found (Debian package ocaml-nox)" >&2
    exit 2
fi
for p in netsys netshm netcamlbox netmulticore; do
    if ! ocamlfind query "$p" >/dev/null 2>&1; then
        echo "ocamlfind package $p not found (Debian package libocamlnet-ocaml-dev)" >&2
        exit 2
    fi
done

exe="$out/ocamlnet_bench"
if [ -x "$exe" ]; then
    stale=0
    for f in "${SOURCES[@]}" build.sh; do
        [ "$src/$f" -nt "$exe" ] && stale=1
    done
    if [ "$stale" -eq 0 ]; then
        echo "ocamlnet: $exe is up to date"
        exit 0
    fi
fi

work="$out/build"
rm -rf "$work"
mkdir -p "$work"
for f in "${SOURCES[@]}"; do
    cp "$src/$f" "$work/$f"
done
cd "$work"
echo "ocamlnet: ocamlfind ocamlopt -package $PACKAGES -linkpkg ${SOURCES[*]}"
ocamlfind ocamlopt -package "$PACKAGES" -linkpkg -w +a-4-9-40-41-42-44-45-70 \
    -inline 200 "${SOURCES[@]}" -o "$exe.tmp"
mv "$exe.tmp" "$exe"
echo "ocamlnet: built $exe"
