#!/usr/bin/env python3
"""xotclient.py - a minimal XoT (RFC 9103) test client, stdlib only.

Sends DNS queries over TLS 1.3 with ALPN "dot" and reads length-prefixed
answers until every query's answer stream is complete (AXFR: second SOA;
IXFR: closing SOA or lone up-to-date SOA; others: one message). Used by the
integration tests for what kdig cannot do: pipelining several queries,
dribbling a query one byte per TLS record, stalling the reader.

Output (stdout), one line per query: "ID TYPE RCODE MESSAGES SOAS DONE",
then "digest SHA256" over all answer bytes in arrival order per query.
Exit 0 if every stream completed, 3 if the connection ended first.
"""
import argparse
import hashlib
import socket
import ssl
import struct
import sys
import time

from dnswire import TYPES, answer_soas, build_query, frame

class Stream:
    def __init__(self, qid, qtype, serial):
        self.qid, self.qtype, self.serial = qid, qtype, serial
        self.msgs, self.soas, self.rcode, self.done = 0, [], 0, False
        self.hash = hashlib.sha256()

    def feed(self, m):
        self.msgs += 1
        self.hash.update(m)
        self.rcode = m[3] & 0x0F
        serials, an = answer_soas(m)
        self.soas += serials
        if self.rcode or self.qtype not in (251, 252):
            self.done = True
        elif self.qtype == 252 and len(self.soas) >= 2:
            self.done = True
        elif self.qtype == 251:
            # IXFR-02: a lone SOA in the first message, not newer than the
            # client's serial (RFC 1982), means "up to date".
            if self.msgs == 1 and len(self.soas) == 1 and an == 1 and self.serial is not None \
                    and ((self.serial - self.soas[0]) & 0xFFFFFFFF) < 0x80000000:
                self.done = True
            # Otherwise the stream closes at an even-numbered SOA repeating the first.
            for i in range(1, len(self.soas), 2):
                if self.soas[i] == self.soas[0]:
                    self.done = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--ca")
    ap.add_argument("--hostname", default="xot.test")
    ap.add_argument("--source", help="local address to bind")
    ap.add_argument("--dribble", action="store_true", help="send queries one byte per write")
    ap.add_argument("--stall", type=float, default=0, help="after the first answer bytes, stop reading this long")
    ap.add_argument("--close-after", type=int, default=0, help="close after this many answer bytes")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--edns", action="store_true")
    ap.add_argument("query", nargs="+", help="NAME/TYPE[/SERIAL] e.g. example.test/AXFR")
    a = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["dot"])
    if a.ca:
        ctx.load_verify_locations(a.ca)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((a.host, a.port), timeout=a.timeout,
                                   source_address=(a.source, 0) if a.source else None)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = ctx.wrap_socket(raw, server_hostname=a.hostname)
    if s.selected_alpn_protocol() != "dot":
        print("ALPN dot not selected", file=sys.stderr)
        return 4

    streams = {}
    wire = b""
    for i, spec in enumerate(a.query):
        parts = spec.split("/")
        qtype = TYPES.get(parts[1].upper(), None) or int(parts[1])
        serial = int(parts[2]) if len(parts) > 2 else None
        qid = 0x1000 + i
        streams[qid] = Stream(qid, qtype, serial)
        q = build_query(qid, parts[0], qtype, serial, a.edns)
        wire += frame(q)
    if a.dribble:
        for b in wire:
            s.sendall(bytes([b]))
            time.sleep(0.002)
    else:
        s.sendall(wire)

    buf = b""
    total = 0
    stalled = False
    deadline = time.time() + a.timeout
    try:
        while not all(st.done for st in streams.values()):
            if time.time() > deadline:
                print("timeout", file=sys.stderr)
                return 5
            chunk = s.recv(65536)
            if not chunk:
                break
            total += len(chunk)
            if a.close_after and total >= a.close_after:
                s.close()
                print("closed early after %d bytes" % total)
                return 0
            if a.stall and not stalled:
                stalled = True
                time.sleep(a.stall)
            buf += chunk
            while len(buf) >= 2:
                n = struct.unpack("!H", buf[:2])[0]
                if len(buf) < 2 + n:
                    break
                m, buf = buf[2:2 + n], buf[2 + n:]
                qid = struct.unpack("!H", m[:2])[0]
                if qid in streams:
                    streams[qid].feed(m)
    except (ssl.SSLError, ConnectionError, socket.timeout) as e:
        print("connection error: %s" % e, file=sys.stderr)
    rc = 0
    for st in streams.values():
        print("%d %d %d %d %d %s" % (st.qid, st.qtype, st.rcode, st.msgs, len(st.soas),
                                    "done" if st.done else "incomplete"))
        print("digest %d %s" % (st.qid, st.hash.hexdigest()))
        if not st.done:
            rc = 3
    return rc


if __name__ == "__main__":
    sys.exit(main())
