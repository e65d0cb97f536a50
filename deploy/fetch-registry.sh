#!/usr/bin/env bash
# Fetches Apicurio Registry $APICURIO_VERSION (the server build its container image holds)
# from Maven Central into $PI_STATE_DIR/apicurio-$APICURIO_VERSION/quarkus-app, for
# deploy/registry-start.sh. Idempotent: a marker records the pom it came from; if it
# matches, nothing runs. ~/.m2 caches the 150 MB download, so a refetch is offline-fast.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

POM="$DEPLOY_DIR/registry/pom.xml"
MARKER="$REGISTRY_APP/.complete"
FETCH_LOG="$REGISTRY_HOME/fetch.log"
want="$APICURIO_VERSION $(sha256sum <"$POM" | cut -d' ' -f1)"

if [ "$(cat "$MARKER" 2>/dev/null)" = "$want" ]; then
  log "Apicurio Registry $APICURIO_VERSION present in $REGISTRY_APP"
  exit 0
fi
command -v mvn >/dev/null || die "mvn not found: run deploy/install-deps.sh"
log "fetching Apicurio Registry $APICURIO_VERSION via Maven (log: $FETCH_LOG)"
mkdir -p "$REGISTRY_HOME"
rm -rf "$REGISTRY_APP.tmp"
if ! retry 3 mvn -B -f "$POM" -Dapicurio.version="$APICURIO_VERSION" -Dout="$REGISTRY_APP.tmp" \
      package >"$FETCH_LOG" 2>&1; then
  tail -n 20 "$FETCH_LOG" >&2
  die "Maven could not fetch Apicurio Registry $APICURIO_VERSION (full log: $FETCH_LOG)"
fi
[ -f "$REGISTRY_APP.tmp/quarkus-run.jar" ] \
  || die "quarkus-run.jar missing after the fetch (log: $FETCH_LOG)"
rm -rf "$REGISTRY_APP" "$DEPLOY_DIR/registry/target"
mv "$REGISTRY_APP.tmp" "$REGISTRY_APP"
echo "$want" >"$MARKER"
log "Apicurio Registry $APICURIO_VERSION: $(du -sh "$REGISTRY_APP" | cut -f1) in $REGISTRY_APP"
