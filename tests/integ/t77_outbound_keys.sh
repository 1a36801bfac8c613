#!/bin/bash
# t77: the outbound keys that replaced hard-coded values (issue 13, edges):
# backend-timeout, transfer-timeout, queue-timeout, max-clients,
# max-udp-queries, with the running binary.
#   1. -t: out-of-range values are refused as FILE:LINE: reason; the
#      effective settings show the defaults (4, 120, 10, 1024, 256).
#   2. backend-timeout = 2 with one primary that completes TLS and never
#      answers: SERVFAIL with EDE 22 after about 2 s (before: 60 s), over TCP
#      and UDP, and the primary is backed off.
#   3. max-clients = 2: a third local TCP connection is closed at accept
#      (logged as the connection limit); max-udp-queries = 1: a second UDP
#      query while one is in flight gets SERVFAIL at once.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

# ------------------------------------------------------------------ 1. -t
free_ports O FP
for kv in backend-timeout=0 transfer-timeout=86401 queue-timeout=0 max-clients=0 max-udp-queries=1000001; do
	outbound_ini "$T/bad.ini" "$O" "127.0.0.1:$FP" "$kv"
	line=$(grep -n "^${kv%%=*} = " "$T/bad.ini" | cut -d: -f1)
	if "$XOT_BIN" -t -c "$T/bad.ini" >"$T/bad.out" 2>&1; then
		fail "-t accepted $kv"
	fi
	grep -q "$T/bad.ini:$line: ${kv%%=*}: \"${kv#*=}\" is not an integer in" "$T/bad.out" ||
		fail "-t on $kv: $(cat "$T/bad.out")"
done
ok "-t refuses out-of-range values with FILE:LINE: reason"
outbound_ini "$T/def.ini" "$O" "127.0.0.1:$FP"
"$XOT_BIN" -t -c "$T/def.ini" >"$T/def.out" 2>&1 || fail "-t: $(cat "$T/def.out")"
for want in "backend-timeout = 4" "transfer-timeout = 120" "queue-timeout = 10" "max-clients = 1024" \
	"max-udp-queries = 256"; do
	grep -qx "$want" "$T/def.out" || fail "-t does not show '$want'"
done
ok "-t shows the defaults"

# ------------------------------------- 2. backend-timeout, a silent primary
start_fakexot fake "$FP" hang
outbound_ini "$T/ob.ini" "$O" "127.0.0.1:$FP" backend-timeout=2 max-clients=2 max-udp-queries=1
start_outbound ob "$T/ob.ini" "$O"
for how in +tcp +notcp; do
	t0=$(ms_now)
	dig "$how" +norec +time=20 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/silent$how.txt" 2>&1 ||
		fail "$how: no answer from the outbound side"
	ms=$(($(ms_now) - t0))
	[ "$(dig_status "$T/silent$how.txt")" = SERVFAIL ] || fail "$how: $(dig_status "$T/silent$how.txt"), expected SERVFAIL"
	grep -Eq '^; EDE: 22( |$)' "$T/silent$how.txt" || fail "$how: no EDE 22"
	[ "$ms" -ge 1800 ] || fail "$how: SERVFAIL after $ms ms, before backend-timeout (2 s)"
	[ "$ms" -lt 6000 ] || fail "$how: SERVFAIL after $ms ms, backend-timeout is 2 s"
	ok "$how: silent primary: SERVFAIL, EDE 22, after $ms ms (backend-timeout 2 s)"
	# the primary was backed off; wait out its step before the next round
	wait_until 5 grep -Eq "primary 127\\.0\\.0\\.1#$FP, .*not tried again for" "$OUT_LOG" ||
		fail "$how: the silent primary was not backed off"
	sleep 4.2
done

# ------------------------------------------------- 3. max-clients, max-udp
exec 3<>"/dev/tcp/127.0.0.1/$O" || fail "first local connection failed"
exec 4<>"/dev/tcp/127.0.0.1/$O" || fail "second local connection failed"
wait_until 5 bash -c "[ \$(ss -tnH state established '( sport = :$O )' | wc -l) -ge 2 ]" ||
	fail "the two local connections are not established"
exec 5<>"/dev/tcp/127.0.0.1/$O" || fail "third local connection: connect failed"
wait_until 5 grep -q "connection refused (connection limit)" "$OUT_LOG" ||
	fail "a third local connection with max-clients = 2 was not refused"
timeout 5 cat <&5 >/dev/null || fail "the third connection was not closed by the proxy"
ok "max-clients 2: the third local connection closed at accept"
exec 3>&- 4>&- 5>&-
dig +notcp +norec +time=20 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/udp1.txt" 2>&1 &
U1=$!
wait_until 5 bash -c "[ \$(grep -c '^query ' '$T/fake.log') -ge 3 ]" || fail "the first UDP query did not reach the primary"
t0=$(ms_now)
dig +notcp +norec +time=10 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/udp2.txt" 2>&1 || fail "second UDP query: no answer"
ms=$(($(ms_now) - t0))
[ "$(dig_status "$T/udp2.txt")" = SERVFAIL ] || fail "second UDP query with max-udp-queries = 1: $(dig_status "$T/udp2.txt")"
[ "$ms" -lt 1000 ] || fail "second UDP query: SERVFAIL after $ms ms, expected at once"
ok "max-udp-queries 1: a second UDP query while one is in flight: SERVFAIL in $ms ms"
wait "$U1" || true
alive "$OUT_PID" || fail "outbound proxy died"
stop_pid "$OUT_PID" TERM 10 || fail "outbound proxy exited with status $?"
pass
