#!/bin/bash
# t109: a remote primary that fails at each moment of a session's set-up
# (issue 14 item 4, hostile review of the endpoint states: CONNECTING,
# HANDSHAKING, OPEN). Four [outbound] groups, each with a faulty primary
# first (tests/tools/rvfault.py) and a good one second (rvxot.py):
#   hs-close   FIN after reading the ClientHello (in the handshake)
#   hs-rst     RST after reading the ClientHello
#   post-close handshake done, query read, FIN without an answer
#   mid-rst    half an answer (its header, the right ID), then RST
# For the first three, a query over TCP and one over UDP fail over and are
# answered NOERROR by the second primary, and the failure is logged as
# before the refactor ("error state on socket (-308)" in the handshake,
# "closed the session before answering" after it). For mid-rst the answer
# may already have begun (the client's connection is then closed); the
# group must still answer the next query. The process stops with exit 0
# (an ASan build reports leaks and errors through its exit status: run
# with tests/integ/run.sh build/asan/xotproxy t109).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
TOOLS=$(cd "$XOT_INTEG_DIR/../tools" && pwd)

G=$(free_port) || fail "no free port"
start_rvxot rvxot "$G"
MODES=(hs-close hs-rst post-close mid-rst)
declare -a F O
{
	echo "[global]"
	echo "log-level = debug"
} >"$T/x.ini"
for i in 0 1 2 3; do
	F[$i]=$(free_port) || fail "no free port"
	O[$i]=$(free_port) || fail "no free port"
	bg_start "f$i" python3 "$TOOLS/rvfault.py" --port "${F[$i]}" --mode "${MODES[$i]}" \
		--cert "$XOT_CERT" --key "$XOT_KEY" --status "$T/f$i.status"
	wait_until 10 test -e "$T/f$i.status" || fail "rvfault ${MODES[$i]} not listening: $(tail -n 3 "$T/f$i.log")"
	cat >>"$T/x.ini" <<INI

[outbound g$i]
listen = 127.0.0.1:${O[$i]}
allow = 127.0.0.0/8
primary = 127.0.0.1:${F[$i]} 127.0.0.1:$G
ca = $XOT_CA
auth-name = xot.test
max-sessions = 1
connect-timeout = 3
backend-timeout = 3
INI
done
start_outbound ob "$T/x.ini" "${O[3]}"

# status PORT TCP|UDP: the rcode of an SOA query to a group
status() {
	local t=+tcp
	[ "$2" = UDP ] && t=+notcp
	dig $t +time=10 +tries=1 @127.0.0.1 -p "$1" example.test SOA 2>&1 | sed -n 's/.*status: \([A-Z]*\).*/\1/p'
}
for i in 0 1 2; do
	for tr in TCP UDP; do
		s=$(status "${O[$i]}" $tr)
		[ "$s" = NOERROR ] || fail "${MODES[$i]} primary, query over $tr: '$s', want NOERROR after failover"
	done
	ok "${MODES[$i]}: TCP and UDP queries failed over, NOERROR"
done
assert_grep "$OUT_LOG" "outbound g0, primary 127\\.0\\.0\\.1#${F[0]}, error state on socket \\(-308\\); not tried again" "hs-close logged"
assert_grep "$OUT_LOG" "outbound g1, primary 127\\.0\\.0\\.1#${F[1]}, error state on socket \\(-308\\); not tried again" "hs-rst logged"
assert_grep "$OUT_LOG" "outbound g2, primary 127\\.0\\.0\\.1#${F[2]}, closed the session before answering; not tried again" "post-close logged"

s=$(status "${O[3]}" TCP)
note "mid-rst, first query: '${s:-no answer}'"
wait_until 10 grep -q "conn 1 mid-rst" "$T/f3.log" || fail "the mid-rst primary never got the query"
s=$(status "${O[3]}" TCP)
[ "$s" = NOERROR ] || fail "mid-rst group: the next query got '$s', want NOERROR"
ok "mid-rst: the group answers the next query"

alive "$OUT_PID" || fail "xotproxy died"
rc=0
stop_pid "$OUT_PID" TERM 20 || rc=$?
grep -E "AddressSanitizer|LeakSanitizer|runtime error" "$OUT_LOG" && fail "sanitizer report (above)"
[ "$rc" = 0 ] || fail "xotproxy exited $rc at SIGTERM"
ok "stopped cleanly"
pass
