#!/usr/bin/env python3
"""xotpolicy.py - XoT client for the policy tests (t60-t69), stdlib only.

What kdig cannot show or do: the text of an Extended DNS Error on a refused
AXFR ("transfer rate", "transfer limit"), a client certificate together with
a held (slow-reading) transfer, the TSIG of the proxy's own answers checked
field by field (error code, MAC size, Other Data, MAC verified with the key),
a request signed with a stale Time Signed (BADTIME), and SOA latency probes.

Loopback only: refuses any host outside 127.0.0.0/8 and ::1.

    xotpolicy.py --port P [--ca CA] [--hostname xot.test] [--cert C --key K]
                 [--source ADDR] [--rcvbuf N] [--timeout S]
                 [--tsig ALG:NAME:BASE64] STEP...

Steps (one TLS 1.3 + ALPN dot session runs them all, in order):
  q:SPEC[,SPEC...]     send the queries in one write, read until every
                       outstanding answer stream has ended
  send:SPEC[,SPEC...]  send only; collect[:SECS] reads them
  hold:SECS            neither read nor write for SECS
  touch:PATH           create PATH (a signal to the test script)
  wait:PATH[:SECS]     wait until PATH exists
  probe:SECS:SPEC:FILE one query at a time for SECS, each answered before the
                       next (10 ms apart); FILE gets "EPOCH_SENT LATENCY_MS
                       RCODE" per query; prints count, median and maximum
  eof[:SECS]           expect the peer to close within SECS, no DNS data first
  raw:HEX[*N]          send octets as they are (HEX repeated N times), e.g. a
                       length prefix and part of a frame

SPEC = NAME/TYPE[/edns][/tsig][/tsigtime=OFFSET][/fudge=N][/serial=N][/id=N][/opcode=N]
  tsig     sign with --tsig (RFC 8945; time = now + OFFSET seconds, fudge N, 300)
  optafter append an OPT after everything (after the TSIG: misplaced TSIG)

Output: "connected ..." or "FAIL connect: ...", then one line per stream:
  stream id=N name=Q type=T rcode=R ede=CODE:"TEXT"|- msgs=M records=R
         soas=S echo=yes|no tsig=none|ok|BAD|unsigned tsig_error=E
         mac_len=L other=HEX end=complete|error|incomplete time=S
  (tsig: "ok" = the first answer message carries a TSIG whose MAC verifies
  with the key; "BAD" = it carries one that does not verify; "unsigned" =
  a TSIG with an empty MAC, as for BADSIG/BADKEY; "none" = no TSIG.)
When the peer closes: "closed how=close_notify|abrupt|tls-error(REASON)
after N DNS octets". The last line is "result: ok" or "result: FAILED ...";
exit 0 / 1. A connect or handshake failure exits 2.
"""
import argparse
import base64
import hmac
import ipaddress
import os
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnswire  # noqa: E402
from dnswire import (RCODES, TYPES, WireError, build_query, frame, name_wire,  # noqa: E402
                     question_of, read_name, skip_name)
from xottls import Closed, Conn, Failed, wait_for_file  # noqa: E402

TSIG_ERRORS = {0: "NOERROR", 16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 22: "BADTRUNC"}
HASHES = {"hmac-md5": "md5", "hmac-sha1": "sha1", "hmac-sha224": "sha224", "hmac-sha256": "sha256",
          "hmac-sha384": "sha384", "hmac-sha512": "sha512"}


# -------------------------------------------------------------------- TSIG

def canon(name):
    return name_wire(name.lower())


def alg_wire(alg):
    return canon("hmac-md5.sig-alg.reg.int" if alg == "hmac-md5" else alg)


def tsig_sign(msg, key, offset, fudge=300):
    """msg with a TSIG appended (ARCOUNT + 1); returns (signed, request MAC)."""
    alg, kname, secret = key
    t = int(time.time() + offset)
    qid = struct.unpack("!H", msg[:2])[0]
    tvars = (canon(kname) + struct.pack("!HI", 255, 0) + alg_wire(alg) +
             struct.pack("!HIH", t >> 32, t & 0xFFFFFFFF, fudge) + struct.pack("!HH", 0, 0))
    mac = hmac.new(secret, msg + tvars, HASHES[alg]).digest()
    rdata = (alg_wire(alg) + struct.pack("!HIH", t >> 32, t & 0xFFFFFFFF, fudge) +
             struct.pack("!H", len(mac)) + mac + struct.pack("!HHH", qid, 0, 0))
    rr = canon(kname) + struct.pack("!HHIH", 250, 255, 0, len(rdata)) + rdata
    ar = struct.unpack("!H", msg[10:12])[0]
    return msg[:10] + struct.pack("!H", ar + 1) + msg[12:] + rr, mac


def tsig_check(m, key, req_mac):
    """TSIG facts of one answer message: dict tsig, tsig_error, mac_len, other."""
    r = {"tsig": "none", "tsig_error": "-", "mac_len": "-", "other": "-"}
    qd, an, ns, ar = struct.unpack("!HHHH", m[4:12])
    if ar == 0:
        return r
    p = 12
    for _ in range(qd):
        p = skip_name(m, p) + 4
    start = None
    for _ in range(an + ns + ar):
        start = p
        p = skip_name(m, p)
        rtype, _, _, rdlen = struct.unpack("!HHIH", m[p:p + 10])
        last_type, rd = rtype, p + 10
        p += 10 + rdlen
    if last_type != 250:
        return r
    kname, _ = read_name(m, start)
    alg, q = read_name(m, rd)
    th, tl, fudge, mlen = struct.unpack("!HIHH", m[q:q + 10])
    mac = m[q + 10:q + 10 + mlen]
    q += 10 + mlen
    orig_id, err, olen = struct.unpack("!HHH", m[q:q + 6])
    other = m[q + 6:q + 6 + olen]
    r.update(tsig_error=TSIG_ERRORS.get(err, str(err)), mac_len=str(mlen), other=other.hex() or "-")
    if mlen == 0:
        r["tsig"] = "unsigned"
        return r
    if key is None or req_mac is None:
        r["tsig"] = "BAD(no key)"
        return r
    kalg, kn, secret = key
    if kname != kn.lower().strip(".") or alg.strip(".") not in (kalg, "hmac-md5.sig-alg.reg.int"):
        r["tsig"] = "BAD(key %s alg %s)" % (kname, alg)
        return r
    body = m[:start]
    body = struct.pack("!H", orig_id) + body[2:10] + struct.pack("!H", ar - 1) + body[12:]
    tvars = (canon(kname) + struct.pack("!HI", 255, 0) + alg_wire(kalg) +
             struct.pack("!HIH", th, tl, fudge) + struct.pack("!HH", err, olen) + other)
    want = hmac.new(secret, struct.pack("!H", len(req_mac)) + req_mac + body + tvars, HASHES[kalg]).digest()
    r["tsig"] = "ok" if hmac.compare_digest(want, mac) else "BAD"
    return r


# ------------------------------------------------------------------ answers

def parse_answer(m):
    """dnswire.parse_answer, with each Extended DNS Error as CODE:"TEXT"."""
    r = dnswire.parse_answer(m)
    r["ede"] = ['%d:"%s"' % ct for ct in zip(r["ede"], r["ede_text"])]
    return r


class Stream:
    def __init__(self, qid, name, qtype, tname, req_mac):
        self.qid, self.name, self.qtype, self.tname, self.req_mac = qid, name.strip(".").lower(), qtype, tname, req_mac
        self.t0 = time.monotonic()
        self.msgs = self.records = 0
        self.soas = []
        self.rcode = None
        self.ede = []
        self.echo = None
        self.end = None
        self.tsig = {"tsig": "none", "tsig_error": "-", "mac_len": "-", "other": "-"}
        self.t_last = None

    def feed(self, m, r, key):
        self.msgs += 1
        self.records += r["an"]
        self.soas += r["soas"]
        self.t_last = time.monotonic()
        if self.msgs == 1:
            self.rcode = r["rcode"]
            self.ede = r["ede"]
            self.echo = question_of(m) == (self.name, self.qtype)
            self.tsig = tsig_check(m, key, self.req_mac)
        if r["rcode"] != 0:
            self.rcode = r["rcode"]
            self.end = "error"
        elif self.qtype == 252:
            if len(self.soas) >= 2:
                self.end = "complete"
        elif self.qtype == 251:
            if len(self.soas) >= 2 and self.soas[-1] == self.soas[0]:
                self.end = "complete"
            elif self.msgs == 1 and len(self.soas) == 1 and r["an"] == 1:
                self.end = "complete"
        else:
            self.end = "complete"

    def line(self):
        rc = "-" if self.rcode is None else RCODES.get(self.rcode, str(self.rcode))
        return ("stream id=%d name=%s type=%s rcode=%s ede=%s msgs=%d records=%d soas=%d echo=%s "
                "tsig=%s tsig_error=%s mac_len=%s other=%s end=%s time=%.3f" % (
                    self.qid, self.name, self.tname, rc, ",".join(self.ede) or "-", self.msgs, self.records,
                    len(self.soas), "-" if self.echo is None else ("yes" if self.echo else "no"),
                    self.tsig["tsig"], self.tsig["tsig_error"], self.tsig["mac_len"], self.tsig["other"],
                    self.end or "incomplete", (self.t_last or time.monotonic()) - self.t0))


# ------------------------------------------------------------------- queries

def parse_key(text):
    alg, name, secret = text.split(":", 2)
    if alg not in HASHES:
        raise SystemExit("xotpolicy: unknown TSIG algorithm %s" % alg)
    return alg, name, base64.b64decode(secret)


def make_query(spec, next_id, key):
    parts = spec.split("/")
    name, tname = parts[0], parts[1].upper()
    qtype = TYPES.get(tname) or int(tname)
    o = {"serial": None, "id": next_id, "opcode": 0, "edns": False, "tsig": False, "tsigtime": 0,
         "optafter": False, "fudge": 300}
    for p in parts[2:]:
        k, _, v = p.partition("=")
        if k in ("edns", "tsig", "optafter"):
            o[k] = True
        elif k == "tsigtime":
            o["tsig"] = True
            o["tsigtime"] = float(v)
        elif k in o:
            o[k] = int(v)
        else:
            raise Failed("unknown query option %s in %s" % (k, spec))
    if qtype == 251 and o["serial"] is None:
        o["serial"] = 0
    msg = build_query(o["id"], name, qtype, o["serial"], o["edns"], o["opcode"])
    mac = None
    if o["tsig"]:
        if key is None:
            raise Failed("%s: tsig without --tsig" % spec)
        msg, mac = tsig_sign(msg, key, o["tsigtime"], o["fudge"])
    if o["optafter"]:               # an OPT after the TSIG: the TSIG is not last (RFC 8945 5.2)
        ar = struct.unpack("!H", msg[10:12])[0]
        msg = msg[:10] + struct.pack("!H", ar + 1) + msg[12:] + b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return o["id"], name, qtype, tname, mac, frame(msg)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca")
    ap.add_argument("--hostname", default="xot.test")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--source")
    ap.add_argument("--rcvbuf", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=15)
    ap.add_argument("--tsig", help="ALG:NAME:BASE64SECRET for /tsig queries and answer checks")
    ap.add_argument("steps", nargs="+")
    a = ap.parse_args()
    if not ipaddress.ip_address(a.host).is_loopback or (a.source and not ipaddress.ip_address(a.source).is_loopback):
        sys.exit("xotpolicy: loopback addresses only")
    key = parse_key(a.tsig) if a.tsig else None
    t_start = time.monotonic()

    def out(line):
        print("%.3f %s" % (time.monotonic() - t_start, line), flush=True)

    try:
        cn = Conn(a)
    except (Failed, ssl.SSLError, OSError) as e:
        out("FAIL connect: %s" % e)
        return 2
    out("connected from %s#%d, TLS 1.3, ALPN dot%s" % (cn.local[0], cn.local[1],
                                                       ", client certificate sent" if a.cert else ""))
    live, ended, bad = {}, set(), []
    next_id = [0x4000]
    last = [None]
    quiet = [False]

    def collect(secs):
        deadline = time.monotonic() + secs
        while live:
            left = deadline - time.monotonic()
            if left <= 0:
                for st in list(live.values()):
                    out(st.line() + " (no end within %.1f s)" % secs)
                bad.append("timeout")
                return False
            if not cn.recv(left):
                continue
            for m in cn.frames():
                r = parse_answer(m)
                st = live.get(r["id"])
                if st is None or not r["qr"]:
                    out("unexpected message id=%d qr=%d rcode=%s %s" % (
                        r["id"], r["qr"], RCODES.get(r["rcode"], r["rcode"]),
                        "after its stream ended" if r["id"] in ended else "matching no query"))
                    bad.append("unexpected id %d" % r["id"])
                    continue
                st.feed(m, r, key)
                if st.end:
                    del live[st.qid]
                    ended.add(st.qid)
                    last[0] = st
                    if not quiet[0]:
                        out(st.line())
        return True

    def send(arg, quiet=False):
        wire = b""
        for qs in arg.split(","):
            qid, name, qtype, tname, mac, f = make_query(qs, next_id[0], key)
            next_id[0] = max(next_id[0], qid) + 1
            if qid in live:
                raise Failed("id %d is still outstanding" % qid)
            live[qid] = Stream(qid, name, qtype, tname, mac)
            wire += f
        cn.send(wire)
        if not quiet:
            out("sent %s" % arg)

    def probe(arg):
        secs, spec, path = arg.split(":", 2)
        lats = []
        quiet[0] = True
        t_end = time.monotonic() + float(secs)
        with open(path, "w") as f:
            while time.monotonic() < t_end:
                sent = time.time()
                send(spec, quiet=True)
                if not collect(a.timeout):
                    raise Failed("probe: no answer within %.1f s" % a.timeout)
                lat = (time.time() - sent) * 1000
                lats.append(lat)
                st = last[0]
                f.write("%.6f %.3f %s\n" % (sent, lat, RCODES.get(st.rcode, st.rcode)))
                f.flush()
                time.sleep(0.01)
        quiet[0] = False
        lats.sort()
        out("probe %s: %d queries, median %.1f ms, max %.1f ms" % (
            spec, len(lats), lats[len(lats) // 2] if lats else 0, lats[-1] if lats else 0))

    kind = ""
    try:
        for spec in a.steps:
            kind, _, arg = spec.partition(":")
            if kind in ("q", "send"):
                send(arg)
                if kind == "q" and not collect(a.timeout):
                    break
            elif kind == "collect":
                if not collect(float(arg) if arg else a.timeout):
                    break
            elif kind == "hold":
                out("holding %s s (not reading)" % arg)
                time.sleep(float(arg))
            elif kind == "touch":
                open(arg, "w").close()
                out("touched %s" % arg)
            elif kind == "wait":
                p = arg.split(":")
                wait_for_file(p[0], float(p[1]) if len(p) > 1 else 60)
                out("wait %s: there" % p[0])
            elif kind == "probe":
                probe(arg)
            elif kind == "raw":
                hx, _, times = arg.partition("*")
                octets = bytes.fromhex(hx) * (int(times) if times else 1)
                cn.send(octets)
                out("sent %d raw octets" % len(octets))
            elif kind == "eof":
                cn.expect_eof(float(arg) if arg else 5.0)
            else:
                raise Failed("unknown step %s" % spec)
    except Closed as e:
        out("closed how=%s after %d DNS octets" % (e, cn.received))
        for st in list(live.values()):
            out(st.line())
            bad.append("incomplete %d" % st.qid)
        if kind != "eof":
            bad.append("closed")
    except (Failed, WireError, ssl.SSLError, OSError) as e:
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
    out("result: %s" % ("ok" if not bad else "FAILED: " + "; ".join(bad[:5])))
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
