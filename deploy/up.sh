#!/usr/bin/env bash
# Brings up the local infrastructure end to end: Debian packages, Kafka, the ledger Redis
# and the topics. Idempotent: on a running setup it only re-checks (well under a second).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

"$DEPLOY_DIR/install-deps.sh"
"$DEPLOY_DIR/kafka-start.sh"
"$DEPLOY_DIR/redis-start.sh"
"$DEPLOY_DIR/topics-create.sh"

log "up in ${SECONDS}s — Kafka bootstrap: $KAFKA_BOOTSTRAP, Redis: 127.0.0.1:$REDIS_PORT, state: $PI_STATE_DIR"
