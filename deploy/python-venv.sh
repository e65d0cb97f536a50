#!/usr/bin/env bash
# Creates the Python environment of the registry test's foreign producer and consumer
# (confluent-kafka's AvroSerializer / AvroDeserializer with its SchemaRegistryClient,
# from PyPI) in $PI_STATE_DIR/python-venv. Idempotent: a marker records the requirements.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

REQ="$REPO_DIR/tests/e2e/registry/requirements.txt"
MARKER="$PYTHON_VENV/.complete"
want=$(sha256sum <"$REQ" | cut -d' ' -f1)
if [ "$(cat "$MARKER" 2>/dev/null)" = "$want" ]; then
  log "Python environment present in $PYTHON_VENV"
  exit 0
fi
command -v python3 >/dev/null || die "python3 not found: run deploy/install-deps.sh"
log "creating $PYTHON_VENV from $REQ"
rm -rf "$PYTHON_VENV"
python3 -m venv "$PYTHON_VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
retry 3 "$PYTHON_VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ" \
  || die "pip could not install $REQ"
echo "$want" >"$MARKER"
log "Python environment ready: $("$PYTHON_VENV/bin/python" -c 'import confluent_kafka; print("confluent-kafka", confluent_kafka.__version__, "librdkafka", confluent_kafka.libversion()[0])')"
