#!/bin/bash
# t83: issue 13 B13, a TSIG key name is a client identity only when the
# proxy verified the MAC. transfer-rate = 2/3600 (two AXFR starts per hour
# per client key).
#   (a) the issue's shape: [key xfr-key] without a secret (the proxy checks
#       the name only), an ACL that requires only tsig-key = xfr-key. A
#       client without the secret (from 127.0.0.2) sends two AXFRs with a
#       garbage MAC: named answers NOTAUTH. The real secondary (127.0.0.1,
#       with the secret) then gets its AXFR, twice: the forger spent its own
#       address's budget, not the key's.
#   (b) the reverse: small.test admits 127.0.0.0/8 by address. After two
#       unsigned AXFRs from 127.0.0.3, an AXFR signed with a made-up key name
#       gets SERVFAIL + EDE 0 "transfer rate" from the proxy (it counts
#       under the address), not a fresh budget under the name.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_policy.sh"
test_init

KEY="$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET"
FORGED="$XOT_TSIG_ALG:$XOT_TSIG_NAME:$(head -c 32 /dev/urandom | base64)"
N_SIGNED=$(shared_count signed.test)
N_SMALL=$(shared_count small.test)

P=$(free_port) || fail "no free port"
policy_ini "$T/p.ini" "$P" "$XOT_NAMED_PORT" transfer-rate=2/3600
cat >>"$T/p.ini" <<EOF

[key $XOT_TSIG_NAME]
algorithm = $XOT_TSIG_ALG

[acl kpass]
tsig-key = $XOT_TSIG_NAME

[acl local]
address = 127.0.0.0/8

[zone signed.test]
acl = kpass

[zone small.test]
acl = local
EOF
start_policy_proxy proxy "$T/p.ini" "$P"

note "=== (a) forged MACs from 127.0.0.2 do not spend $XOT_TSIG_NAME's budget"
for i in 1 2; do
	kd "$P" -b 127.0.0.2 -y "$FORGED" signed.test AXFR >"$T/forged$i.txt" 2>&1 &&
		fail "(a) forged AXFR $i succeeded"
	assert_grep "$T/forged$i.txt" "server replied with error '(BADSIG|NOTAUTH)'" \
		"(a) forged AXFR $i from 127.0.0.2: named's NOTAUTH relayed"
done
for i in 1 2; do
	kd "$P" -y "$KEY" signed.test AXFR >"$T/real$i.txt" 2>&1
	xfr_ok "$T/real$i.txt" "(a) the real secondary's AXFR $i after two forged ones" "$N_SIGNED"
done
pol --port "$P" --ca "$XOT_CA" --source 127.0.0.2 --tsig "$FORGED" q:signed.test/AXFR/edns/tsig >"$T/forged3.txt" 2>&1
[ "$(stream_field "$T/forged3.txt" rcode)" = SERVFAIL ] && [ "$(stream_field "$T/forged3.txt" ede)" = '0:"transfer rate"' ] ||
	{ cat "$T/forged3.txt"; fail "(a) the forger's third AXFR is not over its own (address) rate"; }
ok "(a) the forger's third AXFR: SERVFAIL, EDE 0 \"transfer rate\" (its address's budget)"

note "=== (b) made-up key names do not escape the address's budget"
for i in 1 2; do
	kd "$P" -b 127.0.0.3 small.test AXFR >"$T/small$i.txt" 2>&1
	xfr_ok "$T/small$i.txt" "(b) unsigned AXFR $i from 127.0.0.3" "$N_SMALL"
done
for name in made-up-1 made-up-2; do
	pol --port "$P" --ca "$XOT_CA" --source 127.0.0.3 --tsig "$XOT_TSIG_ALG:$name:$XOT_TSIG_SECRET" \
		q:small.test/AXFR/edns/tsig >"$T/$name.txt" 2>&1
	[ "$(stream_field "$T/$name.txt" rcode)" = SERVFAIL ] &&
		[ "$(stream_field "$T/$name.txt" ede)" = '0:"transfer rate"' ] ||
		{ cat "$T/$name.txt"; fail "(b) AXFR signed with key name $name escaped the address's rate"; }
	ok "(b) AXFR signed with the unknown key $name: SERVFAIL, EDE 0 \"transfer rate\""
done
alive "$PROXY_PID" || fail "proxy died"
pass
