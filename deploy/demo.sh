#!/usr/bin/env bash
# The main job, from a fresh machine: build, start a local single-node Kafka (KRaft) and
# Redis, create the topics, feed a realistic sample through the worker, and show the
# resulting leaderboard, tiers, payouts and alerts.
#
# The sample is `incentivectl produce --generate` in its four phases, each fed once the
# worker has consumed the previous one: enrolments, certifications and deal registrations;
# sales over Q4 2026 (with deal sales, returns, late sales, a few very large orders and
# bad records); eNPS and pulse survey responses; deal conflicts. Together they make every
# kind of payout, alert and dead letter appear.
#
# Options (environment): DEMO_SEED (default 7), DEMO_PARTNERS (200), DEMO_SALES (20000),
# DEMO_DAYS (92).
# The services keep running afterwards so you can explore with build/consumer/incentivectl;
# deploy/stop.sh stops them (--wipe also deletes their data).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
# shellcheck source=deploy/env.sh
source "$repo/deploy/env.sh"
seed="${DEMO_SEED:-7}" partners="${DEMO_PARTNERS:-200}" sales="${DEMO_SALES:-20000}"
days="${DEMO_DAYS:-92}"
programs="$repo/deploy/programs/example.yaml"
ctl="$repo/build/consumer/incentivectl"
worker="$repo/build/consumer/incentive-worker"

"$repo/deploy/install-deps.sh"
echo "== build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
"$ctl" validate "$programs"

echo "== start Kafka and Redis, create topics"
"$repo/deploy/up.sh"

# A fresh demo each run: its own Redis namespace and consumer group, its own topics.
run="demo-$(date +%s)"
export PI_REDIS_NAMESPACE="$run" PI_GROUP_ID="$run" PI_WORKER_ID="$run-1"
for v in PI_TOPIC_SALES PI_TOPIC_REGISTRATIONS PI_TOPIC_SURVEYS PI_TOPIC_APPROVALS PI_TOPIC_PAYOUTS \
         PI_TOPIC_ALERTS PI_TOPIC_DEAD_LETTERS; do
  export "$v=$run.${!v}"
done
"$repo/deploy/topics-create.sh" >/dev/null

mkdir -p "$PI_STATE_DIR/workers"
"$worker" --program_file="$programs" >"$PI_STATE_DIR/workers/$run.log" 2>&1 &
echo $! >"$PI_STATE_DIR/workers/$run.pid"
trap 'kill -TERM "$(cat "$PI_STATE_DIR/workers/$run.pid")" 2>/dev/null || true' EXIT

gen=(--generate --seed "$seed" --partners "$partners" --sales "$sales" --days "$days"
     --cert-pct 30 --program-file "$programs")
# feed PHASE WHAT TIMEOUT — one phase of the generated stream, then wait for the worker:
# the next phase may only start once this one is consumed (Kafka orders records within a
# partition, not across topics and partitions).
feed() {
  local t0=$SECONDS
  echo "== feed $2, wait for the worker"
  "$ctl" produce "${gen[@]}" --phase "$1"
  "$ctl" lag --wait --timeout "$3" >/dev/null
  echo "   (${1} phase consumed in $((SECONDS - t0)) s)"
}
feed enrol "$partners enrolments, certifications, deal registrations and approvals" 120
feed sales "$sales sales over $days days (deal sales, returns, late sales, large orders, bad records)" 300
feed surveys "eNPS and pulse survey responses" 120
feed conflicts "deal registrations that conflict with others' open deals" 120

# Senior approval (CONTRACT §6.13): an approver works through the APPROVAL_REQUIRED alerts
# and decides each held payout; every third one is rejected.
echo "== senior approval: decide the payouts held for approval"
"$ctl" dump --json --topic alerts | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    a = json.loads(line)
    if a["kind"] != "APPROVAL_REQUIRED":
        continue
    n += 1
    print(json.dumps({"type": "approval", "event_id": "decision-%d" % n,
                      "partner_id": a["partner_id"], "occurred_at": a["occurred_at"] + 86400000,
                      "payout_id": a["attributes"]["payout_id"],
                      "decision": "REJECTED" if n % 3 == 0 else "APPROVED",
                      "approver_id": "cfo-demo",
                      "reason": "over budget" if n % 3 == 0 else None}))
' >"$PI_STATE_DIR/$run-decisions.jsonl"
"$ctl" produce --file "$PI_STATE_DIR/$run-decisions.jsonl"
"$ctl" lag --wait --timeout 120 >/dev/null

kill -TERM "$(cat "$PI_STATE_DIR/workers/$run.pid")"
wait "$(cat "$PI_STATE_DIR/workers/$run.pid")" || true
trap - EXIT

echo
echo "== leaderboards (Redis sorted sets, namespace $run)"
"$ctl" leaderboard --program emea-resellers --top 10
"$ctl" leaderboard --program na-distributors --top 5
echo
echo "== three partners (Redis hashes)"
top=$("$ctl" leaderboard --program emea-resellers --top 3 | awk '$1 ~ /^[0-9]+$/ {print $2}')
# shellcheck disable=SC2086
"$ctl" partner $top
echo
echo "== outputs (read_committed)"
"$ctl" dump --json --topic payouts >"$PI_STATE_DIR/$run-payouts.jsonl"
"$ctl" dump --json --topic alerts >"$PI_STATE_DIR/$run-alerts.jsonl"
"$ctl" dump --json --topic dead-letters >"$PI_STATE_DIR/$run-dead-letters.jsonl"
count() { grep -o "\"$2\":\"[A-Z_]*\"" "$1" | sort | uniq -c | sed 's/"//g; s/:/ /'; }
echo "payouts by kind:";      count "$PI_STATE_DIR/$run-payouts.jsonl" kind
echo "payouts by status:";    count "$PI_STATE_DIR/$run-payouts.jsonl" status
echo "alerts by kind:";       count "$PI_STATE_DIR/$run-alerts.jsonl" kind
echo "dead letters by reason:"; count "$PI_STATE_DIR/$run-dead-letters.jsonl" reason
echo
echo "== program metrics (Redis hash, CONTRACT §9)"
"$ctl" kpi --program emea-resellers || echo "(incentivectl kpi failed)"
echo
echo "Worker log: $PI_STATE_DIR/workers/$run.log. Outputs: $PI_STATE_DIR/$run-*.jsonl"
echo "Explore: PI_REDIS_NAMESPACE=$run build/consumer/incentivectl partner <id> ; stop: deploy/stop.sh"
