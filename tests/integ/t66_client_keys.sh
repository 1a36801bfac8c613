#!/bin/bash
# t66: the client key of the per-client caps under mutual TLS (issue 9: the
# certificate identity when there is one, not the address).
#   XOT-10 / PRX-04: with max-transfers-per-client = 1, a second AXFR from
#     sec1 while its first runs gets SERVFAIL + EDE 0 "transfer limit", also
#     from another source address (the key is the certificate, not the
#     address); sec3, another certificate from the same address, is
#     unaffected; once sec1's transfer ends it is admitted again.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_policy.sh"
test_init

C=$T/certs
make_client_ca "$C/cca" || fail "client CA"
make_san_client_cert "$C/cca" "$C" sec1 sec1.example.net || fail "sec1 certificate"
make_san_client_cert "$C/cca" "$C" sec3 sec3.example.net || fail "sec3 certificate"
P=$(free_port) || fail "no free port"
policy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT" client-ca="$C/cca/ca.pem" max-transfers-per-client=1
cat >>"$T/xotproxy.ini" <<EOF

[acl secondaries]
client-cert = sec1.example.net sec3.example.net

[zone example.test]
acl = secondaries

[zone small.test]
acl = secondaries
EOF
start_policy_proxy proxy "$T/xotproxy.ini" "$P"

# polc CERT SOURCE OUT STEPS...: the python client with a certificate.
polc() {
	local cb=$1 src=$2 out=$3
	shift 3
	pol --port "$P" --ca "$XOT_CA" --cert "$cb.pem" --key "$cb.key" --source "$src" "$@" >"$out" 2>&1
}
stream_is() {
	local f=$1 what=$2 rc=$3 ede=$4
	[ "$(stream_field "$f" rcode)" = "$rc" ] && [ "$(stream_field "$f" ede)" = "$ede" ] ||
		{ cat "$f"; fail "$what: expected $rc ede $ede"; }
	ok "$what: $rc, ede $ede"
}

bg_start hold python3 "$POLICY" --port "$P" --ca "$XOT_CA" --cert "$C/sec1.pem" --key "$C/sec1.key" \
	--source 127.0.0.1 --rcvbuf 4096 --timeout 90 send:example.test/AXFR/edns "wait:$T/release:90" collect:90
HOLD_PID=$LAST_PID
wait_until 10 proxy_has_backend_conn "$PROXY_PID" "$XOT_NAMED_PORT" || { cat "$T/hold.log"; fail "sec1's held AXFR did not start"; }
ok "sec1: AXFR of example.test running from 127.0.0.1, its reader stalled"

polc "$C/sec1" 127.0.0.1 "$T/sec1-again.txt" q:small.test/AXFR/edns
stream_is "$T/sec1-again.txt" "sec1, same address, second AXFR" SERVFAIL '0:"transfer limit"'
polc "$C/sec1" 127.0.0.2 "$T/sec1-other-addr.txt" q:small.test/AXFR/edns
stream_is "$T/sec1-other-addr.txt" "sec1 from 127.0.0.2 (the key is the certificate)" SERVFAIL '0:"transfer limit"'
polc "$C/sec3" 127.0.0.1 "$T/sec3.txt" q:small.test/AXFR/edns
stream_is "$T/sec3.txt" "sec3 from 127.0.0.1, the held client's address" NOERROR -
[ "$(stream_field "$T/sec3.txt" records)" = "$(shared_count small.test)" ] || fail "sec3's AXFR is incomplete"
proxy_has_backend_conn "$PROXY_PID" "$XOT_NAMED_PORT" && alive "$HOLD_PID" ||
	{ cat "$T/hold.log"; fail "sec1's held AXFR ended before the checks finished"; }

touch "$T/release"
wait_pid_exit "$HOLD_PID" 60 || { cat "$T/hold.log"; fail "sec1's held AXFR: exit $?"; }
[ "$(stream_field "$T/hold.log" records)" = "$(shared_count example.test)" ] || { cat "$T/hold.log"; fail "sec1's held AXFR incomplete"; }
ok "sec1's held AXFR complete after the release"
again() {
	polc "$C/sec1" 127.0.0.2 "$T/sec1-after.txt" q:small.test/AXFR/edns
	[ "$(stream_field "$T/sec1-after.txt" rcode)" = NOERROR ]
}
wait_until 5 again || { cat "$T/sec1-after.txt"; fail "sec1 not admitted after its transfer ended"; }
ok "sec1 admitted again once its transfer ended"
alive "$PROXY_PID" || fail "proxy died"
pass
