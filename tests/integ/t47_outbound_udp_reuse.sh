#!/bin/bash
# t47: the outbound side's UDP listener and its TLS session reuse.
#   1. Reuse: ten UDP SOA polls in a row (dig +notcp) through the outbound
#      side cost one full TLS handshake and one TLS connection at the
#      primary (an inbound xotproxy at log-level debug logs each handshake,
#      ", resumed" or not, and each SOA it relays); every answer carries the
#      primary's SOA, over UDP.
#   2. Tickets: with idle-timeout 1, the idle session is closed (close_notify)
#      and the next poll resumes it (a resumed handshake at both ends).
#   3. Sizes: an AXFR over UDP gets TC=1 with header and question only, the
#      query's ID, no records. An IXFR over UDP whose answer (a 3 KB
#      difference) exceeds the requester's size (EDNS 512, or 512 without
#      EDNS) gets TC=1, header and question only; with EDNS 4096 it fits and
#      comes back whole; a current client gets the lone SOA.
#   4. Other query types (A, over UDP and TCP) are REFUSED locally with
#      EDE 21 and never reach the primary.
#   XOT-08 (reuse an open connection for SOA queries and transfers; keep
#   connections few), XOT-14/NOTIFY-03 (SOA polls over TLS), DOT-11 (TLS
#   session resumption with tickets), AXFR-11 (AXFR over UDP: TC), IXFR-03
#   (UDP IXFR relayed only when it fits the requester's size, else TC),
#   EDNS-02/EDNS-05/EDNS-06 (own answers: EDE 21 only with EDNS), XOT-10
#   (only SOA/AXFR/IXFR go to the primary).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
PLAIN=$(cd "$XOT_INTEG_DIR/../tools" && pwd)/plaindns.py

# A primary of its own: a small zone whose IXFR difference we control.
Z=udp.test
B=$(free_port) || fail "no free port"
P=$(free_port) || fail "no free port"
O=$(free_port) || fail "no free port"
pd=$T/primary
mkdir -p "$pd"
"$XOT_INTEG_DIR/gen-zone.sh" "$Z" 50 1 >"$pd/$Z.zone"
primary_named_conf "$pd" "$B" "$Z" "$Z.zone" >"$pd/named.conf"
start_named named-primary "$pd" "$B" "$Z" 60
XOT_PRIMARY_ZONES=$Z start_xot_primary primary "$P" "$B"
outbound_ini "$T/outbound.ini" "$O" "127.0.0.1:$P" idle-timeout=30
start_outbound outbound "$T/outbound.ini" "$O"
MAIN_PID=$OUT_PID
MAIN_LOG=$OUT_LOG

# udp_soa PORT OUT: one UDP SOA poll; the answer came over UDP with the
# primary's current serial.
udp_soa() {
	dig +notcp +norec +time=5 +tries=1 @127.0.0.1 -p "$1" "$Z" SOA >"$2" 2>&1 || fail "UDP SOA failed: $(cat "$2")"
	[ "$(dig_status "$2")" = NOERROR ] || fail "UDP SOA: status $(dig_status "$2")"
	grep -q "^;; SERVER: 127.0.0.1#$1(127.0.0.1) (UDP)" "$2" || fail "UDP SOA: the answer did not come over UDP"
	grep -q 'flags:.* tc' "$2" && fail "UDP SOA: TC set"
	[ "$(awk '$4 == "SOA" { print $7; exit }' "$2")" = "$(soa_serial "$B" "$Z")" ] || fail "UDP SOA: not the primary's serial"
}

GAPS=()     # deviations reported together at the end (other checks run first)

# ------------------------------------------------------------- 1. reuse
[ "$(grep -c 'TLS established' "$PRI_LOG")" = 0 ] || fail "the primary saw a handshake before the first poll"
for i in 1 2 3 4 5 6 7 8 9 10; do
	udp_soa "$O" "$T/soa-$i.txt"
done
ok "10 UDP SOA polls answered over UDP with serial $(soa_serial "$B" "$Z")"
wait_until 5 bash -c "[ \$(grep -c 'zone $Z\\., SOA, ok' '$PRI_LOG') -ge 10 ]" ||
	fail "the primary relayed $(grep -c "zone $Z\\., SOA, ok" "$PRI_LOG") SOA queries, expected 10"
full=$(full_handshakes "$PRI_LOG")
res=$(resumed_handshakes "$PRI_LOG")
conns=$(grep "zone $Z\\., SOA, ok" "$PRI_LOG" | sed 's/.*conn \([0-9]*\),.*/\1/' | sort -u | wc -l)
[ "$full" = 1 ] || { grep 'TLS established' "$PRI_LOG"; fail "10 SOA polls cost $full full handshakes (and $res resumed), expected 1"; }
[ "$res" = 0 ] || fail "10 SOA polls: $res resumed handshakes besides the full one, expected 0 (one session kept open)"
[ "$conns" = 1 ] || fail "10 SOA polls came over $conns TLS connections, expected 1"
ok "primary: 10 SOA relayed over 1 TLS connection, 1 full handshake, 0 resumed"
[ "$(grep -c 'TLS established, full handshake' "$MAIN_LOG")" = 1 ] || fail "outbound log: $(grep -c 'TLS established' "$MAIN_LOG") handshakes"
ok "outbound: 1 full handshake in its log"

# ----------------------------------------------------------- 2. tickets
O2=$(free_port) || fail "no free port"
outbound_ini "$T/outbound-idle1.ini" "$O2" "127.0.0.1:$P" idle-timeout=1
start_outbound outbound-idle1 "$T/outbound-idle1.ini" "$O2"
IDLE_LOG=$OUT_LOG
IDLE_PID=$OUT_PID
f0=$(full_handshakes "$PRI_LOG")
r0=$(resumed_handshakes "$PRI_LOG")
udp_soa "$O2" "$T/soa-idle-1.txt"
wait_until 5 grep -q 'idle session closed' "$IDLE_LOG" || { tail -n 5 "$IDLE_LOG"; fail "the idle session was not closed after idle-timeout 1"; }
wait_until 5 bash -c "grep -c 'client closed' '$PRI_LOG' | grep -qv '^0$'" || fail "the primary did not see the idle session close"
ok "idle session closed after 1 s (the primary saw it close)"
udp_soa "$O2" "$T/soa-idle-2.txt"
wait_until 5 bash -c "[ \$(grep 'TLS established' '$PRI_LOG' | grep -c ', resumed') -gt $r0 ]" ||
	{ grep 'TLS established' "$PRI_LOG" | tail -n 3; fail "the second poll after the idle close did not resume the TLS session"; }
[ "$(full_handshakes "$PRI_LOG")" = $((f0 + 1)) ] || fail "full handshakes went from $f0 to $(full_handshakes "$PRI_LOG"), expected +1"
[ "$(resumed_handshakes "$PRI_LOG")" = $((r0 + 1)) ] || fail "resumed handshakes went from $r0 to $(resumed_handshakes "$PRI_LOG"), expected +1"
grep -q 'TLS established, resumed' "$IDLE_LOG" || fail "the outbound log shows no resumed handshake"
ok "second poll resumed the session with a ticket (primary: 1 full + 1 resumed)"
stop_pid "$IDLE_PID" TERM 10

# ------------------------------------------------------------- 3. sizes
# AXFR over UDP: TC, header and question only.
python3 "$PLAIN" udp "$Z" AXFR --port "$O" --bufsize 4096 >"$T/axfr-udp.txt" || fail "UDP AXFR: $(cat "$T/axfr-udp.txt")"
grep -Eq '^rcode=0 tc=1 qd=1 an=0 ns=0 ar=[01] .* id_ok=1 question_ok=1 ' "$T/axfr-udp.txt" ||
	fail "UDP AXFR: expected TC=1 with header and question only: $(cat "$T/axfr-udp.txt")"
ok "AXFR over UDP: $(cat "$T/axfr-udp.txt")"

# A large IXFR difference: 50 TXT records of about 55 octets in one update.
s1=$(soa_serial "$B" "$Z")
{
	echo "server 127.0.0.1 $B"
	echo "zone $Z"
	for i in $(seq 1 50); do echo "update add big$i.$Z. 300 TXT \"record $i of a large IXFR difference\""; done
	echo send
} | nsupdate -v -t 10 -y "$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET" >"$T/nsupdate.log" 2>&1 || fail "nsupdate failed: $(cat "$T/nsupdate.log")"
s2=$(soa_serial "$B" "$Z")
[ "$s2" != "$s1" ] || fail "the primary's serial did not change"
# (over TCP with the same EDNS size as the UDP query below: the same query,
# so the same answer from the primary)
python3 "$PLAIN" tcp "$Z" IXFR --serial "$s1" --bufsize 4096 --port "$O" >"$T/ixfr-tcp.txt" || fail "TCP IXFR: $(cat "$T/ixfr-tcp.txt")"
grep -q '^complete messages=1 ' "$T/ixfr-tcp.txt" || fail "TCP IXFR is not one message: $(cat "$T/ixfr-tcp.txt")"
sz=$(sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' "$T/ixfr-tcp.txt")
{ [ "$((sz - 2))" -gt 1024 ] && [ "$((sz - 2))" -lt 4000 ]; } || fail "the IXFR answer is $((sz - 2)) octets, expected 1024..4000"
ok "IXFR $s1 -> $s2 over TCP through the outbound side: one message of $((sz - 2)) octets"

for b in 512 none; do
	if [ "$b" = none ]; then
		python3 "$PLAIN" udp "$Z" IXFR --serial "$s1" --port "$O" >"$T/ixfr-udp-$b.txt" || fail "UDP IXFR: $(cat "$T/ixfr-udp-$b.txt")"
	else
		python3 "$PLAIN" udp "$Z" IXFR --serial "$s1" --bufsize "$b" --port "$O" >"$T/ixfr-udp-$b.txt" || fail "UDP IXFR: $(cat "$T/ixfr-udp-$b.txt")"
	fi
	grep -Eq '^rcode=0 tc=1 qd=1 an=0 ns=0 .* id_ok=1 question_ok=1 ' "$T/ixfr-udp-$b.txt" ||
		fail "UDP IXFR (EDNS size $b) of a $((sz - 2))-octet answer: expected TC=1, header and question: $(cat "$T/ixfr-udp-$b.txt")"
	size=$(sed -n 's/.* size=\([0-9]*\) .*/\1/p' "$T/ixfr-udp-$b.txt")
	[ "$size" -le 512 ] || fail "UDP IXFR (EDNS size $b): the TC answer is $size octets"
	ok "IXFR over UDP, EDNS size $b: $(cat "$T/ixfr-udp-$b.txt")"
	# RFC 6891 §7: a response to a query with an OPT carries an OPT (the
	# proxy's own TC answer to an AXFR over UDP does; see above). Collected
	# and reported at the end.
	if [ "$b" != none ] && ! grep -q ' ar=1 ' "$T/ixfr-udp-$b.txt"; then
		GAPS+=("TC answer to a UDP IXFR with EDNS (size $b) has no OPT (ARCOUNT 0): EDNS-02, RFC 6891 §7")
	fi
	if [ "$b" = none ] && ! grep -q ' ar=0 ' "$T/ixfr-udp-$b.txt"; then
		fail "TC answer to a UDP IXFR without EDNS has additional records"
	fi
done
python3 "$PLAIN" udp "$Z" IXFR --serial "$s1" --bufsize 4096 --port "$O" >"$T/ixfr-udp-4096.txt" || fail "UDP IXFR: $(cat "$T/ixfr-udp-4096.txt")"
grep -Eq "^rcode=0 tc=0 qd=1 an=[0-9]{2,} .* size=$((sz - 2)) id_ok=1 question_ok=1 soa_serials=$s2,$s1,.*,$s2 " "$T/ixfr-udp-4096.txt" ||
	fail "UDP IXFR (EDNS 4096): expected the whole $((sz - 2))-octet answer: $(cat "$T/ixfr-udp-4096.txt")"
ok "IXFR over UDP, EDNS size 4096: relayed whole ($(cut -d' ' -f1-7 "$T/ixfr-udp-4096.txt"))"
python3 "$PLAIN" udp "$Z" IXFR --serial "$s2" --port "$O" >"$T/ixfr-udp-current.txt" || fail "UDP IXFR: $(cat "$T/ixfr-udp-current.txt")"
grep -Eq "^rcode=0 tc=0 qd=1 an=1 .* soa_serials=$s2 " "$T/ixfr-udp-current.txt" ||
	fail "UDP IXFR from the current serial: expected the lone SOA: $(cat "$T/ixfr-udp-current.txt")"
ok "IXFR over UDP from the current serial: the lone SOA"

# ------------------------------------------- 4. other types: refused here
z0=$(zone_lines "$PRI_LOG" "$Z")
python3 "$PLAIN" udp "$Z" A --port "$O" --bufsize 1232 >"$T/a-udp.txt" || fail "UDP A: $(cat "$T/a-udp.txt")"
grep -Eq '^rcode=5 tc=0 qd=1 an=0 .* id_ok=1 question_ok=1 .* ede=21$' "$T/a-udp.txt" ||
	fail "A over UDP: expected REFUSED with EDE 21: $(cat "$T/a-udp.txt")"
python3 "$PLAIN" udp "$Z" A --port "$O" >"$T/a-udp-noedns.txt" || fail "UDP A: $(cat "$T/a-udp-noedns.txt")"
grep -Eq '^rcode=5 tc=0 qd=1 an=0 ns=0 ar=0 .* ede=-$' "$T/a-udp-noedns.txt" ||
	fail "A over UDP without EDNS: expected REFUSED without OPT: $(cat "$T/a-udp-noedns.txt")"
dig +tcp +norec +time=5 +tries=1 @127.0.0.1 -p "$O" "$Z" A >"$T/a-tcp.txt" 2>&1 || fail "TCP A failed"
[ "$(dig_status "$T/a-tcp.txt")" = REFUSED ] || fail "A over TCP: $(dig_status "$T/a-tcp.txt")"
grep -Eq '^; EDE: 21( |$)' "$T/a-tcp.txt" || fail "A over TCP: no EDE 21"
ok "A over UDP and TCP: REFUSED, EDE 21 (no OPT without EDNS)"
[ "$(zone_lines "$PRI_LOG" "$Z")" = "$z0" ] || fail "the refused queries reached the primary"
ok "the refused queries never reached the primary"

alive "$MAIN_PID" || fail "outbound proxy died"
alive "$PRI_PID" || fail "primary died"
if [ ${#GAPS[@]} -gt 0 ]; then
	printf '    %s\n' "${GAPS[@]}"
	fail "${#GAPS[@]} deviation(s), listed above"
fi
pass
