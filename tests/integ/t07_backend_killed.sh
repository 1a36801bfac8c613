#!/bin/bash
# t07: the legacy primary dies (kill -9) in the middle of an AXFR: the client
# must see a failed transfer, never a complete-looking one.
#   AXFR-05 (a closed connection ends the AXFR), AXFR-09 (no synthesized end
#   of zone), DOT-13 (EOF without the closing SOA is truncation), PRX-03
#   (logged as aborted).
#
# Timing: kdig's stdout is a FIFO that we stop reading after the first
# bytes, so kdig blocks writing, stops reading its TLS socket, the proxy's
# buffers fill and named blocks in the middle of an 800k-record AXFR (about
# 23 MB; about 7 MB were in flight when measured on loopback). Only then is
# named killed; its log proves it had not finished sending.
. "$(dirname "$0")/lib.sh"
test_init

ZN=${XOT_KILL_ZONE_N:-800000}
B=$(free_port) || fail "no free port"
P=$(free_port) || fail "no free port"
nd=$T/named
mkdir -p "$nd"
"$XOT_INTEG_DIR/gen-zone.sh" example.test "$ZN" 7 >"$nd/example.test.zone"
{
	named_options "$nd" "$B"
	echo 'zone "example.test" { type primary; file "example.test.zone"; allow-transfer { any; }; };'
} >"$nd/named.conf"
start_named backend "$nd" "$B" example.test 90
NPID=$LAST_PID
NLOG=$T/backend.log

proxy_ini "$T/xotproxy.ini" "$P" "$B"
start_proxy proxy "$T/xotproxy.ini" "$P"

mkfifo "$T/kdig.fifo"
bg_start kdig bash -c "exec kdig @127.0.0.1 -p $P +tls-ca='$XOT_CA' +tls-hostname=xot.test +nopadding +time=20 +retry=0 example.test AXFR >'$T/kdig.fifo'"
KPID=$LAST_PID
exec 3<"$T/kdig.fifo"
# Read one block so that we know kdig is printing, then stop reading.
timeout 30 dd bs=4096 count=1 <&3 >"$T/axfr-part1.txt" 2>/dev/null || fail "no output from kdig within 30 s"
wait_until 30 grep -q "transfer of 'example.test/IN': AXFR started" "$NLOG" || fail "named never started the AXFR"
ok "AXFR through the proxy started; client output now stalled"

# Wait (bounded) until the pipeline is stalled: named's send queue to the
# proxy is non-empty and unchanged for 1 s.
sendq() { ss -Htn "sport = :$B" | awk '{ s += $3 } END { print s + 0 }'; }
stalled() {
	local a b i
	a=$(sendq)
	[ "$a" -gt 0 ] || return 1
	for i in 1 2 3 4 5; do
		sleep 0.2
		b=$(sendq)
		[ "$a" = "$b" ] || return 1
	done
	return 0
}
if wait_until 30 stalled; then
	ok "named blocked with $(sendq) bytes queued towards the proxy"
else
	note "pipeline not stalled after 30 s; killing named anyway"
fi
if grep -q "transfer of 'example.test/IN': AXFR ended" "$NLOG"; then
	fail "named finished sending the whole zone before the kill: the proxy buffered the entire $ZN-record transfer (unbounded buffering?) - cannot test a mid-transfer failure"
fi

stop_pid "$NPID" KILL 10
ok "named killed (SIGKILL) in the middle of the AXFR"
grep -q "AXFR ended" "$NLOG" && fail "named logged the end of the AXFR: the kill came too late"

# Drain the client's output; kdig must end on its own (the proxy closes).
timeout 60 cat <&3 >"$T/axfr-part2.txt"
exec 3<&-
wait_pid_exit "$KPID" 30
rc=$?
[ $rc -ne 124 ] || fail "kdig still running 30 s after the backend died: the proxy did not close the connection"
cat "$T/axfr-part1.txt" "$T/axfr-part2.txt" >"$T/axfr.txt"
[ $rc -ne 0 ] || fail "kdig exited 0: the truncated transfer looked complete"
ok "kdig exited with status $rc"
assert_grep "$T/kdig.log" 'ERROR|WARNING' "kdig reports an error: $(head -n 1 "$T/kdig.log")"
n_soa=$(grep -Ec $'^example\\.test\\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA' "$T/axfr.txt")
[ "$n_soa" -le 1 ] || fail "client output holds $n_soa SOA records: a closing SOA was delivered"
ok "no closing SOA in the client's output ($n_soa SOA)"
n_rr=$(grep -v '^;' "$T/axfr.txt" | grep -c .)
[ "$n_rr" -lt $((ZN + 1)) ] || fail "client received $n_rr records: the full zone"
ok "client received $n_rr of $((ZN + 1)) records"

wait_until 15 grep -Eq 'zone example\.test\., AXFR, aborted \(backend closed\)' "$PROXY_LOG" ||
	{ tail -n 5 "$PROXY_LOG"; fail "proxy did not log 'zone example.test., AXFR, aborted (backend closed)'"; }
ok "proxy log: $(grep -E 'AXFR, aborted' "$PROXY_LOG" | tail -n 1)"
assert_nogrep "$PROXY_LOG" 'zone example\.test\., AXFR, ok' "proxy never logged the transfer as ok"

# The proxy survives and still accepts new TLS sessions.
alive "$PROXY_PID" || fail "proxy died after the backend failure"
timeout 20 openssl s_client -connect "127.0.0.1:$P" -servername xot.test -CAfile "$XOT_CA" \
	-tls1_3 -alpn dot </dev/null >"$T/sc-after.txt" 2>&1 || fail "no TLS session with the proxy after the backend failure"
assert_grep "$T/sc-after.txt" '^ALPN protocol: dot$' "proxy still accepts TLS sessions"
pass
