#!/bin/bash
# t99: a primary that starts an answer (length prefix and header with the
#   right ID) and then stalls before the first message is complete is
#   failed over within backend-timeout, not held for transfer-timeout
#   (hostile review of issue 13, items 3 and 4: "a primary that completes
#   TLS and then stalls ... or sends a frame length larger than what
#   follows holds every query"; backend-timeout 4 s by default, "below a
#   legacy secondary's own timeout").
#   Primary A (tests/tools/rvxot.py --default stall) sends 22 octets of each
#   answer and nothing more; primary B is healthy. A UDP SOA poll (defaults:
#   backend-timeout 4, transfer-timeout 120) must be answered NOERROR by B
#   within 15 s. Seen: the answer frame is begun, so the relay's first-octet
#   deadline no longer applies (upstream_owes_first_byte is false off a
#   frame boundary) and only transfer-timeout (120 s) bounds the stall; no
#   octet reached the UDP requester (it takes whole messages), which waits
#   far past its own timeout.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

free_ports FA FB O
start_rvxot rva "$FA" --default stall
start_rvxot rvb "$FB"
outbound_ini "$T/ob.ini" "$O" "127.0.0.1:$FA 127.0.0.1:$FB"
start_outbound ob "$T/ob.ini" "$O"

s0=$(date +%s.%N)
python3 "$TOOLS/udpfault.py" ask --addr 127.0.0.1 --port "$O" --zone example.test --type SOA \
	--timeout 30 --linger 1 >"$T/q.txt" 2>&1
secs=$(echo "$(date +%s.%N) - $s0" | bc)
note "UDP SOA poll after $secs s: $(tr '\n' ' ' <"$T/q.txt")"
grep -q '^stall ' "$T/rva.log" || fail "primary A never stalled an answer (test did not exercise it)"
grep -q 'count=1' "$T/q.txt" || fail "no answer within 30 s (the stall held the query): $(tr '\n' ' ' <"$T/q.txt")"
grep -q 'rcode=0 ' "$T/q.txt" || fail "not answered NOERROR: $(head -n 1 "$T/q.txt")"
awk -v s="$secs" 'BEGIN { exit !(s < 15) }' || fail "answered only after $secs s"
grep -q '^query ' "$T/rvb.log" || fail "primary B never got the query"
ok "the stalled answer failed over to primary B in $secs s"
alive "$OUT_PID" || fail "outbound proxy died"
pass
