#!/usr/bin/env bash
# Installs the Debian packages partner-incentives builds and tests with.
# Idempotent: packages already present are skipped, so a second run costs one dpkg query.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  librdkafka-dev libavro-dev libhiredis-dev libcmocka-dev libyaml-dev libjansson-dev zlib1g-dev
  libcurl4-openssl-dev  # the schema registry client (consumer/cons_sreg.c; headers, libcurl loaded at run time)
  systemd  # systemd-analyze verify of deploy/systemd (tests/e2e/test_systemd.sh)
  redis-server redis-tools openjdk-17-jre-headless maven valgrind netcat-openbsd
  kcat  # readiness/metadata checks for the local broker without a JVM start
  clang libclang-rt-14-dev  # libFuzzer and its sanitizer runtimes (tests/fuzz)
  gnuplot-nox  # the benchmark's plot (tests/bench/bench.sh)
  python3-venv curl  # the registry test's Python producer/consumer, registry health checks
  tmux  # a real terminal for the `incentivectl top` test (tests/e2e/test_top.sh)
)

# Node.js for the manifest validators (tests/deploy): a machine that has a node and npm
# of its own (e.g. from NodeSource) keeps them; Debian's would conflict with those.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Another apt/dpkg may hold the lock (e.g. an unattended install): wait for it, don't fail.
APT_WAIT=(-o DPkg::Lock::Timeout=600)
$SUDO apt-get "${APT_WAIT[@]}" update -q || { echo "install-deps: apt-get update failed" >&2; exit 1; }
$SUDO apt-get "${APT_WAIT[@]}" install -y -q --no-install-recommends "${missing[@]}" \
  || { echo "install-deps: apt-get install failed for: ${missing[*]}" >&2; exit 1; }
# The Debian redis-server package starts a system instance on 6379; our scripts run their
# own on another port, so the system one is left as the package set it up.
echo "install-deps: done"
