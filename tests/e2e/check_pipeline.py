#!/usr/bin/env python3
"""Compares what the worker produced with pipeline-expected.json (worked by hand).

usage: check_pipeline.py EXPECTED.json DUMP_DIR REDIS_PORT NAMESPACE TOPIC_PREFIX

Payouts, alerts and dead letters are compared as exact multisets (nothing missing,
nothing extra, nothing twice); ids must be unique and well-formed. A clawback's rule_id
(the reversed payout's id) is compared as "payout:SOURCE:KIND:RULE", the payout it names.
Every PENDING_APPROVAL payout has exactly one APPROVAL_REQUIRED alert naming it (but a
clawback of a payout that is itself pending is held with it and has none), and every such
alert names a pending payout. Dead letters are identified by the event_id of their
original value (read from its Avro bytes; null when undecodable). Redis hashes and sorted
sets are compared field by field; the program KPI hashes too, a field absent in Redis
counting as 0 (HINCRBY leaves a field at 0 or never writes it, depending on batching).
Standard library only.
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


def rhe(num, den):
    """round(num / den) half to even, exact (den > 0)."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2):
        q += 1
    return q


def explained(p):
    """The amount a payout's explanation fields give (CONTRACT §4), or None when it has
    none to check (the record of a decision, a fixed bonus, a marginal-mode rebate)."""
    g = lambda k: p.get(k)
    cut = g("cut_minor") or 0
    if g("returned_after_minor") is not None:
        b, s = g("basis_minor"), g("sale_minor")
        return -(rhe(b * g("returned_after_minor"), s) - rhe(b * g("returned_before_minor"), s))
    if g("per_unit_minor") is not None:
        return g("per_unit_minor") * g("quantity") - cut
    if g("old_rate_bp") is not None:
        return rhe(g("basis_minor") * (g("rate_bp") - g("old_rate_bp")), 10000) - cut
    if g("rate_bp") is not None:
        return rhe(g("basis_minor") * g("rate_bp"), 10000) - cut
    return None


def payout_ref(p):
    return f"payout:{p['source_event_id']}:{p['kind']}:{p['rule_id']}"


def original_event_id(value_hex):
    """event_id (the first field of every input schema) of a Confluent-framed Avro value
    of an input schema (1-3, 6), or None when the bytes are not one."""
    try:
        b = bytes.fromhex(value_hex or "")
        if len(b) < 6 or b[0] != 0 or int.from_bytes(b[1:5], "big") not in (1, 2, 3, 6):
            return None
        pos, shift, z = 5, 0, 0
        while True:
            c = b[pos]
            pos += 1
            z |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                break
        n = (z >> 1) ^ -(z & 1)
        if n < 0 or pos + n > len(b):
            return None
        return b[pos:pos + n].decode()
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


def main():
    exp_path, dump, port, ns, prefix = sys.argv[1:6]
    exp = json.load(open(exp_path))
    problems = []

    payouts = load_jsonl(f"{dump}/payouts.jsonl")
    ref_of = {p["payout_id"]: payout_ref(p) for p in payouts}
    diff("payouts", [tuple(p) for p in exp["payouts"]],
         [(p["source_event_id"], p["kind"],
           ref_of.get(p["rule_id"], p["rule_id"]) if p["kind"] in ("CLAWBACK", "MDF_ACCRUAL")
           else p["rule_id"], p["amount_minor"], p["status"], p["tier"], p["period"])
          + ((ref_of.get(p["decision_of"], p["decision_of"]), p.get("approver_id"))
             if p.get("decision_of") else ())
          for p in payouts], problems)
    for p in payouts:
        if p["kind"] == "CLAWBACK" and p["rule_id"] not in ref_of:
            problems.append(f"CLAWBACK {p['payout_id']} names an unknown payout {p['rule_id']}")
    for p in payouts:
        want = explained(p)
        if want is not None and want != p["amount_minor"]:
            problems.append(f"payout {payout_ref(p)}: its explanation gives {want}, "
                            f"its amount is {p['amount_minor']}")
    n_explained = sum(explained(p) is not None for p in payouts)
    if n_explained < len(payouts) // 2:
        problems.append(f"only {n_explained} of {len(payouts)} payouts carry an explanation")
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
    named = collections.Counter(a["attributes"].get("payout_id") for a in alerts
                                if a["kind"] == "APPROVAL_REQUIRED")
    status_of = {p["payout_id"]: p["status"] for p in payouts}
    for p in payouts:
        tied = p["kind"] in ("CLAWBACK", "MDF_ACCRUAL") and status_of.get(p["rule_id"]) == "PENDING_APPROVAL"
        if p["status"] == "PENDING_APPROVAL" and named[p["payout_id"]] != (0 if tied else 1):
            problems.append(f"pending payout {payout_ref(p)} has {named[p['payout_id']]} "
                            f"APPROVAL_REQUIRED alerts, expected {0 if tied else 1}")
    for pid in named:
        if pid in status_of and status_of[pid] != "PENDING_APPROVAL":
            problems.append(f"APPROVAL_REQUIRED names {ref_of[pid]}, which is {status_of[pid]}")

    dlq = load_jsonl(f"{dump}/dead-letters.jsonl")
    diff("dead letters", [tuple(d) for d in exp["dead_letters"]],
         [(d["key"], d["reason"], d["topic"][len(prefix) + 1:], original_event_id(d.get("value_hex")))
          for d in dlq], problems)
    for d in dlq:
        if not d.get("detail"):
            problems.append(f"dead letter without dlq.detail: {d}")
        if not isinstance(d.get("partition"), int) or not isinstance(d.get("offset"), int):
            problems.append(f"dead letter without dlq.partition / dlq.offset: {d}")

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

    for key, want in exp.get("kpi", {}).items():
        full = f"{ns}:kpi:{key}"
        flat = redis(port, "HGETALL", full)
        got = {f: v for f, v in zip(flat[0::2], flat[1::2]) if v != "0"}
        want = {f: v for f, v in want.items() if v != "0"}
        for f in sorted(set(got) | set(want)):
            if got.get(f, "0") != want.get(f, "0"):
                problems.append(f"kpi {full} {f}: expected {want.get(f, '0')}, got {got.get(f, '0')}")
    kpi_keys = set(redis(port, "KEYS", f"{ns}:kpi:*"))
    for k in sorted(kpi_keys - {f"{ns}:kpi:{key}" for key in exp.get("kpi", {})}):
        problems.append(f"kpi: unexpected hash {k}")

    for p in problems:
        print("MISMATCH", p)
    print(f"checked {len(payouts)} payouts, {len(alerts)} alerts, {len(dlq)} dead letters, "
          f"{len(exp['redis'])} redis keys, {len(exp.get('kpi', {}))} kpi hashes: "
          f"{len(problems)} mismatches")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
