#!/bin/bash
# t110: a reload that adds back an outbound listen address whose UDP
# socket is still held for a query in flight (hostile review of issue 14;
# the fault is older than the refactor: 71a66ff behaves the same).
#   [outbound g1] listens on O1 and O2 towards a primary that never
#   answers (rvxot.py --script hang, backend-timeout 8). A UDP query sent
#   to O2 is in flight. Reload 1 removes O2: its UDP socket stays open
#   until that query is answered ("stopped listening ... (UDP)"). Reload 2
#   lists O2 again: it must succeed (the held socket can serve again, or a
#   new one be bound) -- today it fails as a whole with "listen UDP
#   127.0.0.1#O2: Address already in use", and O2 stays without TCP too.
# FAILS on this tree and on 71a66ff.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

X=$(free_port) || fail "no free port"
O1=$(free_port) || fail "no free port"
O2=$(free_port) || fail "no free port"
start_rvxot rvxot "$X" --script hang
write_ini() {
	cat >"$T/x.ini" <<INI
[global]
log-level = info

[outbound g1]
listen = $1
allow = 127.0.0.0/8
primary = 127.0.0.1:$X
ca = $XOT_CA
auth-name = xot.test
backend-timeout = 8
INI
}
reload() { # PATTERN: SIGHUP, wait for one more line matching PATTERN
	local n
	n=$(grep -cE "$1" "$OUT_LOG")
	kill -HUP "$OUT_PID"
	wait_until 10 bash -c "[ \$(grep -cE '$1' '$OUT_LOG') -gt $n ]" || fail "no new /$1/ line after SIGHUP"
}
write_ini "127.0.0.1:$O1 127.0.0.1:$O2"
start_outbound ob "$T/x.ini" "$O2"
dig +notcp +time=15 +tries=1 @127.0.0.1 -p "$O2" example.test SOA >"$T/u1.txt" 2>&1 &
Q=$!
wait_until 10 grep -q 'action=hang' "$T/rvxot.log" || fail "the UDP query never reached the primary"
write_ini "127.0.0.1:$O1"
reload 'reloaded |reload failed'
assert_grep "$OUT_LOG" "stopped listening on 127\\.0\\.0\\.1#$O2 \\(UDP\\)" "O2 removed while its query is in flight"
write_ini "127.0.0.1:$O1 127.0.0.1:$O2"
reload 'reloaded |reload failed'
if grep -q 'reload failed' "$OUT_LOG"; then
	fail "adding O2 back failed: $(grep 'reload failed' "$OUT_LOG" | tail -n 1 | cut -d' ' -f2-)"
fi
wait_until 5 tcp_listening "$O2" || fail "O2 not listening on TCP after the reload"
wait_until 5 udp_bound "$O2" || fail "O2 not bound on UDP after the reload"
ok "O2 added back while its old UDP socket still answered a query"
wait "$Q" || true
pass
