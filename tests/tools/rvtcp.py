#!/usr/bin/env python3
"""rvtcp.py - one plaintext TCP connection to the outbound side that sends
SOA queries one after another, for the hostile-review tests t90-t99
(issue 13), stdlib only, loopback only.

  rvtcp.py --port P --zone Z [--first-timeout S] [--until-noerror S]
           [--pace S] [--hold-file F]

Sends one SOA query (--type IXFR --serial S: an IXFR; an answer of one
message is taken as the whole answer) and waits for its answer (up to --first-timeout). With
--until-noerror S it then keeps sending SOA queries on the SAME connection,
one every --pace seconds, until one is answered NOERROR or S seconds have
passed. With --hold-file F it waits (bounded, 60 s) until F exists before
the second query. One line per answer (flushed):

  answer N id=ID rcode=R ede=E secs=T

and at the end "result noerror" or "result none" (exit 0), or
"error WHAT" (exit 1) on a timeout or a closed connection.
"""
import argparse
import ipaddress
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import build_query  # noqa: E402

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          9: "NOTAUTH"}


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        part = s.recv(n - len(buf))
        if not part:
            raise EOFError("connection closed")
        buf += part
    return buf


def ede_of(m):
    """The first EDE INFO-CODE in the OPT of answer m, or '-'."""
    i = m.find(b"\x00\x0f")
    while i >= 0:
        if i + 6 <= len(m) and struct.unpack("!H", m[i + 2:i + 4])[0] >= 2:
            return str(struct.unpack("!H", m[i + 4:i + 6])[0])
        i = m.find(b"\x00\x0f", i + 1)
    return "-"


QTYPE = {"SOA": 6, "IXFR": 251}
QARGS = {"type": "SOA", "serial": 1}


def ask(s, zone, n, timeout):
    qid = random.randrange(1, 65535)
    msg = build_query(qid, zone, QTYPE[QARGS["type"]], serial=QARGS["serial"], edns=True)
    s.settimeout(timeout)
    t0 = time.monotonic()
    s.sendall(struct.pack("!H", len(msg)) + msg)
    ln = struct.unpack("!H", recv_exact(s, 2))[0]
    m = recv_exact(s, ln)
    rid = struct.unpack("!H", m[:2])[0]
    rcode = RCODES.get(m[3] & 15, str(m[3] & 15))
    print("answer %d id=%d%s rcode=%s ede=%s secs=%.2f" % (
        n, rid, "" if rid == qid else " (WRONG ID, asked %d)" % qid, rcode, ede_of(m),
        time.monotonic() - t0), flush=True)
    return rcode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--first-timeout", type=float, default=30)
    ap.add_argument("--until-noerror", type=float, default=0)
    ap.add_argument("--pace", type=float, default=0.5)
    ap.add_argument("--hold-file")
    ap.add_argument("--type", default="SOA", choices=["SOA", "IXFR"],
                    help="the first query's type (later ones are SOA)")
    ap.add_argument("--serial", type=int, default=1, help="IXFR: the client's serial")
    a = ap.parse_args()
    QARGS["type"], QARGS["serial"] = a.type, a.serial
    if not ipaddress.ip_address(a.host).is_loopback:
        sys.exit("rvtcp: refusing non-loopback address %s" % a.host)
    try:
        s = socket.create_connection((a.host, a.port), timeout=10)
        rc = ask(s, a.zone, 1, a.first_timeout)
        QARGS["type"] = "SOA"
        if a.hold_file:
            end = time.monotonic() + 60
            while not os.path.exists(a.hold_file) and time.monotonic() < end:
                time.sleep(0.1)
        n = 1
        end = time.monotonic() + a.until_noerror
        while rc != "NOERROR" and time.monotonic() < end:
            time.sleep(a.pace)
            n += 1
            rc = ask(s, a.zone, n, 30)
        print("result %s" % ("noerror" if rc == "NOERROR" else "none"), flush=True)
    except (OSError, EOFError) as e:
        print("error %s" % e, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
