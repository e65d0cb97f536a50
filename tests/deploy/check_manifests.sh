#!/usr/bin/env bash
# Lints what deploy/ ships for containers, Kubernetes and systemd, offline, with
# validators from the package registries (deploy/lint-tools.sh):
#   - deploy/container/Dockerfile: hadolint, no finding;
#   - deploy/container/compose.yaml: parses, and its services are the ones documented;
#   - deploy/kubernetes/*.yaml: the core kinds against Kubernetes 1.31's OpenAPI schemas,
#     strictly (unknown fields fail: kubernetes-validate --strict), the Strimzi
#     KafkaTopic and KEDA ScaledObject resources against their CRD schemas
#     (validate_crs.mjs); the kustomization lists every manifest; the co-partitioned
#     inputs have one partition count and the ScaledObject caps at it; the program in
#     the ConfigMap is deploy/programs/example.yaml and passes `incentivectl validate`;
#   - deploy/systemd/incentive-worker@.service: `systemd-analyze verify`, no warning;
#   - every PI_* variable set in compose, Kubernetes and systemd files is a setting of
#     the config table (`incentivectl config --describe`), or its _FILE form;
#   - and the validators catch a broken manifest (a self-test: a validator that passes
#     everything would pass this test too otherwise).
# usage: check_manifests.sh INCENTIVECTL   (PI_SOURCE_DIR: the repository)
set -euo pipefail
ctl=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src="${PI_SOURCE_DIR:?}"
"$src/deploy/lint-tools.sh" >/dev/null
. "$src/deploy/env.sh"
venv="$PI_STATE_DIR/lint-venv" nodedir="$PI_STATE_DIR/lint-node"
k8s="$src/deploy/kubernetes"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_manifests: FAIL: $*" >&2; exit 1; }

"$venv/bin/hadolint" --no-color "$src/deploy/container/Dockerfile" || fail "hadolint"
echo "Dockerfile: hadolint clean"

core=() crs=()
for f in "$k8s"/*.yaml; do
  case "$(basename "$f")" in
    kustomization.yaml) ;;
    kafkatopics.yaml|keda-scaledobject.yaml) crs+=("$f") ;;
    *) core+=("$f") ;;
  esac
done
"$venv/bin/kubernetes-validate" --strict --quiet -k 1.31.0 "${core[@]}" || fail "kubernetes-validate"
echo "kubernetes: ${#core[@]} files of core kinds valid against Kubernetes 1.31 (strict)"
node "$nodedir/validate_crs.mjs" "${crs[@]}" || fail "custom resources"

"$venv/bin/python" - "$src" "$ctl" <<'PY' || fail "consistency"
import re, subprocess, sys, yaml
src, ctl = sys.argv[1], sys.argv[2]
k8s = f"{src}/deploy/kubernetes"
kust = yaml.safe_load(open(f"{k8s}/kustomization.yaml"))
import os
files = sorted(f for f in os.listdir(k8s) if f.endswith(".yaml") and f != "kustomization.yaml")
assert sorted(kust["resources"]) == files, ("kustomization resources", kust["resources"], files)
docs = [d for f in files for d in yaml.safe_load_all(open(f"{k8s}/{f}")) if d]
topics = {d["spec"]["topicName"]: d["spec"] for d in docs if d["kind"] == "KafkaTopic"}
inputs = ["partner.sales", "partner.registrations", "partner.surveys", "partner.approvals"]
counts = {topics[t]["partitions"] for t in inputs}
assert len(counts) == 1, ("inputs not co-partitioned", counts)
for t in inputs:
    assert int(topics[t]["config"]["retention.ms"]) >= 120 * 86400000, (t, "retention too short for replays")
so = next(d for d in docs if d["kind"] == "ScaledObject")
assert so["spec"]["maxReplicaCount"] == counts.pop(), "ScaledObject not capped at the partition count"
sts = next(d for d in docs if d["kind"] == "StatefulSet")
c = sts["spec"]["template"]["spec"]["containers"][0]
assert any(e["name"] == "PI_WORKER_ID" and e["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
           for e in c["env"]), "worker.id is not the pod name"
assert so["spec"]["scaleTargetRef"]["name"] == sts["metadata"]["name"]
cm = next(d for d in docs if d["kind"] == "ConfigMap")
assert cm["data"]["program.yaml"] == open(f"{src}/deploy/programs/example.yaml").read(), \
    "the ConfigMap's program.yaml differs from deploy/programs/example.yaml"

# Every PI_* setting used is one of the table's (or its _FILE form).
table = subprocess.run([ctl, "config", "--describe"], capture_output=True, text=True, check=True).stdout
known = set(re.findall(r"`(PI_[A-Z0-9_]+)`", table))
def ok(v):
    return v in known or (v.endswith("_FILE") and v[:-5] in known) or v.startswith("PI_KAFKA_")
used = {}
compose = yaml.safe_load(open(f"{src}/deploy/container/compose.yaml"))
for name, svc in compose["services"].items():
    for v in (svc.get("environment") or {}):
        used.setdefault(v, f"compose service {name}")
for v in cm["data"]:
    if v.startswith("PI_"):
        used.setdefault(v, "configmap.yaml")
for e in c["env"]:
    used.setdefault(e["name"], "statefulset.yaml")
for f in ("incentive-worker@.service", "worker.env"):
    for v in re.findall(r"\b(PI_[A-Z0-9_]+)=", open(f"{src}/deploy/systemd/{f}").read()):
        used.setdefault(v, f"deploy/systemd/{f}")
for v in re.findall(r"\b(PI_[A-Z0-9_]+)=", open(f"{src}/deploy/container/Dockerfile").read()):
    used.setdefault(v, "Dockerfile")
wrong = {v: w for v, w in used.items() if v.startswith("PI_") and not ok(v)}
assert not wrong, f"PI_* names that are no setting: {wrong}"
assert set(compose["services"]) == {"kafka", "redis", "registry", "topics", "worker-1", "worker-2", "demo-producer"}
print(f"consistency: kustomization lists {len(files)} files; inputs co-partitioned ({len(inputs)} x "
      f"{topics[inputs[0]]['partitions']}), ScaledObject capped there; {len(used)} PI_* names are settings")
PY
"$venv/bin/python" -c 'import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))["data"]["program.yaml"], end="")' \
  "$k8s/configmap.yaml" >"$tmp/program.yaml"
"$ctl" validate "$tmp/program.yaml" >/dev/null || fail "the ConfigMap's program does not validate"

# Self-test: each validator rejects a broken copy.
sed 's/^  replicas: 3$/  replica: 3/' "$k8s/statefulset.yaml" >"$tmp/sts.yaml"
! "$venv/bin/kubernetes-validate" --strict --quiet -k 1.31.0 "$tmp/sts.yaml" >/dev/null 2>&1 \
  || fail "kubernetes-validate accepted a StatefulSet with an unknown field"
sed 's/partitions: 6/partitions: "six"/' "$k8s/kafkatopics.yaml" >"$tmp/topics.yaml"
! node "$nodedir/validate_crs.mjs" "$tmp/topics.yaml" >/dev/null || fail "a KafkaTopic with partitions \"six\" passed"
sed 's/minReplicaCount: 1/minReplicaCount: one/' "$k8s/keda-scaledobject.yaml" >"$tmp/so.yaml"
! node "$nodedir/validate_crs.mjs" "$tmp/so.yaml" >/dev/null || fail "a ScaledObject with minReplicaCount one passed"
printf 'FROM debian:12\nRUN apt-get install curl\n' >"$tmp/Dockerfile"
! "$venv/bin/hadolint" --no-color "$tmp/Dockerfile" >/dev/null || fail "hadolint accepted apt-get without -y"
echo "self-test: each validator rejects a broken manifest"

out=$(cd "$tmp" && sed "s|^ExecStart=/usr/local/bin/incentive-worker|ExecStart=$(dirname "$ctl")/incentive-worker|" \
  "$src/deploy/systemd/incentive-worker@.service" >incentive-worker@1.service &&
  systemd-analyze verify ./incentive-worker@1.service 2>&1) || fail "systemd-analyze: $out"
[ -z "$out" ] || fail "systemd-analyze warns: $out"
echo "systemd: incentive-worker@.service verifies clean"
echo "check_manifests: pass"
