#!/bin/sh
# Runs a Python test script with Debian's interpreter; the script's
# directory's parent is the reports/ directory it tests.
set -eu
script=$1
# No bytecode next to the sources: a test run leaves the checkout as it was.
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$script" "$(dirname "$script")/.."
