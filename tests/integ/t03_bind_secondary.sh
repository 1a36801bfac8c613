#!/bin/bash
# t03: a real BIND 9.18 secondary transfers through the proxy over XoT.
#   XOT-01 (BIND requires ALPN dot, drops the session otherwise: platform
#   notes), XOT-02 (protocols { TLSv1.3; }), XOT-04/DOT-06/DOT-07 (strict:
#   ca-file + remote-hostname xot.test), XOT-14 (the secondary needs no UDP or
#   cleartext path to the primary: the proxy has no UDP port at all), TSIG-01/TSIG-03
#   (signed.test with the key end to end), AXFR-09 (the secondary serves a
#   complete copy: compared record for record with the primary), XOT-09 (IXFR
#   after NOTIFY through the same proxy).
. "$(dirname "$0")/lib.sh"
test_init

# Fresh ports: BIND caches unreachable primaries by address and port.
P=$(free_port) || fail "no free port"
S=$(free_port) || fail "no free port"
PROXY_LOG_LEVEL=debug proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
start_proxy proxy "$T/xotproxy.ini" "$P"
# The proxy listens on TCP only: any SOA refresh must go over TLS.
if ss -Hlun "sport = :$P" | grep -q .; then fail "the proxy listens on UDP port $P"; fi

sd=$T/secondary
mkdir -p "$sd"
{
	named_options "$sd" "$S"
	cat <<EOC
include "$XOT_TSIG_FILE";
tls xot {
	ca-file "$XOT_CA";
	remote-hostname "xot.test";
	protocols { TLSv1.3; };
};
zone "example.test" {
	type secondary;
	file "example.test.sec";
	primaries { 127.0.0.1 port $P tls xot; };
	allow-transfer { any; };
};
zone "signed.test" {
	type secondary;
	file "signed.test.sec";
	primaries { 127.0.0.1 port $P key "$XOT_TSIG_NAME" tls xot; };
	allow-transfer { any; };
};
EOC
} >"$sd/named.conf"
named-checkconf "$sd/named.conf" || fail "secondary named.conf does not check"
bg_start secondary named -g -c "$sd/named.conf"
SEC_PID=$LAST_PID
SEC_LOG=$T/secondary.log

want_ex=$(soa_serial "$XOT_NAMED_PORT" example.test)
want_si=$(soa_serial "$XOT_NAMED_PORT" signed.test)
[ -n "$want_ex" ] && [ -n "$want_si" ] || fail "no serials from the primary"
sec_serial() { dig +short +time=1 +tries=1 +norec @127.0.0.1 -p "$S" "$1" SOA | awk '{ print $3 }'; }
serial_is() { [ "$(sec_serial "$1")" = "$2" ]; }
if ! wait_until 60 serial_is example.test "$want_ex"; then
	grep -E 'example\.test|TLS|ALPN|tls' "$SEC_LOG" | tail -n 15
	fail "secondary does not serve example.test serial $want_ex after 60 s (has '$(sec_serial example.test)')"
fi
ok "secondary serves example.test serial $want_ex"
if ! wait_until 60 serial_is signed.test "$want_si"; then
	grep -E 'signed\.test|TLS|ALPN|tls|TSIG' "$SEC_LOG" | tail -n 15
	fail "secondary does not serve signed.test serial $want_si after 60 s (has '$(sec_serial signed.test)')"
fi
ok "secondary serves signed.test serial $want_si"

assert_grep "$SEC_LOG" "transfer of 'example\\.test/IN' from 127\\.0\\.0\\.1#$P: Transfer status: success" \
	"secondary: example.test transfer from the proxy succeeded"
assert_grep "$SEC_LOG" "transfer of 'signed\\.test/IN' from 127\\.0\\.0\\.1#$P: Transfer status: success" \
	"secondary: signed.test transfer (TSIG) from the proxy succeeded"
assert_nogrep "$SEC_LOG" 'ALPN|TLS error|tls.*fail|bad sig|tsig verify failure|expected a TSIG' \
	"secondary logged no ALPN, TLS or TSIG failure"
wait_until 10 grep -Eq 'zone example\.test\., AXFR, ok' "$PROXY_LOG" || fail "proxy logged no example.test AXFR"
wait_until 10 grep -Eq 'zone signed\.test\., AXFR, ok' "$PROXY_LOG" || fail "proxy logged no signed.test AXFR"
ok "proxy logged both AXFRs"

# The secondary's copy is complete and identical to the primary's.
kt "$XOT_NAMED_PORT" example.test AXFR >"$T/primary.txt" || fail "AXFR from the primary failed"
kt "$S" example.test AXFR >"$T/secondary.txt" || fail "AXFR from the secondary failed"
same_records "$T/primary.txt" "$T/secondary.txt" "example.test primary vs secondary"
kt "$XOT_NAMED_PORT" -y "$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET" signed.test AXFR |
	grep -Ev $'[[:space:]]ANY[[:space:]]+TSIG[[:space:]]' >"$T/primary-signed.txt" || fail "signed AXFR from the primary failed"
kt "$S" signed.test AXFR >"$T/secondary-signed.txt" || fail "AXFR of signed.test from the secondary failed"
same_records "$T/primary-signed.txt" "$T/secondary-signed.txt" "signed.test primary vs secondary"

# IXFR: change the primary, NOTIFY the secondary; it asks SOA then IXFR over
# TLS through the proxy.
nsupdate_add "$XOT_NAMED_PORT" example.test t03-ixfr.example.test. A 192.0.2.203 >"$T/nsupdate.log" 2>&1 ||
	fail "nsupdate failed: $(cat "$T/nsupdate.log")"
wait_until 20 bash -c "[ \"\$(dig +tcp +short @127.0.0.1 -p $XOT_NAMED_PORT example.test SOA | awk '{print \$3}')\" != $want_ex ]" ||
	fail "primary serial did not change"
new=$(soa_serial "$XOT_NAMED_PORT" example.test)
kdig @127.0.0.1 -p "$S" +time=5 +retry=1 example.test "NOTIFY=$new" >"$T/notify.txt" 2>&1 || fail "NOTIFY to the secondary failed: $(cat "$T/notify.txt")"
if ! wait_until 60 serial_is example.test "$new"; then
	grep -E 'example\.test' "$SEC_LOG" | tail -n 10
	fail "secondary did not reach serial $new after NOTIFY"
fi
ok "secondary reached serial $new after NOTIFY"
wait_until 10 grep -Eq 'zone example\.test\., IXFR, ok' "$PROXY_LOG" || fail "proxy logged no example.test IXFR"
ok "the secondary's refresh used IXFR through the proxy: $(grep -E 'zone example\.test\., IXFR, ok' "$PROXY_LOG" | tail -n 1)"
# Measured with BIND 9.18.49: for a primary with a `tls` clause the secondary
# sends no separate SOA query on refresh (not over UDP, not over TLS): it goes
# straight to IXFR over TLS, whose answer carries the SOA. So it needs no UDP
# path to the primary; the proxy has no UDP port and the refresh still works.
assert_nogrep "$SEC_LOG" "refresh: .*(timed out|failure)|refresh: retry limit" "secondary logged no failed refresh"
d=$(dig +short +norec @127.0.0.1 -p "$S" t03-ixfr.example.test A)
[ "$d" = 192.0.2.203 ] || fail "secondary does not serve the new record (got '$d')"
ok "secondary serves the record added on the primary"

alive "$SEC_PID" || fail "secondary died"
alive "$PROXY_PID" || fail "proxy died"
pass
