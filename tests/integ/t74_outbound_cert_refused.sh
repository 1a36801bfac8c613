#!/bin/bash
# t74: a primary that refuses our client certificate (issue 13 item 2).
#   In TLS 1.3 our side of the handshake ends before the primary judges the
#   client certificate: its alert arrives on the first read. The first
#   primary here (tests/tools/fakexot.py with --client-ca of another CA)
#   refuses the outbound side's client certificate on every session; the
#   second one (an inbound xotproxy in front of the shared named) is healthy.
#   - 20 SOA polls, one every 0.25 s: every one is answered NOERROR (the
#     query that met the refusal fails over to the second primary), none
#     SERVFAIL ("primary closed" before: 7 of 20).
#   - the refusal is logged with the alert in words, and the first primary
#     is backed off: a handshake that completed does not count as good, so
#     the step doubles from one refusal to the next (1, 2, 4 s), never back
#     to 1 s.
#   XOT-04/XOT-08 (failover and backoff), DOT-06 (strict: refused sessions
#   carry nothing).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

make_other_ca "$T/other" || fail "cannot make a second CA"
make_client_cert "$T" cli || fail "cannot make a client certificate"
free_ports FP P O
start_fakexot fake "$FP" normal --client-ca "$T/other/ca.pem"
FAKE_LOG=$T/fake.log
start_xot_primary primary "$P" "$XOT_NAMED_PORT"
outbound_ini "$T/ob.ini" "$O" "127.0.0.1:$FP 127.0.0.1:$P" \
	client-cert="$T/cli.pem" client-key="$T/cli.key"
start_outbound ob "$T/ob.ini" "$O"

servfail=0
for i in $(seq 1 20); do
	dig +tcp +norec +time=8 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/soa-$i.txt" 2>&1 ||
		fail "poll $i: no answer: $(tail -n 3 "$T/soa-$i.txt")"
	st=$(dig_status "$T/soa-$i.txt")
	[ "$st" = NOERROR ] || { servfail=$((servfail + 1)); note "poll $i: $st"; }
	sleep 0.25
done
refusals=$(grep -c 'handshake failed' "$FAKE_LOG")
[ "$refusals" -ge 1 ] || fail "the first primary never refused a client certificate (test did not exercise it)"
ok "the first primary refused $refusals sessions: $(grep -m1 'handshake failed' "$FAKE_LOG" | cut -c1-120)"
[ "$servfail" = 0 ] || fail "$servfail of 20 polls were not NOERROR while the second primary was healthy"
ok "20 of 20 polls NOERROR"

dead_re="primary 127\\.0\\.0\\.1#$FP, the primary sent alert (unknown CA|bad certificate|certificate required|certificate unknown|decrypt error|handshake failure) \\([0-9]+\\); not tried again for"
wait_until 5 grep -Eq "$dead_re" "$OUT_LOG" ||
	{ grep "#$FP" "$OUT_LOG" | tail -n 5; fail "no log line naming the primary's alert in words"; }
ok "logged: $(grep -Em1 "$dead_re" "$OUT_LOG" | cut -d' ' -f3-)"
assert_nogrep "$OUT_LOG" "primary 127\\.0\\.0\\.1#$FP, .*(\\(-[0-9]+\\)|error state)" "no wolfSSL error code instead of the alert"
steps=$(grep -E "$dead_re" "$OUT_LOG" | sed -n 's/.*not tried again for \([0-9]*\) s.*/\1/p' | xargs)
prev=0
for s in $steps; do
	if [ "$prev" = 0 ]; then
		[ "$s" = 1 ] || fail "first backoff step $s s, expected 1 s (steps: $steps)"
	else
		[ "$s" -gt "$prev" ] || [ "$s" = 60 ] ||
			fail "backoff went from $prev s to $s s: a completed handshake reset it (steps: $steps)"
	fi
	prev=$s
done
[ "$(wc -w <<<"$steps")" -ge 2 ] || fail "the refusing primary was backed off only once in 5 s (steps: $steps)"
ok "backoff steps of the refusing primary: $steps s"
[ "$(grep -c 'zone example\.test\., SOA, ok' "$PRI_LOG")" -ge 20 ] ||
	fail "the second primary answered $(grep -c 'zone example\.test\., SOA, ok' "$PRI_LOG") SOA queries, expected 20"
assert_nogrep "$FAKE_LOG" "^query " "the refusing primary never received a query"
alive "$OUT_PID" || fail "outbound proxy died"
pass
