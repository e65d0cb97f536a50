"""Checks a /metrics scrape of a running worker against the Prometheus exposition rules
and against what the worker demonstrably did (the dumped outputs of the same run).

usage: check_metrics.py METRICS.txt OUT_DIR WORKER_ID EVENTS DUPLICATES PARTITIONS [DASHBOARD.json]

OUT_DIR holds payouts.jsonl, alerts.jsonl, dead-letters.jsonl (incentivectl dump --json).
DASHBOARD.json (deploy/grafana/): every metric its queries name must be a family of the
scrape, every panel has a unique id, a grid position and Prometheus targets.
Exits 1 with the first violation."""
import collections
import json
import re
import sys
import time

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def fail(msg):
    sys.exit(f"check_metrics: {msg}")


def parse(text):
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            if not NAME.match(name) or kind not in ("counter", "gauge", "histogram"):
                fail(f"bad TYPE line: {line}")
            if name in types:
                fail(f"{name} declared twice")
            types[name] = kind
        elif line.startswith("# HELP ") or not line:
            continue
        else:
            m = SAMPLE.match(line)
            if not m:
                fail(f"not a sample line: {line!r}")
            name, labels, value = m.group(1), dict(LABEL.findall(m.group(2))), float(m.group(3))
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            family = name if name in types else base
            if family not in types:
                fail(f"{name}: sample before its TYPE")
            samples.append((family, name, labels, value))
    return types, samples


def check_dashboard(path, types):
    d = json.load(open(path))
    ids, names = set(), set()
    for p in d["panels"]:
        if p["id"] in ids or not {"x", "y", "w", "h"} <= set(p["gridPos"]) or not p["targets"]:
            fail(f"dashboard panel {p.get('title')}: duplicate id, no grid position or no target")
        ids.add(p["id"])
        for t in p["targets"]:
            if t["datasource"]["type"] != "prometheus":
                fail(f"dashboard panel {p['title']}: not a Prometheus target")
            names |= set(re.findall(r"\b((?:pi|process)_[a-z_]+)", t["expr"]))
    missing = sorted(n for n in names if re.sub(r"_(bucket|sum|count)$", "", n) not in types)
    if missing:
        fail(f"the dashboard queries metrics the worker does not export: {missing}")
    print(f"dashboard: {len(ids)} panels over {len(names)} metrics, all exported")


def main(path, out_dir, worker, events, duplicates, partitions, dashboard=None):
    types, samples = parse(open(path).read())
    for family, kind in types.items():
        if kind == "counter" and not family.endswith("_total"):
            fail(f"counter {family} does not end in _total")
        if family.endswith("_ms"):
            fail(f"{family}: not a base unit")
    for family, name, labels, _ in samples:
        if labels.get("worker") != worker:
            fail(f"{name}{labels}: worker label is not {worker}")

    def series(name, **want):
        return [v for f, n, l, v in samples if n == name and all(l.get(k) == x for k, x in want.items())]

    def one(name, **want):
        v = series(name, **want)
        if len(v) != 1:
            fail(f"{name}{want}: {len(v)} series, want 1")
        return v[0]

    def by_label(name, label):
        return {l[label]: v for f, n, l, v in samples if n == name}

    if not series("pi_build_info") or not all(v == 1 for v in series("pi_build_info")) or \
            not re.match(r"^\d+\.\d+\.\d+$", [l for f, n, l, v in samples if n == "pi_build_info"][0].get("version", "")):
        fail("pi_build_info{version} missing")
    if one("pi_events_total") != events:
        fail(f"pi_events_total {one('pi_events_total')}, want {events}")
    if one("pi_duplicates_total") != duplicates:
        fail(f"pi_duplicates_total {one('pi_duplicates_total')}, want {duplicates}")

    def counts(file, key):
        return collections.Counter(json.loads(l)[key] for l in open(f"{out_dir}/{file}") if l.strip())

    for name, label, file, key in (("pi_dead_letters_total", "reason", "dead-letters.jsonl", "reason"),
                                   ("pi_payouts_total", "kind", "payouts.jsonl", "kind"),
                                   ("pi_alerts_total", "kind", "alerts.jsonl", "kind")):
        got, want = by_label(name, label), counts(file, key)
        for k, n in want.items():
            if got.get(k) != n:
                fail(f"{name}{{{label}=\"{k}\"}} is {got.get(k)}, the topic holds {n}")
        if sum(got.values()) != sum(want.values()):
            fail(f"{name}: {sum(got.values())} in all, the topic holds {sum(want.values())}")
    if one("pi_owned_partitions") != partitions or one("pi_in_group") != 1:
        fail("pi_owned_partitions / pi_in_group")

    lag = [(l["topic"], l["partition"], v) for f, n, l, v in samples if n == "pi_consumer_lag_records"]
    if len(lag) != 4 * partitions or len({(t, p) for t, p, _ in lag}) != 4 * partitions:
        fail(f"pi_consumer_lag_records: {len(lag)} series, want one per input topic-partition ({4 * partitions})")
    if any(v != 0 for _, _, v in lag):
        fail(f"consumer lag after catching up: {[x for x in lag if x[2] != 0]}")

    for family in ("pi_batch_commit_duration_seconds", "pi_record_commit_latency_seconds",
                   "pi_redis_call_duration_seconds"):
        if types.get(family) != "histogram":
            fail(f"{family} is not a histogram")
        groups = collections.defaultdict(list)
        for f, n, l, v in samples:
            if f == family and n.endswith("_bucket"):
                groups[l.get("call")].append((float("inf") if l["le"] == "+Inf" else float(l["le"]), v))
        for call, buckets in groups.items():
            values = [v for _, v in buckets]
            if [b for b, _ in buckets] != sorted(b for b, _ in buckets) or values != sorted(values):
                fail(f"{family}{{call={call}}}: buckets not cumulative")
            count = one(family + "_count", **({"call": call} if call else {}))
            if values[-1] != count:
                fail(f"{family}{{call={call}}}: +Inf bucket {values[-1]} != count {count}")
    if one("pi_batch_commit_duration_seconds_count") != one("pi_batches_total"):
        fail("one batch commit duration per batch")
    if one("pi_record_commit_latency_seconds_count") != events:
        fail(f"record latency observed {one('pi_record_commit_latency_seconds_count')} times, want {events}")
    if one("pi_redis_call_duration_seconds_count", call="acquire") != partitions:
        fail("one timed pi_acquire per partition")
    if one("pi_redis_call_duration_seconds_count", call="commit") < 1:
        fail("no timed ledger commit")

    if one("process_cpu_seconds_total") <= 0 or one("process_resident_memory_bytes") < 1e6 or \
            one("process_open_fds") < 3 or one("process_max_fds") < one("process_open_fds"):
        fail("process_* metrics implausible")
    if not time.time() - 3600 < one("process_start_time_seconds") <= time.time():
        fail("process_start_time_seconds is not within the last hour")
    if dashboard:
        check_dashboard(dashboard, types)
    print(f"metrics: {len(samples)} samples of {len(types)} families follow the conventions and "
          f"agree with the outputs (dead letters by reason, payouts and alerts by kind)")


if __name__ == "__main__":
    a = sys.argv
    main(a[1], a[2], a[3], int(a[4]), int(a[5]), int(a[6]), a[7] if len(a) > 7 else None)
