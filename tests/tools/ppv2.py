#!/usr/bin/env python3
"""ppv2.py - one DNS query over plaintext TCP behind a hand-made PROXY
protocol v2 header (HAProxy proxy-protocol.txt §2.2), stdlib only: checks a
backend's PROXY v2 setup (PowerDNS proxy-protocol-from) independently of
xotproxy. Loopback only.

    ppv2.py --port P --src ADDR [--src-port N] [--tlvs] [--no-header] NAME TYPE

--tlvs adds what xotproxy may send: PP2_TYPE_AUTHORITY "xot.test" and
PP2_TYPE_SSL (client SSL|CERT_CONN|CERT_SESS, verify 0, SSL_VERSION
"TLSv1.3"). Prints one line:
    rcode=R msgs=M records=N soas=S end=complete|error|closed|timeout
"""
import argparse
import ipaddress
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import TYPES, answer_soas, build_query, frame  # noqa: E402

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 9: "NOTAUTH"}
SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def tlv(t, v):
    return bytes([t]) + struct.pack("!H", len(v)) + v


def header(src, sport, dst, dport, tlvs):
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 4:
        fam, body = 0x11, s.packed + d.packed + struct.pack("!HH", sport, dport)
    else:
        fam, body = 0x21, s.packed + d.packed + struct.pack("!HH", sport, dport)
    if tlvs:
        ssl = bytes([0x07]) + struct.pack("!I", 0) + tlv(0x21, b"TLSv1.3")
        body += tlv(0x02, b"xot.test") + tlv(0x20, ssl)
    return SIG + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--src", required=True, help="client address to claim")
    ap.add_argument("--src-port", type=int, default=40000)
    ap.add_argument("--tlvs", action="store_true")
    ap.add_argument("--no-header", action="store_true")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("name")
    ap.add_argument("type")
    a = ap.parse_args()
    if not ipaddress.ip_address(a.host).is_loopback:
        sys.exit("ppv2: loopback only")
    qtype = TYPES.get(a.type.upper()) or int(a.type)
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    hdr = b"" if a.no_header else header(a.src, a.src_port, a.host, a.port, a.tlvs)
    s.sendall(hdr + frame(build_query(0x5151, a.name, qtype)))
    buf, msgs, records, soas, rcode, end = b"", 0, 0, 0, None, None
    try:
        while end is None:
            c = s.recv(65536)
            if not c:
                end = "closed"
                break
            buf += c
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                n = struct.unpack("!H", buf[:2])[0]
                m, buf = buf[2:2 + n], buf[2 + n:]
                msgs += 1
                rc = m[3] & 0x0F
                rcode = rc if rcode is None or rc else rcode
                serials, an = answer_soas(m)
                records += an
                soas += len(serials)
                if rc:
                    end = "error"
                elif qtype != 252 or soas >= 2:
                    end = "complete"
                if end:
                    break
    except socket.timeout:
        end = "timeout"
    except ConnectionError:
        end = "closed"
    print("rcode=%s msgs=%d records=%d soas=%d end=%s" % (
        "-" if rcode is None else RCODES.get(rcode, rcode), msgs, records, soas, end))
    return 0 if end == "complete" else 1


if __name__ == "__main__":
    sys.exit(main())
