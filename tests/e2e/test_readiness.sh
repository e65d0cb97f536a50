#!/usr/bin/env bash
# End to end: /readyz means "in the group and reconciled, or idle by design". Topics with
# one partition and two workers of one group: one owns the partition, the other owns
# none, and both answer 200 (the idle one says "idle by design"), so a rollout of more
# replicas than partitions is not stalled. When the owner stops, the idle one takes the
# partition over and stays ready.
source "$(dirname "$0")/lib.sh"

export PI_PARTITIONS=1
e2e_namespace readiness
tmp=$(mktemp -d)
trap 'kill -9 ${PIDS[*]:-} 2>/dev/null || true; rm -rf "$tmp"' EXIT
PIDS=()
ports=()
for w in 1 2; do
  ports+=("$(free_port)")
  "$WORKER" --program_file="$E2E_DIR/program.yaml" --worker.id="$E2E_RUN-w$w" \
    --metrics.port="${ports[-1]}" >"$tmp/w$w.log" 2>&1 &
  PIDS+=($!)
done
in_group() { http_get "http://127.0.0.1:$1/metrics" 2>/dev/null | grep -q '^pi_in_group{.*} 1$'; }
both_in_group() { in_group "${ports[0]}" && in_group "${ports[1]}"; }
wait_for 60 "both workers in the group" both_in_group
owned=$(( $(owns "${ports[0]}" 1 && echo 1 || echo 0) + $(owns "${ports[1]}" 1 && echo 1 || echo 0) ))
[ "$owned" -eq 1 ] || fail "$owned workers own the one partition"
idle=1; owns "${ports[0]}" 0 && idle=0
for i in 0 1; do
  body=$(http_get "http://127.0.0.1:${ports[$i]}/readyz") || fail "worker $((i + 1)): /readyz is not 200"
  if [ "$i" -eq "$idle" ]; then
    [ "$body" = "ready: idle by design (no partition assigned)" ] || fail "idle worker: $body"
  else
    [ "$body" = "ready" ] || fail "owner: $body"
  fi
done
say "one partition, two workers: both ready, worker $((idle + 1)) idle by design"
owner=$((1 - idle))
kill -TERM "${PIDS[$owner]}"
wait "${PIDS[$owner]}" || fail "the owner did not stop cleanly"
wait_for 60 "the idle worker to take the partition over" owns "${ports[$idle]}" 1
[ "$(http_get "http://127.0.0.1:${ports[$idle]}/readyz")" = "ready" ] || fail "the new owner is not ready"
say "after the owner stopped, worker $((idle + 1)) owns the partition and is ready"
say "readiness: pass"
