#!/usr/bin/env bash
# Starts the ledger Redis on 127.0.0.1:$REDIS_PORT, data in $PI_STATE_DIR/redis.
# Idempotent: a running instance that answers PING is left alone.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

READY_DEADLINE=${REDIS_READY_DEADLINE:-20}
for c in redis-server redis-cli; do
  command -v "$c" >/dev/null || die "$c not found: run deploy/install-deps.sh"
done
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

redis_ready() {
  pid_alive "$REDIS_PIDFILE" redis-server \
    || die "redis-server exited during startup (log: $REDIS_LOG)"
  [ "$(rcli PING 2>/dev/null)" = PONG ]
}

if pid_alive "$REDIS_PIDFILE" redis-server; then
  wait_until "$READY_DEADLINE" "running Redis (pid $(cat "$REDIS_PIDFILE")) to answer PING on port $REDIS_PORT (log: $REDIS_LOG)" redis_ready || exit 1
  log "Redis already running on 127.0.0.1:$REDIS_PORT (pid $(cat "$REDIS_PIDFILE"))"
else
  rm -f "$REDIS_PIDFILE"
  ! nc -z 127.0.0.1 "$REDIS_PORT" 2>/dev/null \
    || die "port $REDIS_PORT is already in use by another process; set REDIS_PORT or stop it"
  mkdir -p "$REDIS_DIR/data"
  # It is a ledger: every write is fsynced to the AOF before the reply (appendfsync
  # always, also during rewrites), no RDB snapshots, and a full memory refuses writes
  # instead of evicting entries.
  cat >"$REDIS_DIR/redis.conf" <<CONF
bind 127.0.0.1
port $REDIS_PORT
daemonize yes
pidfile $REDIS_PIDFILE
logfile $REDIS_LOG
dir $REDIS_DIR/data
appendonly yes
appendfsync always
no-appendfsync-on-rewrite no
save ""
maxmemory-policy noeviction
CONF
  log "starting Redis on 127.0.0.1:$REDIS_PORT (log: $REDIS_LOG)"
  redis-server "$REDIS_DIR/redis.conf" || die "redis-server failed to start (log: $REDIS_LOG)"
  # daemonize: the pid file appears once the forked server has set up.
  wait_until 10 "Redis pid file $REDIS_PIDFILE (log: $REDIS_LOG)" test -s "$REDIS_PIDFILE" || exit 1
  wait_until "$READY_DEADLINE" "Redis to answer PING on port $REDIS_PORT (log: $REDIS_LOG)" redis_ready || exit 1
  log "Redis ready on 127.0.0.1:$REDIS_PORT (pid $(cat "$REDIS_PIDFILE"))"
fi

# A leftover instance with other settings must not pass as the ledger.
[ "$(rcli CONFIG GET appendfsync | tail -n 1)" = always ] \
  || die "Redis on port $REDIS_PORT does not run with appendfsync always (config: $REDIS_DIR/redis.conf)"
