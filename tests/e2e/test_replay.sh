#!/usr/bin/env bash
# End to end: `incentivectl replay` over the pipeline's history (CONTRACT §10.1).
#
#  1. Live: the worker consumes pipeline-phase1..8.jsonl, phase by phase (as
#     test_pipeline.sh does; its outputs are checked there by hand).
#  2. Audit: a replay with the live program file itself. Its live and candidate runs must
#     both reproduce every live payout and alert byte for byte (dump --raw: partition, key
#     and value bytes), its dead letters the same records with the source topic named as
#     the replay's copy, and the report must show no change at all.
#  3. What-if: a candidate with Silver at 250 bp instead of 200 (replay-candidate.yaml).
#     The report must equal replay-report-silver.json, worked by hand in
#     replay-worked.md: every rebate and true-up earned at Silver, and a clawback of one.
#  4. The input topics were created with 120 days' retention (PI_INPUT_RETENTION_MS).
#     Nothing live was touched (live outputs and Redis keys unchanged), and
#     `replay --cleanup` removes every topic and key the replays made.
source "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d)
trap 'kill_quietly "${WORKER_PID:-}"; rm -rf "$tmp"' EXIT
export PI_PROGRAM_FILE="$E2E_DIR/program.yaml"

# ---- 1: live --------------------------------------------------------------------------
e2e_namespace replay
worker_start "$tmp/worker.log"
for phase in 1 2 3 4 5 6 7 8; do
  "$CTL" produce --file "$E2E_DIR/pipeline-phase$phase.jsonl" >/dev/null 2>&1
  wait_caught_up 120 || { cat "$tmp/worker.log"; exit 1; }
done
worker_stop
for k in payouts alerts dead-letters; do "$CTL" dump --raw --topic "$k" >"$tmp/live-$k.raw"; done
"$CTL" dump --json --topic dead-letters >"$tmp/live-dead-letters.jsonl"
dump_redis "$tmp/live-redis-before.txt"
[ "$(wc -l <"$tmp/live-payouts.raw")" -eq 63 ] || fail "live run: want 63 payouts"
# The input topics keep their records long enough to replay a period (topics-create.sh).
retention=$( . "$PI_SOURCE_DIR/deploy/env.sh"; kafka_java kafka.admin.ConfigCommand \
  --bootstrap-server "127.0.0.1:$KAFKA_PORT" --describe --entity-type topics \
  --entity-name "$PI_TOPIC_SALES" 2>/dev/null | tr ' ,' '\n\n' | sed -n 's/^retention.ms=//p' | head -1)
[ "$retention" = 10368000000 ] || fail "input retention.ms is '$retention', want 120 days (10368000000)"
say "live: 63 payouts, $(wc -l <"$tmp/live-alerts.raw") alerts, $(wc -l <"$tmp/live-dead-letters.raw") dead letters"

# run_dump NAME RUN KIND raw|json — dump of a replay run's output topic.
run_dump() {
  local var
  case $3 in
    payouts) var=PI_TOPIC_PAYOUTS ;; alerts) var=PI_TOPIC_ALERTS ;;
    dead-letters) var=PI_TOPIC_DEAD_LETTERS ;;
  esac
  env "$var=$1.$2.${!var}" "$CTL" dump "--$4" --topic "$3"
}

# ---- 2: audit: the live program over the same history ---------------------------------
same="audit-$$"
"$CTL" replay --program-file "$PI_PROGRAM_FILE" --name "$same" --format json \
  >"$tmp/same.json" 2>"$tmp/same.log" || { cat "$tmp/same.log"; fail "replay with the live program"; }
grep -q "copied 92 input records" "$tmp/same.log" || { cat "$tmp/same.log"; fail "want 92 copied records"; }
for run in live candidate; do
  for k in payouts alerts; do
    run_dump "$same" "$run" "$k" raw >"$tmp/same-$run-$k.raw"
    # Every record byte for byte, on the same partition. The order may differ only where
    # the live run applied two records of a phase that commute in another order than
    # their timestamps (CONTRACT §10.1), so the records are compared as sorted lines.
    cmp -s <(sort "$tmp/live-$k.raw") <(sort "$tmp/same-$run-$k.raw") ||
      { diff <(sort "$tmp/live-$k.raw") <(sort "$tmp/same-$run-$k.raw") | head; fail "$run run: $k differ from live"; }
  done
  run_dump "$same" "$run" dead-letters json | sed "s/\"topic\":\"$same\\./\"topic\":\"/" \
    >"$tmp/same-$run-dl.jsonl"
  cmp -s <(sort "$tmp/live-dead-letters.jsonl") <(sort "$tmp/same-$run-dl.jsonl") ||
    { diff <(sort "$tmp/live-dead-letters.jsonl") <(sort "$tmp/same-$run-dl.jsonl") | head; fail "$run run: dead letters differ"; }
done
python3 - "$tmp/same.json" <<'PY' || fail "the audit report should show no change"
import json, sys
r = json.load(open(sys.argv[1]))
rows = [row for p in r["periods"] for row in p["rows"]]
assert len(r["periods"]) >= 3 and rows, r
assert all(row["change"] == 0 and row["live"] == row["candidate"] for row in rows), rows
assert r["partners"] == [] and r["partners_changed"] == 0, r["partners"]
PY
say "audit: both runs reproduce 63 payouts and $(wc -l <"$tmp/live-alerts.raw") alerts byte for byte, the dead letters too; no change reported"

# ---- 3: what-if: Silver at 250 bp -----------------------------------------------------
cand="whatif-$$"
"$CTL" replay --program-file "$E2E_DIR/replay-candidate.yaml" --name "$cand" --format json \
  >"$tmp/cand.json" 2>"$tmp/cand.log" || { cat "$tmp/cand.log"; fail "replay with the candidate"; }
python3 - "$tmp/cand.json" "$E2E_DIR/replay-report-silver.json" <<'PY' || fail "what-if report differs from replay-report-silver.json"
import json, sys
got, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
# The file names differ per run; everything else is worked by hand.
for r in (got, want):
    for k in ("replay", "live_program_file", "candidate_program_file"):
        r.pop(k, None)
if got != want:
    print(json.dumps(got, indent=1))
    sys.exit(1)
PY
"$CTL" replay --program-file "$E2E_DIR/replay-candidate.yaml" --name "$cand" >/dev/null 2>"$tmp/again.log" &&
  fail "a replay name is used once"
grep -q "already exists" "$tmp/again.log" || { cat "$tmp/again.log"; fail "reusing a name should say it exists"; }
say "what-if: Silver 250 bp: the report equals the hand-worked replay-report-silver.json"

# ---- 4: live untouched, cleanup --------------------------------------------------------
for k in payouts alerts dead-letters; do
  "$CTL" dump --raw --topic "$k" | cmp -s - "$tmp/live-$k.raw" || fail "live $k changed"
done
dump_redis "$tmp/live-redis-after.txt"
cmp -s "$tmp/live-redis-before.txt" "$tmp/live-redis-after.txt" || fail "live Redis changed"
for name in "$same" "$cand"; do
  "$CTL" replay --cleanup "$name" >"$tmp/cleanup.txt" || fail "cleanup of $name"
  grep -q "removed: 10 topics" "$tmp/cleanup.txt" || { cat "$tmp/cleanup.txt"; fail "cleanup: want 10 topics"; }
  left=$(redis-cli -p "$REDIS_PORT" --scan --pattern "$name.*" | wc -l)
  [ "$left" -eq 0 ] || fail "cleanup left $left Redis keys of $name"
done
say "live outputs and Redis untouched; replay --cleanup removed both replays' topics and keys"
say "replay: pass"
