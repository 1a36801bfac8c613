#!/bin/bash
# t06: what the proxy refuses itself, and that a refusal keeps the session.
#   XOT-15/XOT-16: QTYPE A -> REFUSED, EDE 21 (Not Supported) when the query
#                  had EDNS, no OPT at all when it had none; NOTIFY opcode too.
#   XOT-17/AXFR-08/PRX-02: client outside `allow` -> REFUSED, EDE 18
#                  (Prohibited); unknown zone -> REFUSED, EDE 18.
#   AXFR-06: the session stays usable after a refusal (kdig +keepopen: the
#            refused and the allowed query share one connection).
. "$(dirname "$0")/lib.sh"
test_init

P=$(free_port) || fail "no free port"
# Refusal lines about one address are rate-limited at info (XOT-16); at
# debug every one is logged, which is what this test reads.
PROXY_LOG_LEVEL=debug proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
# example.test only from 127.0.0.1; small.test from all of 127.0.0.0/8.
sed -i '/^\[zone example.test\]/,/^allow/ s|^allow = .*|allow = 127.0.0.1/32|' "$T/xotproxy.ini"
grep -A1 'zone example.test' "$T/xotproxy.ini" | grep -q 'allow = 127.0.0.1/32' || fail "could not set the ACL"
start_proxy proxy "$T/xotproxy.ini" "$P"

# refused FILE WHAT: the answer is REFUSED with the question echoed.
refused() {
	local f=$1 what=$2 q=$3
	[ "$(dig_status "$f")" = REFUSED ] || { cat "$f"; fail "$what: status '$(dig_status "$f")', expected REFUSED"; }
	grep -Eq "^;; $q" "$f" || { cat "$f"; fail "$what: question '$q' not echoed"; }
	grep -Eq '^;; Flags: qr' "$f" || fail "$what: QR flag not set"
	grep -Eq 'ANSWER: 0;' "$f" || fail "$what: answer section not empty"
	ok "$what: REFUSED, question echoed"
}

# --- QTYPE A with EDNS: REFUSED + EDE 21.
kd "$P" +edns example.test A >"$T/a-edns.txt" 2>&1
refused "$T/a-edns.txt" "A query (EDNS)" $'example\\.test\\.[[:space:]]+IN[[:space:]]+A$'
assert_grep "$T/a-edns.txt" '^;; EDNS PSEUDOSECTION' "A query (EDNS): answer has an OPT"
assert_grep "$T/a-edns.txt" '^;; EDE: 21 \(Not Supported\)' "A query (EDNS): EDE 21 (Not Supported) (XOT-16)"
wait_until 10 grep -Eq 'zone example\.test\., A, refused \(qtype not supported\)' "$PROXY_LOG" ||
	fail "no 'zone example.test., A, refused (qtype not supported)' log line"
ok "proxy log: $(grep -E 'A, refused \(qtype' "$PROXY_LOG" | tail -n 1)"

# --- QTYPE A without EDNS: REFUSED, no OPT, so no EDE.
kd "$P" +noedns example.test A >"$T/a-noedns.txt" 2>&1
refused "$T/a-noedns.txt" "A query (no EDNS)" $'example\\.test\\.[[:space:]]+IN[[:space:]]+A$'
assert_nogrep "$T/a-noedns.txt" 'EDNS PSEUDOSECTION|EDE:' "A query (no EDNS): no OPT, no EDE"

# --- other refused QTYPEs: MX at the apex, ANY.
for qt in MX ANY TXT; do
	kd "$P" +edns example.test "$qt" >"$T/q-$qt.txt" 2>&1
	refused "$T/q-$qt.txt" "$qt query" "example\\.test\\.[[:space:]]+IN[[:space:]]+$qt\$"
	assert_grep "$T/q-$qt.txt" '^;; EDE: 21 ' "$qt query: EDE 21"
done

# --- opcode NOTIFY: NOTIMP + EDE 21 (an opcode the proxy does not implement), never forwarded.
kd "$P" +edns example.test NOTIFY >"$T/notify.txt" 2>&1
assert_grep "$T/notify.txt" 'opcode: NOTIFY; status: NOTIMP' "NOTIFY: NOTIMP"
assert_grep "$T/notify.txt" '^;; EDE: 21 ' "NOTIFY: EDE 21"

# --- class CH: REFUSED.
kd "$P" +edns CH example.test SOA >"$T/chaos.txt" 2>&1
[ "$(dig_status "$T/chaos.txt")" = REFUSED ] || { cat "$T/chaos.txt"; fail "class CH SOA: status '$(dig_status "$T/chaos.txt")', expected REFUSED"; }
ok "class CH: REFUSED"

# kdig prints only "server replied with error 'REFUSED'" for a refused AXFR, not
# the message: the EDE is checked on SOA queries, which go through the same
# zone and ACL checks.
xfr_refused() {
	local f=$1 what=$2
	grep -q "server replied with error 'REFUSED'" "$f" || { cat "$f"; fail "$what: not REFUSED"; }
	[ -z "$(xfr_records "$f")" ] || fail "$what: records were transferred"
	ok "$what: REFUSED"
}

# --- unknown zone, and a name below a configured zone: REFUSED + EDE 18.
kd "$P" +edns unknown.test AXFR >"$T/unknown.txt" 2>&1 && fail "AXFR of an unknown zone succeeded"
xfr_refused "$T/unknown.txt" "AXFR unknown.test"
wait_until 10 grep -Eq 'zone unknown\.test\., AXFR, refused \(unknown zone\)' "$PROXY_LOG" ||
	fail "no 'zone unknown.test., AXFR, refused (unknown zone)' log line"
ok "proxy log: $(grep -E 'refused \(unknown zone\)' "$PROXY_LOG" | tail -n 1)"
kd "$P" +edns unknown.test SOA >"$T/unknown-soa.txt" 2>&1
refused "$T/unknown-soa.txt" "SOA unknown.test" $'unknown\\.test\\.[[:space:]]+IN[[:space:]]+SOA$'
assert_grep "$T/unknown-soa.txt" '^;; EDE: 18 \(Prohibited\)' "unknown zone: EDE 18 (Prohibited)"
kd "$P" +edns h1.example.test AXFR >"$T/below.txt" 2>&1 && fail "AXFR of h1.example.test succeeded"
xfr_refused "$T/below.txt" "AXFR h1.example.test (not a configured apex)"
kd "$P" +edns h1.example.test SOA >"$T/below-soa.txt" 2>&1
refused "$T/below-soa.txt" "SOA h1.example.test" $'h1\\.example\\.test\\.[[:space:]]+IN[[:space:]]+SOA$'
assert_grep "$T/below-soa.txt" '^;; EDE: 18 ' "name below a zone: EDE 18"

# --- ACL: 127.0.0.2 is outside example.test's allow list (XOT-17).
kd "$P" -b 127.0.0.2 +edns example.test AXFR >"$T/acl.txt" 2>&1 && fail "AXFR from 127.0.0.2 (not allowed) succeeded"
xfr_refused "$T/acl.txt" "AXFR from 127.0.0.2"
wait_until 10 grep -Eq 'remote 127\.0\.0\.2#[0-9]+, zone example\.test\., AXFR, refused \(acl\)' "$PROXY_LOG" ||
	fail "no 'remote 127.0.0.2#..., zone example.test., AXFR, refused (acl)' log line"
ok "proxy log: $(grep -E 'refused \(acl\)' "$PROXY_LOG" | tail -n 1)"
kd "$P" -b 127.0.0.2 +edns example.test SOA >"$T/acl-soa-edns.txt" 2>&1
refused "$T/acl-soa-edns.txt" "SOA from 127.0.0.2" $'example\\.test\\.[[:space:]]+IN[[:space:]]+SOA$'
assert_grep "$T/acl-soa-edns.txt" '^;; EDE: 18 \(Prohibited\)' "ACL: EDE 18 (Prohibited)"
kd "$P" -b 127.0.0.2 +noedns example.test SOA >"$T/acl-soa.txt" 2>&1
[ "$(dig_status "$T/acl-soa.txt")" = REFUSED ] || fail "SOA from 127.0.0.2: status '$(dig_status "$T/acl-soa.txt")', expected REFUSED"
assert_nogrep "$T/acl-soa.txt" 'EDNS PSEUDOSECTION|EDE:' "ACL refusal without EDNS: no OPT"
# Positive controls: the same queries from 127.0.0.1, and small.test from
# 127.0.0.2 (allowed by its own zone ACL).
kd "$P" -b 127.0.0.1 example.test SOA >"$T/acl-ok.txt" 2>&1
[ "$(dig_status "$T/acl-ok.txt")" = NOERROR ] || fail "SOA from 127.0.0.1: status '$(dig_status "$T/acl-ok.txt")', expected NOERROR"
kd "$P" -b 127.0.0.2 small.test AXFR >"$T/acl-small.txt" 2>&1 || fail "small.test AXFR from 127.0.0.2 failed: $(tail -n 3 "$T/acl-small.txt")"
[ "$(xfr_records "$T/acl-small.txt")" = $((XOT_ZONE_SMALL_N + 1)) ] || fail "small.test AXFR from 127.0.0.2 incomplete"
ok "allowed clients are served (127.0.0.1 example.test SOA, 127.0.0.2 small.test AXFR)"
# Zone names match case-insensitively.
kd "$P" -b 127.0.0.1 ExAmPlE.TeSt SOA >"$T/case.txt" 2>&1
[ "$(dig_status "$T/case.txt")" = NOERROR ] || fail "SOA for ExAmPlE.TeSt: status '$(dig_status "$T/case.txt")'"
ok "mixed-case zone name served"

# --- the connection stays usable after a refusal (AXFR-06): one kdig
# connection (+keepopen) with a refused A query, then an allowed AXFR.
kdig @127.0.0.1 -p "$P" +tls-ca="$XOT_CA" +tls-hostname=xot.test +nopadding +time=15 +retry=0 +keepopen \
	+edns example.test A small.test AXFR >"$T/keepopen.txt" 2>&1
assert_grep "$T/keepopen.txt" 'status: REFUSED' "keepopen: first query refused"
n=$(xfr_records "$T/keepopen.txt")
[ "$n" = $((XOT_ZONE_SMALL_N + 1)) ] || { tail -n 20 "$T/keepopen.txt"; fail "keepopen: the AXFR after the refusal carried '$n' records, expected $((XOT_ZONE_SMALL_N + 1))"; }
wait_until 10 grep -Eq 'zone small\.test\., AXFR, ok' "$PROXY_LOG" || fail "no small.test AXFR log line"
c_ref=$(grep -E 'zone example\.test\., A, refused' "$PROXY_LOG" | tail -n 1 | sed -n 's/.*conn \([0-9]*\),.*/\1/p')
c_ok=$(grep -E 'zone small\.test\., AXFR, ok' "$PROXY_LOG" | tail -n 1 | sed -n 's/.*conn \([0-9]*\),.*/\1/p')
[ -n "$c_ref" ] && [ "$c_ref" = "$c_ok" ] ||
	fail "refused query (conn '$c_ref') and following AXFR (conn '$c_ok') were not on the same connection"
ok "refused A query and the following AXFR shared conn $c_ok (session kept after a refusal)"

# The same after an ACL refusal: refused SOA, then an allowed SOA query. (kdig
# itself reconnects after a failed AXFR, so an AXFR cannot come first here.)
kdig @127.0.0.1 -p "$P" -b 127.0.0.2 +tls-ca="$XOT_CA" +tls-hostname=xot.test +nopadding +time=15 +retry=0 +keepopen \
	+edns example.test SOA small.test SOA >"$T/keepopen-acl.txt" 2>&1
assert_grep "$T/keepopen-acl.txt" 'status: REFUSED' "keepopen after ACL: SOA refused"
grep -Eq $'^small\\.test\\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA' "$T/keepopen-acl.txt" ||
	{ tail -n 20 "$T/keepopen-acl.txt"; fail "keepopen after ACL refusal: no SOA answer for small.test"; }
c_acl=$(grep -E 'remote 127\.0\.0\.2#.*zone example\.test\., SOA, refused \(acl\)' "$PROXY_LOG" | tail -n 1 | sed -n 's/.*conn \([0-9]*\),.*/\1/p')
c_soa=$(grep -E 'remote 127\.0\.0\.2#.*zone small\.test\., SOA' "$PROXY_LOG" | tail -n 1 | sed -n 's/.*conn \([0-9]*\),.*/\1/p')
[ -n "$c_acl" ] && [ "$c_acl" = "$c_soa" ] ||
	fail "ACL-refused SOA (conn '$c_acl') and the following SOA (conn '$c_soa') were not on the same connection"
ok "ACL-refused SOA and the following allowed SOA shared conn $c_acl"

alive "$PROXY_PID" || fail "proxy died"
pass
