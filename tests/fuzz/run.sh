#!/usr/bin/env bash
# Runs the four libFuzzer harnesses (decoder, outbox codec, program loader, config parser)
# for FUZZ_SECONDS each (default 60), after replaying every kept regression input.
#     tests/fuzz/run.sh                 # what CI runs: 60 s each
#     FUZZ_SECONDS=3600 tests/fuzz/run.sh   # the longer mode
# Builds with clang into build-fuzz/. Seeds: the pipeline's events encoded by fuzz-seeds,
# the repository's program files, tests/fuzz/seeds/config. A crash leaves its input in
# build-fuzz/artifacts/; copy it to tests/fuzz/regressions/<harness>/ with the fix.
# Prints the executions of each harness; exit 0 only when none crashed.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
secs=${FUZZ_SECONDS:-60}
out="$repo/build-fuzz"
cmake -S "$repo" -B "$out" -DPI_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out" -j "$(nproc)" --target fuzz_decode fuzz_outbox fuzz_program fuzz_config fuzz-seeds >/dev/null

corpus="$out/corpus"
mkdir -p "$corpus"/{decode,outbox,program,config} "$out/artifacts"
"$out/tests/fuzz/fuzz-seeds" "$corpus/decode" "$corpus/outbox" "$repo"/tests/e2e/pipeline-phase*.jsonl
cp "$repo"/tests/e2e/program.yaml "$repo"/deploy/programs/*.yaml "$repo"/tests/unit/consumer/programs/*.yaml "$corpus/program/"
cp "$repo"/tests/fuzz/seeds/config/* "$corpus/config/"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for h in decode outbox program config; do
  bin="$out/tests/fuzz/fuzz_$h"
  reg="$repo/tests/fuzz/regressions/$h"
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
    "$bin" "$reg"/* >"$out/fuzz_$h.regressions.log" 2>&1 || { echo "fuzz $h: a regression input fails"; tail -30 "$out/fuzz_$h.regressions.log"; failed=1; continue; }
  fi
  if "$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
       -artifact_prefix="$out/artifacts/$h-" "$corpus/$h" >"$out/fuzz_$h.log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/fuzz_$h.log" | grep -o '[0-9]*$' || true)
    [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$out/fuzz_$h.log" | tail -1 | tr -d '#')
    echo "fuzz $h: ${secs}s, $execs executions, no crash (corpus $(ls "$corpus/$h" | wc -l) inputs)"
  else
    echo "fuzz $h: CRASH, input in $out/artifacts/:"
    grep -E "ERROR|SUMMARY|#0 |#1 |#2 |#3 " "$out/fuzz_$h.log" | head -20
    failed=1
  fi
done
exit "$failed"
