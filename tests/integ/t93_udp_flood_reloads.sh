#!/bin/bash
# t93: a flood of local UDP queries (many addresses of 127.0.0.0/8, many
#   ports) while SIGHUPs replace the outbound pool again and again (hostile
#   review of issue 13, items 7 and 8). Every UDP query gets exactly one
#   datagram with its own ID (answer, TC or SERVFAIL), the process stays up,
#   and max-sessions (2) holds toward the primary (tests/tools/rvxot.py).
#   Run it on build/asan/xotproxy as well (make integ-asan style).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
TOOLS=$(cd "$XOT_INTEG_DIR/../tools" && pwd)

FP=$(free_port) || fail "no free port"
O=$(free_port) || fail "no free port"
bg_start rvxot python3 "$TOOLS/rvxot.py" --port "$FP" --cert "$XOT_CERT" --key "$XOT_KEY" \
	--zone example.test --status "$T/rvxot.status"
PLOG=$T/rvxot.log
wait_until 10 test -e "$T/rvxot.status" || fail "rvxot not listening"
ob_cfg() {
	OUT_LOG_LEVEL=info outbound_ini "$T/ob.ini" "$O" "127.0.0.1:$FP" max-sessions=2 \
		max-udp-queries=64 queue-timeout=3 connect-timeout="$1"
}
# reloads_past N: more than N reloads logged
reloads_past() { [ "$(grep -c 'reloaded ' "$OUT_LOG")" -gt "$1" ]; }
ob_cfg 5
start_outbound ob "$T/ob.ini" "$O"

for round in 1 2 3; do
	python3 "$TOOLS/rvudpflood.py" --port "$O" --zone example.test --queries 300 --addrs 40 \
		--timeout 40 >"$T/flood-$round.txt" 2>&1 &
	FL=$!
	for i in $(seq 1 10); do
		ob_cfg $((5 + (i % 2)))
		before=$(grep -c 'reloaded ' "$OUT_LOG")
		kill -HUP "$OUT_PID" 2>/dev/null || fail "proxy gone at reload $i of round $round"
		wait_until 10 reloads_past "$before" ||
			fail "reload $i of round $round not logged"
	done
	wait "$FL"
	r=$(cat "$T/flood-$round.txt")
	note "round $round: $r"
	case $r in *" missing=0 dup=0 wrong_id=0 "*) ;; *) fail "round $round: not exactly one answer per UDP query: $r" ;; esac
	alive "$OUT_PID" || fail "outbound proxy died in round $round"
done
ok "3 rounds of 300 UDP queries from 40 addresses under 30 pool-changing reloads: one datagram each, own ID"
most=$(sed -n 's/.*max=\([0-9]*\)).*/\1/p' "$PLOG" | sort -n | tail -n 1)
[ "${most:-0}" -le 2 ] || fail "max-sessions = 2 but the primary saw $most sessions open at once"
ok "at most $most sessions open to the primary"
pass
