#!/usr/bin/python3
"""make.py - writes the TSIG test vectors (*.txt beside this file) that
tests/unit/test_tsig.c checks proxy/lib/tsig.c against.

Every signed request and every expected signed answer is computed by dnspython
(Debian's python3-dnspython; /usr/bin/python3), an implementation independent
of proxy/lib/tsig.c: requests come from dns.message.Message.to_wire() with a TSIG
key, expected answers from dns.tsig.sign() over the unsigned answer with the
request MAC. Each signed answer of a good request is then validated again by
dns.message.from_wire(keyring=..., request_mac=...). The clock is fixed, so
the output is deterministic.

    /usr/bin/python3 tests/unit/tsig_vectors/make.py          rewrite the vectors
    /usr/bin/python3 tests/unit/tsig_vectors/make.py --check  regenerate in memory,
                                                              exit 1 if a file differs
    /usr/bin/python3 tests/unit/tsig_vectors/make.py --kdig   (re)capture kdig_*.txt

kdig_*.txt hold queries signed by Knot's kdig (-y ALG:NAME:SECRET, one per
algorithm) as captured by a local UDP listener, at the time kdig signed them.
The expected answer to each is again dnspython's, and at capture time it was
sent back to kdig, which verified it (no "failed to verify TSIG" warning):
so the bytes tsig_sign_answer must produce are accepted by Knot as well.
--check recomputes those answers from the stored request and time.

Vector file lines (one field per line, '#' starts a comment):
    key NAME ALG BASE64        a key the verifier knows (repeatable)
    request HEX                the query as sent
    verify NOW RESULT          tsig_verify_query(request, keys, NOW) -> RESULT (repeatable)
    answer HEX                 the proxy's answer before signing
    sign NOW ERROR             tsig_sign_answer(answer, req, NOW, ERROR) ...
    signed HEX                 ... must return exactly these bytes
"""
import base64
import hashlib
import os
import socket
import struct
import subprocess
import sys
import time
from unittest import mock

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.rrset
import dns.tsig
import dns.version
import dns.wire

T = 1700000000                      # Time Signed of every request
HERE = os.path.dirname(os.path.abspath(__file__))


def secret(label, n):
    """n deterministic secret octets."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}/{i}".encode()).digest()
        i += 1
    return out[:n]


class K:
    def __init__(self, name, alg, nbytes, label=None):
        self.name, self.alg = name, alg
        self.secret = secret(label or name.lower(), nbytes)

    def dns(self, name=None, alg=None):
        return dns.tsig.Key(name or self.name, self.secret, alg or self.alg)

    def line(self):
        return f"key {self.name.lower()} {self.alg.lower()} {base64.b64encode(self.secret).decode()}"


K1 = K("sha1-key.", "hmac-sha1", 20)
K256 = K("xfr-key.", "hmac-sha256", 32)
K384 = K("xfr-sha384.key.", "hmac-sha384", 48)
K512 = K("tsig.example.test.", "hmac-sha512", 64)
KLONG = K("long-secret.", "hmac-sha256", 100)
ALL = [K1, K256, K384, K512, KLONG]


def query(qname="example.test", qtype="AXFR", qid=0x1001, edns=False, ixfr_serial=None):
    q = dns.message.make_query(qname, qtype, use_edns=0 if edns else False)
    q.id = qid
    q.flags = 0
    if ixfr_serial is not None:
        soa = dns.rrset.from_text(qname + ".", 0, "IN", "SOA",
                                  f"ns1.{qname}. admin.{qname}. {ixfr_serial} 3600 600 86400 300")
        q.authority.append(soa)
    return q


def sign_query(q, key, *, time=T, fudge=300, original_id=None, keyname=None, alg=None):
    """(signed wire, request MAC, offset of the TSIG RR)."""
    unsigned = q.to_wire()
    q.use_tsig(key.dns(keyname, alg), fudge=fudge, original_id=original_id)
    with mock.patch("time.time", return_value=time):
        wire = q.to_wire()
    assert wire[12:len(unsigned)] == unsigned[12:], "TSIG must only be appended"
    return wire, q.mac, len(unsigned)


def tsig_rr(owner, rd):
    """An uncompressed TSIG RR (owner lowercase), as proxy/lib/tsig.c writes it."""
    rdw = rd.to_wire()
    return (dns.name.from_text(owner.lower()).to_wire()
            + struct.pack("!HHIH", dns.rdatatype.TSIG, dns.rdataclass.ANY, 0, len(rdw)) + rdw)


def append_rr(wire, rr):
    (ar,) = struct.unpack("!H", wire[10:12])
    return wire[:10] + struct.pack("!H", ar + 1) + wire[12:] + rr


def expected_answer(ans, *, keyname, alg, key, req_mac, req_time, fudge, orig_id, now, error):
    """dnspython's TSIG for the proxy's answer (RFC 8945 §5.3, §5.2.3, §5.3.2)."""
    algname = dns.name.from_text(alg.lower())
    if error in (0, dns.rcode.BADTIME):
        ts = req_time if error == dns.rcode.BADTIME else now
        other = struct.pack("!HI", now >> 32, now & 0xFFFFFFFF) if error else b""
        tmpl = dns.rdtypes.ANY.TSIG.TSIG(dns.rdataclass.ANY, dns.rdatatype.TSIG, algname, ts,
                                         fudge, b"", orig_id, error, other)
        (rd, _) = dns.tsig.sign(ans, key, tmpl, ts, req_mac)
    else:
        rd = dns.rdtypes.ANY.TSIG.TSIG(dns.rdataclass.ANY, dns.rdatatype.TSIG, algname, now,
                                       fudge, b"", orig_id, error, b"")
    out = append_rr(ans, tsig_rr(keyname, rd))
    if error == 0:
        # Independent check: dnspython validates the answer to this request.
        with mock.patch("time.time", return_value=now):
            dns.message.from_wire(out, keyring={dns.name.from_text(keyname): key},
                                  request_mac=req_mac)
    return out


class Case:
    def __init__(self, name, comment):
        self.name, self.lines = name, [f"# {comment}"]

    def add(self, line):
        self.lines.append(line)

    def text(self):
        return "\n".join(["# generated by make.py with dnspython " + dns.version.version
                          + "; do not edit"] + self.lines) + "\n"


def make_answer(unsigned_query):
    """Unsigned answer (NOERROR, AA, the zone's SOA) to an unsigned query."""
    parsed = dns.message.from_wire(unsigned_query)
    r = dns.message.make_response(parsed)
    r.flags |= dns.flags.AA
    name = parsed.question[0].name
    r.answer.append(dns.rrset.from_text(
        name, 300, "IN", "SOA", f"ns1.{name} admin.{name} 2024010101 3600 600 86400 300"))
    return r.to_wire()


def make_error_answer(unsigned_query, rcode):
    parsed = dns.message.from_wire(unsigned_query)
    r = dns.message.make_response(parsed)
    r.set_rcode(rcode)
    return r.to_wire()


def name_len(wire, at):
    """Octets the (possibly compressed) name at wire[at] takes in place."""
    p = at
    while wire[p] != 0:
        if wire[p] & 0xC0 == 0xC0:
            return p + 2 - at
        p += wire[p] + 1
    return p + 1 - at


def truncate_mac(wire, start, n):
    """Rewrites the TSIG at wire[start:] with its MAC cut (or padded) to n octets."""
    owner_len = name_len(wire, start)
    rd_at = start + owner_len + 10
    rd = dns.rdtypes.ANY.TSIG.TSIG.from_wire_parser(
        dns.rdataclass.ANY, dns.rdatatype.TSIG,
        dns.wire.Parser(wire[rd_at:]), None)
    mac = (rd.mac + b"\xAA" * 64)[:n]
    rd = rd.replace(mac=mac)
    rdw = rd.to_wire()
    return wire[:start + owner_len + 8] + struct.pack("!H", len(rdw)) + rdw, mac


def good(name, comment, key, q, *, keyname=None, alg=None, original_id=None, fudge=300,
         checks=((T, "OK"),), answer=True):
    c = Case(name, comment)
    for k in ALL:
        c.add(k.line())
    unsigned = q.to_wire()
    wire, mac, start = sign_query(q, key, fudge=fudge, original_id=original_id,
                                  keyname=keyname, alg=alg)
    with mock.patch("time.time", return_value=T):
        dns.message.from_wire(wire, keyring={dns.name.from_text(key.name): key.dns()})
    c.add(f"request {wire.hex()}")
    for now, res in checks:
        c.add(f"verify {now} {res}")
    if answer:
        ans = make_answer(unsigned)
        now = T + 7
        oid = original_id if original_id is not None else q.id
        c.add(f"answer {ans.hex()}")
        c.add(f"sign {now} 0")
        c.add("signed " + expected_answer(
            ans, keyname=keyname or key.name, alg=alg or key.alg, key=key.dns(),
            req_mac=mac, req_time=T, fudge=fudge, orig_id=oid, now=now, error=0).hex())
    return c, wire, start


def cases():
    out = []
    # -- the four algorithms, names in odd cases, compression, long secret ----
    out.append(good("ok_sha1", "hmac-sha1, AXFR", K1, query())[0])
    out.append(good("ok_sha256_edns_ixfr",
                    "hmac-sha256, IXFR with SOA in authority and an OPT before the TSIG",
                    K256, query(qtype="IXFR", edns=True, ixfr_serial=2024010100))[0])
    out.append(good("ok_sha384_mixed_case",
                    "hmac-sha384, key and algorithm names in mixed case on the wire",
                    K384, query(qid=0x3003), keyname="XFR-Sha384.KEY.", alg="HMAC-SHA384")[0])
    c, wire, start = good("ok_sha512_compressed_owner",
                          "hmac-sha512, TSIG owner name compressed (points into the question)",
                          K512, query(qname="Example.TEST", qid=0x5005),
                          keyname="Tsig.Example.Test.")
    assert wire[start + 5] & 0xC0 == 0xC0, "owner should be compressed"
    out.append(c)
    out.append(good("ok_long_secret", "hmac-sha256 with a 100-octet secret (hashed by HMAC)",
                    KLONG, query(qid=0x6006))[0])
    out.append(good("ok_original_id",
                    "header ID 0x2222 differs from Original ID 0x1111 (a forwarder rewrote it)",
                    K256, query(qid=0x2222), original_id=0x1111)[0])
    out.append(good("time_window",
                    "fudge 60: Time Signed +-60 s is in, 61 s is BADTIME (checked after the MAC)",
                    K256, query(qid=0x7007), fudge=60,
                    checks=((T - 61, "BADTIME"), (T - 60, "OK"), (T, "OK"), (T + 60, "OK"),
                            (T + 61, "BADTIME")), answer=False)[0])

    # -- truncated MACs (RFC 8945 §5.2.2.1) -------------------------------------
    for key, n, res in ((K256, 16, "OK"), (K1, 10, "OK"), (K384, 24, "OK"), (K512, 32, "OK"),
                        (K256, 31, "OK"),
                        (K256, 15, "FORMERR"), (K1, 9, "FORMERR"), (K384, 23, "FORMERR"),
                        (K512, 31, "FORMERR"), (K256, 33, "FORMERR"), (K1, 21, "FORMERR"),
                        (K256, 0, "FORMERR")):
        c = Case(f"trunc_{key.alg[5:]}_{n}",
                 f"{key.alg} MAC cut to {n} octets: {res}")
        for k in ALL:
            c.add(k.line())
        q = query(qid=0x0800 + n)
        unsigned = q.to_wire()
        wire, _, start = sign_query(q, key)
        wire, mac = truncate_mac(wire, start, n)
        c.add(f"request {wire.hex()}")
        c.add(f"verify {T} {res}")
        if res == "OK":
            ans = make_answer(unsigned)
            c.add(f"answer {ans.hex()}")
            c.add(f"sign {T + 1} 0")
            c.add("signed " + expected_answer(
                ans, keyname=key.name, alg=key.alg, key=key.dns(), req_mac=mac, req_time=T,
                fudge=300, orig_id=q.id, now=T + 1, error=0).hex())
        out.append(c)

    # -- errors -------------------------------------------------------------------
    def err_case(name, comment, sign_key, verify_now, result, error, keyname=None, alg=None,
                 tamper=None, verify_keys=ALL):
        c = Case(name, comment)
        for k in verify_keys:
            c.add(k.line())
        q = query(qid=0x0900 + len(out))
        unsigned = q.to_wire()
        wire, mac, start = sign_query(q, sign_key, keyname=keyname, alg=alg)
        if tamper:
            wire = tamper(wire)
        c.add(f"request {wire.hex()}")
        c.add(f"verify {verify_now} {result}")
        if error is not None:
            rcode = dns.rcode.NOTAUTH
            ans = make_error_answer(unsigned, rcode)
            c.add(f"answer {ans.hex()}")
            c.add(f"sign {verify_now} {error}")
            c.add("signed " + expected_answer(
                ans, keyname=keyname or sign_key.name, alg=alg or sign_key.alg,
                key=sign_key.dns(), req_mac=mac, req_time=T, fudge=300, orig_id=q.id,
                now=verify_now, error=error).hex())
        out.append(c)

    wrong = K("xfr-key.", "hmac-sha256", 32, label="not the configured secret")
    err_case("badsig_wrong_secret", "xfr-key signed with another secret: BADSIG, unsigned "
             "answer with error 16", wrong, T, "BADSIG", 16)
    err_case("badsig_before_badtime", "wrong secret and outside the fudge: the MAC is checked "
             "first, BADSIG", wrong, T + 1000, "BADSIG", None)
    err_case("badsig_tampered", "a question octet changed after signing: BADSIG", K256, T,
             "BADSIG", None, tamper=lambda w: w[:13] + b"E" + w[14:])
    err_case("badsig_flags_tampered", "RD set after signing: BADSIG", K256, T, "BADSIG", None,
             tamper=lambda w: w[:2] + bytes([w[2] | 1]) + w[3:])
    err_case("ok_id_rewritten", "header ID changed after signing: the Original ID is used, OK",
             K256, T, "OK", None, tamper=lambda w: b"\xBE\xEF" + w[2:])
    other = K("other-key.", "hmac-sha256", 32)
    err_case("badkey_unknown_name", "key name not configured: BADKEY, unsigned answer with "
             "error 17", other, T, "BADKEY", 17)
    err_case("badkey_alg_mismatch", "xfr-key is hmac-sha256 here, signed as hmac-sha512: "
             "BADKEY", K("xfr-key.", "hmac-sha512", 32, label="xfr-key."), T, "BADKEY", 17)
    err_case("badkey_unknown_alg", "hmac-md5 (not supported): BADKEY",
             K("xfr-key.", "hmac-md5.sig-alg.reg.int", 32, label="xfr-key."), T, "BADKEY", 17)
    err_case("badkey_no_keys", "no key configured at all: BADKEY", K256, T, "BADKEY", None,
             verify_keys=[])
    err_case("badtime_late", "signed 1000 s before now: BADTIME, signed answer with error 18, "
             "Time Signed = the request's, Other Data = server time", K256, T + 1000, "BADTIME",
             18)
    err_case("badtime_early", "signed 301 s in the future: BADTIME", K512, T - 301, "BADTIME",
             18)

    # -- placement and syntax (RFC 8945 §5.2: FORMERR) ---------------------------
    def formerr(name, comment, make):
        c = Case(name, comment)
        for k in ALL:
            c.add(k.line())
        q = query(qid=0x0A00 + len(out))
        wire, _, start = sign_query(q, K256)
        wire = make(wire, start)
        c.add(f"request {wire.hex()}")
        c.add(f"verify {T} {'UNSIGNED' if name == 'unsigned' else 'FORMERR'}")
        out.append(c)

    a_rr = (b"\x07example\x04test\x00" + struct.pack("!HHIH", 1, 1, 300, 4) + b"\x0a\x00\x00\x01")

    def bump(w, off, d):
        (v,) = struct.unpack("!H", w[off:off + 2])
        return w[:off] + struct.pack("!H", v + d) + w[off + 2:]

    formerr("formerr_not_last", "an A record after the TSIG in the additional section",
            lambda w, s: bump(w, 10, 1) + a_rr)
    formerr("formerr_two_tsig", "the TSIG twice", lambda w, s: bump(w, 10, 1) + w[s:])
    formerr("formerr_tsig_in_answer", "the TSIG as the only record, in the answer section",
            lambda w, s: bump(bump(w, 10, -1), 6, 1))
    formerr("formerr_tsig_in_authority", "the TSIG as the only record, in the authority "
            "section", lambda w, s: bump(bump(w, 10, -1), 8, 1))
    formerr("formerr_class_in", "TSIG class IN instead of ANY",
            lambda w, s: w[:s + 11] + b"\x00\x01" + w[s + 13:])
    formerr("formerr_trailing", "one octet after the TSIG", lambda w, s: w + b"\x00")
    formerr("formerr_rdata_long", "TSIG RDLENGTH one more than its fields (Other Len 0)",
            lambda w, s: bump(w, s + 17, 1) + b"\x00")
    formerr("formerr_other_len", "Other Len says 6 with no Other Data",
            lambda w, s: w[:-2] + b"\x00\x06")
    formerr("formerr_alg_compressed", "algorithm name compressed (pointer to the question)",
            lambda w, s: compress_alg(w, s))
    formerr("unsigned", "no TSIG at all", lambda w, s: bump(w[:s], 10, -1))
    return out


def compress_alg(w, s):
    """Replaces the TSIG algorithm name (hmac-sha256.) with a pointer to the
    question name (12), fixing RDLENGTH: still readable, but compressed."""
    owner = 9                                   # \x07xfr-key\x00
    rd_at = s + owner + 10
    alg_len = len(dns.name.from_text("hmac-sha256.").to_wire())
    assert w[rd_at:rd_at + alg_len] == dns.name.from_text("hmac-sha256.").to_wire()
    rest = w[rd_at + alg_len:]
    rd = b"\xC0\x0C" + rest
    return w[:s + owner + 8] + struct.pack("!H", len(rd)) + rd


def tsig_start(wire):
    """Offset of the last record (the TSIG) of a message."""
    (qd, an, ns, ar) = struct.unpack("!HHHH", wire[4:12])
    p = 12
    for _ in range(qd):
        p += name_len(wire, p) + 4
    last = None
    for _ in range(an + ns + ar):
        last = p
        p += name_len(wire, p)
        (rdlen,) = struct.unpack("!H", wire[p + 8:p + 10])
        p += 10 + rdlen
    assert p == len(wire) and last is not None
    return last


def kdig_vector(key, wire, now):
    """The vector for a query kdig signed with key, answered at time now."""
    kr = {dns.name.from_text(key.name): key.dns()}
    start = tsig_start(wire)
    rd = dns.rdtypes.ANY.TSIG.TSIG.from_wire_parser(
        dns.rdataclass.ANY, dns.rdatatype.TSIG,
        dns.wire.Parser(wire[start + name_len(wire, start) + 10:]), None)
    with mock.patch("time.time", return_value=rd.time_signed):
        m = dns.message.from_wire(wire, keyring=kr)        # dnspython agrees with kdig
    unsigned = wire[:10] + struct.pack("!H", len(m.additional) + (1 if m.opt else 0)) \
        + wire[12:start]
    c = Case(f"kdig_{key.alg[5:]}", f"query signed by kdig -y {key.alg}:{key.name}:...")
    for k in ALL:
        c.add(k.line())
    c.add(f"request {wire.hex()}")
    c.add(f"verify {rd.time_signed} OK")
    c.add(f"verify {rd.time_signed + rd.fudge + 1} BADTIME")
    ans = make_answer(unsigned)
    c.add(f"answer {ans.hex()}")
    c.add(f"sign {now} 0")
    signed = expected_answer(ans, keyname=key.name, alg=key.alg, key=key.dns(), req_mac=rd.mac,
                             req_time=rd.time_signed, fudge=rd.fudge, orig_id=rd.original_id,
                             now=now, error=0)
    c.add(f"signed {signed.hex()}")
    return c, signed


def kdig_capture(key):
    """Captures kdig's signed SOA query, answers it with dnspython's signed
    answer and requires kdig to verify that answer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    spec = f"{key.alg}:{key.name}:{base64.b64encode(key.secret).decode()}"
    p = subprocess.Popen(["kdig", "@127.0.0.1", "-p", str(s.getsockname()[1]), "+notcp",
                          "+retry=0", "+timeout=3", "-y", spec, "example.test", "SOA"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wire, addr = s.recvfrom(65535)
    c, signed = kdig_vector(key, wire, int(time.time()))
    s.sendto(signed, addr)
    out = p.communicate(timeout=10)[0]
    s.close()
    if "WARNING" in out or "TSIG PSEUDOSECTION" not in out or "status: NOERROR" not in out:
        raise SystemExit(f"kdig did not accept the signed answer:\n{out}")
    return c


def kdig_recheck(path):
    """Rebuilds a stored kdig vector from its request and signing time."""
    fields = {}
    for line in open(path):
        if not line.startswith("#"):
            k, v = line.rstrip("\n").split(" ", 1)
            fields.setdefault(k, v)
    name = os.path.basename(path)[5:-4]
    key = {k.alg[5:]: k for k in (K1, K256, K384, K512)}[name]
    c, _ = kdig_vector(key, bytes.fromhex(fields["request"]), int(fields["sign"].split()[0]))
    return c


def main():
    check = "--check" in sys.argv[1:]
    bad = 0
    names = set()
    if "--kdig" in sys.argv[1:]:
        for key in (K1, K256, K384, K512):
            c = kdig_capture(key)
            with open(os.path.join(HERE, c.name + ".txt"), "w") as f:
                f.write(c.text())
            print(f"{c.name}: kdig verified the answer")
        return 0
    kdig = sorted(f for f in os.listdir(HERE) if f.startswith("kdig_") and f.endswith(".txt"))
    recheck = [kdig_recheck(os.path.join(HERE, f)) for f in kdig] if check else []
    names.update(f[:-4] for f in kdig)
    for c in cases() + recheck:
        assert c.name not in names or c.name.startswith("kdig_"), c.name
        names.add(c.name)
        path = os.path.join(HERE, c.name + ".txt")
        text = c.text()
        if check:
            try:
                with open(path) as f:
                    same = f.read() == text
            except FileNotFoundError:
                same = False
            if not same:
                print(f"differs: {path}", file=sys.stderr)
                bad += 1
        elif not c.name.startswith("kdig_"):
            with open(path, "w") as f:
                f.write(text)
    stale = [f for f in os.listdir(HERE) if f.endswith(".txt") and f[:-4] not in names]
    for f in stale:
        print(f"stale vector (not generated): {f}", file=sys.stderr)
        bad += 1
    print(f"{len(names)} vectors {'checked' if check else 'written'}"
          f"{', ' + str(bad) + ' problems' if bad else ''}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
