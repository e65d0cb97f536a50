#!/usr/bin/env bash
# Chaos test (issue #6, `ctest -L chaos`): the same generated stream runs once through one
# undisturbed worker and once through three supervised workers while a seeded fault loop
# strikes at random instants:
#   worker_kill   kill -9 of a worker (its supervisor restarts it, same worker.id)
#   worker_stop   SIGSTOP of a worker past the session timeout, then SIGCONT (a zombie:
#                 fenced on its next ledger call, exits, and is restarted)
#   redis_kill    kill -9 of redis-server, restarted from its AOF (appendfsync always)
#   broker_kill   kill -9 of the Kafka broker, restarted on its data
#   join_leave    a fourth worker joins and leaves again (SIGTERM)
# Then every payout, alert and dead letter of the chaos run must equal the undisturbed
# run's (as sets of records, byte for byte once the namespace is taken out), none may
# appear twice, and the public Redis layout must be identical. Prints the seed and the
# number of faults of each kind.
#
# It owns its broker and Redis (it kills them), on ports of its own and in its own state
# dir, so it never touches the e2e fixture or a demo:
#   CHAOS_SEED=N      rerun a seed (default: the time)
#   CHAOS_FAULTS=N    faults to inject (default 12; the README has the last long soak)
#   CHAOS_KAFKA_PORT [30092]  CHAOS_REDIS_PORT [30379]  CHAOS_STATE_DIR [/tmp/pi-chaos-e2e]
#   (below Linux's ephemeral range, 32768-60999: a port in it can be taken by some client's
#   outgoing connection while the broker is down, and the restart then fails to bind.)
set -euo pipefail
export PI_TEST_KAFKA_PORT="${CHAOS_KAFKA_PORT:-30092}"
export PI_TEST_REDIS_PORT="${CHAOS_REDIS_PORT:-30379}"
export PI_TEST_STATE_DIR="${CHAOS_STATE_DIR:-/tmp/pi-chaos-e2e}"
source "$(dirname "$0")/lib.sh"
export PI_STATE_DIR KAFKA_PORT REDIS_PORT
# shellcheck source=/dev/null
. "$PI_SOURCE_DIR/deploy/env.sh"           # KAFKA_PIDFILE, REDIS_PIDFILE

seed=${CHAOS_SEED:-$(date +%s)}
n_faults=${CHAOS_FAULTS:-12}
RANDOM=$seed
say "seed $seed, $n_faults faults (rerun with CHAOS_SEED=$seed CHAOS_FAULTS=$n_faults)"
tmp=$(mktemp -d)
started=$SECONDS

cleanup() {
  local rc=$?
  touch "$tmp/stop"
  local f
  for f in "$tmp"/*.pid; do
    [ -e "$f" ] || continue
    kill -CONT "$(cat "$f")" 2>/dev/null || true
    kill -9 "$(cat "$f")" 2>/dev/null || true
  done
  jobs -p | xargs -r kill -9 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then                # keep what a failure needs to be understood
    rm -rf "$PI_STATE_DIR-logs"; mkdir -p "$PI_STATE_DIR-logs"
    cp -r "$tmp"/*.log "$tmp"/*.exits "$tmp"/faults "$tmp"/ref "$tmp"/chaos "$PI_STATE_DIR/kafka/logs" \
      "$PI_STATE_DIR-logs/" 2>/dev/null || true
    echo "[$(basename "$0")] logs kept in $PI_STATE_DIR-logs" >&2
  fi
  "$PI_SOURCE_DIR/deploy/stop.sh" --wipe >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$PI_SOURCE_DIR/deploy/stop.sh" --wipe >/dev/null 2>&1 || true
"$PI_SOURCE_DIR/deploy/up.sh" >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log"; fail "deploy/up.sh failed"; }
mkdir -p "$tmp/in"
python3 "$E2E_DIR/lb_random.py" gen "$seed" "$tmp/in" >/dev/null

# Short session timeout so a stopped worker loses its partitions within the test; in the
# chaos run small batches, so the stream takes long enough for the faults to land in it.
WORKER_ARGS=(--program_file="$tmp/in/program.yaml"
             --kafka.session.timeout.ms=6000 --kafka.heartbeat.interval.ms=1000)

# retry SECONDS CMD... — runs CMD until it succeeds (the broker may be restarting).
retry() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >>"$tmp/retry.log" 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 1
  done
}
caught_up() { retry 300 "$CTL" lag --wait --timeout 60 || fail "not caught up in 300 s"; }
# produce FILE — once; the fault loop does not kill the broker meanwhile (a producer that
# gave up half-way would have to resend, and redelivered bad records are dead-lettered
# again, so the input would differ from the reference run's).
produce() {
  touch "$tmp/producing"
  retry 120 "$CTL" produce --file "$1" || fail "cannot produce $1"
  rm -f "$tmp/producing"
}
# feed — every part, registrations consumed before the part's sales (as lb_random.py's
# model and the reference run do), so each partner's events are applied in one order.
feed() {
  local part=1
  while [ -e "$tmp/in/part-$part-sales.jsonl" ]; do
    produce "$tmp/in/part-$part-registrations.jsonl"; caught_up
    produce "$tmp/in/part-$part-sales.jsonl"; caught_up
    part=$((part + 1))
  done
}

# supervise NAME — runs worker NAME until $tmp/stop exists, restarting it when it exits.
supervise() {
  local name=$1 rc
  while [ ! -e "$tmp/stop" ]; do
    "$WORKER" "${WORKER_ARGS[@]}" --worker.id="$E2E_RUN-$name" >>"$tmp/$name.log" 2>&1 &
    echo $! >"$tmp/$name.pid"
    rc=0; wait $! || rc=$?
    echo "$rc" >>"$tmp/$name.exits"
    [ -e "$tmp/stop" ] || sleep 1          # restart back-off, as a process supervisor has
  done
}
stop_workers() {
  touch "$tmp/stop"
  local f
  for f in "$tmp"/w*.pid; do
    [ -e "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null || true
  done
  wait "${supervisors[@]}" 2>/dev/null || true
  rm -f "$tmp/stop" "$tmp"/w*.pid
}

# kill_server PIDFILE — kill -9, then wait until the process is gone (its port is free).
kill_server() {
  local pid; pid=$(cat "$1")
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}
# pid_of FILE — the pid in FILE if that process runs.
pid_of() { local p; p=$(cat "$1" 2>/dev/null) && kill -0 "$p" 2>/dev/null && echo "$p"; }

declare -A count=([worker_kill]=0 [worker_stop]=0 [redis_kill]=0 [broker_kill]=0 [join_leave]=0)
kinds=(worker_kill worker_stop redis_kill broker_kill join_leave)
fault_loop() {
  local i kind slot pid
  RANDOM=$seed                                        # a subshell: bash reseeds it
  for ((i = 0; i < n_faults; i++)); do
    sleep "$((1 + RANDOM % 4)).$((RANDOM % 10))"       # a random instant
    kind=${kinds[RANDOM % ${#kinds[@]}]}
    [ "$kind" = broker_kill ] && [ -e "$tmp/producing" ] && kind=worker_kill
    slot=w$((1 + RANDOM % 3))
    case $kind in
      worker_kill)
        pid=$(pid_of "$tmp/$slot.pid") && kill -9 "$pid" ;;
      worker_stop)
        if pid=$(pid_of "$tmp/$slot.pid"); then
          kill -STOP "$pid"; sleep 8; kill -CONT "$pid"    # 8 s > session.timeout.ms
        fi ;;
      redis_kill)
        kill_server "$REDIS_PIDFILE"
        retry 120 "$PI_SOURCE_DIR/deploy/redis-start.sh" || fail "redis-server did not restart" ;;
      broker_kill)
        kill_server "$KAFKA_PIDFILE"
        retry 120 "$PI_SOURCE_DIR/deploy/kafka-start.sh" || fail "the broker did not restart" ;;
      join_leave)
        "$WORKER" "${WORKER_ARGS[@]}" --worker.id="$E2E_RUN-w4" >>"$tmp/w4.log" 2>&1 &
        pid=$!
        sleep "$((2 + RANDOM % 4))"
        kill -TERM "$pid"; wait "$pid" || true ;;
    esac
    echo "$kind" >>"$tmp/faults"
    echo "[$(basename "$0")] fault $((i + 1))/$n_faults at $((SECONDS - started))s: $kind${slot:+ ($slot)}"
  done
}

# ---- the undisturbed run ----------------------------------------------------------------
e2e_namespace chaosref
supervisors=()
supervise w1 & supervisors+=($!)
feed
stop_workers
dump_outputs "$tmp/ref"
dump_redis "$tmp/ref/redis.txt"
ref_run=$E2E_RUN
say "undisturbed run: $(wc -l <"$tmp/ref/payouts.jsonl") payouts, $(wc -l <"$tmp/ref/alerts.jsonl") alerts, $(wc -l <"$tmp/ref/dead-letters.jsonl") dead letters ($((SECONDS - started))s)"

# ---- the chaos run ----------------------------------------------------------------------
chaos_started=$SECONDS
e2e_namespace chaos
WORKER_ARGS+=(--batch.max_events=5)
supervisors=()
for s in w1 w2 w3; do supervise "$s" & supervisors+=($!); done
fault_loop & faults_pid=$!
feed
wait "$faults_pid" || fail "the fault loop failed"
# Whatever the last fault left behind (a restarting broker or Redis) must be up again.
"$PI_SOURCE_DIR/deploy/up.sh" >>"$tmp/restarts.log" 2>&1 || fail "infrastructure did not come back"
caught_up
stop_workers
dump_outputs "$tmp/chaos"
dump_redis "$tmp/chaos/redis.txt"

# ---- compare ----------------------------------------------------------------------------
for k in "${kinds[@]}"; do count[$k]=$(grep -cx "$k" "$tmp/faults" 2>/dev/null || true); done
summary="faults: worker_kill ${count[worker_kill]}, worker_stop ${count[worker_stop]}, redis_kill ${count[redis_kill]}, broker_kill ${count[broker_kill]}, join_leave ${count[join_leave]}"
restarts=$(cat "$tmp"/w[123].exits 2>/dev/null | wc -l)
python3 - "$tmp/ref" "$tmp/chaos" "$ref_run" "$E2E_RUN" <<'PY' || fail "the chaos run differs from the undisturbed run (seed $seed; $summary)"
import json, sys
ref_dir, chaos_dir, ref_ns, chaos_ns = sys.argv[1:]
problems = []
def load(d, name, ns):
    with open(f"{d}/{name}.jsonl") as f:
        # The only namespace-specific bytes: a dead letter names its source topic.
        return [line.rstrip("\n").replace(f'"{ns}.', '"NS.') for line in f if line.strip()]
ids = {"payouts": "payout_id", "alerts": "alert_id"}
for name in ("payouts", "alerts", "dead-letters"):
    ref, chaos = load(ref_dir, name, ref_ns), load(chaos_dir, name, chaos_ns)
    for run, rows in (("undisturbed", ref), ("chaos", chaos)):
        key = ids.get(name)
        keys = [json.loads(r)[key] if key else r for r in rows]
        if len(set(keys)) != len(keys):
            problems.append(f"{run} run: {len(keys) - len(set(keys))} {name} appear twice")
    if sorted(ref) != sorted(chaos):
        missing = sorted(set(ref) - set(chaos))
        extra = sorted(set(chaos) - set(ref))
        problems.append(f"{name}: {len(ref)} undisturbed vs {len(chaos)} chaos; "
                        f"{len(missing)} missing, {len(extra)} extra; first: {(missing + extra)[:1]}")
    print(f"{name}: {len(chaos)} identical" if sorted(ref) == sorted(chaos) else f"{name}: DIFFER")
ref_redis, chaos_redis = (open(f"{d}/redis.txt").read().splitlines() for d in (ref_dir, chaos_dir))
if ref_redis != chaos_redis:
    diff = sorted(set(ref_redis) ^ set(chaos_redis))
    problems.append(f"Redis layout differs in {len(diff)} lines, first: {diff[:1]}")
else:
    print(f"redis: {len(chaos_redis)} keys identical")
for p in problems:
    print("  " + p)
sys.exit(1 if problems else 0)
PY
say "$summary; $restarts worker exits restarted by the supervisors; chaos run $((SECONDS - chaos_started))s, whole test $((SECONDS - started))s"
