#!/bin/bash
# t98: a primary that breaks the DNS framing is backed off like one that
#   refuses connections: 1, 2, 4 ... s (hostile review of issue 13, items 2
#   and 3: "a primary counts as good only after its first answer"; "a
#   primary that stalls or breaks framing is backed off like one that
#   refused a connection").
#   Primary A (tests/tools/fakexot.py --mode garbage) answers every query
#   with a 5-octet frame (no DNS header); primary B (tests/tools/rvxot.py)
#   is healthy. 16 SOA polls over TCP, one every 0.5 s: every one must be
#   answered NOERROR (by B after A's garbage), and A's backoff steps must
#   grow. Seen: every step is 1 s ("not tried again for 1 s" each time): the
#   garbage octets are read as A's "first answer octet" (pool.c
#   session_readv sets answered and calls primary_ok, resetting the
#   backoff) before the relay finds the frame has no header and drops it.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

free_ports FA FB O
start_fakexot fake "$FA" garbage
start_rvxot rvb "$FB"
outbound_ini "$T/ob.ini" "$O" "127.0.0.1:$FA 127.0.0.1:$FB" backend-timeout=4
start_outbound ob "$T/ob.ini" "$O"

bad=0
for i in $(seq 1 16); do
	python3 "$TOOLS/rvtcp.py" --port "$O" --zone example.test --first-timeout 15 >"$T/soa-$i.txt" 2>&1
	grep -q '^answer 1 .*rcode=NOERROR' "$T/soa-$i.txt" || { bad=$((bad + 1)); note "poll $i: $(head -n 1 "$T/soa-$i.txt")"; }
	sleep 0.5
done
g=$(grep -c '^garbage ' "$T/fake.log")
[ "$g" -ge 2 ] || fail "primary A sent garbage only $g times (test did not exercise it)"
ok "primary A answered garbage $g times"
[ "$bad" = 0 ] || fail "$bad of 16 polls were not NOERROR while B was healthy"
ok "16 of 16 polls NOERROR"
re="primary 127\\.0\\.0\\.1#$FA, .*not tried again for"
steps=$(grep -E "$re" "$OUT_LOG" | sed -n 's/.*not tried again for \([0-9]*\) s.*/\1/p' | xargs)
note "backoff steps of primary A: $steps"
[ "$(wc -w <<<"$steps")" -ge 2 ] || fail "primary A backed off fewer than twice (steps: $steps)"
prev=0
for s in $steps; do
	if [ "$prev" != 0 ]; then
		[ "$s" -gt "$prev" ] || [ "$s" = 60 ] ||
			fail "backoff of the garbage primary went from $prev s to $s s: its garbage counted as an answer (steps: $steps)"
	fi
	prev=$s
done
ok "backoff steps grow: $steps"
alive "$OUT_PID" || fail "outbound proxy died"
pass
