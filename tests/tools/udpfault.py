#!/usr/bin/env python3
"""udpfault.py - fault injection for the outbound side's UDP path (issue 13,
t79), stdlib only, loopback only.

  primary --port P --cert C --key K --mode M [--status F]
      A misbehaving XoT primary (TLS 1.3, ALPN "dot"). For every query:
        cut   send the 2-octet length of a 300-octet answer and its first 40
              octets (header and part of the question), then close the
              connection: the answer breaks mid-message
        hang  read queries, never answer (the connection stays open)
      One line per event on stdout: "listening", "query id=ID",
      "cut id=ID", "closed".

  ask --addr A --port P --zone Z --type T [--bufsize N] [--timeout S]
      [--linger S] [--id ID]
      One query over UDP from an ephemeral port; prints one line per
      datagram received:
        dgram src=ADDR id_ok=0|1 rcode=R tc=0|1 an=N ede=CODE|-
      until --linger seconds after the first one passed with nothing more,
      or --timeout seconds with none; then "count=N". Exit 0 either way.
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

TYPES = {"SOA": 6, "A": 1, "IXFR": 251, "AXFR": 252}


def say(line):
    print(line, flush=True)


def name_wire(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def recv_exact(c, n):
    b = b""
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk:
            raise ConnectionError("closed")
        b += chunk
    return b


def serve_conn(c, mode):
    try:
        while True:
            n = struct.unpack("!H", recv_exact(c, 2))[0]
            q = recv_exact(c, n)
            qid = struct.unpack("!H", q[:2])[0]
            say("query id=%d" % qid)
            if mode == "hang":
                continue
            # cut: header (QR, AA) + the query's question, announced as 300
            # octets, of which only 40 are sent before the close.
            ans = q[:2] + bytes([0x84, 0]) + q[4:6] + b"\0\0\0\0\0\0" + q[12:]
            ans = (ans + b"\0" * 300)[:300]
            c.sendall(struct.pack("!H", 300) + ans[:40])
            say("cut id=%d" % qid)
            break
    except (ConnectionError, OSError, ssl.SSLError):
        pass
    try:
        c.close()
    except OSError:
        pass
    say("closed")


def cmd_primary(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["dot"])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(64)
    say("listening 127.0.0.1#%d mode %s" % (a.port, a.mode))
    if a.status:
        with open(a.status + ".tmp", "w") as f:
            f.write("listening\n")
        os.rename(a.status + ".tmp", a.status)
    while True:
        raw, _ = ls.accept()
        try:
            c = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            say("handshake failed: %s" % e)
            raw.close()
            continue
        threading.Thread(target=serve_conn, args=(c, a.mode), daemon=True).start()


def walk_answer(m):
    """(rcode, tc, an, ede) of a response."""
    rcode = m[3] & 0x0F
    tc = (m[2] >> 1) & 1
    qd, an, ns, ar = struct.unpack("!HHHH", m[4:12])
    ede = "-"
    p = 12

    def skip_name(p):
        while True:
            b = m[p]
            if b & 0xC0 == 0xC0:
                return p + 2
            if b == 0:
                return p + 1
            p += b + 1
    try:
        for _ in range(qd):
            p = skip_name(p) + 4
        for i in range(an + ns + ar):
            p = skip_name(p)
            t, _, _, rdlen = struct.unpack("!HHIH", m[p:p + 10])
            rd = m[p + 10:p + 10 + rdlen]
            if t == 41 and i >= an + ns:
                o = 0
                while o + 4 <= len(rd):
                    code, olen = struct.unpack("!HH", rd[o:o + 4])
                    if code == 15 and olen >= 2:
                        ede = str(struct.unpack("!H", rd[o + 4:o + 6])[0])
                    o += 4 + olen
            p += 10 + rdlen
    except (IndexError, struct.error):
        ede = "malformed"
    return rcode, tc, an, ede


def cmd_ask(a):
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(("::1" if fam == socket.AF_INET6 else "127.0.0.1", 0))
    qid = a.id
    ar = b""
    if a.bufsize:
        ar = b"\0" + struct.pack("!HHIH", 41, a.bufsize, 0, 0)
    ns = b""
    if a.type == "IXFR":
        rdata = b"\0\0" + struct.pack("!IIIII", a.serial, 0, 0, 0, 0)
        ns = name_wire(a.zone) + struct.pack("!HHIH", 6, 1, 0, len(rdata)) + rdata
    q = (struct.pack("!HHHHHH", qid, 0, 1, 0, 1 if ns else 0, 1 if ar else 0) +
         name_wire(a.zone) + struct.pack("!HH", TYPES[a.type], 1) + ns + ar)
    s.sendto(q, (a.addr, a.port))
    count = 0
    deadline = time.monotonic() + a.timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            m, src = s.recvfrom(65535)
        except socket.timeout:
            break
        count += 1
        rcode, tc, an, ede = walk_answer(m)
        say("dgram src=%s id_ok=%d rcode=%d tc=%d an=%d size=%d ede=%s" % (
            src[0], int(struct.unpack("!H", m[:2])[0] == qid), rcode, tc, an, len(m), ede))
        deadline = time.monotonic() + a.linger
    say("count=%d" % count)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("primary")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--mode", choices=["cut", "hang"], required=True)
    p.add_argument("--status")
    q = sub.add_parser("ask")
    q.add_argument("--addr", default="127.0.0.1")
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--zone", required=True)
    q.add_argument("--type", choices=sorted(TYPES), default="SOA")
    q.add_argument("--serial", type=int, default=0)
    q.add_argument("--bufsize", type=int, default=0)
    q.add_argument("--timeout", type=float, default=10)
    q.add_argument("--linger", type=float, default=1)
    q.add_argument("--id", type=int, default=0x3a3a)
    a = ap.parse_args()
    if a.cmd == "ask" and not ipaddress.ip_address(a.addr).is_loopback:
        sys.exit("udpfault: refusing non-loopback address %s" % a.addr)
    if a.cmd == "primary":
        return cmd_primary(a)
    return cmd_ask(a)


if __name__ == "__main__":
    sys.exit(main())
