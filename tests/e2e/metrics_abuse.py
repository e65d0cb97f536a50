#!/usr/bin/env python3
"""Holds abusive clients open against the worker's metrics port until killed:
    metrics_abuse.py PORT READY_FILE
300 idle connections that never send a byte, 20 that send garbage without a newline,
5 that send a 100 KB request line; writes READY_FILE once all are connected."""
import socket
import sys
import time

port, ready = int(sys.argv[1]), sys.argv[2]
held = []
for i in range(325):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if 300 <= i < 320:
        s.sendall(b"\x00\xff garbage \x16\x03\x01 no newline")
    elif i >= 320:
        try:
            s.sendall(b"GET /" + b"a" * 100_000 + b" HTTP/1.0\r\n\r\n")
        except OSError:
            pass                      # the worker may close it after the first 1 KB: fine
    held.append(s)
open(ready, "w").write(f"{len(held)}\n")
while True:
    time.sleep(3600)
