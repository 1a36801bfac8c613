#!/bin/bash
# t09: the proxy with an RSA-2048 certificate (the default test uses ECDSA
# P-256): handshake with RSA-PSS signatures, SOA and AXFR verify strictly.
#   DOT-11 (rsa_pss_rsae_sha256 in TLS 1.3), XOT-02, XOT-01.
. "$(dirname "$0")/lib.sh"
test_init

P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT" "$XOT_RSA_CERT" "$XOT_RSA_KEY"
start_proxy proxy "$T/xotproxy.ini" "$P"

timeout 20 openssl s_client -connect "127.0.0.1:$P" -servername xot.test -CAfile "$XOT_CA" -verify_return_error \
	-tls1_3 -alpn dot </dev/null >"$T/sc.txt" 2>&1 || fail "s_client failed: $(tail -n 5 "$T/sc.txt")"
assert_grep "$T/sc.txt" 'Server public key is 2048 bit' "server presents the RSA-2048 certificate"
assert_grep "$T/sc.txt" 'Peer signature type: RSA-PSS' "TLS 1.3 CertificateVerify uses RSA-PSS"
assert_grep "$T/sc.txt" '^ALPN protocol: dot$' "ALPN dot"
assert_grep "$T/sc.txt" 'Verify return code: 0 \(ok\)' "certificate verifies against the test CA"

kt "$XOT_NAMED_PORT" example.test SOA >"$T/soa-direct.txt" || fail "direct SOA failed"
kd "$P" example.test SOA >"$T/soa-proxy.txt" 2>&1 || fail "SOA through the RSA proxy failed: $(tail -n 3 "$T/soa-proxy.txt")"
same_records "$T/soa-direct.txt" "$T/soa-proxy.txt" "SOA example.test (RSA)"
kt "$XOT_NAMED_PORT" small.test AXFR >"$T/axfr-direct.txt" || fail "direct AXFR failed"
kd "$P" small.test AXFR >"$T/axfr-proxy.txt" 2>&1 || fail "AXFR through the RSA proxy failed: $(tail -n 3 "$T/axfr-proxy.txt")"
same_records "$T/axfr-direct.txt" "$T/axfr-proxy.txt" "AXFR small.test (RSA)"
alive "$PROXY_PID" || fail "proxy died"
pass
