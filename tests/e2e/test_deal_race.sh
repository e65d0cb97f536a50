#!/usr/bin/env bash
# Two partners race for the same deals through two workers. racer-3 (partition 0) and
# racer-7 (partition 5) are owned by different workers (range assignment gives each
# worker three contiguous partitions). Both register the same 20 deals at once; each
# worker holds its batch open for a second (batch.max_ms), so both read every claim as
# free before either commits. The second ledger call must fail STALE and be redone:
# every deal ends with exactly one holder and exactly one DEAL_CONFLICT, nothing twice.
source "$(dirname "$0")/lib.sh"

PROGRAMS="$PI_SOURCE_DIR/deploy/programs/example.yaml"
DEALS=20
e2e_namespace deal-race
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

at=1791201600000   # 2026-10-05T12:00Z
reg() {  # reg EVENT_ID PARTNER KIND [deal|program]
  local extra
  case "$3" in
    PARTNER_ENROLLED) extra="\"program_id\":\"emea-resellers\",\"region\":\"DACH\",\"deal_id\":null" ;;
    *) extra="\"program_id\":null,\"region\":null,\"deal_id\":\"$4\"" ;;
  esac
  echo "{\"type\":\"registration\",\"event_id\":\"$1\",\"partner_id\":\"$2\",\"occurred_at\":$at,\"kind\":\"$3\",$extra,\"deal_value_minor\":null,\"certification_id\":null}"
}
{ reg e-3 racer-3 PARTNER_ENROLLED; reg e-7 racer-7 PARTNER_ENROLLED; } >"$tmp/enrol.jsonl"
for i in $(seq 1 $DEALS); do
  reg "r3-$i" racer-3 DEAL_REGISTERED "race-deal-$i"
  reg "r7-$i" racer-7 DEAL_REGISTERED "race-deal-$i"
done >"$tmp/race.jsonl"

# Two workers, each with its own metrics port; wait until each owns three partitions.
ports=()
for w in 1 2; do
  ports+=("$(free_port)")
  "$WORKER" --program_file="$PROGRAMS" --worker.id="$E2E_RUN-w$w" --metrics.port="${ports[-1]}" \
    --batch.max_ms=1000 >>"$tmp/worker$w.log" 2>&1 &
  pids+=($!)
done
owns_three() {
  local port
  for port in "${ports[@]}"; do
    http_get "http://127.0.0.1:$port/metrics" 2>/dev/null | grep -q '^pi_owned_partitions{.*} 3$' || return 1
  done
}
deadline=$((SECONDS + 90))
until owns_three; do
  [ $SECONDS -lt $deadline ] || { tail -5 "$tmp"/worker*.log; fail "the workers did not split the partitions 3/3 in 90 s"; }
  sleep 0.2
done

"$CTL" produce --file "$tmp/enrol.jsonl" && wait_caught_up 120
"$CTL" produce --file "$tmp/race.jsonl" && wait_caught_up 120
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p" || fail "a worker exited with $? after SIGTERM"; done
pids=()

dump_outputs "$tmp/out"
conflicts=$(grep -c '"kind":"DEAL_CONFLICT"' "$tmp/out/alerts.jsonl" || true)
say "DEAL_CONFLICT alerts: $conflicts for $DEALS contested deals"
[ "$conflicts" -eq "$DEALS" ] || fail "expected exactly one DEAL_CONFLICT per deal, got $conflicts"
[ "$(grep -o '"alert_id":"[^"]*"' "$tmp/out/alerts.jsonl" | sort | uniq -d | wc -l)" -eq 0 ] ||
  fail "an alert was published twice"
for i in $(seq 1 $DEALS); do
  # The loser of each deal is the partner that got its DEAL_CONFLICT.
  loser=$(grep '"kind":"DEAL_CONFLICT"' "$tmp/out/alerts.jsonl" | grep "\"deal_id\":\"race-deal-$i\"" |
          grep -o '"partner_id":"[^"]*"' | head -1 | cut -d'"' -f4)
  [ -n "$loser" ] || fail "race-deal-$i has no DEAL_CONFLICT"
  blob=$(redis-cli -p "$REDIS_PORT" --raw GET "$PI_REDIS_NAMESPACE:deal:race-deal-$i" | tr -d '\0')
  case "$blob" in
    *racer-3*racer-7* | *racer-7*racer-3*) fail "race-deal-$i names both partners" ;;
    *"$loser"*) fail "race-deal-$i is held by $loser, which was told it lost" ;;
    *racer-*) ;;
    *) fail "race-deal-$i has no stored claim" ;;
  esac
done
rewinds=$(cat "$tmp"/worker*.log | grep -c '"event":"rewound"' || true)
say "batches redone after a STALE claim: $rewinds"
[ "$rewinds" -ge 1 ] || fail "no ledger call was STALE: the race did not happen, the test proved nothing"
