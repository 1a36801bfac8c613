#!/usr/bin/env python3
"""tcpgate.py - a plain TCP relay for tests that must hold an answer stream
open until an event: every accepted connection is relayed to UPSTREAM, but
once AFTER octets have come back from UPSTREAM on it, the rest waits until
the file GATE exists (polled every 20 ms, at most --max-wait seconds).

Usage: tcpgate.py --listen PORT --upstream PORT --gate FILE --after N
Prints "listening" once bound (tests wait for that line)."""
import argparse
import os
import selectors
import socket
import sys
import threading
import time


def relay(cli, up, gate, after, max_wait):
    sel = selectors.DefaultSelector()
    sel.register(cli, selectors.EVENT_READ)
    sel.register(up, selectors.EVENT_READ)
    back = 0
    try:
        while True:
            for key, _ in sel.select(timeout=1.0):
                s = key.fileobj
                data = s.recv(65536)
                if not data:
                    return
                if s is up:
                    if back < after <= back + len(data):
                        cut = after - back
                        cli.sendall(data[:cut])
                        data = data[cut:]
                        back = after
                        deadline = time.monotonic() + max_wait
                        while not os.path.exists(gate) and time.monotonic() < deadline:
                            time.sleep(0.02)
                    back += len(data)
                    cli.sendall(data)
                else:
                    up.sendall(data)
    except OSError:
        return
    finally:
        cli.close()
        up.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--gate", required=True)
    ap.add_argument("--after", type=int, required=True)
    ap.add_argument("--max-wait", type=float, default=120.0)
    a = ap.parse_args()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.listen))
    ls.listen(64)
    print("listening", flush=True)
    while True:
        cli, _ = ls.accept()
        up = socket.create_connection(("127.0.0.1", a.upstream))
        threading.Thread(target=relay, args=(cli, up, a.gate, a.after, a.max_wait),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
