#!/usr/bin/env bash
# Stops the local worker(s), Kafka, Redis and the schema registry started by the deploy scripts (in that order:
# workers first so they commit/flush against live services). Idempotent: whatever is not
# running is skipped. `--wipe` also deletes Kafka's and Redis's data (and their logs) so
# the next start is fresh; the fetched Kafka jars are kept.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

wipe=0
case "${1:-}" in
  "") ;;
  --wipe) wipe=1 ;;
  *) die "usage: $0 [--wipe]" ;;
esac

# Exited = no such pid, or a zombie (exited, not yet reaped by a parent that is a test harness).
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# stop_pidfile PIDFILE NAME PATTERN DEADLINE — SIGTERM, wait for exit, then SIGKILL.
stop_pidfile() {
  local pidfile=$1 name=$2 pattern=$3 deadline=$4 pid
  if ! pid_alive "$pidfile" "$pattern"; then
    rm -f "$pidfile"   # stale or absent: nothing runs under it
    return 0
  fi
  pid=$(cat "$pidfile")
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$deadline" "$name (pid $pid) to exit after SIGTERM" gone "$pid"; then
    log "killing $name (pid $pid)"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 "$name (pid $pid) to exit after SIGKILL" gone "$pid" \
      || die "$name (pid $pid) survives SIGKILL"
  fi
  rm -f "$pidfile"
}

for pf in "$PI_STATE_DIR"/workers/*.pid; do
  [ -e "$pf" ] || continue   # no workers: the glob stays literal
  stop_pidfile "$pf" "worker $(basename "$pf" .pid)" "" 30
done
# Kafka's controlled shutdown takes a few seconds; Redis exits at once (AOF is fsynced).
stop_pidfile "$KAFKA_PIDFILE" Kafka kafka.Kafka 60
stop_pidfile "$REDIS_PIDFILE" Redis redis-server 20
stop_pidfile "$REGISTRY_PIDFILE" "schema registry" quarkus-run.jar 30

if [ "$wipe" = 1 ]; then
  log "wiping $KAFKA_DIR and $REDIS_DIR"
  rm -rf "$KAFKA_DIR" "$REDIS_DIR"
fi
log "stopped"
