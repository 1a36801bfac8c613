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
    K counts the sessions whose TCP connection the proxy has not closed:
    the kernel's state of each (TCP_INFO: ESTABLISHED, not CLOSE_WAIT), so
    a session the proxy closed just before opening this one is not counted
    although its thread has not read the EOF yet
  query N conn=C id=ID type=TYPE action=ACTION
  answer conn=C id=ID
  conn N closed (open=K)
--status FILE is written (atomically) once the socket listens.
"""
import argparse
import ipaddress
import os
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakeprimary import TYPES, Zone, answers, message, parse_query  # noqa: E402
from xottls import Sessions, listen, read_exactly, serve_threads, server_context  # noqa: E402

SESSIONS = Sessions()
say = SESSIONS.say
QUERIES = [0]                   # queries received over all sessions (under SESSIONS.lock)


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
    cid = SESSIONS.opened(t)
    wlock = threading.Lock()
    try:
        while True:
            n = struct.unpack("!H", read_exactly(t, 2))[0]
            q = parse_query(read_exactly(t, n))
            with SESSIONS.lock:
                QUERIES[0] += 1
                k = QUERIES[0]
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
    SESSIONS.closed(cid)
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
    ctx = server_context(a.cert, a.key)
    ls = listen(a.host, a.port, a.status, "listening %s#%d" % (a.host, a.port), say)
    try:
        serve_threads(ls, session, a, zone, ctx)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
