#!/bin/bash
# t95: a local TCP connection whose IXFR was answered "up to date" (one
#   message, the lone SOA of RFC 1995) must not keep a pooled session while
#   it has nothing in flight (hostile review of issue 13, items 1 and 9).
#   max-sessions = 1 toward one primary (tests/tools/rvxot.py: its first
#   query gets a lone SOA, later ones a normal answer). Local client A sends
#   IXFR on one TCP connection, gets the lone SOA and keeps the connection
#   open, idle. Client B then polls SOA on another connection: it must be
#   answered NOERROR within 5 s (queue-timeout 10). Seen: B waits for the
#   slot until A's connection goes (SERVFAIL at queue-timeout): the lone-SOA
#   answer might go on (AXFR-style), so the session is not reusable
#   (relay_upstream_reusable: has_lone), and relay_pump then keeps it held
#   instead of retiring it; the idle local connection occupies max-sessions.
#   Passes since main da6758f (a lone SOA not newer than the client's serial
#   ends the answer). Still so for a lone SOA newer than the client's serial
#   (an AXFR-style start) after which the primary sends nothing: the idle
#   local connection then holds the session until its idle-timeout.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

rv_outbound lone max-sessions=1 queue-timeout=10 idle-timeout=60

python3 "$TOOLS/rvtcp.py" --port "$O" --zone example.test --type IXFR --serial 100 \
	--first-timeout 20 --hold-file "$T/release-a" >"$T/a.txt" 2>&1 &
A=$!
wait_until 15 grep -q '^answer 1 ' "$T/a.txt" || fail "client A's IXFR was not answered: $(cat "$T/a.txt")"
ok "client A: IXFR answered ($(head -n 1 "$T/a.txt")), connection kept open, idle"

python3 "$TOOLS/rvtcp.py" --port "$O" --zone example.test --first-timeout 30 >"$T/b.txt" 2>&1
touch "$T/release-a"
wait "$A"
note "client B: $(head -n 1 "$T/b.txt")"
grep -q '^answer 1 .*rcode=NOERROR' "$T/b.txt" ||
	fail "client B's SOA poll was not answered NOERROR while A sat idle: $(head -n 1 "$T/b.txt")"
secs=$(sed -n 's/^answer 1 .* secs=\([0-9.]*\)$/\1/p' "$T/b.txt")
awk -v s="$secs" 'BEGIN { exit !(s < 5) }' ||
	fail "client B waited $secs s for the one session, held by idle client A"
ok "client B answered in $secs s"
alive "$OUT_PID" || fail "outbound proxy died"
pass
