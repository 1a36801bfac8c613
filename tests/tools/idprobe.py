#!/usr/bin/env python3
"""idprobe.py - a DNS client that reports every message it receives, with
its ID, so that a test can assert that each requester got only answers to
its own queries (issue 13, item 1). Stdlib only, loopback only.

  udp --port P ZONE TYPE/ID[/serial=S]
        one datagram; prints every datagram that arrives within --linger
        seconds after the first (none: "none").
  tcp --port P [--tls --ca CA] QUERY...
        QUERY is ZONE/TYPE/ID[/serial=S]; the queries go one at a time on
        one connection: each is sent, then messages are read until one
        with its ID arrives (SOA, or any non-zero RCODE: one message; IXFR:
        a lone SOA or a closing SOA; AXFR: the second SOA); then --linger
        seconds more are read after the last one.
Each message prints one line:
  msg q=QID id=ID rcode=R an=N soa=SERIAL|- ede=CODE|- t=SECONDS
where q is the ID of the query being waited for, t the time since start.
"closed" or "timeout" end the output when the peer closed or the time ran
out. Exit 0 unless a network error happened before any output.
"""
import argparse
import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import TYPES, build_query, parse_answer  # noqa: E402
from xottls import client_context  # noqa: E402

T0 = time.monotonic()


def build(zone, spec):
    parts = spec.split("/")
    qtype, qid = TYPES[parts[0]], int(parts[1])
    serial = None
    for p in parts[2:]:
        if p.startswith("serial="):
            serial = int(p[7:])
    return qid, qtype, build_query(qid, zone, qtype, serial, edns=True)


def parse(m):
    """(id, rcode, ancount, [soa serials], ede)"""
    r = parse_answer(m)
    return r["id"], r["hdr_rcode"], r["an"], r["soas"], r["ede"][-1] if r["ede"] else None


def show(q, m):
    qid, rcode, an, soas, ede = parse(m)
    print("msg q=%d id=%d rcode=%d an=%d soa=%s ede=%s t=%.2f" % (
        q, qid, rcode, an, ",".join(map(str, soas)) or "-", "-" if ede is None else ede,
        time.monotonic() - T0), flush=True)
    return qid, rcode, soas


def udp(a):
    qid, _, msg = build(a.zone, a.queries[0])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(msg, ("127.0.0.1", a.port))
    deadline, got = time.monotonic() + a.timeout, False
    while True:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            m = s.recv(65535)
        except socket.timeout:
            print("none" if not got else "end", flush=True)
            return 0
        show(qid, m)
        if not got:
            got = True
            deadline = time.monotonic() + a.linger


def read_exact(s, n, deadline):
    out = b""
    while len(out) < n:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        b = s.recv(n - len(out))
        if not b:
            raise EOFError
        out += b
    return out


def ended(qtype, qid, mid, rcode, soas, seen):
    if mid != qid:
        return False
    seen.extend(soas)
    if rcode != 0 or qtype == 6:
        return True
    if qtype == 251 and len(seen) == 1 and len(soas) == 1:
        return True
    return len(seen) >= 2 and seen[-1] == seen[0]


def tcp(a):
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    s = raw
    if a.tls:
        s = client_context(a.ca).wrap_socket(raw, server_hostname="xot.test")
    deadline = time.monotonic() + a.timeout
    try:
        for spec in a.queries:
            qid, qtype, msg = build(a.zone, spec)
            s.sendall(struct.pack("!H", len(msg)) + msg)
            seen = []
            while True:
                n = struct.unpack("!H", read_exact(s, 2, deadline))[0]
                mid, rcode, soas = show(qid, read_exact(s, n, deadline))
                if ended(qtype, qid, mid, rcode, soas, seen):
                    break
        linger = time.monotonic() + a.linger
        while True:
            n = struct.unpack("!H", read_exact(s, 2, linger))[0]
            show(-1, read_exact(s, n, linger))
    except (socket.timeout, TimeoutError):
        print("timeout", flush=True)
    except (EOFError, ConnectionError, ssl.SSLError):
        print("closed", flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["udp", "tcp"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--ca")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--linger", type=float, default=0.5)
    ap.add_argument("zone")
    ap.add_argument("queries", nargs="+")
    a = ap.parse_args()
    return udp(a) if a.mode == "udp" else tcp(a)


if __name__ == "__main__":
    sys.exit(main())
