#!/bin/bash
# t91: max-sessions holds across two reloads in a row (hostile review of
#   issue 13, item 8: "sessions still open count toward max-sessions").
#   max-sessions = 1 toward one primary (tests/tools/rvxot.py) that hangs on
#   its first query (backend-timeout 30, so that query holds the one
#   session). Two SIGHUPs, each changing connect-timeout (so each replaces
#   the pool), then a second query from another connection. The session of
#   the first pool is still open and must count: the second query waits for
#   a slot (and gets SERVFAIL at queue-timeout) and the primary never sees
#   two sessions at once. Seen: after the second reload the second query
#   opens a second session at once (rvxot "open=2 max=2"): pool_retire links
#   the newest pool only to its direct predecessor when that one has open
#   sessions; the middle pool had none, so the first pool's session is
#   counted by nobody.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

free_ports FP O
start_rvxot rvxot "$FP" --script hang
PLOG=$T/rvxot.log
ob_cfg() {
	outbound_ini "$T/ob.ini" "$O" "127.0.0.1:$FP" max-sessions=1 backend-timeout=30 \
		queue-timeout=2 connect-timeout="$1"
}
ob_cfg 5
start_outbound ob "$T/ob.ini" "$O"

dig +tcp +norec +time=40 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/q1.txt" 2>&1 &
Q1=$!
wait_until 15 grep -q '^query 1 .*action=hang' "$PLOG" || fail "query 1 never reached the primary"
ok "query 1 holds the one session (the primary hangs on it)"

for ct in 6 7; do
	ob_cfg "$ct"
	ob_hup "reload to connect-timeout $ct (a changed section)" ob_changes
	ok "reload: connect-timeout $ct, pool replaced"
done

dig +tcp +norec +time=20 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/q2.txt" 2>&1
ok "query 2: $(dig_status "$T/q2.txt")"
grep -m1 'max=' "$PLOG" >/dev/null || fail "no session open line from the primary"
most=$(sed -n 's/.*max=\([0-9]*\)).*/\1/p' "$PLOG" | sort -n | tail -n 1)
[ "$most" -le 1 ] ||
	fail "max-sessions = 1 but the primary saw $most sessions open at once: $(grep 'open=2' "$PLOG" | head -n 1)"
ok "never more than one session open to the primary"
kill "$Q1" 2>/dev/null
alive "$OUT_PID" || fail "outbound proxy died"
pass
