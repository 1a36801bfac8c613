#!/usr/bin/env python3
"""fakexot.py - a misbehaving remote XoT primary (TLS 1.3, ALPN "dot") for
the outbound side's failover tests (issue 13), stdlib only. Loopback only.

It serves the zones of fakeprimary.py (--zone, default lone.test) over TLS
with --cert/--key. Modes (after the handshake, for each query):

  normal     answer at once
  slow       answer --delay seconds after the query arrived
  hang       read queries, never answer (the session stays open)
  garbage    answer with a 5-octet frame "hello" (no DNS header)
  longframe  answer with a frame length of 1000 followed by 20 octets, then
             nothing more (a frame longer than what follows)
  longframe-id  the same, but the 20 octets start with a header carrying
             the query's ID (the frame looks like the start of its answer)
  shorthdr   a frame length of 1000, then only 8 octets of the header (the
             query's ID first), then nothing more
  close      close the session (TCP FIN, no close_notify) without answering

--client-ca FILE requires a client certificate signed by FILE: a client
whose certificate that CA did not sign is refused after its side of the
TLS 1.3 handshake (the alert shows on its first read).

One line per event on stdout (flushed), for the tests to wait on:
  listening 127.0.0.1#PORT mode MODE
  conn N open (open=K max=M)        K sessions open now, M the most at once
                                    (K: sessions the proxy has not closed, by the
                                    kernel's TCP state, not by threads that have
                                    yet to read their EOF)
  query conn=N id=ID name=NAME type=TYPE
  answer conn=N id=ID | garbage conn=N | longframe conn=N | close conn=N
  conn N closed (open=K)
  handshake failed: REASON
--status FILE is written (atomically) once the socket listens.
"""
import argparse
import ipaddress
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakeprimary import TYPES, Zone, answers, parse_query  # noqa: E402
from xottls import Sessions, listen, read_exactly, serve_threads, server_context  # noqa: E402

SESSIONS = Sessions()
say = SESSIONS.say


def drain(fd):
    """Reads what the client already sent, so close() sends a FIN after our
    alert rather than a reset that could overtake it."""
    try:
        while select.select([fd], [], [], 0.2)[0] and os.read(fd, 4096):
            pass
    except OSError:
        pass


def misbehave(a, t, cid, qid):
    """Answers a query the way the mode says; True if the session must end."""
    if a.mode == "garbage":
        t.sendall(b"\x00\x05hello")
        say("garbage conn=%d" % cid)
    elif a.mode == "longframe":
        t.sendall(struct.pack("!H", 1000) + bytes(20))
        say("longframe conn=%d" % cid)
    elif a.mode == "longframe-id":
        t.sendall(struct.pack("!H", 1000) + struct.pack("!HBBHHHH", qid, 0x84, 0, 1, 0, 0, 0) + bytes(8))
        say("longframe-id conn=%d" % cid)
    elif a.mode == "shorthdr":
        t.sendall(struct.pack("!H", 1000) + struct.pack("!HBBHH", qid, 0x84, 0, 1, 0))
        say("shorthdr conn=%d" % cid)
    elif a.mode == "close":
        say("close conn=%d" % cid)
        return True
    return False


def answer_later(a, zone, t, cid, q, wlock):
    time.sleep(a.delay)
    answer(a, zone, t, cid, q, wlock)


def answer(a, zone, t, cid, q, wlock):
    try:
        with wlock:
            for m in answers(a, zone, q):
                t.sendall(struct.pack("!H", len(m)) + m)
    except OSError:
        return
    say("answer conn=%d id=%d" % (cid, q["id"]))


def session(a, zone, ctx, sock):
    t = ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
    try:
        t.do_handshake()
    except (ssl.SSLError, OSError) as e:
        say("handshake failed: %s" % e)
        drain(t.fileno())
        t.close()
        return
    cid = SESSIONS.opened(t)
    wlock = threading.Lock()
    try:
        while True:
            n = struct.unpack("!H", read_exactly(t, 2))[0]
            q = parse_query(read_exactly(t, n))
            say("query conn=%d id=%d name=%s type=%s" % (
                cid, q["id"], q["name"] or "-", TYPES.get(q["type"], q["type"])))
            if a.mode == "normal":
                answer(a, zone, t, cid, q, wlock)
            elif a.mode == "slow":
                threading.Thread(target=answer_later, args=(a, zone, t, cid, q, wlock),
                                 daemon=True).start()
            elif a.mode != "hang" and misbehave(a, t, cid, q["id"]):
                break
    except (EOFError, OSError, ValueError, IndexError, struct.error):
        pass
    SESSIONS.closed(cid)
    try:
        if a.mode == "close":
            t.shutdown(socket.SHUT_RDWR)        # FIN, no close_notify
        t.close()
    except OSError:
        pass


def serve(a):
    zone = Zone(a)
    ctx = server_context(a.cert, a.key, a.client_ca)
    ls = listen(a.host, a.port, a.status, "listening %s#%d mode %s" % (a.host, a.port, a.mode), say)
    serve_threads(ls, session, a, zone, ctx)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", required=True,
                    choices=["normal", "slow", "hang", "garbage", "longframe", "longframe-id", "shorthdr", "close"])
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca", help="require a client certificate signed by this CA")
    ap.add_argument("--zone", default="lone.test")
    ap.add_argument("--serial", type=int, default=100)
    ap.add_argument("--records", type=int, default=300)
    ap.add_argument("--per-msg", type=int, default=100)
    ap.add_argument("--delay", type=float, default=1.0, help="slow: seconds before each answer")
    ap.add_argument("--status", help="file written once listening")
    a = ap.parse_args()
    a.gap = 0
    if not ipaddress.ip_address(a.host).is_loopback:
        sys.exit("fakexot: refusing non-loopback address %s" % a.host)
    try:
        serve(a)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
