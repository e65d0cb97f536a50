#!/usr/bin/env bash
# End to end: what a dead letter keeps, and `incentivectl dead-letters replay`.
#   1. Three sales of a partner not enrolled yet and one record that is not Avro, written
#      with headers and record timestamps of their own (confluent-kafka, not our
#      producer), become dead letters that keep key, value, headers and timestamp and add
#      dlq.* and Kafka Connect's __connect.errors.* headers.
#   2. The partner enrols. `replay --reason PARTNER_NOT_ENROLLED --dry-run` lists the
#      three and writes nothing; `replay` re-produces them (original headers and
#      timestamps, plus dlq.replayed_from) and the worker pays them; the DECODE_ERROR one
#      stays; a second replay replays nothing (exactly once per dead letter).
#   The replay writes transactionally, so `lag --wait` returns only because the worker
#   commits past the transaction markers (skip_markers in cons_worker.c).
source "$(dirname "$0")/lib.sh"

. "$PI_SOURCE_DIR/deploy/env.sh"   # PYTHON_VENV
"$PI_SOURCE_DIR/deploy/python-venv.sh" >/dev/null
PY="$PYTHON_VENV/bin/python"
tmp=$(mktemp -d)
trap 'kill_quietly "${WORKER_PID:-}"; rm -rf "$tmp"' EXIT

e2e_namespace deadletters
worker_start "$tmp/worker.log" --program_file="$E2E_DIR/program.yaml" --log.level=debug
T0=1791633600000   # record timestamps of our own: 2026-10-10 12:00 UTC
"$PY" - "$PI_KAFKA_BOOTSTRAP_SERVERS" "$PI_TOPIC_SALES" "$PI_SOURCE_DIR/schemas/SaleEvent.avsc" "$T0" <<'PY'
import io, json, struct, sys
import fastavro
from confluent_kafka import Producer
boot, topic, avsc, t0 = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
schema = fastavro.parse_schema(json.load(open(avsc)))
p = Producer({"bootstrap.servers": boot, "partitioner": "murmur2_random"})
for i in range(3):
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, {"event_id": f"late-{i}", "partner_id": "p-late",
        "occurred_at": t0 + i, "kind": "SALE", "amount_minor": 100000 * (i + 1), "currency": "EUR",
        "sku": "SW-1", "quantity": 1, "deal_id": None, "original_event_id": None})
    # id 1: the embedded local SaleEvent (this worker has no schema registry)
    p.produce(topic, key=b"p-late", value=b"\0\0\0\0\1" + buf.getvalue(), timestamp=t0 + i,
              headers=[("trace-id", f"t-{i}".encode()), ("bin", b"\0\xff")])
p.produce(topic, key=b"p-late", value=b"not avro", timestamp=t0 + 9, headers=[("trace-id", b"t-bad")])
if p.flush(30):
    sys.exit("not delivered")
PY
wait_caught_up 120 || { cat "$tmp/worker.log"; exit 1; }

# 1. What the dead letters keep (read raw, with confluent-kafka).
cat >"$tmp/read.py" <<'PY'
import json, sys, uuid
from confluent_kafka import Consumer, KafkaError, TopicPartition
boot, topic = sys.argv[1], sys.argv[2]
c = Consumer({"bootstrap.servers": boot, "group.id": "e2e-" + uuid.uuid4().hex,
              "isolation.level": "read_committed", "enable.partition.eof": True})
parts = c.list_topics(topic, timeout=30).topics[topic].partitions
c.assign([TopicPartition(topic, p, 0) for p in parts])
pending, out = set(parts), []
while pending:
    m = c.poll(30)
    if m is None:
        sys.exit("timeout")
    if m.error():
        if m.error().code() == KafkaError._PARTITION_EOF:
            pending.discard(m.partition()); continue
        sys.exit(str(m.error()))
    out.append({"partition": m.partition(), "offset": m.offset(), "timestamp": m.timestamp()[1],
                "key": m.key().decode() if m.key() else None, "value": m.value().hex(),
                "headers": [[k, v.hex() if v is not None else None] for k, v in (m.headers() or [])]})
for r in sorted(out, key=lambda r: r["headers"] and r["timestamp"]):
    print(json.dumps(r))
PY
"$PY" "$tmp/read.py" "$PI_KAFKA_BOOTSTRAP_SERVERS" "$PI_TOPIC_DEAD_LETTERS" >"$tmp/dlq.jsonl"
python3 - "$tmp/dlq.jsonl" "$PI_TOPIC_SALES" "$T0" <<'PY' || fail "dead letters do not keep what they should"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
src, t0 = sys.argv[2], int(sys.argv[3])
assert len(recs) == 4, recs
for r in recs:
    h = {k: bytes.fromhex(v).decode(errors="replace") for k, v in r["headers"]}
    names = [k for k, _ in r["headers"]]
    late = h["trace-id"] != "t-bad"
    i = int(h["trace-id"][2:]) if late else 9
    assert r["timestamp"] == t0 + i, (r["timestamp"], t0 + i)
    assert r["key"] == "p-late"
    reason = "PARTNER_NOT_ENROLLED" if late else "DECODE_ERROR"
    assert names[0] == "trace-id" and (not late or (names[1] == "bin" and r["headers"][1][1] == "00ff")), names
    for k, v in (("dlq.reason", reason), ("dlq.topic", src),
                 ("__connect.errors.topic", src), ("__connect.errors.exception.class.name", reason)):
        assert h[k] == v, (k, h.get(k), v)
    for k in ("partition", "offset"):
        assert h["dlq." + k] == h["__connect.errors." + k] and h["dlq." + k].isdigit(), k
    assert h["__connect.errors.exception.message"] == h["dlq.detail"] and h["dlq.detail"], h
print("4 dead letters keep key, value, headers and timestamp; dlq.* and __connect.errors.* agree")
PY
say "dead letters: original headers and timestamps kept, Kafka Connect headers added"
# The worker's log: every line one JSON object; a dead letter's line carries topic,
# partition, offset and partner id as fields of their own.
python3 - "$tmp/worker.log" "$PI_TOPIC_SALES" "$PI_WORKER_ID" <<'PY' || fail "worker log"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]   # fails on any line that is not JSON
dl = [l for l in lines if l["event"] == "dead_letter"]
assert len(dl) == 4, dl
for l in dl:
    assert l["topic"] == sys.argv[2] and isinstance(l["partition"], int) and isinstance(l["offset"], int), l
    assert l["partner_id"] == "p-late" and l["worker"] == sys.argv[3], l
print(f"worker log: {len(lines)} lines, all JSON; 4 dead_letter lines with topic/partition/offset/partner_id")
PY
"$CTL" dump --json --topic dead-letters | grep -q '"headers":{"trace-id":"t-0","bin":{"hex":"00ff"}}' \
  || fail "incentivectl dump does not show the original headers"

# 2. Replay after the fix.
cat >"$tmp/enrol.jsonl" <<'J'
{"type":"registration","event_id":"r-late","partner_id":"p-late","occurred_at":1791633500000,"kind":"PARTNER_ENROLLED","program_id":"emea-resellers","region":"DACH","deal_id":null,"deal_value_minor":null,"certification_id":null}
J
"$CTL" produce --file "$tmp/enrol.jsonl" >/dev/null
wait_caught_up 120 || exit 1
sales_before=$("$CTL" stats | awk -v t="$PI_TOPIC_SALES" '$1 == t')
"$CTL" dead-letters replay --reason PARTNER_NOT_ENROLLED --dry-run >"$tmp/dry.txt"
[ "$(grep -c '^would replay [^ ]*\]@[0-9]* to '"$PI_TOPIC_SALES" "$tmp/dry.txt")" -eq 3 ] \
  && grep -q "^would replay 3 dead letters with reason PARTNER_NOT_ENROLLED: 3 to $PI_TOPIC_SALES; 1 of other reasons left alone" "$tmp/dry.txt" \
  || { cat "$tmp/dry.txt"; fail "dry run"; }
[ "$("$CTL" stats | awk -v t="$PI_TOPIC_SALES" '$1 == t')" = "$sales_before" ] || fail "the dry run wrote records"
out=$("$CTL" dead-letters replay --reason PARTNER_NOT_ENROLLED)
[ "$out" = "replayed 3 dead letters with reason PARTNER_NOT_ENROLLED: 3 to $PI_TOPIC_SALES; 1 of other reasons left alone (group $PI_GROUP_ID.dead-letter-replay.PARTNER_NOT_ENROLLED)" ] \
  || fail "replay: $out"
wait_caught_up 120 || exit 1
"$CTL" dump --json --topic payouts >"$tmp/payouts.jsonl"
paid=$(python3 -c 'import json,sys; print(sorted(p["source_event_id"] for p in map(json.loads, open(sys.argv[1])) if p["kind"] == "REBATE" and p["partner_id"] == "p-late"))' "$tmp/payouts.jsonl")
[ "$paid" = "['late-0', 'late-1', 'late-2']" ] || fail "after the replay the rebates are $paid"
[ "$("$CTL" dump --json --topic dead-letters | wc -l)" -eq 4 ] || fail "the replayed sales were dead-lettered again"
"$PY" "$tmp/read.py" "$PI_KAFKA_BOOTSTRAP_SERVERS" "$PI_TOPIC_SALES" | python3 -c '
import json, sys
t0 = int(sys.argv[1])
recs = [r for r in map(json.loads, sys.stdin) if any(k == "dlq.replayed_from" for k, _ in r["headers"])]
assert len(recs) == 3, recs
for r in recs:
    names = [k for k, _ in r["headers"]]
    assert names == ["trace-id", "bin", "dlq.replayed_from"], names
    i = int(bytes.fromhex(r["headers"][0][1]).decode()[2:])
    assert r["timestamp"] == t0 + i
' "$T0" || fail "the replayed records are not the originals"
say "replay: 3 PARTNER_NOT_ENROLLED dead letters re-produced (original headers, timestamps) and paid; DECODE_ERROR left"
out=$("$CTL" dead-letters replay --reason PARTNER_NOT_ENROLLED)
case "$out" in "replayed 0 dead letters with reason PARTNER_NOT_ENROLLED; 0 of other reasons"*) ;; *) fail "second replay: $out" ;; esac
say "a second replay replays nothing"
worker_stop
say "dead letters: pass"
