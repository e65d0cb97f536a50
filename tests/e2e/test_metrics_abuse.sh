#!/usr/bin/env bash
# The metrics port under abuse (issue #6): 300 idle connections, garbage and 100 KB
# request lines are held open against the worker's metrics port while the pipeline's
# stream is fed in six phases; every phase must be consumed within 20 s, a scrape must
# still answer within its 5 s timeout with every event counted, and the 100 KB line
# must get 400. (Before the port was non-blocking, each idle client cost the worker's
# loop a second per turn.)
source "$(dirname "$0")/lib.sh"

e2e_namespace metricsabuse
tmp=$(mktemp -d)
trap 'kill_quietly "${WORKER_PID:-}" "${ABUSE_PID:-}"; rm -rf "$tmp"' EXIT

port=$(free_port)
worker_start "$tmp/worker.log" --program_file="$E2E_DIR/program.yaml" --metrics.port="$port"
wait_for 30 "the metrics port" http_get "http://127.0.0.1:$port/healthz"
python3 "$E2E_DIR/metrics_abuse.py" "$port" "$tmp/ready" &
ABUSE_PID=$!
wait_for 60 "325 abusive connections" test -s "$tmp/ready"
say "holding $(cat "$tmp/ready") abusive connections"

for phase in 1 2 3 4 5 6; do
  "$CTL" produce --file "$E2E_DIR/pipeline-phase$phase.jsonl" >/dev/null
  wait_caught_up 20 || { tail -20 "$tmp/worker.log"; fail "phase $phase not consumed within 20 s under abuse"; }
done
metrics=$(http_get "http://127.0.0.1:$port/metrics") || fail "no /metrics answer within 5 s under abuse"
grep -qx "pi_events_total{worker=\"$PI_WORKER_ID\"} 84" <<<"$metrics" || fail "metrics: $metrics"
status=$(python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
try:
    s.sendall(b"GET /" + b"b" * 100_000 + b"\r\n")
except OSError:
    pass
print(s.recv(64).split(b"\r\n")[0].decode())
PY
) || true
[[ "$status" == "HTTP/1.0 400 Bad Request" ]] || fail "100 KB request line answered '$status', expected 400"
kill -9 "$ABUSE_PID"
worker_stop
say "ok: stream consumed and scrapes answered while 325 abusive connections were held"
