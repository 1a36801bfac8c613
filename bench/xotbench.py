#!/usr/bin/env python3
"""xotbench.py - stdlib-only load and latency clients for `make bench`.

Subcommands (each prints one JSON object on stdout unless noted):

  xfr   N parallel AXFRs (threads) over TLS or plain TCP; per transfer the
        messages, records and a SHA-256 over the answer messages with the
        DNS ID zeroed; total wall time.
  lat   per-query latency of SOA or IXFR (serial up to date): many queries on
        one kept-open connection, and one query per new connection.
  latmulti  the same for several servers, alternating query by query.
  hs    N full TLS 1.3 handshakes (no resumption), one after the other.
  idle  open N TLS connections, print "ready N" and hold them until stdin
        reaches EOF (prints "ready" lines, not JSON).
  sink  accept TCP connections and hold them, reading and discarding (a
        backend for the idle haproxy instance).

Query building follows tests/tools/xotclient.py (copied: the bench must not
depend on files other engineers edit).
"""
import argparse
import hashlib
import json
import os
import selectors
import socket
import ssl
import statistics
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tools"))
from dnswire import TYPES, answer_soas, build_query, frame  # noqa: E402


def tls_context(ca, group=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["dot"])
    ctx.load_verify_locations(ca)
    if group:
        ctx.set_ecdh_curve(group)
    return ctx


def connect(a, ctx, timeout=60):
    raw = socket.create_connection((a.host, a.port), timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if ctx is None:
        return raw
    s = ctx.wrap_socket(raw, server_hostname=a.hostname)
    if s.selected_alpn_protocol() != "dot":
        s.close()
        raise RuntimeError("ALPN dot not selected")
    return s


class Reader:
    """Length-prefixed DNS message reader over a socket (TLS or plain)."""

    def __init__(self, s):
        self.s, self.buf, self.off = s, bytearray(), 0
        self.rbuf = bytearray(262144)           # recv_into: no allocation per read
        self.rview = memoryview(self.rbuf)

    def msg(self):
        while True:
            avail = len(self.buf) - self.off
            if avail >= 2:
                n = (self.buf[self.off] << 8) | self.buf[self.off + 1]
                if avail >= 2 + n:
                    m = bytes(self.buf[self.off + 2:self.off + 2 + n])
                    self.off += 2 + n
                    return m
            if self.off > 1 << 20:
                del self.buf[:self.off]
                self.off = 0
            n = self.s.recv_into(self.rbuf)
            if not n:
                return None
            self.buf += self.rview[:n]


# ------------------------------------------------------------------ xfr

def one_xfr(a, ctx, res, i):
    r = {"done": False, "msgs": 0, "records": 0, "bytes": 0, "rcode": 0, "error": None}
    try:
        s = connect(a, ctx, a.timeout)
        s.sendall(frame(build_query(0x2000 + i, a.zone, 252)))
        rd = Reader(s)
        h = hashlib.sha256()
        soas = 0
        while True:
            m = rd.msg()
            if m is None:
                r["error"] = "connection closed after %d records" % r["records"]
                break
            r["msgs"] += 1
            r["bytes"] += len(m)
            h.update(b"\0\0")
            h.update(memoryview(m)[2:])
            r["rcode"] = m[3] & 0x0F
            an = (m[6] << 8) | m[7]
            r["records"] += an
            if r["rcode"]:
                r["error"] = "rcode %d" % r["rcode"]
                break
            if a.expect:
                if r["records"] >= a.expect:
                    r["done"] = r["records"] == a.expect
                    break
            else:
                soas += len(answer_soas(m)[0])
                if soas >= 2:
                    r["done"] = True
                    break
        r["digest"] = h.hexdigest()
        s.close()
    except Exception as e:  # noqa: BLE001 - reported, not raised
        r["error"] = "%s: %s" % (type(e).__name__, e)
    res[i] = r


def cmd_xfr(a):
    ctx = tls_context(a.ca) if a.tls else None
    res = [None] * a.n
    threads = [threading.Thread(target=one_xfr, args=(a, ctx, res, i)) for i in range(a.n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.timeout + 10)
    wall = time.perf_counter() - t0
    res = [r or {"done": False, "error": "thread did not finish"} for r in res]
    digests = sorted({r.get("digest") for r in res if r.get("done")})
    out = {
        "n": a.n, "wall": wall,
        "complete": sum(1 for r in res if r["done"]),
        "records": sorted({r.get("records", 0) for r in res}),
        "msgs": sorted({r.get("msgs", 0) for r in res}),
        "bytes": sum(r.get("bytes", 0) for r in res),
        "digests": digests,
        "errors": sorted({r["error"] for r in res if r.get("error")})[:5],
    }
    print(json.dumps(out))
    return 0 if out["complete"] == a.n else 3


# ------------------------------------------------------------------ lat

def query_once(s, rd, q, qid):
    s.sendall(q)
    while True:
        m = rd.msg()
        if m is None:
            raise RuntimeError("connection closed")
        if (m[0] << 8 | m[1]) == qid:
            if m[3] & 0x0F:
                raise RuntimeError("rcode %d" % (m[3] & 0x0F))
            return m


def cmd_lat(a):
    ctx = tls_context(a.ca) if a.tls else None
    qtype = TYPES[a.qtype]
    out = {"qtype": a.qtype}
    if a.kept:
        times = []
        answered = 0
        try:
            s = connect(a, ctx)
            rd = Reader(s)
            for i in range(a.warmup + a.kept):
                qid = i & 0xFFFF
                q = frame(build_query(qid, a.zone, qtype, a.serial))
                t0 = time.perf_counter_ns()
                query_once(s, rd, q, qid)
                t1 = time.perf_counter_ns()
                answered += 1
                if i >= a.warmup:
                    times.append((t1 - t0) / 1000.0)
            s.close()
            out["kept_us"] = statistics.median(times)
        except Exception as e:  # noqa: BLE001
            out["kept_error"] = "%s after %d answers" % (e, answered)
        out["kept_n"] = len(times)
    if a.new:
        times = []
        try:
            for i in range(a.new):
                q = frame(build_query(0x4242, a.zone, qtype, a.serial))
                t0 = time.perf_counter_ns()
                s = connect(a, ctx)
                query_once(s, Reader(s), q, 0x4242)
                t1 = time.perf_counter_ns()
                s.close()
                times.append((t1 - t0) / 1e6)
            out["new_ms"] = statistics.median(times)
        except Exception as e:  # noqa: BLE001
            out["new_error"] = "%s after %d connections" % (e, len(times))
        out["new_n"] = len(times)
    print(json.dumps(out))
    return 0


def cmd_latmulti(a):
    """Like lat, for several servers at once, alternating query by query
    between them so that every server is measured under the same load."""
    ctx = tls_context(a.ca) if a.ca else None
    qtype = TYPES[a.qtype]
    tg = []
    for spec in a.target:
        name, port, kind = spec.split(":")
        t = argparse.Namespace(name=name, host=a.host, port=int(port), hostname=a.hostname,
                               ctx=ctx if kind == "tls" else None, kept=[], new=[], answered=0)
        tg.append(t)
    out = {}
    live = []
    for t in tg:
        if t.name in a.skip_kept:
            continue
        try:
            t.s = connect(t, t.ctx)
            t.rd = Reader(t.s)
            live.append(t)
        except Exception as e:  # noqa: BLE001
            out.setdefault(t.name, {})["kept_error"] = "%s" % e
    for i in range(a.warmup + a.kept):
        qid = i & 0xFFFF
        q = frame(build_query(qid, a.zone, qtype, a.serial))
        for t in list(live):
            try:
                t0 = time.perf_counter_ns()
                query_once(t.s, t.rd, q, qid)
                t1 = time.perf_counter_ns()
            except Exception as e:  # noqa: BLE001
                out.setdefault(t.name, {})["kept_error"] = "%s after %d answers" % (e, t.answered)
                live.remove(t)
                continue
            t.answered += 1
            if i >= a.warmup:
                t.kept.append((t1 - t0) / 1000.0)
    for t in live:
        t.s.close()
    newlive = list(tg)
    q = frame(build_query(0x4242, a.zone, qtype, a.serial))
    for i in range(a.new):
        for t in list(newlive):
            try:
                t0 = time.perf_counter_ns()
                s = connect(t, t.ctx)
                query_once(s, Reader(s), q, 0x4242)
                t1 = time.perf_counter_ns()
                s.close()
                t.new.append((t1 - t0) / 1e6)
            except Exception as e:  # noqa: BLE001
                out.setdefault(t.name, {})["new_error"] = "%s after %d connections" % (e, len(t.new))
                newlive.remove(t)
    for t in tg:
        o = out.setdefault(t.name, {})
        if t.kept and "kept_error" not in o:
            o["kept_us"] = statistics.median(t.kept)
        if t.new and "new_error" not in o:
            o["new_ms"] = statistics.median(t.new)
    print(json.dumps(out))
    return 0


# ------------------------------------------------------------------- hs

def cmd_hs(a):
    ctx = tls_context(a.ca, a.group)
    ok = 0
    err = None
    t0 = time.perf_counter()
    for _ in range(a.n):
        try:
            s = connect(a, ctx, 10)
            ok += 1
            s.close()
        except Exception as e:  # noqa: BLE001
            err = "%s: %s" % (type(e).__name__, e)
    out = {"n": a.n, "ok": ok, "wall": time.perf_counter() - t0, "error": err}
    print(json.dumps(out))
    return 0 if ok == a.n else 3


# ----------------------------------------------------------------- idle

def cmd_idle(a):
    ctx = tls_context(a.ca)
    conns = []
    err = None
    for _ in range(a.n):
        try:
            conns.append(connect(a, ctx, 20))
        except Exception as e:  # noqa: BLE001
            err = "%s: %s" % (type(e).__name__, e)
            break
    print("ready %d%s" % (len(conns), " error " + err if err else ""), flush=True)
    sys.stdin.read()                      # hold until the orchestrator closes stdin
    for s in conns:
        s.close()
    return 0


# ----------------------------------------------------------------- sink

def cmd_reload(a):
    """SOA queries back to back on one kept-open session while the proxy
    (pid --pid) gets SIGHUP at --hup-at seconds: the worst wait across the
    reload against the median before it (issue 9: reload stall)."""
    import signal
    ctx = tls_context(a.ca)
    s = connect(a, ctx)
    rd = Reader(s)
    qid, times, t_start, hup_t = 0, [], time.perf_counter(), None
    while time.perf_counter() - t_start < a.seconds:
        if hup_t is None and time.perf_counter() - t_start >= a.hup_at:
            hup_t = time.perf_counter()
            os.kill(a.pid, signal.SIGHUP)
        qid = (qid + 1) & 0xFFFF
        q = frame(build_query(qid, a.zone, 6))
        t0 = time.perf_counter()
        query_once(s, rd, q, qid)
        times.append((t0, time.perf_counter() - t0))
    s.close()
    before = [d for t, d in times if hup_t is None or t < hup_t]
    during = [d for t, d in times if hup_t is not None and hup_t <= t < hup_t + 2.0]
    print(json.dumps({"queries": len(times), "median_before_ms": statistics.median(before) * 1e3,
                      "max_during_ms": max(during) * 1e3 if during else None,
                      "max_before_ms": max(before) * 1e3}))
    return 0


def cmd_sink(a):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(4096)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is ls:
                while True:
                    try:
                        c, _ = ls.accept()
                    except (BlockingIOError, OSError):
                        break
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ)
            else:
                try:
                    d = key.fileobj.recv(65536)
                except OSError:
                    d = b""
                if not d:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["xfr", "lat", "latmulti", "hs", "idle", "sink", "reload"])
    ap.add_argument("--pid", type=int)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--hup-at", type=float, default=1.5)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--target", action="append", default=[],
                    help="latmulti: NAME:PORT:tls|plain (repeat)")
    ap.add_argument("--skip-kept", action="append", default=[],
                    help="latmulti: NAME measured on new connections only")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--ca")
    ap.add_argument("--hostname", default="xot.test")
    ap.add_argument("--zone", default="small.test")
    ap.add_argument("--n", type=int, default=1)
    ap.add_argument("--expect", type=int, default=0, help="xfr: records per AXFR (0: find the closing SOA)")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--qtype", default="SOA")
    ap.add_argument("--serial", type=int)
    ap.add_argument("--kept", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--new", type=int, default=0)
    ap.add_argument("--group", help="hs: the only key-share group offered (e.g. prime256v1)")
    a = ap.parse_args()
    if a.cmd in ("hs", "idle"):
        a.tls = True
    if a.tls and not a.ca:
        ap.error("--ca is required for TLS")
    if a.cmd == "latmulti":
        if not a.target:
            ap.error("latmulti needs --target")
    elif a.port is None:
        ap.error("--port is required")
    return {"xfr": cmd_xfr, "lat": cmd_lat, "latmulti": cmd_latmulti, "hs": cmd_hs, "idle": cmd_idle,
            "sink": cmd_sink, "reload": cmd_reload}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
