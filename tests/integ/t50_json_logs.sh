#!/bin/bash
# t50: log-format = json (issue 10 item 1). One JSON object per line on
# stderr, every line parses (python3 json and jq); the transfer object of a
# TSIG-signed AXFR has every field with the values kdig and named saw
# (messages, bytes, SOA serial, TSIG key name); a refused query, a failed TLS
# handshake, start/stop and free text are objects too; zone names holding
# quotes, backslashes, NUL and other control bytes, DEL and bytes >= 0x80
# give valid JSON (presentation \DDD escapes, then JSON escapes). Then
# log-target = syslog: the same objects as datagrams on a unix socket.
. "$(dirname "$0")/lib.sh"
test_init

P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
sed -i 's/^log-level = .*/&\nlog-format = json/' "$T/xotproxy.ini"
# A zone whose name holds a quote, a backslash, NUL and DEL (named does not
# serve it: its transfers end in an error RCODE from upstream, logged all the same).
cat >>"$T/xotproxy.ini" <<'EOF'

[zone a\"b\\c\000d\127.test]
allow = 127.0.0.0/8
EOF
"$XOT_BIN" -t -c "$T/xotproxy.ini" >"$T/check.txt" 2>&1 || { cat "$T/check.txt"; fail "xotproxy -t rejected the configuration"; }
assert_grep "$T/check.txt" '^log-format = json$' "-t prints log-format = json"
assert_grep "$T/check.txt" '^log-target = stderr$' "-t prints the default log-target"
start_proxy proxy "$T/xotproxy.ini" "$P"

# --- a TSIG-signed AXFR through the proxy
kd "$P" -y "$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET" signed.test AXFR >"$T/axfr.txt" 2>&1 ||
	{ tail -n 5 "$T/axfr.txt"; fail "AXFR signed.test failed"; }
M=$(xfr_messages "$T/axfr.txt")
B=$(xfr_bytes "$T/axfr.txt")
SERIAL=$(soa_serial "$XOT_NAMED_PORT" signed.test)
{ [ -n "$M" ] && [ -n "$B" ] && [ -n "$SERIAL" ]; } || fail "no kdig footer or serial (M='$M' B='$B' serial='$SERIAL')"
ok "AXFR signed.test: $M messages, $B bytes (kdig), serial $SERIAL"

# --- a refused query (QTYPE A) and a TLS 1.2 handshake that fails
kd "$P" +edns example.test A >"$T/refused.txt" 2>&1
[ "$(dig_status "$T/refused.txt")" = REFUSED ] || fail "A query: not REFUSED"
openssl s_client -connect "127.0.0.1:$P" -tls1_2 -servername xot.test </dev/null >"$T/tls12.txt" 2>&1 &&
	fail "a TLS 1.2 handshake succeeded"
ok "A query refused, TLS 1.2 handshake failed"

# --- queries for names with every awkward byte, over one TLS session: an
# SOA and an AXFR of the configured odd zone (forwarded; named says
# REFUSED), and an SOA for an unknown odd name (refused by the proxy).
cat >"$T/oddnames.py" <<'EOF'
import socket, ssl, struct, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["dot"])
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="xot.test")
def recvn(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("closed")
        b += c
    return b
def query(qid, labels, qtype):
    name = b"".join(bytes([len(l)]) + l for l in labels) + b"\0"
    msg = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + name + struct.pack("!HH", qtype, 1)
    s.sendall(struct.pack("!H", len(msg)) + msg)
    m = recvn(struct.unpack("!H", recvn(2))[0])
    print("id %d rcode %d" % (qid, m[3] & 15))
configured = [b'a"b\\c\x00d\x7f', b"test"]
unknown = [b'x"y\\z\x01\n\t\x1f\xff\x80\xc3\xa9{}', b"test"]
query(1, configured, 6)
query(2, configured, 252)
query(3, unknown, 6)
s.close()
EOF
python3 "$T/oddnames.py" "$P" "$XOT_CA" >"$T/oddnames.txt" 2>&1 || { cat "$T/oddnames.txt"; fail "odd-name queries failed"; }
assert_grep "$T/oddnames.txt" '^id 3 rcode 5$' "unknown odd name: REFUSED"

stop_pid "$PROXY_PID" TERM 15 || fail "proxy exited with an error"
LOG=$PROXY_LOG

# --- every line is one JSON object
python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <"$LOG" ||
	{ head -n 20 "$LOG"; fail "a log line is not JSON"; }
jq -c . <"$LOG" >/dev/null || fail "jq rejects the log"
n=$(wc -l <"$LOG")
[ "$(jq -s 'map(select(type == "object" and has("time") and has("level"))) | length' <"$LOG")" = "$n" ] ||
	fail "not every line is an object with time and level"
ok "all $n log lines are JSON objects with time and level (python3 json, jq)"

# --- the required fields, with the right values
cat >"$T/check.py" <<'EOF'
import json, sys
log, M, B, serial = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ev = [json.loads(l) for l in open(log, encoding="ascii")]
def one(pred, what):
    got = [e for e in ev if pred(e)]
    if not got:
        raise SystemExit("no %s object" % what)
    return got[-1]
def need(o, **kv):
    for k, v in kv.items():
        if o.get(k) != v:
            raise SystemExit("%s: %s is %r, expected %r (%s)" % (o.get("event"), k, o.get(k), v, o))
t = one(lambda e: e.get("event") == "transfer" and e.get("zone") == "signed.test.", "signed.test transfer")
for k in ("time", "level", "direction", "conn", "client", "client_port", "tsig_key", "zone", "qtype",
          "serial", "outcome", "rcode", "messages", "bytes", "duration"):
    if k not in t:
        raise SystemExit("transfer object lacks %s: %s" % (k, t))
need(t, level="info", direction="inbound", client="127.0.0.1", tsig_key="xfr-key.", qtype="AXFR",
     outcome="ok", rcode="NOERROR", messages=M, serial=serial)
# kdig counts message octets; the proxy counts them with their 2-octet TCP length prefixes
need(t, bytes=B + 2 * M)
if not isinstance(t["conn"], int) or not isinstance(t["client_port"], int) or not 0 <= t["duration"] < 120:
    raise SystemExit("bad conn/client_port/duration: %s" % t)
print("transfer: " + json.dumps(t))
r = one(lambda e: e.get("event") == "refusal" and e.get("qtype") == "A", "refusal")
need(r, zone="example.test.", outcome="refused", reason="qtype not supported", direction="inbound",
     client="127.0.0.1")
print("refusal: " + json.dumps(r))
h = one(lambda e: e.get("event") == "handshake_failed", "handshake_failed")
need(h, direction="inbound", client="127.0.0.1")
if not h.get("reason"):
    raise SystemExit("handshake_failed without a reason: %s" % h)
print("handshake: " + json.dumps(h))
odd = 'a"b\\\\c\\000d\\127.test.'          # presentation form: \\ for a backslash, \DDD
for qt in ("SOA", "AXFR"):                 # named: REFUSED (SOA), NOTAUTH (AXFR)
    o = one(lambda e: e.get("event") == "transfer" and e.get("zone") == odd and e.get("qtype") == qt,
            "odd-zone %s transfer" % qt)
    need(o, outcome="error", messages=1)
    if o.get("rcode") not in ("REFUSED", "NOTAUTH"):
        raise SystemExit("odd zone %s: rcode %r" % (qt, o.get("rcode")))
print("odd zone: " + json.dumps(o))
u = one(lambda e: e.get("event") == "refusal" and e.get("reason") == "unknown zone", "odd refusal")
need(u, zone='x"y\\\\z\\001\\010\\009\\031\\255\\128\\195\\169{}.test.', qtype="SOA")
print("odd refusal: " + json.dumps(u))
one(lambda e: e.get("event") == "start" and e.get("version"), "start")
one(lambda e: e.get("event") == "stop", "stop")
one(lambda e: e.get("event") == "listening" and e.get("address", "").startswith("127.0.0.1#"), "listening")
EOF
python3 "$T/check.py" "$LOG" "$M" "$B" "$SERIAL" >"$T/check.out" 2>&1 || { cat "$T/check.out"; fail "JSON log objects"; }
sed 's/^/    /' "$T/check.out"
ok "transfer, refusal, handshake failure, odd names, start/stop: every field present and right"
assert_nogrep "$LOG" '^[^{]' "no line outside a JSON object"

# --- log-target = syslog: datagrams on a unix socket (the path is a test-only override)
SOCK=$T/syslog.sock
cat >"$T/syslogd.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65536) + b"\n")
EOF
bg_start syslogd python3 "$T/syslogd.py" "$SOCK" "$T/syslog.out"
wait_until 10 test -S "$SOCK" || fail "syslog listener did not start"
P2=$(free_port) || fail "no free port"
proxy_ini "$T/syslog.ini" "$P2" "$XOT_NAMED_PORT"
sed -i 's/^log-level = .*/&\nlog-format = json\nlog-target = syslog/' "$T/syslog.ini"
XOTPROXY_SYSLOG_SOCKET=$SOCK bg_start proxy-syslog "$XOT_BIN" -c "$T/syslog.ini"
SPID=$LAST_PID
wait_until 20 grep -q "\"event\":\"listening\",\"address\":\"127.0.0.1#$P2\"" "$T/syslog.out" || { cat "$T/proxy-syslog.log"; fail "no listening object in syslog"; }
kd "$P2" small.test AXFR >"$T/axfr2.txt" 2>&1 || fail "AXFR small.test (syslog proxy) failed"
wait_until 10 grep -q '"event":"transfer"' "$T/syslog.out" || fail "no transfer object in syslog"
stop_pid "$SPID" TERM 15 || fail "syslog proxy exited with an error"
[ ! -s "$T/proxy-syslog.log" ] || { cat "$T/proxy-syslog.log"; fail "log-target syslog still wrote to stderr"; }
python3 - "$T/syslog.out" <<'EOF' || fail "syslog datagrams"
import json, re, sys
n = 0
for line in open(sys.argv[1], encoding="ascii"):
    m = re.match(r"<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d xotproxy\[\d+\]: (\{.*\})$", line.rstrip("\n"))
    if not m:
        raise SystemExit("not an RFC 3164 line with a JSON object: %r" % line)
    o = json.loads(m.group(2))
    if int(m.group(1)) != 24 + {"error": 3, "warning": 4, "info": 6, "debug": 7}[o["level"]]:
        raise SystemExit("PRI does not match the level: %r" % line)
    n += 1
print("%d syslog datagrams, each <PRI>TIMESTAMP xotproxy[PID]: {json}" % n)
EOF
ok "log-target = syslog: RFC 3164 datagrams carrying JSON objects; nothing on stderr"
pass
