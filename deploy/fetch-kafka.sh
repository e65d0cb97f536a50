#!/usr/bin/env bash
# Fetches the Apache Kafka $KAFKA_VERSION runtime jars from Maven Central into
# $PI_STATE_DIR/kafka-$KAFKA_VERSION/libs (Debian 12 has no Kafka package).
# Idempotent: a marker records the pom it was built from; if it matches, nothing runs.
# ~/.m2 caches the downloads, so a refetch after wiping the state dir is offline-fast.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

POM="$DEPLOY_DIR/kafka/pom.xml"
MARKER="$KAFKA_LIBS/.complete"
FETCH_LOG="$KAFKA_HOME/fetch.log"
want="$KAFKA_VERSION $(sha256sum <"$POM" | cut -d' ' -f1)"

if [ "$(cat "$MARKER" 2>/dev/null)" = "$want" ]; then
  log "Kafka $KAFKA_VERSION jars present in $KAFKA_LIBS"
  exit 0
fi

command -v mvn >/dev/null || die "mvn not found: run deploy/install-deps.sh"
log "fetching Kafka $KAFKA_VERSION jars via Maven (log: $FETCH_LOG)"
mkdir -p "$KAFKA_HOME"
# Copy into a temp dir and swap it in, so an interrupted fetch never looks complete.
rm -rf "$KAFKA_LIBS.tmp"
# Fully-qualified plugin coordinates: no plugin-prefix lookup, so cached runs stay offline.
if ! retry 3 mvn -B -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS.tmp" >"$FETCH_LOG" 2>&1; then
  tail -n 20 "$FETCH_LOG" >&2
  die "Maven could not fetch Kafka $KAFKA_VERSION jars (full log: $FETCH_LOG)"
fi
[ -f "$KAFKA_LIBS.tmp/kafka_2.13-$KAFKA_VERSION.jar" ] \
  || die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch (log: $FETCH_LOG)"
rm -rf "$KAFKA_LIBS"
mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
echo "$want" >"$MARKER"
log "Kafka $KAFKA_VERSION: $(find "$KAFKA_LIBS" -name "*.jar" | wc -l) jars in $KAFKA_LIBS"
