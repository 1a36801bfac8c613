#!/bin/bash
# t44: a real XoT primary that is not xotproxy: BIND 9.18's native XoT
# (tls block, listen-on ... tls, allow-transfer transport tls), with the
# outbound side in front of it; kdig over plaintext TCP (and dig over UDP)
# to the outbound listener. Three ways to authenticate the primary:
#   1. CA + auth-name (XOT-04, DOT-06/DOT-07: strict, SAN xot.test, SNI);
#   2. an SPKI pin alone, no CA, no name (DOT-05: RFC 7469 pin, computed with
#      openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256);
#   3. mutual TLS required by BIND (9.18 does it: a tls block with ca-file
#      on the server side makes a client certificate signed by that CA
#      mandatory; XOT-04 "mTLS preferred"): with client-cert/client-key the
#      transfer works, without them it fails and BIND serves nothing.
# Also XOT-01 (BIND as a primary answers XFRs only with ALPN dot), XOT-02
# (protocols { TLSv1.3; } on BIND), AXFR-09 (the transfer through the
# outbound side has exactly the records of a direct XoT transfer), XOT-14
# (a UDP SOA query to the outbound listener is answered over UDP with the
# primary's SOA, fetched over TLS).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

B=$(free_port) || fail "no free port"    # BIND, plaintext (transfers refused)
X=$(free_port) || fail "no free port"    # BIND, XoT
M=$(free_port) || fail "no free port"    # BIND, XoT requiring a client certificate
bd=$T/bind-xot
mkdir -p "$bd"
cp "$XOT_ZONE_BIG" "$bd/example.test.zone"
cp "$XOT_ZONE_SMALL" "$bd/small.test.zone"
make_client_cert "$T" secondary || fail "client certificate generation failed"
bind_xot_primary_conf "$bd" "$B" "$X" "$XOT_CERT" "$XOT_KEY" "$M" >"$bd/named.conf"
start_named bind-xot "$bd" "$B" example.test 90
BIND_LOG=$T/bind-xot.log
wait_until 10 tcp_listening "$X" || fail "BIND is not listening on its XoT port $X"
wait_until 10 tcp_listening "$M" || fail "BIND is not listening on its mTLS XoT port $M"

# BIND transfers only over TLS: whatever the outbound side gets, it got
# over TLS.
kt "$B" example.test AXFR >"$T/plain.txt" 2>&1 && fail "BIND allowed a plaintext AXFR (the test would prove nothing)"
grep -q REFUSED "$T/plain.txt" || fail "plaintext AXFR: expected REFUSED, got: $(tail -n 3 "$T/plain.txt")"
ok "BIND refuses plaintext transfers"
# Reference: kdig's own strict XoT transfer, straight from BIND.
kd "$X" example.test AXFR >"$T/direct.txt" 2>"$T/direct.err" || fail "direct XoT AXFR from BIND failed: $(head -c 300 "$T/direct.err")"
[ "$(xfr_records "$T/direct.txt")" = $((XOT_ZONE_BIG_N + 1)) ] || fail "direct XoT AXFR: $(xfr_records "$T/direct.txt") records"
ok "direct XoT AXFR from BIND: $(xfr_records "$T/direct.txt") records"
want=$(awk '$4 == "SOA" { print $7; exit }' "$T/direct.txt")
[ -n "$want" ] || fail "no SOA serial in the direct transfer"

# xfer_started: the number of AXFRs BIND has started for example.test.
xfer_started() { grep -c "transfer of 'example\\.test/IN': AXFR started" "$BIND_LOG"; }

# through OUTPORT WHAT: AXFR and a UDP SOA through the outbound listener on
# OUTPORT succeed, with the records of the direct transfer.
through() {
	local port=$1 what=$2 f=$T/$2.txt n0 n1
	n0=$(xfer_started)
	kt "$port" example.test AXFR >"$f" 2>"$f.err" || fail "$what: AXFR through the outbound side failed: $(head -c 300 "$f.err")"
	grep -Eq 'ERROR|WARNING' "$f.err" && fail "$what: kdig: $(head -c 300 "$f.err")"
	[ "$(xfr_records "$f")" = $((XOT_ZONE_BIG_N + 1)) ] || fail "$what: $(xfr_records "$f") records through the outbound side"
	same_records "$T/direct.txt" "$f" "$what: AXFR through the outbound side vs direct XoT"
	n1=$(xfer_started)
	[ "$n1" -gt "$n0" ] || fail "$what: BIND logged no AXFR for it"
	ok "$what: BIND logged the AXFR: $(grep "AXFR started" "$BIND_LOG" | tail -n 1 | sed 's/.*client @[^ ]* //')"
	dig +notcp +norec +time=5 +tries=1 @127.0.0.1 -p "$port" example.test SOA >"$f.soa" 2>&1 ||
		fail "$what: UDP SOA through the outbound side failed: $(cat "$f.soa")"
	[ "$(dig_status "$f.soa")" = NOERROR ] || fail "$what: UDP SOA: status $(dig_status "$f.soa")"
	grep -q "^;; SERVER: 127.0.0.1#$port(127.0.0.1) (UDP)" "$f.soa" || fail "$what: dig did not get its answer over UDP"
	[ "$(awk '$4 == "SOA" { print $7; exit }' "$f.soa")" = "$want" ] || fail "$what: UDP SOA serial is not $want"
	ok "$what: UDP SOA through the outbound side: serial $want"
}

# --- 1. CA + name
O1=$(free_port) || fail "no free port"
outbound_ini "$T/ob-ca.ini" "$O1" "127.0.0.1:$X"
start_outbound ob-ca "$T/ob-ca.ini" "$O1"
through "$O1" ca-name
wait_until 10 grep -Eq "zone example\\.test\\., AXFR, ok" "$OUT_LOG" || fail "ca-name: outbound logged no AXFR"
assert_nogrep "$OUT_LOG" "verification|not tried again|aborted" "ca-name: outbound logged no failure"

# --- 2. SPKI pin alone: no CA, no auth-name
PIN=$(spki_pin "$XOT_CERT")
[ "$(printf %s "$PIN" | wc -c)" = 44 ] || fail "pin '$PIN' is not 44 base64 characters"
O2=$(free_port) || fail "no free port"
outbound_ini "$T/ob-pin.ini" "$O2" "127.0.0.1:$X" ca= auth-name= "pin-sha256=$PIN"
grep -Eq '^(ca|auth-name) =' "$T/ob-pin.ini" && fail "pin-only config still has ca or auth-name"
start_outbound ob-pin "$T/ob-pin.ini" "$O2"
through "$O2" pin-only
assert_nogrep "$OUT_LOG" "verification|not tried again|aborted" "pin-only: outbound logged no failure"

# --- 3. mutual TLS: BIND's listener on M requires a client certificate.
# kdig first, to show the requirement is real.
kd "$M" small.test SOA >"$T/kdig-nocert.txt" 2>&1 && [ "$(dig_status "$T/kdig-nocert.txt")" = NOERROR ] &&
	fail "BIND's mTLS listener answered kdig without a client certificate"
kd "$M" +tls-certfile="$T/secondary.pem" +tls-keyfile="$T/secondary.key" small.test SOA >"$T/kdig-cert.txt" 2>&1 ||
	fail "kdig with a client certificate failed against BIND's mTLS listener: $(tail -n 3 "$T/kdig-cert.txt")"
ok "BIND's listener on $M requires a client certificate (kdig without one fails, with one works)"
O3=$(free_port) || fail "no free port"
outbound_ini "$T/ob-mtls.ini" "$O3" "127.0.0.1:$M" "client-cert=$T/secondary.pem" "client-key=$T/secondary.key"
start_outbound ob-mtls "$T/ob-mtls.ini" "$O3"
through "$O3" mtls
assert_nogrep "$OUT_LOG" "verification|not tried again|aborted" "mtls: outbound logged no failure"

# Without the client certificate: no transfer, no answer from BIND.
O4=$(free_port) || fail "no free port"
outbound_ini "$T/ob-nocert.ini" "$O4" "127.0.0.1:$M"
start_outbound ob-nocert "$T/ob-nocert.ini" "$O4"
n0=$(xfer_started)
q0=$(grep -c 'query:' "$bd/query.log")
kt "$O4" example.test AXFR >"$T/nocert.txt" 2>&1
n=$(xfr_records "$T/nocert.txt")
[ -z "$n" ] || [ "$n" = 0 ] || fail "no client certificate: the AXFR through the outbound side carried $n records"
ok "no client certificate: AXFR failed ($(grep -E '^;; (ERROR|WARNING)' "$T/nocert.txt" | head -n 1))"
dig +notcp +norec +time=5 +tries=1 @127.0.0.1 -p "$O4" example.test SOA >"$T/nocert.soa" 2>&1
st=$(dig_status "$T/nocert.soa")
[ "$st" != NOERROR ] || fail "no client certificate: SOA through the outbound side got NOERROR"
ok "no client certificate: UDP SOA got ${st:-no answer}"
[ "$(xfer_started)" = "$n0" ] || fail "no client certificate: BIND started a transfer"
[ "$(grep -c 'query:' "$bd/query.log")" = "$q0" ] || fail "no client certificate: BIND logged queries: $(tail -n 2 "$bd/query.log")"
ok "no client certificate: BIND started no transfer and answered no query"
note "outbound log without the client certificate:"
grep -Ev 'listening|started|primaries, first' "$OUT_LOG" | head -n 6 | sed 's/^/    /'

alive "$OUT_PID" || fail "outbound proxy died"
pass
