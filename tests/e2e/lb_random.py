#!/usr/bin/env python3
"""Randomized differential test of the leaderboards and partner hashes (issue #6).

    lb_random.py gen SEED DIR          writes DIR/program.yaml and the input parts
                                       DIR/part-N-registrations.jsonl, DIR/part-N-sales.jsonl
    lb_random.py check DIR DUMP_DIR REDIS_PORT NAMESPACE
                                       recomputes every period's revenue and points and
                                       every partner hash from the inputs and the payouts,
                                       and compares them with Redis and the dead letters

The generator makes many partners in three programs (quarterly and monthly), long spans of
event time, late events (some inside the lateness, some past it), returns split in pieces,
certifications (some repeated, some dated back into closed periods), USD sales into a EUR
program, and redeliveries. The test
produces each part's registrations, waits until the worker has consumed them, then its
sales: so the worker applies every partner's events in exactly the order the model below
does, whatever the batch boundaries.

The model is written from the contract, not from the code: revenue per (partner, period)
is converted sales minus converted returns of the accepted events; points are
max(revenue, 0) // revenue_per_point + per_certification x certifications of the period;
tiers follow CONTRACT §6.4 (reached tier never falls in a period, held tier from the previous
period when a period opens). It predicts which events are LATE_EVENT and RETURN_INVALID
and checks the dead-letter topic against that, so acceptance is not taken from the worker.
Standard library only.
"""
import collections
import json
import random
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal, ROUND_HALF_EVEN

DAY = 86_400_000

PROGRAMS = {
    "emea-resellers": dict(
        currency="EUR", period="quarter", lateness=7, rpp=10000, ppc=50, ret_window=90,
        fx={"USD": "0.92"},
        tiers=[("Registered", 0, 0, 100), ("Silver", 5000000, 0, 200),
               ("Gold", 25000000, 1, 300), ("Platinum", 100000000, 2, 400)]),
    "na-distributors": dict(
        currency="USD", period="month", lateness=3, rpp=10000, ppc=25, ret_window=30,
        fx={"EUR": "1.08"},
        tiers=[("Authorized", 0, 0, 150), ("Preferred", 2000000, 0, 250),
               ("Elite", 10000000, 1, 350)]),
    "apac-partners": dict(
        currency="EUR", period="month", lateness=0, rpp=5000, ppc=10, ret_window=60,
        fx={},
        tiers=[("Member", 0, 0, 100), ("Select", 1000000, 0, 150),
               ("Premier", 4000000, 2, 250)]),
}
REGIONS = ["DACH", "Nordics", "Benelux", "Iberia", None]


HORIZON_DAYS = 7                 # dedupe.replay_horizon_days, the worker's default


def program_yaml():
    out = ["programs:"]
    for pid, p in PROGRAMS.items():
        out += [f"  - id: {pid}", f"    currency: {p['currency']}", f"    period: {p['period']}",
                f"    allowed_lateness_days: {p['lateness']}", "    rebate_mode: retroactive",
                "    tiers:"]
        for name, rev, certs, bp in p["tiers"]:
            out.append(f"      - {{ name: {name}, min_revenue_minor: {rev}, "
                       f"min_certifications: {certs}, rebate_bp: {bp} }}")
        if p["fx"]:
            out.append("    fx: { " + ", ".join(f'{k}: "{v}"' for k, v in p["fx"].items()) + " }")
        out += ["    certification_bonus_minor: 10000", "    mdf_bp: 100",
                f"    points: {{ revenue_per_point_minor: {p['rpp']}, "
                f"per_certification: {p['ppc']}, per_deal_won: 100 }}",
                "    cap_per_period_minor: 5000000", "    approval_threshold_minor: 200000",
                f"    return_window_days: {p['ret_window']}", "    max_sale_minor: 1000000000000"]
    return "\n".join(out) + "\n"


# ---- calendar (UTC) --------------------------------------------------------------------

def period_of(prog, ms):
    d = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    if PROGRAMS[prog]["period"] == "month":
        return (d.year, d.month)
    return (d.year, (d.month - 1) // 3 + 1)


def period_name(prog, key):
    y, n = key
    return f"{y:04d}-{n:02d}" if PROGRAMS[prog]["period"] == "month" else f"{y:04d}-Q{n}"


def next_period(prog, key):
    y, n = key
    last = 12 if PROGRAMS[prog]["period"] == "month" else 4
    return (y + 1, 1) if n == last else (y, n + 1)


def prev_period(prog, key):
    y, n = key
    last = 12 if PROGRAMS[prog]["period"] == "month" else 4
    return (y - 1, last) if n == 1 else (y, n - 1)


def period_end_ms(prog, key):
    y, n = next_period(prog, key)
    month = n if PROGRAMS[prog]["period"] == "month" else (n - 1) * 3 + 1
    return int(datetime(y, month, 1, tzinfo=timezone.utc).timestamp() * 1000)


def convert(prog, amount, currency):
    p = PROGRAMS[prog]
    if currency == p["currency"]:
        return amount
    return int((Decimal(amount) * Decimal(p["fx"][currency])).to_integral_value(ROUND_HALF_EVEN))


# ---- generator --------------------------------------------------------------------------

def sale_json(eid, pid, at, kind, amount, currency, original=None):
    return {"type": "sale", "event_id": eid, "partner_id": pid, "occurred_at": at, "kind": kind,
            "amount_minor": amount, "currency": currency, "sku": "SW-1", "quantity": 1,
            "deal_id": None, "original_event_id": original}


def reg_json(eid, pid, at, kind, program=None, region=None, cert=None):
    return {"type": "registration", "event_id": eid, "partner_id": pid, "occurred_at": at,
            "kind": kind, "program_id": program, "region": region, "deal_id": None,
            "deal_value_minor": None, "certification_id": cert}


def generate(seed, out_dir, n_partners=260, n_parts=3):
    rng = random.Random(seed)
    start = int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)
    timelines = []
    for i in range(n_partners):
        pid = f"p{i:04d}"
        prog = rng.choice(list(PROGRAMS))
        p = PROGRAMS[prog]
        # Zipf-like activity: a few partners are very busy.
        n_events = min(600, int(8 / (rng.random() ** 0.9 + 0.01)))
        # Long spans: busy partners cover up to about two years of event time.
        step = rng.choice([DAY // 4, DAY, 2 * DAY, 4 * DAY])
        clock = start + rng.randrange(0, 120) * DAY
        events = [reg_json(f"{pid}-enrol", pid, clock, "PARTNER_ENROLLED", prog,
                           rng.choice(REGIONS))]
        events[0]["_clock"] = clock
        sales = []          # (event_id, occurred_at, amount, currency, returned)
        for k in range(n_events):
            clock += rng.randrange(0, step + 1)
            r = rng.random()
            eid = f"{pid}-e{k}"
            if r < 0.05:
                events.append(reg_json(eid, pid, clock, "CERTIFICATION_COMPLETED",
                                       cert=f"cert-{rng.randrange(4)}"))
                # One in four is dated back, often into a period closed to late events
                # (LATE_EVENT) that the worker has already pruned from its state.
                if rng.random() < 0.25:
                    events[-1]["_back"] = rng.randrange(1, 400) * DAY
            elif r < 0.13 and sales:
                recent = [s for s in sales if s[1] >= clock - 20 * DAY and s[4] < s[2]]
                if not recent:
                    continue
                s = rng.choice(recent)
                left = s[2] - s[4]
                # Pieces of 30 %, 50 % or the rest; now and then more than is left.
                amount = max(1, min(left, s[2] * rng.choice([3, 5, 10]) // 10))
                if rng.random() < 0.1:
                    amount = left + rng.randrange(1, 1000)
                s[4] += amount
                events.append(sale_json(eid, pid, clock, "RETURN", amount, s[3], s[0]))
            else:
                late = rng.random() < 0.1
                at = clock - rng.randrange(0, 60) * DAY if late else clock
                currency = p["currency"]
                if p["fx"] and rng.random() < 0.25:
                    currency = next(iter(p["fx"]))
                amount = rng.choice([1, 99, 12345, 250000, 999999, 3000000]) + rng.randrange(1000)
                events.append(sale_json(eid, pid, at, "SALE", amount, currency))
                if not late:
                    sales.append([eid, at, amount, currency, 0])
            events[-1]["_clock"] = clock
            if rng.random() < 0.02:
                events.append(dict(events[-1]))          # a redelivery of the same record
        timelines.append(events)

    with open(f"{out_dir}/program.yaml", "w") as f:
        f.write(program_yaml())
    total = 0
    for part in range(n_parts):
        regs, sales = [], []
        for events in timelines:
            n = len(events)
            piece = events[part * n // n_parts:(part + 1) * n // n_parts]
            for e in piece:
                # Registrations are fed before the part's sales: a certification is dated
                # at the partner's first instant of the part, so it never moves the
                # watermark past sales that come after it in event time.
                back = e.get("_back", 0)
                e = {k: v for k, v in e.items() if k not in ("_clock", "_back")}
                if e["type"] == "registration" and e["kind"] != "PARTNER_ENROLLED":
                    e["occurred_at"] = piece[0]["_clock"] - back
                (regs if e["type"] == "registration" else sales).append(e)
        # Interleave partners (each keeps its own order), as real traffic does.
        for name, rows in (("registrations", regs), ("sales", sales)):
            by_partner = collections.defaultdict(collections.deque)
            for e in rows:
                by_partner[e["partner_id"]].append(e)
            queues = list(by_partner.values())
            with open(f"{out_dir}/part-{part + 1}-{name}.jsonl", "w") as f:
                while queues:
                    q = rng.choice(queues)
                    f.write(json.dumps(q.popleft()) + "\n")
                    total += 1
                    if not q:
                        queues.remove(q)
    print(f"lb_random: seed {seed}: {n_partners} partners, {total} input records, "
          f"{n_parts} parts")


# ---- model ------------------------------------------------------------------------------

def model(in_dir):
    """Applies the parts in the order the test feeds them. @returns partners, dead letters."""
    partners = {}
    dead = []

    def tier_for(prog, revenue, certs):
        tiers = PROGRAMS[prog]["tiers"]
        for i in range(len(tiers) - 1, 0, -1):
            if tiers[i][1] <= revenue and tiers[i][2] <= certs:
                return i
        return 0

    def open_period(pt, key):
        per = pt["periods"].get(key)
        if per is None:
            prev = pt["periods"].get(prev_period(pt["program"], key))
            per = {"revenue": 0, "certs": 0, "payouts": 0, "events": 0,
                   "held": prev["reached"] if prev else 0,
                   "reached": tier_for(pt["program"], 0, pt["certs_total"])}
            pt["periods"][key] = per
        if pt["watermark"] is None or pt["at"] > pt["watermark"]:
            pt["watermark"] = pt["at"]
        per["events"] += 1
        return per

    def is_late(pt, key):
        if not pt["periods"]:
            return False
        prog = PROGRAMS[pt["program"]]
        return period_end_ms(pt["program"], key) + prog["lateness"] * DAY < pt["watermark"]

    def remember(pt, e):
        """The ids the worker holds: proc_partner_prune every 64 held ids (by event time:
        older than the replay horizon and in a period closed to late events)."""
        held = pt.setdefault("held", {})
        held[e["event_id"]] = e["occurred_at"]
        pt["latest"] = max(pt.get("latest", e["occurred_at"]), e["occurred_at"])
        if len(held) % 64:
            return
        prog, wm = pt["program"], pt["watermark"] or 0
        late = PROGRAMS[prog]["lateness"] * DAY
        key = period_of(prog, wm - late)
        while not period_end_ms(prog, prev_period(prog, key)) + late < wm:
            key = prev_period(prog, key)
        open_from = period_end_ms(prog, prev_period(prog, key))
        recent = pt["latest"] - HORIZON_DAYS * DAY
        pt["held"] = {i: at for i, at in held.items() if at >= recent or at >= open_from}

    def apply(e):
        pt = partners.get(e["partner_id"])
        if e["event_id"] in (pt or {}).get("seen", ()):
            return                                            # redelivery: ignored
        if e["type"] == "registration" and e["kind"] == "PARTNER_ENROLLED":
            pt = {"program": e["program_id"], "region": e["region"] or "", "periods": {},
                  "watermark": None, "certs_total": 0, "certs": set(), "sales": {},
                  "seen": set()}
            partners[e["partner_id"]] = pt
            pt["seen"].add(e["event_id"])
            remember(pt, e)
            return
        prog = pt["program"]
        pt["at"] = e["occurred_at"]
        key = period_of(prog, e["occurred_at"])
        if e["type"] == "registration":                       # CERTIFICATION_COMPLETED
            if is_late(pt, key):
                dead.append((e["event_id"], "LATE_EVENT"))
                return
            if e["certification_id"] not in pt["certs"]:
                per = open_period(pt, key)
                pt["certs"].add(e["certification_id"])
                pt["certs_total"] += 1
                per["certs"] += 1
                per["reached"] = max(per["reached"],
                                     tier_for(prog, per["revenue"], pt["certs_total"]))
        elif e["kind"] == "SALE":
            if is_late(pt, key):
                dead.append((e["event_id"], "LATE_EVENT"))
                return
            amount = convert(prog, e["amount_minor"], e["currency"])
            per = open_period(pt, key)
            per["revenue"] += amount
            per["reached"] = max(per["reached"], tier_for(prog, per["revenue"], pt["certs_total"]))
            if amount:
                pt["sales"][e["event_id"]] = [amount, 0, e["occurred_at"]]
        else:                                                 # RETURN
            amount = convert(prog, e["amount_minor"], e["currency"])
            s = pt["sales"].get(e["original_event_id"])
            window = PROGRAMS[prog]["ret_window"] * DAY
            if (s is None or e["occurred_at"] < s[2] or e["occurred_at"] > s[2] + window
                    or amount > s[0] - s[1]):
                dead.append((e["event_id"], "RETURN_INVALID"))
                return
            if is_late(pt, key):
                dead.append((e["event_id"], "LATE_EVENT"))
                return
            s[1] += amount
            per = open_period(pt, key)
            per["revenue"] -= amount                          # the reached tier does not fall
        pt["seen"].add(e["event_id"])
        remember(pt, e)

    part = 1
    while True:
        try:
            files = [open(f"{in_dir}/part-{part}-{n}.jsonl") for n in ("registrations", "sales")]
        except FileNotFoundError:
            break
        for f in files:
            for line in f:
                apply(json.loads(line))
            f.close()
        part += 1
    return partners, dead


# ---- check ------------------------------------------------------------------------------

def redis(port, *args):
    out = subprocess.run(["redis-cli", "-p", port, "--raw", *args], check=True,
                         capture_output=True, text=True).stdout
    return out.split("\n")[:-1] if out else []


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def points(prog, per):
    p = PROGRAMS[prog]
    return max(per["revenue"], 0) // p["rpp"] + p["ppc"] * per["certs"]


def check(in_dir, dump_dir, port, ns):
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from check_pipeline import original_event_id
    partners, dead = model(in_dir)
    problems = []

    # Dead letters: exactly the predicted ones (event id, reason), each once.
    actual_dead = [(original_event_id(d.get("value_hex")), d["reason"])
                   for d in load_jsonl(f"{dump_dir}/dead-letters.jsonl")]
    e, a = collections.Counter(dead), collections.Counter(actual_dead)
    problems += [f"dead letter missing: {x}" for x in sorted((e - a).elements())]
    problems += [f"dead letter unexpected: {x}" for x in sorted((a - e).elements())]

    payouts = load_jsonl(f"{dump_dir}/payouts.jsonl")
    if len({p["payout_id"] for p in payouts}) != len(payouts):
        problems.append("a payout id occurs twice")
    period_payouts = collections.Counter()
    for p in payouts:
        period_payouts[(p["partner_id"], p["period"])] += p["amount_minor"]

    # Every leaderboard set and member, expected from the model.
    want_sets = collections.defaultdict(dict)
    n_periods = 0
    for pid, pt in partners.items():
        prog = pt["program"]
        for key, per in pt["periods"].items():
            n_periods += 1
            name = period_name(prog, key)
            want_sets[f"lb:{prog}:{name}:revenue"][pid] = per["revenue"]
            want_sets[f"lb:{prog}:{name}:points"][pid] = points(prog, per)
            if pt["region"]:
                want_sets[f"lb:{prog}:{name}:region:{pt['region']}:revenue"][pid] = per["revenue"]
    have_keys = {k[len(ns) + 1:] for k in redis(port, "--scan", "--pattern", f"{ns}:lb:*")}
    for k in sorted(set(want_sets) - have_keys):
        problems.append(f"sorted set missing: {k} ({len(want_sets[k])} members)")
    for k in sorted(have_keys - set(want_sets)):
        problems.append(f"sorted set unexpected: {k}")
    n_members = 0
    for k in sorted(set(want_sets) & have_keys):
        flat = redis(port, "ZRANGE", f"{ns}:{k}", "0", "-1", "WITHSCORES")
        have = {flat[i]: int(float(flat[i + 1])) for i in range(0, len(flat), 2)}
        for member, score in sorted(want_sets[k].items()):
            n_members += 1
            if have.get(member) != score:
                problems.append(f"ZSCORE {k} {member} = {have.get(member)}, expected {score}")
        for member in sorted(set(have) - set(want_sets[k])):
            problems.append(f"{k}: unexpected member {member}")

    # Every partner hash.
    for pid, pt in sorted(partners.items()):
        prog = pt["program"]
        tiers = PROGRAMS[prog]["tiers"]
        want = {"program": prog, "region": pt["region"], "certifications": str(pt["certs_total"]),
                "nps": "", "period": "", "revenue_minor": "0", "points": "0",
                "period_payouts_minor": "0"}
        tier = 0
        latest = max(pt["periods"]) if pt["periods"] else None
        if latest is not None:
            per = pt["periods"][latest]
            name = period_name(prog, latest)
            tier = max(per["reached"], per["held"])
            want.update(period=name, revenue_minor=str(per["revenue"]),
                        points=str(points(prog, per)),
                        period_payouts_minor=str(period_payouts[(pid, name)]))
        want["tier"] = tiers[tier][0]
        if tier + 1 < len(tiers):
            rev = pt["periods"][latest]["revenue"] if latest is not None else 0
            want["next_tier"] = tiers[tier + 1][0]
            want["distance_to_next_tier_minor"] = str(max(0, tiers[tier + 1][1] - rev))
        else:
            want["next_tier"] = want["distance_to_next_tier_minor"] = ""
        flat = redis(port, "HGETALL", f"{ns}:partner:{pid}")
        have = dict(zip(flat[0::2], flat[1::2]))
        for field, value in sorted(want.items()):
            if have.get(field) != value:
                problems.append(f"partner:{pid} {field} = {have.get(field)!r}, expected {value!r}")

    # Expiry reaches Redis: each partner's state hash remembers exactly the event ids the
    # model says the worker holds after pruning (fields e + 16 hex digits of FNV-1a 64);
    # a worker that pruned in memory but never sent the HDELs would keep more.
    def fnv(text):
        h = 1469598103934665603
        for b in text.encode():
            h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
        return f"e{h:016x}"
    n_applied = n_stored = 0
    for pid, pt in sorted(partners.items()):
        held = {fnv(eid) for eid in pt.get("held", {})}
        stored = {f for f in redis(port, "HKEYS", f"{ns}:state:{pid}") if f.startswith("e")}
        if stored != held:
            problems.append(f"state:{pid} remembers {len(stored)} ids, the model {len(held)}: "
                            f"{len(stored - held)} not expired, {len(held - stored)} missing")
        n_applied += len(pt["seen"])
        n_stored += len(stored)
    if n_stored >= n_applied:
        problems.append(f"no remembered id was ever expired ({n_stored} of {n_applied})")

    for p in problems[:40]:
        print("  " + p)
    print(f"lb_random: {n_stored} of {n_applied} applied event ids still remembered in Redis")
    print(f"lb_random: {len(partners)} partners, {n_periods} partner periods, "
          f"{len(want_sets)} sorted sets, {n_members} members, {len(dead)} dead letters, "
          f"{len(payouts)} payouts: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "gen":
        generate(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "check":
        sys.exit(check(*sys.argv[2:]))
    else:
        sys.exit(__doc__)
