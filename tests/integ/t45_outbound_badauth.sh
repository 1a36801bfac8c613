#!/bin/bash
# t45: the outbound side refuses a primary it cannot authenticate, and the
# primary never sees a DNS byte:
#   wrong CA, wrong auth-name, wrong pin (alone, and with a right CA + name),
#   expired certificate (signed by the right CA, right SANs, notAfter 2020).
# For each: SOA over TCP and UDP and an AXFR through the outbound listener
# get SERVFAIL (EDE 22 on the SOA), there is one log line per failed
# handshake naming what was expected and what the primary presented (and
# "expired" for the expired one), and the primary (an inbound xotproxy at
# log-level debug, which logs every SOA it relays and every transfer) logs
# no query at all. A positive control at the end shows the same primary and
# the same checks do see queries from a correctly configured outbound side.
#   XOT-04/DOT-06 (strict profile: fail hard, no fallback to opportunistic),
#   DOT-05 (SPKI pins), DOT-07 (name from the SAN), DOT-08 (every configured
#   check must pass), EDNS-05/EDNS-06 (EDE 22 on the local SERVFAIL), PRX-03
#   (the failure is logged once with its reason).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

make_other_ca "$T/other" || fail "second CA generation failed"
make_expired_cert "$T" expired || fail "expired certificate generation failed: $(tail -n 5 "$T/expired-ca/ca.log")"
openssl x509 -in "$T/expired.pem" -noout -checkend 0 >/dev/null 2>&1 && fail "the 'expired' certificate is still valid"
ok "made a second CA and an expired certificate ($(openssl x509 -in "$T/expired.pem" -noout -enddate))"
GOOD_PIN=$(spki_pin "$XOT_CERT")
OTHER_PIN=$(spki_pin "$T/other/server.pem")
[ "$GOOD_PIN" != "$OTHER_PIN" ] || fail "the two pins are equal"

# Two primaries: one with the good certificate, one with the expired one
# (both inbound xotproxies in front of the shared named, at debug).
P=$(free_port) || fail "no free port"
PX=$(free_port) || fail "no free port"
start_xot_primary primary "$P" "$XOT_NAMED_PORT"
GOOD_LOG=$PRI_LOG
GOOD_PID=$PRI_PID
start_xot_primary primary-expired "$PX" "$XOT_NAMED_PORT" "$T/expired.pem" "$T/expired.key"
EXP_LOG=$PRI_LOG
EXP_PID=$PRI_PID

# Mismatches in the wording of the log line are collected and reported
# together at the end (the other checks of every case still run first).
LINE_GAPS=()

# badcase NAME PRIMARYPORT KEY=VALUE... -- PRESENTED_ERE... -- EXPECTED_ERE...:
# an outbound listener with these settings; its first failed handshake must
# be logged on exactly one line that matches every PRESENTED_ERE (what the
# primary presented) and every EXPECTED_ERE (what was configured); no query
# reaches the primary.
badcase() {
	local name=$1 pport=$2 o kv=() pres=() e line n plog
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do kv+=("$1"); shift; done
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do pres+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	plog=$GOOD_LOG
	[ "$pport" = "$PX" ] && plog=$EXP_LOG
	local z0
	z0=$(zone_lines "$plog" example.test)
	o=$(free_port) || fail "no free port"
	outbound_ini "$T/$name.ini" "$o" "127.0.0.1:$pport" connect-timeout=1 "${kv[@]}"
	start_outbound "ob-$name" "$T/$name.ini" "$o"

	# SOA over TCP: SERVFAIL with EDE 22, at once (no retry loop).
	dig +tcp +norec +time=10 +tries=1 @127.0.0.1 -p "$o" example.test SOA >"$T/$name.soa" 2>&1 ||
		fail "$name: no answer to the SOA over TCP: $(cat "$T/$name.soa")"
	[ "$(dig_status "$T/$name.soa")" = SERVFAIL ] || fail "$name: SOA over TCP got $(dig_status "$T/$name.soa"), expected SERVFAIL"
	grep -Eq '^; EDE: 22( |$)' "$T/$name.soa" || { cat "$T/$name.soa"; fail "$name: the SERVFAIL carries no EDE 22"; }
	grep -Eq '^example\.test\.[[:space:]].*SOA' "$T/$name.soa" && fail "$name: an SOA record came back"
	ok "$name: SOA over TCP -> SERVFAIL, $(grep -E '^; EDE:' "$T/$name.soa")"
	wait_until 5 grep -q 'certificate\|verif\|expired' "$OUT_LOG" || { tail -n 5 "$OUT_LOG"; fail "$name: no failure logged"; }
	# (not the start-up warning about running as root: it names the
	# config file, whose name may hold "pin")
	n=$(grep -E 'certificate|verif|pin|expired' "$OUT_LOG" | grep -vc 'running as root')
	[ "$n" = 1 ] || { grep -E 'certificate|verif|pin|expired' "$OUT_LOG"; fail "$name: $n log lines about the failed handshake, expected 1"; }
	line=$(grep -E 'certificate|verif|pin|expired' "$OUT_LOG")
	for e in "${pres[@]}"; do
		grep -Eq -- "$e" <<<"$line" || fail "$name: the log line does not name what was presented (/$e/): $line"
	done
	for e in "$@"; do
		grep -Eq -- "$e" <<<"$line" ||
			LINE_GAPS+=("$name: the log line does not name what was expected (/$e/): ${line#* }")
	done
	ok "$name: one log line: ${line#* }"

	# UDP SOA and AXFR fail as well (whether the primary is backing off or
	# tried again).
	dig +notcp +norec +time=10 +tries=1 @127.0.0.1 -p "$o" example.test SOA >"$T/$name.usoa" 2>&1 ||
		fail "$name: no answer to the SOA over UDP: $(cat "$T/$name.usoa")"
	[ "$(dig_status "$T/$name.usoa")" = SERVFAIL ] || fail "$name: SOA over UDP got $(dig_status "$T/$name.usoa")"
	kt "$o" example.test AXFR >"$T/$name.axfr" 2>&1
	n=$(xfr_records "$T/$name.axfr")
	[ -z "$n" ] || [ "$n" = 0 ] || fail "$name: the AXFR carried $n records"
	grep -q SERVFAIL "$T/$name.axfr" || fail "$name: AXFR: no SERVFAIL ($(grep '^;;' "$T/$name.axfr" | head -n 2))"
	ok "$name: SOA over UDP and AXFR -> SERVFAIL"
	# Each failed handshake is one line; none is repeated for the same failure.
	n=$(grep -Ec 'certificate|verif|pin|expired' "$OUT_LOG")
	[ "$n" -le 3 ] || fail "$name: $n failure lines for 3 queries"

	# Nothing reached the primary: not one query line in its debug log.
	[ "$(zone_lines "$plog" example.test)" = "$z0" ] ||
		{ grep 'zone example' "$plog" | tail -n 3; fail "$name: a query reached the primary"; }
	ok "$name: the primary logged no query"
	# A failed attempt leaves nothing behind that fires later (its
	# connect-timeout timer, 1 s here): the proxy keeps running, and serves.
	assert_survives "$OUT_PID" 3 "$name"
	dig +tcp +norec +time=10 +tries=1 @127.0.0.1 -p "$o" example.test SOA >"$T/$name.soa2" 2>&1 ||
		fail "$name: no answer to an SOA after the wait"
	[ "$(dig_status "$T/$name.soa2")" = SERVFAIL ] || fail "$name: SOA after the wait: $(dig_status "$T/$name.soa2")"
	stop_pid "$OUT_PID" TERM 10 || fail "$name: outbound proxy exited with status $?"
}

re_pin() { sed 's/[+/=]/./g' <<<"$1"; }
badcase wrong-ca "$P" "ca=$T/other/ca.pem" -- 'issuer CN ?= ?xotproxy test CA' -- "other/ca\.pem|other test CA"
badcase wrong-name "$P" auth-name=wrong.xot.test -- 'xot\.test.*127\.0\.0\.1|127\.0\.0\.1.*xot\.test' -- 'wrong\.xot\.test'
badcase wrong-pin-alone "$P" ca= auth-name= "pin-sha256=$OTHER_PIN" -- "$(re_pin "$GOOD_PIN")" -- "$(re_pin "$OTHER_PIN")"
badcase wrong-pin-ca-name "$P" "pin-sha256=$OTHER_PIN" -- "$(re_pin "$GOOD_PIN")" -- "$(re_pin "$OTHER_PIN")"
badcase expired "$PX" -- 'expired' 'notAfter.*2020|2020.*notAfter|Jan +2 .*2020'

# The primaries saw handshakes (the outbound side did connect) but no DNS.
grep -q 'TLS handshake failed\|closed\|alert' "$GOOD_LOG" || note "(the primary logged nothing about the refused handshakes)"

# Positive control: the same primaries, a correct configuration, the same
# checks: queries are seen (so the "no query" checks above can fail).
O=$(free_port) || fail "no free port"
z0=$(zone_lines "$GOOD_LOG" example.test)
outbound_ini "$T/good.ini" "$O" "127.0.0.1:$P" "pin-sha256=$GOOD_PIN"
start_outbound ob-good "$T/good.ini" "$O"
dig +tcp +norec +time=10 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/good.soa" 2>&1 || fail "control: SOA failed"
[ "$(dig_status "$T/good.soa")" = NOERROR ] || fail "control: SOA got $(dig_status "$T/good.soa")"
wait_until 5 bash -c "[ \$(grep -c 'zone example\\.test\\.' '$GOOD_LOG') -gt $z0 ]" || fail "control: the primary logged no query"
ok "control: CA + name + right pin: SOA NOERROR, and the primary logged it"
assert_nogrep "$OUT_LOG" 'certificate|verif|expired' "control: no failure logged"

alive "$GOOD_PID" || fail "primary died"
alive "$EXP_PID" || fail "primary with the expired certificate died"
if [ ${#LINE_GAPS[@]} -gt 0 ]; then
	printf '    %s\n' "${LINE_GAPS[@]}"
	fail "${#LINE_GAPS[@]} failure log line(s) do not name the expected value"
fi
pass
