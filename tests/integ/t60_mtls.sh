#!/bin/bash
# t60: mutual TLS on the inbound side (issue 9: [inbound] client-ca, [acl]
# client-cert by SAN dNSName, one-label wildcard or SPKI pin).
#   XOT-04 (b) (the server checks that the client may request the transfer:
#     by mTLS, the preferred method): a client certificate from the client CA
#     with SAN sec1.example.net admits AXFR, kdig and a BIND 9.18 secondary
#     (tls block with cert-file/key-file) both transfer.
#   XOT-04 test column: no client certificate where mTLS is required fails
#     the handshake, before any DNS; a certificate from another CA too.
#   XOT-17/AXFR-08/PRX-02: a verified certificate that matches no ACL of the
#     zone gets REFUSED + EDE 18 with the question echoed, per query; the
#     session stays usable (AXFR-06).
#   An SPKI pin (client-cert = sha256:PIN) admits its key and nothing else; a
#   wildcard name (*.wild.example.net) admits one label only.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_policy.sh"
test_init

# --- certificates: a client CA, sec1/sec2/sec3 from it, a look-alike sec1
# from an unrelated CA, two wildcard candidates.
C=$T/certs
make_client_ca "$C/cca" || fail "client CA generation failed"
make_client_ca "$C/oca" "unrelated client CA" || fail "second CA generation failed"
make_san_client_cert "$C/cca" "$C" sec1 sec1.example.net || fail "sec1 certificate"
make_san_client_cert "$C/cca" "$C" sec2 sec2.example.net || fail "sec2 certificate"
make_san_client_cert "$C/cca" "$C" sec3 sec3.example.net || fail "sec3 certificate"
make_san_client_cert "$C/oca" "$C" fake1 sec1.example.net || fail "look-alike sec1 certificate"
make_san_client_cert "$C/cca" "$C" wild1 a.wild.example.net || fail "a.wild certificate"
make_san_client_cert "$C/cca" "$C" wild2 b.a.wild.example.net || fail "b.a.wild certificate"
# The shared server CA must not be the client CA (the proxy trusts clients
# from client-ca only, not from its own chain).
cmp -s "$C/cca/ca.pem" "$XOT_CA" && fail "client CA equals the server CA"
PIN3=$(spki_pin_of "$C/sec3.pem")
[ -n "$PIN3" ] && [ "$PIN3" != "$(spki_pin_of "$C/sec2.pem")" ] || fail "no distinct SPKI pin for sec3"
ok "client CA, sec1/sec2/sec3, look-alike sec1 from another CA, wildcard candidates; sec3 pin $PIN3"

P=$(free_port) || fail "no free port"
# A second listen port for the BIND secondary's certificate-less zone: BIND
# caches a primary it failed to reach by address and port, which must not
# hold up the other zone's transfer.
P2=$(free_port) || fail "no free port"
policy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT" client-ca="$C/cca/ca.pem"
sed -i "s/^listen = 127.0.0.1:$P\$/& 127.0.0.1:$P2/" "$T/xotproxy.ini"
grep -q "^listen = 127.0.0.1:$P 127.0.0.1:$P2\$" "$T/xotproxy.ini" || fail "could not add the second listen port"
cat >>"$T/xotproxy.ini" <<EOF

[acl sec1]
client-cert = sec1.example.net

[acl pinned]
client-cert = sha256:$PIN3

[acl wild]
client-cert = *.wild.example.net

[zone example.test]
acl = sec1

[zone small.test]
acl = sec1 pinned wild
EOF
start_policy_proxy proxy "$T/xotproxy.ini" "$P"

# --- sec1: AXFR of both zones, the big one complete.
kdc "$P" "$C/sec1" example.test AXFR >"$T/sec1-axfr.txt" 2>&1
xfr_ok "$T/sec1-axfr.txt" "sec1 (client-cert sec1.example.net): AXFR example.test" "$(shared_count example.test)"
kdc "$P" "$C/sec1" small.test AXFR >"$T/sec1-small.txt" 2>&1
xfr_ok "$T/sec1-small.txt" "sec1: AXFR small.test" "$(shared_count small.test)"
wait_until 10 grep -Eq 'zone example\.test\., AXFR, ok' "$PROXY_LOG" || fail "proxy logged no example.test AXFR"
ok "proxy: $(grep -E 'zone example\.test\., AXFR, ok' "$PROXY_LOG" | tail -n 1 | cut -d' ' -f3-)"

# --- no certificate: refused in the handshake; kdig gets no DNS answer.
kdc "$P" - small.test SOA >"$T/nocert.txt" 2>&1 && fail "kdig without a client certificate succeeded"
assert_nogrep "$T/nocert.txt" 'status:|ANSWER SECTION|^small\.test\.' "no certificate: kdig got no DNS answer"
pol --port "$P" --ca "$XOT_CA" q:small.test/SOA >"$T/nocert-py.txt" 2>&1
handshake_refused "$T/nocert-py.txt" "no certificate (python client)"

# --- a certificate from another CA, same SAN: refused in the handshake.
kdc "$P" "$C/fake1" small.test SOA >"$T/othca.txt" 2>&1 && fail "kdig with a certificate from another CA succeeded"
assert_nogrep "$T/othca.txt" 'status:|ANSWER SECTION|^small\.test\.' "certificate from another CA: kdig got no DNS answer"
pol --port "$P" --ca "$XOT_CA" --cert "$C/fake1.pem" --key "$C/fake1.key" q:small.test/SOA >"$T/othca-py.txt" 2>&1
handshake_refused "$T/othca-py.txt" "certificate from another CA (python client)"
# The server's own certificate chain is not a client credential either: a
# client certificate signed by the server CA is refused too.
mkdir -p "$C/sca" && cp "$XOT_CA" "$C/sca/ca.pem" && cp "${XOT_CA%.pem}.key" "$C/sca/ca.key" ||
	fail "copy of the server CA"
make_san_client_cert "$C/sca" "$C" servca sec1.example.net || fail "server-CA client certificate"
kdc "$P" "$C/servca" small.test SOA >"$T/servca.txt" 2>&1 && fail "kdig with a client certificate from the server CA succeeded"
assert_nogrep "$T/servca.txt" 'status:|ANSWER SECTION' "client certificate signed by the server CA: no DNS answer"

# Five refused handshakes (two without a certificate, two from another CA,
# one from the server CA), each logged ("TLS handshake failed (reason)",
# every one at log-level debug).
wait_until 10 bash -c "[ \$(grep -c 'TLS handshake failed' '$PROXY_LOG') -ge 5 ]" ||
	{ grep 'TLS handshake failed' "$PROXY_LOG"; fail "fewer than 5 'TLS handshake failed' lines for 5 refused clients"; }
ok "proxy: $(grep 'TLS handshake failed' "$PROXY_LOG" | sed 's/.*TLS handshake failed //' | sort | uniq -c | xargs)"

# --- sec2: verified, but in no ACL: REFUSED + EDE 18 per query, session kept.
kdc "$P" "$C/sec2" +edns example.test SOA >"$T/sec2-soa.txt" 2>&1
assert_answer "$T/sec2-soa.txt" "sec2 SOA example.test" REFUSED '18 \(Prohibited\)'
kdc "$P" "$C/sec2" +edns small.test SOA >"$T/sec2-small.txt" 2>&1
assert_answer "$T/sec2-small.txt" "sec2 SOA small.test" REFUSED '18 \(Prohibited\)'
kdc "$P" "$C/sec2" +noedns example.test SOA >"$T/sec2-noedns.txt" 2>&1
assert_answer "$T/sec2-noedns.txt" "sec2 SOA without EDNS" REFUSED
assert_nogrep "$T/sec2-noedns.txt" 'EDNS PSEUDOSECTION|EDE:' "sec2 without EDNS: no OPT, no EDE"
kdc "$P" "$C/sec2" example.test AXFR >"$T/sec2-axfr.txt" 2>&1 && fail "sec2 AXFR succeeded"
xfr_err "$T/sec2-axfr.txt" "sec2 AXFR example.test" REFUSED
# One session: three refused queries and each answered (the session is kept).
pol --port "$P" --ca "$XOT_CA" --cert "$C/sec2.pem" --key "$C/sec2.key" \
	q:example.test/SOA/edns q:example.test/AXFR/edns q:small.test/AXFR/edns >"$T/sec2-session.txt" 2>&1 ||
	{ cat "$T/sec2-session.txt"; fail "sec2 session: not every query was answered"; }
for i in 1 2 3; do
	[ "$(stream_field "$T/sec2-session.txt" rcode $i)" = REFUSED ] &&
		[[ $(stream_field "$T/sec2-session.txt" ede $i) == 18:* ]] &&
		[ "$(stream_field "$T/sec2-session.txt" echo $i)" = yes ] ||
		{ cat "$T/sec2-session.txt"; fail "sec2 session: query $i not REFUSED + EDE 18 with its question"; }
done
ok "sec2: three queries on one session, each REFUSED + EDE 18, session kept"
alive "$PROXY_PID" || fail "proxy died"

# --- pin: sec3 is admitted to small.test by its SPKI pin, not to example.test.
kdc "$P" "$C/sec3" small.test AXFR >"$T/sec3-small.txt" 2>&1
xfr_ok "$T/sec3-small.txt" "sec3 (pin sha256:$PIN3): AXFR small.test" "$(shared_count small.test)"
kdc "$P" "$C/sec3" +edns example.test SOA >"$T/sec3-ex.txt" 2>&1
assert_answer "$T/sec3-ex.txt" "sec3 SOA example.test (pin not in its ACL)" REFUSED '18 '
# The pin is of sec3's key: sec2 (same CA, other key) does not match it.
kdc "$P" "$C/sec2" small.test AXFR >"$T/sec2-pin.txt" 2>&1 && fail "sec2 passed sec3's pin"
xfr_err "$T/sec2-pin.txt" "sec2 AXFR small.test (pin is sec3's)" REFUSED

# --- wildcard: a.wild.example.net matches *.wild.example.net, b.a.wild does not.
kdc "$P" "$C/wild1" small.test AXFR >"$T/wild1.txt" 2>&1
xfr_ok "$T/wild1.txt" "a.wild.example.net (ACL *.wild.example.net): AXFR small.test" "$(shared_count small.test)"
kdc "$P" "$C/wild2" +edns small.test SOA >"$T/wild2.txt" 2>&1
assert_answer "$T/wild2.txt" "b.a.wild.example.net (two labels below the wildcard)" REFUSED '18 '

# --- session kept after a refusal with the admitted certificate: A (EDE 21),
# then AXFR, on one kdig connection.
kdc "$P" "$C/sec1" +keepopen +edns small.test A small.test AXFR >"$T/sec1-keep.txt" 2>&1
assert_grep "$T/sec1-keep.txt" 'status: REFUSED' "sec1 +keepopen: A refused"
assert_grep "$T/sec1-keep.txt" '^;; EDE: 21 ' "sec1 +keepopen: EDE 21 for the A query"
[ "$(xfr_records "$T/sec1-keep.txt")" = "$(shared_count small.test)" ] ||
	{ tail -n 5 "$T/sec1-keep.txt"; fail "sec1 +keepopen: AXFR after the refusal incomplete"; }
ok "sec1 +keepopen: AXFR after the refused A query complete"

# --- a BIND 9.18 secondary with cert-file/key-file in its tls block.
S=$(free_port) || fail "no free port"
sd=$T/secondary
mkdir -p "$sd"
{
	named_options "$sd" "$S"
	cat <<EOC
tls xot {
	ca-file "$XOT_CA";
	remote-hostname "xot.test";
	cert-file "$C/sec1.pem";
	key-file "$C/sec1.key";
	protocols { TLSv1.3; };
};
tls xot-nocert {
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
zone "small.test" {
	type secondary;
	file "small.test.sec";
	primaries { 127.0.0.1 port $P2 tls xot-nocert; };
	allow-transfer { any; };
};
EOC
} >"$sd/named.conf"
named-checkconf "$sd/named.conf" || fail "secondary named.conf does not check"
bg_start secondary named -g -c "$sd/named.conf"
SEC_PID=$LAST_PID
SEC_LOG=$T/secondary.log
want=$(soa_serial "$XOT_NAMED_PORT" example.test)
[ -n "$want" ] || fail "no example.test serial from the primary"
sserial() { dig +short +time=1 +tries=1 +norec @127.0.0.1 -p "$S" "$1" SOA 2>/dev/null | awk '{ print $3 }'; }
sserial_is() { [ "$(sserial "$1")" = "$2" ]; }
if ! wait_until 60 sserial_is example.test "$want"; then
	grep -E 'example\.test|TLS|tls' "$SEC_LOG" | tail -n 15
	fail "the BIND secondary with sec1's certificate does not serve example.test serial $want after 60 s"
fi
assert_grep "$SEC_LOG" "transfer of 'example\\.test/IN' from 127\\.0\\.0\\.1#$P: Transfer status: success" \
	"BIND 9.18 secondary (cert-file sec1) transferred example.test through the proxy"
kt "$S" example.test AXFR >"$T/secondary.txt" 2>&1 || fail "AXFR from the secondary failed"
kt "$XOT_NAMED_PORT" example.test AXFR >"$T/primary.txt" 2>&1 || fail "AXFR from the primary failed"
same_records "$T/primary.txt" "$T/secondary.txt" "example.test: secondary's copy vs the primary"
# Its small.test has no client certificate: it must not get the zone.
wait_until 30 grep -Eq "transfer of 'small\\.test/IN' from 127\\.0\\.0\\.1#$P2: (failed|Transfer status: [^s])" "$SEC_LOG" ||
	{ grep small.test "$SEC_LOG" | tail -n 5; fail "no failed small.test transfer (no client certificate) logged by the secondary"; }
ok "secondary without a client certificate: $(grep -E "transfer of 'small\\.test/IN'.*(failed|Transfer status)" "$SEC_LOG" | head -n 1 | cut -d' ' -f3-)"
[ -z "$(sserial small.test)" ] || fail "the secondary serves small.test without having sent a certificate"

alive "$SEC_PID" || fail "secondary died"
alive "$PROXY_PID" || fail "proxy died"
pass
