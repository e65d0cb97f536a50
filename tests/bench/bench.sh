#!/usr/bin/env bash
# tests/bench/bench.sh — the worker benchmark (README "Benchmarks"), rerunnable, reported in
# numbers: events per worker CPU-second, RSS (also with 100k partners) and end-to-end
# latency percentiles. Prints a markdown table at the end.
#
#   PI_BUILD_DIR=build tests/bench/bench.sh
#
# About 5 minutes with the defaults on a 2-core machine.
#
# It uses the broker and Redis of deploy/up.sh (default ports; set PI_STATE_DIR,
# KAFKA_PORT, REDIS_PORT for other ones, as tests/e2e/infra.sh does) and works in its own
# namespaces (topics "<run>.partner.sales" ..., Redis keys "<run>:...", group "<run>"), so
# it touches neither a demo nor the tests. Kafka and Redis are left running; the bench's
# own topics and Redis keys are deleted at the end unless BENCH_CLEANUP=0.
#
# Runs:
#   a. throughput: enrol P partners, start the worker, wait until caught up, then produce
#      S sales (incentivectl, concurrently with the worker) and wait until caught up again.
#      Events per worker CPU-second = records of the sales phase / (utime + stime of the
#      worker over that phase, from /proc/PID/stat). Wall time, Redis, Kafka and producer
#      CPU are reported for context: all of them share this machine's cores.
#   c. latency, on the same worker (idle and caught up): bench-latency at about half the
#      wall throughput measured in (a) (capped), then at a low rate.
#   f. the floor, on run a's sales: tests/bench/bench_floor.c, a transactional pass-through
#      with the worker's batch settings (copy, and decode + encode a payout); CPU per
#      event and the worker's ratio to it. BENCH_FLOOR=0 skips it.
#   d. rate sweep, on the same worker: the latency run at each rate of BENCH_SWEEP_RATES;
#      a gnuplot PNG (BENCH_PLOT) of processed events/s and latency percentiles against
#      the input rate, and the same figures as a table.
#   b. memory: RSS (VmRSS, VmHWM) of the worker after (a) and (c), and of a fresh worker
#      that enrolled BIG_P partners and processed BIG_S sales in a new namespace.
#
# Settings (environment, defaults in brackets):
#   PI_SOURCE_DIR [this checkout]  PI_BUILD_DIR [$PI_SOURCE_DIR/build]
#   BENCH_PARTNERS [10000]  BENCH_SALES [500000]           run a
#   BENCH_BIG_PARTNERS [100000]  BENCH_BIG_SALES [200000]  run b (BIG_PARTNERS=0 skips it)
#   BENCH_LAT_RATE [auto: half of run a's wall rate, at most BENCH_LAT_RATE_CAP [20000]]
#                  (0 skips the latency runs)
#   BENCH_LAT_LOW_RATE [1000] (0 skips)  BENCH_LAT_SECONDS [20]  BENCH_LAT_PARTNERS [1000]
#   BENCH_WORKER_ARGS [""]   extra worker flags, e.g. "--batch.max_ms=20 --batch.max_events=2000"
#   BENCH_LAT_ARGS [""]      extra bench-latency flags, e.g. "--kafka.fetch.wait.max.ms=1"
#   BENCH_GEN_ARGS [--plain if incentivectl has it]  extra `produce --generate` flags
#   BENCH_PARTITIONS [$PI_PARTITIONS or 6]  partitions of the bench's topics
#   BENCH_PROGRAM_FILE [deploy/programs/example.yaml]
#   BENCH_OUT [/tmp/pi-bench-<time>]  logs of every step
#   BENCH_CLEANUP [1]  delete the bench's topics and Redis keys at the end
#   BENCH_CATCH_UP_TIMEOUT [600]  seconds `incentivectl lag --wait` may take
#   BENCH_IDLE_SECONDS [5]   measure the caught-up worker's idle CPU for this long (0 skips)
#   BENCH_WORKER_WRAPPER [""]  command put in front of the worker, e.g.
#                      "valgrind --tool=massif --massif-out-file=/tmp/massif.%p"
#   BENCH_SWEEP_RATES ["500 1000 2000 5000 10000 20000"] ("" skips run d)
#   BENCH_SWEEP_SECONDS [10]  BENCH_PLOT [$BENCH_OUT/bench.png]
#   BENCH_PERF [0]     1: `perf record -g` the worker over run a's sales phase and print
#                      the top functions (perf.data in BENCH_OUT)
#   BENCH_PERF_CALLGRAPH [-g]  perf's call-graph flag, e.g. "--call-graph=dwarf" to see
#                      who calls libc (slower; perf.data grows to hundreds of MB)
set -euo pipefail

say() { echo "[bench] $*" >&2; }
fail() { echo "[bench] FAIL: $*" >&2; exit 1; }

SRC="${PI_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BUILD="${PI_BUILD_DIR:-$SRC/build}"
[ -d "$BUILD" ] || fail "build directory $BUILD not found (set PI_BUILD_DIR)"
BUILD="$(cd "$BUILD" && pwd)"
WORKER="$BUILD/consumer/incentive-worker"
CTL="$BUILD/consumer/incentivectl"
LAT=""
for f in "$BUILD/tests/bench-latency" "$BUILD/tests/bench/bench-latency"; do
  [ -x "$f" ] && LAT="$f" && break
done

P=${BENCH_PARTNERS:-10000}
S=${BENCH_SALES:-500000}
BIG_P=${BENCH_BIG_PARTNERS:-100000}
BIG_S=${BENCH_BIG_SALES:-200000}
LAT_RATE=${BENCH_LAT_RATE:-auto}
LAT_RATE_CAP=${BENCH_LAT_RATE_CAP:-20000}
LAT_LOW_RATE=${BENCH_LAT_LOW_RATE:-1000}
LAT_SECONDS=${BENCH_LAT_SECONDS:-20}
LAT_PARTNERS=${BENCH_LAT_PARTNERS:-1000}
read -r -a WORKER_ARGS <<<"${BENCH_WORKER_ARGS:-}"
read -r -a LAT_ARGS <<<"${BENCH_LAT_ARGS:-}"
read -r -a WRAPPER <<<"${BENCH_WORKER_WRAPPER:-}"
export PI_PROGRAM_FILE="${BENCH_PROGRAM_FILE:-$SRC/deploy/programs/example.yaml}"
OUT="${BENCH_OUT:-/tmp/pi-bench-$(date +%Y%m%d-%H%M%S)}"
CLEANUP=${BENCH_CLEANUP:-1}
CATCH_UP_TIMEOUT=${BENCH_CATCH_UP_TIMEOUT:-600}
PERF=${BENCH_PERF:-0}
SWEEP_RATES=${BENCH_SWEEP_RATES-500 1000 2000 5000 10000 20000}
SWEEP_SECONDS=${BENCH_SWEEP_SECONDS:-10}
PLOT=${BENCH_PLOT:-$OUT/bench.png}
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-5}

for x in "$WORKER" "$CTL"; do [ -x "$x" ] || fail "$x not built (cmake --build $BUILD)"; done
[ -n "$LAT" ] || fail "bench-latency not built in $BUILD/tests (see tests/CMakeLists.txt)"
FLOOR=""
[ -x "$BUILD/tests/bench-floor" ] && FLOOR="$BUILD/tests/bench-floor"
mkdir -p "$OUT"
# The plain generated stream (enrolments and sales), so runs stay comparable: newer
# generators mix deals, returns, surveys and scripted scenarios in unless --plain.
if [ -n "${BENCH_GEN_ARGS+x}" ]; then
  read -r -a GEN_ARGS <<<"$BENCH_GEN_ARGS"
elif "$CTL" produce --generate --plain --dry-run --partners 1 --sales 0 --phase enrol \
    >/dev/null 2>&1; then
  GEN_ARGS=(--plain)
else
  GEN_ARGS=()
fi

# ---- infrastructure -----------------------------------------------------------------
say "infrastructure: deploy/up.sh (log: $OUT/up.log)"
"$SRC/deploy/up.sh" >"$OUT/up.log" 2>&1 || fail "deploy/up.sh failed (log: $OUT/up.log)"
# shellcheck source=/dev/null
. "$SRC/deploy/env.sh"   # PI_STATE_DIR, KAFKA_PORT, REDIS_PORT, pid files, kafka_java
export PI_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
export PI_REDIS_PORT="$REDIS_PORT"
# Only the bench's own topics: up.sh checked the default topics with the default count.
export PI_PARTITIONS="${BENCH_PARTITIONS:-$PI_PARTITIONS}"
HZ=$(getconf CLK_TCK)
KAFKA_PID=$(cat "$KAFKA_PIDFILE" 2>/dev/null || echo "")
REDIS_PID=$(cat "$REDIS_PIDFILE" 2>/dev/null || echo "")

RUNS=()
WORKER_PID=""

# bench_namespace NAME — fresh topics, Redis namespace, group and worker id.
bench_namespace() {
  local run
  run="bench-$1-$(date +%H%M%S)-$$"
  RUNS+=("$run")
  export PI_TOPIC_SALES="$run.partner.sales"
  export PI_TOPIC_REGISTRATIONS="$run.partner.registrations"
  export PI_TOPIC_SURVEYS="$run.partner.surveys"
  export PI_TOPIC_APPROVALS="$run.partner.approvals"
  export PI_TOPIC_PAYOUTS="$run.incentive.payouts"
  export PI_TOPIC_ALERTS="$run.incentive.alerts"
  export PI_TOPIC_DEAD_LETTERS="$run.incentive.dead-letters"
  export PI_REDIS_NAMESPACE="$run"
  export PI_GROUP_ID="$run"
  export PI_WORKER_ID="$run-w1"
  "$SRC/deploy/topics-create.sh" >>"$OUT/topics.log" 2>&1 \
    || fail "topics-create.sh failed (log: $OUT/topics.log)"
  say "namespace $run"
}

worker_start() {
  "${WRAPPER[@]}" "$WORKER" --program_file="$PI_PROGRAM_FILE" "${WORKER_ARGS[@]}" >"$1" 2>&1 &
  WORKER_PID=$!
}

# worker_stop — SIGTERM and wait; a non-zero exit fails the bench.
worker_stop() {
  [ -n "$WORKER_PID" ] || return 0
  local rc=0 pid=$WORKER_PID
  WORKER_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "worker exited with $rc after SIGTERM"
}

cleanup() {
  local rc=$?
  if [ -n "$WORKER_PID" ]; then
    kill -TERM "$WORKER_PID" 2>/dev/null || true
    wait "$WORKER_PID" 2>/dev/null || true
  fi
  if [ "$CLEANUP" = 1 ] && [ ${#RUNS[@]} -gt 0 ]; then
    say "deleting the bench's topics and Redis keys (${RUNS[*]})"
    local run
    for run in "${RUNS[@]}"; do
      redis-cli -p "$REDIS_PORT" --scan --pattern "$run:*" \
        | xargs -r -n 1000 redis-cli -p "$REDIS_PORT" UNLINK >/dev/null 2>&1 || true
      kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" \
        --delete --topic "$run\\..*" >>"$OUT/topics.log" 2>&1 || true
    done
  fi
  exit "$rc"
}
trap cleanup EXIT

wait_caught_up() {
  "$CTL" lag --wait --timeout "$CATCH_UP_TIMEOUT" >>"$OUT/lag.log" 2>&1 \
    || fail "worker did not catch up in ${CATCH_UP_TIMEOUT}s (log: $OUT/lag.log)"
}

# cpu_ticks PID — utime + stime (all threads) in clock ticks; 0 when PID is not known.
cpu_ticks() {
  if [ -z "$1" ] || [ ! -r "/proc/$1/stat" ]; then echo 0; return; fi
  local s
  s=$(<"/proc/$1/stat")
  s=${s##*) }                         # drop "pid (comm) ": field 3 (state) is now $1
  # shellcheck disable=SC2086
  set -- $s
  echo $(( ${12} + ${13} ))
}
# status_kb PID FIELD — VmRSS / VmHWM in kB.
status_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
# machine_busy — "busy total" jiffies of all CPUs from /proc/stat.
machine_busy() { awk '/^cpu / {t=0; for (i=2;i<=NF;i++) t+=$i; print t-$5-$6, t}' /proc/stat; }
# children_cpu VAR — user+sys CPU of the reaped children of this shell, in centiseconds
# (bash `times`, second line), into VAR; the delta around a command is that command's CPU.
# `times` must run in this shell: in a subshell it would count the subshell's children.
children_cpu() {
  times >"$OUT/.times"
  printf -v "$1" '%s' "$(awk 'NR==2 {
    n=split($0, a, " "); t=0
    for (i=1;i<=n;i++) { split(a[i], b, /[ms]/); t += b[1]*60 + b[2] }
    printf "%d\n", t*100 }' "$OUT/.times")"
}
# wchar PID — bytes the process has written (sockets included: Redis and Kafka requests).
wchar() { awk '$1 == "wchar:" {print $2}' "/proc/$1/io" 2>/dev/null || echo 0; }
now_ms() { date +%s%3N; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k/1024}'; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.0f}" 'BEGIN {if (b > 0) printf f, a/b; else print "-"}'; }

# produce ARGS... — incentivectl produce --generate; echoes the number of records produced.
produce() {
  local log="$OUT/produce.log" n
  "$CTL" produce --generate "${GEN_ARGS[@]}" "$@" 2>>"$log" >/dev/null || fail "produce $* failed (log: $log)"
  n=$(tail -n 1 "$log" | sed -n 's/^produced \([0-9]*\) records.*/\1/p')
  [ -n "$n" ] || fail "cannot read the record count of produce $* (log: $log)"
  echo "$n"
}

# ---- a. throughput --------------------------------------------------------------------
bench_namespace tput
say "a. enrolling $P partners"
produce --seed 1 --partners "$P" --sales "$S" --phase enrol >/dev/null
worker_start "$OUT/worker-a.log"
wait_caught_up
IDLE_PCT="-"
if [ "$IDLE_SECONDS" -gt 0 ]; then
  # A measurement interval, not a synchronisation: the worker is caught up and no input comes.
  say "a. idle worker CPU over ${IDLE_SECONDS}s"
  i0=$(cpu_ticks "$WORKER_PID"); ti0=$(now_ms)
  sleep "$IDLE_SECONDS"
  i1=$(cpu_ticks "$WORKER_PID"); ti1=$(now_ms)
  IDLE_PCT=$(div $(( (i1 - i0) * 100000 )) $(( (ti1 - ti0) * HZ )) %.1f)
fi
read -r m0b m0t < <(machine_busy)
w0=$(cpu_ticks "$WORKER_PID"); r0=$(cpu_ticks "$REDIS_PID"); k0=$(cpu_ticks "$KAFKA_PID")
b0=$(wchar "$WORKER_PID")
PERF_PID=""
if [ "$PERF" = 1 ]; then
  command -v perf >/dev/null || fail "BENCH_PERF=1 but perf is not installed"
  perf record -e cpu-clock -F 999 ${BENCH_PERF_CALLGRAPH:--g} -o "$OUT/perf-a.data" -p "$WORKER_PID" \
    >"$OUT/perf-record.log" 2>&1 &
  PERF_PID=$!
fi
children_cpu c0; t0=$(now_ms)
say "a. producing $S sales (worker consuming concurrently)"
N_A=$(produce --seed 1 --partners "$P" --sales "$S" --phase sales)
t_prod=$(now_ms); children_cpu c1
wait_caught_up
t1=$(now_ms)
w1=$(cpu_ticks "$WORKER_PID"); r1=$(cpu_ticks "$REDIS_PID"); k1=$(cpu_ticks "$KAFKA_PID")
b1=$(wchar "$WORKER_PID")
read -r m1b m1t < <(machine_busy)
if [ -n "$PERF_PID" ]; then
  kill -INT "$PERF_PID"; wait "$PERF_PID" || true
  perf report -i "$OUT/perf-a.data" --no-children --sort dso,symbol --stdio -g none \
    --percent-limit 0.7 2>/dev/null | grep -v '^#' | grep -v '^$' >"$OUT/perf-a.txt" || true
fi
A_WALL_S=$(div $((t1 - t0)) 1000 %.1f)
A_PROD_S=$(div $((t_prod - t0)) 1000 %.1f)
A_CPU_S=$(div $((w1 - w0)) "$HZ" %.2f)
A_EPS_CPU=$(div "$N_A" "$A_CPU_S")
A_US_PER_EV=$(div "$A_CPU_S" "$N_A" %.7f | awk '{printf "%.2f", $1*1e6}')
A_EPS_WALL=$(div "$N_A" "$A_WALL_S")
A_REDIS_S=$(div $((r1 - r0)) "$HZ" %.2f)
A_KAFKA_S=$(div $((k1 - k0)) "$HZ" %.2f)
# shellcheck disable=SC2154  # c0, c1 are set by children_cpu
A_PRODUCER_S=$(div $((c1 - c0)) 100 %.2f)
A_WBYTES=$(div $((b1 - b0)) "$N_A" %.0f)
A_BUSY=$(div $(( (m1b - m0b) * 100 )) $((m1t - m0t)) %.0f)
A_RSS=$(status_kb "$WORKER_PID" VmRSS); A_HWM=$(status_kb "$WORKER_PID" VmHWM)
say "a. $N_A records: worker ${A_CPU_S} CPU-s = ${A_EPS_CPU} events/CPU-s; wall ${A_WALL_S}s"

# ---- f. the floor: the same sales through exactly-once Kafka alone --------------------
# bench-floor reads run a's sales topic from the start in its own group, with the worker's
# batch settings, and commits each batch as one transaction with its offsets: "copy"
# produces every record unchanged, "avro" decodes each sale and encodes a small payout.
# Its own CPU (getrusage) per record is the floor the worker's CPU per event is held to.
FLOOR_COPY_US=""; FLOOR_AVRO_US=""
if [ -n "$FLOOR" ] && [ "${BENCH_FLOOR:-1}" = 1 ]; then
  kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --create --if-not-exists --topic "$PI_GROUP_ID.floor-out" --partitions "$PI_PARTITIONS" \
    --replication-factor 1 >>"$OUT/topics.log" 2>&1 || fail "cannot create the floor's topic"
  for mode in copy avro; do
    log="$OUT/floor-$mode.log"
    say "f. floor ($mode): $N_A sales (log: $log)"
    "$FLOOR" --mode="$mode" --expect="$N_A" --out-topic="$PI_GROUP_ID.floor-out" \
      "${WORKER_ARGS[@]}" >"$log" 2>&1 || fail "bench-floor --mode=$mode failed (log: $log)"
    line=$(grep '^floor ' "$log" | tail -n 1)
    us=$(sed -n 's/.* us_per_event=\([^ ]*\).*/\1/p' <<<"$line")
    if [ "$mode" = copy ]; then FLOOR_COPY_US=$us; else FLOOR_AVRO_US=$us; fi
    say "f. $line"
  done
fi

# ---- c. latency (same worker, idle and caught up) -------------------------------------
if [ "$LAT_RATE" = auto ]; then
  LAT_RATE=$(awk -v w="$A_EPS_WALL" -v cap="$LAT_RATE_CAP" \
    'BEGIN {r = int(w / 2 / 100) * 100; if (r > cap) r = cap; if (r < 100) r = 100; print r}')
fi
# latency RATE PREFIX — runs bench-latency; sets LAT_LINE (its RESULT line) and LAT_CPU_US
# (worker CPU per sale during the run, µs).
# A third argument overrides the duration (seconds). LAT_PROCESSED: sales sent ÷ the time
# from the first send until the worker had committed them all (events/s).
latency() {
  local w_before w_after t0 t1 secs=${3:-$LAT_SECONDS} log="$OUT/latency-$1.log"
  say "c. latency at $1 sales/s for ${secs}s (log: $log)"
  w_before=$(cpu_ticks "$WORKER_PID"); t0=$(now_ms)
  "$LAT" --rate="$1" --duration="$secs" --partners="$LAT_PARTNERS" --partner-seed=2 \
    --id-prefix="$2" "${LAT_ARGS[@]}" >"$log" 2>&1 || fail "bench-latency failed (log: $log)"
  wait_caught_up
  t1=$(now_ms); w_after=$(cpu_ticks "$WORKER_PID")
  LAT_LINE=$(grep '^RESULT ' "$log" | tail -n 1)
  LAT_CPU_US=$(div $(( (w_after - w_before) * 1000000 )) $(( $1 * secs * HZ )) %.1f)
  LAT_PROCESSED=$(div "$(field sent "$LAT_LINE")000" $((t1 - t0)))
  sed -n 's/^bench-latency: //p' "$log" >&2
}
# field NAME LINE — value of NAME=... in a RESULT line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

LAT_HI=""; LAT_LO=""
if [ "$LAT_RATE" -gt 0 ]; then
  say "c. enrolling $LAT_PARTNERS latency partners (seed 2)"
  produce --seed 2 --partners "$LAT_PARTNERS" --sales 0 --phase enrol >/dev/null
  wait_caught_up
  latency "$LAT_RATE" lat-
  LAT_HI="$LAT_LINE"; LAT_HI_CPU="$LAT_CPU_US"
  LAT_LO=""
  if [ "$LAT_LOW_RATE" -gt 0 ]; then
    latency "$LAT_LOW_RATE" latlow-
    LAT_LO="$LAT_LINE"; LAT_LO_CPU="$LAT_CPU_US"
  fi
fi
# ---- d. rate sweep and its plot -------------------------------------------------------
# The same latency run at each input rate of BENCH_SWEEP_RATES, BENCH_SWEEP_SECONDS each;
# rows "rate processed p50 p90 p99 max" in $OUT/sweep.dat, drawn by gnuplot into
# BENCH_PLOT: processed events/s and latency percentiles against the input rate.
SWEEP_DONE=""
if [ -n "$SWEEP_RATES" ] && [ "$LAT_RATE" -gt 0 ]; then
  : >"$OUT/sweep.dat"
  for r in $SWEEP_RATES; do
    latency "$r" "sweep$r-" "$SWEEP_SECONDS"
    echo "$r $LAT_PROCESSED $(field p50 "$LAT_LINE") $(field p90 "$LAT_LINE")" \
      "$(field p99 "$LAT_LINE") $(field max "$LAT_LINE")" >>"$OUT/sweep.dat"
  done
  SWEEP_DONE=1
  if command -v gnuplot >/dev/null; then
    gnuplot >"$OUT/gnuplot.log" 2>&1 <<EOF || fail "gnuplot failed (log: $OUT/gnuplot.log)"
set terminal pngcairo size 960,540 noenhanced font ",10"
set output "$PLOT"
set title "incentive-worker, exactly-once, $(nproc) cores shared with Kafka and Redis ($(date +%Y-%m-%d))"
set xlabel "input rate (sales/s)"
set ylabel "latency, produce to readable payout (ms)"
set y2label "processed (events/s)"
set logscale x
set logscale y
set logscale y2
set y2tics
set ytics nomirror
set key top left
set grid
plot "$OUT/sweep.dat" using 1:3 with linespoints title "p50", \
     "" using 1:4 with linespoints title "p90", \
     "" using 1:5 with linespoints title "p99", \
     "" using 1:6 with linespoints title "max", \
     "" using 1:2 axes x1y2 with linespoints dashtype 2 title "processed events/s"
EOF
    say "d. plot written to $PLOT"
  else
    say "d. gnuplot not installed (deploy/install-deps.sh installs it): no plot"
  fi
fi

C_RSS=$(status_kb "$WORKER_PID" VmRSS); C_HWM=$(status_kb "$WORKER_PID" VmHWM)
worker_stop
A_CACHED=$(grep -o 'cached partners [0-9]*' "$OUT/worker-a.log" | tail -n 1 | awk '{print $3}')

# ---- b. memory with BIG_P partners ----------------------------------------------------
if [ "$BIG_P" -gt 0 ]; then
  bench_namespace mem
  say "b. enrolling $BIG_P partners"
  produce --seed 1 --partners "$BIG_P" --sales "$BIG_S" --phase enrol >/dev/null
  worker_start "$OUT/worker-b.log"
  wait_caught_up
  B_RSS0=$(status_kb "$WORKER_PID" VmRSS)
  w0=$(cpu_ticks "$WORKER_PID"); t0=$(now_ms)
  say "b. producing $BIG_S sales"
  N_B=$(produce --seed 1 --partners "$BIG_P" --sales "$BIG_S" --phase sales)
  wait_caught_up
  t1=$(now_ms); w1=$(cpu_ticks "$WORKER_PID")
  B_RSS=$(status_kb "$WORKER_PID" VmRSS); B_HWM=$(status_kb "$WORKER_PID" VmHWM)
  B_CPU_S=$(div $((w1 - w0)) "$HZ" %.2f)
  B_EPS_CPU=$(div "$N_B" "$B_CPU_S")
  B_WALL_S=$(div $((t1 - t0)) 1000 %.1f)
  worker_stop
  B_CACHED=$(grep -o 'cached partners [0-9]*' "$OUT/worker-b.log" | tail -n 1 | awk '{print $3}')
fi

# ---- report ---------------------------------------------------------------------------
lat_row() {  # lat_row LABEL RESULT CPU_US
  printf '| %s | %s / %s / %s / %s / %s ms (seen %s of %s, never seen %s, duplicates %s; worker %s µs CPU per sale) | p99 ≤ 40 ms |\n' \
    "$1" "$(field p50 "$2")" "$(field p90 "$2")" "$(field p99 "$2")" "$(field p999 "$2")" \
    "$(field max "$2")" "$(field seen "$2")" "$(field sent "$2")" "$(field missing "$2")" \
    "$(field dup "$2")" "$3"
}
{
  echo
  echo "## incentive-worker benchmark — $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r); Kafka $KAFKA_VERSION broker and Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') (appendfsync always) on the same machine; librdkafka $(pkg-config --modversion rdkafka 2>/dev/null || echo '?'); $PI_PARTITIONS partitions; worker flags: ${BENCH_WORKER_ARGS:-defaults}; bench-latency flags: ${BENCH_LAT_ARGS:-defaults}; generator flags: ${GEN_ARGS[*]:-none}; logs: $OUT"
  echo
  echo "| metric | measured | budget |"
  echo "|---|---|---|"
  echo "| events per worker CPU-second (sales phase: $N_A records, $P partners) | **$A_EPS_CPU** ($A_US_PER_EV µs per event; worker $A_CPU_S CPU-s) | ≥ 200,000 (≤ 5 µs) |"
  if [ -n "$FLOOR_COPY_US" ]; then
    echo "| floor: transactional pass-through of the same sales, CPU per event (copy / decode + encode a payout) | $FLOOR_COPY_US / $FLOOR_AVRO_US µs; the worker is **$(div "$A_US_PER_EV" "$FLOOR_COPY_US" %.1f)×** / $(div "$A_US_PER_EV" "$FLOOR_AVRO_US" %.1f)× | worker ≤ 2× the floor |"
  fi
  echo "| wall throughput, sales phase (producer running concurrently) | $A_EPS_WALL events/s ($A_WALL_S s; producer done after $A_PROD_S s) | — |"
  echo "| CPU over the sales phase: Redis / Kafka / producer (incentivectl) | $A_REDIS_S / $A_KAFKA_S / $A_PRODUCER_S s; machine busy $A_BUSY % of $(nproc) cores; the worker wrote $A_WBYTES bytes per event to Redis and Kafka | — |"
  echo "| worker CPU while idle and caught up (no input) | $IDLE_PCT % of one core | — |"
  echo "| worker RSS after run a ($P partners; the worker cached ${A_CACHED:-?} partners at its stop, latency partners included) | VmRSS $(mb "$A_RSS") MB, VmHWM $(mb "$A_HWM") MB | — |"
  [ -z "$LAT_HI" ] || lat_row "latency at $(field rate "$LAT_HI")/s (≈ half load) p50/p90/p99/p99.9/max" "$LAT_HI" "$LAT_HI_CPU"
  [ -z "$LAT_LO" ] || lat_row "latency at $(field rate "$LAT_LO")/s p50/p90/p99/p99.9/max" "$LAT_LO" "$LAT_LO_CPU"
  echo "| worker RSS after the latency runs | VmRSS $(mb "$C_RSS") MB, VmHWM $(mb "$C_HWM") MB | — |"
  if [ "$BIG_P" -gt 0 ]; then
    echo "| worker RSS with $BIG_P partners (+ $N_B sales; cached ${B_CACHED:-?}) | **VmRSS $(mb "$B_RSS") MB**, VmHWM $(mb "$B_HWM") MB (after enrolment only: $(mb "$B_RSS0") MB) | ≤ 64 MB |"
    echo "| events per worker CPU-second, run b ($N_B records, $BIG_P partners) | $B_EPS_CPU (worker $B_CPU_S CPU-s, wall $B_WALL_S s) | ≥ 200,000 |"
  fi
  if [ -n "$SWEEP_DONE" ]; then
    echo
    echo "Rate sweep (run d, ${SWEEP_SECONDS} s per rate; plot: $PLOT):"
    echo
    echo "| input sales/s | processed events/s | p50 ms | p90 ms | p99 ms | max ms |"
    echo "|---|---|---|---|---|---|"
    awk '{printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6}' "$OUT/sweep.dat"
  fi
} | tee "$OUT/report.md"
if [ "$PERF" = 1 ]; then
  echo
  echo "Worker CPU profile over run a's sales phase (perf, self time; the sampling itself"
  echo "costs a little throughput): $OUT/perf-a.txt"
  head -n 40 "$OUT/perf-a.txt"
fi
