#!/usr/bin/env bash
# Handover on an intended stop (issue #6): workers are static group members, for which
# librdkafka sends no LeaveGroup on close, so without the worker's own LeaveGroup
# (consumer/cons_leave.h) a SIGTERM'd worker's partitions would stay unowned for the
# whole session timeout — 60 s here. Two workers share the six partitions; the second
# is stopped; the first must own all six and consume a phase produced after the stop
# within 15 s, a quarter of the session timeout. Then a worker killed with SIGKILL comes
# back under the same worker.id and gets its partitions back (static membership's benefit
# on the crash path is kept).
source "$(dirname "$0")/lib.sh"

e2e_namespace handover
tmp=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
SETTINGS=(--program_file="$E2E_DIR/program.yaml" --kafka.session.timeout.ms=60000)

start() {  # start N PORT — worker N on metrics port PORT
  "$WORKER" "${SETTINGS[@]}" --worker.id="$E2E_RUN-w$1" --metrics.port="$2" >>"$tmp/w$1.log" 2>&1 &
  pids[$1]=$!
}
p1=$(free_port); p2=$(free_port)
start 1 "$p1"
wait_for 60 "worker 1 to own all six partitions" owns "$p1" 6
start 2 "$p2"
wait_for 90 "the two workers to share the partitions" owns "$p2" 3
"$CTL" produce --file "$E2E_DIR/pipeline-phase1.jsonl" >/dev/null
wait_caught_up 60

SECONDS=0
kill -TERM "${pids[2]}"
rc=0; wait "${pids[2]}" || rc=$?
[ "$rc" -eq 0 ] || fail "worker 2 exited with $rc after SIGTERM"
grep -q '"left_group".*removed from group' "$tmp/w2.log" || { cat "$tmp/w2.log"; fail "worker 2 did not remove itself from the group"; }
wait_for 15 "worker 1 to take over worker 2's partitions (session timeout 60 s)" owns "$p1" 6
"$CTL" produce --file "$E2E_DIR/pipeline-phase2.jsonl" >/dev/null
wait_caught_up 15 || fail "a phase produced after the stop was not consumed within 15 s"
say "worker 2's partitions owned and processed by worker 1 ${SECONDS}s after SIGTERM"

# Crash path: SIGKILL sends nothing; the restarted worker 2 (same worker.id, so the same
# static member) is given its three partitions back.
start 2 "$p2"
wait_for 90 "worker 2 to rejoin" owns "$p2" 3
kill -KILL "${pids[2]}"; wait "${pids[2]}" 2>/dev/null || true
start 2 "$p2"
wait_for 30 "the restarted worker 2 to get its partitions back" owns "$p2" 3
owns "$p1" 3 || fail "worker 1 does not own the other three partitions"
"$CTL" produce --file "$E2E_DIR/pipeline-phase3.jsonl" >/dev/null
wait_caught_up 30 || fail "phase 3 not consumed after the restart"
for w in 1 2; do kill -TERM "${pids[$w]}"; wait "${pids[$w]}" || fail "worker $w did not stop cleanly"; done
say "ok: SIGTERM hands partitions over at once; a SIGKILLed worker gets its own back"
