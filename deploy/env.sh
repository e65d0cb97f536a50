# Sourced by the deploy/*.sh scripts: shared defaults (each overridable from the
# environment) and small helpers. Not executable on its own.
# shellcheck disable=SC2034  # variables here are used by the scripts that source this

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$DEPLOY_DIR")"

# Runtime state (jars, broker data, AOF, logs, pid files) lives outside the repo so a
# checkout stays clean and `stop.sh --wipe` can't touch tracked files.
export PI_STATE_DIR="${PI_STATE_DIR:-/tmp/partner-incentives}"

export KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
export KAFKA_PORT="${KAFKA_PORT:-19092}"
export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
export KAFKA_BOOTSTRAP="127.0.0.1:${KAFKA_PORT}"
# Fixed cluster id (base64url of the 16 bytes "pi-local-cluster"): no JVM needed to mint one.
export KAFKA_CLUSTER_ID="${KAFKA_CLUSTER_ID:-cGktbG9jYWwtY2x1c3Rlcg}"
export REDIS_PORT="${REDIS_PORT:-16379}"
export PI_PARTITIONS="${PI_PARTITIONS:-6}"

export PI_TOPIC_SALES="${PI_TOPIC_SALES:-partner.sales}"
export PI_TOPIC_REGISTRATIONS="${PI_TOPIC_REGISTRATIONS:-partner.registrations}"
export PI_TOPIC_SURVEYS="${PI_TOPIC_SURVEYS:-partner.surveys}"
export PI_TOPIC_APPROVALS="${PI_TOPIC_APPROVALS:-partner.approvals}"
export PI_TOPIC_PAYOUTS="${PI_TOPIC_PAYOUTS:-incentive.payouts}"
export PI_TOPIC_ALERTS="${PI_TOPIC_ALERTS:-incentive.alerts}"
export PI_TOPIC_DEAD_LETTERS="${PI_TOPIC_DEAD_LETTERS:-incentive.dead-letters}"
PI_TOPICS=("$PI_TOPIC_SALES" "$PI_TOPIC_REGISTRATIONS" "$PI_TOPIC_SURVEYS" "$PI_TOPIC_APPROVALS"
           "$PI_TOPIC_PAYOUTS" "$PI_TOPIC_ALERTS" "$PI_TOPIC_DEAD_LETTERS")
# Largest record (max.message.bytes) of the input topics and of the dead-letter topic,
# set when topics-create.sh creates them. A dead letter is an input record unchanged
# plus its dlq.* headers, so the dead-letter topic must take more than the inputs do:
# otherwise one large input record fails the worker's transaction on every restart. The
# worker's producer allows 2 MiB + 64 KiB (consumer/cons_kafka.c, message.max.bytes);
# a larger PI_DLQ_MAX_MESSAGE_BYTES needs kafka.message.max.bytes raised to match.
export PI_INPUT_MAX_MESSAGE_BYTES="${PI_INPUT_MAX_MESSAGE_BYTES:-2097152}"   # 2 MiB
export PI_DLQ_MAX_MESSAGE_BYTES="${PI_DLQ_MAX_MESSAGE_BYTES:-2162688}"       # 2 MiB + 64 KiB
# How long the input topics keep records: a what-if replay (incentivectl replay) can only
# rerun what is retained, and a full program period needs the whole period plus its
# allowed lateness plus the slack before someone asks. Default 120 days = the longest
# period (a quarter, 92 days) + 7 days of lateness + 3 weeks. Size it as
# (longest period + max allowed_lateness_days + slack) × 86,400,000 ms; the disk it needs
# is that many days of input at the input rate (README, Operations).
export PI_INPUT_RETENTION_MS="${PI_INPUT_RETENTION_MS:-10368000000}"         # 120 days

# The schema registry (deploy/registry-start.sh; not started by up.sh): Apicurio Registry,
# in memory, its Confluent-compatible API under /apis/ccompat/v7, health on REGISTRY_PORT+1.
export APICURIO_VERSION="${APICURIO_VERSION:-3.3.3}"
export REGISTRY_PORT="${REGISTRY_PORT:-18081}"
export REGISTRY_MGMT_PORT="${REGISTRY_MGMT_PORT:-$((REGISTRY_PORT + 1))}"
export REGISTRY_URL="http://127.0.0.1:${REGISTRY_PORT}/apis/ccompat/v7"

# Layout of the state dir.
KAFKA_HOME="$PI_STATE_DIR/kafka-$KAFKA_VERSION"   # jars only; survives --wipe
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_DIR="$PI_STATE_DIR/kafka"                   # config, data, logs, pid
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/logs/server.log"
KAFKA_OUT="$KAFKA_DIR/logs/kafka.out"             # JVM stdout/stderr (crashes, GC)
REGISTRY_HOME="$PI_STATE_DIR/apicurio-$APICURIO_VERSION"  # the server build; survives --wipe
REGISTRY_APP="$REGISTRY_HOME/quarkus-app"
REGISTRY_DIR="$PI_STATE_DIR/registry"             # pid, log (data is in memory)
REGISTRY_PIDFILE="$REGISTRY_DIR/registry.pid"
REGISTRY_LOG="$REGISTRY_DIR/registry.log"
PYTHON_VENV="$PI_STATE_DIR/python-venv"           # deploy/python-venv.sh; survives --wipe
REDIS_DIR="$PI_STATE_DIR/redis"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

log() { echo "[$(basename "$0")] $*"; }
die() { echo "[$(basename "$0")] ERROR: $*" >&2; exit 1; }

# wait_until DEADLINE_SECONDS DESCRIPTION CMD... — run CMD every 0.2 s until it succeeds
# (return 0) or DEADLINE_SECONDS pass (print DESCRIPTION, return 1). CMD runs in this
# shell, so a check function may itself `die` to stop waiting early (e.g. process exited).
wait_until() {
  local deadline=$1 what=$2; shift 2
  local end=$((SECONDS + deadline))
  until "$@"; do
    if [ "$SECONDS" -ge "$end" ]; then
      echo "[$(basename "$0")] timed out after ${deadline}s waiting for: $what" >&2
      return 1
    fi
    sleep 0.2
  done
}

# retry ATTEMPTS CMD... — runs CMD until it succeeds, at most ATTEMPTS times, 5 s apart;
# for the downloads (Maven, PyPI, npm), where one dropped connection must not fail a
# fresh machine's first run. Returns CMD's last exit code.
retry() {
  local attempts=$1 n=1 rc=0; shift
  until "$@"; do
    rc=$?
    [ "$n" -lt "$attempts" ] || return "$rc"
    echo "[$(basename "$0")] attempt $n of $attempts failed (exit $rc), retrying in 5 s: $1" >&2
    n=$((n + 1)); sleep 5
  done
}

# pid_alive PIDFILE PATTERN — the pid in PIDFILE runs and its command line contains
# PATTERN (guards against a stale pid file whose pid was reused by something else).
pid_alive() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# kafka_java CLASS ARGS... — run a Kafka CLI class from the fetched jars. Client-style JVM
# flags cut ~40% off startup; tools log WARN+ to stderr only.
kafka_java() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto \
    -Dlog4j2.configurationFile="$DEPLOY_DIR/kafka/tools-log4j2.properties" \
    -cp "$KAFKA_LIBS/*" "$@"
}

# java21 — prints a java of version 21 or later (Apicurio Registry 3 needs it; Debian 12's
# default is 17): $PI_JAVA21 if set, else the newest under /usr/lib/jvm, else `java`.
java21() {
  local j v
  for j in ${PI_JAVA21:-} $(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -rV) "$(command -v java || true)"; do
    [ -x "$j" ] || continue
    v=$("$j" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    [ "${v%%.*}" -ge 21 ] 2>/dev/null && { echo "$j"; return 0; }
  done
  return 1
}

# kafka_metadata — broker metadata via kcat (no JVM start); fails if the broker is down.
kafka_metadata() { kcat -L -b "$KAFKA_BOOTSTRAP" -m 3 2>/dev/null; }
