#!/usr/bin/env python3
"""redis_fixture.py — save a namespace of Redis to a JSON-lines file and load it back
under another namespace, byte for byte (values are hex). Used by test_migration.sh to
start a worker on a Redis that an earlier release wrote (migration-v2.jsonl).

  redis_fixture.py save PORT NAMESPACE FILE   every key NAMESPACE:* except the outbox
  redis_fixture.py load PORT NAMESPACE FILE   writes them under NAMESPACE

The namespace is stored as "NS" in key names and in the ledger's off:<topic> fields
(topics are named "<namespace>.<topic>"), so the file does not depend on the run.
Strings, hashes and sorted sets only: that is all the worker writes. A minimal RESP
client, so the test needs nothing beyond the Python standard library.
"""
import json
import socket
import sys


class Redis:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.s.makefile("rb")

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self.reply()

    def reply(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError(f"unexpected reply {line!r}")


def rename(b, old, new):
    """Replaces the namespace at the start of a key or a topic field (off:<ns>.topic)."""
    for prefix in (b"", b"off:"):
        for sep in (b":", b"."):
            if b.startswith(prefix + old + sep):
                return prefix + new + b[len(prefix) + len(old):]
    return b


def save(r, ns, path):
    ns = ns.encode()
    keys, cursor = [], b"0"
    while True:
        cursor, batch = r.call("SCAN", cursor, "MATCH", ns + b":*", "COUNT", 1000)
        keys += batch
        if cursor == b"0":
            break
    with open(path, "w") as f:
        for key in sorted(keys):
            if key.startswith(ns + b":outbox:"):
                continue                 # everything in it is in Kafka already
            kind = r.call("TYPE", key).decode()
            row = {"key": rename(key, ns, b"NS").decode(), "type": kind}
            if kind == "string":
                row["hex"] = r.call("GET", key).hex()
            elif kind == "hash":
                flat = r.call("HGETALL", key)
                row["fields"] = {rename(flat[i], ns, b"NS").hex(): flat[i + 1].hex()
                                 for i in range(0, len(flat), 2)}
            elif kind == "zset":
                flat = r.call("ZRANGE", key, 0, -1, "WITHSCORES")
                row["members"] = [[flat[i].hex(), flat[i + 1].decode()]
                                  for i in range(0, len(flat), 2)]
            else:
                sys.exit(f"redis_fixture: {key!r} is a {kind}")
            f.write(json.dumps(row, sort_keys=True) + "\n")


def load(r, ns, path):
    ns = ns.encode()
    n = 0
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            key = rename(row["key"].encode(), b"NS", ns)
            r.call("DEL", key)
            if row["type"] == "string":
                r.call("SET", key, bytes.fromhex(row["hex"]))
            elif row["type"] == "hash":
                args = []
                for k, v in row["fields"].items():
                    args += [rename(bytes.fromhex(k), b"NS", ns), bytes.fromhex(v)]
                r.call("HSET", key, *args)
            elif row["type"] == "zset":
                args = []
                for m, score in row["members"]:
                    args += [score, bytes.fromhex(m)]
                r.call("ZADD", key, *args)
            n += 1
    print(f"redis_fixture: loaded {n} keys into {ns.decode()}")


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("save", "load"):
        sys.exit(__doc__)
    cmd, port, ns, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    (save if cmd == "save" else load)(Redis(port), ns, path)


if __name__ == "__main__":
    main()
