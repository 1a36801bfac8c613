#!/usr/bin/env python3
"""rvudpflood.py - many UDP queries at once from many loopback addresses
and ports, for the hostile-review tests t90-t99 (issue 13), stdlib only,
loopback only.

  rvudpflood.py --port P --zone Z [--queries N] [--addrs A] [--types SOA,IXFR]
                [--timeout S] [--linger S]

Sends N queries (types in turn) from N sockets bound to 127.0.0.1 ..
127.0.0.A (ephemeral ports), all before reading any answer, then reads
until every query has an answer and --linger seconds passed with nothing
more, or --timeout seconds. Every datagram is matched to the socket it
arrived on. Prints:

  sent=N answered=N missing=N dup=N wrong_id=N rcodes=NOERROR:k,SERVFAIL:k tc=k

Exit 0 either way.
"""
import argparse
import ipaddress
import os
import random
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import TYPES, build_query  # noqa: E402

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          9: "NOTAUTH"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--addrs", type=int, default=16)
    ap.add_argument("--types", default="SOA,IXFR")
    ap.add_argument("--serial", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--linger", type=float, default=1.0)
    a = ap.parse_args()
    if not ipaddress.ip_address(a.host).is_loopback:
        sys.exit("rvudpflood: refusing non-loopback address %s" % a.host)
    types = [TYPES[t] for t in a.types.split(",")]
    socks, want = [], {}
    for i in range(a.queries):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.%d" % (1 + i % a.addrs), 0))
        s.setblocking(False)
        qid = random.randrange(1, 65535)
        t = types[i % len(types)]
        s.sendto(build_query(qid, a.zone, t, serial=a.serial, edns=True), (a.host, a.port))
        socks.append(s)
        want[s.fileno()] = qid
    got = {s.fileno(): [] for s in socks}
    end = time.monotonic() + a.timeout
    last = time.monotonic()
    while time.monotonic() < end:
        done = all(got[f] for f in got)
        if done and time.monotonic() - last >= a.linger:
            break
        r, _, _ = select.select(socks, [], [], 0.1)
        for s in r:
            try:
                m = s.recv(65535)
            except OSError:
                continue
            got[s.fileno()].append(m)
            last = time.monotonic()
    answered = sum(1 for f in got if len(got[f]) >= 1)
    missing = sum(1 for f in got if not got[f])
    dup = sum(1 for f in got if len(got[f]) > 1)
    wrong = sum(1 for f in got for m in got[f] if len(m) < 2 or struct.unpack("!H", m[:2])[0] != want[f])
    rc, tc = {}, 0
    for f in got:
        for m in got[f]:
            if len(m) >= 4:
                k = RCODES.get(m[3] & 15, str(m[3] & 15))
                rc[k] = rc.get(k, 0) + 1
                tc += (m[2] >> 1) & 1
    print("sent=%d answered=%d missing=%d dup=%d wrong_id=%d rcodes=%s tc=%d" % (
        a.queries, answered, missing, dup, wrong,
        ",".join("%s:%d" % kv for kv in sorted(rc.items())) or "-", tc), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
