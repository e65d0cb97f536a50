#!/usr/bin/env bash
# A paused "zombie" worker wakes up after another worker took over its partitions: its
# ledger call must be FENCED (nothing written), it must exit non-zero, and the outputs
# must be exactly the hand-worked ones of the pipeline test: nothing lost, nothing twice.
#
# Worker A stops itself (SIGSTOP, fault.stop_before_batch_commit=2) with phase 2 applied
# in memory and its fencing tokens taken. Worker B joins once A's session expired, takes
# new tokens, redoes phase 2 from the ledger and publishes it. Then A is resumed.
source "$(dirname "$0")/lib.sh"

e2e_namespace zombie
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
common=(--program_file="$E2E_DIR/program.yaml" --kafka.session.timeout.ms=6000
        --kafka.heartbeat.interval.ms=1000)

port_a=$(free_port)
# A holds each batch open for a second, so each phase below is exactly one of its batches.
"$WORKER" "${common[@]}" --worker.id="$E2E_RUN-a" --metrics.port="$port_a" \
  --batch.max_ms=1000 --fault.stop_before_batch_commit=2 >>"$tmp/a.log" 2>&1 &
pid_a=$!; pids+=("$pid_a")
wait_for 60 "worker A to own all 6 partitions" owns "$port_a" 6

"$CTL" produce --file "$E2E_DIR/pipeline-phase1.jsonl"
wait_caught_up 120 || fail "phase 1 was not consumed"
"$CTL" produce --file "$E2E_DIR/pipeline-phase2.jsonl"
stopped() { [ "$(awk '{print $3}' "/proc/$pid_a/stat" 2>/dev/null)" = T ]; }
wait_for 60 "worker A to stop itself before its second batch commit" stopped
say "worker A is paused with phase 2 applied in memory"

port_b=$(free_port)
"$WORKER" "${common[@]}" --worker.id="$E2E_RUN-b" --metrics.port="$port_b" >>"$tmp/b.log" 2>&1 &
pid_b=$!; pids+=("$pid_b")
wait_for 90 "worker B to take over all 6 partitions" owns "$port_b" 6
wait_caught_up 120 || fail "worker B did not redo phase 2"
say "worker B took over and published phase 2"

kill -CONT "$pid_a"
rc=0
wait "$pid_a" || rc=$?
pids=("$pid_b")
[ "$rc" -eq 2 ] || { tail -5 "$tmp/a.log"; fail "the zombie exited with $rc, expected 2 (fatal: fenced)"; }
grep -q 'fenced' "$tmp/a.log" || { tail -5 "$tmp/a.log"; fail "the zombie's exit does not say it was fenced"; }
say "the zombie woke up, was fenced and left: $(grep -o '"msg":"[^"]*fenced[^"]*"' "$tmp/a.log" | head -1)"

for f in "$E2E_DIR"/pipeline-phase[3-9].jsonl; do
  "$CTL" produce --file "$f"
  wait_caught_up 120 || fail "$(basename "$f") was not consumed"
done
kill -TERM "$pid_b"
wait "$pid_b" || fail "worker B exited with $? after SIGTERM"
pids=()
dump_outputs "$tmp/out"
python3 "$E2E_DIR/check_pipeline.py" "$E2E_DIR/pipeline-expected.json" "$tmp/out" \
  "$REDIS_PORT" "$PI_REDIS_NAMESPACE" "$E2E_RUN"
