#!/bin/bash
# t75: a primary that completes TLS and then stalls, sends garbage, sends
# a frame length larger than what follows (issue 13 item 3), or closes the
# session before answering (item 2). The first primary is
# tests/tools/fakexot.py in mode hang, garbage, longframe or close; the
# second is healthy (an inbound xotproxy in front of the shared named).
# backend-timeout is left at its default (4 s). For each mode:
#   - a TCP SOA query is answered NOERROR by the second primary within 10 s
#     (before: SERVFAIL after 60 s, or the connection closed after 120 s);
#   - the first primary is backed off (logged, 1 s): the next query, right
#     away, is answered within 2 s and never reaches it;
#   - once the backoff has run out, a UDP SOA poll meets it again and also
#     gets NOERROR within 10 s (before: nothing at all), and the step
#     doubles (2 s).
#   XOT-04/XOT-08 (failover, backoff), TCP-05 (per-attempt deadline), the
#   XoT error table (a primary that fails before answering).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

free_ports P
start_xot_primary primary "$P" "$XOT_NAMED_PORT"

# soa_within MODE HOW SECONDS WHAT: one SOA query (HOW: +tcp or +notcp)
# through the outbound side answered NOERROR within SECONDS; sets MS.
soa_within() {
	local out=$T/$1-$4.txt t0
	t0=$(ms_now)
	dig "$2" +norec +time=$(($3 + 5)) +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$out" 2>&1 ||
		fail "$1, $4: no answer ($(tail -n 2 "$out" | xargs))"
	MS=$(($(ms_now) - t0))
	[ "$(dig_status "$out")" = NOERROR ] || fail "$1, $4: $(dig_status "$out") after $MS ms"
	[ "$MS" -lt $(($3 * 1000)) ] || fail "$1, $4: answered after $MS ms, more than $3 s"
}

in_window=0         # modes whose query during the backoff was checked
for mode in hang garbage longframe close; do
	free_ports FP O
	start_fakexot "fake-$mode" "$FP" "$mode"
	FLOG=$T/fake-$mode.log
	outbound_ini "$T/ob-$mode.ini" "$O" "127.0.0.1:$FP 127.0.0.1:$P"
	free_ports MP
	sed -i "s/^\[global\]\$/[global]\nmetrics = 127.0.0.1:$MP/" "$T/ob-$mode.ini"
	start_outbound "ob-$mode" "$T/ob-$mode.ini" "$O"

	soa_within "$mode" +tcp 10 "first TCP query"
	grep -q '^query ' "$FLOG" || fail "$mode: the first primary never got the query (test did not exercise it)"
	ok "$mode: TCP SOA answered NOERROR in $MS ms after the first primary got it"
	dead_re="primary 127\\.0\\.0\\.1#$FP, .*not tried again for"
	wait_until 5 grep -Eq "$dead_re" "$OUT_LOG" || { tail -n 5 "$OUT_LOG"; fail "$mode: the first primary was not backed off"; }
	line=$(grep -E "$dead_re" "$OUT_LOG" | head -n 1)
	fail_ms=$(date -d "$(cut -d' ' -f1 <<<"$line")" +%s%3N)
	grep -q 'not tried again for 1 s' <<<"$line" || fail "$mode: first backoff step: $line"
	ok "$mode: $(cut -d' ' -f3- <<<"$line")"

	# A query sent with less than 300 ms of the 1 s step left may arrive
	# after it (a loaded machine): then the first primary is rightly tried
	# again and nothing can be concluded, so such a query is not sent.
	n=$(grep -c '^query ' "$FLOG")
	if [ "$(ms_now)" -lt $((fail_ms + 700)) ]; then
		soa_within "$mode" +tcp 2 "query during the backoff"
		[ "$(grep -c '^query ' "$FLOG")" = "$n" ] || fail "$mode: a query during the backoff reached the first primary"
		ok "$mode: during the backoff: NOERROR in $MS ms from the second primary"
		in_window=$((in_window + 1))
	else
		note "$mode: the backoff step was nearly over ($(($(ms_now) - fail_ms)) ms) before a query could be sent: not checked"
	fi

	# after the 1 s step: the first primary is tried again, by a UDP poll
	while [ "$(ms_now)" -lt $((fail_ms + 1300)) ]; do sleep 0.1; done
	soa_within "$mode" +notcp 10 "UDP poll after the backoff"
	[ "$(grep -c '^query ' "$FLOG")" -gt "$n" ] || fail "$mode: the UDP poll did not meet the first primary again"
	wait_until 5 bash -c "[ \$(grep -Ec '$dead_re' '$OUT_LOG') -ge 2 ]" || fail "$mode: no second backoff"
	line=$(grep -E "$dead_re" "$OUT_LOG" | sed -n 2p)
	grep -q 'not tried again for 2 s' <<<"$line" || fail "$mode: second backoff step: $line"
	ok "$mode: UDP poll met it again, NOERROR in $MS ms; backoff now 2 s"
	assert_nogrep "$OUT_LOG" "SERVFAIL sent" "$mode: no SERVFAIL"
	# counted as a failure of the primary, not as a TLS handshake failure
	# (its handshake succeeded)
	curl -sS --max-time 10 "http://127.0.0.1:$MP/metrics" >"$T/metrics-$mode.txt" ||
		fail "$mode: no metrics"
	grep -Eq '^xotproxy_upstream_failures_total\{direction="outbound",reason="[a-z]+"\} [1-9]' "$T/metrics-$mode.txt" ||
		fail "$mode: no outbound upstream failure counted: $(grep upstream_failures "$T/metrics-$mode.txt" | xargs)"
	if grep -Eq '^xotproxy_tls_handshake_failures_total\{direction="outbound",[^}]*\} [1-9]' "$T/metrics-$mode.txt"; then
		fail "$mode: counted as a TLS handshake failure: $(grep 'handshake_failures_total{direction="outbound"' "$T/metrics-$mode.txt" | xargs)"
	fi
	ok "$mode: metrics: $(grep -E '^xotproxy_upstream_failures_total\{direction="outbound"' "$T/metrics-$mode.txt" | grep -v ' 0$' | xargs)"
	alive "$OUT_PID" || fail "$mode: outbound proxy died"
	stop_pid "$OUT_PID" TERM 10 || fail "$mode: outbound proxy exited with status $?"
done
[ "$in_window" -ge 1 ] || fail "no mode could send a query inside its 1 s backoff step (machine too slow)"
pass
