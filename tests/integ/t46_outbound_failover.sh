#!/bin/bash
# t46: primaries failing around the outbound side.
#   1. The first primary is down (nothing listens on its port): the second
#      one is used; the failure is logged once, the dead primary is not
#      tried again during its backoff, and the backoff doubles (1, 2, 4 s).
#      Both down: SOA gets SERVFAIL with EDE 22 at once.
#   2. The primary dies (kill -9 of the inbound xotproxy) in the middle of a
#      400k-record AXFR that a named secondary, holding serial 1, fetches
#      through the outbound side: that transfer fails and the secondary
#      keeps serving serial 1, complete.
#   3. The local secondary goes away mid-AXFR: the TLS session upstream is
#      closed at once (the primary logs the transfer as aborted by its
#      client within a second; no connection from the outbound side remains),
#      it is not put back for reuse.
#   XOT-08/XOT-04 (failover only on connect/handshake/verification failure),
#   AXFR-05 (a closed connection ends the transfer; retries do not speed up:
#   backoff), AXFR-09/IXFR-04 (never a complete-looking partial transfer: the
#   secondary keeps its old copy), AXFR-07 (an AXFR can only be cancelled by
#   closing its connection), TCP-06 (downstream close stops the upstream),
#   DOT-13 (EOF without close_notify mid-transfer is a failure).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
PLAIN=$(cd "$XOT_INTEG_DIR/../tools" && pwd)/plaindns.py

# ---------------------------------------------------------- 1. failover
D=$(free_port) || fail "no free port"     # nothing listens here
D2=$(free_port) || fail "no free port"
P=$(free_port) || fail "no free port"
O=$(free_port) || fail "no free port"
start_xot_primary primary "$P" "$XOT_NAMED_PORT"
outbound_ini "$T/failover.ini" "$O" "127.0.0.1:$D 127.0.0.1:$P"
start_outbound ob-failover "$T/failover.ini" "$O"
tcp_listening "$D" && fail "something listens on the 'dead' port $D"

kt "$XOT_NAMED_PORT" example.test AXFR >"$T/direct.txt" 2>&1 || fail "direct AXFR from named failed"
kt "$O" example.test AXFR >"$T/failover.txt" 2>"$T/failover.err" ||
	fail "AXFR through the outbound side with the first primary down failed: $(head -c 300 "$T/failover.err")"
same_records "$T/direct.txt" "$T/failover.txt" "AXFR with the first primary down"
dead_re="primary 127\\.0\\.0\\.1#$D, .*not tried again for"
wait_until 5 grep -Eq "$dead_re" "$OUT_LOG" || { tail -n 5 "$OUT_LOG"; fail "no log line about the dead first primary"; }
grep -E "$dead_re" "$OUT_LOG" | head -n 1 | grep -Eq 'not tried again for 1 s' || fail "first backoff is not 1 s: $(grep -E "$dead_re" "$OUT_LOG" | head -n 1)"
ok "failover logged: $(grep -E "$dead_re" "$OUT_LOG" | head -n 1 | cut -d' ' -f3-)"
grep -Eq "primary 127\\.0\\.0\\.1#$P, TLS established" "$OUT_LOG" || fail "no TLS session to the second primary"
grep -Eq "zone example\\.test\\., AXFR, ok" "$PRI_LOG" || fail "the second primary logged no AXFR"
ok "the second primary carried the AXFR"

# The dead primary stays first in order: once its backoff has run out it is
# tried again, and each failure doubles the step (1, 2, 4 s). SOA queries
# every 0.2 s meanwhile all succeed (from the second primary), and none of
# them makes the outbound side try the dead primary before its backoff has
# run out: the gap between two failure lines is at least the earlier step.
line_ms() { date -d "$(cut -d' ' -f1 <<<"$1")" +%s%3N; }
line_step() { sed -n 's/.*not tried again for \([0-9]*\) s.*/\1/p' <<<"$1"; }
prev=$(grep -E "$dead_re" "$OUT_LOG" | head -n 1)
for round in 1 2 3; do
	pstep=$(line_step "$prev")
	# (the AXFR above may have outlasted the first step: then the next
	# failure line is already there)
	cur=$(grep -E "$dead_re" "$OUT_LOG" | sed -n "$((round + 1))p")
	end=$(($(date +%s%N) / 1000000 + (pstep + 3) * 1000))
	while [ -z "$cur" ]; do
		[ "$(($(date +%s%N) / 1000000))" -lt "$end" ] || fail "the dead primary was not tried again within $((pstep + 3)) s of a ${pstep} s backoff"
		dig +tcp +norec +time=5 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/soa-$round.txt" 2>&1 || fail "SOA failed"
		[ "$(dig_status "$T/soa-$round.txt")" = NOERROR ] || fail "SOA while the first primary is down: $(dig_status "$T/soa-$round.txt")"
		sleep 0.2
		cur=$(grep -E "$dead_re" "$OUT_LOG" | sed -n "$((round + 1))p")
	done
	step=$(line_step "$cur")
	[ "$step" = $((pstep * 2)) ] || fail "backoff after a ${pstep} s step: ${step} s, expected $((pstep * 2)) s: $cur"
	gap=$(($(line_ms "$cur") - $(line_ms "$prev")))
	[ "$gap" -ge $((pstep * 1000 - 50)) ] || fail "the dead primary was tried again after $gap ms, within its ${pstep} s backoff"
	ok "tried again after $gap ms (backoff ${pstep} s); next backoff ${step} s"
	prev=$cur
done
[ "$(grep -c 'zone example\.test\., SOA, ok' "$OUT_LOG")" -ge 1 ] || fail "no SOA relayed meanwhile"

# Both primaries down: SERVFAIL with EDE 22, quickly.
O2=$(free_port) || fail "no free port"
outbound_ini "$T/alldown.ini" "$O2" "127.0.0.1:$D 127.0.0.1:$D2" connect-timeout=1
start_outbound ob-alldown "$T/alldown.ini" "$O2"
t0=$(($(date +%s%N) / 1000000))
dig +tcp +norec +time=10 +tries=1 @127.0.0.1 -p "$O2" example.test SOA >"$T/alldown.txt" 2>&1 || fail "no answer with both primaries down"
ms=$(($(date +%s%N) / 1000000 - t0))
[ "$(dig_status "$T/alldown.txt")" = SERVFAIL ] || fail "both primaries down: $(dig_status "$T/alldown.txt"), expected SERVFAIL"
grep -Eq '^; EDE: 22( |$)' "$T/alldown.txt" || fail "both primaries down: no EDE 22"
[ "$ms" -lt 3000 ] || fail "both primaries down: SERVFAIL took $ms ms"
ok "both primaries down: SERVFAIL, EDE 22, in $ms ms"
assert_survives "$OUT_PID" 3 "both primaries down"
stop_pid "$OUT_PID" TERM 10 || fail "both primaries down: outbound proxy exited with status $?"

# --------------------------------------- 2. the primary dies mid-AXFR
Z=kill.test
N2=${XOT_KILL2_N:-400000}
B=$(free_port) || fail "no free port"
PK=$(free_port) || fail "no free port"
OK=$(free_port) || fail "no free port"
S=$(free_port) || fail "no free port"
nd=$T/kill-primary
mkdir -p "$nd"
kill_primary_conf() {
	named_options "$nd" "$B"
	echo "zone \"$Z\" { type primary; file \"$Z.zone\"; allow-transfer { any; }; };"
}
kill_primary_conf >"$nd/named.conf"
"$XOT_INTEG_DIR/gen-zone.sh" "$Z" 2000 1 >"$nd/$Z.zone"
start_named kill-primary "$nd" "$B" "$Z" 60
KP_PID=$LAST_PID
XOT_PRIMARY_ZONES=$Z start_xot_primary kill-inbound "$PK" "$B"
KI_PID=$PRI_PID
outbound_ini "$T/kill.ini" "$OK" "127.0.0.1:$PK"
start_outbound ob-kill "$T/kill.ini" "$OK"
KO_LOG=$OUT_LOG
KO_PID=$OUT_PID
sd=$T/kill-secondary
mkdir -p "$sd"
named_secondary_conf "$sd" "$S" "$Z" "$OK" >"$sd/named.conf"
start_secondary named kill-secondary "$sd"
wait_until 60 sec_serial_is "$S" "$Z" 1 || { tail -n 20 "$SEC_LOG"; fail "secondary does not serve $Z serial 1"; }
kt "$B" "$Z" AXFR >"$T/kill-v1.txt" 2>&1 || fail "AXFR from the primary failed"
kt "$S" "$Z" AXFR >"$T/kill-sec-v1.txt" 2>&1 || fail "AXFR from the secondary failed"
same_records "$T/kill-v1.txt" "$T/kill-sec-v1.txt" "secondary's copy of serial 1"

# Serial 2: a large new version (restart the primary with it).
stop_pid "$KP_PID" TERM 20 || fail "primary did not stop"
"$XOT_INTEG_DIR/gen-zone.sh" "$Z" "$N2" 2 >"$nd/$Z.zone"
start_named kill-primary2 "$nd" "$B" "$Z" 90
KP_LOG=$T/kill-primary2.log
[ "$(soa_serial "$B" "$Z")" = 2 ] || fail "primary does not serve serial 2"
kdig @127.0.0.1 -p "$S" +time=5 +retry=1 "$Z" "NOTIFY=2" >"$T/notify2.txt" 2>&1 || fail "NOTIFY failed: $(cat "$T/notify2.txt")"
wait_until 30 grep -Eq "transfer of '$Z/IN': (AXFR|AXFR-style IXFR) started" "$KP_LOG" ||
	{ tail -n 10 "$SEC_LOG"; fail "the primary never started sending serial 2"; }
stop_pid "$KI_PID" KILL 10
ok "XoT primary (inbound xotproxy) killed with SIGKILL once named started sending serial 2"
grep -Eq "transfer of '$Z/IN': .*ended" "$KP_LOG" &&
	fail "named finished sending serial 2 before the kill: cannot test a mid-transfer failure"
xfail_re="transfer of '$Z/IN' from 127\\.0\\.0\\.1#$OK: (failed|Transfer status: [^s])"
wait_until 30 grep -Eq "$xfail_re" "$SEC_LOG" ||
	{ grep -E "$Z" "$SEC_LOG" | tail -n 10; fail "the secondary logged no failed transfer"; }
ok "secondary: $(grep -E "$xfail_re" "$SEC_LOG" | head -n 1 | cut -d' ' -f3-)"
n_ok=$(grep -c "transfer of '$Z/IN' from 127\\.0\\.0\\.1#$OK: Transfer status: success" "$SEC_LOG")
[ "$n_ok" = 1 ] || fail "the secondary logged $n_ok successful transfers, expected 1 (serial 1)"
sec_serial_is "$S" "$Z" 1 || fail "the secondary serves serial '$(sec_serial "$S" "$Z")' after the failed transfer, expected 1"
kt "$S" "$Z" AXFR >"$T/kill-sec-after.txt" 2>&1 || fail "AXFR from the secondary after the failure failed"
same_records "$T/kill-v1.txt" "$T/kill-sec-after.txt" "secondary still serves serial 1, complete"
wait_until 10 grep -Eq "zone $Z\\., (AXFR|IXFR), (aborted|failed)" "$KO_LOG" ||
	{ tail -n 5 "$KO_LOG"; fail "the outbound side did not log the transfer as aborted"; }
ok "outbound: $(grep -E "zone $Z\\., (AXFR|IXFR), (aborted|failed)" "$KO_LOG" | tail -n 1 | cut -d' ' -f3-)"
assert_nogrep "$KO_LOG" "zone $Z\\., (AXFR|IXFR), ok, [0-9]+ messages, [0-9]{7,} bytes" "outbound never logged the big transfer as ok"
alive "$KO_PID" || fail "outbound proxy died"
stop_pid "$KO_PID" TERM 10 || fail "outbound proxy (primary killed) exited with status $?"

# ------------------------------ 3. the local secondary goes away mid-AXFR
P3=$(free_port) || fail "no free port"
O3=$(free_port) || fail "no free port"
# The 400k-record kill.test (about 10 MB) from part 2's primary, still
# running: kernel buffers on the way (about 1.5 MB on loopback) cannot
# absorb it while the client holds.
XOT_PRIMARY_ZONES=$Z start_xot_primary gone-primary "$P3" "$B"
outbound_ini "$T/gone.ini" "$O3" "127.0.0.1:$P3"
start_outbound ob-gone "$T/gone.ini" "$O3"
# out_conns: established TCP connections of the outbound proxy to the primary.
out_conns() { ss -tnpH state established "( dport = :$P3 )" 2>/dev/null | grep -c "pid=$OUT_PID,"; }
hold=$T/gone.release
python3 "$PLAIN" tcp "$Z" AXFR --port "$O3" --close-after 100000 --rcvbuf 16384 \
	--hold-file "$hold" --rst >"$T/gone.out" 2>&1 &
CL=$!
wait_until 20 grep -q holding "$T/gone.out" || { cat "$T/gone.out"; fail "the client did not get 100 KB of the AXFR"; }
[ "$(out_conns)" = 1 ] || fail "the outbound side holds $(out_conns) connections to the primary mid-transfer, expected 1"
grep -q "zone $Z\\., AXFR, ok" "$PRI_LOG" &&
	fail "the primary finished the AXFR while the client held (buffers absorbed the zone): cannot test"
ok "mid-transfer: 1 TLS connection to the primary, transfer not finished"
t0=$(date +%s%N)
touch "$hold"
wait "$CL" || fail "the client failed: $(cat "$T/gone.out")"
grep -q "closed early" "$T/gone.out" || fail "the client did not close early: $(cat "$T/gone.out")"
wait_until 2 bash -c "[ \$(ss -tnpH state established '( dport = :$P3 )' | grep -c 'pid=$OUT_PID,') = 0 ]" ||
	fail "the TLS connection to the primary is still open 2 s after the local secondary left ($(out_conns))"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "TLS connection to the primary closed ${ms} ms after the local secondary left"
wait_until 2 grep -Eq "zone $Z\\., AXFR, aborted \\(client" "$PRI_LOG" ||
	{ tail -n 5 "$PRI_LOG"; fail "the primary did not log the AXFR as aborted by its client"; }
ok "primary: $(grep -E 'AXFR, aborted' "$PRI_LOG" | tail -n 1 | cut -d' ' -f3-)"
[ "$ms" -le 1500 ] || fail "closing upstream took $ms ms"
# The outbound side still works (a fresh session).
kt "$O3" "$Z" AXFR >"$T/gone-after.txt" 2>&1 || fail "AXFR after the abort failed"
kt "$B" "$Z" AXFR >"$T/direct2.txt" 2>&1 || fail "direct AXFR failed"
same_records "$T/direct2.txt" "$T/gone-after.txt" "AXFR through the outbound side after the abort"
alive "$OUT_PID" || fail "outbound proxy died"
pass
