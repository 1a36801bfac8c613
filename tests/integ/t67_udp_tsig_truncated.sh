#!/bin/bash
# t67: TSIG-signed SOA polls over UDP whose answer is too large for UDP
# (issue 13, A11). The zone has 30 long-named NS records with glue, so the
# primary's signed SOA answer (authority and additional included) is about
# 2.4 KB: over the secondaries' UDP size. The outbound side answers such a
# poll with TC=1, header and question only, signed with the [key] of that
# name it is given. The secondaries must then retry over TCP (or go
# straight to a transfer over TCP) and end up with the zone.
#   1. BIND 9.18 (named) secondary with the TSIG key: ends up with the
#      primary's serial, and again after an update (refresh by SOA poll).
#   2. NSD 4.6 secondary with the TSIG key: the same.
#   (NSD is told "request-xfr: UDP": by default it sends no UDP query.)
#   The outbound log shows the signed TC answers; named logs "refresh:
#   truncated UDP answer, initiating TCP zone xfer"; neither logs a TSIG error.
# The proxy signs its own TC answers with the [key] of that name (RFC 8945
# §5.3). Without the [key] (seen on this machine): named logs "refresh:
# failure trying primary ...: expected a TSIG or SIG(0)" and never loads the
# zone; NSD (UDP mode) logs "xfrd: zone tc11.test, from 127.0.0.1@PORT: no
# tsig in first packet of reply" and "bad transfer", and stays on serial 1.
# XOT-14/NOTIFY-03 (SOA polls over UDP), TSIG-01 (TSIG relayed untouched).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
TOOLS=$(cd "$XOT_INTEG_DIR/../tools" && pwd)
FAULT=$TOOLS/udpfault.py
Z=tc11.test

B=$(free_port) || fail "no free port"
P=$(free_port) || fail "no free port"
O=$(free_port) || fail "no free port"
pd=$T/primary
mkdir -p "$pd"
long=a-rather-long-name-server-label-to-make-a-large-answer
{
	echo "\$TTL 300"
	echo "@ IN SOA ns01-$long.$Z. hostmaster.$Z. 1 3600 600 86400 300"
	for i in $(seq -w 1 30); do echo "@ IN NS ns$i-$long.$Z."; done
	for i in $(seq -w 1 30); do echo "ns$i-$long IN A 192.0.2.$((10#$i))"; done
	echo "www IN A 192.0.2.100"
} >"$pd/$Z.zone"
primary_named_conf "$pd" "$B" "$Z" "$Z.zone" >"$pd/named.conf"
start_named named-primary "$pd" "$B" "$Z" 60
XOT_PRIMARY_ZONES=$Z start_xot_primary primary "$P" "$B"
outbound_ini "$T/outbound.ini" "$O" "127.0.0.1:$P"
# The key, so the proxy can sign its own TC answers (RFC 8945 §5.3):
# without it BIND 9.18 rejects them ("expected a TSIG or SIG(0)").
printf '\n[key %s]\nalgorithm = %s\nsecret = %s\n' "$XOT_TSIG_NAME" "$XOT_TSIG_ALG" "$XOT_TSIG_SECRET" >>"$T/outbound.ini"
start_outbound outbound "$T/outbound.ini" "$O"

# The signed SOA answer over TCP is too large for UDP; over UDP it is TC.
dig +tcp +norec +time=5 +tries=1 -y "$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET" @127.0.0.1 -p "$O" "$Z" SOA >"$T/soa-tcp.txt" 2>&1 ||
	fail "signed TCP SOA through the outbound side failed: $(tail -n 3 "$T/soa-tcp.txt")"
size=$(sed -n 's/^;; MSG SIZE  rcvd: \([0-9]*\)$/\1/p' "$T/soa-tcp.txt")
[ -n "$size" ] && [ "$size" -gt 1232 ] || fail "the signed SOA answer is $size octets, expected over 1232"
grep -q 'tsig verify failure\|TSIG.*error' "$T/soa-tcp.txt" && fail "TCP SOA: TSIG did not verify"
python3 "$FAULT" ask --port "$O" --zone "$Z" --type SOA --bufsize 1232 >"$T/soa-udp.out" 2>&1 || fail "udpfault ask: $(cat "$T/soa-udp.out")"
grep -Eq '^dgram src=127.0.0.1 id_ok=1 rcode=0 tc=1 an=0 ' "$T/soa-udp.out" || fail "UDP SOA of $size octets: expected TC: $(cat "$T/soa-udp.out")"
ok "signed SOA answer: $size octets over TCP, TC over UDP"

want=$(soa_serial "$B" "$Z")
S1=$(free_port) || fail "no free port"
S2=$(free_port) || fail "no free port"
mkdir -p "$T/named-sec" "$T/nsd-sec"
named_secondary_conf "$T/named-sec" "$S1" "$Z" "$O" key >"$T/named-sec/named.conf"
start_secondary named named-secondary "$T/named-sec"
NAMED_LOG=$SEC_LOG
NAMED_PID=$SEC_PID
nsd_secondary_conf "$T/nsd-sec" "$S2" "$O" "$Z:key" >"$T/nsd-sec/nsd.conf"
# UDP: NSD asks IXFR over UDP first (by default it uses TCP only)
sed -i "s/request-xfr: 127/request-xfr: UDP 127/" "$T/nsd-sec/nsd.conf"
start_secondary nsd nsd-secondary "$T/nsd-sec"
NSD_PID=$SEC_PID
NSD_LOG=$SEC_LOG

check() {   # check KIND PORT SERIAL LOG DIR
	if ! wait_until 60 sec_serial_is "$2" "$Z" "$3"; then
		sec_logs "$4" "$5" | grep -i "$Z" | tail -n 15
		fail "$1 secondary does not serve $Z serial $3 after 60 s (has '$(sec_serial "$2" "$Z")')"
	fi
	ok "$1 secondary serves $Z serial $3"
}
check named "$S1" "$want" "$NAMED_LOG" "$T/named-sec"
check nsd "$S2" "$want" "$NSD_LOG" "$T/nsd-sec"

# A change: the secondaries learn it by their SOA poll (NOTIFY without a
# serial makes them poll now), answered TC over UDP.
nsupdate_out=$T/nsupdate.log
{
	printf 'server 127.0.0.1 %s\nzone %s\n' "$B" "$Z"
	for i in $(seq 1 40); do printf 'update add new%s.%s. 300 TXT "an IXFR difference too large for one UDP answer"\n' "$i" "$Z"; done
	printf 'send\n'
} | nsupdate -t 10 -y "$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET" >"$nsupdate_out" 2>&1 || fail "nsupdate: $(cat "$nsupdate_out")"
want2=$(soa_serial "$B" "$Z")
[ "$want2" != "$want" ] || fail "the serial did not change"
n0=$(grep -c "zone $Z\\., SOA" "$OUT_LOG")
for s in "$S1" "$S2"; do
	kdig @127.0.0.1 -p "$s" +time=5 +retry=1 "$Z" NOTIFY >"$T/notify-$s.txt" 2>&1 || fail "NOTIFY to port $s failed"
done
check named "$S1" "$want2" "$NAMED_LOG" "$T/named-sec"
check nsd "$S2" "$want2" "$NSD_LOG" "$T/nsd-sec"
n1=$(grep -c "zone $Z\\., SOA" "$OUT_LOG")
ok "outbound relayed $((n1 - n0)) SOA queries for $Z after the NOTIFY"

# The TC path really ran, signed, and both secondaries took it.
ntc=$(grep -c "TC sent with TSIG" "$OUT_LOG")
[ "$ntc" -ge 2 ] || { grep "TC sent" "$OUT_LOG"; fail "outbound logged $ntc signed TC answers, expected at least 2 (named's SOA, NSD's IXFR)"; }
nu=$(grep "TC sent" "$OUT_LOG" | grep -vc "with TSIG")
[ "$nu" = 1 ] || { grep "TC sent" "$OUT_LOG"; fail "$nu unsigned TC answers; expected 1 (the unsigned probe above)"; }
grep -q "refresh: truncated UDP answer, initiating TCP zone xfer" "$NAMED_LOG" ||
	fail "named never saw a TC answer: $(grep "$Z" "$NAMED_LOG" | tail -n 5)"
assert_nogrep "$NAMED_LOG" "expected a TSIG|tsig verify failure" "named accepted every answer's TSIG"
sec_logs "$NSD_LOG" "$T/nsd-sec" >"$T/nsd-all.log"
assert_nogrep "$T/nsd-all.log" "no tsig|bad transfer|TSIG.*fail" "NSD accepted every answer's TSIG"
ok "signed TC answers: $ntc; named: $(grep -m1 -o 'refresh: truncated UDP answer, initiating TCP zone xfer' "$NAMED_LOG"); NSD: no TSIG error"
alive "$NAMED_PID" || fail "named secondary died"
alive "$NSD_PID" || fail "nsd secondary died"
alive "$OUT_PID" || fail "outbound died"
pass
