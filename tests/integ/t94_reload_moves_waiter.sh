#!/bin/bash
# t94: a query waiting for a pool slot survives a pool-changing reload
#   (hostile review of issue 13, item 8: "a changed group drains the old
#   pool and moves its waiting queries to the new one").
#   max-sessions = 1 toward one primary (tests/tools/rvxot.py) that hangs on
#   its first query (backend-timeout 5) and answers later ones. Query 1
#   (TCP) holds the session; query 2 (another TCP connection) waits for the
#   slot. A SIGHUP replaces the primary by a second one (B, answers at
#   once): the waiter moves to the new pool and must be answered by B before
#   query 1 fails (backend-timeout 5 s), not later by the old primary. Then
#   an unchanged reload keeps the pool (no second "settings changed" line).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

free_ports FP O FB
start_rvxot rvxot "$FP" --script hang
PLOG=$T/rvxot.log
start_rvxot rvxotb "$FB"
ob_cfg() {
	outbound_ini "$T/ob.ini" "$O" "127.0.0.1:$1" max-sessions=1 backend-timeout=5 \
		queue-timeout=20
}
ob_cfg "$FP"
start_outbound ob "$T/ob.ini" "$O"

python3 "$TOOLS/rvtcp.py" --port "$O" --zone example.test --first-timeout 30 >"$T/q1.txt" 2>&1 &
Q1=$!
wait_until 15 grep -q '^query 1 .*action=hang' "$PLOG" || fail "query 1 never reached the primary"
python3 "$TOOLS/rvtcp.py" --port "$O" --zone example.test --first-timeout 40 >"$T/q2.txt" 2>&1 &
Q2=$!
# query 2 was read by the proxy: its second local connection is established
# and nothing is left unread on either side of it
q2_read() {
	[ "$(ss -Htn state established "( sport = :$O )" | awk '$1 == 0 && $2 == 0' | wc -l)" -ge 2 ] &&
		[ "$(ss -Htn state established "( dport = :$O )" | awk '$1 == 0 && $2 == 0' | wc -l)" -ge 2 ]
}
wait_until 10 q2_read || fail "query 2 never reached the proxy"
ob_cfg "$FB"
ob_hup "the reload to primary B (a changed section)" ob_changes
ok "reload: $(grep -m1 'primaries or TLS settings changed' "$OUT_LOG" | cut -d' ' -f3-)"
wait "$Q2"
wait "$Q1"
ok "query 1: $(head -n 1 "$T/q1.txt")"
note "query 2: $(tr '\n' ' ' <"$T/q2.txt")"
grep -q '^answer 1 .*rcode=NOERROR' "$T/q2.txt" || fail "query 2 (waiting through the reload) was not answered NOERROR: $(head -n 1 "$T/q2.txt")"
grep -q '^query ' "$T/rvxotb.log" || fail "query 2 never reached the new primary B (it stayed in the old pool)"
grep -q '^query 2 ' "$PLOG" && fail "query 2 went to the old primary after the reload"
secs=$(sed -n 's/^answer 1 .* secs=\([0-9.]*\)$/\1/p' "$T/q2.txt")
awk -v s="$secs" 'BEGIN { exit !(s < 4) }' ||
	fail "query 2 was answered after $secs s: it waited for the old pool's session (query 1 held it 6 s) instead of moving"
ok "query 2 waited through the reload and was answered NOERROR by the new primary"

ob_hup "the unchanged reload" ob_reloads
[ "$(ob_changes)" -gt 1 ] && fail "an unchanged reload replaced the pool"
ok "unchanged reload kept the pool"
alive "$OUT_PID" || fail "outbound proxy died"
pass
