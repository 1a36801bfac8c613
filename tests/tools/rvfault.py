#!/usr/bin/env python3
"""rvfault.py - a remote XoT primary that fails at one moment of each
session (hostile review of issue 14: endpoint states), stdlib only.
Loopback only. Modes:

  hs-close   read the ClientHello, then close (FIN) during the handshake
  hs-rst     read the ClientHello, then reset (RST) during the handshake
  hs-hang    read the ClientHello, then nothing (the handshake never ends)
  post-close complete the TLS 1.3 handshake, read the query, close without
             answering (FIN, no close_notify)
  mid-rst    complete the handshake, read the query, send the length and
             the first half of an answer (right ID), then reset (RST)

One line per event on stdout (flushed): "listening 127.0.0.1#PORT mode M",
"conn N MODE-EVENT". --status FILE is written once listening.
"""
import argparse
import os
import socket
import ssl
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import question_of  # noqa: E402,F401


def say(*a):
    print(*a, flush=True)


def rst(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def read_frame(t):
    hdr = b""
    while len(hdr) < 2:
        d = t.recv(2 - len(hdr))
        if not d:
            return None
        hdr += d
    n = struct.unpack("!H", hdr)[0]
    body = b""
    while len(body) < n:
        d = t.recv(n - len(body))
        if not d:
            return None
        body += d
    return body


def serve(c, n, a, ctx):
    try:
        c.settimeout(30)
        if a.mode == "hs-hang":
            c.recv(4096)
            say(f"conn {n} hs-hang")
            c.settimeout(None)
            while c.recv(4096):
                pass
            say(f"conn {n} closed")
            return
        if a.mode in ("hs-close", "hs-rst"):
            c.recv(4096)                    # the ClientHello
            say(f"conn {n} {a.mode}")
            if a.mode == "hs-rst":
                rst(c)
            else:
                c.close()
            return
        t = ctx.wrap_socket(c, server_side=True)
        q = read_frame(t)
        if q is None:
            say(f"conn {n} eof")
            t.close()
            return
        say(f"conn {n} query id={struct.unpack('!H', q[:2])[0]}")
        if a.mode == "post-close":
            t.close()                       # FIN after close_notify? no: raw close below
            say(f"conn {n} post-close")
            return
        # mid-rst: the length of a 200-octet answer, its header (QR, the ID), 40 octets
        ans = q[:2] + b"\x84\x00" + b"\x00\x01\x00\x01\x00\x00\x00\x00" + b"\x00" * 28
        t.sendall(struct.pack("!H", 200) + ans)
        say(f"conn {n} mid-rst")
        rst(t)
    except Exception as e:  # noqa: BLE001
        say(f"conn {n} error {e!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", required=True, choices=["hs-close", "hs-rst", "hs-hang", "post-close", "mid-rst"])
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--status")
    a = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["dot"])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(64)
    say(f"listening 127.0.0.1#{a.port} mode {a.mode}")
    if a.status:
        with open(a.status + ".tmp", "w") as f:
            f.write("ok\n")
        os.rename(a.status + ".tmp", a.status)
    n = 0
    while True:
        c, _ = ls.accept()
        n += 1
        threading.Thread(target=serve, args=(c, n, a, ctx), daemon=True).start()


if __name__ == "__main__":
    main()
