#!/bin/bash
# t79: every UDP query to the outbound side gets exactly one answer with its
# own ID (issue 13, A6 and A7).
#   1. A6: an IXFR over UDP whose answer from a real primary (named, through
#      an inbound xotproxy) spans several messages gets TC=1 with header and
#      question only, even when the requester's EDNS size (65535) would hold
#      the first message: that message alone is not the answer. An SOA and a
#      one-message IXFR still come back whole (TC=0).
#   2. A7: a primary that closes mid-message (tests/tools/udpfault.py, mode
#      cut) -> one SERVFAIL with the query's ID (EDE 22 "no reachable primary" with EDNS, as the relay answers any primary failure before an answer reached the client, no OPT
#      without), and no second datagram.
#   3. A7: SIGTERM with shutdown-timeout = 1 while a UDP query waits on a
#      primary that never answers (mode hang) -> the SERVFAIL arrives (from
#      the proxy, so before it exited) and the proxy exits.
#   4. The same on a wildcard listener (asked at 127.0.0.2) that a reload
#      moved to another port while the query waited: the retired socket
#      stays open for it, and the SERVFAIL leaves from 127.0.0.2.
# IXFR-03 (UDP IXFR relayed only when whole and within the requester's size),
# XOT-14/NOTIFY-03 (SOA polls over UDP), EDNS-02 (OPT only when the query had one).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
FAULT=$TOOLS/udpfault.py

# ask NAME PORT ZONE TYPE [ARGS]: one UDP query through udpfault ask; the
# datagrams it saw in $T/NAME.out.
ask() {
	local name=$1 port=$2 zone=$3 type=$4
	shift 4
	python3 "$FAULT" ask --port "$port" --zone "$zone" --type "$type" "$@" >"$T/$name.out" 2>&1 ||
		fail "$name: udpfault ask failed: $(cat "$T/$name.out")"
}

# ------------------------------------- 1. a multi-message IXFR over UDP: TC
Z=udpixfr.test
free_ports B
pd=$T/primary
mkdir -p "$pd"
"$XOT_INTEG_DIR/gen-zone.sh" "$Z" 50 1 >"$pd/$Z.zone"
primary_named_conf "$pd" "$B" "$Z" "$Z.zone" >"$pd/named.conf"
start_named named-primary "$pd" "$B" "$Z" 60
XOT_PRIMARY_ZONES=$Z xot_outbound outbound "$B"

s1=$(soa_serial "$B" "$Z")
{
	echo "server 127.0.0.1 $B"
	echo "zone $Z"
	for i in $(seq 1 800); do echo "update add big$i.$Z. 300 TXT \"record $i of an IXFR difference of several messages\""; done
	echo send
} | nsupdate -v -t 20 -y "$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET" >"$T/nsupdate.log" 2>&1 || fail "nsupdate failed: $(cat "$T/nsupdate.log")"
s2=$(soa_serial "$B" "$Z")
[ "$s2" != "$s1" ] || fail "the primary's serial did not change"
kt "$O" "$Z" IXFR="$s1" >"$T/ixfr-tcp.txt" 2>&1 || fail "TCP IXFR: $(tail -n 3 "$T/ixfr-tcp.txt")"
msgs=$(xfr_messages "$T/ixfr-tcp.txt")
[ -n "$msgs" ] && [ "$msgs" -ge 2 ] || fail "the IXFR $s1 -> $s2 is not several messages over TCP: $(tail -n 3 "$T/ixfr-tcp.txt")"
[ "$(xfr_records "$T/ixfr-tcp.txt")" -gt 800 ] || fail "the IXFR over TCP holds $(xfr_records "$T/ixfr-tcp.txt") records"
ok "IXFR $s1 -> $s2 over TCP through the outbound side: $msgs messages"

for b in 65535 1232 0; do
	ask "ixfr-udp-$b" "$O" "$Z" IXFR --serial "$s1" --bufsize "$b"
	grep -Eq '^dgram src=127.0.0.1 id_ok=1 rcode=0 tc=1 an=0 ' "$T/ixfr-udp-$b.out" ||
		fail "UDP IXFR (EDNS $b) of a $msgs-message answer: expected TC=1 and no records: $(cat "$T/ixfr-udp-$b.out")"
	grep -q '^count=1$' "$T/ixfr-udp-$b.out" || fail "UDP IXFR (EDNS $b): $(grep -c '^dgram' "$T/ixfr-udp-$b.out") datagrams"
	ok "UDP IXFR, EDNS size $b: one datagram, TC=1 ($(head -n 1 "$T/ixfr-udp-$b.out"))"
done
ask ixfr-udp-current "$O" "$Z" IXFR --serial "$s2" --bufsize 1232
grep -Eq '^dgram src=127.0.0.1 id_ok=1 rcode=0 tc=0 an=1 ' "$T/ixfr-udp-current.out" ||
	fail "UDP IXFR from the current serial: expected the lone SOA whole: $(cat "$T/ixfr-udp-current.out")"
ask soa-udp "$O" "$Z" SOA --bufsize 1232
grep -Eq '^dgram src=127.0.0.1 id_ok=1 rcode=0 tc=0 an=1 ' "$T/soa-udp.out" || fail "UDP SOA: $(cat "$T/soa-udp.out")"
ok "UDP SOA and an up-to-date IXFR (lone SOA) still come back whole, TC=0"

# ---------------------------- 2. the primary closes mid-message: SERVFAIL
free_ports C OC
bg_start cut-primary python3 "$FAULT" primary --port "$C" --cert "$XOT_CERT" --key "$XOT_KEY" --mode cut --status "$T/cut.status"
wait_until 10 test -e "$T/cut.status" || fail "udpfault primary (cut) not listening"
outbound_ini "$T/outbound-cut.ini" "$OC" "127.0.0.1:$C"
start_outbound outbound-cut "$T/outbound-cut.ini" "$OC"
CUT_LOG=$OUT_LOG
ask cut-edns "$OC" cut.test SOA --bufsize 1232 --id 4660
grep -Eq '^dgram src=127.0.0.1 id_ok=1 rcode=2 tc=0 an=0 size=[0-9]+ ede=22$' "$T/cut-edns.out" ||
	fail "primary cut mid-message: expected SERVFAIL with EDE 22: $(cat "$T/cut-edns.out")"
grep -q '^count=1$' "$T/cut-edns.out" || fail "primary cut mid-message: $(grep -c '^dgram' "$T/cut-edns.out") datagrams, expected 1"
grep -q '^cut id=4660$' "$T/cut-primary.log" || fail "the query never reached the cut primary: $(cat "$T/cut-primary.log")"
ok "primary cut mid-message: one SERVFAIL, EDE 22, the query's ID"
ask cut-plain "$OC" cut.test IXFR --serial 1 --id 4661
grep -Eq '^dgram src=127.0.0.1 id_ok=1 rcode=2 tc=0 an=0 size=[0-9]+ ede=-$' "$T/cut-plain.out" ||
	fail "primary cut mid-message (no EDNS): expected SERVFAIL without OPT: $(cat "$T/cut-plain.out")"
grep -q '^count=1$' "$T/cut-plain.out" || fail "primary cut (no EDNS): $(grep -c '^dgram' "$T/cut-plain.out") datagrams"
ok "primary cut mid-message, IXFR without EDNS: one SERVFAIL, no OPT"
alive "$OUT_PID" || fail "outbound (cut) died"

# -------------------------- 3. shutdown deadline with a query in flight
free_ports H OH
bg_start hang-primary python3 "$FAULT" primary --port "$H" --cert "$XOT_CERT" --key "$XOT_KEY" --mode hang --status "$T/hang.status"
wait_until 10 test -e "$T/hang.status" || fail "udpfault primary (hang) not listening"
outbound_ini "$T/outbound-hang.ini" "$OH" "127.0.0.1:$H"
sed -i 's/^log-level = .*/&\nshutdown-timeout = 1/' "$T/outbound-hang.ini"
start_outbound outbound-hang "$T/outbound-hang.ini" "$OH"
HANG_PID=$OUT_PID
python3 "$FAULT" ask --port "$OH" --zone hang.test --type SOA --bufsize 1232 --id 4662 --timeout 30 >"$T/hang.out" 2>&1 &
ASK_PID=$!
wait_until 10 grep -q '^query id=4662$' "$T/hang-primary.log" || fail "the query never reached the hanging primary"
t0=$(date +%s%N)
kill -TERM "$HANG_PID"
wait "$ASK_PID" || fail "udpfault ask failed: $(cat "$T/hang.out")"
t1=$(date +%s%N)
grep -Eq '^dgram src=127.0.0.1 id_ok=1 rcode=2 tc=0 an=0 size=[0-9]+ ede=22$' "$T/hang.out" ||
	fail "shutdown with a UDP query waiting: expected one SERVFAIL (EDE 22): $(cat "$T/hang.out")"
grep -q '^count=1$' "$T/hang.out" || fail "shutdown: $(grep -c '^dgram' "$T/hang.out") datagrams"
wait_pid_exit "$HANG_PID" 15 || fail "the outbound proxy did not exit within 15 s of SIGTERM"
ok "SIGTERM, shutdown-timeout 1: the waiting UDP query got SERVFAIL (EDE 22) and the proxy exited ($(( (t1 - t0) / 1000000 )) ms to the answer, 1 s of linger included)"

# ------- 4. the same after a reload removed the listener (wildcard address)
# The query came in on 0.0.0.0:OW via 127.0.0.2; a reload moves the listener
# to another port, so the old socket is retired but kept for the query in
# flight; SIGTERM then: the SERVFAIL still leaves from 127.0.0.2.
free_ports OW OW2
outbound_ini "$T/outbound-reload.ini" "$OW" "127.0.0.1:$H"
sed -i "s/^log-level = .*/&\nshutdown-timeout = 1/; s/^listen = .*/listen = 0.0.0.0:$OW/" "$T/outbound-reload.ini"
start_outbound outbound-reload "$T/outbound-reload.ini" "$OW"
RL_PID=$OUT_PID
python3 "$FAULT" ask --addr 127.0.0.2 --port "$OW" --zone hang.test --type SOA --bufsize 1232 --id 4663 --timeout 30 >"$T/reload.out" 2>&1 &
ASK_PID=$!
wait_until 10 grep -q '^query id=4663$' "$T/hang-primary.log" || fail "the query never reached the hanging primary"
sed -i "s/^listen = .*/listen = 0.0.0.0:$OW2/" "$T/outbound-reload.ini"
kill -HUP "$RL_PID"
wait_until 10 grep -q "listening on 0.0.0.0#$OW2 (UDP)" "$OUT_LOG" || fail "the reload did not move the listener: $(tail -n 3 "$OUT_LOG")"
udp_bound "$OW" || fail "the old UDP socket was closed with a query in flight through it"
kill -TERM "$RL_PID"
wait "$ASK_PID" || fail "udpfault ask failed: $(cat "$T/reload.out")"
grep -Eq '^dgram src=127.0.0.2 id_ok=1 rcode=2 tc=0 an=0 size=[0-9]+ ede=22$' "$T/reload.out" ||
	fail "reload, then shutdown: expected one SERVFAIL from 127.0.0.2: $(cat "$T/reload.out")"
grep -q '^count=1$' "$T/reload.out" || fail "reload, then shutdown: $(grep -c '^dgram' "$T/reload.out") datagrams"
wait_pid_exit "$RL_PID" 15 || fail "the outbound proxy did not exit within 15 s of SIGTERM"
ok "listener moved by a reload, then SIGTERM: one SERVFAIL from 127.0.0.2 through the retired socket"

alive "$PRI_PID" || fail "inbound primary died"
pass
