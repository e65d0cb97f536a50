#!/usr/bin/env bash
# Crash and restart: the same seeded stream through a worker that runs undisturbed, and
# through one that is killed five times mid-stream (SIGKILL from outside at two points,
# and twice on purpose right after a ledger commit and before its Kafka transaction,
# the window the outbox exists for). The outputs (read_committed) and the Redis state
# must be exactly those of the undisturbed run: nothing missing, nothing twice.
source "$(dirname "$0")/lib.sh"

PROGRAMS="$PI_SOURCE_DIR/deploy/programs/example.yaml"
GEN=(--generate --seed 42 --partners 300 --sales 12000 --cert-pct 30 --program-file "$PROGRAMS")
# Small batches make many transactions, so the kills land mid-stream.
SETTINGS=(--program_file="$PROGRAMS" --batch.max_events=20 --kafka.session.timeout.ms=10000)
tmp=$(mktemp -d)
trap 'kill -9 "${WORKER_PID:-0}" 2>/dev/null || true; rm -rf "$tmp"' EXIT

# run_phase PHASE — produce one phase of the stream and wait until it is consumed.
produce_phase() { "$CTL" produce "${GEN[@]}" --phase "$1" 2>>"$tmp/produce.log"; }

# total_lag — the worker group's current total lag on the input topics (while a worker
# runs: right after a kill, Kafka holds the committed offsets unstable until the next
# worker fences the dead one's transaction).
total_lag() { "$CTL" lag | awk '/^total lag/ {print $3}'; }

# ledger_sales — sales records the ledger has taken so far (sum of its next offsets).
ledger_sales() {
  local p n sum=0
  for p in $(seq 0 $((PI_PARTITIONS - 1))); do
    n=$(redis-cli -p "$REDIS_PORT" HGET "$PI_REDIS_NAMESPACE:ledger:$p" "off:$PI_TOPIC_SALES")
    [ -n "$n" ] && [ "$n" -gt 0 ] && sum=$((sum + n))
  done
  echo "$sum"
}

# expect_killed — the worker process must have died of SIGKILL (exit status 137).
expect_killed() {
  local rc=0
  wait "$WORKER_PID" || rc=$?
  [ "$rc" -eq 137 ] || { tail -20 "$1"; fail "worker exited with $rc, expected a SIGKILL death (137)"; }
}

# --- run A: undisturbed ----------------------------------------------------------------
e2e_namespace crash-clean
worker_start "$tmp/clean.log" "${SETTINGS[@]}"
produce_phase enrol && wait_caught_up 120
produce_phase sales && wait_caught_up 300
worker_stop
dump_outputs "$tmp/clean"
dump_redis "$tmp/clean/redis.txt"
say "clean run: $(wc -l <"$tmp/clean/payouts.jsonl") payouts, $(wc -l <"$tmp/clean/alerts.jsonl") alerts"

# --- run B: killed mid-stream ------------------------------------------------------------
e2e_namespace crash-killed
log="$tmp/killed.log"
worker_start "$log" "${SETTINGS[@]}"
produce_phase enrol && wait_caught_up 120
produce_phase sales
total=$(total_lag)
say "sales phase: $total records to consume"

# 1. dies right after its 3rd ledger commit, before that batch's Kafka transaction
kill -9 "$WORKER_PID"; wait "$WORKER_PID" || true
worker_start "$log" "${SETTINGS[@]}" --fault.exit_after_ledger_commits=3
expect_killed "$log"
lag1=$(ledger_sales)
# 2. and 3. SIGKILL from outside once two thirds, then one third, is left
worker_start "$log" "${SETTINGS[@]}"
"$CTL" lag --wait --until $((total * 2 / 3)) --timeout 300 >/dev/null
kill -9 "$WORKER_PID"; expect_killed "$log"
lag2=$(ledger_sales)
worker_start "$log" "${SETTINGS[@]}"
"$CTL" lag --wait --until $((total / 3)) --timeout 300 >/dev/null
kill -9 "$WORKER_PID"; expect_killed "$log"
lag3=$(ledger_sales)
# 4. the commit window again, later in the stream
worker_start "$log" "${SETTINGS[@]}" --fault.exit_after_ledger_commits=5
expect_killed "$log"
lag4=$(ledger_sales)
# 5. to the end
worker_start "$log" "${SETTINGS[@]}"
wait_caught_up 300 || { tail -30 "$log"; exit 1; }
worker_stop
say "sales in the ledger at the kills: $lag1 $lag2 $lag3 $lag4 (of $total)"
for l in "$lag1" "$lag2" "$lag3" "$lag4"; do
  [ "$l" -gt 0 ] && [ "$l" -lt "$total" ] ||
    fail "a kill came before or after the sales phase, not in it: the test proved nothing"
done
grep -q '"event":"reconciled"' "$log" || fail "no restart had to republish an outbox gap"
say "outbox gaps republished: $(grep -c '"event":"reconciled"' "$log")"

dump_outputs "$tmp/killed"
dump_redis "$tmp/killed/redis.txt"

# --- compare: per topic, the multiset of records must be identical ------------------------
for f in payouts alerts dead-letters; do
  # Dead letters carry their source topic and offset: strip the run's topic prefix.
  sed "s/crash-clean-$$\././g" "$tmp/clean/$f.jsonl" | sort >"$tmp/a"
  sed "s/crash-killed-$$\././g" "$tmp/killed/$f.jsonl" | sort >"$tmp/b"
  if ! cmp -s "$tmp/a" "$tmp/b"; then
    diff "$tmp/a" "$tmp/b" | head -20
    fail "$f differ between the clean and the killed run"
  fi
  [ -s "$tmp/a" ] || fail "$f: the clean run produced none, nothing was compared"
done
if ! cmp -s "$tmp/clean/redis.txt" "$tmp/killed/redis.txt"; then
  diff "$tmp/clean/redis.txt" "$tmp/killed/redis.txt" | head -20
  fail "Redis state differs between the clean and the killed run"
fi
say "identical: $(wc -l <"$tmp/clean/payouts.jsonl") payouts, $(wc -l <"$tmp/clean/alerts.jsonl") alerts, $(wc -l <"$tmp/clean/dead-letters.jsonl") dead letters, $(wc -l <"$tmp/clean/redis.txt") Redis keys"
