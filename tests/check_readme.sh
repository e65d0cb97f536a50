#!/usr/bin/env bash
# The README's configuration and program-file references are the tables the code parses
# with (cons_config.c, cons_program.c), printed by incentivectl: this keeps the copy in
# the README identical to them. usage: check_readme.sh INCENTIVECTL README.md
set -euo pipefail
ctl=$1 readme=$2
status=0
for cmd in "config --describe" "validate --describe"; do
  # shellcheck disable=SC2086
  "$ctl" $cmd >"${TMPDIR:-/tmp}/pi-ref.$$"
  if ! python3 - "${TMPDIR:-/tmp}/pi-ref.$$" "$readme" <<'PY'
import sys
ref, readme = open(sys.argv[1]).read().strip(), open(sys.argv[2]).read()
sys.exit(0 if ref in readme else 1)
PY
  then
    echo "README.md is out of date: paste the output of 'incentivectl $cmd'" >&2
    status=1
  fi
  rm -f "${TMPDIR:-/tmp}/pi-ref.$$"
done
exit $status
