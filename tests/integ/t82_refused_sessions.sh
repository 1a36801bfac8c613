#!/bin/bash
# t82: issue 13 B14, clients that no ACL admits cannot hold the proxy.
# The zone's only ACL is TSIG-only (a [key] with its secret), so every
# address passes the accept check and an unsigned SOA is REFUSED.
#   (a) idle-timeout = 4: a session that sends a refused SOA every second is
#       closed about 4 s after its handshake (refused queries are no
#       activity), not kept open by them; a session whose signed SOAs are
#       admitted every 1.5 s outlives idle-timeout; one admitted SOA then
#       only refused ones: closed about 4 s after the admitted one.
#   (b) the issue's shape: max-clients = 8 (idle-timeout 60), eight sessions
#       from 127.0.0.2 and 127.0.0.3 send a refused SOA every 2 s; a
#       legitimate signed secondary (kdig with the key) still gets its SOA
#       and its AXFR, each within 5 s: at max-clients the oldest session
#       that never had a query admitted is closed to make room.
#   (c) max-handshakes = 8, max-handshakes-per-ip = 4: two silent pending
#       handshakes from 127.0.0.5 survive a flood of 20 from 127.0.0.2: it
#       fills the 6 free places, then (at max-handshakes, holding 4 or more)
#       gets no more: 14 are closed at accept, where the oldest-first
#       max-handshakes rule would otherwise close 127.0.0.5's. A new
#       handshake from 127.0.0.5 then closes one of 127.0.0.2's (the oldest
#       of an address at its share), not 127.0.0.5's own.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_policy.sh"
test_init

ABUSE=$(cd "$XOT_INTEG_DIR/../tools" && pwd)/xotabuse.py
KEY="$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET"
N=$(shared_count small.test)

# keyed_ini FILE PORT KEY=VALUE...: small.test for the TSIG key only.
keyed_ini() {
	local f=$1 p=$2
	shift 2
	policy_ini "$f" "$p" "$XOT_NAMED_PORT" "$@"
	cat >>"$f" <<EOF

[key $XOT_TSIG_NAME]
algorithm = $XOT_TSIG_ALG
secret = $XOT_TSIG_SECRET

[acl keyed]
tsig-key = $XOT_TSIG_NAME

[zone small.test]
acl = keyed
EOF
}
# steps N SPEC HOLD: N times "q:SPEC" then "hold:HOLD".
steps() {
	local i
	for ((i = 0; i < $1; i++)); do printf 'q:%s\nhold:%s\n' "$2" "$3"; done
}
# closed_at FILE: seconds after the start at which the proxy closed the session.
closed_at() { sed -n 's/^\([0-9.]*\) closed how=.*/\1/p' "$1" | head -n 1; }
between() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v >= lo && v <= hi) }'; }

########################################################################
note "=== (a) idle-timeout = 4: refused queries do not keep a session open"
P=$(free_port) || fail "no free port"
keyed_ini "$T/a.ini" "$P" idle-timeout=4
sed -i '/^idle-timeout = 30$/d' "$T/a.ini"
start_policy_proxy proxy-a "$T/a.ini" "$P"
mapfile -t REFUSE < <(steps 12 small.test/SOA/edns 1)
pol --port "$P" --ca "$XOT_CA" --tsig "$KEY" "${REFUSE[@]}" >"$T/a-refused.out" 2>&1 &
A1=$!
_BG_PIDS+=("$A1")
mapfile -t ADMIT < <(steps 6 small.test/SOA/edns/tsig 1.5)
pol --port "$P" --ca "$XOT_CA" --tsig "$KEY" "${ADMIT[@]}" >"$T/a-admitted.out" 2>&1 &
A2=$!
_BG_PIDS+=("$A2")
mapfile -t ONCE < <(echo "q:small.test/SOA/edns/tsig"; echo "hold:1"; steps 10 small.test/SOA/edns 1)
pol --port "$P" --ca "$XOT_CA" --tsig "$KEY" "${ONCE[@]}" >"$T/a-once.out" 2>&1 &
A3=$!
_BG_PIDS+=("$A3")
wait_pid_exit "$A1" 30
wait_pid_exit "$A2" 30
wait_pid_exit "$A3" 30

[ "$(stream_field "$T/a-refused.out" rcode 1)" = REFUSED ] || { cat "$T/a-refused.out"; fail "(a) the unsigned SOA is not REFUSED"; }
t=$(closed_at "$T/a-refused.out")
between "$t" 3.5 6.5 || { cat "$T/a-refused.out"; fail "(a) refused-only session closed at '${t:-never}' s, expected about 4 s"; }
grep -q 'closed how=close_notify' "$T/a-refused.out" || fail "(a) no close_notify on the idle close"
ok "(a) a session refused every second: closed at $t s (idle-timeout 4), after $(grep -c ' stream .*rcode=REFUSED' "$T/a-refused.out") refusals"

grep -q 'closed how=' "$T/a-admitted.out" && { cat "$T/a-admitted.out"; fail "(a) a session with admitted queries was closed"; }
[ "$(grep -c ' stream .*rcode=NOERROR' "$T/a-admitted.out")" = 6 ] || { cat "$T/a-admitted.out"; fail "(a) admitted session: not 6 NOERROR"; }
ok "(a) admitted SOAs every 1.5 s: open for 9 s (past idle-timeout), 6 answers"

[ "$(stream_field "$T/a-once.out" rcode 1)" = NOERROR ] || { cat "$T/a-once.out"; fail "(a) once: first SOA"; }
t=$(closed_at "$T/a-once.out")
between "$t" 3.5 6.5 || { cat "$T/a-once.out"; fail "(a) one admitted SOA then refusals: closed at '${t:-never}' s, expected about 4 s"; }
ok "(a) one admitted SOA, then refused ones every second: closed at $t s"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy (a) exited with status $?"

########################################################################
note "=== (b) max-clients = 8, eight refused sessions from two addresses, a signed secondary"
P=$(free_port) || fail "no free port"
keyed_ini "$T/b.ini" "$P" max-clients=8
sed -i 's/^idle-timeout = 30$/idle-timeout = 60/' "$T/b.ini"
start_policy_proxy proxy-b "$T/b.ini" "$P"
mapfile -t REFUSE < <(steps 20 small.test/SOA/edns 2)
for i in 1 2 3 4 5 6 7 8; do
	src=127.0.0.$((2 + i % 2))
	pol --port "$P" --ca "$XOT_CA" --source "$src" "${REFUSE[@]}" >"$T/b-att$i.out" 2>&1 &
	_BG_PIDS+=("$!")
	wait_until 10 grep -q ' stream .*rcode=REFUSED' "$T/b-att$i.out" ||
		{ cat "$T/b-att$i.out"; fail "(b) attacker $i got no REFUSED"; }
done
open_sessions() { ss -Htn state established "( sport = :$P )" | wc -l; }
[ "$(open_sessions)" = 8 ] || fail "(b) $(open_sessions) sessions open, expected 8"
ok "(b) 8 sessions from 127.0.0.2 and 127.0.0.3 open, each refused every 2 s (max-clients 8)"

t0=$(ms_now)
kd "$P" +time=5 -y "$KEY" +edns small.test SOA >"$T/b-soa.txt" 2>&1
assert_answer "$T/b-soa.txt" "(b) signed secondary's SOA at max-clients" NOERROR
kd "$P" +time=5 -y "$KEY" small.test AXFR >"$T/b-axfr.txt" 2>&1
xfr_ok "$T/b-axfr.txt" "(b) signed secondary's AXFR at max-clients" "$N"
el=$(($(ms_now) - t0))
[ "$el" -le 10000 ] || fail "(b) SOA + AXFR took $el ms"
ok "(b) SOA and AXFR served in $el ms"
wait_until 5 grep -q 'closed the oldest session that never had a query admitted' "$PROXY_LOG" ||
	fail "(b) no eviction logged"
ok "(b) log: $(grep 'never had a query admitted' "$PROXY_LOG" | head -n 1 | cut -d' ' -f3-)"
[ "$(open_sessions)" -le 8 ] || fail "(b) $(open_sessions) sessions open, over max-clients"
alive "$PROXY_PID" || fail "proxy (b) died"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy (b) exited with status $?"

########################################################################
note "=== (c) max-handshakes = 8, max-handshakes-per-ip = 4"
P=$(free_port) || fail "no free port"
keyed_ini "$T/c.ini" "$P" max-handshakes=8 max-handshakes-per-ip=4
sed -i 's/^handshake-timeout = 10$/handshake-timeout = 60/' "$T/c.ini"
start_policy_proxy proxy-c "$T/c.ini" "$P"
bg_start victim python3 "$ABUSE" srcflood --port "$P" --sources 127.0.0.5 --per-source 2 \
	--status "$T/victim.status" --until-file "$T/stop" --wait 60
VICTIM=$LAST_PID
wait_until 10 grep -q 'connected 2 closed 0 open 2' "$T/victim.status" || fail "(c) victim: $(cat "$T/victim.status" 2>/dev/null)"
bg_start flood python3 "$ABUSE" srcflood --port "$P" --sources 127.0.0.2 --per-source 20 \
	--status "$T/flood.status" --until-file "$T/stop" --wait 60
FLOOD=$LAST_PID
wait_until 15 grep -q 'connected 20 closed 14 open 6' "$T/flood.status" ||
	fail "(c) flood from one address: $(cat "$T/flood.status" 2>/dev/null), expected 14 of 20 closed"
ok "(c) 20 silent handshakes from 127.0.0.2: 6 kept (the free places), 14 closed at accept"
assert_grep "$PROXY_LOG" 'holds max-handshakes-per-ip \(4\)' "(c) log: max-handshakes-per-ip refusals"
grep -q 'connected 2 closed 0 open 2' "$T/victim.status" ||
	fail "(c) 127.0.0.5's pending handshakes were closed: $(cat "$T/victim.status")"
ok "(c) 127.0.0.5's two pending handshakes are still open"
bg_start victim2 python3 "$ABUSE" srcflood --port "$P" --sources 127.0.0.5 --per-source 1 \
	--status "$T/victim2.status" --until-file "$T/stop" --wait 60
wait_until 10 grep -q 'connected 1 closed 0 open 1' "$T/victim2.status" || fail "(c) victim2: $(cat "$T/victim2.status" 2>/dev/null)"
wait_until 10 grep -q 'connected 20 closed 15 open 5' "$T/flood.status" ||
	fail "(c) a third handshake from 127.0.0.5 did not close one of 127.0.0.2's: $(cat "$T/flood.status")"
grep -q 'connected 2 closed 0 open 2' "$T/victim.status" || fail "(c) 127.0.0.5's first two were closed: $(cat "$T/victim.status")"
ok "(c) a third handshake from 127.0.0.5 at max-handshakes closed one of 127.0.0.2's, not its own"
kd "$P" +time=5 -y "$KEY" +edns small.test SOA >"$T/c-soa.txt" 2>&1
assert_answer "$T/c-soa.txt" "(c) signed SOA from 127.0.0.1 during the flood" NOERROR
touch "$T/stop"
wait_pid_exit "$FLOOD" 20
wait_pid_exit "$VICTIM" 20
alive "$PROXY_PID" || fail "proxy (c) died"
pass
