#!/usr/bin/env bash
# Starts a Confluent-compatible schema registry on 127.0.0.1:$REGISTRY_PORT: Apicurio
# Registry $APICURIO_VERSION with in-memory storage (schemas are gone when it stops), no
# auth. The worker's setting: schema.registry.url=$REGISTRY_URL. Health (readiness) is
# on the management port $REGISTRY_MGMT_PORT. Idempotent: a running instance is left alone.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

READY_DEADLINE=${REGISTRY_READY_DEADLINE:-90}
"$DEPLOY_DIR/fetch-registry.sh"
JAVA=$(java21) || die "Apicurio Registry $APICURIO_VERSION needs Java 21 or later and none was found (set PI_JAVA21 to its java, or install one under /usr/lib/jvm)"

ready() {
  pid_alive "$REGISTRY_PIDFILE" quarkus-run.jar \
    || die "the registry exited during startup (log: $REGISTRY_LOG)"
  curl -sf -o /dev/null "http://127.0.0.1:$REGISTRY_MGMT_PORT/health/ready"
}

if pid_alive "$REGISTRY_PIDFILE" quarkus-run.jar; then
  wait_until "$READY_DEADLINE" "the running registry to be ready" ready || exit 1
  log "registry already running: $REGISTRY_URL (pid $(cat "$REGISTRY_PIDFILE"))"
  exit 0
fi
for p in "$REGISTRY_PORT" "$REGISTRY_MGMT_PORT"; do
  ! nc -z 127.0.0.1 "$p" 2>/dev/null \
    || die "port $p is already in use by another process; set REGISTRY_PORT or stop it"
done
mkdir -p "$REGISTRY_DIR"
# Small-footprint JVM flags: a test registry holds a handful of schemas. Storage: the
# default SQL storage on an in-memory H2 database.
nohup "$JAVA" -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
  -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
  -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MGMT_PORT" \
  -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
  -Dapicurio.datasource.url=jdbc:h2:mem:registry \
  -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
  -Dapicurio.datasource.jdbc.max-size=20 \
  ${REGISTRY_JAVA_OPTS:-} \
  -jar "$REGISTRY_APP/quarkus-run.jar" >"$REGISTRY_LOG" 2>&1 &
echo $! >"$REGISTRY_PIDFILE"
wait_until "$READY_DEADLINE" "the registry to be ready (log: $REGISTRY_LOG)" ready || exit 1
log "registry ready: $REGISTRY_URL (pid $(cat "$REGISTRY_PIDFILE"))"
