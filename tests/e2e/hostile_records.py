#!/usr/bin/env python3
"""Hostile input records for test_hostile_records.sh, and the check of their dead letters.

usage: hostile_records.py gen DIR PARTITIONS
       hostile_records.py check DIR DEAD_LETTERS.jsonl TOPIC_PREFIX

gen writes, as `incentivectl produce --file` lines (raw value bytes, encoded here by hand
in the Confluent wire format: magic 0, 4-byte schema id, Avro binary):
  enrol.jsonl     the enrolment of partner p-hostile (RegistrationEvent, applied)
  base.jsonl      a valid sale of 10,000.00 EUR (applied): proves this encoder right
  hostile.jsonl   the hostile records, each meant to be dead-lettered
  final.jsonl     a valid sale of 20,000.00 EUR, sent after them: still applied
  expected.json   per hostile record: topic, key, value hex (null: null value), reason,
                  detail (the worker's exact sentence)
Every record goes to the partition p-hostile hashes to (murmur2, as the worker checks),
null-key ones too (by number), so the dead letters keep the order of each input topic.

check compares the dumped dead letters with expected.json: exactly one per record, the
same input topic order, the right reason and detail, key and value bytes unchanged,
dlq.topic/partition naming where the record was. Standard library only.
"""
import json
import os
import sys

PARTNER = "p-hostile"
PROGRAM = "emea-resellers"
OCCURRED = 1791633600000          # 2026-10-10, Q4 of tests/e2e/program.yaml's program
SCHEMA_SALE, SCHEMA_REG, SCHEMA_SURVEY, SCHEMA_PAYOUT, SCHEMA_ALERT = 1, 2, 3, 4, 5
MAX_MESSAGE = 65536               # schemas/schema_codec.h SCHEMA_MAX_MESSAGE
STR_MAX = 256                     # processors/proc_event.h PROC_STR_MAX
FULLNAME = {1: "partner_incentives.v1.SaleEvent", 2: "partner_incentives.v1.RegistrationEvent",
            3: "partner_incentives.v1.SurveyEvent", 4: "partner_incentives.v1.PayoutEvent",
            5: "partner_incentives.v1.AlertEvent"}


def murmur2(data):
    """Kafka's murmur2 (the Java client's and librdkafka's murmur2_random partitioner)."""
    m, r = 0x5BD1E995, 24
    h = (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail, rest = data[4 * n4:], len(data) % 4
    if rest >= 3:
        h ^= tail[2] << 16
    if rest >= 2:
        h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def partition_of(key, n):
    return (murmur2(key.encode()) & 0x7FFFFFFF) % n


# ---- Avro binary, field by field, so a prefix can be named by the field it cuts -------

def varint(u):
    out = bytearray()
    while True:
        b = u & 0x7F
        u >>= 7
        if u:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zz(n):
    """Avro long: zigzag, then varint."""
    return varint((n << 1) ^ (n >> 63) if n < 0 else n << 1)


def f_long(name, n):
    return [(name, "num", zz(n))]


def f_str(name, s):
    b = s if isinstance(s, bytes) else s.encode()
    return [(name, "num", zz(len(b))), (name, "str", b)]


def f_opt_str(name, s):
    """["null", "string"]: branch index, then the string."""
    if s is None:
        return [(name, "num", zz(0))]
    return [(name, "num", zz(1))] + f_str(name, s)


def sale_parts(event_id="h-base", partner=PARTNER, kind=0, amount=1000000, currency="EUR",
               sku="SW-1", quantity=1):
    return (f_str("event_id", event_id) + f_str("partner_id", partner) +
            f_long("occurred_at", OCCURRED) + f_long("kind", kind) +
            f_long("amount_minor", amount) + f_str("currency", currency) +
            f_str("sku", sku) + f_long("quantity", quantity) +
            [("deal_id", "num", zz(0)), ("original_event_id", "num", zz(0))])


def enrol_parts():
    return (f_str("event_id", "h-enrol") + f_str("partner_id", PARTNER) +
            f_long("occurred_at", OCCURRED) + f_long("kind", 0) +
            f_opt_str("program_id", PROGRAM) + f_opt_str("region", "DACH") +
            [("deal_id", "num", zz(0)), ("deal_value_minor", "num", zz(0)),
             ("certification_id", "num", zz(0))])


def frame(schema_id, parts, magic=0):
    return bytes([magic]) + schema_id.to_bytes(4, "big") + b"".join(p[2] for p in parts)


def cut_detail(parts, length):
    """The worker's sentence for a SaleEvent cut to `length` bytes (>= 5)."""
    avro = length - 5                     # Avro bytes kept
    for name, what, b in parts:
        if avro < len(b):
            if what == "num":
                return f"Field {name} is cut off inside a number."
            return f"Field {name} declares a length of {len(b)} bytes but {avro} are left."
        avro -= len(b)
    raise ValueError("not a cut")


class Gen:
    def __init__(self, partitions):
        self.partitions = partitions
        self.p = partition_of(PARTNER, partitions)
        self.expected = []

    def add(self, what, value, reason, detail, topic="sales", key=PARTNER):
        rec = {"raw_topic": topic, "key": key, "partition": self.p,
               "hex": None if value is None else value.hex()}
        self.expected.append({"what": what, "topic": topic, "key": key, "hex": rec["hex"],
                              "reason": reason, "detail": detail, "line": rec})

    def sale(self, what, reason, detail, topic="sales", key=PARTNER, schema_id=SCHEMA_SALE,
             **fields):
        self.add(what, frame(schema_id, sale_parts(**fields)), reason, detail, topic, key)


def generate(out_dir, partitions):
    g = Gen(partitions)
    base_parts = sale_parts()
    base = frame(SCHEMA_SALE, base_parts)
    too_short = "The value is {} bytes long; the Confluent wire format needs at least 5."
    over = "The value is {} bytes long, over the limit of 65536."

    # Empty, null and 1-4 byte values.
    g.add("empty value", b"", "DECODE_ERROR", too_short.format(0))
    g.add("null value", None, "DECODE_ERROR", too_short.format(0))
    for n in range(1, 5):
        g.add(f"{n}-byte value", bytes(n), "DECODE_ERROR", too_short.format(n))
    # Null keys: nothing says which partner (or partition) the record belongs to.
    nokey = "record has no key (partner_id expected)"
    g.add("null key", base, "MISPARTITIONED", nokey, key=None)
    g.add("null key and null value", None, "MISPARTITIONED", nokey, key=None)
    # A key of this partition that is not the record's partner_id.
    twin = next(f"p-twin-{i}" for i in range(10000) if partition_of(f"p-twin-{i}", partitions) == g.p)
    g.add("key is not the partner_id", base, "INVALID_EVENT",
          f"record key is not the partner_id '{PARTNER}'", key=twin)
    # Wrong magic bytes.
    for magic in (1, 0xFF):
        g.add(f"magic byte 0x{magic:02x}", frame(SCHEMA_SALE, base_parts, magic), "DECODE_ERROR",
              f"The value starts with byte 0x{magic:02x}, not the Confluent magic byte 0x00.")
    g.add("text instead of Avro", b"not avro at all", "DECODE_ERROR",
          "The value starts with byte 0x6e, not the Confluent magic byte 0x00.")
    # Ids of another record type, and one nobody registered.
    g.add("RegistrationEvent id and body on sales", frame(SCHEMA_REG, enrol_parts()),
          "UNKNOWN_SCHEMA", f"Schema id 2 is {FULLNAME[2]}, not a SaleEvent.")
    for sid in (SCHEMA_SURVEY, SCHEMA_PAYOUT, SCHEMA_ALERT):
        g.sale(f"schema id {sid} on sales", "UNKNOWN_SCHEMA",
               f"Schema id {sid} is {FULLNAME[sid]}, not a SaleEvent.", schema_id=sid)
    for sid in (0, 99, 0xFFFFFFFF):
        g.sale(f"unregistered schema id {sid}", "UNKNOWN_SCHEMA",
               f"Schema id {sid} is not registered.", schema_id=sid)
    g.sale("SaleEvent on registrations", "UNKNOWN_SCHEMA",
           f"Schema id 1 is {FULLNAME[1]}, not a RegistrationEvent.", topic="registrations")
    g.add("RegistrationEvent on surveys", frame(SCHEMA_REG, enrol_parts()), "UNKNOWN_SCHEMA",
          f"Schema id 2 is {FULLNAME[2]}, not a SurveyEvent.", topic="surveys")
    # Truncation at every byte of the valid sale: each prefix 0 .. n-1.
    for n in range(len(base)):
        detail = too_short.format(n) if n < 5 else cut_detail(base_parts, n)
        g.add(f"valid sale cut to {n} of {len(base)} bytes", base[:n], "DECODE_ERROR", detail)
    g.add("valid sale plus one byte", base + b"\x00", "DECODE_ERROR",
          "1 bytes are left after the end of the SaleEvent record.")
    # Enum and union indexes out of range.
    for idx in (2, -1, 1 << 40):
        g.sale(f"kind index {idx}", "DECODE_ERROR",
               f"Field kind holds index {idx} but its writer schema has 2 choices.", kind=idx)
    parts = sale_parts()
    parts[-2] = ("deal_id", "num", zz(2))
    g.add("deal_id union index 2", frame(SCHEMA_SALE, parts), "DECODE_ERROR",
          "Field deal_id holds index 2 but its writer schema has 2 choices.")
    # Varint overflow: more than 64 bits, and an int field beyond 32.
    amount_at = next(i for i, p in enumerate(base_parts) if p[0] == "amount_minor")
    for name, raw in (("11-byte varint", b"\xff" * 10 + b"\x01"),
                      ("10-byte varint with bit 65 set", b"\xff" * 9 + b"\x02"),
                      ("endless varint", b"\xff" * 40)):
        parts = list(base_parts)
        parts[amount_at] = ("amount_minor", "num", raw)
        g.add(f"amount_minor {name}", frame(SCHEMA_SALE, parts), "DECODE_ERROR",
              "Field amount_minor holds a number longer than 64 bits.")
    g.sale("quantity 2^31", "DECODE_ERROR",
           "Field quantity holds 2147483648, outside the int range.", quantity=1 << 31)
    g.sale("quantity -2^31-1", "DECODE_ERROR",
           "Field quantity holds -2147483649, outside the int range.", quantity=-(1 << 31) - 1)
    # Huge and negative declared lengths, and one byte more than is left.
    left = len(base) - 5 - len(zz(len("h-base")))
    for n in (1 << 40, (1 << 63) - 1, -1, left + 1):
        parts = list(base_parts)
        parts[0] = ("event_id", "num", zz(n))
        value = frame(SCHEMA_SALE, parts)
        g.add(f"event_id length {n}", value, "DECODE_ERROR",
              f"Field event_id declares a length of {n} bytes but {len(value) - 5 - len(zz(n))} are left.")
    # Strings of 257 bytes (one over the contract), a currency of 8.
    long_msg = "Field {} is {} bytes long; at most {} are allowed."
    g.sale("event_id of 257 bytes", "INVALID_EVENT", long_msg.format("event_id", 257, STR_MAX),
           event_id="e" * 257)
    g.sale("partner_id of 257 bytes", "INVALID_EVENT", long_msg.format("partner_id", 257, STR_MAX),
           partner="p" * 257)
    g.sale("sku of 257 bytes", "INVALID_EVENT", long_msg.format("sku", 257, STR_MAX), sku="S" * 257)
    g.sale("currency of 8 bytes", "INVALID_EVENT", long_msg.format("currency", 8, 7),
           currency="EURO-EUR")
    # Bad UTF-8 (and a NUL) in a string.
    utf8 = "Field sku is not valid UTF-8 text or holds a NUL byte."
    for name, raw in (("byte 0xff", b"SW-\xff"), ("lone continuation byte", b"SW-\x80"),
                      ("overlong NUL", b"SW-\xc0\x80"), ("UTF-16 surrogate", b"SW-\xed\xa0\x80"),
                      ("above U+10FFFF", b"SW-\xf4\x90\x80\x80"),
                      ("cut multibyte", b"SW-\xe2\x82"), ("NUL byte", b"SW-\x001")):
        g.sale(f"sku with {name}", "INVALID_EVENT", utf8, sku=raw)
    g.sale("event_id with byte 0xfe", "INVALID_EVENT",
           "Field event_id is not valid UTF-8 text or holds a NUL byte.", event_id=b"h-\xfe")
    # Sizes: the 64 KiB limit at its edge, 900 KB, and a string of 1 MB.
    fixed = len(frame(SCHEMA_SALE, sale_parts(sku=""))) - 1     # without the sku's length

    def sku_for(total):
        """An sku making the framed sale exactly `total` bytes long."""
        n = total - fixed - 1
        while len(frame(SCHEMA_SALE, sale_parts(sku="S" * n))) > total:
            n -= 1
        return "S" * n
    edge = frame(SCHEMA_SALE, sale_parts(sku=sku_for(MAX_MESSAGE)))
    assert len(edge) == MAX_MESSAGE, len(edge)
    g.add("exactly 65536 bytes (a 65 KB sku)", edge, "INVALID_EVENT",
          long_msg.format("sku", len(sku_for(MAX_MESSAGE)), STR_MAX))
    one_over = frame(SCHEMA_SALE, sale_parts(sku=sku_for(MAX_MESSAGE + 1)))
    assert len(one_over) == MAX_MESSAGE + 1, len(one_over)
    g.add("65537 bytes", one_over, "DECODE_ERROR", over.format(MAX_MESSAGE + 1))
    big = frame(SCHEMA_SALE, sale_parts(sku="S" * 900 * 1024))
    g.add(f"900 KB record ({len(big)} bytes)", big, "DECODE_ERROR", over.format(len(big)))
    huge = frame(SCHEMA_SALE, sale_parts(sku="S" * 1024 * 1024))
    g.add(f"1 MB sku ({len(huge)} bytes)", huge, "DECODE_ERROR", over.format(len(huge)))
    # Nearly the largest record the input topics take (max.message.bytes counts the
    # record batch: 256 bytes are left for its framing): its dead letter, these bytes
    # plus the dlq.* headers, must still fit the dead-letter topic and the producer.
    top = int(os.environ.get("PI_INPUT_MAX_MESSAGE_BYTES", "2097152")) - 256
    limit = frame(SCHEMA_SALE, sale_parts(sku=sku_for(top)))
    g.add(f"{len(limit)}-byte record (input limit - 256)", limit, "DECODE_ERROR",
          over.format(len(limit)))
    # After the big ones: a small record still follows them in order.
    g.add("4-byte value after the big ones", b"\x00\x00\x00\x01", "DECODE_ERROR",
          too_short.format(4))

    def write(name, lines):
        with open(os.path.join(out_dir, name), "w") as f:
            for line in lines:
                f.write(json.dumps(line, separators=(",", ":")) + "\n")

    write("enrol.jsonl", [{"raw_topic": "registrations", "key": PARTNER,
                           "hex": frame(SCHEMA_REG, enrol_parts()).hex()}])
    write("base.jsonl", [{"raw_topic": "sales", "key": PARTNER, "hex": base.hex()}])
    write("final.jsonl", [{"raw_topic": "sales", "key": PARTNER,
                           "hex": frame(SCHEMA_SALE, sale_parts(event_id="h-final",
                                                                amount=2000000)).hex()}])
    write("hostile.jsonl", [e["line"] for e in g.expected])
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump({"partition": g.p, "records": [{k: v for k, v in e.items() if k != "line"}
                                                 for e in g.expected]}, f)
    reasons = {}
    for e in g.expected:
        reasons[e["reason"]] = reasons.get(e["reason"], 0) + 1
    print(f"{len(g.expected)} hostile records to partition {g.p} of {partitions} "
          f"({', '.join(f'{r} {n}' for r, n in sorted(reasons.items()))}); largest "
          f"{max(len(e['hex'] or '') // 2 for e in g.expected)} bytes")


def check(in_dir, dump_path, prefix):
    with open(os.path.join(in_dir, "expected.json")) as f:
        exp = json.load(f)
    with open(dump_path) as f:
        dead = [json.loads(line) for line in f if line.strip()]
    problems = []
    order = ["sales", "registrations", "surveys"]
    expected = sorted(enumerate(exp["records"]), key=lambda ie: (order.index(ie[1]["topic"]), ie[0]))
    words = ["partner." + t for t in order]

    def topic_word(d):
        t = d.get("topic") or ""
        return t[len(prefix) + 1:] if t.startswith(prefix + ".") else t
    for d in dead:
        d["_word"] = topic_word(d)
    # Input order: by input topic, then offset (one partition per topic).
    actual = sorted(dead, key=lambda d: (words.index(d["_word"]) if d["_word"] in words
                                         else len(words), d.get("offset") or 0))
    if len(actual) != len(expected):
        problems.append(f"{len(actual)} dead letters, expected {len(expected)} (one per record)")
    seen = set()
    for d in actual:
        k = (d["_word"], d.get("partition"), d.get("offset"))
        if k in seen:
            problems.append(f"record {k} dead-lettered twice")
        seen.add(k)
    for (i, e), d in zip(expected, actual):
        name = f"#{i} {e['what']}"
        want_topic = "partner." + e["topic"]
        if d["_word"] != want_topic:
            problems.append(f"{name}: dead letter of {d['_word']}, expected {want_topic}")
        if d.get("partition") != exp["partition"]:
            problems.append(f"{name}: dlq.partition {d.get('partition')}, expected {exp['partition']}")
        if d.get("reason") != e["reason"]:
            problems.append(f"{name}: reason {d.get('reason')}, expected {e['reason']} "
                            f"(detail: {d.get('detail')})")
        if d.get("detail") != e["detail"]:
            problems.append(f"{name}: detail {d.get('detail')!r}, expected {e['detail']!r}")
        if d.get("key") != e["key"] or "key_hex" in d:
            problems.append(f"{name}: key {d.get('key')!r}, expected {e['key']!r}")
        if d.get("value_hex") != e["hex"]:
            got = d.get("value_hex")
            problems.append(f"{name}: value changed: {len(got) // 2 if got is not None else 'null'} "
                            f"bytes, expected {len(e['hex']) // 2 if e['hex'] is not None else 'null'}"
                            f" (first: {(got or '')[:40]} vs {(e['hex'] or '')[:40]})")
    offsets = [d.get("offset") for d in actual if d["_word"] == "partner.sales"]
    if offsets != sorted(offsets):
        problems.append("sales dead letters are not in input order")
    for p in problems[:40]:
        print("  " + p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problems", file=sys.stderr)
        return 1
    reasons = {}
    for d in actual:
        reasons[d["reason"]] = reasons.get(d["reason"], 0) + 1
    print(f"{len(actual)} dead letters as expected: "
          + ", ".join(f"{r} {n}" for r, n in sorted(reasons.items())))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "gen":
        generate(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit(__doc__)
