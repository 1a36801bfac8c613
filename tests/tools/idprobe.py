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
import socket
import ssl
import struct
import sys
import time

TYPES = {"A": 1, "SOA": 6, "IXFR": 251, "AXFR": 252}
T0 = time.monotonic()


def name_wire(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def build(zone, spec):
    parts = spec.split("/")
    qtype, qid = TYPES[parts[0]], int(parts[1])
    serial = None
    for p in parts[2:]:
        if p.startswith("serial="):
            serial = int(p[7:])
    q = name_wire(zone) + struct.pack("!HH", qtype, 1)
    ns = b""
    if qtype == 251:
        rdata = b"\0\0" + struct.pack("!IIIII", serial or 0, 0, 0, 0, 0)
        ns = name_wire(zone) + struct.pack("!HHIH", 6, 1, 0, len(rdata)) + rdata
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
    hdr = struct.pack("!HHHHHH", qid, 0, 1, 0, 1 if ns else 0, 1)
    return qid, qtype, hdr + q + ns + opt


def skip_name(m, p):
    while True:
        b = m[p]
        if b >= 0xC0:
            return p + 2
        if b == 0:
            return p + 1
        p += b + 1


def parse(m):
    """(id, rcode, ancount, [soa serials], ede)"""
    qid, _, fl2, qd, an, ns, ar = struct.unpack("!HBBHHHH", m[:12])
    p = 12
    for _ in range(qd):
        p = skip_name(m, p) + 4
    soas, ede = [], None
    for i in range(an + ns + ar):
        p = skip_name(m, p)
        t, _, _, rdlen = struct.unpack("!HHIH", m[p:p + 10])
        p += 10
        if t == 6 and i < an:
            r = skip_name(m, skip_name(m, p))
            soas.append(struct.unpack("!I", m[r:r + 4])[0])
        if t == 41:
            o = p
            while o + 4 <= p + rdlen:
                code, olen = struct.unpack("!HH", m[o:o + 4])
                if code == 15 and olen >= 2:
                    ede = struct.unpack("!H", m[o + 4:o + 6])[0]
                o += 4 + olen
        p += rdlen
    return qid, fl2 & 15, an, soas, ede


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
        ctx = ssl.create_default_context(cafile=a.ca)
        ctx.set_alpn_protocols(["dot"])
        s = ctx.wrap_socket(raw, server_hostname="xot.test")
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
