#!/usr/bin/env bash
# Randomized differential test of what leaderboard readers see (issue #6): a generated
# stream (lb_random.py gen: many partners, three programs, monthly and quarterly, long
# spans of event time, late events, split returns, redeliveries) runs through real
# workers on the real broker and Redis in three parts with batches of 1 event, of 13 (with
# a 20-partner cache, so partners are evicted and reloaded), and of up to 2000 (a backlog
# shared by two workers); then lb_random.py check recomputes every
# period's revenue and points and every partner hash from the inputs and the payouts and
# compares every leaderboard member, every partner hash and the dead letters.
# The seed is printed; rerun one with PI_LB_SEED=N.
source "$(dirname "$0")/lib.sh"

seed=${PI_LB_SEED:-$(date +%s)}
say "seed $seed (rerun with PI_LB_SEED=$seed)"
e2e_namespace lbrandom
tmp=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
python3 "$E2E_DIR/lb_random.py" gen "$seed" "$tmp"

start() { # start NAME [--key=value ...]
  local name=$1; shift
  "$WORKER" --program_file="$tmp/program.yaml" --worker.id="$E2E_RUN-$name" "$@" \
    >>"$tmp/$name.log" 2>&1 &
  pids+=($!)
}
stop_all() {
  local pid rc
  for pid in "${pids[@]}"; do
    kill -TERM "$pid"
    rc=0; wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || { tail -20 "$tmp"/*.log; fail "worker $pid exited with $rc"; }
  done
  pids=()
}
feed() { # feed FILE
  "$CTL" produce --file "$1" >/dev/null
  wait_caught_up 300 || { tail -20 "$tmp"/*.log; fail "not caught up after $(basename "$1")"; }
}

start w1 --batch.max_events=1
feed "$tmp/part-1-registrations.jsonl"
feed "$tmp/part-1-sales.jsonl"
stop_all
say "part 1 consumed in batches of one event"

# Part 2 also runs with a cache far smaller than the partner count: partners are dropped
# after nearly every batch and read back from Redis on their next event.
port=$(free_port)
start w1 --batch.max_events=13 --cache.max_partners=20 --metrics.port="$port"
feed "$tmp/part-2-registrations.jsonl"
feed "$tmp/part-2-sales.jsonl"
metrics=$(http_get "http://127.0.0.1:$port/metrics")
evicted=$(awk '/^pi_evicted_partners_total/ {print $2}' <<<"$metrics")
[ "${evicted:-0}" -gt 0 ] || fail "part 2: the 20-partner cache evicted nothing (${evicted:-no metric})"
# Open sales live in Redis only: every return of a sale from an earlier batch read it back.
loaded=$(awk '/^pi_sales_loaded_total/ {print $2}' <<<"$metrics")
[ "${loaded:-0}" -gt 0 ] || fail "part 2: no return read its sale from Redis (${loaded:-no metric})"
stop_all
say "part 2 consumed in batches of up to 13 events, $evicted partners evicted from a 20-partner cache, $loaded sale records read back for returns"

start w1
feed "$tmp/part-3-registrations.jsonl"
stop_all
"$CTL" produce --file "$tmp/part-3-sales.jsonl" >/dev/null     # a backlog: full batches
start w2
start w3
wait_caught_up 300 || { tail -20 "$tmp"/*.log; fail "part 3 not caught up"; }
stop_all
say "part 3 consumed as a backlog by two workers, batches of up to 2000 events"

dump_outputs "$tmp/out"
python3 "$E2E_DIR/lb_random.py" check "$tmp" "$tmp/out" "$REDIS_PORT" "$PI_REDIS_NAMESPACE" \
  || fail "leaderboards, partner hashes or remembered ids differ from the model (seed $seed)"
