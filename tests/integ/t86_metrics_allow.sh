#!/bin/bash
# t86: metrics-allow and metrics-max-conns-per-ip (issue 13 item 17).
# The metrics listener on 0.0.0.0:PORT:
#   - default metrics-allow (loopback): a scrape from 127.0.0.1 is served;
#   - after a reload with metrics-allow = 127.0.0.2/32 127.0.0.3/32: curl
#     --interface 127.0.0.1 is closed at accept (no HTTP answer), 127.0.0.2
#     is served, and the refusal is logged naming the address;
#   - metrics-max-conns-per-ip = 4 (the default): five idle connections from
#     127.0.0.2, the fifth is closed at once while the first four stay open,
#     and 127.0.0.3 is still served meanwhile;
#   - both refusals are counted: xotproxy_limit_hits_total{limit="metrics_allow"}
#     and {limit="metrics_per_ip"}.
. "$(dirname "$0")/lib.sh"
test_init
command -v curl >/dev/null || skip "curl not installed"

P=$(free_port) || fail "no free port"
MP=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
sed -i "s/^log-level = .*/&\nmetrics = 0.0.0.0:$MP/" "$T/xotproxy.ini"
start_proxy proxy "$T/xotproxy.ini" "$P"
assert_grep "$PROXY_LOG" "metrics: listening on 0\\.0\\.0\\.0#$MP" "metrics on 0.0.0.0:$MP"
URL=http://127.0.0.1:$MP/metrics

# code FROM: the HTTP status of a scrape whose source address is FROM
# ("000" when the connection is closed without an answer).
code() {
	curl -sS --max-time 10 --interface "$1" -o "$T/scrape.$1" -w '%{http_code}' "$URL" 2>"$T/curl.$1.err"
}
[ "$(code 127.0.0.1)" = 200 ] || fail "default metrics-allow: 127.0.0.1 not served ($(cat "$T/curl.127.0.0.1.err"))"
ok "default metrics-allow: 127.0.0.1 served"

# --- metrics-allow = 127.0.0.2/32 127.0.0.3/32, by reload
sed -i "s/^metrics = .*/&\nmetrics-allow = 127.0.0.2\/32 127.0.0.3\/32/" "$T/xotproxy.ini"
n=$(grep -c "reloaded " "$PROXY_LOG")
kill -HUP "$PROXY_PID"
wait_until 10 bash -c "[ \$(grep -c 'reloaded ' '$PROXY_LOG') -gt $n ]" || fail "no reload line"
c=$(code 127.0.0.1)
[ "$c" = 000 ] || fail "127.0.0.1 outside metrics-allow got HTTP $c"
wait_until 10 grep -q "metrics: remote 127\\.0\\.0\\.1#[0-9]*, connection refused: not in metrics-allow" "$PROXY_LOG" ||
	fail "no refusal line for 127.0.0.1"
ok "127.0.0.1 outside metrics-allow: closed at accept ($(head -c 80 "$T/curl.127.0.0.1.err")), logged"
[ "$(code 127.0.0.2)" = 200 ] || fail "127.0.0.2 in metrics-allow not served ($(cat "$T/curl.127.0.0.2.err"))"
grep -q '^xotproxy_build_info' "$T/scrape.127.0.0.2" || fail "127.0.0.2: no exposition"
ok "127.0.0.2 in metrics-allow: served"

# --- five idle connections from 127.0.0.2 (cap 4); 127.0.0.3 served meanwhile
cat >"$T/cap.py" <<'EOF'
import select, socket, sys, time
port = int(sys.argv[1])
def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s
def closed(s, wait):
    r, _, _ = select.select([s], [], [], wait)
    if not r:
        return False
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
held = []
for _ in range(4):
    held.append(conn("127.0.0.2"))
    time.sleep(0.05)                     # accepted in this order
fifth = conn("127.0.0.2")
t0 = time.time()
if not closed(fifth, 3.0):
    sys.exit("the 5th connection from 127.0.0.2 stayed open")
print("5th closed after %.2f s" % (time.time() - t0))
if any(closed(s, 0) for s in held):
    sys.exit("one of the first four was closed")
other = conn("127.0.0.3")
other.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
other.settimeout(3)
data = b""
while True:
    c = other.recv(65536)
    if not c:
        break
    data += c
line = data.split(b"\r\n")[0].decode()
if not line.endswith(" 200 OK"):
    sys.exit("127.0.0.3 got: %r" % line)
print("127.0.0.3 served (%s) while 127.0.0.2 held 4" % line)
if any(closed(s, 0) for s in held):
    sys.exit("one of the first four was closed")
print("the first four still open after %.2f s" % (time.time() - t0))
EOF
python3 "$T/cap.py" "$MP" >"$T/cap.txt" 2>&1 || { cat "$T/cap.txt"; fail "per-address cap"; }
ok "$(tr '\n' ';' <"$T/cap.txt")"
wait_until 10 grep -q "metrics: remote 127\\.0\\.0\\.2#[0-9]*, connection refused: metrics-max-conns-per-ip (4) reached" "$PROXY_LOG" ||
	fail "no per-address refusal line"

# --- counted (the held connections are gone after their 5 s timeout at the latest)
wait_until 15 bash -c "[ \"\$(curl -sS --max-time 5 --interface 127.0.0.3 -o '$T/m.txt' -w '%{http_code}' '$URL')\" = 200 ]" ||
	fail "final scrape failed"
grep -q '^xotproxy_limit_hits_total{limit="metrics_allow"} [1-9]' "$T/m.txt" ||
	{ grep limit_hits "$T/m.txt"; fail "metrics_allow refusals not counted"; }
grep -q '^xotproxy_limit_hits_total{limit="metrics_per_ip"} [1-9]' "$T/m.txt" ||
	{ grep limit_hits "$T/m.txt"; fail "metrics_per_ip refusals not counted"; }
ok "counted: $(grep 'limit="metrics_' "$T/m.txt" | tr '\n' ' ')"
alive "$PROXY_PID" || fail "proxy died"
stop_pid "$PROXY_PID" TERM 15 || fail "proxy exited with an error"
pass
