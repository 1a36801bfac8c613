#!/bin/bash
# t108: the listener label of xotproxy_connections_accepted_total comes
# from the listener the connection was accepted on (issue 14 item 1: no
# getsockname per accepted socket), so a wildcard listener is one series
# whatever local address clients use. README, Metrics: "listener (the
# address the listener is bound to)". Connections to 127.0.0.2 and
# 127.0.0.3 on listen = 0.0.0.0:PORT are both counted under
# listener="0.0.0.0:PORT", in one series with the value 2. (Before the
# listener module the label was each connection's local address: one
# series per address a client chose, an unbounded label set.)
. "$(dirname "$0")/lib.sh"
test_init
command -v curl >/dev/null || skip "curl not installed"

P=$(free_port) || fail "no free port"
MP=$(free_port) || fail "no free port"
proxy_ini "$T/x.ini" "$P" "$XOT_NAMED_PORT"
sed -i "s/^listen = 127\\.0\\.0\\.1:$P/listen = 0.0.0.0:$P/; s/^log-level = .*/&\nmetrics = 127.0.0.1:$MP/" "$T/x.ini"
bg_start proxy "$XOT_BIN" -c "$T/x.ini"
PROXY_PID=$LAST_PID
wait_until 20 tcp_listening "$MP" || fail "metrics not listening"
wait_until 20 tcp_listening "$P" || fail "inbound not listening"
for a in 127.0.0.2 127.0.0.3; do
	python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2]))).close()' "$a" "$P" ||
		fail "cannot connect to $a:$P"
done
counted() {
	curl -sS --max-time 5 "http://127.0.0.1:$MP/metrics" >"$T/scrape" 2>/dev/null &&
		grep -q '^xotproxy_connections_accepted_total{direction="inbound".* 2$' "$T/scrape"
}
wait_until 10 counted || fail "the two connections were not counted in one series: $(grep accepted_total "$T/scrape")"
lines=$(grep '^xotproxy_connections_accepted_total{direction="inbound"' "$T/scrape")
note "$lines"
[ "$(grep -c . <<<"$lines")" = 1 ] || fail "more than one inbound series for one listener: $lines"
grep -q "listener=\"0\\.0\\.0\\.0:$P\"} 2\$" <<<"$lines" ||
	fail "listener label is not the listener's address (0.0.0.0:$P): $lines"
ok "wildcard listener: both connections counted under listener=\"0.0.0.0:$P\""
pass
