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
#   Shutdown: a UDP poll still waiting (the primary's backend hangs) when
#   shutdown-timeout (2 s) expires after SIGTERM gets SERVFAIL (EDE 22) with
#   its ID before the proxy exits.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
PROBE=$TOOLS/idprobe.py

start_fakeprimary fp-cut cut
XOT_PRIMARY_ZONES=lone.test xot_outbound out "$FPORT"

# Each cut backs the primary off (1 s, then 2 s: issue 13 item 3), and a
# poll during the backoff is answered SERVFAIL (EDE 22) at once without
# reaching it; so each ID is polled until the primary has cut its answer
# (bounded), and every poll must get exactly one SERVFAIL with its own ID.
poll() {   # poll ID: one UDP SOA poll, checked; true once the primary cut it
	local id=$1
	python3 "$PROBE" udp --port "$O" --timeout 10 --linger 0.5 lone.test SOA/$id >"$T/u$id.out"
	cat "$T/u$id.out"
	grep -q "^msg q=$id id=$id rcode=2 an=0 soa=- ede=22 " "$T/u$id.out" ||
		fail "UDP SOA $id: no SERVFAIL (EDE 22) with its ID"
	[ "$(grep -c '^msg ' "$T/u$id.out")" = 1 ] || fail "UDP SOA $id: more than one datagram"
	grep -q "cut conn=[0-9]* id=$id " "$T/fp-cut.log"
}
for id in 1301 1302 1303; do
	n=0
	until poll "$id"; do
		n=$((n + 1))
		[ "$n" -lt 40 ] || fail "the primary never got (and cut) the query $id in 40 polls"
	done
done
ok "3 UDP polls whose answers were cut mid-frame: one SERVFAIL (EDE 22) each, with its own ID"
assert_grep "$OUT_LOG" 'SOA, failed \(primary closed\), SERVFAIL sent' "outbound log: failed (primary closed), SERVFAIL sent"
alive "$OUT_PID" || fail "outbound proxy died"

# ---------------------------------------------------------- shutdown
start_fakeprimary fp-hang hang
HPORT=$FPORT
free_ports P2 O2
proxy_ini "$T/primary2.ini" "$P2" "$HPORT"
sed -i "/^idle-timeout/a backend-timeout = 60" "$T/primary2.ini"
printf '\n[zone lone.test]\nallow = 127.0.0.0/8\n' >>"$T/primary2.ini"
start_proxy primary2 "$T/primary2.ini" "$P2"
outbound_ini "$T/out2.ini" "$O2" "127.0.0.1:$P2"
sed -i "/^\[global\]/a shutdown-timeout = 2" "$T/out2.ini"
start_outbound out2 "$T/out2.ini" "$O2"
python3 "$PROBE" udp --port "$O2" --timeout 30 --linger 0.2 lone.test SOA/1310 >"$T/u1310.out" &
PROBE_PID=$!
_BG_PIDS+=("$PROBE_PID")
wait_until 15 grep -q 'query conn=1 id=1310 ' "$T/fp-hang.log" || fail "the poll did not reach the hung backend"
t0=$(date +%s%N)
kill -TERM "$OUT_PID"
wait_pid_exit "$PROBE_PID" 20 || true
ms=$((($(date +%s%N) - t0) / 1000000))
cat "$T/u1310.out"
grep -q '^msg q=1310 id=1310 rcode=2 an=0 soa=- ede=22 ' "$T/u1310.out" ||
	fail "the UDP poll waiting at shutdown got no SERVFAIL (EDE 22) with its ID"
[ "$(grep -c '^msg ' "$T/u1310.out")" = 1 ] || fail "the UDP poll got more than one datagram"
ok "a UDP poll still waiting when shutdown-timeout (2 s) expired got its SERVFAIL (EDE 22) [$ms ms after SIGTERM]"
pass
