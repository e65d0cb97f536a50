#!/usr/bin/env bash
# End to end: `incentivectl top`, the live leaderboard, in a real terminal (tmux), fed by
# the real worker's lb-updates notices. --interval 0 turns the periodic re-read off, so
# every change the pane shows was brought by a notice.
#
#  1. top starts before any event: "(no board yet)". Phase 0 enrols three partners,
#     phase 1 (their sales: 30,000 /
#     20,000 / 10,000 EUR) must appear without a key press; `q` quits with 0 and leaves
#     the alternate screen. `top --once` prints the board worked by hand
#     (top-once-phase1.txt).
#  2. top runs on the phase-1 board; phase 2 (p-c sells 60,000 more: 70,000 EUR, Silver)
#     must show p-c first with the move +2 and the Silver badge, p-a and p-b one down;
#     Ctrl-C quits with 0. `top --once` prints top-once-phase2.txt.
source "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || fail "tmux is missing (deploy/install-deps.sh installs it)"
tmp=$(mktemp -d)
sock=""
opened=0
trap 'for n in 1 2; do tmux -L "pi-top-$$-$n" kill-server 2>/dev/null || true; done; kill_quietly "${WORKER_PID:-}"; rm -rf "$tmp"' EXIT

e2e_namespace top
export PI_PROGRAM_FILE="$E2E_DIR/program.yaml"
worker_start "$tmp/worker.log"

# What tmux runs: top with this script's settings (the tmux server may be older than our
# environment), then its exit code on the pane. The shell around it ignores SIGINT, so a
# Ctrl-C reaches top alone (top installs its own handler, which replaces the ignore);
# the shell stays alive afterwards so the pane can still be read.
cat >"$tmp/top.sh" <<EOF
trap '' INT
export PI_REDIS_PORT=$PI_REDIS_PORT PI_REDIS_NAMESPACE=$PI_REDIS_NAMESPACE PI_PROGRAM_FILE=$PI_PROGRAM_FILE
"$CTL" top --program emea-resellers --interval 0
echo "top exited with \$?"
exec sleep 600
EOF

pane() { tmux -L "$sock" capture-pane -p -t top; }
pane_has() { pane | grep -Eq -- "$1"; }
# top_open — top in a new tmux server of its own (a server that is still shutting down
# would refuse the next session on a shared socket: "server exited unexpectedly").
top_open() {
  [ -z "$sock" ] || tmux -L "$sock" kill-server 2>/dev/null || true
  opened=$((opened + 1))
  sock="pi-top-$$-$opened"
  tmux -L "$sock" new-session -d -s top -x 100 -y 24 "sh $tmp/top.sh"
}
# top_closed — top has ended with exit code 0, and what it drew went with the alternate
# screen.
top_closed() {
  wait_for 10 "top to exit" pane_has '^top exited with [0-9]+$'
  pane_has '^top exited with 0$' || { pane; fail "top did not exit with 0"; }
  ! pane_has 'RANK +MOVE' || { pane; fail "top left its board on the normal screen"; }
}

# ---- 1: from no board to the phase-1 board, quit with q ------------------------------
top_open
wait_for 20 "top to show that there is no board yet" pane_has '\(no board yet\)'
# Registrations first: a sale of a partner not yet enrolled is a dead letter, and the
# worker does not order records across topics.
"$CTL" produce --file "$E2E_DIR/top-phase0.jsonl" >/dev/null 2>&1
wait_caught_up 120 || { cat "$tmp/worker.log"; exit 1; }
"$CTL" produce --file "$E2E_DIR/top-phase1.jsonl" >/dev/null 2>&1
wait_caught_up 120 || { cat "$tmp/worker.log"; exit 1; }
wait_for 20 "the phase-1 board in top" pane_has '^   3 .* p-c +10,000\.00  \[Registered\]'
pane >"$tmp/pane1.txt"
grep -Eq '^emea-resellers 2026-Q4 revenue - 3 partners - [0-9:]+ - [1-9][0-9]* updates' \
  "$tmp/pane1.txt" || { cat "$tmp/pane1.txt"; fail "heading: period, 3 partners, updates"; }
# (The moves here depend on whether registrations and sales shared a batch.)
grep -Eq '^   1  .{4}  p-a +30,000\.00  \[Registered\]  DACH' "$tmp/pane1.txt" \
  || { cat "$tmp/pane1.txt"; fail "p-a first with 30,000.00"; }
tmux -L "$sock" send-keys -t top q
top_closed
"$CTL" top --program emea-resellers --once >"$tmp/once1.txt"
diff -u "$E2E_DIR/top-once-phase1.txt" "$tmp/once1.txt" || fail "top --once after phase 1"
say "1: no board, then the phase-1 board from notices alone; q quits; --once as worked by hand"

# ---- 2: a rank change, quit with Ctrl-C ----------------------------------------------
top_open
wait_for 20 "top to show the phase-1 board" pane_has '^   1 .* p-a +30,000\.00'
"$CTL" produce --file "$E2E_DIR/top-phase2.jsonl" >/dev/null 2>&1
wait_caught_up 120 || { cat "$tmp/worker.log"; exit 1; }
wait_for 20 "p-c to climb to the top in the pane" pane_has '^   1  \+2 +p-c +70,000\.00  \[Silver\] +Benelux'
pane >"$tmp/pane2.txt"
grep -Eq '^   2  -1 +p-a +30,000\.00' "$tmp/pane2.txt" || { cat "$tmp/pane2.txt"; fail "p-a one down"; }
grep -Eq '^   3  -1 +p-b +20,000\.00' "$tmp/pane2.txt" || { cat "$tmp/pane2.txt"; fail "p-b one down"; }
tmux -L "$sock" send-keys -t top C-c
top_closed
"$CTL" top --program emea-resellers --once >"$tmp/once2.txt"
diff -u "$E2E_DIR/top-once-phase2.txt" "$tmp/once2.txt" || fail "top --once after phase 2"
say "2: p-c +2 with the Silver badge, p-a and p-b -1, from a notice; Ctrl-C quits; --once as worked by hand"

# Without a terminal top refuses, and says to use --once.
if "$CTL" top --program emea-resellers </dev/null >"$tmp/no-tty.txt" 2>&1; then
  fail "top without a terminal should fail"
fi
grep -q -- "--once" "$tmp/no-tty.txt" || fail "top without a terminal should point to --once"
worker_stop
say "top: pass"
