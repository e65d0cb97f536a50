#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the build and the tests need,
# builds with -Werror, then runs with ctest
#   - unit tests (cmocka) and each of them again under valgrind,
#   - the ledger's component test against its own redis-server,
#   - the end-to-end tests against a real KRaft broker and redis-server (deploy/),
#   - the chaos test (its own broker and Redis, killed and restarted at seeded instants),
# then builds Release (also -Werror) and runs its unit tests, and finally runs the unit
# and component tests once more in an ASan/UBSan build, and fuzzes the four parsers of
# untrusted bytes for 60 s each (libFuzzer, tests/fuzz/run.sh).
# CI runs exactly this (.ci/run). Exit code 0 only when everything passed.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
jobs=$(nproc 2>/dev/null || echo 2)

"$repo/deploy/install-deps.sh"

echo "== build (RelWithDebInfo, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"

echo "== tests: unit, valgrind, component, end-to-end"
(cd build && ctest --output-on-failure -j "$jobs")

echo "== build (Release, -Werror) and its unit tests: -O3 finds warnings -O2 does not"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j "$jobs"
(cd build-release && ctest --output-on-failure -j "$jobs" -L unit -LE valgrind)

echo "== tests again in an ASan/UBSan build: unit, component"
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DPI_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j "$jobs"
(cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$jobs" -L 'unit|component')

echo "== fuzzing: decoder, outbox codec, program loader, config parser (${FUZZ_SECONDS:-60} s each)"
FUZZ_SECONDS=${FUZZ_SECONDS:-60} "$repo/tests/fuzz/run.sh"
