#!/bin/bash
# t21: the legacy primary dies (kill -9) while a real BIND 9.18 secondary is
# transferring a new version of the zone through the proxy. The secondary
# must log a failed transfer and keep serving the old serial, complete; once
# a primary is back, the next transfer through the same proxy succeeds.
#   AXFR-09 / ROB-04 (never a complete-looking
#   transfer: no synthesized closing SOA; the secondary keeps its old zone,
#   RFC 5936 §6), DOT-13 (EOF without close_notify mid-transfer is a
#   failure), AXFR-05, PRX-03 (logged as aborted), XOT-01/XOT-04 (BIND
#   secondary, ALPN dot, strict ca-file + remote-hostname).
# t07 covers the same fault seen by kdig; this one is about what a real
# secondary does with it.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_abuse.sh"
test_init

Z=kill.test
N1=2000
N2=${XOT_KILL2_N:-400000}
# Fresh ports: BIND caches unreachable primaries by address and port.
B=$(free_port) || fail "no free port"
P=$(free_port) || fail "no free port"
S=$(free_port) || fail "no free port"

nd=$T/primary
mkdir -p "$nd"
primary_conf() {
	named_options "$nd" "$B"
	echo "zone \"$Z\" { type primary; file \"$Z.zone\"; allow-transfer { any; }; };"
}
primary_conf >"$nd/named.conf"
"$XOT_INTEG_DIR/gen-zone.sh" "$Z" "$N1" 1 >"$nd/$Z.zone"
start_named primary "$nd" "$B" "$Z" 60
PRI_PID=$LAST_PID

proxy_ini "$T/xotproxy.ini" "$P" "$B"
cat >>"$T/xotproxy.ini" <<EOF

[zone $Z]
allow = 127.0.0.0/8
EOF
start_proxy proxy "$T/xotproxy.ini" "$P"

sd=$T/secondary
mkdir -p "$sd"
{
	named_options "$sd" "$S"
	cat <<EOC
tls xot {
	ca-file "$XOT_CA";
	remote-hostname "xot.test";
	protocols { TLSv1.3; };
};
zone "$Z" {
	type secondary;
	file "$Z.sec";
	primaries { 127.0.0.1 port $P tls xot; };
	allow-transfer { any; };
	// After a failed transfer BIND queues NOTIFYs until its retry timer
	// (default min-retry-time 500 s): keep that short for the recovery step.
	min-retry-time 1;
	max-retry-time 2;
};
EOC
} >"$sd/named.conf"
named-checkconf "$sd/named.conf" || fail "secondary named.conf does not check"
bg_start secondary named -g -c "$sd/named.conf"
SEC_PID=$LAST_PID
SEC_LOG=$T/secondary.log
sec_serial() { dig +short +time=1 +tries=1 +norec @127.0.0.1 -p "$S" "$Z" SOA | awk '{ print $3 }'; }
serial_is() { [ "$(sec_serial)" = "$1" ]; }
wait_until 60 serial_is 1 || { tail -n 20 "$SEC_LOG"; fail "secondary does not serve $Z serial 1 (has '$(sec_serial)')"; }
kt "$S" "$Z" AXFR >"$T/sec-v1.txt" || fail "AXFR from the secondary failed"
kt "$B" "$Z" AXFR >"$T/pri-v1.txt" || fail "AXFR from the primary failed"
same_records "$T/pri-v1.txt" "$T/sec-v1.txt" "secondary's copy of serial 1"

# --- serial 2: a fresh large version. Restart the primary with it.
stop_pid "$PRI_PID" TERM 20 || fail "primary did not stop"
"$XOT_INTEG_DIR/gen-zone.sh" "$Z" "$N2" 2 >"$nd/$Z.zone"
start_named primary2 "$nd" "$B" "$Z" 90
PRI_PID=$LAST_PID
PRI_LOG=$T/primary2.log
[ "$(soa_serial "$B" "$Z")" = 2 ] || fail "primary does not serve serial 2"
rss0=$(vm "$PROXY_PID" VmRSS)
mem_reset_peak "$PROXY_PID"

# NOTIFY: the secondary asks for serial 2 over TLS through the proxy; kill the
# primary as soon as it logs the start of the transfer.
kdig @127.0.0.1 -p "$S" +time=5 +retry=1 "$Z" "NOTIFY=2" >"$T/notify.txt" 2>&1 || fail "NOTIFY failed: $(cat "$T/notify.txt")"
wait_until 30 grep -Eq "transfer of '$Z/IN': (AXFR|AXFR-style IXFR) started" "$PRI_LOG" ||
	{ tail -n 10 "$SEC_LOG"; fail "the primary never started sending serial 2"; }
stop_pid "$PRI_PID" KILL 10
ok "primary killed (SIGKILL) after: $(grep -Eo "transfer of '$Z/IN': [A-Za-z -]*started.*" "$PRI_LOG" | head -n 1)"
grep -Eq "transfer of '$Z/IN': .*ended" "$PRI_LOG" &&
	fail "the primary finished sending serial 2 before the kill: cannot test a mid-transfer failure"
ok "the primary never logged the end of the transfer"

# The secondary logs the failure and keeps serial 1.
xfail_re="transfer of '$Z/IN' from 127\\.0\\.0\\.1#$P: (failed|Transfer status: [^s])"
wait_until 30 grep -Eq "$xfail_re" "$SEC_LOG" ||
	{ grep -E "$Z" "$SEC_LOG" | tail -n 10; fail "the secondary logged no failed transfer of $Z"; }
grep -E "$xfail_re" "$SEC_LOG" | sed 's/^/    /'
ok "the secondary logged the failed transfer"
n_ok=$(grep -c "transfer of '$Z/IN' from 127\\.0\\.0\\.1#$P: Transfer status: success" "$SEC_LOG")
[ "$n_ok" -eq 1 ] || fail "the secondary logged $n_ok successful transfers of $Z, expected 1 (serial 1)"
serial_is 1 || fail "the secondary serves serial '$(sec_serial)' after the failed transfer, expected 1"
kt "$S" "$Z" AXFR >"$T/sec-after.txt" || fail "AXFR from the secondary after the failure failed"
same_records "$T/pri-v1.txt" "$T/sec-after.txt" "secondary after the failed transfer still serves serial 1, complete"
grep -q "^h$((N2 - 4))\\." "$T/sec-after.txt" && fail "records of serial 2 in the secondary's copy"

wait_until 10 grep -Eq "zone $Z\\., (AXFR|IXFR), aborted \\(backend" "$PROXY_LOG" ||
	{ tail -n 5 "$PROXY_LOG"; fail "proxy did not log the transfer as aborted by the backend"; }
ok "proxy log: $(grep -E "zone $Z\\., (AXFR|IXFR), aborted" "$PROXY_LOG" | tail -n 1 | cut -d' ' -f3-)"
assert_nogrep "$PROXY_LOG" "zone $Z\\., (AXFR|IXFR), ok, [0-9]+ messages, [0-9]{7,} bytes" "proxy never logged the big transfer as ok"
hwm=$(vm "$PROXY_PID" VmHWM)
ok "max RSS: before $rss0 KiB, peak during the failed transfer $hwm KiB"
assert_mem_le $((hwm - rss0)) 1024 "RSS growth during the failed transfer"

# --- recovery: a primary is back with serial 3; the next NOTIFY brings the
# secondary there through the same proxy.
"$XOT_INTEG_DIR/gen-zone.sh" "$Z" 3000 3 >"$nd/$Z.zone"
rm -f "$nd"/*.jnl
start_named primary3 "$nd" "$B" "$Z" 60
kdig @127.0.0.1 -p "$S" +time=5 +retry=1 "$Z" "NOTIFY=3" >"$T/notify3.txt" 2>&1 || fail "NOTIFY 3 failed"
wait_until 60 serial_is 3 || { grep -E "$Z" "$SEC_LOG" | tail -n 10; fail "secondary did not reach serial 3 after the primary came back"; }
kt "$B" "$Z" AXFR >"$T/pri-v3.txt" || fail "AXFR from the primary (serial 3) failed"
kt "$S" "$Z" AXFR >"$T/sec-v3.txt" || fail "AXFR from the secondary (serial 3) failed"
same_records "$T/pri-v3.txt" "$T/sec-v3.txt" "secondary's copy of serial 3 after recovery"
xfr_ok_same "$P" "$Z" "$T/pri-v3.txt" "kdig AXFR through the proxy after recovery"
alive "$SEC_PID" || fail "secondary died"
alive "$PROXY_PID" || fail "proxy died"
pass
