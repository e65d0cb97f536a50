#!/usr/bin/env bash
# The e2e helpers' own guard, no broker needed: kill_quietly with an unset, empty or zero
# pid must not signal pid 0 (the whole process group: under CI, the CI run itself). It
# runs in a process group of its own (setsid), so a regression kills only this test, which
# then fails, instead of the suite.
set -euo pipefail
export PI_SOURCE_DIR="${PI_SOURCE_DIR:?}" PI_BUILD_DIR="${PI_BUILD_DIR:?}"
rc=0
setsid bash -c '
  source "$PI_SOURCE_DIR/tests/e2e/lib.sh"
  sleep 60 & sibling=$!
  kill_quietly "" 0 "${NOT_SET:-}" "not-a-pid"
  kill -0 "$sibling" || { echo "FAIL: kill_quietly signalled the process group"; exit 1; }
  kill_quietly "$sibling"
  wait "$sibling" 2>/dev/null && { echo "FAIL: kill_quietly did not kill pid $sibling"; exit 1; }
  kill_quietly "$sibling"   # already gone: still returns 0 under set -e
  echo "kill_quietly: empty, 0 and junk pids left the group alone; a real pid was killed"
' || rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: the guard test exited $rc (137: its process group was killed)"; exit 1; }
