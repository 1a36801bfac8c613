#!/bin/bash
# t93: a flood of local UDP queries (many addresses of 127.0.0.0/8, many
#   ports) while SIGHUPs replace the outbound pool again and again (hostile
#   review of issue 13, items 7 and 8). Every UDP query gets exactly one
#   datagram with its own ID (answer, TC or SERVFAIL), except those the
#   kernel dropped at the proxy's socket (its skmem drop counter: a full
#   receive buffer is not the proxy's fault), and the process stays up.
#   Run it on build/asan/xotproxy as well (make integ-asan style).
#   (The max-sessions check this test had is gone: rvxot counts a session
#   the proxy closed at a reload until its thread sees the EOF, so a closed
#   and a new session can overlap there. The cap across reloads is t91.)
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

free_ports FP O
start_rvxot rvxot "$FP"
PLOG=$T/rvxot.log
ob_cfg() {
	OUT_LOG_LEVEL=info outbound_ini "$T/ob.ini" "$O" "127.0.0.1:$FP" max-sessions=2 \
		max-udp-queries=64 queue-timeout=3 connect-timeout="$1"
}
ob_cfg 5
start_outbound ob "$T/ob.ini" "$O"

# udp_drops: datagrams the kernel dropped at the proxy's UDP socket
udp_drops() {
	ss -Huamn "sport = :$O" | sed -n 's/.*skmem:(.*,d\([0-9]*\)).*/\1/p' | head -n 1
}
for round in 1 2 3; do
	d0=$(udp_drops)
	python3 "$TOOLS/rvudpflood.py" --port "$O" --zone example.test --queries 300 --addrs 40 \
		--timeout 40 >"$T/flood-$round.txt" 2>&1 &
	FL=$!
	for i in $(seq 1 10); do
		ob_cfg $((5 + (i % 2)))
		ob_hup "reload $i of round $round" ob_reloads
	done
	wait "$FL"
	r=$(cat "$T/flood-$round.txt")
	note "round $round: $r"
	dropped=$(($(udp_drops) - d0))
	missing=$(sed -n 's/.* missing=\([0-9]*\) .*/\1/p' <<<"$r")
	case $r in *" dup=0 wrong_id=0 "*) ;; *) fail "round $round: a UDP query got more than one answer or another's ID: $r" ;; esac
	[ "$missing" -le "$dropped" ] ||
		fail "round $round: $missing UDP queries got no answer, the kernel dropped only $dropped: $r"
	[ "$missing" = 0 ] || note "round $round: $missing queries unanswered, all dropped by the kernel (receive buffer full)"
	alive "$OUT_PID" || fail "outbound proxy died in round $round"
done
ok "3 rounds of 300 UDP queries from 40 addresses under 30 pool-changing reloads: one datagram each, own ID"
pass
