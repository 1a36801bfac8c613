#!/bin/bash
# t02: TSIG-signed AXFR and IXFR of signed.test verify end to end through the
# proxy; the primary transfers signed.test only with the key.
#   TSIG-01 (relayed unchanged), TSIG-02 (IDs untouched), TSIG-03 (multi-
#   message AXFR, MAC chain verified by kdig on every message), TSIG-07
#   (BADSIG from the primary relayed as is), XOT-04/TSIG-08 (ip+tsig: the
#   legacy primary checks the MAC).
. "$(dirname "$0")/lib.sh"
test_init

KEY="$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET"
BADKEY="$XOT_TSIG_ALG:$XOT_TSIG_NAME:$(printf 'not the secret at all 0123456789' | base64)"

P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
start_proxy proxy "$T/xotproxy.ini" "$P"

# tsigless FILE: kdig output without the TSIG pseudo-records (their time and
# MAC differ between two transfers).
tsigless() { grep -Ev $'[[:space:]]ANY[[:space:]]+TSIG[[:space:]]' "$1" >"$1.nt"; }

# The primary really requires the key: unsigned AXFR is REFUSED, directly and
# through the proxy (which relays the primary's answer).
kt "$XOT_NAMED_PORT" signed.test AXFR >"$T/unsigned-direct.txt" 2>&1 && fail "unsigned direct AXFR of signed.test succeeded"
assert_grep "$T/unsigned-direct.txt" "REFUSED" "primary refuses unsigned AXFR of signed.test"
kd "$P" signed.test AXFR >"$T/unsigned-proxy.txt" 2>&1 && fail "unsigned AXFR of signed.test through the proxy succeeded"
assert_grep "$T/unsigned-proxy.txt" "REFUSED" "unsigned AXFR through the proxy: primary's REFUSED relayed"

# --- signed AXFR (multi-message: TSIG-03).
kt "$XOT_NAMED_PORT" -y "$KEY" signed.test AXFR >"$T/axfr-direct.txt" 2>"$T/axfr-direct.err" ||
	fail "direct signed AXFR failed: $(cat "$T/axfr-direct.err")"
kd "$P" -y "$KEY" signed.test AXFR >"$T/axfr-proxy.txt" 2>"$T/axfr-proxy.err"
rc=$?
[ $rc -eq 0 ] || fail "signed AXFR through the proxy: kdig exit $rc: $(head -n 5 "$T/axfr-proxy.err")"
assert_nogrep "$T/axfr-proxy.err" 'TSIG|ERROR|WARNING' "kdig reports no TSIG error, warning or error"
assert_nogrep "$T/axfr-proxy.txt" 'BADSIG|BADKEY|BADTIME|NOTAUTH' "no TSIG error rcode"
assert_grep "$T/axfr-proxy.txt" $'^xfr-key\\.[[:space:]]+0[[:space:]]+ANY[[:space:]]+TSIG[[:space:]]+hmac-sha256\\.' "answer carries the primary's TSIG"
n=$(xfr_records "$T/axfr-proxy.txt")
m=$(xfr_messages "$T/axfr-proxy.txt")
[ "$n" = $((XOT_ZONE_SIGNED_N + 1)) ] || fail "signed AXFR carried $n records, expected $((XOT_ZONE_SIGNED_N + 1))"
[ "$m" -gt 10 ] || fail "signed AXFR is only $m messages: the multi-message TSIG chain is not exercised"
ok "signed AXFR: $n records in $m messages, every message verified by kdig"
tsigless "$T/axfr-direct.txt"
tsigless "$T/axfr-proxy.txt"
same_records "$T/axfr-direct.txt.nt" "$T/axfr-proxy.txt.nt" "signed AXFR signed.test"

# --- a wrong secret must FAIL (the primary answers NOTAUTH/BADSIG, relayed).
kd "$P" -y "$BADKEY" signed.test AXFR >"$T/badkey-proxy.txt" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "AXFR with a wrong TSIG secret through the proxy succeeded (kdig exit 0)"
assert_grep "$T/badkey-proxy.txt" 'BADSIG|NOTAUTH' "wrong secret: kdig fails with BADSIG/NOTAUTH (TSIG-07)"
n=$(xfr_records "$T/badkey-proxy.txt")
[ -z "$n" ] || [ "$n" -eq 0 ] || fail "wrong secret still transferred $n records"

# --- signed IXFR after a signed dynamic update.
old=$(soa_serial "$XOT_NAMED_PORT" signed.test)
[ -n "$old" ] || fail "no serial for signed.test"
nsupdate_add "$XOT_NAMED_PORT" signed.test t02-ixfr.signed.test. TXT '"t02 change"' >"$T/nsupdate.log" 2>&1 ||
	fail "nsupdate failed: $(cat "$T/nsupdate.log")"
wait_until 20 bash -c "[ \"\$(dig +tcp +short @127.0.0.1 -p $XOT_NAMED_PORT signed.test SOA | awk '{print \$3}')\" != $old ]" ||
	fail "serial of signed.test did not change after nsupdate"
new=$(soa_serial "$XOT_NAMED_PORT" signed.test)
ok "signed.test serial $old -> $new"
kt "$XOT_NAMED_PORT" -y "$KEY" signed.test "IXFR=$old" >"$T/ixfr-direct.txt" 2>"$T/ixfr-direct.err" ||
	fail "direct signed IXFR failed: $(cat "$T/ixfr-direct.err")"
kd "$P" -y "$KEY" signed.test "IXFR=$old" >"$T/ixfr-proxy.txt" 2>"$T/ixfr-proxy.err"
rc=$?
[ $rc -eq 0 ] || fail "signed IXFR through the proxy: kdig exit $rc: $(cat "$T/ixfr-proxy.err")"
assert_nogrep "$T/ixfr-proxy.err" 'TSIG|ERROR|WARNING' "signed IXFR: kdig reports no TSIG error"
assert_grep "$T/ixfr-proxy.txt" $'^t02-ixfr\\.signed\\.test\\.[[:space:]]+300[[:space:]]+IN[[:space:]]+TXT' "signed IXFR carries the added record"
n=$(xfr_records "$T/ixfr-proxy.txt")
[ -n "$n" ] && [ "$n" -lt 20 ] || fail "signed IXFR carried '$n' records: not incremental"
tsigless "$T/ixfr-direct.txt"
tsigless "$T/ixfr-proxy.txt"
grep -v '^;' "$T/ixfr-direct.txt.nt" | grep -v '^$' >"$T/ixfr-direct.seq"
grep -v '^;' "$T/ixfr-proxy.txt.nt" | grep -v '^$' >"$T/ixfr-proxy.seq"
cmp -s "$T/ixfr-direct.seq" "$T/ixfr-proxy.seq" ||
	{ diff "$T/ixfr-direct.seq" "$T/ixfr-proxy.seq"; fail "signed IXFR through the proxy differs from the direct one"; }
ok "signed IXFR=$old through the proxy == direct ($n records)"

kd "$P" -y "$BADKEY" signed.test "IXFR=$old" >"$T/ixfr-badkey.txt" 2>&1 &&
	fail "signed IXFR with a wrong secret through the proxy succeeded"
assert_grep "$T/ixfr-badkey.txt" 'BADSIG|NOTAUTH' "wrong secret on IXFR: BADSIG/NOTAUTH"

wait_until 10 grep -Eq 'zone signed\.test\., AXFR, ok' "$PROXY_LOG" || fail "no 'zone signed.test., AXFR, ok' log line"
wait_until 10 grep -Eq 'zone signed\.test\., IXFR, ok' "$PROXY_LOG" || fail "no 'zone signed.test., IXFR, ok' log line"
ok "proxy logged the signed transfers"
alive "$PROXY_PID" || fail "proxy died"
pass
