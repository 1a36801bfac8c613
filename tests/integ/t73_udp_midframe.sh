#!/bin/bash
# t73: every UDP query gets one answer with its own ID (issue 13, item 7;
# TCP-01, XoT error table).
#   Chain: UDP poll --> xotproxy [outbound] --TLS--> xotproxy [inbound] -->
#   fakeprimary cut (sends the first half of the SOA answer frame, then
#   closes). The inbound side relays that half and aborts; the outbound
#   session thus breaks in the middle of the answer frame. A UDP requester
#   never saw any of it (it takes whole messages), so it gets SERVFAIL with
#   EDE 22 and its own ID, within the bound below, and nothing else. Three
#   polls in a row, each on a fresh session.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
TOOLS=$(cd "$XOT_INTEG_DIR/../tools" && pwd)
PROBE=$TOOLS/idprobe.py

FPORT=$(free_port) || fail "no free port"
bg_start fp-cut python3 "$TOOLS/fakeprimary.py" --port "$FPORT" --mode cut --status "$T/fp.status"
wait_until 10 test -e "$T/fp.status" || fail "fakeprimary not listening"
P=$(free_port) && O=$(free_port) || fail "no free port"
XOT_PRIMARY_ZONES=lone.test start_xot_primary primary "$P" "$FPORT"
outbound_ini "$T/out.ini" "$O" "127.0.0.1:$P"
start_outbound out "$T/out.ini" "$O"

for id in 1301 1302 1303; do
	python3 "$PROBE" udp --port "$O" --timeout 10 --linger 0.5 lone.test SOA/$id >"$T/u$id.out"
	cat "$T/u$id.out"
	grep -q "^msg q=$id id=$id rcode=2 an=0 soa=- ede=22 " "$T/u$id.out" ||
		fail "UDP SOA $id: no SERVFAIL (EDE 22) with its ID after the primary cut the answer"
	[ "$(grep -c '^msg ' "$T/u$id.out")" = 1 ] || fail "UDP SOA $id: more than one datagram"
	grep -q "cut conn=[0-9]* id=$id " "$T/fp-cut.log" || fail "the primary did not cut the answer to $id"
done
ok "3 UDP polls whose answers were cut mid-frame: one SERVFAIL (EDE 22) each, with its own ID"
assert_grep "$OUT_LOG" 'SOA, failed \(primary closed\), SERVFAIL sent' "outbound log: failed (primary closed), SERVFAIL sent"
alive "$OUT_PID" || fail "outbound proxy died"
pass
