"""A stand-in for a Confluent-compatible schema registry, for the component test of the
registry client (test_sreg.c) only: the end-to-end proof runs against a real Apicurio
Registry (tests/e2e/test_registry.sh). It serves what the client's edge cases need:
basic auth, TLS, a 503 that clears after two attempts, a 404, a non-Avro schema, and a
log of the requests it saw (GET /__log, no auth needed).

usage: sreg_stub.py PORT_FILE [--user U --password P] [--cert C --key K]
Writes the port it listens on to PORT_FILE once it accepts connections."""
import base64
import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = sys.argv[1:]
port_file = args.pop(0)
opts = dict(zip(args[::2], args[1::2]))
LOG, SUBJECTS, COUNTS = [], {}, {}
LOCK = threading.Lock()
SALE = json.dumps({"type": "record", "name": "SaleEvent", "namespace": "partner_incentives.v1",
                   "fields": [{"name": "event_id", "type": "string"}]})


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.path == "/__log":
            with LOCK:
                return self.reply(200, LOG)
        with LOCK:
            LOG.append({"method": method, "path": self.path, "body": body,
                        "auth": self.headers.get("Authorization"),
                        "accept": self.headers.get("Accept"),
                        "content_type": self.headers.get("Content-Type")})
            COUNTS[self.path] = COUNTS.get(self.path, 0) + 1
            n = COUNTS[self.path]
        if "--user" in opts:
            want = "Basic " + base64.b64encode(f"{opts['--user']}:{opts['--password']}".encode()).decode()
            if self.headers.get("Authorization") != want:
                return self.reply(401, {"error_code": 40101, "message": "Unauthorized"})
        p = self.path
        if method == "GET" and p == "/schemas/ids/7":
            return self.reply(200, {"schema": SALE})
        if method == "GET" and p == "/schemas/ids/8":
            return self.reply(200, {"schemaType": "PROTOBUF", "schema": "syntax = \"proto3\";"})
        if method == "GET" and p == "/schemas/ids/503":
            if n <= 2:
                return self.reply(503, {"error_code": 50301, "message": "try again"})
            return self.reply(200, {"schema": SALE})
        if method == "GET" and p.startswith("/schemas/ids/"):
            return self.reply(404, {"error_code": 40403, "message": "Schema not found"})
        if method == "POST" and p.startswith("/subjects/"):
            rest = p[len("/subjects/"):]
            schema = json.loads(body)["schema"]
            if rest.endswith("/versions"):
                subject = rest[: -len("/versions")]
                with LOCK:
                    SUBJECTS.setdefault(subject, {})
                    ids = SUBJECTS[subject]
                    ids.setdefault(schema, 20 + len(ids) + sum(len(v) for v in SUBJECTS.values()))
                    return self.reply(200, {"id": ids[schema]})
            with LOCK:
                found = SUBJECTS.get(rest, {}).get(schema)
            if found is None:
                return self.reply(404, {"error_code": 40401, "message": f"Subject '{rest}' not found."})
            return self.reply(200, {"subject": rest, "version": 1, "id": found, "schema": schema})
        return self.reply(404, {"error_code": 404, "message": "no such path"})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if "--cert" in opts:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(opts["--cert"], opts["--key"])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
