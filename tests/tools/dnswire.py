"""dnswire.py - the DNS wire helpers shared by the test and bench clients
(stdlib only): build queries, frame them for TCP/TLS, walk answers."""
import struct

TYPES = {"A": 1, "NS": 2, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "IXFR": 251, "AXFR": 252, "ANY": 255}


def name_wire(name):
    """Uncompressed wire form of a presentation name."""
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def build_query(qid, name, qtype, serial=None, edns=False, opcode=0, qd=1):
    """A query message (no length prefix). IXFR carries an authority SOA with
    `serial`; `edns` adds an empty OPT; `qd` repeats the question (for
    malformed-count tests)."""
    q = name_wire(name) + struct.pack("!HH", qtype, 1)
    ns = b""
    if qtype == TYPES["IXFR"]:
        rdata = b"\0\0" + struct.pack("!IIIII", serial or 0, 0, 0, 0, 0)
        ns = name_wire(name) + struct.pack("!HHIH", 6, 1, 0, len(rdata)) + rdata
    ar = b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0) if edns else b""
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
