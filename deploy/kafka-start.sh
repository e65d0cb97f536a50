#!/usr/bin/env bash
# Starts a single-node Apache Kafka (KRaft, combined broker+controller) on
# 127.0.0.1:$KAFKA_PORT, state in $PI_STATE_DIR/kafka. Idempotent: a running broker
# that answers metadata requests is left alone.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

READY_DEADLINE=${KAFKA_READY_DEADLINE:-90}
command -v kcat >/dev/null || die "kcat not found: run deploy/install-deps.sh"

# Ready = the broker's pid lives and a metadata request lists broker 1. Its client port
# opens only once the broker has joined the (own) controller quorum.
kafka_ready() {
  pid_alive "$KAFKA_PIDFILE" kafka.Kafka \
    || die "Kafka exited during startup (log: $KAFKA_LOG, JVM output: $KAFKA_OUT)"
  kafka_metadata | grep -q "broker 1 at 127.0.0.1:$KAFKA_PORT"
}

if pid_alive "$KAFKA_PIDFILE" kafka.Kafka; then
  # Running (maybe still starting from a concurrent run): just wait for it.
  wait_until "$READY_DEADLINE" "running Kafka (pid $(cat "$KAFKA_PIDFILE")) to answer on $KAFKA_BOOTSTRAP (log: $KAFKA_LOG)" kafka_ready || exit 1
  log "Kafka already running on $KAFKA_BOOTSTRAP (pid $(cat "$KAFKA_PIDFILE"))"
  exit 0
fi
rm -f "$KAFKA_PIDFILE"
# Don't mistake someone else's listener for ours (it would pass the readiness check).
for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
  ! nc -z 127.0.0.1 "$port" 2>/dev/null \
    || die "port $port is already in use by another process; set KAFKA_PORT or stop it"
done

"$DEPLOY_DIR/fetch-kafka.sh"
mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"

# Single node: every replication factor / ISR is 1; small internal topics and no
# rebalance delay keep start-up and consumer-group joins fast in tests.
cat >"$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=$PI_PARTITIONS
default.replication.factor=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=33554432
PROPS

# Format once: meta.properties in the log dir means the storage already belongs to a
# cluster (re-formatting would refuse anyway, or wipe the data with --ignore-formatted).
if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
  log "formatting Kafka storage in $KAFKA_DIR/data (cluster id $KAFKA_CLUSTER_ID)"
  kafka_java kafka.tools.StorageTool format --standalone -t "$KAFKA_CLUSTER_ID" \
      -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/logs/format.log" 2>&1 \
    || die "kafka storage format failed (log: $KAFKA_DIR/logs/format.log)"
fi

log "starting Kafka $KAFKA_VERSION on $KAFKA_BOOTSTRAP (log: $KAFKA_LOG)"
# setsid + nohup: the broker outlives this script and its terminal/process group. The
# inner shell writes its own pid before exec'ing java, so the pid file is java's pid.
# shellcheck disable=SC2016  # $$, $0 and $@ belong to the inner shell
nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PIDFILE" \
  java -Xms512m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
  -Djava.awt.headless=true -Dkafka.logs.dir="$KAFKA_DIR/logs" \
  -Dlog4j2.configurationFile="$DEPLOY_DIR/kafka/log4j2.properties" \
  -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
  >"$KAFKA_OUT" 2>&1 </dev/null &
wait_until 10 "Kafka pid file $KAFKA_PIDFILE" test -s "$KAFKA_PIDFILE" || exit 1
wait_until "$READY_DEADLINE" "Kafka to answer metadata on $KAFKA_BOOTSTRAP (log: $KAFKA_LOG)" kafka_ready || exit 1
log "Kafka ready on $KAFKA_BOOTSTRAP (pid $(cat "$KAFKA_PIDFILE"), ${SECONDS}s)"
