"""dnswire.py - the DNS wire helpers shared by the test and bench clients
(stdlib only): build queries, frame them for TCP/TLS, walk answers (names,
the question, SOA serials, RCODE and Extended DNS Errors). The TLS side is
in xottls.py."""
import struct

TYPES = {"A": 1, "NS": 2, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "IXFR": 251, "AXFR": 252, "ANY": 255}


def name_wire(name):
    """Uncompressed wire form of a presentation name."""
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def build_query(qid, name, qtype, serial=None, edns=False, opcode=0, qd=1, edns_size=1232):
    """A query message (no length prefix). IXFR carries an authority SOA with
    `serial`; `edns` adds an empty OPT (UDP size `edns_size`); `qd` repeats
    the question (for malformed-count tests)."""
    q = name_wire(name) + struct.pack("!HH", qtype, 1)
    ns = b""
    if qtype == TYPES["IXFR"]:
        rdata = b"\0\0" + struct.pack("!IIIII", serial or 0, 0, 0, 0, 0)
        ns = name_wire(name) + struct.pack("!HHIH", 6, 1, 0, len(rdata)) + rdata
    ar = b"\0" + struct.pack("!HHIH", 41, edns_size, 0, 0) if edns else b""
    hdr = struct.pack("!HBBHHHH", qid, opcode << 3, 0, qd, 0, 1 if ns else 0, 1 if ar else 0)
    return hdr + q * qd + ns + ar


def frame(msg):
    """DNS over TCP/TLS framing: a 2-octet length, then the message."""
    return struct.pack("!H", len(msg)) + msg


def skip_name(m, p):
    """Position after the (possibly compressed) name at m[p]."""
    while True:
        b = m[p]
        if b & 0xC0 == 0xC0:
            return p + 2
        if b == 0:
            return p + 1
        p += b + 1


def answer_soas(m):
    """(serials of the SOA records in the answer section, ANCOUNT)."""
    qd, an = struct.unpack("!HH", m[4:8])
    p = 12
    for _ in range(qd):
        p = skip_name(m, p) + 4
    serials = []
    for _ in range(an):
        p = skip_name(m, p)
        rtype, _, _, rdlen = struct.unpack("!HHIH", m[p:p + 10])
        p += 10
        if rtype == 6:
            q = skip_name(m, skip_name(m, p))
            serials.append(struct.unpack("!I", m[q:q + 4])[0])
        p += rdlen
    return serials, an


RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          9: "NOTAUTH", 16: "BADVERS"}


class WireError(ValueError):
    """A message the helpers cannot walk (a compression loop)."""


def read_name(m, p):
    """(lower-case presentation name, position after it), following
    compression pointers (at most 64)."""
    labels, end, hops = [], None, 0
    while True:
        b = m[p]
        if b & 0xC0 == 0xC0:
            if end is None:
                end = p + 2
            p = ((b & 0x3F) << 8) | m[p + 1]
            hops += 1
            if hops > 64:
                raise WireError("name compression loop")
            continue
        if b == 0:
            return ".".join(labels).lower(), (end if end is not None else p + 1)
        labels.append(m[p + 1:p + 1 + b].decode("ascii", "replace"))
        p += b + 1


def question_of(m, follow=True):
    """(lower-case QNAME, QTYPE) of the first question, or None (no
    question, a malformed one, or with follow=False a compressed one)."""
    if len(m) < 12 or struct.unpack("!H", m[4:6])[0] == 0:
        return None
    try:
        if not follow:
            p = 12
            while m[p]:
                if m[p] & 0xC0:
                    return None
                p += m[p] + 1
        name, p = read_name(m, 12)
        return name, struct.unpack("!H", m[p:p + 2])[0]
    except (IndexError, struct.error, WireError):
        return None


def parse_answer(m):
    """dict of one message: id, qr, hdr_rcode (the header's 4 bits), rcode
    (extended when an OPT is there), qd/an/ns/ar counts, soas (serials of
    the SOA records in the answer section), opt (an OPT is there), ede and
    ede_text (the Extended DNS Error codes and texts, in order). Raises on
    malformed input."""
    qid, fl1, fl2, qd, an, ns, ar = struct.unpack("!HBBHHHH", m[:12])
    r = {"id": qid, "qr": fl1 >> 7, "hdr_rcode": fl2 & 0x0F, "rcode": fl2 & 0x0F, "qd": qd, "an": an,
         "ns": ns, "ar": ar, "soas": [], "ede": [], "ede_text": [], "opt": False}
    p = 12
    for _ in range(qd):
        p = skip_name(m, p) + 4
    for sect, n in ((1, an), (2, ns), (3, ar)):
        for _ in range(n):
            p = skip_name(m, p)
            rtype, _, ttl, rdlen = struct.unpack("!HHIH", m[p:p + 10])
            p += 10
            if sect == 1 and rtype == 6:
                q = skip_name(m, skip_name(m, p))
                r["soas"].append(struct.unpack("!I", m[q:q + 4])[0])
            if rtype == 41:
                r["opt"] = True
                r["rcode"] |= (ttl >> 24) << 4
                o, end = p, p + rdlen
                while o + 4 <= end:
                    code, olen = struct.unpack("!HH", m[o:o + 4])
                    if code == 15 and olen >= 2:
                        r["ede"].append(struct.unpack("!H", m[o + 4:o + 6])[0])
                        r["ede_text"].append(m[o + 6:o + 4 + olen].decode("utf-8", "replace"))
                    o += 4 + olen
            p += rdlen
    return r
