#!/bin/bash
# t27: max-clients-per-ip. One address holding its share of connections (here
# 5 handshakes left pending) gets further connections closed at accept, before
# any TLS work; other addresses are unaffected; the address is served again
# once its connections are gone (TCP-04, PRX-04).
. "$(dirname "$0")/lib.sh"
test_init

ABUSE=$(cd "$(dirname "$0")/../tools" && pwd)/xotabuse.py
P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
sed -i 's/^handshake-timeout = .*/handshake-timeout = 30/' "$T/xotproxy.ini"
sed -i "/^idle-timeout/a max-clients-per-ip = 5" "$T/xotproxy.ini"
start_proxy proxy "$T/xotproxy.ini" "$P"
"$XOT_BIN" -t -c "$T/xotproxy.ini" | grep -qx 'max-clients-per-ip = 5' || fail "-t does not show max-clients-per-ip = 5"

bg_start flood python3 "$ABUSE" flood --port "$P" --count 5 --modes silent \
	--status "$T/flood.status" --until-file "$T/stop" --wait 60
FLOOD=$LAST_PID
wait_until 20 test -e "$T/flood.status" || fail "the flood client did not connect"
grep -qx "connected 5" "$T/flood.status" || fail "flood: $(cat "$T/flood.status")"
ok "127.0.0.1 holds 5 pending handshakes"

kd "$P" small.test SOA >"$T/capped.txt" 2>&1 && fail "a 6th connection from 127.0.0.1 was served: $(head -n 3 "$T/capped.txt")"
ok "6th connection from 127.0.0.1 refused"
wait_until 5 grep -q "remote 127.0.0.1#[0-9]*, connection refused: max-clients-per-ip (5) reached" "$PROXY_LOG" ||
	{ tail -n 5 "$PROXY_LOG"; fail "no 'max-clients-per-ip (5) reached' log line"; }
ok "log: $(grep -m1 'max-clients-per-ip' "$PROXY_LOG" | cut -d' ' -f2-)"

kd "$P" small.test SOA -b 127.0.0.2 >"$T/other.txt" 2>&1 || fail "127.0.0.2 not served: $(tail -n 3 "$T/other.txt")"
[ "$(dig_status "$T/other.txt")" = NOERROR ] || fail "127.0.0.2: status $(dig_status "$T/other.txt")"
ok "another address (127.0.0.2) is served meanwhile"

touch "$T/stop"
wait_pid_exit "$FLOOD" 30 || fail "flood client did not exit"
wait_until 10 bash -c "$(declare -f kd _loopback_only kdig); kd $P small.test SOA >'$T/after.txt' 2>&1" ||
	fail "127.0.0.1 still refused after its connections closed: $(tail -n 3 "$T/after.txt")"
[ "$(dig_status "$T/after.txt")" = NOERROR ] || fail "after: status $(dig_status "$T/after.txt")"
ok "127.0.0.1 served again once its connections are gone"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"
pass
