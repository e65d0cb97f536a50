#!/usr/bin/env bash
# End to end: the worker under the service manager protocol, as a Type=notify unit runs
# it (deploy/systemd/incentive-worker@.service). No systemd runs PID 1 here, so the test
# plays the manager: a datagram socket as $NOTIFY_SOCKET, WATCHDOG_USEC/WATCHDOG_PID set.
#   (The unit file itself is checked with `systemd-analyze verify` by
#   tests/deploy/check_manifests.sh.)
#   - READY=1 comes once the worker is connected and subscribed, then a STATUS naming the
#     partitions it owns, WATCHDOG=1 pings at half the interval, and STOPPING=1 after
#     SIGTERM, before a clean exit 0.
#   - A bad setting exits 1 (the unit's RestartPreventExitStatus) without READY=1.
source "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d)
trap 'kill_quietly "${WORKER_PID:-}" "${LISTENER:-}"; rm -rf "$tmp"' EXIT

listen() {   # listen SOCKET LOG — every notification datagram as one line (\n → |)
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a", buffering=1)
while True:
    out.write(s.recv(4096).decode().replace("\n", "|") + "\n")
' "$1" "$2" &
  LISTENER=$!
  wait_for 10 "the notify socket" test -S "$1"
}
got() { grep -q -- "$1" "$tmp/notify.log"; }

e2e_namespace systemd
listen "$tmp/notify.sock" "$tmp/notify.log"
# exec keeps the pid, so WATCHDOG_PID names the worker itself (as systemd sets it).
NOTIFY_SOCKET="$tmp/notify.sock" WATCHDOG_USEC=1000000 bash -c \
  'export WATCHDOG_PID=$$; exec "$0" --program_file="$1"' "$WORKER" "$E2E_DIR/program.yaml" \
  >"$tmp/worker.log" 2>&1 &
WORKER_PID=$!
wait_for 60 "READY=1" got '^READY=1|STATUS=started'
wait_for 60 "a status naming the owned partitions" got "^STATUS=in group $PI_GROUP_ID: owns 6 of 6 partitions$"
start=$(grep -c '^WATCHDOG=1$' "$tmp/notify.log" || true)
pings() { [ "$(grep -c '^WATCHDOG=1$' "$tmp/notify.log")" -ge $((start + 4)) ]; }
wait_for 10 "four watchdog pings (interval 1 s: one per 0.5 s)" pings
kill -TERM "$WORKER_PID"
rc=0
wait "$WORKER_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "worker exited $rc after SIGTERM"
wait_for 10 "STOPPING=1" got '^STOPPING=1'
say "notify: READY=1, owned partitions in STATUS, watchdog pings, STOPPING=1, exit 0"

: >"$tmp/notify.log"
rc=0
NOTIFY_SOCKET="$tmp/notify.sock" "$WORKER" --batch.max_ms=soon >"$tmp/bad.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "a bad setting exited $rc, want 1 (RestartPreventExitStatus=1)"
! got READY || fail "READY=1 sent by a worker with a bad setting"
say "a bad setting: exit 1, no READY=1"
say "systemd: pass"
