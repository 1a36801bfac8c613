#!/bin/bash
# t63: backend-source (issue 9: [acl] backend-source binds the backend
# connection to a local address, so the legacy primary's own address ACL can
# tell the proxy's clients apart).
#   XOT-25, PRX-05: "behind a proxy, the primary sees every client
#     as the proxy": with backend-source per ACL, named's allow-transfer
#     { 127.0.0.11; } admits exactly the clients of the ACL mapped to
#     127.0.0.11; the others reach named from 127.0.0.12 and get named's own
#     REFUSED, relayed unchanged (AXFR-08: the primary's refusal is the
#     client's answer).
#   XOT-04 (b): the ACL that admits is chosen by client certificate (mTLS)
#     and, in a second run, by address + TSIG key (TSIG-08: named verifies
#     the MAC of the transfer it serves).
#   XOT-08 (a secondary reuses one session for SOA and transfers): both go
#     out from the ACL's backend-source.
#   XOT-25: an address in no ACL of any zone is closed at accept, with no
#     TLS handshake.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_policy.sh"
test_init

KEY="$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET"
ZN=500

# --- the dedicated primary: z1.test only to 127.0.0.11.
NP=$(free_port) || fail "no free port"
nd=$T/named
mkdir -p "$nd"
"$XOT_INTEG_DIR/gen-zone.sh" z1.test "$ZN" 6300 >"$nd/z1.test.zone" || fail "gen-zone failed"
{
	querylog_named_conf "$nd" "$NP"
	cat <<EOF
zone "z1.test" {
	type primary;
	file "z1.test.zone";
	allow-transfer { 127.0.0.11; };
};
EOF
} >"$nd/named.conf"
start_named named "$nd" "$NP" z1.test
NAMED_PID=$LAST_PID
QLOG=$T/named.log

# The primary's ACL, checked directly: from 127.0.0.11 yes, from 127.0.0.1
# and 127.0.0.12 no.
kdig @127.0.0.1 -p "$NP" -b 127.0.0.11 +tcp +time=10 +retry=0 z1.test AXFR >"$T/direct-11.txt" 2>&1
xfr_ok "$T/direct-11.txt" "direct AXFR from 127.0.0.11" $((ZN + 1))
for src in 127.0.0.1 127.0.0.12; do
	kdig @127.0.0.1 -p "$NP" -b "$src" +tcp +time=10 +retry=0 z1.test AXFR >"$T/direct-$src.txt" 2>&1 &&
		fail "direct AXFR from $src succeeded: named's ACL is not what this test needs"
	xfr_err "$T/direct-$src.txt" "direct AXFR from $src" REFUSED
done

# named_saw SRC TYPE WHAT: named's query log has a z1.test TYPE query from
# SRC (client address#port) after line $Q0.
named_saw() {
	local src=$1 type=$2 what=$3 re
	re="client @[^ ]+ ${src//./\\.}#[0-9]+(/key [^ ]+)? \\(z1\\.test\\): query: z1\\.test IN $type "
	wait_until 10 bash -c "tail -n +$((Q0 + 1)) '$QLOG' | grep -Eq '$re'" ||
		{ tail -n 5 "$QLOG"; fail "$what: named logged no $type from $src"; }
	ok "$what: named got the $type from $src"
}
# named_not_from SRC WHAT: no query from SRC since line $Q0.
named_not_from() {
	if tail -n +$((Q0 + 1)) "$QLOG" | grep -Eq "client @[^ ]+ ${1//./\\.}#"; then
		tail -n +$((Q0 + 1)) "$QLOG" | grep -E "${1//./\\.}#" | head -n 3
		fail "$2: named got queries from $1"
	fi
	ok "$2: nothing from $1 at named"
}

########################################################################
note "=== ACLs by client certificate"
C=$T/certs
make_client_ca "$C/cca" || fail "client CA"
make_san_client_cert "$C/cca" "$C" sec1 sec1.example.net || fail "sec1 certificate"
make_san_client_cert "$C/cca" "$C" sec2 sec2.example.net || fail "sec2 certificate"
P=$(free_port) || fail "no free port"
policy_ini "$T/mtls.ini" "$P" "$NP" client-ca="$C/cca/ca.pem"
cat >>"$T/mtls.ini" <<EOF

[acl sec1]
client-cert = sec1.example.net
backend-source = 127.0.0.11

[acl sec2]
client-cert = sec2.example.net
backend-source = 127.0.0.12

[zone z1.test]
acl = sec1 sec2
EOF
start_policy_proxy proxy-mtls "$T/mtls.ini" "$P"

Q0=$(lines "$QLOG")
kdc "$P" "$C/sec1" z1.test AXFR >"$T/sec1.txt" 2>&1
xfr_ok "$T/sec1.txt" "sec1 through the proxy (backend-source 127.0.0.11)" $((ZN + 1))
same_records "$T/direct-11.txt" "$T/sec1.txt" "sec1's AXFR vs the direct one"
named_saw 127.0.0.11 AXFR "sec1"
named_not_from 127.0.0.1 "sec1 (the default source is not used)"
# XOT-08: a secondary reuses its session, SOA first, then the transfer: the
# backend connection for both must come from sec1's backend-source.
Q0=$(lines "$QLOG")
pol --port "$P" --ca "$XOT_CA" --cert "$C/sec1.pem" --key "$C/sec1.key" \
	q:z1.test/SOA q:z1.test/AXFR >"$T/sec1-reuse.txt" 2>&1
[ "$(stream_field "$T/sec1-reuse.txt" rcode 1)" = NOERROR ] && [ "$(stream_field "$T/sec1-reuse.txt" rcode 2)" = NOERROR ] &&
	[ "$(stream_field "$T/sec1-reuse.txt" records 2)" = $((ZN + 1)) ] ||
	{ cat "$T/sec1-reuse.txt"; tail -n 4 "$QLOG"; fail "sec1, one session, SOA then AXFR: the AXFR did not come through (backend-source not applied?)"; }
named_saw 127.0.0.11 SOA "sec1 SOA on a reused session"
named_saw 127.0.0.11 AXFR "sec1 AXFR after an SOA on the same session"
named_not_from 127.0.0.1 "sec1, SOA then AXFR on one session"

Q0=$(lines "$QLOG")
kdc "$P" "$C/sec2" z1.test AXFR >"$T/sec2.txt" 2>&1 && fail "sec2 AXFR succeeded: named's ACL was bypassed"
xfr_err "$T/sec2.txt" "sec2 through the proxy (backend-source 127.0.0.12)" REFUSED
named_saw 127.0.0.12 AXFR "sec2: the REFUSED is named's own"
wait_until 10 grep -Eq "127\\.0\\.0\\.12#[0-9]+ \\(z1\\.test\\): zone transfer 'z1\\.test/AXFR/IN' denied" "$T/named.log" ||
	{ tail -n 5 "$T/named.log"; fail "named logged no denied transfer for 127.0.0.12"; }
ok "named: $(grep -E "zone transfer 'z1\.test/AXFR/IN' denied" "$T/named.log" | tail -n 1 | cut -d' ' -f3-)"
kdc "$P" "$C/sec2" +edns z1.test SOA >"$T/sec2-soa.txt" 2>&1
assert_answer "$T/sec2-soa.txt" "sec2 SOA (named answers it from 127.0.0.12)" NOERROR
named_saw 127.0.0.12 SOA "sec2 SOA"
named_not_from 127.0.0.11 "sec2 (never from sec1's source)"
alive "$PROXY_PID" || fail "proxy died"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"

########################################################################
note "=== ACLs by address + TSIG key"
P=$(free_port) || fail "no free port"
policy_ini "$T/tsig.ini" "$P" "$NP"
cat >>"$T/tsig.ini" <<EOF

[key $XOT_TSIG_NAME]
algorithm = $XOT_TSIG_ALG

[acl keyed]
address = 127.0.0.1/32
tsig-key = $XOT_TSIG_NAME
backend-source = 127.0.0.11

[acl other]
address = 127.0.0.2/32
backend-source = 127.0.0.12

[zone z1.test]
acl = keyed other
EOF
start_policy_proxy proxy-tsig "$T/tsig.ini" "$P"

Q0=$(lines "$QLOG")
kd "$P" -y "$KEY" z1.test AXFR >"$T/keyed.txt" 2>&1
xfr_ok "$T/keyed.txt" "127.0.0.1 signed with $XOT_TSIG_NAME (backend-source 127.0.0.11)" $((ZN + 1))
assert_grep "$T/keyed.txt" $'^xfr-key\\.[[:space:]]+0[[:space:]]+ANY[[:space:]]+TSIG' "named signed the transfer (it verified the request)"
named_saw 127.0.0.11 AXFR "keyed"

Q0=$(lines "$QLOG")
kdig @127.0.0.1 -p "$P" -b 127.0.0.2 +tls-ca="$XOT_CA" +tls-hostname=xot.test +nopadding +time=15 +retry=0 \
	z1.test AXFR >"$T/other.txt" 2>&1 && fail "127.0.0.2 AXFR succeeded: named's ACL was bypassed"
xfr_err "$T/other.txt" "127.0.0.2 through the proxy (backend-source 127.0.0.12)" REFUSED
named_saw 127.0.0.12 AXFR "127.0.0.2: the REFUSED is named's own"

# Unsigned from 127.0.0.1: no ACL matches (keyed wants the key, other is
# 127.0.0.2): the proxy's REFUSED + EDE 18, nothing at named.
Q0=$(lines "$QLOG")
kd "$P" +edns z1.test SOA >"$T/unsigned.txt" 2>&1
assert_answer "$T/unsigned.txt" "127.0.0.1 unsigned (no ACL matches)" REFUSED '18 '
kt "$NP" marker.z1.test TXT >/dev/null 2>&1
wait_until 10 grep -q 'query: marker.z1.test IN TXT' "$QLOG" || fail "marker query not logged by named"
if tail -n +$((Q0 + 1)) "$QLOG" | grep -q 'query: z1.test IN SOA'; then
	fail "the unsigned SOA reached named"
fi
ok "127.0.0.1 unsigned: refused by the proxy, nothing at named"
# 127.0.0.3 is in no ACL of any zone: closed at accept, before TLS (XOT-25).
pol --port "$P" --ca "$XOT_CA" --source 127.0.0.3 --timeout 5 q:z1.test/SOA >"$T/noacl.txt" 2>&1
handshake_refused "$T/noacl.txt" "127.0.0.3 (in no ACL)"
grep -q 'FAIL connect' "$T/noacl.txt" || { cat "$T/noacl.txt"; fail "127.0.0.3: the TLS handshake completed (expected a close at accept)"; }
alive "$PROXY_PID" || fail "proxy died"
alive "$NAMED_PID" || fail "named died"
pass
