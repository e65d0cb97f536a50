#!/usr/bin/env bash
# Hostile input records end to end (hostile_records.py writes them): empty, null and 1–4
# byte values, null keys, a key that is not the partner_id, wrong magic bytes, ids of
# other record types and unregistered ones, the valid sale cut at every byte, invalid
# enum and union indexes, varint overflows, huge and negative declared lengths, strings
# of 257 bytes, bad UTF-8, the 64 KiB limit at its edge, a 900 KB record and a 1 MB
# string. Each must end in the dead-letter topic exactly once, in input order, with the
# right reason and detail and its key and bytes unchanged; the worker keeps running
# (no restart, no poison loop: a dead letter bigger than the topic or producer allows
# would fail the transaction on every restart), pi_dead_letters_total counts them, the
# Redis keys are unchanged, and a valid sale sent after them is still applied.
source "$(dirname "$0")/lib.sh"

e2e_namespace hostile
tmp=$(mktemp -d)
trap 'kill_quietly "${WORKER_PID:-}"; rm -rf "$tmp"' EXIT
python3 "$E2E_DIR/hostile_records.py" gen "$tmp" "$PI_PARTITIONS" | while read -r l; do say "$l"; done
n_hostile=$(grep -c . "$tmp/hostile.jsonl")

port=$(free_port)
worker_start "$tmp/worker.log" --program_file="$E2E_DIR/program.yaml" --metrics.port="$port"
alive() { kill -0 "$WORKER_PID" 2>/dev/null; }
# caught_up — the group committed every input record; fails the test at once if the
# worker died instead (a poison record would otherwise look like a slow worker).
caught_up() {
  alive || { tail -30 "$tmp/worker.log" >&2; fail "the worker exited (see its log above)"; }
  "$CTL" lag --wait --timeout 2 >/dev/null 2>&1
}
# metric NAME — the sum of NAME's series (all reasons, for pi_dead_letters_total).
metric() { http_get "http://127.0.0.1:$port/metrics" | awk -v n="$1" 'index($1, n "{") == 1 { s += $2 } END { print s + 0 }'; }
produce() {
  "$CTL" produce --file "$1" >"$tmp/produce.out" 2>&1 || { cat "$tmp/produce.out" >&2; fail "cannot produce $(basename "$1")"; }
  say "$(basename "$1"): $(cat "$tmp/produce.out")"
}

produce "$tmp/enrol.jsonl"
wait_for 120 "the enrolment consumed" caught_up
produce "$tmp/base.jsonl"
wait_for 120 "the first sale consumed" caught_up
[ "$(redis-cli -p "$REDIS_PORT" HGET "$PI_REDIS_NAMESPACE:partner:p-hostile" revenue_minor)" = 1000000 ] \
  || { tail -30 "$tmp/worker.log"; fail "the first sale (encoded by hostile_records.py) was not applied"; }
say "partner p-hostile enrolled and its first sale applied (revenue 1000000)"
dump_redis "$tmp/redis-before.txt"
dead_before=$(metric pi_dead_letters_total)

started=$SECONDS
produce "$tmp/hostile.jsonl"
wait_for 180 "the $n_hostile hostile records consumed" caught_up
say "$n_hostile hostile records consumed in $((SECONDS - started)) s"
alive || fail "the worker exited"
! grep -q '"level":"error"' "$tmp/worker.log" || { grep '"level":"error"' "$tmp/worker.log" | tail -5; fail "the worker logged errors"; }
dead_after=$(metric pi_dead_letters_total)
[ "$((dead_after - dead_before))" = "$n_hostile" ] \
  || fail "pi_dead_letters_total went from $dead_before to $dead_after, expected +$n_hostile"
say "pi_dead_letters_total $dead_before -> $dead_after"
dump_redis "$tmp/redis-after.txt"
diff "$tmp/redis-before.txt" "$tmp/redis-after.txt" >&2 || fail "hostile records changed Redis"
say "Redis unchanged: $(wc -l <"$tmp/redis-before.txt") keys identical"
"$CTL" dump --json --topic dead-letters >"$tmp/dead-letters.jsonl"
python3 "$E2E_DIR/hostile_records.py" check "$tmp" "$tmp/dead-letters.jsonl" "$E2E_RUN" \
  >"$tmp/check.out" 2>&1 || { cat "$tmp/check.out" >&2; fail "dead letters differ from hostile_records.py's expectations"; }
say "$(cat "$tmp/check.out")"

produce "$tmp/final.jsonl"
wait_for 120 "the last sale consumed" caught_up
[ "$(redis-cli -p "$REDIS_PORT" HGET "$PI_REDIS_NAMESPACE:partner:p-hostile" revenue_minor)" = 3000000 ] \
  || fail "the valid sale after the hostile records was not applied"
"$CTL" dump --json --topic payouts >"$tmp/payouts.jsonl"
python3 -c 'import json,sys; sys.exit(not any(p["source_event_id"] == "h-final" and p["kind"] == "REBATE" and p["amount_minor"] == 20000 for p in map(json.loads, open(sys.argv[1]))))' "$tmp/payouts.jsonl" \
  || { cat "$tmp/payouts.jsonl" >&2; fail "no REBATE payout of 20000 for the last sale"; }
[ "$(metric pi_dead_letters_total)" = "$dead_after" ] || fail "the last sale was dead-lettered"
say "the valid sale after them was applied (revenue 3000000, REBATE 20000 paid)"
worker_stop
say "worker stopped cleanly"
