# Shared helpers of the end-to-end tests: they run the real incentive-worker against the
# real Kafka broker and redis-server that deploy/ starts (on test ports, so a running
# demo is never touched). Sourced by the test scripts; not executable on its own.
#
# Each test works in its own namespace: topics "<run>.partner.sales" ..., Redis keys
# "<run>:...", consumer group "<run>", so tests share one broker without seeing each
# other, and a rerun never sees the previous run's records.
set -euo pipefail

: "${PI_SOURCE_DIR:?PI_SOURCE_DIR must point at the repository}"
: "${PI_BUILD_DIR:?PI_BUILD_DIR must point at the build directory}"
export PI_STATE_DIR="${PI_TEST_STATE_DIR:-/tmp/partner-incentives-test}"
export KAFKA_PORT="${PI_TEST_KAFKA_PORT:-29092}"
export REDIS_PORT="${PI_TEST_REDIS_PORT:-26379}"
export PI_PARTITIONS="${PI_PARTITIONS:-6}"
# The worker and incentivectl read these (config keys kafka.bootstrap.servers, redis.port).
export PI_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
export PI_REDIS_PORT="$REDIS_PORT"

WORKER="$PI_BUILD_DIR/consumer/incentive-worker"
CTL="$PI_BUILD_DIR/consumer/incentivectl"
E2E_DIR="$PI_SOURCE_DIR/tests/e2e"

say() { echo "[$(basename "$0")] $*"; }
fail() { echo "[$(basename "$0")] FAIL: $*" >&2; exit 1; }

# e2e_namespace NAME — points topics, Redis namespace and consumer group at a fresh
# namespace "NAME-<pid>" and creates its seven topics.
e2e_namespace() {
  local run="$1-$$"
  export E2E_RUN="$run"
  export PI_TOPIC_SALES="$run.partner.sales"
  export PI_TOPIC_REGISTRATIONS="$run.partner.registrations"
  export PI_TOPIC_SURVEYS="$run.partner.surveys"
  export PI_TOPIC_APPROVALS="$run.partner.approvals"
  export PI_TOPIC_PAYOUTS="$run.incentive.payouts"
  export PI_TOPIC_ALERTS="$run.incentive.alerts"
  export PI_TOPIC_DEAD_LETTERS="$run.incentive.dead-letters"
  export PI_REDIS_NAMESPACE="$run"
  export PI_GROUP_ID="$run"
  export PI_WORKER_ID="$run-w1"
  "$PI_SOURCE_DIR/deploy/topics-create.sh" >/dev/null
}

# kill_quietly PID... — SIGKILL to each PID that is set, for EXIT traps. Never a bare
# `kill -9 "${PID:-0}"`: pid 0 is the caller's whole process group, which under CI is the
# CI run itself, so a test failing before its worker started would kill the suite.
kill_quietly() {
  local p
  for p in "$@"; do
    if [ -n "$p" ] && [ "$p" -gt 0 ] 2>/dev/null; then kill -9 "$p" 2>/dev/null || true; fi
  done
  return 0
}

# worker_start LOGFILE [--key=value ...] — starts the worker in the background; sets
# WORKER_PID.
worker_start() {
  local logfile=$1; shift
  "$WORKER" "$@" >>"$logfile" 2>&1 &
  WORKER_PID=$!
}

# worker_stop — SIGTERM, then waits (deadline 60 s) and checks the exit code is 0.
worker_stop() {
  kill -TERM "$WORKER_PID"
  local rc=0
  wait "$WORKER_PID" || rc=$?
  [ "$rc" -eq 0 ] || fail "worker exited with $rc after SIGTERM"
}

# wait_caught_up [SECONDS] — waits until the worker's group has committed every input
# record (Kafka committed offsets = end offsets), via incentivectl lag --wait.
wait_caught_up() {
  "$CTL" lag --wait --timeout "${1:-120}" >/dev/null && return 0
  echo "[$(basename "$0")] worker did not catch up in ${1:-120}s" >&2
  return 1
}

# dump_outputs DIR — writes payouts.jsonl, alerts.jsonl, dead-letters.jsonl (read_committed).
dump_outputs() {
  mkdir -p "$1"
  "$CTL" dump --json --topic payouts >"$1/payouts.jsonl"
  "$CTL" dump --json --topic alerts >"$1/alerts.jsonl"
  "$CTL" dump --json --topic dead-letters >"$1/dead-letters.jsonl"
}

# decisions_from_alerts OUT — an approver working through the APPROVAL_REQUIRED alerts read
# now (read_committed): one decision per held payout, approving the odd ones and rejecting
# the even ones, a day after the payout, then a second decision on the first payout
# (APPROVAL_ALREADY_DECIDED) and one on a payout that does not exist
# (APPROVAL_UNKNOWN_PAYOUT). Payout ids do not depend on the namespace, so the file can be
# produced into another run of the same stream. Prints the number of held payouts.
decisions_from_alerts() {
  "$CTL" dump --json --topic alerts | python3 -c '
import json, sys
held = [a for a in map(json.loads, sys.stdin) if a["kind"] == "APPROVAL_REQUIRED"]
out = open(sys.argv[1], "w")
def decide(i, a, decision, payout_id=None):
    out.write(json.dumps({"type": "approval", "event_id": f"decision-{i}",
                          "partner_id": a["partner_id"], "occurred_at": a["occurred_at"] + 86400000,
                          "payout_id": payout_id or a["attributes"]["payout_id"],
                          "decision": decision, "approver_id": "cfo-e2e",
                          "reason": None if decision == "APPROVED" else "over budget"}) + "\n")
for i, a in enumerate(held, 1):
    decide(i, a, "APPROVED" if i % 2 else "REJECTED")
if held:
    decide(len(held) + 1, held[0], "REJECTED")
    decide(len(held) + 2, held[0], "APPROVED", "po_" + "0" * 32)
print(len(held))
' "$1"
}

# dump_redis FILE — every key of this run's namespace with its value, namespace prefix
# removed, sorted; the ledger's own bookkeeping (fencing tokens, outbox) is left out
# because it legitimately differs between a clean and a crashed run.
dump_redis() {
  local ns="$PI_REDIS_NAMESPACE" key type
  redis-cli -p "$REDIS_PORT" --scan --pattern "$ns:*" | sort | while read -r key; do
    case "$key" in "$ns:ledger:"*|"$ns:outbox:"*) continue ;; esac
    type=$(redis-cli -p "$REDIS_PORT" TYPE "$key")
    case "$type" in
      # Field order follows where batches happened to break (KPI counters): sort it.
      # Quoted and escaped (--no-raw), so binary values (sale entries) survive intact.
      hash) echo "${key#"$ns"} hash $(redis-cli -p "$REDIS_PORT" --no-raw HGETALL "$key" | sed 's/^ *[0-9]*) //' | paste - - | sort | paste -sd' ' -)" ;;
      zset) echo "${key#"$ns"} zset $(redis-cli -p "$REDIS_PORT" --no-raw ZRANGE "$key" 0 -1 WITHSCORES | paste -sd' ' -)" ;;
      string) echo "${key#"$ns"} string $(redis-cli -p "$REDIS_PORT" --no-raw GET "$key")" ;;
      *) echo "${key#"$ns"} $type" ;;
    esac
  done >"$1"
}

# free_port — a TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# http_get URL — the body of a GET, exit 1 on a non-2xx status.
http_get() {
  python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"
}

# wait_for SECONDS DESCRIPTION CMD... — polls CMD every 0.2 s until it succeeds; fails the
# test with DESCRIPTION when SECONDS pass first.
wait_for() {
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@"; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${deadline}s waiting for: $what"
    sleep 0.2
  done
}

# owns PORT N — the worker serving metrics on PORT owns N input partitions.
owns() {
  http_get "http://127.0.0.1:$1/metrics" 2>/dev/null | grep -q "^pi_owned_partitions{.*} $2\$"
}
