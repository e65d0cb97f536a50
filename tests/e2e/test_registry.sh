#!/usr/bin/env bash
# End to end with a real Confluent-compatible schema registry (Apicurio Registry, started
# by deploy/registry-start.sh) and a producer and a consumer that are not ours
# (confluent-kafka's AvroSerializer / AvroDeserializer with its SchemaRegistryClient,
# tests/e2e/registry/). CONTRACT §2, README "Running in production".
#   1. Reference: pipeline phases 1-2 through a worker with the embedded local ids.
#   2. The same records written by the foreign producer with registry ids, through a
#      worker with schema.registry.url: the foreign consumer reads payouts and alerts that
#      equal the reference record for record, framed with the ids the registry has for
#      the subjects <topic>-value; an id the registry lacks is an UNKNOWN_SCHEMA dead
#      letter; each input id was fetched once.
#   3. schema.registry.auto_register=false on a registry without the output subjects: the
#      start is refused, naming the subject.
#   4. The registry goes away: records with cached ids are still processed; a record with
#      an id not cached stops the worker (non-zero exit, "unavailable") instead of a dead
#      letter; a worker started then gives up after its retry deadline.
source "$(dirname "$0")/lib.sh"

export REGISTRY_PORT="${PI_TEST_REGISTRY_PORT:-28081}"
. "$PI_SOURCE_DIR/deploy/env.sh"   # REGISTRY_URL, REGISTRY_PIDFILE, PYTHON_VENV
tmp=$(mktemp -d)
stop_registry() {
  local pid
  pid=$(cat "$REGISTRY_PIDFILE" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  wait_until 30 "the registry to exit" bash -c "! kill -0 $pid 2>/dev/null"
  rm -f "$REGISTRY_PIDFILE"
}
trap 'kill_quietly "${WORKER_PID:-}"; stop_registry; rm -rf "$tmp"' EXIT
"$PI_SOURCE_DIR/deploy/registry-start.sh"
"$PI_SOURCE_DIR/deploy/python-venv.sh"
PY="$PYTHON_VENV/bin/python"
REG="$E2E_DIR/registry"
BOOT="$PI_KAFKA_BOOTSTRAP_SERVERS"
norm() { python3 -c 'import json,sys; [print(json.dumps(json.loads(l), sort_keys=True)) for l in sys.stdin]'; }

# 1. Reference, local ids.
e2e_namespace reglocal
worker_start "$tmp/local.log" --program_file="$E2E_DIR/program.yaml"
for ph in 1 2; do
  "$CTL" produce --file "$E2E_DIR/pipeline-phase$ph.jsonl" >/dev/null
  wait_caught_up 120 || { cat "$tmp/local.log"; exit 1; }
done
worker_stop
"$CTL" dump --json --topic payouts | norm >"$tmp/ref-payouts.jsonl"
"$CTL" dump --json --topic alerts | norm >"$tmp/ref-alerts.jsonl"
"$CTL" dump --json --topic dead-letters >"$tmp/ref-dlq.jsonl"
[ -s "$tmp/ref-payouts.jsonl" ] || fail "the reference run wrote no payouts"

# 2. Registry ids, foreign producer and consumer.
e2e_namespace reg
worker_start "$tmp/reg.log" --program_file="$E2E_DIR/program.yaml" \
  --schema.registry.url="$REGISTRY_URL" --schema.registry.retry_deadline_ms=3000
for ph in 1 2; do
  "$PY" "$REG/foreign_producer.py" "$REGISTRY_URL" "$BOOT" "$E2E_DIR/pipeline-phase$ph.jsonl" \
    --ids "$tmp/ids.json"
  wait_caught_up 120 || { cat "$tmp/reg.log"; exit 1; }
done
"$PY" "$REG/foreign_producer.py" --raw-id 2000000000 "$BOOT" "$PI_TOPIC_SALES" p-alpha
wait_caught_up 120 || { cat "$tmp/reg.log"; exit 1; }
for kind in payouts alerts; do
  topic=$([ $kind = payouts ] && echo "$PI_TOPIC_PAYOUTS" || echo "$PI_TOPIC_ALERTS")
  "$PY" "$REG/foreign_consumer.py" "$REGISTRY_URL" "$BOOT" "$topic" "$tmp/$kind.ids" \
    >"$tmp/reg-$kind.jsonl" || fail "the foreign consumer could not read $topic"
  diff <(sort "$tmp/ref-$kind.jsonl") <(sort "$tmp/reg-$kind.jsonl") \
    || fail "$kind read by the foreign consumer differ from the local-id run"
  want=$(curl -sf "$REGISTRY_URL/subjects/$topic-value/versions/latest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') \
    || fail "subject $topic-value is not registered"
  [ -z "$(cat "$tmp/ref-$kind.jsonl")" ] || [ "$(cat "$tmp/$kind.ids")" = "$want" ] \
    || fail "$kind carry schema ids $(cat "$tmp/$kind.ids"), the registry has $want for $topic-value"
  say "$kind: $(wc -l <"$tmp/reg-$kind.jsonl") records, read by the foreign consumer, equal the local-id run; schema id $want ($topic-value)"
done
"$CTL" dump --json --topic dead-letters >"$tmp/dlq.jsonl"
reasons() { python3 -c 'import json,sys; print(" ".join(sorted(json.loads(l)["reason"] for l in sys.stdin)))' <"$1"; }
[ "$(reasons "$tmp/dlq.jsonl")" = "$( (cat "$tmp/ref-dlq.jsonl"; echo '{"reason":"UNKNOWN_SCHEMA"}') | python3 -c 'import json,sys; print(" ".join(sorted(json.loads(l)["reason"] for l in sys.stdin)))')" ] \
  || { cat "$tmp/dlq.jsonl"; fail "dead letters: want the reference's plus one UNKNOWN_SCHEMA (schema id 2000000000)"; }
grep -q "Schema id 2000000000 is not registered" "$tmp/dlq.jsonl" || fail "no dead letter names schema id 2000000000"
ndlq=$(wc -l <"$tmp/dlq.jsonl")
fetched=$(grep -c '"schema_fetched"' "$tmp/reg.log" || true)
[ "$fetched" -eq 2 ] || { grep schema_ "$tmp/reg.log"; fail "$fetched schema fetches, want 2 (sale, registration)"; }
say "id 2000000000 (not in the registry): UNKNOWN_SCHEMA dead letter; input ids fetched once each"

# 3. auto_register=false and a subject without our schema: no start.
rc=0
env PI_TOPIC_PAYOUTS="$E2E_RUN.unregistered.payouts" "$WORKER" --program_file="$E2E_DIR/program.yaml" \
  --schema.registry.url="$REGISTRY_URL" --schema.registry.auto_register=false \
  >"$tmp/noauto.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q "subject $E2E_RUN.unregistered.payouts-value has no version equal to the embedded PayoutEvent schema" "$tmp/noauto.log" \
  || { cat "$tmp/noauto.log"; fail "auto_register=false: want exit 2 naming the subject, got $rc"; }
say "auto_register=false without the subject: start refused, subject named"

# 4. The registry goes away.
stop_registry
before=$("$CTL" dump --raw --topic payouts | wc -l)
cat >"$tmp/cached.jsonl" <<'J'
{"type":"sale","event_id":"reg-c1","partner_id":"p-alpha","occurred_at":1791800000000,"kind":"SALE","amount_minor":500000,"currency":"EUR","sku":"SW-1","quantity":1,"deal_id":null,"original_event_id":null}
{"type":"sale","event_id":"reg-c2","partner_id":"p-beta","occurred_at":1791800000000,"kind":"SALE","amount_minor":700000,"currency":"EUR","sku":"SW-1","quantity":1,"deal_id":null,"original_event_id":null}
J
"$PY" "$REG/foreign_producer.py" --cached "$tmp/ids.json" "$BOOT" "$tmp/cached.jsonl"
wait_caught_up 120 || { cat "$tmp/reg.log"; exit 1; }
after=$("$CTL" dump --raw --topic payouts | wc -l)
# Two rebates at least (p-alpha's sale also lifts its tier: a true-up may follow).
[ "$after" -ge $((before + 2)) ] || fail "registry down: $before payouts before, $after after two sales with cached ids"
say "registry down: two sales with cached ids still paid ($before -> $after payouts)"
"$PY" "$REG/foreign_producer.py" --raw-id 2000000001 "$BOOT" "$PI_TOPIC_SALES" p-alpha
rc=0
wait "$WORKER_PID" || rc=$?
[ "$rc" -ne 0 ] && grep -q "cannot fetch schema id 2000000001" "$tmp/reg.log" \
  || { tail -5 "$tmp/reg.log"; fail "an uncached id with the registry down: want a non-zero exit, got $rc"; }
[ "$("$CTL" dump --raw --topic dead-letters | wc -l)" -eq "$ndlq" ] \
  || fail "the record with the uncached id was dead-lettered while the registry was down"
say "registry down: an uncached id stops the worker (exit $rc), no dead letter"
rc=0
"$WORKER" --program_file="$E2E_DIR/program.yaml" --schema.registry.url="$REGISTRY_URL" \
  --schema.registry.retry_deadline_ms=2000 >"$tmp/down.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q "registry unavailable after" "$tmp/down.log" \
  || { cat "$tmp/down.log"; fail "start with the registry down: want exit 2 after the deadline, got $rc"; }
say "registry down at start: exit 2 after the retry deadline"
say "registry: pass"
