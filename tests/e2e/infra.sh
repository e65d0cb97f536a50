#!/usr/bin/env bash
# infra.sh up|down — the ctest fixture of the end-to-end tests: a real single-node KRaft
# broker and a ledger-configured redis-server from deploy/, on test ports and in a test
# state dir so that a demo started with the default settings is never touched.
set -euo pipefail
export PI_STATE_DIR="${PI_TEST_STATE_DIR:-/tmp/partner-incentives-test}"
export KAFKA_PORT="${PI_TEST_KAFKA_PORT:-29092}"
export REDIS_PORT="${PI_TEST_REDIS_PORT:-26379}"
deploy="$(cd "$(dirname "$0")/../../deploy" && pwd)"
case "${1:-}" in
  up)   "$deploy/stop.sh" --wipe >/dev/null && exec "$deploy/up.sh" ;;
  down) exec "$deploy/stop.sh" --wipe ;;
  *)    echo "usage: $0 up|down" >&2; exit 2 ;;
esac
