#!/usr/bin/env python3
"""Compares what the worker produced with pipeline-expected.json (worked by hand).

usage: check_pipeline.py EXPECTED.json DUMP_DIR REDIS_PORT NAMESPACE TOPIC_PREFIX

Payouts, alerts and dead letters are compared as exact multisets (nothing missing,
nothing extra, nothing twice); ids must be unique and well-formed. Redis hashes and
sorted sets are compared field by field. Standard library only.
"""
import collections
import json
import re
import subprocess
import sys


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def redis(port, *args):
    out = subprocess.run(["redis-cli", "-p", port, "--raw", *args], check=True,
                         capture_output=True, text=True).stdout
    return out.split("\n")[:-1] if out else []


def diff(what, expected, actual, problems):
    e, a = collections.Counter(expected), collections.Counter(actual)
    for item in sorted((e - a).elements(), key=str):
        problems.append(f"{what}: missing {item}")
    for item in sorted((a - e).elements(), key=str):
        problems.append(f"{what}: unexpected {item}")


def main():
    exp_path, dump, port, ns, prefix = sys.argv[1:6]
    exp = json.load(open(exp_path))
    problems = []

    payouts = load_jsonl(f"{dump}/payouts.jsonl")
    diff("payouts", [tuple(p) for p in exp["payouts"]],
         [(p["source_event_id"], p["kind"], p["rule_id"], p["amount_minor"], p["status"],
           p["tier"], p["period"]) for p in payouts], problems)
    ids = [p["payout_id"] for p in payouts]
    if len(set(ids)) != len(ids):
        problems.append("payout ids are not unique")
    if not all(re.fullmatch(r"po_[0-9a-f]{32}", i) for i in ids):
        problems.append("a payout id is not po_ + 32 hex digits")

    alerts = load_jsonl(f"{dump}/alerts.jsonl")
    actual_alerts = []
    for a in alerts:
        want = [x for x in exp["alerts"] if x[0] == a["source_event_id"] and x[1] == a["kind"]
                and x[2] == a["period"] and all(a["attributes"].get(k) == v for k, v in x[3].items())]
        actual_alerts.append(json.dumps(want[0] if want else [a["source_event_id"], a["kind"],
                                                              a["period"], a["attributes"]]))
        if not a["message"].endswith("."):
            problems.append(f"alert message is not a sentence: {a['message']!r}")
    diff("alerts", [json.dumps(x) for x in exp["alerts"]], actual_alerts, problems)
    for a in alerts:
        if a["kind"] == "APPROVAL_REQUIRED" and a["attributes"]["payout_id"] not in ids:
            problems.append(f"APPROVAL_REQUIRED names an unknown payout {a['attributes']['payout_id']}")

    dlq = load_jsonl(f"{dump}/dead-letters.jsonl")
    diff("dead letters", [tuple(d) for d in exp["dead_letters"]],
         [(d["key"], d["reason"], d["topic"][len(prefix) + 1:]) for d in dlq], problems)
    for d in dlq:
        if not d.get("detail"):
            problems.append(f"dead letter without dlq.detail: {d}")

    for key, want in exp["redis"].items():
        full = f"{ns}:{key}"
        kind = redis(port, "TYPE", full)[0]
        if kind == "hash":
            flat = redis(port, "HGETALL", full)
            got = dict(zip(flat[0::2], flat[1::2]))
        elif kind == "zset":
            flat = redis(port, "ZRANGE", full, "0", "-1", "WITHSCORES")
            got = {m: int(float(s)) for m, s in zip(flat[0::2], flat[1::2])}
        else:
            problems.append(f"redis {full}: is {kind}")
            continue
        if got != want:
            problems.append(f"redis {full}: expected {want}, got {got}")

    for p in problems:
        print("MISMATCH", p)
    print(f"checked {len(payouts)} payouts, {len(alerts)} alerts, {len(dlq)} dead letters, "
          f"{len(exp['redis'])} redis keys: {len(problems)} mismatches")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
