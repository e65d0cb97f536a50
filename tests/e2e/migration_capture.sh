#!/usr/bin/env bash
# Writes migration-v2.jsonl: the Redis namespace a release with the version-2 state layout
# (one blob per partner, commit a093ec8 and earlier) leaves after the pipeline phases 1-6
# with program.yaml. test_migration.sh starts today's worker on it. Kept to show where
# the fixture came from; rerunning it needs a build of that release:
#   git worktree add /tmp/v2 a093ec8 && cmake -S /tmp/v2 -B /tmp/v2/build && cmake --build /tmp/v2/build
#   PI_SOURCE_DIR=$PWD PI_BUILD_DIR=/tmp/v2/build bash tests/e2e/migration_capture.sh
source "$(dirname "$0")/lib.sh"

e2e_namespace capture
tmp=$(mktemp -d)
trap 'kill_quietly "${WORKER_PID:-}"; rm -rf "$tmp"' EXIT
worker_start "$tmp/worker.log" --program_file="$E2E_DIR/program.yaml"
for phase in 1 2 3 4 5 6; do
  "$CTL" produce --file "$E2E_DIR/pipeline-phase$phase.jsonl"
  wait_caught_up 120 || { cat "$tmp/worker.log"; exit 1; }
done
worker_stop
python3 "$E2E_DIR/redis_fixture.py" save "$REDIS_PORT" "$PI_REDIS_NAMESPACE" "$E2E_DIR/migration-v2.jsonl"
say "wrote $E2E_DIR/migration-v2.jsonl ($(wc -l <"$E2E_DIR/migration-v2.jsonl") keys)"
