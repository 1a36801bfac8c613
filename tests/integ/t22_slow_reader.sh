#!/bin/bash
# t22: slow readers. Client A pipelines 8 AXFRs of the 100k-record zone
# (8 x 2.8 MB, far more than the kernel buffers hold) and then reads nothing
# until the test releases it (file $T/releaseA), after every check of the
# stall; client C pipelines SOA queries for 3 s without ever reading an
# answer. Meanwhile client B's AXFR completes, identical to a direct one, and
# the proxy's RSS grows by no more than its per-connection bound: it stops
# reading the backend (and the client) instead of buffering.
#   ROB-02 (backpressure: one bounded buffer per
#   transfer; reading pauses when it is full), TCP-03/TCP-04 (other clients
#   unaffected), XOT-06/AXFR-09 (A's 8 streams all complete once it reads
#   again, nothing lost), ROB-03 timers (no idle timeout while a transfer
#   is outstanding; progress timeout 120 s), TCP-05 (once A's transfers have
#   ended, its session is closed at idle-timeout).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_abuse.sh"
test_init

IDLE=3
RELEASE=$T/releaseA
P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
sed -i "s/^idle-timeout = .*/idle-timeout = $IDLE/" "$T/xotproxy.ini"
start_proxy proxy "$T/xotproxy.ini" "$P"

kt "$XOT_NAMED_PORT" example.test AXFR >"$T/direct.txt" || fail "direct AXFR failed"
want=$(xfr_records "$T/direct.txt")
[ -n "$want" ] && [ "$want" -gt "$XOT_ZONE_BIG_N" ] || fail "direct AXFR is short ($want records)"
xfr_ok_same "$P" example.test "$T/direct.txt" "warm-up AXFR through the proxy"
rss0=$(vm "$PROXY_PID" VmRSS)
mem_reset_peak "$PROXY_PID"

# --- client A: 8 pipelined AXFRs, then no reading until $RELEASE exists (at
# most its --timeout, 60 s).
bg_start clientA python3 "$ABUSE" session --port "$P" --ca "$XOT_CA" --timeout 60 \
	pipe:8:example.test:AXFR:until=$RELEASE eof:$((IDLE + 9))
A_PID=$LAST_PID
wait_until 10 grep -q 'not reading' "$T/clientA.log" || fail "client A did not start"

# The pipeline is stalled when the proxy has stopped reading the backend: its
# backend socket holds unread data that does not move for 1 s.
backend_recvq() {
	ss -tnpH state established "( dport = :$XOT_NAMED_PORT )" 2>/dev/null |
		awk -v p="pid=$PROXY_PID," 'index($0, p) { s += $1 } END { print s + 0 }'
}
client_sendq() {
	ss -tnpH state established "( sport = :$P )" 2>/dev/null |
		awk -v p="pid=$PROXY_PID," 'index($0, p) { s += $2 } END { print s + 0 }'
}
stalled() {
	local a b i
	a=$(backend_recvq)
	[ "$a" -gt 0 ] || return 1
	for i in 1 2 3 4 5; do
		sleep 0.2
		b=$(backend_recvq)
		[ "$a" = "$b" ] || return 1
	done
}
wait_until 8 stalled || fail "the proxy never stopped reading the backend while client A was not reading (unbounded buffering?)"
ok "stalled: $(backend_recvq) bytes unread in the proxy's backend socket, $(client_sendq) bytes queued towards client A"

# --- client C: SOA queries pipelined for 3 s, no answer ever read.
bg_start clientC python3 "$ABUSE" session --port "$P" --ca "$XOT_CA" --timeout 30 \
	stuff:3:small.test:SOA hold:2
C_PID=$LAST_PID

# --- client B during both stalls: a complete, identical AXFR.
t0=$(now_ms)
xfr_ok_same "$P" example.test "$T/direct.txt" "client B's AXFR during the stalls"
ok "client B's AXFR took $(($(now_ms) - t0)) ms"
kd "$P" small.test SOA >"$T/soa-b.txt" 2>&1 || fail "SOA during the stalls failed"
[ "$(dig_status "$T/soa-b.txt")" = NOERROR ] || fail "SOA during the stalls: $(dig_status "$T/soa-b.txt")"
ok "client B's SOA answered during the stalls"

wait_pid_exit "$C_PID" 20
rc=$?
cat "$T/clientC.log"
[ $rc -eq 0 ] || fail "client C exited $rc"
grep -Eq 'writes blocked for the last [1-9]' "$T/clientC.log" ||
	fail "client C could write queries for 3 s without being blocked: the proxy keeps reading from a client that reads no answers"
ok "client C: the proxy stopped reading its queries ($(sed -n 's/.*stuff sent \([0-9]*\) octets (\([0-9]*\) queries).*/\2 queries accepted/p' "$T/clientC.log"))"
stalled || fail "client A's pipeline no longer stalled while A does not read"
hwm=$(vm "$PROXY_PID" VmHWM)
rss1=$(vm "$PROXY_PID" VmRSS)
ok "max RSS: before $rss0 KiB, peak with A and C stalled and B transferring $hwm KiB, now $rss1 KiB"
assert_mem_le $((hwm - rss0)) 1024 "RSS growth with two stalled readers and one transfer"

# --- A reads again: its 8 transfers complete, nothing lost.
grep -q 'there after' "$T/clientA.log" && fail "client A resumed reading before the test released it: $(grep 'there after' "$T/clientA.log")"
touch "$RELEASE"
wait_until 60 grep -q 'pipe 8 x example.test AXFR complete' "$T/clientA.log" ||
	{ cat "$T/clientA.log"; fail "client A's transfers did not complete after it resumed reading"; }
grep 'pipe 8' "$T/clientA.log"
grep -q "complete: \\[rcode=NOERROR msgs=[0-9]* records=$want\\]x8 " "$T/clientA.log" ||
	fail "client A: not 8 complete transfers of $want records each"
ok "client A: 8 complete transfers of $want records after a stall of $(sed -n 's/.* there after \([0-9.]*\) s.*/\1/p' "$T/clientA.log") s"
wait_until 10 bash -c "[ \$(grep -c 'zone example\\.test\\., AXFR, ok' '$PROXY_LOG') -ge 10 ]" ||
	fail "proxy logged $(grep -c 'zone example\.test\., AXFR, ok' "$PROXY_LOG") AXFR ok lines, expected 10"
hwm2=$(vm "$PROXY_PID" VmHWM)
assert_mem_le $((hwm2 - rss0)) 1024 "RSS growth including A's drain (peak $hwm2 KiB)"

# --- then A's session, idle, is closed at idle-timeout (the progress timer of
# the transfers must not keep it open).
wait_pid_exit "$A_PID" 30
rc=$?
cat "$T/clientA.log"
[ $rc -eq 0 ] || fail "client A: $(grep FAIL "$T/clientA.log")"
el=$(sed -n 's/.* eof .* after \([0-9.]*\) s$/\1/p' "$T/clientA.log")
awk -v e="$el" -v i="$IDLE" 'BEGIN { exit !(e >= i - 0.5 && e <= i + 2.5) }' ||
	fail "client A's session was closed ${el} s after its transfers ended; idle-timeout is $IDLE s"
ok "client A's idle session closed ${el} s after its transfers ended (idle-timeout $IDLE s)"
alive "$PROXY_PID" || fail "proxy died"
pass
