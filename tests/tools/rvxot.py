#!/usr/bin/env python3
"""rvxot.py - a scripted remote XoT primary (TLS 1.3, ALPN "dot") for the
hostile-review tests t90-t99 (issue 13), stdlib only. Loopback only.

It serves the zone of fakeprimary.py (--zone, SOA serial --serial) over TLS
with --cert/--key. What it does with the N-th query it receives (counted
over all sessions, from 1) is the N-th word of --script (comma-separated);
queries past the script get --default:

  normal  answer at once
  hang    never answer (the session stays open and is still read)
  close   close the session without answering
  dup     answer twice (the second copy 0.3 s later)
  lone    answer with one message holding the zone's SOA (for an IXFR:
          "up to date", RFC 1995)
  stall   send the length prefix and the first 20 octets of the answer
          (header with the right ID, part of the question), then nothing
          more on that session

One line per event on stdout (flushed), for the tests to wait on:
  listening 127.0.0.1#PORT
  conn N open (open=K max=M)
  query N conn=C id=ID type=TYPE action=ACTION
  answer conn=C id=ID
  conn N closed (open=K)
--status FILE is written (atomically) once the socket listens.
"""
import argparse
import ipaddress
import os
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakeprimary import TYPES, Zone, answers, message, parse_query  # noqa: E402

LOCK = threading.Lock()
STATE = {"n": 0, "open": 0, "max": 0, "q": 0}


def say(line):
    with LOCK:
        print(line, flush=True)


def read_exactly(t, n):
    buf = b""
    while len(buf) < n:
        part = t.recv(n - len(buf))
        if not part:
            raise EOFError
        buf += part
    return buf


def send_answer(a, zone, t, cid, q, wlock):
    with wlock:
        for m in answers(a, zone, q):
            t.sendall(struct.pack("!H", len(m)) + m)
    say("answer conn=%d id=%d" % (cid, q["id"]))


def dup_later(a, zone, t, cid, q, wlock):
    time.sleep(0.3)
    try:
        send_answer(a, zone, t, cid, q, wlock)
    except OSError:
        pass


def session(a, zone, ctx, sock):
    t = ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
    try:
        t.do_handshake()
    except (ssl.SSLError, OSError) as e:
        say("handshake failed: %s" % e)
        t.close()
        return
    with LOCK:
        STATE["n"] += 1
        STATE["open"] += 1
        STATE["max"] = max(STATE["max"], STATE["open"])
        cid, now, most = STATE["n"], STATE["open"], STATE["max"]
    say("conn %d open (open=%d max=%d)" % (cid, now, most))
    wlock = threading.Lock()
    try:
        while True:
            n = struct.unpack("!H", read_exactly(t, 2))[0]
            q = parse_query(read_exactly(t, n))
            with LOCK:
                STATE["q"] += 1
                k = STATE["q"]
            act = a.script[k - 1] if k <= len(a.script) else a.default
            say("query %d conn=%d id=%d type=%s action=%s" % (
                k, cid, q["id"], TYPES.get(q["type"], q["type"]), act))
            if act == "normal":
                send_answer(a, zone, t, cid, q, wlock)
            elif act == "dup":
                send_answer(a, zone, t, cid, q, wlock)
                threading.Thread(target=dup_later, args=(a, zone, t, cid, q, wlock),
                                 daemon=True).start()
            elif act == "lone":
                with wlock:
                    m = message(q, 0, [zone.soa_rr()])
                    t.sendall(struct.pack("!H", len(m)) + m)
                say("answer conn=%d id=%d" % (cid, q["id"]))
            elif act == "stall":
                m = answers(a, zone, q)[0]
                with wlock:
                    t.sendall(struct.pack("!H", len(m)) + m[:20])
                say("stall conn=%d id=%d" % (cid, q["id"]))
            elif act == "close":
                break
    except (EOFError, OSError, ValueError, IndexError, struct.error):
        pass
    with LOCK:
        STATE["open"] -= 1
        now = STATE["open"]
    say("conn %d closed (open=%d)" % (cid, now))
    try:
        t.close()
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--script", default="")
    ap.add_argument("--default", default="normal", choices=["normal", "hang", "close", "dup", "lone", "stall"])
    ap.add_argument("--zone", default="example.test")
    ap.add_argument("--serial", type=int, default=100)
    ap.add_argument("--records", type=int, default=20)
    ap.add_argument("--per-msg", type=int, default=10)
    ap.add_argument("--status", help="file written once listening")
    a = ap.parse_args()
    a.script = [w for w in a.script.split(",") if w]
    for w in a.script:
        if w not in ("normal", "hang", "close", "dup", "lone", "stall"):
            sys.exit("rvxot: unknown action %s" % w)
    a.mode, a.gap, a.delay = "normal", 0, 0
    if not ipaddress.ip_address(a.host).is_loopback:
        sys.exit("rvxot: refusing non-loopback address %s" % a.host)
    zone = Zone(a)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["dot"])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(256)
    say("listening %s#%d" % (a.host, a.port))
    if a.status:
        with open(a.status + ".tmp", "w") as f:
            f.write("listening\n")
        os.rename(a.status + ".tmp", a.status)
    try:
        while True:
            sock, _ = ls.accept()
            threading.Thread(target=session, args=(a, zone, ctx, sock), daemon=True).start()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
