#!/bin/bash
# t34: the per-session cap of 8 concurrent transfers (issue 7).
#   XOT-10: one session pipelines 12 AXFRs of example.test (100k records) in
#     one write, with an SOA query after the first 10: exactly 8 AXFRs run and
#     complete (NOERROR, the full record count of a direct transfer), exactly
#     4 get SERVFAIL at once (one message, same ID, question echoed), and the
#     SOA is still forwarded and answered (NOERROR) while the cap is reached.
#   XOT-05/XOT-06/TCP-03: streams interleave only at message boundaries and
#     every message carries its own query's ID (the client matches by ID).
#   AXFR-06: the session then serves another AXFR (the slots were given back).
. "$(dirname "$0")/lib.sh"
test_init

ABUSE=$(cd "$(dirname "$0")/../tools" && pwd)/xotabuse.py
field() {   # field FILE ID KEY: KEY=value of the "stream id=ID" line in FILE
	grep -E "stream id=$2 " "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$3=//p"
}

kt "$XOT_NAMED_PORT" example.test AXFR >"$T/direct.txt" 2>&1 || fail "direct AXFR failed"
N=$(xfr_records "$T/direct.txt")
[ -n "$N" ] && [ "$N" -ge "$XOT_ZONE_BIG_N" ] || fail "direct AXFR: '$N' records"
ok "direct AXFR of example.test: $N records"

P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
start_proxy proxy "$T/xotproxy.ini" "$P"

list=
for i in $(seq 1 10); do list+="${list:+,}example.test/AXFR/id=$((800 + i))"; done
list+=",example.test/SOA/id=811"
for i in 12 13; do list+=",example.test/AXFR/id=$((800 + i))"; done
python3 "$ABUSE" streams --port "$P" --ca "$XOT_CA" --timeout 120 "q:$list" \
	"q:example.test/AXFR/id=900" >"$T/cap.out" 2>&1
rc=$?
grep -v '^[0-9.]* sent' "$T/cap.out"
grep -q 'closed how=' "$T/cap.out" && fail "the session was closed: $(grep 'closed how=' "$T/cap.out")"
grep -q 'unexpected message' "$T/cap.out" && fail "a message with an ID matching no open stream: $(grep -m1 'unexpected' "$T/cap.out")"

full=0
sfail=0
sfail_ids=
last_sf=0
for i in 1 2 3 4 5 6 7 8 9 10 12 13; do
	id=$((800 + i))
	grep -q "stream id=$id " "$T/cap.out" || fail "AXFR id $id got no answer"
	rcode=$(field "$T/cap.out" $id rcode)
	case $rcode in
	NOERROR)
		[ "$(field "$T/cap.out" $id records)" = "$N" ] && [ "$(field "$T/cap.out" $id end)" = complete ] ||
			fail "AXFR id $id: $(field "$T/cap.out" $id records) records (end $(field "$T/cap.out" $id end)), expected $N"
		full=$((full + 1))
		;;
	SERVFAIL)
		[ "$(field "$T/cap.out" $id msgs)" = 1 ] || fail "over-cap AXFR id $id: SERVFAIL in $(field "$T/cap.out" $id msgs) messages"
		[ "$(field "$T/cap.out" $id echo)" = yes ] || fail "over-cap AXFR id $id: question not echoed"
		sfail=$((sfail + 1))
		sfail_ids+=" $id"
		t=$(field "$T/cap.out" $id time)
		last_sf=$(awk -v a="$last_sf" -v b="$t" 'BEGIN { print (b > a ? b : a) }')
		;;
	*) fail "AXFR id $id: rcode $rcode" ;;
	esac
done
[ "$full" -eq 8 ] || fail "$full AXFRs completed, expected exactly 8 (the cap)"
[ "$sfail" -eq 4 ] || fail "$sfail AXFRs got SERVFAIL, expected exactly 4"
ok "12 pipelined AXFRs: 8 complete ($N records each), 4 SERVFAIL with ID and question (ids$sfail_ids)"
# "At once": every SERVFAIL came before the first of the 8 transfers ended.
first_end=$(for i in 1 2 3 4 5 6 7 8 9 10 12 13; do
	[ "$(field "$T/cap.out" $((800 + i)) rcode)" = NOERROR ] && field "$T/cap.out" $((800 + i)) time
done | sort -n | head -n 1)
awk -v s="$last_sf" -v e="$first_end" 'BEGIN { exit !(s < e && s < 2) }' ||
	fail "the over-cap SERVFAILs came late: last after $last_sf s, first transfer done after $first_end s"
ok "over-cap SERVFAILs at once: the last after $last_sf s, before the first transfer ended ($first_end s)"
[ "$(field "$T/cap.out" 811 rcode)" = NOERROR ] && [ "$(field "$T/cap.out" 811 records)" = 1 ] ||
	fail "SOA id 811 (sent after the cap was reached): rcode $(field "$T/cap.out" 811 rcode), $(field "$T/cap.out" 811 records) records"
ok "the SOA sent while 8 transfers ran was forwarded and answered (NOERROR, after $(field "$T/cap.out" 811 time) s)"
[ "$(field "$T/cap.out" 900 records)" = "$N" ] || fail "AXFR after the batch: $(field "$T/cap.out" 900 records) records"
ok "an AXFR after the batch on the same session: $N records"
[ $rc -eq 0 ] || fail "xotabuse streams exit $rc"
alive "$PROXY_PID" || fail "proxy died"
pass
