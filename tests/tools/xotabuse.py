#!/usr/bin/env python3
"""xotabuse.py - abuse and fault-injection client for the XoT proxy, stdlib only.

Loopback only: refuses any host outside 127.0.0.0/8 and ::1.

Subcommands (see --help of each):

  garbage   connect over TCP, send bytes that are not a ClientHello (random,
            a fake TLS record, an HTTP request, a plaintext DNS query), read
            until the peer closes; report what came back and when it closed.
  session   TLS 1.3 + ALPN dot session that runs a script of steps:
              q:NAME:TYPE[:OPT,...]  send one query, read its whole answer
                                     stream (OPT: edns, qd=N (QDCOUNT 0 or
                                     repeat the question N times), id=N,
                                     hold=SECS (read nothing for SECS first))
              pipe:N:NAME:TYPE[:hold=SECS|:until=PATH]  N queries in one
                                     write, then every answer stream to its
                                     end (until=PATH: read nothing until file
                                     PATH appears, at most --timeout s)
              rand:N[:SEED]          N pseudo-random frames (12..4094 octets);
                                     each must get exactly one answer with its
                                     ID and QR=1
              frame:LEN[:noread]     one frame of LEN random octets; its one
                                     answer is read unless noread
              raw:HEX                send raw octets (inside TLS)
              rawtcp:HEX             write octets on the TCP stream under
                                     TLS (a forged or corrupt TLS record)
              eof[:SECS]             expect the proxy to close within SECS
                                     (default 5) and send no DNS data first
              stuff:SECS:NAME:TYPE   pipeline queries for SECS without reading
                                     any answer (until the proxy stops reading)
              hold:SECS              do nothing for SECS (neither read nor write)
              wait:PATH[:SECS]       wait until file PATH exists
            --repeat N runs the script on N fresh connections.
            One output line per step; exit 1 at the first failed step.
  flood     open many TCP connections that never finish the TLS handshake
            (silent, a partial ClientHello, a lone record header, or one
            ClientHello byte every 0.5 s) and record when the proxy closes
            each; or hold them open until a file appears (--until-file).
  streams   one TLS session running steps; queries are matched to their
            answer streams by ID (streams may interleave):
              q:SPEC[,SPEC...]     send the queries in one write, then read
                                   until every outstanding stream has ended
              send:SPEC[,SPEC...]  send only; collect[:SECS] reads them
              hold:SECS  touch:PATH  wait:PATH[:SECS]  eof[:SECS]
              kill:PID[:SIGNUM]    signal a process at once (e.g. SIGTERM to
                                   the proxy right after a send)
            SPEC = NAME/TYPE[/serial=N][/id=N][/opcode=N][/edns][/qd=N][/size=N]
            (size pads the message with zero octets to N). A stream ends at
            an error rcode, at the 2nd SOA (AXFR), at the closing SOA or an
            up-to-date lone SOA (IXFR; a lone newer SOA ends it only if
            nothing follows within --lone-wait: end=lone), or after one
            message (other types). One "stream id=..." line per query.
  srcflood  silent TCP connections spread over several source addresses
            (--sources 127.0.0.2-127.0.0.17 --per-source 64); counts which
            ones the peer closes and when (--status FILE, --until-file).
  load      many concurrent XoT clients (asyncio), each doing the same query
            on its own TLS connection; prints per-client digests of the answer
            stream with the 2-octet message IDs zeroed (comparable with
            --plain, a direct transfer over TCP from the backend).
"""
import argparse
import asyncio
import collections
import hashlib
import ipaddress
import os
import random
import resource
import selectors
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import RCODES, TYPES, build_query, frame, parse_answer, question_of  # noqa: E402
from xottls import Closed, Conn, Failed, client_context, wait_for_file  # noqa: E402


def loopback_only(host):
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("xotabuse: refusing non-loopback host %s" % host)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ------------------------------------------------------------------ garbage

def make_client_hello(hostname="xot.test"):
    ctx = client_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=hostname)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def cmd_garbage(a):
    rng = random.Random(a.seed)
    if a.kind == "random":
        data = bytes(rng.randrange(256) for _ in range(a.bytes))
        if data[0] == 0x16:
            data = b"\x17" + data[1:]
    elif a.kind == "tlsrecord":     # a handshake record header, then noise
        body = bytes(rng.randrange(256) for _ in range(a.bytes))
        data = b"\x16\x03\x01" + struct.pack("!H", len(body)) + body
    elif a.kind == "http":
        data = b"GET / HTTP/1.1\r\nHost: xot.test\r\n\r\n"
    elif a.kind == "dns":           # plaintext DNS over TCP on the TLS port (DOT-01)
        data = frame(build_query(0x5151, a.name, TYPES["SOA"]))
    else:
        sys.exit("unknown kind")
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    t0 = time.monotonic()
    got = b""
    how = "timeout"
    try:
        s.sendall(data)
        while True:
            c = s.recv(65536)
            if not c:
                how = "eof"
                break
            got += c
    except ConnectionResetError:
        how = "reset"
    except BrokenPipeError:
        how = "reset"
    except socket.timeout:
        how = "timeout"
    el = time.monotonic() - t0
    dns = False
    if a.kind == "dns" and len(got) >= 4 and got[2:4] == b"\x51\x51":
        dns = True
    tls_alert = len(got) >= 5 and got[0] == 0x15
    print("garbage kind=%s sent=%d received=%d closed=%s after=%.3f dns_answer=%s first=%s tls_alert=%s"
          % (a.kind, len(data), len(got), how, el, "yes" if dns else "no", got[:16].hex() or "-",
             "yes" if tls_alert else "no"))
    return 0 if how in ("eof", "reset") and not dns else 1


# ------------------------------------------------------------------ session

class Session(Conn):
    """The session subcommand's connection: answers read one frame at a
    time, each within a deadline."""

    def __init__(self, a):
        super().__init__(a)
        self.next_id = 0x2000

    def recv_frame(self, timeout):
        """One DNS message. Raises Failed on timeout or when the peer closes."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.frames():
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed("no answer within %.1f s" % timeout)
            try:
                if not self.recv(left):
                    raise Failed("no answer within %.1f s" % timeout)
            except Closed as e:
                raise Failed("connection closed (%s) while waiting for an answer" % e)


def step_query(ss, spec, out):
    parts = spec.split(":")
    name, qtype = parts[1], TYPES.get(parts[2].upper()) or int(parts[2])
    opts = parts[3].split(",") if len(parts) > 3 and parts[3] else []
    edns = "edns" in opts
    qd = 1
    qid = ss.next_id
    ss.next_id += 1
    for o in opts:
        if o.startswith("qd="):
            qd = int(o[3:])
        elif o.startswith("id="):
            qid = int(o[3:])
    t0 = time.monotonic()
    ss.send(frame(build_query(qid, name, qtype, edns=edns, qd=qd)))
    hold = [float(o[5:]) for o in opts if o.startswith("hold=")]
    if hold:                        # a slow reader: nothing is read for a while
        out("q %s %s id=%d sent; not reading for %.1f s" % (name, parts[2].upper(), qid, hold[0]))
        time.sleep(hold[0])
    msgs = records = 0
    soas = []
    first = None
    while True:
        m = ss.recv_frame(ss.timeout)
        r = parse_answer(m)
        if r["id"] != qid or not r["qr"]:
            raise Failed("answer with id %d qr %d to query id %d" % (r["id"], r["qr"], qid))
        first = first or r
        msgs += 1
        records += r["an"]
        soas += r["soas"]
        if r["rcode"] or qtype != 252 or len(soas) >= 2:
            break
    el = time.monotonic() - t0
    rc = first["rcode"]
    out("q %s %s qd=%d id=%d rcode=%s ede=%s opt=%s msgs=%d records=%d soa=%s time=%.3f" % (
        name, parts[2].upper(), qd, qid, RCODES.get(rc, str(rc)),
        ",".join(map(str, first["ede"])) or "-", "yes" if first["opt"] else "no",
        msgs, records, soas[0] if soas else "-", el))


def step_pipe(ss, spec, out):
    """pipe:N:NAME:TYPE[:hold=SECS|:until=PATH]: N identical queries in one
    write, then (after the hold, or once PATH exists) every answer stream to
    its end."""
    parts = spec.split(":")
    n, name, tname = int(parts[1]), parts[2], parts[3].upper()
    qtype = TYPES.get(tname) or int(tname)
    opt = parts[4] if len(parts) > 4 else ""
    hold = float(opt[5:]) if opt.startswith("hold=") else 0
    until = opt[6:] if opt.startswith("until=") else None
    streams = {}
    wire = b""
    for _ in range(n):
        qid = ss.next_id
        ss.next_id += 1
        streams[qid] = {"msgs": 0, "records": 0, "soas": 0, "rcode": 0, "done": False}
        wire += frame(build_query(qid, name, qtype))
    t0 = time.monotonic()
    ss.send(wire)
    if hold:
        out("pipe %d x %s %s sent; not reading for %.1f s" % (n, name, tname, hold))
        time.sleep(hold)
    if until:                       # a slow reader released by the test, not by a clock
        out("pipe %d x %s %s sent; not reading until %s appears" % (n, name, tname, until))
        held = wait_for_file(until, ss.timeout)
        out("pipe %d x %s %s: %s there after %.1f s; reading" % (n, name, tname, until, held))
    while not all(st["done"] for st in streams.values()):
        m = ss.recv_frame(ss.timeout)
        r = parse_answer(m)
        st = streams.get(r["id"])
        if st is None or not r["qr"]:
            raise Failed("answer with unexpected id %d / qr %d" % (r["id"], r["qr"]))
        if st["done"]:
            raise Failed("message for id %d after its stream ended" % r["id"])
        st["msgs"] += 1
        st["records"] += r["an"]
        st["soas"] += len(r["soas"])
        st["rcode"] = r["rcode"]
        st["done"] = r["rcode"] != 0 or qtype != 252 or st["soas"] >= 2
    shapes = collections.Counter((RCODES.get(st["rcode"], st["rcode"]), st["msgs"], st["records"])
                                 for st in streams.values())
    out("pipe %d x %s %s complete: %s time=%.3f" % (n, name, tname, " ".join(
        "[rcode=%s msgs=%d records=%d]x%d" % (k + (v,)) for k, v in shapes.items()), time.monotonic() - t0))


def rand_frame(rng, i, length=None):
    kind = i % 3
    if length is not None or kind == 0:                 # pure noise
        n = length if length is not None else rng.choice(
            [12, 13, 17, 64, 300, 512, 1500, 4094, rng.randrange(12, 4095)])
        return bytes(rng.randrange(256) for _ in range(n))
    if kind == 1:                                       # header sane, body noise
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        return struct.pack("!HBBHHHH", rng.randrange(65536), 0, 0, 1, 0, 0, 0) + body
    q = bytearray(build_query(rng.randrange(65536), "small.test", 6, edns=True))
    for _ in range(rng.randrange(1, 4)):                # a mutated SOA query
        q[rng.randrange(2, len(q))] = rng.randrange(256)
    return bytes(q)


def step_rand(ss, spec, out):
    parts = spec.split(":")
    n = int(parts[1])
    rng = random.Random(int(parts[2]) if len(parts) > 2 else 1)
    rcodes = collections.Counter()
    t0 = time.monotonic()
    for i in range(n):
        f = rand_frame(rng, i)
        qid = struct.unpack("!H", f[:2])[0]
        ss.send(frame(f))
        try:
            m = ss.recv_frame(ss.timeout)
        except Failed as e:
            raise Failed("random frame %d (%d octets, %s...): %s" % (i, len(f), f[:16].hex(), e))
        aid, fl = struct.unpack("!HB", m[:3])
        if aid != qid or not fl & 0x80:
            raise Failed("random frame %d: answer id %d qr %d, frame id %d" % (i, aid, fl >> 7, qid))
        rcodes[RCODES.get(m[3] & 0x0F, str(m[3] & 0x0F))] += 1
    out("rand %d frames answered one each, ids kept, rcodes %s, time=%.3f" % (
        n, " ".join("%s=%d" % kv for kv in sorted(rcodes.items())), time.monotonic() - t0))


def step_eof(ss, spec, out):
    parts = spec.split(":")
    secs = float(parts[1]) if len(parts) > 1 else 5.0
    t0 = time.monotonic()
    try:
        while True:
            left = t0 + secs - time.monotonic()
            if left <= 0:
                raise Failed("connection still open after %.1f s (%d octets received)" % (secs, len(ss.buf)))
            ss.recv(left)
    except Closed as e:
        how = str(e)
    if ss.buf:
        raise Failed("%d octets of DNS data before the close: %s" % (len(ss.buf), ss.buf[:32].hex()))
    out("eof %s after %.3f s" % (how, time.monotonic() - t0))


def step_stuff(ss, spec, out):
    _, secs, name, qtype = spec.split(":")
    q = frame(build_query(0x3333, name, TYPES.get(qtype.upper()) or int(qtype)))
    batch = q * 64
    sent = 0
    t_end = time.monotonic() + float(secs)
    ss.s.setblocking(False)
    blocked_since = None
    while time.monotonic() < t_end:
        try:
            n = ss.s.send(batch)
            sent += n
            blocked_since = None
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            blocked_since = blocked_since or time.monotonic()
            time.sleep(0.01)
    ss.s.setblocking(True)
    out("stuff sent %d octets (%d queries) in %s s without reading; writes blocked for the last %.1f s" % (
        sent, sent // len(q), secs, time.monotonic() - blocked_since if blocked_since else 0.0))


def run_script(a, out):
    ss = Session(a)
    for i, spec in enumerate(a.steps):
        kind = spec.split(":")[0]
        if kind == "q":
            step_query(ss, spec, out)
        elif kind == "rand":
            step_rand(ss, spec, out)
        elif kind == "pipe":
            step_pipe(ss, spec, out)
        elif kind == "frame":
            p = spec.split(":")
            rng = random.Random(7)
            f = rand_frame(rng, 0, int(p[1]))
            qid = struct.unpack("!H", f[:2])[0]
            ss.send(frame(f))
            if "noread" in p[2:]:
                out("frame %d octets sent (id %d), answer not read" % (len(f), qid))
                continue
            m = ss.recv_frame(ss.timeout)
            if struct.unpack("!H", m[:2])[0] != qid or not m[2] & 0x80:
                raise Failed("frame of %d octets: answer id %d, frame id %d" % (
                    len(f), struct.unpack("!H", m[:2])[0], qid))
            out("frame %d octets answered (id %d, rcode %s)" % (len(f), qid, RCODES.get(m[3] & 15, m[3] & 15)))
        elif kind == "rawtcp":          # bypass TLS: bytes straight onto the TCP stream
            data = bytes.fromhex(spec.split(":", 1)[1])
            os.write(ss.s.fileno(), data)
            out("rawtcp %d octets written under TLS: %s" % (len(data), data[:16].hex()))
        elif kind == "raw":
            data = bytes.fromhex(spec.split(":", 1)[1])
            ss.send(data)
            out("raw %d octets sent: %s" % (len(data), data[:16].hex()))
        elif kind == "eof":
            step_eof(ss, spec, out)
        elif kind == "stuff":
            step_stuff(ss, spec, out)
        elif kind == "hold":
            time.sleep(float(spec.split(":")[1]))
            out("held %s s" % spec.split(":")[1])
        elif kind == "wait":
            p = spec.split(":")
            out("waiting for %s" % p[1])
            wait_for_file(p[1], float(p[2]) if len(p) > 2 else 60)
            out("wait %s: there" % p[1])
        else:
            raise Failed("unknown step %s" % spec)
    try:
        ss.s.close()
    except OSError:
        pass


def cmd_session(a):
    def out(line):
        if not a.quiet:
            print("%d %s" % (rep, line), flush=True)
    rep = 0
    t0 = time.monotonic()
    while rep < a.repeat:
        rep += 1
        try:
            run_script(a, out)
        except (Failed, ssl.SSLError, OSError) as e:
            print("%d FAIL %s" % (rep, e), flush=True)
            return 1
        if a.until and os.path.exists(a.until):
            break
    print("session: %d connection(s) in %.3f s, every step passed" % (rep, time.monotonic() - t0), flush=True)
    return 0


# -------------------------------------------------------------------- flood

def cmd_flood(a):
    raise_nofile()
    hello = make_client_hello()
    sel = selectors.DefaultSelector()
    modes = a.modes.split(",")
    conns = []
    t_start = time.monotonic()

    class C:
        pass
    for i in range(a.count):
        c = C()
        c.mode = modes[i % len(modes)]
        c.sock = socket.socket(socket.AF_INET6 if ":" in a.host else socket.AF_INET, socket.SOCK_STREAM)
        c.sock.setblocking(False)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)) if a.rst else None
        c.sock.connect_ex((a.host, a.port))
        c.t_conn = None
        c.t_close = None
        c.how = None
        c.got = 0
        c.sent = 0
        c.next_drip = 0
        conns.append(c)
        sel.register(c.sock, selectors.EVENT_WRITE, c)
    # connect completion
    pending = a.count
    t_end = time.monotonic() + 30
    while pending and time.monotonic() < t_end:
        for key, ev in sel.select(0.5):
            c = key.data
            if c.t_conn is None:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                c.t_conn = time.monotonic()
                pending -= 1
                if err:
                    c.how, c.t_close = "connect-error-%d" % err, c.t_conn
                    sel.unregister(c.sock)
                    continue
                first = b""
                if c.mode == "partial":
                    first = hello[:len(hello) // 2]
                elif c.mode == "header":
                    first = hello[:5]
                elif c.mode == "drip":
                    first = hello[:1]
                    c.next_drip = c.t_conn + 0.5
                if first:
                    try:
                        c.sent = c.sock.send(first)
                    except OSError:
                        pass
                sel.modify(c.sock, selectors.EVENT_READ, c)
    connected = sum(1 for c in conns if c.t_conn is not None and c.how is None)
    t_all = time.monotonic() - t_start
    print("connected %d of %d in %.3f s (modes %s)" % (connected, a.count, t_all, a.modes), flush=True)
    if a.status:
        with open(a.status + ".tmp", "w") as f:
            f.write("connected %d\n" % connected)
        os.rename(a.status + ".tmp", a.status)
    open_set = [c for c in conns if c.how is None]
    deadline = time.monotonic() + a.wait
    while open_set and time.monotonic() < deadline:
        if a.until_file and os.path.exists(a.until_file):
            break
        now = time.monotonic()
        for c in open_set:
            if c.mode == "drip" and c.how is None and now >= c.next_drip and c.sent < len(hello):
                try:
                    c.sent += c.sock.send(hello[c.sent:c.sent + 1])
                except OSError:
                    pass
                c.next_drip = now + 0.5
        for key, ev in sel.select(0.1):
            c = key.data
            try:
                d = c.sock.recv(65536)
                if d:
                    c.got += len(d)
                    continue
                c.how = "eof"
            except ConnectionResetError:
                c.how = "reset"
            except OSError as e:
                c.how = "error-%s" % e.errno
            c.t_close = time.monotonic()
            sel.unregister(c.sock)
        open_set = [c for c in open_set if c.how is None]
    closed = [c for c in conns if c.how in ("eof", "reset")]
    life = sorted(c.t_close - c.t_conn for c in closed)
    errors = collections.Counter(c.how for c in conns if c.how and c.how not in ("eof", "reset"))
    print("closed_by_peer %d still_open %d errors %s" % (
        len(closed), len(open_set), dict(errors) or "-"))
    if life:
        print("lifetime min %.3f median %.3f max %.3f s" % (life[0], life[len(life) // 2], life[-1]))
        for m in modes:
            lm = sorted(c.t_close - c.t_conn for c in closed if c.mode == m)
            if lm:
                print("lifetime mode %s n %d min %.3f max %.3f s" % (m, len(lm), lm[0], lm[-1]))
    print("bytes_from_peer %d" % sum(c.got for c in conns))
    print("last_close_after_start %.3f s" % (max((c.t_close for c in closed), default=t_start) - t_start))
    for c in conns:
        c.sock.close()
    return 0


# --------------------------------------------------------------------- load

class Digest:
    """SHA-256 over an answer stream with every message's 2-octet ID zeroed."""

    def __init__(self):
        self.h = hashlib.sha256()
        self.msgs = self.records = self.octets = 0
        self.soas = 0
        self.rcode = 0

    def feed(self, m):
        self.h.update(b"\0\0" + m[2:])
        r = parse_answer(m)
        self.msgs += 1
        self.records += r["an"]
        self.octets += len(m)
        self.soas += len(r["soas"])
        self.rcode = r["rcode"]

    def done(self, qtype):
        return self.rcode != 0 or qtype != 252 or self.soas >= 2


async def one_transfer(a, ctx, qtype, idx, results, gate, ready):
    d = Digest()
    t0 = time.monotonic()
    err = None
    w = None
    try:
        if ctx is None:
            r, w = await asyncio.open_connection(a.host, a.port)
        else:
            r, w = await asyncio.open_connection(a.host, a.port, ssl=ctx, server_hostname=a.hostname,
                                                 ssl_handshake_timeout=a.timeout)
            if w.get_extra_info("ssl_object").selected_alpn_protocol() != "dot":
                raise Failed("ALPN dot not selected")
        ready.append(idx)
        await gate.wait()
        w.write(frame(build_query(0x4000 + idx % 0x8000, a.name, qtype)))
        while not d.done(qtype):
            n = struct.unpack("!H", await r.readexactly(2))[0]
            d.feed(await r.readexactly(n))
    except Exception as e:          # noqa: BLE001 - every failure is reported
        err = "%s: %s" % (type(e).__name__, e)
    if idx not in ready:
        ready.append(idx)
    if w is not None:
        w.close()
        try:
            await asyncio.wait_for(w.wait_closed(), 5)
        except Exception:           # noqa: BLE001
            pass
    results[idx] = (d, err, time.monotonic() - t0)


async def load_main(a):
    ctx = None
    if not a.plain:
        ctx = client_context(a.ca)
    qtype = TYPES.get(a.type.upper()) or int(a.type)
    results = [None] * a.clients
    gate = asyncio.Event()
    ready = []
    tasks = [asyncio.create_task(one_transfer(a, ctx, qtype, i, results, gate, ready))
             for i in range(a.clients)]
    # Let every connection get established first, then release all queries at once.
    t_conn = time.monotonic()
    while len(ready) < a.clients and time.monotonic() - t_conn < a.connect_wait:
        await asyncio.sleep(0.02)
    print("load: %d of %d connections ready after %.3f s; queries released" % (
        len(ready), a.clients, time.monotonic() - t_conn), flush=True)
    gate.set()
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), a.timeout)
    except asyncio.TimeoutError:
        pass
    return results


def cmd_load(a):
    raise_nofile()
    t0 = time.monotonic()
    results = asyncio.run(load_main(a))
    el = time.monotonic() - t0
    digests = collections.Counter()
    fails = 0
    for i, res in enumerate(results):
        if res is None:
            print("client %d: did not finish" % i)
            fails += 1
            continue
        d, err, t = res
        if err or not d.done(TYPES.get(a.type.upper()) or int(a.type)):
            print("client %d: %s after %d messages, %d records, %.2f s" % (i, err or "incomplete", d.msgs,
                                                                          d.records, t))
            fails += 1
            continue
        key = (d.h.hexdigest(), d.msgs, d.records, d.octets, d.rcode)
        digests[key] += 1
    for (h, msgs, recs, octets, rcode), n in digests.most_common():
        print("digest %s messages %d records %d octets %d rcode %d clients %d" % (h, msgs, recs, octets,
                                                                                 rcode, n))
    print("load clients %d ok %d failed %d distinct_digests %d time %.3f s" % (
        a.clients, a.clients - fails, fails, len(digests), el))
    return 0 if fails == 0 and len(digests) == 1 else 1


# ------------------------------------------------------------------ streams

def serial_not_newer(s, client):
    """RFC 1982: s <= client."""
    return s == client or 0 < ((client - s) & 0xFFFFFFFF) < 0x80000000


class XStream:
    """One query and the answer stream it gets, matched by ID."""

    def __init__(self, qid, name, qtype, tname, serial, t0):
        self.qid, self.name, self.qtype, self.tname, self.serial = qid, name.strip(".").lower(), qtype, tname, serial
        self.t0 = t0
        self.msgs = self.records = 0
        self.soas = []
        self.rcode = None
        self.ede = []
        self.echo = None
        self.end = None
        self.lone = False               # IXFR: first message a lone SOA newer than the client's
        self.t_first = self.t_last = None

    def feed(self, m, r, now):
        self.msgs += 1
        self.records += r["an"]
        self.soas += r["soas"]
        self.t_last = now
        if self.msgs == 1:
            self.t_first = now
            self.rcode = r["rcode"]
            self.ede = r["ede"]
            self.echo = question_of(m, follow=False) == (self.name, self.qtype)
        self.lone = False
        if r["rcode"] != 0:
            self.rcode = r["rcode"]
            self.end = "error"
        elif self.qtype == 252:
            if len(self.soas) >= 2:
                self.end = "complete"
        elif self.qtype == 251:
            if self.msgs == 1 and len(self.soas) == 1 and r["an"] == 1:
                if self.serial is not None and serial_not_newer(self.soas[0], self.serial):
                    self.end = "complete"       # IXFR-02 shape (a): up to date
                else:
                    self.lone = True            # more may follow (AXFR-style or not)
            for i in range(1, len(self.soas), 2):
                if self.soas[i] == self.soas[0]:
                    self.end = "complete"
        else:
            self.end = "complete"

    def line(self):
        rc = "-" if self.rcode is None else RCODES.get(self.rcode, str(self.rcode))
        return ("stream id=%d name=%s type=%s rcode=%s ede=%s msgs=%d records=%d soas=%d serial=%s echo=%s "
                "end=%s first=%s time=%.3f" % (
                    self.qid, self.name, self.tname, rc, ",".join(map(str, self.ede)) or "-", self.msgs,
                    self.records, len(self.soas), self.soas[0] if self.soas else "-",
                    "-" if self.echo is None else ("yes" if self.echo else "no"), self.end or "incomplete",
                    "-" if self.t_first is None else "%.3f" % (self.t_first - self.t0),
                    (self.t_last or time.monotonic()) - self.t0))


def make_query(spec, next_id):
    """NAME/TYPE[/serial=N][/id=N][/opcode=N][/edns][/qd=N][/size=N] ->
    (id, name, qtype, tname, serial, framed query)."""
    parts = spec.split("/")
    name, tname = parts[0], parts[1].upper()
    qtype = TYPES.get(tname) or int(tname)
    o = {"serial": None, "id": next_id, "opcode": 0, "qd": 1, "size": 0, "edns": False}
    for p in parts[2:]:
        k, _, v = p.partition("=")
        if k == "edns":
            o["edns"] = True
        elif k in o:
            o[k] = int(v)
        else:
            raise Failed("unknown query option %s in %s" % (k, spec))
    if qtype == 251 and o["serial"] is None:
        o["serial"] = 0
    msg = build_query(o["id"], name, qtype, o["serial"], o["edns"], o["opcode"], o["qd"])
    if o["size"]:
        if o["size"] < len(msg) or o["size"] > 65535:
            raise Failed("size=%d: the query is %d octets, the frame limit 65535" % (o["size"], len(msg)))
        msg += b"\0" * (o["size"] - len(msg))
    return o["id"], name, qtype, tname, o["serial"] if qtype == 251 else None, frame(msg)


def cmd_streams(a):
    t_start = time.monotonic()
    bad = []

    def out(line):
        print("%.3f %s" % (time.monotonic() - t_start, line), flush=True)

    try:
        cn = Conn(a)
    except (Failed, ssl.SSLError, OSError) as e:
        out("FAIL connect: %s" % e)
        return 1
    out("connected from %s#%d, TLS 1.3, ALPN dot" % cn.local[:2])
    live, ended = {}, {}
    next_id = [0x3000]

    def finish(st):
        del live[st.qid]
        ended[st.qid] = st
        out(st.line())

    def collect(secs):
        deadline = time.monotonic() + secs
        while live:
            now = time.monotonic()
            if all(st.lone for st in live.values()):
                due = max(st.t_last for st in live.values()) + a.lone_wait
                if now >= due:
                    for st in list(live.values()):
                        st.end = "lone"
                        finish(st)
                    return True
                wait = min(due, deadline) - now
            else:
                wait = deadline - now
            if now >= deadline:
                for st in list(live.values()):
                    out(st.line() + " (no end within %.1f s)" % secs)
                bad.append("timeout")
                return False
            if not cn.recv(wait):
                continue
            now = time.monotonic()
            for m in cn.frames():
                r = parse_answer(m)
                st = live.get(r["id"])
                if st is None or not r["qr"]:
                    what = "after its stream ended" if r["id"] in ended else "matching no query"
                    out("unexpected message id=%d qr=%d rcode=%s an=%d %s" % (
                        r["id"], r["qr"], RCODES.get(r["rcode"], r["rcode"]), r["an"], what))
                    bad.append("unexpected id %d" % r["id"])
                    continue
                st.feed(m, r, now)
                if st.end:
                    finish(st)
        return True

    try:
        for spec in a.steps:
            kind, _, arg = spec.partition(":")
            if kind in ("q", "send"):
                wire = b""
                for qs in arg.split(","):
                    qid, name, qtype, tname, serial, f = make_query(qs, next_id[0])
                    next_id[0] = max(next_id[0], qid) + 1
                    if qid in live:
                        raise Failed("id %d is still outstanding" % qid)
                    ended.pop(qid, None)
                    live[qid] = XStream(qid, name, qtype, tname, serial, time.monotonic())
                    wire += f
                cn.send(wire)
                out("sent %d quer%s in one write (%d octets): %s" % (
                    len(arg.split(",")), "y" if "," not in arg else "ies", len(wire), arg))
                if kind == "q" and not collect(a.timeout):
                    break
            elif kind == "collect":
                if not collect(float(arg) if arg else a.timeout):
                    break
            elif kind == "hold":
                out("holding %s s (not reading)" % arg)
                time.sleep(float(arg))
            elif kind == "kill":         # kill:PID[:SIG]: signal a process (the proxy) right now
                p = arg.split(":")
                sig = int(p[1]) if len(p) > 1 else 15
                os.kill(int(p[0]), sig)
                out("sent signal %d to pid %s" % (sig, p[0]))
            elif kind == "touch":
                open(arg, "w").close()
                out("touched %s" % arg)
            elif kind == "wait":
                p = arg.split(":")
                out("waiting for %s" % p[0])
                wait_for_file(p[0], float(p[1]) if len(p) > 1 else 60)
                out("wait %s: there" % p[0])
            elif kind == "eof":
                cn.expect_eof(float(arg) if arg else 5.0, show_octets=True)
            else:
                raise Failed("unknown step %s" % spec)
    except Closed as e:
        out("closed how=%s" % e)
        for st in list(live.values()):
            out(st.line())
            bad.append("incomplete %d" % st.qid)
        if kind != "eof":
            bad.append("closed")
    except (Failed, ssl.SSLError, OSError) as e:
        out("FAIL %s: %s" % (spec, e))
        bad.append(str(e))
    else:
        for st in list(live.values()):
            out(st.line() + " (never collected)")
            bad.append("incomplete %d" % st.qid)
    try:
        cn.s.close()
    except OSError:
        pass
    out("streams: %s" % ("every step passed, every stream ended" if not bad else "FAILED: " + "; ".join(bad[:5])))
    return 0 if not bad else 1


# ----------------------------------------------------------------- srcflood

def expand_sources(text):
    """'127.0.0.2-127.0.0.17', 'a,b,c' or a mix: a list of addresses."""
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        lo_ip = ipaddress.ip_address(lo)
        hi_ip = ipaddress.ip_address(hi) if hi else lo_ip
        ip = lo_ip
        while ip <= hi_ip:
            loopback_only(str(ip)) if ip.version == 4 else None
            out.append(str(ip))
            ip += 1
    return out


def cmd_srcflood(a):
    """Silent TCP connections (never a byte) spread over several source
    addresses; records which ones the proxy closes and when."""
    raise_nofile()
    sources = expand_sources(a.sources)
    sel = selectors.DefaultSelector()
    conns = []
    t_start = time.monotonic()

    class C:
        pass
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    for i in range(a.per_source * len(sources)):
        c = C()
        c.src = sources[i % len(sources)]
        c.sock = socket.socket(fam, socket.SOCK_STREAM)
        c.sock.setblocking(False)
        c.sock.bind((c.src, 0))
        c.sock.connect_ex((a.host, a.port))
        c.t_conn = c.t_close = c.how = None
        c.got = 0
        conns.append(c)
        sel.register(c.sock, selectors.EVENT_WRITE, c)

    def counts():
        connected = sum(1 for c in conns if c.t_conn is not None and not (c.how or "").startswith("connect"))
        closed = sum(1 for c in conns if c.how in ("eof", "reset"))
        still = sum(1 for c in conns if c.t_conn is not None and c.how is None)
        errors = sum(1 for c in conns if c.how and c.how not in ("eof", "reset"))
        return connected, closed, still, errors

    def write_status():
        if a.status:
            cd, cl, st, er = counts()
            with open(a.status + ".tmp", "w") as f:
                f.write("connected %d closed %d open %d errors %d bytes %d pending %d\n" % (
                    cd, cl, st, er, sum(c.got for c in conns), sum(1 for c in conns if c.t_conn is None)))
            os.rename(a.status + ".tmp", a.status)

    deadline = time.monotonic() + a.wait
    last_status = 0
    all_connected_said = False
    while time.monotonic() < deadline:
        if a.until_file and os.path.exists(a.until_file):
            break
        for key, ev in sel.select(0.05):
            c = key.data
            now = time.monotonic()
            if c.t_conn is None:
                c.t_conn = now
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    c.how, c.t_close = "connect-error-%d" % err, now
                    sel.unregister(c.sock)
                else:
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            try:
                d = c.sock.recv(65536)
                if d:
                    c.got += len(d)
                    continue
                c.how = "eof"
            except ConnectionResetError:
                c.how = "reset"
            except OSError as e:
                c.how = "error-%s" % e.errno
            c.t_close = now
            sel.unregister(c.sock)
        if not all_connected_said and all(c.t_conn is not None for c in conns):
            all_connected_said = True
            cd, cl, st, er = counts()
            print("connect phase done after %.3f s: connected %d of %d (from %d sources), closed already %d, "
                  "connect errors %d" % (time.monotonic() - t_start, cd, len(conns), len(sources), cl, er),
                  flush=True)
        if time.monotonic() - last_status >= 0.1:
            write_status()
            last_status = time.monotonic()
        if a.exit_when_closed and all_connected_said and counts()[2] == 0:
            break
    write_status()
    cd, cl, st, er = counts()
    life = sorted(c.t_close - c.t_conn for c in conns if c.how in ("eof", "reset"))
    print("srcflood total %d connected %d closed_by_peer %d still_open %d errors %d bytes_from_peer %d" % (
        len(conns), cd, cl, st, er, sum(c.got for c in conns)))
    if life:
        print("lifetime min %.3f median %.3f max %.3f s" % (life[0], life[len(life) // 2], life[-1]))
    per = collections.Counter(c.src for c in conns if c.how in ("eof", "reset"))
    print("closed per source: %s" % " ".join("%s=%d" % (s, per.get(s, 0)) for s in sources))
    for c in conns:
        c.sock.close()
    return 0


# --------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--timeout", type=float, default=10)
    g = sub.add_parser("garbage")
    common(g)
    g.add_argument("--kind", choices=["random", "tlsrecord", "http", "dns"], default="random")
    g.add_argument("--bytes", type=int, default=1024)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--name", default="small.test")
    s = sub.add_parser("session")
    common(s)
    s.add_argument("--ca")
    s.add_argument("--hostname", default="xot.test")
    s.add_argument("--repeat", type=int, default=1, help="run the script on N connections, one after another")
    s.add_argument("--until", help="with --repeat: stop early once this file exists")
    s.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    s.add_argument("--rcvbuf", type=int, default=0, help="SO_RCVBUF of the client socket")
    s.add_argument("steps", nargs="+")
    f = sub.add_parser("flood")
    common(f)
    f.add_argument("--count", type=int, default=1000)
    f.add_argument("--modes", default="silent,partial,header,drip")
    f.add_argument("--wait", type=float, default=20, help="seconds to wait for the proxy to close them")
    f.add_argument("--until-file", help="close everything when this file appears")
    f.add_argument("--status", help="file written once every connection is established")
    f.add_argument("--rst", action="store_true", help="close with RST (SO_LINGER 0)")
    ld = sub.add_parser("load")
    common(ld)
    ld.add_argument("--ca")
    ld.add_argument("--hostname", default="xot.test")
    ld.add_argument("--plain", action="store_true", help="plaintext TCP (a direct transfer from the backend)")
    ld.add_argument("--clients", type=int, default=1)
    ld.add_argument("--name", required=True)
    ld.add_argument("--type", default="AXFR")
    ld.add_argument("--connect-wait", type=float, default=20,
                    help="max seconds to wait for all handshakes before releasing the queries")
    st = sub.add_parser("streams")
    common(st)
    st.add_argument("--ca")
    st.add_argument("--hostname", default="xot.test")
    st.add_argument("--source", help="local address to bind")
    st.add_argument("--rcvbuf", type=int, default=0, help="SO_RCVBUF of the client socket (set before connect)")
    st.add_argument("--lone-wait", type=float, default=1.0,
                    help="an IXFR whose first message is a lone SOA newer than the client's ends "
                         "if nothing more comes within this many seconds (end=lone)")
    st.add_argument("steps", nargs="+")
    sf = sub.add_parser("srcflood")
    common(sf)
    sf.add_argument("--sources", required=True, help="e.g. 127.0.0.2-127.0.0.17 or a,b,c")
    sf.add_argument("--per-source", type=int, default=64)
    sf.add_argument("--wait", type=float, default=60, help="give up (report) after this many seconds")
    sf.add_argument("--until-file", help="close everything when this file appears")
    sf.add_argument("--status", help="file rewritten every 0.1 s with the counts")
    sf.add_argument("--exit-when-closed", action="store_true",
                    help="stop as soon as every connection has been closed by the peer")
    a = ap.parse_args()
    loopback_only(a.host)
    if a.cmd == "streams":
        if a.source:
            loopback_only(a.source) if "." in a.source else None
        return cmd_streams(a)
    if a.cmd == "srcflood":
        return cmd_srcflood(a)
    if a.cmd == "garbage":
        return cmd_garbage(a)
    if a.cmd == "session":
        return cmd_session(a)
    if a.cmd == "flood":
        return cmd_flood(a)
    return cmd_load(a)


if __name__ == "__main__":
    sys.exit(main())
