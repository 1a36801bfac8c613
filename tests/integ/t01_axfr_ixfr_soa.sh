#!/bin/bash
# t01: AXFR, IXFR and SOA through the proxy are identical to the plaintext
# answers of the legacy primary (named).
#   XOT-01/XOT-02 (kdig strict TLS 1.3 + ALPN dot), XOT-14 (SOA over TLS),
#   XOT-21/AXFR-03 (frames relayed untouched), AXFR-01/AXFR-02 (complete
#   transfer: starts and ends with the SOA), PRX-01 (no caching: SOA shows a
#   new serial at once), PRX-03 (one log line per transfer).
. "$(dirname "$0")/lib.sh"
test_init

P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
start_proxy proxy "$T/xotproxy.ini" "$P"

# --- AXFR of the big zone: >= 100k records, same set as the plaintext one.
kt "$XOT_NAMED_PORT" example.test AXFR >"$T/axfr-direct.txt" 2>"$T/axfr-direct.err" ||
	fail "direct AXFR failed: $(cat "$T/axfr-direct.err")"
kd "$P" example.test AXFR >"$T/axfr-proxy.txt" 2>"$T/axfr-proxy.err" ||
	fail "AXFR through the proxy failed (kdig exit $?): $(head -n 5 "$T/axfr-proxy.err")"
assert_nogrep "$T/axfr-proxy.err" 'ERROR|WARNING' "kdig printed no error or warning"
n_direct=$(xfr_records "$T/axfr-direct.txt")
n_proxy=$(xfr_records "$T/axfr-proxy.txt")
[ -n "$n_proxy" ] || fail "no kdig footer in the proxied AXFR output"
[ "$n_proxy" -eq $((XOT_ZONE_BIG_N + 1)) ] ||
	fail "proxied AXFR carried $n_proxy records, expected $((XOT_ZONE_BIG_N + 1))"
[ "$n_proxy" = "$n_direct" ] || fail "record count: proxy $n_proxy, direct $n_direct"
ok "AXFR record count $n_proxy (zone generated with $XOT_ZONE_BIG_N records + closing SOA)"
n_soa=$(grep -Ec $'^example\\.test\\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA' "$T/axfr-proxy.txt")
[ "$n_soa" = 2 ] || fail "AXFR through the proxy holds $n_soa SOA records, expected 2 (opening and closing)"
ok "AXFR opens and closes with the SOA (AXFR-02)"
same_records "$T/axfr-direct.txt" "$T/axfr-proxy.txt" "AXFR example.test"
m_direct=$(xfr_messages "$T/axfr-direct.txt")
m_proxy=$(xfr_messages "$T/axfr-proxy.txt")
b_direct=$(xfr_bytes "$T/axfr-direct.txt")
b_proxy=$(xfr_bytes "$T/axfr-proxy.txt")
[ "$m_proxy" = "$m_direct" ] || fail "messages: proxy $m_proxy, direct $m_direct (frames must be relayed 1:1)"
[ "$b_proxy" = "$b_direct" ] || fail "bytes: proxy $b_proxy, direct $b_direct (frames must be relayed untouched)"
ok "same $m_proxy messages and $b_proxy bytes as the direct transfer (relayed untouched)"

# The proxy logs one line per transfer with the message count (PRX-03).
wait_until 10 grep -Eq "zone example\\.test\\., AXFR, ok, $m_proxy messages, [0-9]+ bytes" "$PROXY_LOG" ||
	{ grep -E 'AXFR' "$PROXY_LOG" | tail -n 5; fail "no 'zone example.test., AXFR, ok, $m_proxy messages' log line"; }
ok "log line: $(grep -E 'zone example\.test\., AXFR, ok' "$PROXY_LOG" | tail -n 1)"
logb=$(grep -E "zone example\\.test\\., AXFR, ok, $m_proxy messages" "$PROXY_LOG" | tail -n 1 | sed -n "s/.* messages, \([0-9]*\) bytes.*/\1/p")
[ "$logb" = "$b_proxy" ] || [ "$logb" = $((b_proxy + 2 * m_proxy)) ] ||
	fail "logged $logb bytes; kdig received $b_proxy bytes in $m_proxy messages"
ok "logged byte count $logb matches the relayed messages"

# --- SOA through the proxy equals the direct answer (XOT-14).
kt "$XOT_NAMED_PORT" example.test SOA >"$T/soa-direct.txt" || fail "direct SOA failed"
kd "$P" example.test SOA >"$T/soa-proxy.txt" 2>"$T/soa-proxy.err" || fail "SOA through the proxy failed: $(cat "$T/soa-proxy.err")"
[ "$(dig_status "$T/soa-proxy.txt")" = NOERROR ] || fail "SOA via proxy: status $(dig_status "$T/soa-proxy.txt")"
assert_grep "$T/soa-proxy.txt" '^;; Flags: qr aa' "SOA answer relayed with the primary's AA flag"
same_records "$T/soa-direct.txt" "$T/soa-proxy.txt" "SOA example.test"
old=$(soa_serial "$XOT_NAMED_PORT" example.test)
[ -n "$old" ] || fail "no serial"

# --- IXFR after a dynamic update on the primary.
nsupdate_add "$XOT_NAMED_PORT" example.test t01-ixfr.example.test. A 192.0.2.201 >"$T/nsupdate.log" 2>&1 ||
	fail "nsupdate failed: $(cat "$T/nsupdate.log")"
wait_until 20 bash -c "[ \"\$(dig +tcp +short @127.0.0.1 -p $XOT_NAMED_PORT example.test SOA | awk '{print \$3}')\" != $old ]" ||
	fail "serial did not change after nsupdate"
new=$(soa_serial "$XOT_NAMED_PORT" example.test)
ok "primary serial $old -> $new"

# PRX-01: the proxy does not cache: the SOA through it shows the new serial.
kd "$P" example.test SOA >"$T/soa2-proxy.txt" || fail "second SOA through the proxy failed"
grep -Eq "SOA[[:space:]].* $new [0-9]+ [0-9]+ [0-9]+ [0-9]+\$" "$T/soa2-proxy.txt" ||
	{ cat "$T/soa2-proxy.txt"; fail "SOA through the proxy does not show the new serial $new (cached?)"; }
ok "SOA through the proxy shows the new serial $new (no caching)"

kt "$XOT_NAMED_PORT" example.test "IXFR=$old" >"$T/ixfr-direct.txt" 2>"$T/ixfr-direct.err" ||
	fail "direct IXFR failed: $(cat "$T/ixfr-direct.err")"
kd "$P" example.test "IXFR=$old" >"$T/ixfr-proxy.txt" 2>"$T/ixfr-proxy.err" ||
	fail "IXFR through the proxy failed: $(cat "$T/ixfr-proxy.err")"
n_ixfr=$(xfr_records "$T/ixfr-proxy.txt")
[ -n "$n_ixfr" ] && [ "$n_ixfr" -lt 20 ] ||
	fail "IXFR through the proxy carried '$n_ixfr' records: not an incremental answer"
assert_grep "$T/ixfr-proxy.txt" $'^t01-ixfr\\.example\\.test\\.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+192\\.0\\.2\\.201' \
	"IXFR carries the added record"
# IXFR order matters: compare the record sequence unsorted.
grep -v '^;' "$T/ixfr-direct.txt" | grep -v '^$' >"$T/ixfr-direct.rrs"
grep -v '^;' "$T/ixfr-proxy.txt" | grep -v '^$' >"$T/ixfr-proxy.rrs"
cmp -s "$T/ixfr-direct.rrs" "$T/ixfr-proxy.rrs" ||
	{ diff "$T/ixfr-direct.rrs" "$T/ixfr-proxy.rrs"; fail "IXFR through the proxy differs from the direct IXFR"; }
ok "IXFR=$old through the proxy == direct ($n_ixfr records, same order)"
wait_until 10 grep -Eq 'zone example\.test\., IXFR, ok' "$PROXY_LOG" || fail "no 'zone example.test., IXFR, ok' log line"
ok "log line: $(grep -E 'zone example\.test\., IXFR, ok' "$PROXY_LOG" | tail -n 1)"

alive "$PROXY_PID" || fail "proxy died"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"
ok "proxy stopped cleanly on SIGTERM"
pass
