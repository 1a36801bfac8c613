#!/bin/bash
# t101: graceful stop through the parts' table (issue 14, item 1). SIGTERM
# with an AXFR in flight: logged with the open count, the listener closes at
# once, the transfer still completes, and the process exits 0 by itself
# when it is done. With a query the backend never answers, shutdown-timeout
# closes what is left and the process exits.
. "$(dirname "$0")/lib.sh"
test_init

ABUSE=$(cd "$(dirname "$0")/../tools" && pwd)/xotabuse.py
# backend_busy: the proxy under test holds a connection to the named
# backend (a query was forwarded)
backend_busy() {
	ss -Htnp state established "dport = :$BPORT" | grep -q "pid=$PROXY_PID,"
}

# run_stop NAME SHUTDOWN-TIMEOUT QUERY: a proxy in front of $BPORT, one
# client session running QUERY, SIGTERM once the query reached the backend.
run_stop() {
	local name=$1 timeout=$2 query=$3
	local p
	p=$(free_port) || fail "no free port"
	proxy_ini "$T/$name.ini" "$p" "$BPORT"
	sed -i "/^\[global\]/a shutdown-timeout = $timeout" "$T/$name.ini"
	start_proxy "$name" "$T/$name.ini" "$p"
	backend_busy && fail "$name: a connection to the backend is open before the test"
	bg_start "$name-client" python3 "$ABUSE" session --port "$p" --ca "$XOT_CA" --timeout 60 \
		"$query"
	CLIENT=$LAST_PID
	wait_until 20 backend_busy ||
		fail "$name: the AXFR never reached the backend"
	kill -TERM "$PROXY_PID"
	wait_until 10 grep -q "signal 15: stopping; 1 connections open" "$PROXY_LOG" ||
		{ tail -n 5 "$PROXY_LOG"; fail "$name: no 'signal 15: stopping; 1 connections open' line"; }
	ok "$name: SIGTERM with the AXFR in flight: $(grep -m1 'signal 15' "$PROXY_LOG" | cut -d' ' -f3-)"
	wait_until 10 bash -c "! ss -Hltn 'sport = :$p' | grep -q ." || fail "$name: still listening on $p"
	ok "$name: the listener closed at once"
}

# --- the transfer finishes, then the process exits 0 by itself
BPORT=$XOT_NAMED_PORT
run_stop graceful 30 "q:example.test:AXFR:hold=2"
wait_pid_exit "$CLIENT" 60 || fail "graceful: the AXFR did not complete: $(tail -n 3 "$T/graceful-client.log")"
ok "graceful: the AXFR in flight completed: $(tail -n 1 "$T/graceful-client.log")"
wait_pid_exit "$PROXY_PID" 20
rc=$?
[ "$rc" = 0 ] || fail "graceful: the proxy did not exit 0 by itself after the transfer (status $rc)"
assert_nogrep "$PROXY_LOG" "still open after" "graceful: no connection left for the deadline"
assert_grep "$PROXY_LOG" "info: stopped" "graceful: 'stopped' logged"

# --- a backend that never answers: shutdown-timeout (2 s) closes the session
BPORT=$(free_port) || fail "no free port"
bg_start hung python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $BPORT)); s.listen(8)
held = []
while True:
    c, _ = s.accept(); held.append(c)"
wait_until 10 tcp_listening "$BPORT" || fail "hung backend not listening"
run_stop deadline 2 "q:small.test:SOA"
wait_pid_exit "$PROXY_PID" 15
rc=$?
[ "$rc" = 0 ] || fail "deadline: the proxy did not exit 0 within shutdown-timeout (status $rc)"
assert_grep "$PROXY_LOG" "stop: 1 connections still open after 2 s, closing them" \
	"deadline: the connection left was closed at shutdown-timeout"
pass
