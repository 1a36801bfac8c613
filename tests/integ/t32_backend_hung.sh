#!/bin/bash
# t32: a backend that accepts and reads but never answers, and a backend port
# with nothing listening (issue 7, `backend-timeout`).
#   EDNS-06/ROB-05: a query the backend never answers gets SERVFAIL with
#     EDE 23 (Network Error), question echoed, ID kept, within
#     backend-timeout (2 s) + 1 s, and not long before the timeout.
#   AXFR-06/TCP-03: the SAME session then still answers: a refused A query
#     (REFUSED, EDE 21, answered by the proxy itself) and a second SOA (SERVFAIL
#     again after the timeout); an A query pipelined behind a hanging SOA is
#     answered at once, not after the SOA's timeout.
#   TCP-06: the proxy drops the hung backend connection at the timeout (a late
#     answer on it could never be matched).
#   Nothing listening: SOA gets SERVFAIL EDE 23 at once (< 1 s), and the
#     session stays usable.
. "$(dirname "$0")/lib.sh"
test_init

TOOLS=$(cd "$(dirname "$0")/../tools" && pwd)
FAKE=$TOOLS/fakeprimary.py
ABUSE=$TOOLS/xotabuse.py
BT=2

field() {   # field FILE ID KEY: KEY=value of the "stream id=ID" line in FILE
	grep -E "stream id=$2 " "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$3=//p"
}
expect() {   # expect FILE ID KEY VALUE WHAT
	local v
	v=$(field "$1" "$2" "$3")
	[ "$v" = "$4" ] || { cat "$1"; fail "$5: $3 is '$v', expected '$4'"; }
}
# within FILE ID KEY MIN MAX WHAT: MIN <= KEY (seconds) <= MAX.
within() {
	local v
	v=$(field "$1" "$2" "$3")
	awk -v v="$v" -v lo="$4" -v hi="$5" 'BEGIN { exit !(v != "" && v != "-" && v + 0 >= lo && v + 0 <= hi) }' ||
		{ cat "$1"; fail "$6: $3 = '$v' s, expected between $4 and $5 s"; }
	ok "$6: $3 = $v s (bound $4..$5 s)"
}
# proxy NAME BACKENDPORT
proxy() {
	PORT=$(free_port) || fail "no free port"
	proxy_ini "$T/$1.ini" "$PORT" "$2"
	sed -i "/^idle-timeout/a backend-timeout = $BT" "$T/$1.ini"
	printf '\n[zone lone.test]\nallow = 127.0.0.0/8\n' >>"$T/$1.ini"
	"$XOT_BIN" -t -c "$T/$1.ini" >"$T/$1.check" 2>&1 ||
		fail "$1: the configuration with backend-timeout = $BT does not load: $(cat "$T/$1.check")"
	grep -qx "backend-timeout = $BT" "$T/$1.check" || fail "$1: -t does not show backend-timeout = $BT"
	start_proxy "$1" "$T/$1.ini" "$PORT"
}

# --- a backend that never answers -----------------------------------------
FPORT=$(free_port) || fail "no free port"
bg_start fp python3 "$FAKE" --port "$FPORT" --mode hang --status "$T/fp.status"
wait_until 10 test -e "$T/fp.status" || fail "fakeprimary not listening"
proxy proxy "$FPORT"
python3 "$ABUSE" streams --port "$PORT" --ca "$XOT_CA" --timeout 15 \
	"q:lone.test/SOA/id=1/edns" \
	"q:lone.test/A/id=2/edns" \
	"q:lone.test/SOA/id=3/edns" \
	"q:lone.test/SOA/id=4/edns,lone.test/A/id=5/edns" \
	"q:lone.test/AXFR/id=6/edns" \
	"q:lone.test/A/id=7/edns" >"$T/hang.out" 2>&1
rc=$?
cat "$T/hang.out"
grep -q 'closed how=' "$T/hang.out" && fail "the proxy closed the session: $(grep 'closed how=' "$T/hang.out")"
for id in 1 3 4 6; do
	grep -q "stream id=$id " "$T/hang.out" || fail "query $id (to the hung backend) got no answer"
	expect "$T/hang.out" $id rcode SERVFAIL "query $id to the hung backend"
	expect "$T/hang.out" $id ede 23 "query $id to the hung backend"
	expect "$T/hang.out" $id echo yes "query $id to the hung backend: question echoed"
	within "$T/hang.out" $id time 1.5 $((BT + 1)) "query $id ($(field "$T/hang.out" $id type)) to the hung backend: SERVFAIL EDE 23"
done
for id in 2 5 7; do
	expect "$T/hang.out" $id rcode REFUSED "A query $id on the same session"
	expect "$T/hang.out" $id ede 21 "A query $id on the same session"
done
ok "the same session answers after a backend timeout (A: REFUSED EDE 21, SOA: SERVFAIL EDE 23 again)"
within "$T/hang.out" 5 time 0 1 "A query pipelined behind the hanging SOA"
[ $rc -eq 0 ] || fail "xotabuse streams exit $rc"
# The proxy gave up each hung backend connection at the timeout.
nq=$(grep -c '^query conn=' "$T/fp.log")
[ "$nq" -ge 4 ] || fail "fakeprimary saw $nq queries, expected 4 (SOA, SOA, SOA, AXFR)"
wait_until 5 grep -q '^conn 1 closed by peer' "$T/fp.log" ||
	fail "the proxy kept the hung backend connection open after the timeout: $(cat "$T/fp.log")"
ok "the proxy closed the hung backend connection ($(grep -c 'closed by peer' "$T/fp.log") of $(grep -c ' open from' "$T/fp.log") closed)"
alive "$PROXY_PID" || fail "proxy died"

# --- nothing listening on the backend port --------------------------------
NP=$(free_port) || fail "no free port"
proxy proxy-refused "$NP"
python3 "$ABUSE" streams --port "$PORT" --ca "$XOT_CA" --timeout 10 \
	"q:lone.test/SOA/id=11/edns" "q:lone.test/A/id=12/edns" "q:lone.test/SOA/id=13/edns" >"$T/refused.out" 2>&1
rc=$?
cat "$T/refused.out"
for id in 11 13; do
	expect "$T/refused.out" $id rcode SERVFAIL "SOA $id, backend port closed"
	expect "$T/refused.out" $id ede 23 "SOA $id, backend port closed"
	expect "$T/refused.out" $id echo yes "SOA $id, backend port closed: question echoed"
	within "$T/refused.out" $id time 0 1 "SOA $id, backend port closed: SERVFAIL EDE 23"
done
expect "$T/refused.out" 12 rcode REFUSED "A query between them"
[ $rc -eq 0 ] || fail "xotabuse streams exit $rc"
ok "backend port closed: SERVFAIL EDE 23 at once, the session stays usable"
alive "$PROXY_PID" || fail "proxy died"
pass
