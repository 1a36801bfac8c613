#!/usr/bin/env python3
"""plaindns.py - a plaintext DNS client for the outbound tests (t40-t49),
stdlib only, loopback only. It plays the local legacy secondary in the ways
dig and kdig cannot:

  udp ZONE TYPE   one query over UDP; TYPE may be AXFR or IXFR (dig always
                  sends those over TCP). --bufsize N adds an OPT with that
                  UDP size (none: no EDNS, so 512 applies); --serial S is the
                  IXFR's authority SOA serial. Prints one line:
                    rcode=R tc=0|1 qd=N an=N ns=N ar=N size=BYTES id_ok=0|1
                    question_ok=0|1 soa_serials=S,S ede=CODE|-
  tcp ZONE TYPE   one query over TCP, answers read frame by frame until the
                  transfer ends (the closing SOA of an AXFR, or a non-zero
                  RCODE), or --close-after BYTES were read: then, if
                  --hold-file F is given, it prints "holding" and waits
                  (reading nothing) until F exists, and closes the socket
                  (--rst: with a reset). --rcvbuf sets SO_RCVBUF before
                  connecting (so that kernel buffers do not absorb a whole
                  zone while it holds). Prints "complete messages=M
                  bytes=B rcode=R" or "closed early after B bytes".

Exit status 0 when the exchange went as described (whatever the answer),
1 on a network error or timeout.
"""
import argparse
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnswire  # noqa: E402
from dnswire import TYPES, name_wire, parse_answer  # noqa: E402


def build_query(qid, zone, qtype, serial, bufsize):
    """(query, its question section); bufsize None: no OPT."""
    q = dnswire.build_query(qid, zone, qtype, serial, edns=bufsize is not None, edns_size=bufsize or 0)
    return q, name_wire(zone) + struct.pack("!HH", qtype, 1)


def walk(m):
    """(SOA serials in the answer section, EDE codes in the OPT)."""
    r = parse_answer(m)
    return r["soas"], r["ede"]


def cmd_udp(a):
    qid = random.randrange(65536)
    qtype = TYPES.get(a.type.upper()) or int(a.type)
    q, question = build_query(qid, a.zone, qtype, a.serial, a.bufsize)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    s.sendto(q, ("127.0.0.1", a.port))
    try:
        m, _ = s.recvfrom(65535)
    except socket.timeout:
        print("timeout")
        return 1
    flags, qd, an, ns, ar = struct.unpack("!HHHHH", m[2:12])
    serials, ede = walk(m)
    print("rcode=%d tc=%d qd=%d an=%d ns=%d ar=%d size=%d id_ok=%d question_ok=%d soa_serials=%s ede=%s" % (
        flags & 15, (flags >> 9) & 1, qd, an, ns, ar, len(m),
        int(m[0:2] == q[0:2]), int(m[12:12 + len(question)].lower() == question.lower()),
        ",".join(str(x) for x in serials) or "-", ",".join(str(x) for x in ede) or "-"))
    return 0


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def cmd_tcp(a):
    qid = random.randrange(65536)
    qtype = TYPES.get(a.type.upper()) or int(a.type)
    q, _ = build_query(qid, a.zone, qtype, a.serial, a.bufsize)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if a.rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)   # see xottls.connect_tls
    s.settimeout(a.timeout)
    s.connect(("127.0.0.1", a.port))
    s.sendall(struct.pack("!H", len(q)) + q)
    print("sent", flush=True)
    got = 0
    msgs = 0
    soas = 0
    rcode = 0
    first_serial = None
    while True:
        if a.close_after and got >= a.close_after:
            if a.hold_file:
                print("holding after %d bytes" % got, flush=True)
                while not os.path.exists(a.hold_file):
                    time.sleep(0.02)
            if a.rst:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            print("closed early after %d bytes" % got, flush=True)
            return 0
        hdr = recv_exact(s, 2)
        if hdr is None:
            print("connection closed by the server after %d bytes, %d messages" % (got, msgs))
            return 1
        (n,) = struct.unpack("!H", hdr)
        m = recv_exact(s, n)
        if m is None:
            print("connection closed by the server mid-message after %d bytes" % got)
            return 1
        got += 2 + n
        msgs += 1
        rcode = m[3] & 15
        serials, _ = walk(m)
        if first_serial is None and serials:
            first_serial = serials[0]
        soas += len(serials)
        if rcode != 0 or qtype not in (TYPES["AXFR"], TYPES["IXFR"]):
            break
        if qtype == TYPES["AXFR"] and soas >= 2:
            break
        if qtype == TYPES["IXFR"]:
            if msgs == 1 and soas == 1 and len(serials) == 1 and struct.unpack("!H", m[6:8])[0] == 1:
                break       # a lone SOA (client current); a condensed answer would not end here
            if soas >= 2 and serials and serials[-1] == first_serial:
                break
    s.close()
    print("complete messages=%d bytes=%d rcode=%d" % (msgs, got, rcode))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["udp", "tcp"])
    ap.add_argument("zone")
    ap.add_argument("type")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bufsize", type=int, default=None)
    ap.add_argument("--serial", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=15)
    ap.add_argument("--close-after", type=int, default=0)
    ap.add_argument("--hold-file")
    ap.add_argument("--rst", action="store_true")
    ap.add_argument("--rcvbuf", type=int, default=0)
    a = ap.parse_args()
    try:
        return cmd_udp(a) if a.mode == "udp" else cmd_tcp(a)
    except (OSError, socket.timeout) as e:
        print("error: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
