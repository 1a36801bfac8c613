#!/usr/bin/env python3
"""fakeprimary.py - a misbehaving plaintext DNS-over-TCP "legacy primary" for
fault injection behind xotproxy, stdlib only. Loopback only.

It serves one zone (--zone, default lone.test) whose SOA has serial --serial
(default 100) and --records A records (h1..hN.ZONE). Modes:

  hang                   accept, read queries, never answer (the connection
                         stays open until the peer closes it)
  lone-soa               SOA -> the SOA; IXFR -> one message holding only the
                         SOA, whatever serial the client sent; AXFR -> the zone
  axfr-style-lone-first  SOA -> the SOA; IXFR -> an AXFR-style answer whose
                         first message holds only the SOA, then messages of
                         --per-msg records, the last one ending with the SOA
                         again (--gap seconds between messages); AXFR -> same
                         shape
  slow                   every query is answered --delay seconds after it
                         arrived (answers to pipelined queries overlap); SOA
                         and AXFR as above
  normal                 answer at once (a reference for the other modes)
  lone-soa-more          IXFR -> one message holding only the SOA, then
                         (--gap seconds later) one more message of 10 A
                         records with the same ID (issue 13, item 1)
  unknown-id             every answer is preceded by a message of 10 A
                         records whose ID is the query's XOR 0x5555
  trickle                the first answer of the run is sent one octet every
                         --delay seconds (after --trickle-head octets at
                         once); later answers at once
  cut                    SOA -> the first half of the answer frame, then the
                         connection is closed

Any other query type, any opcode but QUERY, and any name but the zone's
apex get REFUSED (rcode 5). Every answer copies the query's ID, opcode and
question; QR and AA are set.

One line per event on stdout (flushed), for the tests to wait on:
  listening 127.0.0.1#PORT mode MODE
  conn N open from ADDR#PORT
  query conn=N id=ID name=NAME type=TYPE serial=S|-
  answer conn=N id=ID messages=M records=R
  conn N closed by peer
--status FILE is written (atomically) once the socket listens.
"""
import argparse
import asyncio
import ipaddress
import os
import struct
import sys

TYPES = {1: "A", 2: "NS", 6: "SOA", 16: "TXT", 28: "AAAA", 251: "IXFR", 252: "AXFR"}


def name_wire(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(m, p):
    """(lower-case presentation name, position after it); no compression in
    queries is expected, but pointers are followed."""
    labels = []
    end = None
    for _ in range(128):
        b = m[p]
        if b & 0xC0 == 0xC0:
            if end is None:
                end = p + 2
            p = ((b & 0x3F) << 8) | m[p + 1]
            continue
        if b == 0:
            if end is None:
                end = p + 1
            return ".".join(labels).lower(), end
        labels.append(m[p + 1:p + 1 + b].decode("ascii", "replace"))
        p += b + 1
    raise ValueError("name too long")


class Zone:
    def __init__(self, a):
        self.name = a.zone.strip(".").lower()
        self.serial = a.serial
        self.n = a.records
        self.per_msg = a.per_msg

    def soa_rr(self):
        rdata = name_wire("ns." + self.name) + name_wire("hostmaster." + self.name) + \
            struct.pack("!IIIII", self.serial, 3600, 600, 86400, 300)
        return name_wire(self.name) + struct.pack("!HHIH", 6, 1, 300, len(rdata)) + rdata

    def a_rr(self, i):
        rdata = bytes([192, 0, 2 + (i >> 8) % 250, i & 255])
        return name_wire("h%d.%s" % (i, self.name)) + struct.pack("!HHIH", 1, 1, 300, 4) + rdata


def message(q, rcode, rrs):
    """An answer to query q (dict) with the given answer records."""
    flags1 = 0x80 | (q["opcode"] << 3) | 0x04       # QR, opcode, AA
    hdr = struct.pack("!HBBHHHH", q["id"], flags1, rcode, 1 if q["question"] else 0, len(rrs), 0, 0)
    return hdr + q["question"] + b"".join(rrs)


def parse_query(m):
    qid, fl1, _, qd, _, ns, _ = struct.unpack("!HBBHHHH", m[:12])
    q = {"id": qid, "opcode": (fl1 >> 3) & 15, "question": b"", "name": "", "type": 0, "serial": None}
    if qd >= 1:
        name, p = read_name(m, 12)
        q["name"], q["type"] = name, struct.unpack("!H", m[p:p + 2])[0]
        q["question"] = m[12:p + 4]
        p += 4
        if ns >= 1 and q["type"] == 251:        # IXFR: the client's SOA
            _, p = read_name(m, p)
            p += 10
            _, p = read_name(m, p)
            _, p = read_name(m, p)
            q["serial"] = struct.unpack("!I", m[p:p + 4])[0]
    return q


def answers(a, zone, q):
    """The list of messages answering q in this mode."""
    if q["opcode"] != 0 or q["name"] != zone.name:
        return [message(q, 5, [])]
    t = q["type"]
    if a.mode == "unknown-id":
        other = dict(q, id=q["id"] ^ 0x5555)
        return [message(other, 0, [zone.a_rr(i) for i in range(1, 11)])] + \
            answers(argparse.Namespace(**dict(vars(a), mode="normal")), zone, q)
    if t == 6:
        return [message(q, 0, [zone.soa_rr()])]
    if t == 251 and a.mode == "lone-soa":
        return [message(q, 0, [zone.soa_rr()])]
    if t == 251 and a.mode == "lone-soa-more":
        return [message(q, 0, [zone.soa_rr()]), message(q, 0, [zone.a_rr(i) for i in range(1, 11)])]
    if t in (251, 252):
        rrs = [zone.a_rr(i) for i in range(1, zone.n + 1)]
        if a.mode == "axfr-style-lone-first" or t == 251:
            msgs = [message(q, 0, [zone.soa_rr()])]        # the lone SOA first
            body = [rrs[i:i + zone.per_msg] for i in range(0, len(rrs), zone.per_msg)] or [[]]
            for i, chunk in enumerate(body):
                msgs.append(message(q, 0, chunk + ([zone.soa_rr()] if i == len(body) - 1 else [])))
            return msgs
        body = [zone.soa_rr()] + rrs + [zone.soa_rr()]
        return [message(q, 0, body[i:i + zone.per_msg]) for i in range(0, len(body), zone.per_msg)]
    return [message(q, 5, [])]


def say(line):
    print(line, flush=True)


async def serve(a):
    zone = Zone(a)
    counter = [0]
    trickled = [False]

    async def handle(r, w):
        counter[0] += 1
        cid = counter[0]
        peer = w.get_extra_info("peername")
        say("conn %d open from %s#%d" % (cid, peer[0], peer[1]))
        tasks = []
        lock = asyncio.Lock()

        async def reply(q, delay):
            if delay:
                await asyncio.sleep(delay)
            msgs = answers(a, zone, q)
            async with lock:            # whole messages, one answer stream at a time
                try:
                    if a.mode == "cut":
                        f = struct.pack("!H", len(msgs[0])) + msgs[0]
                        w.write(f[:len(f) // 2])
                        await w.drain()
                        say("cut conn=%d id=%d after %d of %d octets" % (cid, q["id"], len(f) // 2, len(f)))
                        w.close()
                        return
                    if a.mode == "trickle" and not trickled[0]:
                        trickled[0] = True
                        f = b"".join(struct.pack("!H", len(m)) + m for m in msgs)
                        say("trickle conn=%d id=%d %d octets" % (cid, q["id"], len(f)))
                        head = min(a.trickle_head, len(f))
                        if head:
                            w.write(f[:head])
                        for i in range(head, len(f)):
                            w.write(f[i:i + 1])
                            await w.drain()
                            if i + 1 < len(f):
                                await asyncio.sleep(a.delay)
                        msgs = []
                    for i, m in enumerate(msgs):
                        if i and a.gap:
                            await asyncio.sleep(a.gap)
                        w.write(struct.pack("!H", len(m)) + m)
                        await w.drain()
                except (ConnectionError, OSError):
                    return
            say("answer conn=%d id=%d messages=%d records=%d" % (
                cid, q["id"], len(msgs), sum(struct.unpack("!H", m[6:8])[0] for m in msgs)))

        try:
            while True:
                n = struct.unpack("!H", await r.readexactly(2))[0]
                m = await r.readexactly(n)
                try:
                    q = parse_query(m)
                except (ValueError, IndexError, struct.error):
                    say("query conn=%d malformed (%d octets)" % (cid, n))
                    continue
                say("query conn=%d id=%d name=%s type=%s serial=%s" % (
                    cid, q["id"], q["name"] or "-", TYPES.get(q["type"], q["type"]),
                    "-" if q["serial"] is None else q["serial"]))
                if a.mode == "hang":
                    continue
                delay = a.delay if a.mode == "slow" else 0
                tasks.append(asyncio.ensure_future(reply(q, delay)))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        say("conn %d closed by peer" % cid)
        for t in tasks:
            t.cancel()
        w.close()

    server = await asyncio.start_server(handle, a.host, a.port, reuse_address=True, backlog=256)
    say("listening %s#%d mode %s" % (a.host, a.port, a.mode))
    if a.status:
        with open(a.status + ".tmp", "w") as f:
            f.write("listening\n")
        os.rename(a.status + ".tmp", a.status)
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", required=True,
                    choices=["hang", "lone-soa", "axfr-style-lone-first", "slow", "normal",
                             "lone-soa-more", "unknown-id", "trickle", "cut"])
    ap.add_argument("--zone", default="lone.test")
    ap.add_argument("--serial", type=int, default=100)
    ap.add_argument("--records", type=int, default=300, help="A records in the zone (besides the SOA)")
    ap.add_argument("--per-msg", type=int, default=100, help="records per message in transfers")
    ap.add_argument("--gap", type=float, default=0, help="seconds between the messages of one answer")
    ap.add_argument("--delay", type=float, default=1.0, help="slow: seconds before each answer")
    ap.add_argument("--trickle-head", type=int, default=0,
                    help="trickle: octets sent at once before the trickle")
    ap.add_argument("--status", help="file written once listening")
    a = ap.parse_args()
    if not ipaddress.ip_address(a.host).is_loopback:
        sys.exit("fakeprimary: refusing non-loopback address %s" % a.host)
    try:
        asyncio.run(serve(a))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
