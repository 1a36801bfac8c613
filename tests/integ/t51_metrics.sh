#!/bin/bash
# t51: metrics = ADDRESS:PORT (issue 10 item 2): the Prometheus text format
# at /metrics, valid for promtool; scraped twice during slow AXFRs the
# transfers are in progress and the relayed bytes grow; afterwards the
# zone's transfer counter went up by one per AXFR, a third zone past metrics-max-zones (2)
# counts under zone="_other"; refusals, handshakes and accepted connections
# by listener are counted. The endpoint: 404 for other paths, 405 for
# other methods, HEAD, HTTP/1.0; a request head over 4 KiB gets 400 and a
# close; a silent connection is closed after 5 s; with 16 silent scrapers
# open a 17th scrape still gets its answer once they time out.
. "$(dirname "$0")/lib.sh"
test_init
command -v promtool >/dev/null || skip "promtool not installed (Debian package prometheus)"
command -v curl >/dev/null || skip "curl not installed"

P=$(free_port) || fail "no free port"
MP=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
sed -i "s/^log-level = .*/&\nmetrics = 127.0.0.1:$MP\nmetrics-max-zones = 2\nmetrics-max-conns-per-ip = 16/" "$T/xotproxy.ini"
start_proxy proxy "$T/xotproxy.ini" "$P"
assert_grep "$PROXY_LOG" "metrics: listening on 127\\.0\\.0\\.1#$MP \\(HTTP, /metrics\\)" "metrics endpoint listening"
URL=http://127.0.0.1:$MP/metrics

scrape() {       # scrape FILE
	curl -sS --max-time 10 -o "$1" -w '%{http_code}' "$URL" >"$1.code" 2>"$1.err" &&
		[ "$(cat "$1.code")" = 200 ]
}
# val FILE SERIES: the value of the sample whose name and labels are SERIES.
val() {
	awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) print "none" }' "$1"
}

scrape "$T/m0.txt" || fail "first scrape failed: $(cat "$T/m0.txt.err")"
promtool check metrics <"$T/m0.txt" >"$T/promtool0.txt" 2>&1 || { cat "$T/promtool0.txt"; fail "promtool check metrics (idle)"; }
ok "idle scrape passes promtool check metrics"
grep -q '^xotproxy_build_info{version="[0-9.]*",wolfssl="[0-9.]*"} 1$' "$T/m0.txt" || fail "no build_info"
[ "$(val "$T/m0.txt" 'xotproxy_transfers_in_progress{direction="inbound"}')" = 0 ] || fail "in progress not 0 at start"

# --- a small AXFR, a refused query, a failed handshake
kd "$P" small.test AXFR >"$T/small.txt" 2>&1 || fail "AXFR small.test failed"
kd "$P" +edns example.test A >"$T/refused.txt" 2>&1
openssl s_client -connect "127.0.0.1:$P" -tls1_2 -servername xot.test </dev/null >/dev/null 2>&1 &&
	fail "a TLS 1.2 handshake succeeded"

# --- big AXFRs read slowly, scraped twice while they run
# Four AXFRs pipelined on one session (about 11 MB, more than the kernel
# buffers of both ends hold), read at about 1.6 MB/s.
cat >"$T/slow.py" <<'EOF'
import os, socket, ssl, struct, sys, time
sys.path.insert(0, sys.argv[4])
from dnswire import answer_soas
port, ca, started = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["dot"])
raw = socket.socket()
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
raw.connect(("127.0.0.1", port))
s = ctx.wrap_socket(raw, server_hostname="xot.test")
name = b"\x07example\x04test\x00"
for qid in (1, 2, 3, 4):
    msg = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + name + struct.pack("!HH", 252, 1)
    s.sendall(struct.pack("!H", len(msg)) + msg)
buf, soas, total, msgs = b"", {1: 0, 2: 0, 3: 0, 4: 0}, 0, 0
open(started, "w").close()
while min(soas.values()) < 2:
    chunk = s.recv(16384)
    if not chunk:
        raise SystemExit("closed early")
    buf += chunk
    total += len(chunk)
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
        n = struct.unpack("!H", buf[:2])[0]
        m, buf = buf[2:2 + n], buf[2 + n:]
        msgs += 1
        soas[struct.unpack("!H", m[:2])[0]] += len(answer_soas(m)[0])
    time.sleep(0.01)
print("4 AXFRs: messages %d octets %d" % (msgs, total))
EOF
python3 "$T/slow.py" "$P" "$XOT_CA" "$T/started" "$XOT_INTEG_DIR/../tools" >"$T/slow.txt" 2>&1 &
SLOW=$!
wait_until 20 test -e "$T/started" || fail "slow reader did not start"
sleep 1
B='xotproxy_relayed_bytes_total{direction="inbound",flow="to_client"}'
IP='xotproxy_transfers_in_progress{direction="inbound"}'
scrape "$T/m1.txt" || fail "scrape during the transfer failed"
b1=$(val "$T/m1.txt" "$B")
# The proxy moves answers in bursts as the kernel wakes it (its send buffer
# grows to MBs): scrape again every 0.3 s until the byte count has moved.
for _ in $(seq 1 15); do
	sleep 0.3
	scrape "$T/m2.txt" || fail "second scrape during the transfer failed"
	[ "$(val "$T/m2.txt" "$B")" != "$b1" ] && break
done
wait "$SLOW" || { cat "$T/slow.txt"; fail "slow AXFRs failed"; }
ok "slow reader done: $(cat "$T/slow.txt")"
b2=$(val "$T/m2.txt" "$B")
i1=$(val "$T/m1.txt" "$IP")
i2=$(val "$T/m2.txt" "$IP")
{ [ "$i1" -ge 1 ] && [ "$i1" -le 4 ] && [ "$i2" -ge 1 ] && [ "$i2" -le "$i1" ]; } ||
	fail "transfers in progress during the AXFRs: $i1, $i2 (expected 1-4, not growing)"
{ [ "$b1" != none ] && [ "$b2" -gt "$b1" ]; } || fail "relayed bytes did not grow between scrapes ($b1 -> $b2)"
ok "during the AXFRs: $i1, then $i2 transfers in progress; relayed bytes $b1 -> $b2"
grep -q 'zone="example.test."' "$T/m1.txt" && [ "$i1" = 4 ] && fail "a running AXFR was counted before it ended"

# --- a third zone, past metrics-max-zones = 2
kd "$P" -y "$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET" signed.test AXFR >"$T/signed.txt" 2>&1 ||
	fail "AXFR signed.test failed"
scrape "$T/m3.txt" || fail "scrape after the transfers failed"
promtool check metrics <"$T/m3.txt" >"$T/promtool3.txt" 2>&1 || { cat "$T/promtool3.txt"; fail "promtool check metrics (after transfers)"; }
ok "scrape after the transfers passes promtool check metrics"
expect() {        # expect SERIES VALUE
	local v
	v=$(val "$T/m3.txt" "$1")
	[ "$v" = "$2" ] || { grep -F "${1%%\{*}" "$T/m3.txt" | head -n 20; fail "$1 is $v, expected $2"; }
	ok "$1 $v"
}
expect 'xotproxy_transfers_total{direction="inbound",zone="small.test.",type="AXFR",outcome="ok"}' 1
expect 'xotproxy_transfers_total{direction="inbound",zone="example.test.",type="AXFR",outcome="ok"}' 4
expect 'xotproxy_transfers_total{direction="inbound",zone="_other",type="AXFR",outcome="ok"}' 1
expect "$IP" 0
expect 'xotproxy_refusals_total{direction="inbound",reason="qtype"}' 1
expect 'xotproxy_tls_handshake_failures_total{direction="inbound",reason="version"}' 1
expect "xotproxy_connections_accepted_total{direction=\"inbound\",listener=\"127.0.0.1:$P\"}" 5
expect 'xotproxy_connections_open{direction="inbound"}' 0
h=$(( $(val "$T/m3.txt" 'xotproxy_tls_handshakes_total{direction="inbound",resumed="false"}') +
      $(val "$T/m3.txt" 'xotproxy_tls_handshakes_total{direction="inbound",resumed="true"}') ))
[ "$h" = 4 ] || fail "completed handshakes: $h, expected 4"
grep -q 'signed.test' "$T/m3.txt" && fail "a zone past metrics-max-zones got its own series"
b3=$(val "$T/m3.txt" "$B")
[ "$b3" -gt "$b2" ] || fail "relayed bytes did not grow after the transfers"
val "$T/m3.txt" xotproxy_log_lines_dropped_total | grep -qx '[0-9]*' || fail "no log_lines_dropped_total"

# --- the endpoint itself
code() { curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "http://127.0.0.1:$MP/")" = 404 ] || fail "/ is not 404"
[ "$(code "http://127.0.0.1:$MP/metricsx")" = 404 ] || fail "/metricsx is not 404"
[ "$(code "http://127.0.0.1:$MP/metrics/../x")" = 404 ] || fail "/metrics/../x is not 404"
[ "$(code "http://127.0.0.1:$MP/metrics?x=1")" = 200 ] || fail "/metrics?x=1 is not 200"
[ "$(code -X POST "$URL")" = 405 ] || fail "POST is not 405"
[ "$(code --http1.0 "$URL")" = 200 ] || fail "HTTP/1.0 is not 200"
curl -sS --max-time 10 -I "$URL" >"$T/head.txt" || fail "HEAD failed"
{ grep -q '^HTTP/1.1 200' "$T/head.txt" && grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/head.txt"; } ||
	{ cat "$T/head.txt"; fail "HEAD: no 200 with the exposition content type"; }
ok "404 for other paths, 405 for POST, HEAD and HTTP/1.0 served"

cat >"$T/http.py" <<'EOF'
import socket, sys, time
port, what = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
t0 = time.time()
if what == "oversized":
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 5000)
    except OSError:
        pass
elif what == "garbage":
    s.sendall(b"\x16\x03\x01\x00\x10 not http at all\r\n\r\n")
data = b""
while True:
    try:
        c = s.recv(65536)
    except ConnectionResetError:
        break
    if not c:
        break
    data += c
print("%.1f %s" % (time.time() - t0, (data.split(b"\r\n")[0] or b"(nothing)").decode()))
EOF
python3 "$T/http.py" "$MP" oversized >"$T/oversized.txt" 2>&1 || { cat "$T/oversized.txt"; fail "oversized request"; }
grep -q ' HTTP/1.1 400 Bad Request$' "$T/oversized.txt" || { cat "$T/oversized.txt"; fail "oversized request head: no 400"; }
ok "request head over 4 KiB: $(cat "$T/oversized.txt") and closed"
python3 "$T/http.py" "$MP" garbage >"$T/garbage.txt" 2>&1 || fail "garbage request"
grep -q ' HTTP/1.1 400' "$T/garbage.txt" || { cat "$T/garbage.txt"; fail "garbage request: no 400"; }
python3 "$T/http.py" "$MP" silent >"$T/silent.txt" 2>&1 || fail "silent connection"
read -r secs _ <"$T/silent.txt"
awk -v s="$secs" 'BEGIN { exit !(s >= 4.5 && s <= 8) }' || fail "a silent connection was closed after $secs s, expected about 5"
ok "a silent connection is closed after $secs s"

# 16 silent scrapers fill every slot; a 17th waits in the backlog and gets
# its answer once they have timed out.
cat >"$T/silent16.py" <<'EOF'
import socket, sys, time
port, ready = int(sys.argv[1]), sys.argv[2]
conns = [socket.create_connection(("127.0.0.1", port), timeout=15) for _ in range(16)]
time.sleep(0.3)                          # the proxy accepts them (one loop iteration)
open(ready, "w").close()
t0 = time.time()
for c in conns:
    c.recv(1)
print("16 silent connections closed within %.1f s" % (time.time() - t0))
EOF
python3 "$T/silent16.py" "$MP" "$T/silent16.ready" >"$T/silent16.txt" 2>&1 &
S16=$!
wait_until 20 test -e "$T/silent16.ready" || fail "16 silent connections not opened"
t0=$(date +%s%N)
scrape "$T/m4.txt" || fail "scrape behind 16 silent connections failed"
el=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$S16" || { cat "$T/silent16.txt"; fail "silent connections"; }
[ "$el" -ge 2500 ] || fail "the 17th scrape was served after $el ms: the cap of 16 did not hold"
ok "17th scrape served after $el ms (16 slots held by silent connections until their 5 s timeout; $(cat "$T/silent16.txt"))"

alive "$PROXY_PID" || fail "proxy died"
stop_pid "$PROXY_PID" TERM 15 || fail "proxy exited with an error"
pass
