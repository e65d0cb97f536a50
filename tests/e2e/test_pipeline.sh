#!/usr/bin/env bash
# End to end on the real broker and Redis: a fixed stream in phases (pipeline-phase1.jsonl,
# pipeline-phase2.jsonl, ...: enrolments, sales, certifications, deals, returns, surveys,
# late events, bad records, decisions on held payouts), then the exact payouts, alerts, dead letters (read_committed)
# and the Redis leaderboards, partner hashes and program KPI hashes are compared with
# values worked by hand (pipeline-expected.json; the arithmetic in pipeline-worked.md).
# Phases wait for the worker to catch up, because Kafka orders records per partition,
# not across the four input topics.
source "$(dirname "$0")/lib.sh"

e2e_namespace pipeline
tmp=$(mktemp -d)
trap 'kill_quietly "${WORKER_PID:-}"; rm -rf "$tmp"' EXIT

port=$(free_port)
worker_start "$tmp/worker.log" --program_file="$E2E_DIR/program.yaml" --metrics.port="$port"
phase=1
while [ -f "$E2E_DIR/pipeline-phase$phase.jsonl" ]; do
  "$CTL" produce --file "$E2E_DIR/pipeline-phase$phase.jsonl"
  wait_caught_up 120 || { cat "$tmp/worker.log"; exit 1; }
  say "phase $phase consumed"
  phase=$((phase + 1))
done
[ "$phase" -gt 8 ] || fail "expected pipeline-phase1..8.jsonl, found $((phase - 1)) phases"
# The worker's own endpoints agree (check_metrics.py): every input record handled (92),
# dead letters by reason and payouts and alerts by kind equal to what the topics hold,
# 4 redeliveries of applied events ignored, no lag, histograms and process_* well
# formed, ready.
http_get "http://127.0.0.1:$port/metrics" >"$tmp/metrics.txt"
[ "$(http_get "http://127.0.0.1:$port/readyz")" = "ready" ] || fail "/readyz is not ready"
worker_stop
dump_outputs "$tmp/out"
python3 "$E2E_DIR/check_metrics.py" "$tmp/metrics.txt" "$tmp/out" "$PI_WORKER_ID" 92 4 "$PI_PARTITIONS" \
  "$PI_SOURCE_DIR/deploy/grafana/partner-incentives.json" \
  || { cat "$tmp/metrics.txt"; exit 1; }
python3 "$E2E_DIR/check_pipeline.py" "$E2E_DIR/pipeline-expected.json" "$tmp/out" \
  "$REDIS_PORT" "$PI_REDIS_NAMESPACE" "$E2E_RUN" || { tail -50 "$tmp/worker.log"; exit 1; }

# incentivectl explain, against calculations worked by hand (pipeline-explain-*.txt: the
# first line names the payout, the rest is the exact output).
for f in "$E2E_DIR"/pipeline-explain-*.txt; do
  id=$(head -1 "$f" | sed 's/^# incentivectl explain //')
  "$CTL" explain "$id" >"$tmp/explain.txt" || { cat "$tmp/explain.txt"; fail "incentivectl explain $id failed"; }
  if ! tail -n +2 "$f" | diff - "$tmp/explain.txt"; then
    fail "incentivectl explain $id differs from $(basename "$f")"
  fi
done
say "explain: $(ls "$E2E_DIR"/pipeline-explain-*.txt | wc -l) payouts explained as worked by hand"

# incentivectl statement of p-beta's 2026-Q4, checked by hand (pipeline-worked.md phases
# 7-8): the table exactly; JSON and CSV carry the same records and totals. What is payable
# (the APPROVED records) is the partner hash's period_payouts_minor once all is decided.
"$CTL" statement --partner p-beta --period 2026-Q4 >"$tmp/statement.txt" ||
  fail "incentivectl statement failed"
diff "$E2E_DIR/pipeline-statement-p-beta-2026-Q4.txt" "$tmp/statement.txt" ||
  fail "incentivectl statement differs from pipeline-statement-p-beta-2026-Q4.txt"
"$CTL" statement --partner p-beta --period 2026-Q4 --format json >"$tmp/statement.json"
"$CTL" statement --partner p-beta --period 2026-Q4 --format csv >"$tmp/statement.csv"
python3 - "$tmp/statement.json" "$tmp/statement.csv" <<'PY' || fail "statement JSON/CSV"
import csv, json, sys
s = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
assert s["payable_minor"] == 9220000, s["payable_minor"]
assert s["payable_by_kind"] == {"REBATE": 2140000, "CERTIFICATION_BONUS": 50000,
                                "MDF_ACCRUAL": 7030000}, s["payable_by_kind"]
assert s["held_undecided_minor"] == 0 and s["held_records"] == 5 and s["rejected_records"] == 1
assert [r["payout_id"] for r in rows] == [p["payout_id"] for p in s["payouts"]] and len(rows) == 16
assert sum(int(r["amount_minor"]) for r in rows if r["status"] == "APPROVED") == 9220000
PY
say "statement: p-beta 2026-Q4 as worked by hand in table, JSON and CSV"

# --format json of the Redis readers: the same values pipeline-expected.json holds.
"$CTL" leaderboard --program emea-resellers --period 2026-Q4 --top 100 --format json >"$tmp/lb.json"
"$CTL" partner --format json p-beta p-alpha >"$tmp/partners.json"
"$CTL" kpi --program emea-resellers --period 2026-Q4 --format json >"$tmp/kpi.json"
python3 - "$E2E_DIR/pipeline-expected.json" "$tmp" <<'PY' || fail "--format json differs from pipeline-expected.json"
import json, sys
exp, d = json.load(open(sys.argv[1])), sys.argv[2]
lb = json.load(open(f"{d}/lb.json"))
want = exp["redis"]["lb:emea-resellers:2026-Q4:revenue"]
assert {r["partner_id"]: r["score"] for r in lb["rows"]} == want, lb
assert lb["members"] == len(want) and [r["rank"] for r in lb["rows"]] == list(range(1, len(want) + 1))
assert [r["score"] for r in lb["rows"]] == sorted(want.values(), reverse=True)
for p in json.load(open(f"{d}/partners.json")):
    pid = p.pop("partner_id")
    assert p == exp["redis"][f"partner:{pid}"], (pid, p)
kpi = json.load(open(f"{d}/kpi.json"))
got = {k: str(v) for k, v in kpi["metrics"].items() if v != 0}
assert got == {k: v for k, v in exp["kpi"]["emea-resellers:2026-Q4"].items() if v != "0"}, got
PY
say "--format json: leaderboard, partners and kpi equal the values worked by hand"
