#!/usr/bin/env bash
# Installs the validators of deploy/ (tests/deploy/check_manifests.sh) from the package
# registries: kubernetes-validate (Kubernetes' own OpenAPI schemas, bundled) and
# hadolint (the Dockerfile linter, as a PyPI wheel) into $PI_STATE_DIR/lint-venv, and the
# kubernetes-models packages with the Strimzi and KEDA CRD schemas into
# $PI_STATE_DIR/lint-node (npm ci from the committed lock file). Idempotent: markers
# record the requirement files; if they match, nothing runs.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

SRC="$REPO_DIR/tests/deploy"
VENV="$PI_STATE_DIR/lint-venv" NODE_DIR="$PI_STATE_DIR/lint-node"
want_py=$(sha256sum <"$SRC/requirements.txt" | cut -d' ' -f1)
want_js=$(cat "$SRC/package.json" "$SRC/package-lock.json" | sha256sum | cut -d' ' -f1)

if [ "$(cat "$VENV/.complete" 2>/dev/null)" != "$want_py" ]; then
  command -v python3 >/dev/null || die "python3 not found: run deploy/install-deps.sh"
  log "installing kubernetes-validate and hadolint into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  retry 3 "$VENV/bin/pip" install -q --disable-pip-version-check -r "$SRC/requirements.txt" \
    || die "pip could not install $SRC/requirements.txt"
  echo "$want_py" >"$VENV/.complete"
fi
if [ "$(cat "$NODE_DIR/.complete" 2>/dev/null)" != "$want_js" ]; then
  command -v npm >/dev/null || die "npm not found (Debian: apt-get install npm)"
  log "installing the CRD schema packages into $NODE_DIR"
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/validate_crs.mjs" "$NODE_DIR/"
  (cd "$NODE_DIR" && retry 3 npm ci --no-audit --no-fund --loglevel=error) \
    || die "npm ci failed in $NODE_DIR"
  echo "$want_js" >"$NODE_DIR/.complete"
fi
cp "$SRC/validate_crs.mjs" "$NODE_DIR/"
log "validators ready: $("$VENV/bin/hadolint" --version), kubernetes-validate $("$VENV/bin/pip" show kubernetes-validate | sed -n 's/^Version: //p'), node $(node --version)"
