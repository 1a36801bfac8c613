#!/bin/bash
# t40: the whole chain, both directions of xotproxy, with real BIND 9.18 at
# both ends:
#   named secondary (plaintext, TSIG) --TCP/UDP--> xotproxy [outbound]
#   --TLS 1.3--> xotproxy [inbound] --TCP--> named primary.
# Two proxy processes (clearer logs). The secondary loads the 100k-record
# zone through the chain; then a change on the primary, its NOTIFY, the
# secondary's UDP SOA poll and its IXFR all go through the outbound side.
#   XOT-14/NOTIFY-03 (the secondary's SOA poll goes over TLS; the outbound
#   answers it over UDP), XOT-04 (strict: CA + auth-name xot.test),
#   XOT-01/XOT-02 (the inbound side accepts only TLS 1.3 + ALPN dot, so the
#   outbound offered both), XOT-09 (IXFR after NOTIFY), NOTIFY-02 (allow-notify
#   for the primary's address), TSIG-01/TSIG-03 (signed AXFR/IXFR relayed byte
#   for byte over two hops: BIND verifies every message), AXFR-09/IXFR-04
#   (the secondary's copy equals the primary's, record for record),
#   IXFR-01 (the IXFR query and its SOA authority relayed).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

Z=example.test
# Fresh ports: BIND caches unreachable primaries by address and port.
B=$(free_port) || fail "no free port"    # named primary, plaintext
P=$(free_port) || fail "no free port"    # inbound proxy, XoT
O=$(free_port) || fail "no free port"    # outbound proxy, plaintext TCP+UDP
S=$(free_port) || fail "no free port"    # named secondary

# The primary: its own copy of the 100k-record zone (the shared named has
# notify off), NOTIFY to the secondary's port.
pd=$T/primary
mkdir -p "$pd"
cp "$XOT_ZONE_BIG" "$pd/$Z.zone"
primary_named_conf "$pd" "$B" "$Z" "$Z.zone" "$S" >"$pd/named.conf"
start_named primary "$pd" "$B" "$Z" 90

start_xot_primary inbound "$P" "$B"
outbound_ini "$T/outbound.ini" "$O" "127.0.0.1:$P"
start_outbound outbound "$T/outbound.ini" "$O"

sd=$T/secondary
mkdir -p "$sd"
named_secondary_conf "$sd" "$S" "$Z" "$O" key >"$sd/named.conf"
start_secondary named secondary "$sd"

want=$(soa_serial "$B" "$Z")
[ -n "$want" ] || fail "no serial from the primary"
if ! wait_until 90 sec_serial_is "$S" "$Z" "$want"; then
	grep -E "$Z|xfer|transfer" "$SEC_LOG" | tail -n 15
	tail -n 10 "$OUT_LOG"
	fail "secondary does not serve $Z serial $want after 90 s (has '$(sec_serial "$S" "$Z")')"
fi
ok "secondary serves $Z serial $want, loaded through outbound -> inbound"
assert_grep "$SEC_LOG" "transfer of '$Z/IN' from 127\\.0\\.0\\.1#$O: Transfer status: success" \
	"secondary: transfer from the outbound listener succeeded"
assert_grep "$SEC_LOG" "transfer of '$Z/IN' from 127\\.0\\.0\\.1#$O: connected using .* TSIG $XOT_TSIG_NAME" \
	"secondary: the transfer was TSIG-signed"
assert_nogrep "$SEC_LOG" 'bad sig|tsig verify failure|expected a TSIG|unexpected error' \
	"secondary logged no TSIG failure"
wait_until 10 grep -Eq "zone $Z\\., AXFR, ok" "$PRI_LOG" || fail "inbound proxy logged no $Z AXFR"
ok "inbound: $(grep -E "zone $Z\\., AXFR, ok" "$PRI_LOG" | tail -n 1 | cut -d' ' -f3-)"
wait_until 10 grep -Eq "zone $Z\\.?, AXFR, ok" "$OUT_LOG" || { tail -n 10 "$OUT_LOG"; fail "outbound proxy logged no $Z AXFR"; }
ok "outbound: $(grep -E "zone $Z\\.?, AXFR, ok" "$OUT_LOG" | tail -n 1 | cut -d' ' -f3-)"

# The copy is complete: same count and same records as the primary's.
kt "$B" "$Z" AXFR >"$T/primary-v1.txt" 2>&1 || fail "AXFR from the primary failed"
kt "$S" "$Z" AXFR >"$T/secondary-v1.txt" 2>&1 || fail "AXFR from the secondary failed"
n_p=$(xfr_records "$T/primary-v1.txt")
n_s=$(xfr_records "$T/secondary-v1.txt")
[ "$n_p" = $((XOT_ZONE_BIG_N + 1)) ] || fail "primary AXFR: $n_p records, expected $((XOT_ZONE_BIG_N + 1))"
[ "$n_s" = "$n_p" ] || fail "secondary AXFR: $n_s records, primary $n_p"
ok "record counts equal ($n_s)"
same_records "$T/primary-v1.txt" "$T/secondary-v1.txt" "$Z primary vs secondary (serial $want)"

# --- a change on the primary: nsupdate bumps the serial and journals it; the
# primary NOTIFYs the secondary, which polls SOA over UDP through the outbound
# side and asks for an IXFR.
soa_before=$(grep -c "zone $Z\\., SOA, ok" "$PRI_LOG")
out_soa_before=$(grep -c "zone $Z\\.\\?, SOA, ok" "$OUT_LOG")
nsupdate_add "$B" "$Z" t40-ixfr.$Z. A 192.0.2.40 >"$T/nsupdate.log" 2>&1 ||
	fail "nsupdate failed: $(cat "$T/nsupdate.log")"
new=$(soa_serial "$B" "$Z")
{ [ -n "$new" ] && [ "$new" != "$want" ]; } || fail "primary serial did not change ($want -> '$new')"
ok "primary now at serial $new"
if ! wait_until 60 sec_serial_is "$S" "$Z" "$new"; then
	grep -E "$Z|notify" "$SEC_LOG" | tail -n 15
	tail -n 10 "$OUT_LOG"
	fail "secondary did not reach serial $new after the NOTIFY"
fi
ok "secondary reached serial $new"
assert_grep "$SEC_LOG" "notify from 127\\.0\\.0\\.1#[0-9]+: serial $new" "secondary accepted the primary's NOTIFY (allow-notify)"
n_ok=$(grep -c "transfer of '$Z/IN' from 127\\.0\\.0\\.1#$O: Transfer status: success" "$SEC_LOG")
[ "$n_ok" -ge 2 ] || fail "secondary logged $n_ok successful transfers, expected 2"
wait_until 10 grep -Eq "zone $Z\\., IXFR, ok" "$PRI_LOG" || { tail -n 5 "$PRI_LOG"; fail "inbound proxy logged no $Z IXFR"; }
ok "inbound: $(grep -E "zone $Z\\., IXFR, ok" "$PRI_LOG" | tail -n 1 | cut -d' ' -f3-)"
wait_until 10 grep -Eq "zone $Z\\.?, IXFR, ok" "$OUT_LOG" || { tail -n 10 "$OUT_LOG"; fail "outbound proxy logged no $Z IXFR"; }
ok "outbound: $(grep -E "zone $Z\\.?, IXFR, ok" "$OUT_LOG" | tail -n 1 | cut -d' ' -f3-)"
assert_nogrep "$OUT_LOG" "zone $Z\\.?, IXFR, (aborted|refused|failed)" "outbound logged no failed IXFR"
# The refresh's SOA poll reached the primary over TLS (XOT-14): the inbound
# proxy logs each SOA it relays at debug.
soa_after=$(grep -c "zone $Z\\., SOA, ok" "$PRI_LOG")
[ "$soa_after" -gt "$soa_before" ] || fail "no SOA query reached the inbound proxy after the NOTIFY ($soa_before before, $soa_after after)"
ok "the secondary's SOA poll went over TLS ($((soa_after - soa_before)) SOA relayed by the inbound side)"
# ... and it came in through the outbound listener (named polls a plaintext
# primary over UDP, platform notes; the outbound log does not name the
# transport, t47 covers UDP explicitly).
out_soa_after=$(grep -c "zone $Z\\.\\?, SOA, ok" "$OUT_LOG")
[ "$out_soa_after" -gt "$out_soa_before" ] || fail "the outbound proxy relayed no SOA after the NOTIFY"
ok "outbound relayed $((out_soa_after - out_soa_before)) SOA poll(s) after the NOTIFY"
assert_nogrep "$SEC_LOG" "refresh: .*(timed out|failure)|refresh: retry limit|: failed while receiving" "secondary logged no failed refresh"

d=$(dig +short +norec @127.0.0.1 -p "$S" t40-ixfr.$Z A)
[ "$d" = 192.0.2.40 ] || fail "secondary does not serve the new record (got '$d')"
ok "secondary serves the record added on the primary"
kt "$B" "$Z" AXFR >"$T/primary-v2.txt" 2>&1 || fail "AXFR from the primary failed"
kt "$S" "$Z" AXFR >"$T/secondary-v2.txt" 2>&1 || fail "AXFR from the secondary failed"
same_records "$T/primary-v2.txt" "$T/secondary-v2.txt" "$Z primary vs secondary (serial $new)"

alive "$SEC_PID" || fail "secondary died"
alive "$OUT_PID" || fail "outbound proxy died"
alive "$PRI_PID" || fail "inbound proxy died"
stop_pid "$OUT_PID" TERM 15 || fail "outbound proxy exited with status $? on SIGTERM"
pass
