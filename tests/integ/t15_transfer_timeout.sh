#!/bin/bash
# t15: transfer-timeout. A client that stops reading mid-transfer is cut off
# once no progress has been made for transfer-timeout seconds: no complete
# message from the backend (its answers back up behind the stalled client)
# and no TLS record taken by the client. The close is an abort (the client
# never sees a complete zone, AXFR-09); a client reading normally is not cut
# off even though the transfer takes longer than the timeout. TCP-05, PRX-04.
. "$(dirname "$0")/lib.sh"
test_init

CLIENT=$(cd "$(dirname "$0")/../tools" && pwd)/xotclient.py
P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
sed -i "/^idle-timeout/a transfer-timeout = 3" "$T/xotproxy.ini"
start_proxy proxy "$T/xotproxy.ini" "$P"

# 8 pipelined AXFRs (about 23 MB, more than the socket buffers hold), then no reading for 8 s.
t0=$(date +%s%N)
python3 "$CLIENT" --port "$P" --ca "$XOT_CA" --stall 8 --timeout 60 \
	$(for i in 1 2 3 4 5 6 7 8; do echo example.test/AXFR; done) >"$T/stalled.out" 2>"$T/stalled.err" &
STALLED=$!
_BG_PIDS+=("$STALLED")
wait_until 30 grep -q "aborted (transfer timeout)" "$PROXY_LOG" ||
	{ tail -n 5 "$PROXY_LOG"; fail "no 'aborted (transfer timeout)' within 30 s"; }
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 3000 ] || fail "cut off after $ms ms, before the 3 s transfer-timeout"
ok "stalled client cut off after $ms ms: $(grep -m1 'aborted (transfer timeout)' "$PROXY_LOG" | cut -d' ' -f3-)"
wait_until 10 bash -c "[ \$(ss -tnpH state established '( dport = :$XOT_NAMED_PORT )' | grep -c 'pid=$PROXY_PID,') = 0 ]" ||
	fail "backend connection still open after the abort"
ok "backend connection closed"
rc=0
wait_pid_exit "$STALLED" 60 || rc=$?
alive "$STALLED" && fail "stalled client did not exit"
[ "$rc" = 3 ] || fail "stalled client exit $rc, expected 3 (incomplete transfers): $(cat "$T/stalled.err")"
if ! grep -q incomplete "$T/stalled.out"; then
	cat "$T/stalled.out"
	fail "the stalled client saw every transfer complete"
fi
ok "the stalled client saw incomplete transfers ($(grep -c incomplete "$T/stalled.out") of 8)"

# A client that keeps reading takes longer than 3 s for 8 AXFRs on a loaded
# machine but is never cut off: every record it takes is progress.
python3 "$CLIENT" --port "$P" --ca "$XOT_CA" --timeout 120 \
	$(for i in 1 2 3 4 5 6 7 8; do echo example.test/AXFR; done) >"$T/reader.out" 2>"$T/reader.err" ||
	fail "reading client failed: $(cat "$T/reader.err")"
[ "$(grep -c ' done$' "$T/reader.out")" = 8 ] || fail "reading client: $(grep -c ' done$' "$T/reader.out") of 8 complete"
ok "a reading client's 8 AXFRs complete"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"
pass
