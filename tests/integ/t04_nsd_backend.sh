#!/bin/bash
# t04: NSD 4.6.1 as the legacy primary behind the proxy: AXFR (>= 100k
# records) and SOA through the proxy equal NSD's plaintext answers.
#   XOT-01/XOT-02 (strict TLS 1.3 + ALPN dot client), AXFR-02 (opening and
#   closing SOA), AXFR-03/XOT-21 (NSD's ~16 KB frames relayed untouched).
. "$(dirname "$0")/lib.sh"
test_init
command -v nsd >/dev/null || skip "nsd is not installed"

N=$(free_port) || fail "no free port"
P=$(free_port) || fail "no free port"
nd=$T/nsd
mkdir -p "$nd"
cp "$XOT_ZONE_BIG" "$nd/example.test.zone"
cp "$XOT_ZONE_SMALL" "$nd/small.test.zone"
cat >"$nd/nsd.conf" <<EOC
server:
	ip-address: 127.0.0.1
	port: $N
	do-ip6: no
	username: ""
	chroot: ""
	database: ""
	zonesdir: "$nd"
	pidfile: "$nd/nsd.pid"
	zonelistfile: "$nd/zone.list"
	xfrdfile: "$nd/xfrd.state"
	xfrdir: "$nd"
	logfile: "$nd/nsd-file.log"
	server-count: 1
	verbosity: 1
remote-control:
	control-enable: no
zone:
	name: "example.test"
	zonefile: "example.test.zone"
	provide-xfr: 127.0.0.0/8 NOKEY
zone:
	name: "small.test"
	zonefile: "small.test.zone"
	provide-xfr: 127.0.0.0/8 NOKEY
EOC
nsd-checkconf "$nd/nsd.conf" || fail "nsd.conf does not check"
# NSD's server children have names with spaces; we stop the main process by
# its PID (it takes its children down) and never by name.
bg_start nsd nsd -d -c "$nd/nsd.conf"
NSD_PID=$LAST_PID
wait_until 60 soa_ready "$N" example.test || { cat "$nd/nsd-file.log"; fail "NSD does not serve example.test on port $N"; }
ok "NSD serves example.test on 127.0.0.1#$N (pid $NSD_PID)"

proxy_ini "$T/xotproxy.ini" "$P" "$N"
start_proxy proxy "$T/xotproxy.ini" "$P"

kt "$N" example.test AXFR >"$T/axfr-direct.txt" 2>"$T/axfr-direct.err" || fail "direct AXFR from NSD failed: $(cat "$T/axfr-direct.err")"
kd "$P" example.test AXFR >"$T/axfr-proxy.txt" 2>"$T/axfr-proxy.err" ||
	fail "AXFR from NSD through the proxy failed (kdig exit $?): $(head -n 5 "$T/axfr-proxy.err")"
assert_nogrep "$T/axfr-proxy.err" 'ERROR|WARNING' "kdig printed no error or warning"
n=$(xfr_records "$T/axfr-proxy.txt")
[ "$n" = $((XOT_ZONE_BIG_N + 1)) ] || fail "AXFR through the proxy carried '$n' records, expected $((XOT_ZONE_BIG_N + 1))"
ok "AXFR record count $n"
n_soa=$(grep -Ec $'^example\\.test\\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA' "$T/axfr-proxy.txt")
[ "$n_soa" = 2 ] || fail "AXFR holds $n_soa SOA records, expected 2"
same_records "$T/axfr-direct.txt" "$T/axfr-proxy.txt" "NSD AXFR example.test"
m_d=$(xfr_messages "$T/axfr-direct.txt")
m_p=$(xfr_messages "$T/axfr-proxy.txt")
[ "$m_d" = "$m_p" ] || fail "messages: proxy $m_p, direct $m_d"
[ "$(xfr_bytes "$T/axfr-direct.txt")" = "$(xfr_bytes "$T/axfr-proxy.txt")" ] || fail "bytes differ between direct and proxied AXFR"
ok "same $m_p messages and bytes as the direct transfer"
wait_until 10 grep -Eq "zone example\\.test\\., AXFR, ok, $m_p messages" "$PROXY_LOG" ||
	fail "no 'zone example.test., AXFR, ok, $m_p messages' log line"
ok "log line: $(grep -E 'zone example\.test\., AXFR, ok' "$PROXY_LOG" | tail -n 1)"

kt "$N" example.test SOA >"$T/soa-direct.txt" || fail "direct SOA from NSD failed"
kd "$P" example.test SOA >"$T/soa-proxy.txt" 2>&1 || fail "SOA through the proxy failed: $(cat "$T/soa-proxy.txt")"
[ "$(dig_status "$T/soa-proxy.txt")" = NOERROR ] || fail "SOA via proxy: status $(dig_status "$T/soa-proxy.txt")"
same_records "$T/soa-direct.txt" "$T/soa-proxy.txt" "NSD SOA example.test"

kt "$N" small.test AXFR >"$T/small-direct.txt" || fail "direct small AXFR failed"
kd "$P" small.test AXFR >"$T/small-proxy.txt" 2>&1 || fail "small.test AXFR through the proxy failed: $(tail -n 3 "$T/small-proxy.txt")"
same_records "$T/small-direct.txt" "$T/small-proxy.txt" "NSD AXFR small.test"

alive "$PROXY_PID" || fail "proxy died"
alive "$NSD_PID" || fail "NSD died"
stop_pid "$NSD_PID" TERM 15
wait_until 10 bash -c "! ss -Hltn 'sport = :$N' | grep -q ." || fail "NSD still listening after SIGTERM"
ok "NSD stopped"
pass
