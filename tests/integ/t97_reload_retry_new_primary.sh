#!/bin/bash
# t97: a query in flight on a primary that hangs, when a reload replaces
#   that primary by a healthy one, fails over to the new primary (hostile
#   review of issue 13, items 3 and 8).
#   Primary A (tests/tools/rvxot.py, hangs on every query) is the only one;
#   a UDP SOA poll reaches it. The operator reloads with primary B instead
#   (answers at once). When A's backend-timeout (4 s) expires the query has
#   had no answer octet and must go to the next primary: B, in the pool now
#   in force. Seen: SERVFAIL (EDE 22) "no other primary to try" and B never
#   sees the query: upstream_retry records the failed primary as bit `idx`
#   of the OLD pool (ob_conn.tried) and asks the NEW pool with that mask,
#   where bit 0 is B.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

free_ports FA FB O
start_rvxot rva "$FA" --default hang
start_rvxot rvb "$FB"
outbound_ini "$T/ob.ini" "$O" "127.0.0.1:$FA" backend-timeout=4
start_outbound ob "$T/ob.ini" "$O"

python3 "$TOOLS/udpfault.py" ask --addr 127.0.0.1 --port "$O" --zone example.test --type SOA \
	--timeout 30 --linger 1 >"$T/q.txt" 2>&1 &
Q=$!
wait_until 10 grep -q '^query 1 ' "$T/rva.log" || fail "the query never reached primary A"
ok "the query waits on primary A (hangs)"
outbound_ini "$T/ob.ini" "$O" "127.0.0.1:$FB" backend-timeout=4
ob_hup "the reload to primary B (a changed section)" ob_changes
ok "reload: primary A replaced by primary B"
wait "$Q"
note "answer: $(tr '\n' ' ' <"$T/q.txt")"
grep -q 'count=1' "$T/q.txt" || fail "not exactly one datagram: $(tr '\n' ' ' <"$T/q.txt")"
grep -q '^query ' "$T/rvb.log" ||
	fail "the query never reached primary B: $(head -n 1 "$T/q.txt"); $(grep -m1 'SOA, failed' "$OUT_LOG" | cut -d' ' -f3-)"
grep -q 'rcode=0 ' "$T/q.txt" || fail "not answered NOERROR: $(head -n 1 "$T/q.txt")"
ok "the query failed over to the new primary B and was answered"
alive "$OUT_PID" || fail "outbound proxy died"
pass
