#!/usr/bin/env bash
# The main job, from a fresh machine: build, start a local single-node Kafka (KRaft) and
# Redis, create the topics, feed a realistic sample through the worker, and show the
# resulting leaderboard, tiers, payouts and alerts.
#
# Options (environment): DEMO_SEED (default 7), DEMO_PARTNERS (200), DEMO_SALES (20000).
# The services keep running afterwards so you can explore with build/consumer/incentivectl;
# deploy/stop.sh stops them (--wipe also deletes their data).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
# shellcheck source=deploy/env.sh
source "$repo/deploy/env.sh"
seed="${DEMO_SEED:-7}" partners="${DEMO_PARTNERS:-200}" sales="${DEMO_SALES:-20000}"
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
for v in PI_TOPIC_SALES PI_TOPIC_REGISTRATIONS PI_TOPIC_SURVEYS PI_TOPIC_PAYOUTS \
         PI_TOPIC_ALERTS PI_TOPIC_DEAD_LETTERS; do
  export "$v=$run.${!v}"
done
"$repo/deploy/topics-create.sh" >/dev/null

mkdir -p "$PI_STATE_DIR/workers"
"$worker" --program_file="$programs" >"$PI_STATE_DIR/workers/$run.log" 2>&1 &
echo $! >"$PI_STATE_DIR/workers/$run.pid"
trap 'kill -TERM "$(cat "$PI_STATE_DIR/workers/$run.pid")" 2>/dev/null || true' EXIT

gen=(--generate --seed "$seed" --partners "$partners" --sales "$sales" --cert-pct 30
     --program-file "$programs")
echo "== feed $partners enrolments, wait for the worker"
"$ctl" produce "${gen[@]}" --phase enrol
"$ctl" lag --wait --timeout 120 >/dev/null
echo "== feed $sales sales (and a few bad records), wait for the worker"
"$ctl" produce "${gen[@]}" --phase sales
"$ctl" lag --wait --timeout 300 >/dev/null

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
echo "alerts by kind:";       count "$PI_STATE_DIR/$run-alerts.jsonl" kind
echo "dead letters by reason:"; count "$PI_STATE_DIR/$run-dead-letters.jsonl" reason
echo
echo "Worker log: $PI_STATE_DIR/workers/$run.log. Outputs: $PI_STATE_DIR/$run-*.jsonl"
echo "Explore: PI_REDIS_NAMESPACE=$run build/consumer/incentivectl partner <id> ; stop: deploy/stop.sh"
