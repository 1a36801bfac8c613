#!/bin/bash
# t108: the listener label of xotproxy_connections_accepted_total for a
# wildcard listen address (issue 14, hostile review). README, Metrics:
# "listener (the local address)". Before the listener refactor the label
# was the local address the client connected to (getsockname of the
# accepted socket): a connection to 127.0.0.2 on listen = 0.0.0.0:PORT was
# counted as listener="127.0.0.2:PORT". The refactor takes the label from
# the listener, so it reads "0.0.0.0:PORT" -- with the default listen
# (0.0.0.0:853 [::]:853) every series changes. This test asserts the old,
# documented label and FAILS on this tree: either restore it for wildcard
# listeners or document the new label (README) and change this test.
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
python3 -c 'import socket, sys; socket.create_connection(("127.0.0.2", int(sys.argv[1]))).close()' "$P" ||
	fail "cannot connect to 127.0.0.2:$P"
counted() {
	curl -sS --max-time 5 "http://127.0.0.1:$MP/metrics" >"$T/scrape" 2>/dev/null &&
		grep -q '^xotproxy_connections_accepted_total{direction="inbound"' "$T/scrape"
}
wait_until 10 counted || fail "the connection was not counted"
line=$(grep '^xotproxy_connections_accepted_total{direction="inbound"' "$T/scrape")
note "$line"
grep -q "listener=\"127\\.0\\.0\\.2:$P\"" <<<"$line" ||
	fail "listener label is not the local address the client connected to (127.0.0.2:$P): $line"
ok "wildcard listener: counted under the local address 127.0.0.2:$P"
pass
