#!/usr/bin/env bash
# Crash and restart: the same seeded stream, all four phases of it (enrolments,
# certifications and deal registrations; sales with deal sales, returns, late and bad
# records; survey responses; deal conflicts) and then the decisions on its held payouts,
# through a worker that runs undisturbed, and through one that is killed eight times
# mid-stream: in the sales phase SIGKILL from
# outside at two points and twice on purpose right after a ledger commit and before its
# Kafka transaction (the window the outbox exists for); in the surveys phase twice in that
# window; in the conflicts phase (deal claims shared between partners) once in that
# window; among the decisions once in that window. The outputs (read_committed) and the Redis state must be
# exactly those of the undisturbed run: nothing missing, nothing twice.
source "$(dirname "$0")/lib.sh"

PROGRAMS="$PI_SOURCE_DIR/deploy/programs/example.yaml"
# 92 days: the whole of Q4 2026, three months of the monthly program.
GEN=(--generate --seed 42 --partners 300 --sales 12000 --days 92 --cert-pct 30
     --program-file "$PROGRAMS")
# Small batches make many transactions, so the kills land mid-stream.
SETTINGS=(--program_file="$PROGRAMS" --batch.max_events=20 --kafka.session.timeout.ms=10000)
tmp=$(mktemp -d)
trap 'kill_quietly "${WORKER_PID:-}"; rm -rf "$tmp"' EXIT

# produce_phase PHASE — produce one phase of the generated stream.
produce_phase() { "$CTL" produce "${GEN[@]}" --phase "$1" 2>>"$tmp/produce.log"; }

# total_lag — the worker group's current total lag on the input topics (while a worker
# runs: right after a kill, Kafka holds the committed offsets unstable until the next
# worker fences the dead one's transaction).
total_lag() { "$CTL" lag | awk '/^total lag/ {print $3}'; }

# ledger_count TOPIC — records of TOPIC the ledger has taken so far (sum of its next offsets).
ledger_count() {
  local p n sum=0
  for p in $(seq 0 $((PI_PARTITIONS - 1))); do
    n=$(redis-cli -p "$REDIS_PORT" HGET "$PI_REDIS_NAMESPACE:ledger:$p" "off:$1")
    [ -n "$n" ] && [ "$n" -gt 0 ] && sum=$((sum + n))
  done
  echo "$sum"
}

# expect_killed — the worker process must have died of SIGKILL (exit status 137).
expect_killed() {
  local rc=0
  wait "$WORKER_PID" || rc=$?
  [ "$rc" -eq 137 ] || { tail -20 "$1"; fail "worker exited with $rc, expected a SIGKILL death (137)"; }
}

# expect_within NAME LOW HIGH VALUE... — each VALUE is > LOW and < HIGH: the kill came
# in the phase, not before or after it (then the test would prove nothing).
expect_within() {
  local name=$1 low=$2 high=$3 v; shift 3
  for v in "$@"; do
    [ "$v" -gt "$low" ] && [ "$v" -lt "$high" ] ||
      fail "a kill came before or after the $name phase ($v not in ($low, $high)): the test proved nothing"
  done
}

# --- run A: undisturbed ----------------------------------------------------------------
SECONDS=0
e2e_namespace crash-clean
worker_start "$tmp/clean.log" "${SETTINGS[@]}"
produce_phase enrol && wait_caught_up 120
produce_phase sales && wait_caught_up 300
produce_phase surveys && wait_caught_up 120
produce_phase conflicts && wait_caught_up 120
held=$(decisions_from_alerts "$tmp/decisions.jsonl")
[ "$held" -ge 2 ] || fail "the stream held $held payouts for approval; the decisions need two"
"$CTL" produce --file "$tmp/decisions.jsonl" 2>>"$tmp/produce.log" && wait_caught_up 120
worker_stop
dump_outputs "$tmp/clean"
dump_redis "$tmp/clean/redis.txt"
say "clean run: $(wc -l <"$tmp/clean/payouts.jsonl") payouts, $(wc -l <"$tmp/clean/alerts.jsonl") alerts in ${SECONDS}s"

# --- run B: killed mid-stream ------------------------------------------------------------
SECONDS=0
e2e_namespace crash-killed
log="$tmp/killed.log"
worker_start "$log" "${SETTINGS[@]}"
produce_phase enrol && wait_caught_up 120
enrolled=$(ledger_count "$PI_TOPIC_REGISTRATIONS")

# Sales phase: four kills.
produce_phase sales
total=$(total_lag)
say "sales phase: $total records to consume"
# 1. dies right after its 3rd ledger commit, before that batch's Kafka transaction
kill -9 "$WORKER_PID"; wait "$WORKER_PID" || true
worker_start "$log" "${SETTINGS[@]}" --fault.exit_after_ledger_commits=3
expect_killed "$log"
lag1=$(ledger_count "$PI_TOPIC_SALES")
# 2. and 3. SIGKILL from outside once two thirds, then one third, is left
worker_start "$log" "${SETTINGS[@]}"
"$CTL" lag --wait --until $((total * 2 / 3)) --timeout 300 >/dev/null
kill -9 "$WORKER_PID"; expect_killed "$log"
lag2=$(ledger_count "$PI_TOPIC_SALES")
worker_start "$log" "${SETTINGS[@]}"
"$CTL" lag --wait --until $((total / 3)) --timeout 300 >/dev/null
kill -9 "$WORKER_PID"; expect_killed "$log"
lag3=$(ledger_count "$PI_TOPIC_SALES")
# 4. the commit window again, later in the stream
worker_start "$log" "${SETTINGS[@]}" --fault.exit_after_ledger_commits=5
expect_killed "$log"
lag4=$(ledger_count "$PI_TOPIC_SALES")
# to the end of the phase
worker_start "$log" "${SETTINGS[@]}"
wait_caught_up 300 || { tail -30 "$log"; exit 1; }
say "sales in the ledger at the kills: $lag1 $lag2 $lag3 $lag4 (of $total)"
expect_within sales 0 "$total" "$lag1" "$lag2" "$lag3" "$lag4"

# Surveys phase: 5. and 6. the commit window, early and later (the phase is too short
# for a kill from outside to land in it reliably). The worker stops first, so the lag
# measured is the whole phase.
worker_stop
produce_phase surveys
total_s=$(total_lag)
worker_start "$log" "${SETTINGS[@]}" --fault.exit_after_ledger_commits=2
expect_killed "$log"
lag5=$(ledger_count "$PI_TOPIC_SURVEYS")
worker_start "$log" "${SETTINGS[@]}" --fault.exit_after_ledger_commits=12
expect_killed "$log"
lag6=$(ledger_count "$PI_TOPIC_SURVEYS")
worker_start "$log" "${SETTINGS[@]}"
wait_caught_up 120 || { tail -30 "$log"; exit 1; }
say "responses in the ledger at the kills: $lag5 $lag6 (of $total_s)"
expect_within surveys 0 "$total_s" "$lag5" "$lag6"

# Conflicts phase: 7. the commit window, while deal claims are being written.
worker_stop
produce_phase conflicts
total_c=$(total_lag)
worker_start "$log" "${SETTINGS[@]}" --fault.exit_after_ledger_commits=1
expect_killed "$log"
lag7=$(ledger_count "$PI_TOPIC_REGISTRATIONS")
worker_start "$log" "${SETTINGS[@]}"
wait_caught_up 120 || { tail -30 "$log"; exit 1; }
worker_stop
say "registrations in the ledger at the kill: $lag7 (enrol phase $enrolled, conflicts phase $total_c)"
expect_within conflicts "$enrolled" $((enrolled + total_c)) "$lag7"

# Decisions on the held payouts: 8. the commit window, after the ledger took decisions
# and before their PayoutEvents and alerts were in Kafka.
"$CTL" produce --file "$tmp/decisions.jsonl" 2>>"$tmp/produce.log"
total_d=$(total_lag)
worker_start "$log" "${SETTINGS[@]}" --fault.exit_after_ledger_commits=1
expect_killed "$log"
lag8=$(ledger_count "$PI_TOPIC_APPROVALS")
worker_start "$log" "${SETTINGS[@]}"
wait_caught_up 120 || { tail -30 "$log"; exit 1; }
worker_stop
say "decisions in the ledger at the kill: $lag8 (of $total_d, for $held held payouts)"
expect_within decisions 0 $((total_d + 1)) "$lag8"
grep -q '"event":"reconciled"' "$log" || fail "no restart had to republish an outbox gap"
say "outbox gaps republished: $(grep -c '"event":"reconciled"' "$log"); batches redone on a changed deal claim: $(grep -c '"event":"rewound"' "$log" || true); killed run ${SECONDS}s"

dump_outputs "$tmp/killed"
dump_redis "$tmp/killed/redis.txt"

# --- compare: per topic, the multiset of records must be identical ------------------------
for f in payouts alerts dead-letters; do
  # Dead letters carry their source topic and offset: strip the run's topic prefix.
  sed "s/crash-clean-$$\././g" "$tmp/clean/$f.jsonl" | sort >"$tmp/a"
  sed "s/crash-killed-$$\././g" "$tmp/killed/$f.jsonl" | sort >"$tmp/b"
  if ! cmp -s "$tmp/a" "$tmp/b"; then
    diff "$tmp/a" "$tmp/b" | head -20
    fail "$f differ between the clean and the killed run"
  fi
  [ -s "$tmp/a" ] || fail "$f: the clean run produced none, nothing was compared"
done
# dump_redis sorts hash fields: KPI counters are created in batch order, which kills move.
cp "$tmp/clean/redis.txt" "$tmp/a"
cp "$tmp/killed/redis.txt" "$tmp/b"
if ! cmp -s "$tmp/a" "$tmp/b"; then
  diff "$tmp/a" "$tmp/b" | head -20
  fail "Redis state differs between the clean and the killed run"
fi

# --- and every rule had its say -----------------------------------------------------------
kinds() { grep -o "\"$2\":\"[A-Z_]*\"" "$1" | sort -u | sed 's/.*:"//; s/"//' | paste -sd' ' -; }
expect_all() {
  local have=" $1 " k
  for k in ${2}; do
    case "$have" in *" $k "*) ;; *) fail "no $k in the $3 of the clean run (have: $1)" ;; esac
  done
}
expect_all "$(kinds "$tmp/clean/payouts.jsonl" kind)" \
  "REBATE TIER_TRUE_UP SPIFF DEAL_REGISTRATION_BONUS CERTIFICATION_BONUS MDF_ACCRUAL CLAWBACK" payouts
expect_all "$(kinds "$tmp/clean/alerts.jsonl" kind)" \
  "TIER_ACHIEVED TIER_DOWNGRADED NEAR_NEXT_TIER CAP_REACHED APPROVAL_REQUIRED DEAL_CONFLICT DETRACTOR_RESPONSE PARTNER_NPS_LOW PULSE_LOW PAYOUT_APPROVED PAYOUT_REJECTED" alerts
expect_all "$(kinds "$tmp/clean/payouts.jsonl" status)" "APPROVED PENDING_APPROVAL REJECTED" "payout statuses"
expect_all "$(kinds "$tmp/clean/dead-letters.jsonl" reason)" \
  "DECODE_ERROR UNKNOWN_SCHEMA INVALID_EVENT PARTNER_NOT_ENROLLED UNSUPPORTED_CURRENCY LATE_EVENT RETURN_INVALID DUPLICATE_RESPONSE MISPARTITIONED APPROVAL_ALREADY_DECIDED APPROVAL_UNKNOWN_PAYOUT" "dead letters"
say "identical: $(wc -l <"$tmp/clean/payouts.jsonl") payouts, $(wc -l <"$tmp/clean/alerts.jsonl") alerts, $(wc -l <"$tmp/clean/dead-letters.jsonl") dead letters, $(wc -l <"$tmp/clean/redis.txt") Redis keys; every payout kind, alert kind and dead-letter reason"
