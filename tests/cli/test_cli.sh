#!/usr/bin/env bash
# Both binaries answer --help (usage on stdout, exit 0) and --version (the CMake project
# version, exit 0) without a config file, a broker or Redis; a wrong flag still fails.
#   test_cli.sh WORKER CTL VERSION
set -uo pipefail
worker=$1 ctl=$2 version=$3
fails=0
check() { # check NAME EXPECTED_RC PATTERN CMD...
    local name=$1 want=$2 pat=$3; shift 3
    local out rc
    out=$("$@" 2>/dev/null); rc=$?
    if [[ $rc -ne $want ]]; then
        echo "FAIL $name: exit $rc, want $want"; fails=$((fails + 1))
    elif ! grep -qE -- "$pat" <<<"$out"; then
        echo "FAIL $name: stdout lacks /$pat/:"; head -3 <<<"$out"; fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}
cd "$(mktemp -d)"   # no config file around
check "worker --help"    0 '^usage: incentive-worker'         "$worker" --help
check "worker -h"        0 'kafka.bootstrap.servers'           "$worker" -h
check "worker --version" 0 "^incentive-worker ${version//./\\.}\$" "$worker" --version
check "ctl --help"       0 '^usage: incentivectl'             "$ctl" --help
check "ctl --version"    0 "^incentivectl ${version//./\\.}\$"  "$ctl" --version
check "worker --bogus"   1 '^$'                                "$worker" --bogus=1
check "ctl --bogus"      2 '^$'                                "$ctl" --bogus=1 stats
echo "cli: $((7 - fails)) of 7 passed"
[[ $fails -eq 0 ]]
