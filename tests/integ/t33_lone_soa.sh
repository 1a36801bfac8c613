#!/bin/bash
# t33: IXFR answers that begin with a lone SOA newer than the client's serial
# (issue 7). Backend: tests/tools/fakeprimary.py (zone lone.test, serial 100).
#   IXFR-02: a first message holding only one SOA that is NEWER than the
#     client's serial (here 100 against 50) may be the whole answer (some
#     primaries answer so when they have no history) or the start of an
#     AXFR-style answer; the proxy cannot know which from that message alone.
#   Mode lone-soa: the IXFR gets exactly that one message; the session is not
#     aborted when no further message comes (transfer-timeout = 2, the client
#     then waits 3 s more) and answers an SOA query afterwards; no message for
#     the IXFR's ID arrives late (XOT-05, AXFR-06, TCP-05 progress timer).
#   Mode axfr-style-lone-first: the whole AXFR-style answer (4 messages, 302
#     records, closing SOA) is relayed to the client, also with 0.5 s pauses
#     between messages (AXFR-09: nothing dropped, nothing fabricated), and
#     logged once, as one transfer of 4 messages (PRX-03: one line per
#     transfer).
# kdig 3.2.6 is not used for the second mode: it ends an IXFR at a lone SOA
# first message itself (checked directly against fakeprimary).
. "$(dirname "$0")/lib.sh"
test_init

TOOLS=$(cd "$(dirname "$0")/../tools" && pwd)
FAKE=$TOOLS/fakeprimary.py
ABUSE=$TOOLS/xotabuse.py

# fake NAME MODE [ARGS...]: start fakeprimary on a fresh port; its port in FPORT.
fake() {
	local name=$1 mode=$2
	shift 2
	FPORT=$(free_port) || fail "no free port"
	bg_start "$name" python3 "$FAKE" --port "$FPORT" --mode "$mode" --status "$T/$name.status" "$@"
	wait_until 10 test -e "$T/$name.status" || fail "$name: fakeprimary not listening"
}
# proxy NAME BACKENDPORT: a proxy with transfer-timeout = 2 and zone lone.test.
proxy() {
	local name=$1 bport=$2
	PORT=$(free_port) || fail "no free port"
	proxy_ini "$T/$name.ini" "$PORT" "$bport"
	sed -i "/^idle-timeout/a transfer-timeout = 2" "$T/$name.ini"
	printf '\n[zone lone.test]\nallow = 127.0.0.0/8\n' >>"$T/$name.ini"
	start_proxy "$name" "$T/$name.ini" "$PORT"
}
# field FILE ID KEY: KEY=value of the "stream id=ID" line in FILE.
field() {
	grep -E "stream id=$2 " "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$3=//p"
}
expect() {   # expect FILE ID KEY VALUE WHAT
	local v
	v=$(field "$1" "$2" "$3")
	[ "$v" = "$4" ] || { cat "$1"; fail "$5: $3 is '$v', expected '$4'"; }
}

# --- mode lone-soa ----------------------------------------------------------
fake fp1 lone-soa
proxy proxy1 "$FPORT"
P1=$PORT
LOG1=$PROXY_LOG
python3 "$ABUSE" streams --port "$P1" --ca "$XOT_CA" --timeout 10 --lone-wait 1 \
	"q:lone.test/IXFR/serial=50/id=101" "hold:3" "q:lone.test/SOA/id=102" \
	"q:lone.test/IXFR/serial=100/id=103" "q:lone.test/AXFR/id=104" >"$T/lone.out" 2>&1
rc=$?
cat "$T/lone.out"
grep -q "^[0-9.]* stream id=101 " "$T/lone.out" || fail "IXFR serial 50: no answer at all"
expect "$T/lone.out" 101 rcode NOERROR "IXFR serial 50 (lone newer SOA)"
expect "$T/lone.out" 101 msgs 1 "IXFR serial 50 (lone newer SOA)"
expect "$T/lone.out" 101 records 1 "IXFR serial 50 (lone newer SOA)"
expect "$T/lone.out" 101 serial 100 "IXFR serial 50 (lone newer SOA)"
ok "IXFR serial 50 relayed: one message, one SOA (serial 100)"
grep -q 'closed how=' "$T/lone.out" &&
	fail "the proxy closed the session after the lone-SOA IXFR answer ($(grep 'closed how=' "$T/lone.out")); transfer-timeout 2 s, the client waited 3 s more"
grep -q 'unexpected message' "$T/lone.out" && fail "a message arrived for an ID whose stream had ended"
expect "$T/lone.out" 102 rcode NOERROR "SOA on the same session, 3 s after the lone SOA"
expect "$T/lone.out" 102 serial 100 "SOA on the same session"
ok "session not aborted: the SOA query 3 s later (transfer-timeout 2 s) is answered"
expect "$T/lone.out" 103 msgs 1 "IXFR serial 100 (up to date)"
expect "$T/lone.out" 103 end complete "IXFR serial 100 (up to date)"
expect "$T/lone.out" 104 records 302 "AXFR lone.test afterwards"
ok "IXFR up to date and an AXFR still work on that session"
[ $rc -eq 0 ] || fail "xotabuse streams exit $rc"
assert_nogrep "$LOG1" 'aborted|transfer timeout' "proxy log: nothing aborted"
wait_until 5 grep -q 'zone lone\.test\., AXFR, ok' "$LOG1" || fail "no log line for the AXFR"
n=$(grep -c 'zone lone\.test\., IXFR' "$LOG1")
[ "$n" -eq 2 ] || fail "2 IXFRs logged as $n lines: $(grep 'IXFR' "$LOG1" | cut -d' ' -f5- | tr '\n' '|')"
ok "proxy log: one line per IXFR ($(grep -m1 'IXFR' "$LOG1" | cut -d' ' -f5-))"
alive "$PROXY_PID" || fail "proxy1 died"

# --- mode axfr-style-lone-first --------------------------------------------
for gap in 0 0.5; do
	fake "fp-gap$gap" axfr-style-lone-first --gap "$gap"
	proxy "proxy-gap$gap" "$FPORT"
	python3 "$ABUSE" streams --port "$PORT" --ca "$XOT_CA" --timeout 15 --lone-wait 1.5 \
		"q:lone.test/IXFR/serial=50/id=201/edns" "q:lone.test/SOA/id=202" >"$T/axs$gap.out" 2>&1
	rc=$?
	cat "$T/axs$gap.out"
	wait_until 5 grep -q 'answer conn=1 id=201 messages=4 records=302' "$T/fp-gap$gap.log" ||
		fail "gap $gap: fakeprimary did not send its whole answer: $(cat "$T/fp-gap$gap.log")"
	expect "$T/axs$gap.out" 201 rcode NOERROR "gap $gap: AXFR-style IXFR"
	expect "$T/axs$gap.out" 201 msgs 4 "gap $gap: AXFR-style IXFR (first message a lone SOA)"
	expect "$T/axs$gap.out" 201 records 302 "gap $gap: AXFR-style IXFR"
	expect "$T/axs$gap.out" 201 soas 2 "gap $gap: AXFR-style IXFR"
	expect "$T/axs$gap.out" 201 end complete "gap $gap: AXFR-style IXFR"
	expect "$T/axs$gap.out" 202 rcode NOERROR "gap $gap: SOA after it"
	[ $rc -eq 0 ] || fail "gap $gap: xotabuse streams exit $rc"
	ok "gap $gap s: the AXFR-style IXFR whose first message is a lone newer SOA was relayed whole (4 messages, 302 records, closing SOA)"
	assert_nogrep "$PROXY_LOG" 'aborted' "gap $gap: proxy log: nothing aborted"
	# PRX-03: one log line per transfer, written when it really ended.
	wait_until 5 grep -q 'zone lone\.test\., IXFR, ok, 4 messages' "$PROXY_LOG" ||
		fail "gap $gap: no 'IXFR, ok, 4 messages' log line: $(grep 'IXFR' "$PROXY_LOG")"
	n=$(grep -c 'zone lone\.test\., IXFR' "$PROXY_LOG")
	[ "$n" -eq 1 ] || fail "gap $gap: one IXFR logged as $n transfers: $(grep 'IXFR' "$PROXY_LOG" | cut -d' ' -f5- | tr '\n' '|')"
	ok "gap $gap: proxy log: one line for the IXFR ($(grep 'IXFR' "$PROXY_LOG" | cut -d' ' -f5-))"
	alive "$PROXY_PID" || fail "proxy (gap $gap) died"
done
pass
