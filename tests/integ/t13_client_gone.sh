#!/bin/bash
# t13: a client that goes away mid-AXFR costs nothing afterwards.
#   TCP-06 (RFC 7766 §6.2.4): when the downstream closes, the proxy stops and
#   closes its upstream work within about a second, and logs the transfer as
#   aborted; the proxy keeps serving.
. "$(dirname "$0")/lib.sh"
test_init

CLIENT=$(cd "$(dirname "$0")/../tools" && pwd)/xotclient.py
P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
start_proxy proxy "$T/xotproxy.ini" "$P"

backend_conns() {
	ss -tnpH state established "( dport = :$XOT_NAMED_PORT )" 2>/dev/null | grep -c "pid=$PROXY_PID,"
}

# The client reads 200 KB of the 2.8 MB answer, then closes its socket.
python3 "$CLIENT" --port "$P" --ca "$XOT_CA" --close-after 200000 example.test/AXFR \
	>"$T/client.out" 2>"$T/client.err" || fail "client failed: $(cat "$T/client.err")"
assert_grep "$T/client.out" "closed early" "client closed mid-transfer"
t0=$(date +%s%N)
wait_until 1 bash -c "[ \$(ss -tnpH state established '( dport = :$XOT_NAMED_PORT )' | grep -c 'pid=$PROXY_PID,') = 0 ]" ||
	fail "backend connection still open 1 s after the client left ($(backend_conns) open)"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "backend connection closed within ${ms} ms of the client leaving"
wait_until 5 grep -Eq 'zone example\.test\., AXFR, aborted \(client' "$PROXY_LOG" ||
	{ tail -n 5 "$PROXY_LOG"; fail "no 'AXFR, aborted (client ...)' log line"; }
ok "log: $(grep -E 'AXFR, aborted' "$PROXY_LOG" | tail -n 1)"

# The proxy is unaffected: a full AXFR right after works.
kd "$P" example.test AXFR >"$T/axfr.txt" 2>"$T/axfr.err" || fail "AXFR after the abort failed: $(cat "$T/axfr.err")"
# (compare with a direct transfer: earlier tests may have added records)
kt "$XOT_NAMED_PORT" example.test AXFR >"$T/direct.txt" 2>/dev/null || fail "direct AXFR failed"
[ "$(xfr_records "$T/axfr.txt")" = "$(xfr_records "$T/direct.txt")" ] ||
	fail "AXFR after the abort: $(xfr_records "$T/axfr.txt") records, direct $(xfr_records "$T/direct.txt")"
ok "next AXFR complete ($(xfr_records "$T/axfr.txt") records, as direct)"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"
pass
