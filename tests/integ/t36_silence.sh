#!/bin/bash
# t36: no query is met with silence (issue 7).
#   (a) DOT-03/TCP-08/AXFR-06: a query frame over the proxy's size limit (it
#       takes frames of up to 4094 octets after the prefix) with a valid DNS
#       header is skipped and answered FORMERR with its ID; the session then
#       answers the next query, also when that query came in the same write
#       right behind the big frame (8000 and 65535 octets).
#   (b) XOT-16/NOTIFY-01: an opcode other than QUERY (4 NOTIFY, 2 STATUS) for
#       a listed zone gets NOTIMP (rcode 4), EDE 21 when the query had EDNS;
#       the session stays usable.
#   (c) PRX-07/DOT-04: SIGTERM while pipelined queries are received but not
#       yet answered (a backend that answers each query after 1 s): every
#       query gets an answer (the backend's, or the proxy's REFUSED/SERVFAIL)
#       before the session is closed with close_notify, and the proxy exits 0.
#       With 3 and 12 SOA queries, SIGTERM sent by the test once the client
#       has written them; then with 3 and 20 queries, SIGTERM sent by the
#       client itself right after its write (the queries may not have been
#       read by the proxy yet: they were still sent before the stop).
. "$(dirname "$0")/lib.sh"
test_init

TOOLS=$(cd "$(dirname "$0")/../tools" && pwd)
FAKE=$TOOLS/fakeprimary.py
ABUSE=$TOOLS/xotabuse.py

field() {   # field FILE ID KEY: KEY=value of the "stream id=ID" line in FILE
	grep -E "stream id=$2 " "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$3=//p"
}
expect() {   # expect FILE ID KEY VALUE WHAT
	local v
	v=$(field "$1" "$2" "$3")
	[ "$v" = "$4" ] || { cat "$1"; fail "$5: $3 is '$v', expected '$4'"; }
}

P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
start_proxy proxy "$T/xotproxy.ini" "$P"

# --- (a) oversized query frames ------------------------------------------
python3 "$ABUSE" streams --port "$P" --ca "$XOT_CA" --timeout 10 \
	"q:small.test/SOA/id=501/size=8000/edns" \
	"q:small.test/SOA/id=502" \
	"q:small.test/SOA/id=503/size=8000,small.test/SOA/id=504" \
	"q:small.test/AXFR/id=505/size=65535,small.test/SOA/id=506,small.test/AXFR/id=507" \
	"q:small.test/SOA/id=508/size=4094,small.test/SOA/id=509" >"$T/big.out" 2>&1
rc=$?
cat "$T/big.out"
grep -q 'closed how=' "$T/big.out" && fail "the proxy closed the session on an oversized query frame: $(grep 'closed how=' "$T/big.out")"
for id in 501 503 505; do
	grep -q "stream id=$id " "$T/big.out" || fail "oversized frame id $id: no answer"
	expect "$T/big.out" $id rcode FORMERR "oversized frame id $id"
	expect "$T/big.out" $id msgs 1 "oversized frame id $id"
done
ok "frames of 8000 and 65535 octets: FORMERR with their IDs"
expect "$T/big.out" 502 rcode NOERROR "SOA after an oversized frame"
expect "$T/big.out" 504 rcode NOERROR "SOA in the same write behind an oversized frame"
expect "$T/big.out" 506 rcode NOERROR "SOA in the same write behind a 65535-octet frame"
expect "$T/big.out" 507 records $((XOT_ZONE_SMALL_N + 1)) "AXFR behind a 65535-octet frame"
ok "the session answers queries after (and right behind) an oversized frame"
# A frame of exactly 4094 octets is within the limit: it gets one answer
# (whatever the trailing zero octets make of it) and the next query is read.
grep -q "stream id=508 " "$T/big.out" || fail "a 4094-octet frame (at the limit) got no answer"
expect "$T/big.out" 509 rcode NOERROR "SOA behind a 4094-octet frame"
ok "a 4094-octet frame gets one answer ($(field "$T/big.out" 508 rcode)); the next query is served"
[ $rc -eq 0 ] || fail "xotabuse streams exit $rc"

# --- (b) opcodes other than QUERY ------------------------------------------
python3 "$ABUSE" streams --port "$P" --ca "$XOT_CA" --timeout 10 \
	"q:small.test/SOA/id=601/opcode=4/edns" \
	"q:small.test/SOA/id=602/opcode=2/edns" \
	"q:small.test/SOA/id=603/opcode=4" \
	"q:small.test/SOA/id=604/opcode=5/edns" \
	"q:small.test/SOA/id=605" >"$T/opcode.out" 2>&1
rc=$?
cat "$T/opcode.out"
for id in 601 602 603 604; do
	grep -q "stream id=$id " "$T/opcode.out" || fail "opcode query $id: no answer"
	expect "$T/opcode.out" $id rcode NOTIMP "opcode query $id"
done
expect "$T/opcode.out" 601 ede 21 "NOTIFY with EDNS"
expect "$T/opcode.out" 602 ede 21 "STATUS with EDNS"
expect "$T/opcode.out" 603 ede - "NOTIFY without EDNS (no OPT, so no EDE)"
ok "opcodes NOTIFY, STATUS, UPDATE: NOTIMP (EDE 21 when the query had EDNS)"
expect "$T/opcode.out" 605 rcode NOERROR "SOA after the NOTIMP answers"
[ $rc -eq 0 ] || fail "xotabuse streams exit $rc"
stop_pid "$PROXY_PID" TERM 15 || fail "proxy exited with status $? on SIGTERM"

# --- (c) SIGTERM with pipelined queries not yet answered --------------------
FPORT=$(free_port) || fail "no free port"
bg_start fp python3 "$FAKE" --port "$FPORT" --mode slow --delay 1 --status "$T/fp.status"
wait_until 10 test -e "$T/fp.status" || fail "fakeprimary not listening"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# term_round NAME N [client]: N pipelined SOA queries, SIGTERM as soon as they
# are written: by the test once the client says they are sent, or (client) by
# the client itself right after its write, while they may still sit unread in
# the proxy's socket buffer.
term_round() {
	local name=$1 n=$2 by=${3:-test} i list='' t0 el
	for ((i = 1; i <= n; i++)); do
		list+="${list:+,}lone.test/SOA/id=$((700 + i))/edns"
	done
	local port
	port=$(free_port) || fail "no free port"
	proxy_ini "$T/$name.ini" "$port" "$FPORT"
	printf '\n[zone lone.test]\nallow = 127.0.0.0/8\n' >>"$T/$name.ini"
	start_proxy "$name" "$T/$name.ini" "$port"
	local ppid=$PROXY_PID plog=$PROXY_LOG
	local sig=()
	[ "$by" = client ] && sig=("kill:$ppid:15")
	bg_start "$name-client" python3 "$ABUSE" streams --port "$port" --ca "$XOT_CA" --timeout 20 \
		"send:$list" "${sig[@]}" "touch:$T/$name.sent" "collect:20" "eof:15"
	local cpid=$LAST_PID
	wait_until 10 test -e "$T/$name.sent" || fail "$name: the client did not send its queries"
	[ "$by" = client ] || kill -TERM "$ppid"
	t0=$(now_ms)
	note "$name: SIGTERM sent (by the $by) right after $n pipelined SOA queries were written"
	wait_pid_exit "$cpid" 40
	local crc=$?
	cat "$T/$name-client.log"
	local answered=0 rcodes
	for ((i = 1; i <= n; i++)); do
		grep -q "stream id=$((700 + i)) .* end=\(complete\|error\)" "$T/$name-client.log" ||
			fail "$name: query $((700 + i)) got no answer before the connection closed ($(grep -m1 'closed how=' "$T/$name-client.log"))"
		answered=$((answered + 1))
	done
	rcodes=$(grep -o 'stream id=[0-9]* .*rcode=[A-Z]*' "$T/$name-client.log" | sed 's/.*rcode=//' | sort | uniq -c | tr -s ' \n' ' ')
	ok "$name: all $answered queries answered after SIGTERM (rcodes:$rcodes)"
	grep -q 'closed how=close_notify' "$T/$name-client.log" ||
		fail "$name: the session did not end with close_notify: $(grep 'closed how=' "$T/$name-client.log")"
	[ $crc -eq 0 ] || fail "$name: xotabuse streams exit $crc"
	ok "$name: then the session ended with close_notify"
	wait_pid_exit "$ppid" 15
	local prc=$?
	el=$(($(now_ms) - t0))
	[ $prc -eq 0 ] || fail "$name: proxy exit status $prc after SIGTERM"
	ok "$name: proxy exited 0, $el ms after SIGTERM"
	assert_nogrep "$plog" 'aborted' "$name: proxy log: nothing aborted"
}
term_round term3 3
term_round term12 12
term_round term3-now 3 client
term_round term20-now 20 client
pass
