#!/bin/bash
# t31: a reload revokes access on sessions that are already open (issue 7).
#   XOT-04/XOT-25/AXFR-08/PRX-02: the ACL is applied per query with the
#     configuration in force when the query arrives: a session that got
#     example.test's SOA (NOERROR) before a SIGHUP that removed 127.0.0.1 from
#     the zone's allow gets REFUSED with EDE 18 for AXFR and SOA on the SAME
#     session afterwards; another zone still allowed keeps working on it.
#   PRX-07: an AXFR of example.test (100k records) already streaming to a
#     slow reader from that address when the reload lands completes, with the
#     record count of a direct transfer (a gate, tests/tools/tcpgate.py, holds
#     the backend's answer until the reload is logged, so they always overlap).
#   PRX-04 (memory): with 10,000 zones (the most a configuration may hold:
#     example.test, signed.test, small.test and z1..z9997.test) and 5 idle
#     TLS sessions held open, 20
#     reloads leave VmRSS within 2x of its value after the first load (old
#     configurations are freed, not kept by open sessions); the idle sessions
#     are still usable afterwards.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_abuse.sh"
test_init

field() {   # field FILE ID KEY: KEY=value of the "stream id=ID" line in FILE
	grep -E "stream id=$2 " "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$3=//p"
}
expect() {   # expect FILE ID KEY VALUE WHAT
	local v
	v=$(field "$1" "$2" "$3")
	[ "$v" = "$4" ] || { cat "$1"; fail "$5: $3 is '$v', expected '$4'"; }
}
reloads() { grep -c 'reloaded ' "$PROXY_LOG"; }
reloaded_ge() { [ "$(reloads)" -ge "$1" ]; }

kt "$XOT_NAMED_PORT" example.test AXFR >"$T/direct.txt" 2>&1 || fail "direct AXFR failed"
N=$(xfr_records "$T/direct.txt")
[ -n "$N" ] && [ "$N" -ge "$XOT_ZONE_BIG_N" ] || fail "direct AXFR: '$N' records"

# --- revocation on an open session, and a transfer running across it -------
P=$(free_port) || fail "no free port"
# The backend is reached through a gate that holds every answer stream after
# its first 256 KiB until the reload has been logged: the proxy cannot finish
# session 2's AXFR before the reload however much the kernel buffers.
G=$(free_port) || fail "no free port"
bg_start gate python3 "$XOT_INTEG_DIR/../tools/tcpgate.py" --listen "$G" \
	--upstream "$XOT_NAMED_PORT" --gate "$T/gate.open" --after 262144
wait_until 10 grep -q listening "$T/gate.log" || fail "tcpgate did not start: $(cat "$T/gate.log")"
proxy_ini "$T/xotproxy.ini" "$P" "$G"
start_proxy proxy "$T/xotproxy.ini" "$P"

bg_start s1 python3 "$ABUSE" streams --port "$P" --ca "$XOT_CA" --timeout 20 \
	"q:example.test/SOA/id=1/edns" "touch:$T/s1.ready" "wait:$T/reloaded:90" \
	"q:example.test/AXFR/id=2/edns" "q:example.test/SOA/id=3/edns" "q:small.test/SOA/id=4/edns" \
	"q:example.test/IXFR/serial=1/id=5/edns"
S1=$LAST_PID
wait_until 15 test -e "$T/s1.ready" || fail "session 1: no SOA answer before the reload: $(cat "$T/s1.log")"
expect "$T/s1.log" 1 rcode NOERROR "session 1, SOA before the reload"
ok "session 1 (127.0.0.1): example.test SOA NOERROR before the reload"

# Session 2: AXFR of the big zone, then 5 s without reading.
# A small receive buffer keeps the transfer from fitting in socket buffers.
bg_start s2 python3 "$ABUSE" streams --port "$P" --ca "$XOT_CA" --timeout 60 --rcvbuf 16384 \
	"send:example.test/AXFR/id=10/edns" "hold:5" "collect:60"
S2=$LAST_PID
wait_until 10 grep -q 'holding' "$T/s2.log" || fail "session 2 did not send its AXFR: $(cat "$T/s2.log")"
cport=$(sed -n 's/.*connected from 127\.0\.0\.1#\([0-9]*\),.*/\1/p' "$T/s2.log")
[ -n "$cport" ] || fail "session 2: no local port in its output"
# Streaming: answer bytes wait unread in session 2's socket.
recvq() { ss -tnH state established "( sport = :$cport )" | awk '{ print $1 }' | head -n 1; }
wait_until 5 bash -c "[ \"\$(ss -tnH state established '( sport = :$cport )' | awk '{ print \$1 }' | head -n 1)\" -gt 0 ]" ||
	fail "session 2: no answer bytes arrived"
ok "session 2: the AXFR is streaming ($(recvq) octets waiting unread in the client socket)"

# Remove 127.0.0.1 from example.test (127.0.0.2 is allowed instead; small.test
# still allows 127.0.0.0/8, so 127.0.0.1 still passes the accept-time check).
sed -i '/^\[zone example.test\]/,/^allow/ s|^allow = .*|allow = 127.0.0.2/32|' "$T/xotproxy.ini"
grep -A1 'zone example.test' "$T/xotproxy.ini" | grep -q 'allow = 127.0.0.2/32' || fail "could not rewrite the ACL"
kill -HUP "$PROXY_PID"
wait_until 10 reloaded_ge 1 || fail "no 'reloaded' log line: $(tail -n 5 "$PROXY_LOG")"
ok "log: $(grep 'reloaded ' "$PROXY_LOG" | tail -n 1 | cut -d' ' -f3-)"
grep -q 'stream id=10 ' "$T/s2.log" && fail "session 2's AXFR ended before the reload: the test did not overlap them"
touch "$T/reloaded" "$T/gate.open"

wait_pid_exit "$S1" 30
rc1=$?
cat "$T/s1.log"
grep -q 'closed how=' "$T/s1.log" && fail "session 1 was closed: $(grep 'closed how=' "$T/s1.log")"
expect "$T/s1.log" 2 rcode REFUSED "session 1, AXFR after the reload (127.0.0.1 removed)"
expect "$T/s1.log" 2 ede 18 "session 1, AXFR after the reload"
expect "$T/s1.log" 2 records 0 "session 1, AXFR after the reload"
expect "$T/s1.log" 3 rcode REFUSED "session 1, SOA after the reload"
expect "$T/s1.log" 3 ede 18 "session 1, SOA after the reload"
expect "$T/s1.log" 5 rcode REFUSED "session 1, IXFR after the reload"
expect "$T/s1.log" 5 ede 18 "session 1, IXFR after the reload"
ok "same session after the reload: example.test AXFR, SOA, IXFR REFUSED with EDE 18"
expect "$T/s1.log" 4 rcode NOERROR "session 1, small.test SOA after the reload (still allowed)"
ok "same session: small.test (still allowed) SOA NOERROR"
[ $rc1 -eq 0 ] || fail "session 1: xotabuse exit $rc1"

wait_pid_exit "$S2" 90
rc2=$?
cat "$T/s2.log"
expect "$T/s2.log" 10 rcode NOERROR "session 2, AXFR across the reload"
expect "$T/s2.log" 10 end complete "session 2, AXFR across the reload"
expect "$T/s2.log" 10 records "$N" "session 2, AXFR across the reload"
[ $rc2 -eq 0 ] || fail "session 2: xotabuse exit $rc2"
# The proxy itself saw the transfer end after the reload (it was in flight).
wait_until 5 grep -q 'zone example\.test\., AXFR, ok' "$PROXY_LOG" || fail "no log line for session 2's AXFR"
awk '/reloaded /{ r = NR } /zone example\.test\., AXFR, ok/{ x = NR } END { exit !(r && x > r) }' "$PROXY_LOG" ||
	fail "session 2's AXFR was logged as done before the reload: the test did not overlap them"
ok "the AXFR streaming at the reload completed after it: $N records, as a direct transfer ($(grep 'AXFR, ok' "$PROXY_LOG" | cut -d' ' -f5-))"

# New connections follow the new ACL too.
kd "$P" +edns example.test SOA >"$T/new1.txt" 2>&1
[ "$(dig_status "$T/new1.txt")" = REFUSED ] || fail "new session from 127.0.0.1: $(dig_status "$T/new1.txt"), expected REFUSED"
kd "$P" -b 127.0.0.2 example.test SOA >"$T/new2.txt" 2>&1
[ "$(dig_status "$T/new2.txt")" = NOERROR ] || fail "new session from 127.0.0.2: $(dig_status "$T/new2.txt"), expected NOERROR"
ok "new sessions: 127.0.0.1 REFUSED, 127.0.0.2 NOERROR"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"

# --- memory across 20 reloads of a 10,000-zone configuration -------------
P=$(free_port) || fail "no free port"
proxy_ini "$T/big.ini" "$P" "$XOT_NAMED_PORT"
sed -i 's/^idle-timeout = .*/idle-timeout = 600/' "$T/big.ini"
awk 'BEGIN { for (i = 1; i <= 9997; i++) printf "\n[zone z%d.test]\nallow = 127.0.0.0/8\n", i }' >>"$T/big.ini"
[ "$(grep -c '^\[zone ' "$T/big.ini")" -eq 10000 ] || fail "config generation"
"$XOT_BIN" -t -c "$T/big.ini" >"$T/big.check" 2>&1 || fail "the 10,000-zone configuration does not load: $(tail -n 3 "$T/big.check")"
start_proxy big "$T/big.ini" "$P"
grep -q '10000 zones' "$PROXY_LOG" || note "start line: $(grep started "$PROXY_LOG")"
IDLE=()
for i in 1 2 3 4 5; do
	bg_start "idle$i" python3 "$ABUSE" streams --port "$P" --ca "$XOT_CA" --timeout 20 \
		"touch:$T/idle$i.ready" "wait:$T/idle.go:300" "q:small.test/SOA/id=$i" "q:z$((i * 1999)).test/SOA/id=$((i + 10))/edns"
	IDLE+=("$LAST_PID")
done
for i in 1 2 3 4 5; do
	wait_until 15 test -e "$T/idle$i.ready" || fail "idle session $i did not connect: $(cat "$T/idle$i.log")"
done
ok "5 idle TLS sessions open"
rss0=$(vm "$PROXY_PID" VmRSS)
ok "VmRSS after the first load (10,000 zones) with the sessions open: $rss0 KiB"
t0=$(now_ms)
for r in $(seq 1 20); do
	sed -i "s/^# xotproxy test configuration.*/# xotproxy test configuration, reload $r/" "$T/big.ini"
	kill -HUP "$PROXY_PID"
	wait_until 20 reloaded_ge "$r" || fail "reload $r: no 'reloaded' line: $(tail -n 3 "$PROXY_LOG")"
done
el=$(($(now_ms) - t0))
grep -q 'reload failed' "$PROXY_LOG" && fail "a reload failed: $(grep -m1 'reload failed' "$PROXY_LOG")"
rss1=$(vm "$PROXY_PID" VmRSS)
ok "20 reloads in $el ms; VmRSS $rss0 KiB -> $rss1 KiB"
for pid in "${IDLE[@]}"; do alive "$pid" || fail "an idle session client ended during the reloads"; done
assert_mem_le "$rss1" $((2 * rss0)) "VmRSS after 20 reloads (bound 2x the first)"
touch "$T/idle.go"
for i in 1 2 3 4 5; do
	wait_pid_exit "${IDLE[$((i - 1))]}" 30
	rc=$?
	expect "$T/idle$i.log" "$i" rcode NOERROR "idle session $i after 20 reloads: small.test SOA"
	grep -q "stream id=$((i + 10)) " "$T/idle$i.log" || fail "idle session $i: no answer for z$((i * 1999)).test"
	[ $rc -eq 0 ] || { cat "$T/idle$i.log"; fail "idle session $i: xotabuse exit $rc"; }
done
ok "the 5 sessions opened before the reloads still answer (small.test SOA NOERROR; zN.test forwarded: $(field "$T/idle1.log" 11 rcode) from the backend)"
alive "$PROXY_PID" || fail "proxy died"
pass
