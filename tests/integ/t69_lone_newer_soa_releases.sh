#!/bin/bash
# t69: an IXFR answered by one message holding a lone SOA, on a local TCP
#   connection of the outbound side with max-sessions = 1 (t95's set-up,
#   tests/tools/rvxot.py: its first query gets a lone SOA of serial 100).
#   Part 1, the client asks from serial 50: the lone SOA is newer, so the
#   answer might go on (an AXFR-style answer, IXFR-02) and the session is
#   never reused; but the idle client connection must not hold it either:
#   the relay closes it (released as broken), so client B's SOA poll is
#   answered at once (under 5 s, queue-timeout 10) on a NEW session.
#   Part 2, the client asks from serial 100: the lone SOA is not newer, the
#   answer is complete (xfr_lone_may_continue), and B's poll REUSES the
#   session (rvxot sees B's query on session 1).
#   Part 3, reloads at bad moments: 4 clients each send 6 IXFR (serial 50,
#   every answer a lone newer SOA, so every session is closed after it)
#   while SIGHUPs, one after another until they are done, add and drop a
#   second (unreachable) primary, which
#   replaces the pool each time: every IXFR is answered NOERROR with its
#   ID and the proxy lives (run on the ASan build to check the release of
#   sessions of retired pools).
#   Part 4, the same IXFR over UDP: the lone SOA in one datagram, and its
#   session is closed.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
TOOLS=$(cd "$XOT_INTEG_DIR/../tools" && pwd)

# one_case NAME CLIENT-SERIAL: starts rvxot and the outbound side, A's IXFR
# (kept open, idle), then B's SOA poll; B's line in $T/NAME.b
one_case() {
	local name=$1 serial=$2 fp o
	fp=$(free_port) || fail "no free port"
	o=$(free_port) || fail "no free port"
	bg_start "rvxot-$name" python3 "$TOOLS/rvxot.py" --port "$fp" --cert "$XOT_CERT" --key "$XOT_KEY" \
		--zone example.test --script lone --status "$T/$name.status"
	RVPID=$LAST_PID
	PLOG=$T/rvxot-$name.log
	wait_until 10 test -e "$T/$name.status" || fail "rvxot not listening"
	outbound_ini "$T/$name.ini" "$o" "127.0.0.1:$fp" max-sessions=1 queue-timeout=10 idle-timeout=60
	start_outbound "ob-$name" "$T/$name.ini" "$o"
	python3 "$TOOLS/rvtcp.py" --port "$o" --zone example.test --type IXFR --serial "$serial" \
		--first-timeout 20 --hold-file "$T/$name.release-a" >"$T/$name.a" 2>&1 &
	local a=$!
	wait_until 15 grep -q '^answer 1 ' "$T/$name.a" || fail "$name: client A's IXFR was not answered: $(cat "$T/$name.a")"
	grep -q '^answer 1 .*rcode=NOERROR' "$T/$name.a" || fail "$name: A: $(cat "$T/$name.a")"
	ok "$name: client A (serial $serial): IXFR answered ($(head -n 1 "$T/$name.a")), connection kept open, idle"
	python3 "$TOOLS/rvtcp.py" --port "$o" --zone example.test --first-timeout 30 >"$T/$name.b" 2>&1
	touch "$T/$name.release-a"
	wait "$a"
	note "$name: client B: $(head -n 1 "$T/$name.b")"
	grep -q '^answer 1 .*rcode=NOERROR' "$T/$name.b" ||
		fail "$name: client B's SOA poll was not answered NOERROR while A sat idle: $(head -n 1 "$T/$name.b")"
	local secs
	secs=$(sed -n 's/^answer 1 .* secs=\([0-9.]*\)$/\1/p' "$T/$name.b")
	awk -v s="$secs" 'BEGIN { exit !(s < 5) }' ||
		fail "$name: client B waited $secs s for the one session, held by idle client A"
	ok "$name: client B answered in $secs s"
	alive "$OUT_PID" || fail "outbound proxy died"
	grep -q 'max=1)' "$PLOG" || fail "$name: rvxot saw more than one session at once: $(grep open "$PLOG")"
	stop_pid "$OUT_PID" || true
	stop_pid "$RVPID" || true
}

one_case newer 50
grep -q '^query 2 conn=2 ' "$PLOG" ||
	fail "newer: B's query did not come on a new session (the lone-SOA one must be closed): $(grep '^query' "$PLOG")"
grep -q '^conn 1 closed' "$PLOG" || fail "newer: the lone-SOA session was not closed"
ok "newer lone SOA: its session was closed, B's poll came on session 2"

one_case same 100
grep -q '^query 2 conn=1 ' "$PLOG" ||
	fail "same: B's query did not reuse the session of the complete lone-SOA answer: $(grep '^query' "$PLOG")"
ok "lone SOA not newer: the session was reused for B's poll"

FP=$(free_port) || fail "no free port"
O=$(free_port) || fail "no free port"
X=$(free_port) || fail "no free port"
bg_start rvxot-storm python3 "$TOOLS/rvxot.py" --port "$FP" --cert "$XOT_CERT" --key "$XOT_KEY" \
	--zone example.test --default lone --status "$T/storm.status"
wait_until 10 test -e "$T/storm.status" || fail "rvxot not listening"
outbound_ini "$T/storm.ini" "$O" "127.0.0.1:$FP" max-sessions=2 queue-timeout=10 idle-timeout=60
start_outbound ob-storm "$T/storm.ini" "$O"
pids=()
for c in 1 2 3 4; do
	( for i in 1 2 3 4 5 6; do
		python3 "$TOOLS/rvtcp.py" --port "$O" --zone example.test --type IXFR --serial 50 \
			--first-timeout 30 || exit 1
	  done ) >"$T/storm.c$c" 2>&1 &
	pids+=($!)
done
running() {
	local p
	for p in "${pids[@]}"; do alive "$p" && return 0; done
	return 1
}
h=0
while running && [ "$h" -lt 200 ]; do
	h=$((h + 1))
	n=$(grep -c 'reloaded ' "$OUT_LOG")
	if [ $((h % 2)) = 1 ]; then prims="127.0.0.1:$FP 127.0.0.1:$X"; else prims="127.0.0.1:$FP"; fi
	sed -i "s/^primary = .*/primary = $prims/" "$T/storm.ini"
	kill -HUP "$OUT_PID"
	wait_until 10 bash -c "[ \$(grep -c 'reloaded ' '$OUT_LOG') -gt $n ]" || fail "storm: no 'reloaded' line after SIGHUP $h"
done
for p in "${pids[@]}"; do wait "$p" || true; done
[ "$h" -ge 6 ] || fail "storm: only $h reloads while the clients ran"
answers=$(cat "$T"/storm.c? | grep -c '^answer 1 .*rcode=NOERROR')
bad=$(cat "$T"/storm.c? | grep -v '^result' | grep -vc '^answer 1 id=[0-9]* rcode=NOERROR')
[ "$answers" = 24 ] && [ "$bad" = 0 ] ||
	fail "storm: $answers of 24 IXFR answered NOERROR with their ID: $(cat "$T"/storm.c? | grep -v '^result' | grep -v 'rcode=NOERROR' | head -n 3 | xargs)"
ok "storm: 24 of 24 IXFR answered NOERROR with their ID under $h pool-changing reloads"
alive "$OUT_PID" || fail "outbound proxy died"

# Part 4: the same over UDP (a whole-message client): one datagram, the lone
# SOA with the query's ID, and the session it came on is closed.
n=$(grep -c ' closed ' "$T/rvxot-storm.log")
dig +notcp +norec +time=10 +tries=1 @127.0.0.1 -p "$O" example.test IXFR=50 >"$T/udp.txt" 2>&1 ||
	fail "UDP IXFR: no answer ($(tail -n 2 "$T/udp.txt" | xargs))"
[ "$(grep -c 'MSG SIZE' "$T/udp.txt")" = 1 ] || fail "UDP IXFR: not one datagram: $(xargs <"$T/udp.txt")"
grep -Eq '^example\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA' "$T/udp.txt" || fail "UDP IXFR: no SOA in the answer"
wait_until 10 bash -c "[ \$(grep -c ' closed ' '$T/rvxot-storm.log') -gt $n ]" ||
	fail "UDP IXFR: the lone-SOA session was not closed"
ok "UDP IXFR from serial 50: the lone SOA in one datagram, its session closed"
alive "$OUT_PID" || fail "outbound proxy died"
pass
