#!/bin/bash
# t61: TSIG in the inbound policy (issue 9: [key NAME], [acl] tsig-key).
# A dedicated named primary with a query log stands behind the proxy, so
# "refused by the proxy" is checked by the query never reaching it.
#   (a) [key xfr-key] without a secret: the proxy checks only that a TSIG is
#       there, last, and names a key of the ACL; named checks the MAC.
#       XOT-04 (b) / TSIG-08 (ip+tsig: unsigned AXFR from an allowed IP is
#       REFUSED + EDE 18 by the proxy's pre-check), TSIG-01/TSIG-03 (a
#       correctly signed AXFR is relayed unchanged and verifies at both ends),
#       TSIG-04 (a TSIG that is not last is not forwarded), TSIG-07 (a wrong
#       secret is the backend's BADSIG, relayed).
#   (b) [key xfr-key] with the secret: the proxy verifies MAC and time
#       (RFC 8945 §5.2): a wrong secret gets NOTAUTH + BADSIG, the key's name
#       with another algorithm BADKEY (both unsigned: empty MAC, §5.3.2), a
#       key name the proxy does not know is not on the ACL (REFUSED, or
#       BADKEY), a stale or future Time
#       Signed NOTAUTH + BADTIME signed with the server time in Other Data,
#       all answered by the proxy without reaching named (TSIG-05: at once).
#       The proxy's own REFUSED (EDE 18, EDE 21) and NOTIMP answers to signed
#       requests carry a TSIG that kdig -y verifies (no ";; WARNING") and
#       whose MAC xotpolicy.py recomputes (TSIG-06 is then moot).
#   (c) transfer-rate 1/3600 with the key's secret in secret-file: forged
#       requests (wrong secret) do not consume the key's budget; the
#       over-rate SERVFAIL (EDE 0 "transfer rate", XOT-10/PRX-04) is signed
#       and verifies, and so is the SERVFAIL + EDE 23 made after forwarding
#       when the backend is down.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_policy.sh"
test_init

KEY="$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET"
WRONG="$XOT_TSIG_ALG:$XOT_TSIG_NAME:$(printf 'not the secret at all 0123456789' | base64)"
OTHER_SECRET=$(head -c 32 /dev/urandom | base64)
OTHER="$XOT_TSIG_ALG:other-key:$OTHER_SECRET"
NOKEY="$XOT_TSIG_ALG:no-such-key:$XOT_TSIG_SECRET"

# --- the dedicated primary: signed.test only with the key, small.test open.
NP=$(free_port) || fail "no free port"
nd=$T/named
mkdir -p "$nd"
cp "$XOT_ZONE_SIGNED" "$nd/signed.test.zone"
cp "$XOT_ZONE_SMALL" "$nd/small.test.zone"
{
	querylog_named_conf "$nd" "$NP"
	cat <<EOF
zone "signed.test" {
	type primary;
	file "signed.test.zone";
	allow-transfer { key "$XOT_TSIG_NAME"; };
};
zone "small.test" {
	type primary;
	file "small.test.zone";
	allow-transfer { any; };
};
EOF
} >"$nd/named.conf"
start_named named "$nd" "$NP" signed.test
NAMED_PID=$LAST_PID
QLOG=$T/named.log
XLOG=$T/named.log
wait_until 10 grep -q 'query: signed\.test IN SOA' "$QLOG" || fail "named logs no queries (querylog)"
ok "named query log: $(grep 'query: signed\.test IN SOA' "$QLOG" | tail -n 1 | cut -d' ' -f3-)"

# not_forwarded WHAT OUT CMD...: run CMD (a query through the proxy) with its
# output in OUT; then a marker query straight to named; named's query log
# must show the marker and no other query since CMD started.
MARK=0
not_forwarded() {
	local what=$1 out=$2 n0 m
	shift 2
	n0=$(lines "$QLOG")
	"$@" >"$out" 2>&1
	MARK=$((MARK + 1))
	m=marker$MARK.small.test
	kt "$NP" "$m" TXT >/dev/null 2>&1
	wait_until 10 grep -q "query: $m IN TXT" "$QLOG" || fail "$what: marker $m not in named's query log"
	# A request named rejects for its TSIG gets no "query:" line, only
	# "request has invalid signature: TSIG ...".
	if tail -n +$((n0 + 1)) "$QLOG" | grep -v "query: $m IN TXT" | grep -Eq 'query: |request has|signature|TSIG'; then
		tail -n +$((n0 + 1)) "$QLOG" | grep -E 'query: |request has|signature|TSIG'
		fail "$what: the query reached named"
	fi
	ok "$what: named received nothing"
}
# no_tsig_warning FILE WHAT: a kdig -y answer (not an XFR: kdig does not
# check the TSIG of an XFR error answer) carries a TSIG and kdig verified it
# (kdig prints ";; WARNING: reply verification ... (failed to verify TSIG)"
# or "(expected a TSIG or SIG(0))" otherwise).
no_tsig_warning() {
	if grep -q ';; WARNING' "$1"; then
		grep ';; WARNING' "$1"
		fail "$2: kdig could not verify the answer's TSIG"
	fi
	grep -q '^;; TSIG PSEUDOSECTION' "$1" || { cat "$1"; fail "$2: the answer carries no TSIG"; }
	ok "$2: answer signed, kdig -y verified it (no ;; WARNING)"
}

########################################################################
note "=== (a) [key xfr-key] without a secret: name check only"
PA=$(free_port) || fail "no free port"
policy_ini "$T/a.ini" "$PA" "$NP"
cat >>"$T/a.ini" <<EOF

[key $XOT_TSIG_NAME]
algorithm = $XOT_TSIG_ALG

[acl keyed]
address = 127.0.0.0/8
tsig-key = $XOT_TSIG_NAME

[zone signed.test]
acl = keyed

[zone small.test]
acl = keyed
EOF
start_policy_proxy proxy-a "$T/a.ini" "$PA"

# Unsigned: small.test is open at named, so REFUSED here is the proxy's.
not_forwarded "(a) unsigned AXFR small.test" "$T/a-unsigned.txt" kd "$PA" small.test AXFR
xfr_err "$T/a-unsigned.txt" "(a) unsigned AXFR small.test" REFUSED
kd "$PA" +edns small.test SOA >"$T/a-unsigned-soa.txt" 2>&1
assert_answer "$T/a-unsigned-soa.txt" "(a) unsigned SOA small.test" REFUSED '18 \(Prohibited\)'

# Another key name (unknown to the proxy and to named).
not_forwarded "(a) AXFR signed with other-key" "$T/a-other.txt" kd "$PA" -y "$OTHER" small.test AXFR
xfr_err "$T/a-other.txt" "(a) AXFR signed with other-key" REFUSED
kd "$PA" -y "$OTHER" +edns small.test SOA >"$T/a-other-soa.txt" 2>&1
assert_answer "$T/a-other-soa.txt" "(a) SOA signed with other-key" REFUSED '18 '

# A TSIG that is not the last record: never forwarded.
not_forwarded "(a) signed SOA with an OPT after the TSIG" "$T/a-notlast.txt" pol --port "$PA" --ca "$XOT_CA" --tsig "$KEY" q:small.test/SOA/tsig/optafter
rc=$(stream_field "$T/a-notlast.txt" rcode)
case $rc in FORMERR|REFUSED) ok "(a) TSIG not last: $rc" ;; *) cat "$T/a-notlast.txt"; fail "(a) TSIG not last: rcode '$rc', expected FORMERR or REFUSED" ;; esac

# Correctly signed: relayed, named verifies (its xfer-out line names the
# key), kdig verifies every message of the 20,001-record answer.
kd "$PA" -y "$KEY" signed.test AXFR >"$T/a-signed.txt" 2>&1
xfr_ok "$T/a-signed.txt" "(a) signed AXFR signed.test" $((XOT_ZONE_SIGNED_N + 1))
assert_grep "$T/a-signed.txt" $'^xfr-key\\.[[:space:]]+0[[:space:]]+ANY[[:space:]]+TSIG' "(a) the answer carries named's TSIG"
wait_until 10 grep -Eq "signed\\.test/IN'?: AXFR started: TSIG $XOT_TSIG_NAME" "$XLOG" ||
	{ tail -n 5 "$XLOG"; fail "(a) named logged no AXFR of signed.test verified with TSIG $XOT_TSIG_NAME"; }
ok "(a) named: $(grep -E "AXFR started: TSIG $XOT_TSIG_NAME" "$XLOG" | tail -n 1 | sed 's/.*transfer of //')"
kd "$PA" -y "$KEY" small.test AXFR >"$T/a-signed-small.txt" 2>&1
xfr_ok "$T/a-signed-small.txt" "(a) signed AXFR small.test" $((XOT_ZONE_SMALL_N + 1))

# A wrong secret under the right name: forwarded (the proxy has no secret),
# named's NOTAUTH/BADSIG relayed.
kd "$PA" -y "$WRONG" signed.test AXFR >"$T/a-wrong.txt" 2>&1 && fail "(a) AXFR with a wrong secret succeeded"
assert_grep "$T/a-wrong.txt" 'BADSIG|NOTAUTH' "(a) wrong secret: named's BADSIG relayed (TSIG-07)"
wait_until 10 grep -Eq 'tsig verify failure|invalid signature' "$XLOG" ||
	{ tail -n 5 "$T/named.log"; fail "(a) named logged no TSIG failure for the wrong secret"; }
ok "(a) named: $(grep -E 'tsig verify failure|invalid signature' "$XLOG" | tail -n 1 | cut -d' ' -f3-)"
alive "$PROXY_PID" || fail "proxy (a) died"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy (a) exited with status $? on SIGTERM"

########################################################################
note "=== (b) [key xfr-key] with its secret: the proxy verifies"
PB=$(free_port) || fail "no free port"
policy_ini "$T/b.ini" "$PB" "$NP"
cat >>"$T/b.ini" <<EOF

[key $XOT_TSIG_NAME]
algorithm = $XOT_TSIG_ALG
secret = $XOT_TSIG_SECRET

[key other-key]
algorithm = $XOT_TSIG_ALG
secret = $OTHER_SECRET

[acl keyed]
address = 127.0.0.0/8
tsig-key = $XOT_TSIG_NAME

[zone signed.test]
acl = keyed

[zone small.test]
acl = keyed
EOF
start_policy_proxy proxy-b "$T/b.ini" "$PB"
tsigfail() { grep -Ec 'tsig verify failure|invalid signature|BADKEY|BADTIME' "$XLOG"; }
F0=$(tsigfail)
assert_nogrep "$PROXY_LOG" "$XOT_TSIG_SECRET|$OTHER_SECRET" "(b) no secret in the proxy's log"
assert_nogrep "$T/proxy-b.check" "$XOT_TSIG_SECRET|$OTHER_SECRET" "(b) no secret in xotproxy -t output"

kd "$PB" -y "$KEY" signed.test AXFR >"$T/b-signed.txt" 2>&1
xfr_ok "$T/b-signed.txt" "(b) signed AXFR signed.test" $((XOT_ZONE_SIGNED_N + 1))

# Wrong secret: NOTAUTH + BADSIG from the proxy, unsigned, named sees nothing.
not_forwarded "(b) SOA with a wrong secret" "$T/b-wrong-soa.txt" kd "$PB" -y "$WRONG" signed.test SOA
assert_grep "$T/b-wrong-soa.txt" 'status: (BADSIG|NOTAUTH)' "(b) wrong secret, SOA: BADSIG"
not_forwarded "(b) AXFR with a wrong secret" "$T/b-wrong.txt" kd "$PB" -y "$WRONG" signed.test AXFR
assert_grep "$T/b-wrong.txt" "server replied with error '(BADSIG|NOTAUTH)'" "(b) wrong secret, AXFR: BADSIG"
[ -z "$(xfr_records "$T/b-wrong.txt")" ] || fail "(b) wrong secret: records transferred"
not_forwarded "(b) wrong secret (python)" "$T/b-wrong-py.txt" pol --port "$PB" --ca "$XOT_CA" --tsig "$WRONG" q:signed.test/AXFR/tsig q:small.test/SOA/tsig
for i in 1 2; do
	[ "$(stream_field "$T/b-wrong-py.txt" rcode $i)" = NOTAUTH ] &&
		[ "$(stream_field "$T/b-wrong-py.txt" tsig_error $i)" = BADSIG ] &&
		[ "$(stream_field "$T/b-wrong-py.txt" mac_len $i)" = 0 ] &&
		[ "$(stream_field "$T/b-wrong-py.txt" echo $i)" = yes ] ||
		{ cat "$T/b-wrong-py.txt"; fail "(b) wrong secret, query $i: not NOTAUTH + BADSIG with an empty MAC"; }
done
ok "(b) wrong secret: NOTAUTH, TSIG error BADSIG, MAC size 0 (RFC 8945 §5.3.2), question echoed, session kept"
[ "$(tsigfail)" = "$F0" ] || { grep -E 'tsig|BAD' "$XLOG" | tail -n 3; fail "(b) named logged a TSIG failure: a forged request reached it"; }
ok "(b) named logged no TSIG failure (it never saw the forged requests)"

# Unknown key name: BADKEY (unsigned) or REFUSED; never forwarded.
not_forwarded "(b) unknown key name" "$T/b-nokey.txt" pol --port "$PB" --ca "$XOT_CA" --tsig "$NOKEY" q:small.test/SOA/tsig/edns
rc=$(stream_field "$T/b-nokey.txt" rcode)
te=$(stream_field "$T/b-nokey.txt" tsig_error)
if [ "$rc" = NOTAUTH ] && [ "$te" = BADKEY ] && [ "$(stream_field "$T/b-nokey.txt" mac_len)" = 0 ]; then
	ok "(b) unknown key: NOTAUTH + BADKEY, empty MAC"
elif [ "$rc" = REFUSED ]; then
	ok "(b) unknown key: REFUSED (ede $(stream_field "$T/b-nokey.txt" ede))"
else
	cat "$T/b-nokey.txt"
	fail "(b) unknown key: rcode $rc tsig_error $te"
fi

# The configured key name with another algorithm: BADKEY (RFC 8945 §5.2.1:
# the key is not recognized as that algorithm), unsigned, never forwarded.
ALG512="hmac-sha512:$XOT_TSIG_NAME:$XOT_TSIG_SECRET"
not_forwarded "(b) $XOT_TSIG_NAME with hmac-sha512" "$T/b-alg.txt" \
	pol --port "$PB" --ca "$XOT_CA" --tsig "$ALG512" q:small.test/SOA/tsig/edns
[ "$(stream_field "$T/b-alg.txt" rcode)" = NOTAUTH ] && [ "$(stream_field "$T/b-alg.txt" tsig_error)" = BADKEY ] &&
	[ "$(stream_field "$T/b-alg.txt" mac_len)" = 0 ] ||
	{ cat "$T/b-alg.txt"; fail "(b) algorithm mismatch: not NOTAUTH + BADKEY with an empty MAC"; }
ok "(b) $XOT_TSIG_NAME signed with hmac-sha512 (configured: $XOT_TSIG_ALG): NOTAUTH + BADKEY, empty MAC"
kd "$PB" -y "$ALG512" small.test SOA >"$T/b-alg-kdig.txt" 2>&1
assert_grep "$T/b-alg-kdig.txt" 'status: (BADKEY|NOTAUTH)' "(b) algorithm mismatch, kdig: BADKEY"

# Stale and future Time Signed: NOTAUTH + BADTIME, signed, Other Data = the
# proxy's time (6 octets), answered at once.
for off in -1000 1000; do
	not_forwarded "(b) Time Signed now${off}s" "$T/b-time$off.txt" \
		pol --port "$PB" --ca "$XOT_CA" --tsig "$KEY" "q:signed.test/AXFR/tsigtime=$off"
	f=$T/b-time$off.txt
	[ "$(stream_field "$f" rcode)" = NOTAUTH ] && [ "$(stream_field "$f" tsig_error)" = BADTIME ] ||
		{ cat "$f"; fail "(b) Time Signed now${off}s: not NOTAUTH + BADTIME"; }
	[ "$(stream_field "$f" tsig)" = ok ] || { cat "$f"; fail "(b) BADTIME answer: its MAC does not verify (tsig=$(stream_field "$f" tsig))"; }
	other=$(stream_field "$f" other)
	[ ${#other} = 12 ] || fail "(b) BADTIME: Other Data '$other' is not 6 octets"
	d=$(($(printf '%d' "0x$other") - $(date +%s)))
	[ "${d#-}" -le 5 ] || fail "(b) BADTIME: Other Data says $((16#$other)), $d s from now"
	el=$(stream_field "$f" time)
	awk -v e="$el" 'BEGIN { exit !(e < 1) }' || fail "(b) BADTIME answer took $el s"
	ok "(b) Time Signed now${off}s: NOTAUTH + BADTIME, signed and verified, Other Data = proxy time ($d s off), in $el s"
done

# The proxy's own answers to signed requests carry a verifiable TSIG.
kd "$PB" -y "$KEY" +edns small.test A >"$T/b-a.txt" 2>&1
assert_answer "$T/b-a.txt" "(b) signed A query" REFUSED '21 '
no_tsig_warning "$T/b-a.txt" "(b) signed A query (REFUSED EDE 21)"
kd "$PB" -y "$KEY" +edns unknown.test SOA >"$T/b-unknown.txt" 2>&1
assert_answer "$T/b-unknown.txt" "(b) signed SOA unknown.test" REFUSED '18 '
no_tsig_warning "$T/b-unknown.txt" "(b) signed SOA of an unknown zone (REFUSED EDE 18)"
kd "$PB" -y "$KEY" +edns small.test NOTIFY >"$T/b-notify.txt" 2>&1
assert_grep "$T/b-notify.txt" 'opcode: NOTIFY; status: NOTIMP' "(b) signed NOTIFY: NOTIMP"
no_tsig_warning "$T/b-notify.txt" "(b) signed NOTIFY (NOTIMP)"
# other-key is a known key (verifies) but not in the zone's ACL: REFUSED
# EDE 18, signed with other-key.
not_forwarded "(b) other-key (valid, not in the ACL)" "$T/b-other.txt" kd "$PB" -y "$OTHER" +edns small.test SOA
assert_answer "$T/b-other.txt" "(b) SOA signed with other-key" REFUSED '18 '
no_tsig_warning "$T/b-other.txt" "(b) REFUSED to other-key"
kd "$PB" -y "$OTHER" small.test AXFR >"$T/b-other-axfr.txt" 2>&1 && fail "(b) AXFR with other-key succeeded"
xfr_err "$T/b-other-axfr.txt" "(b) AXFR with other-key" REFUSED
pol --port "$PB" --ca "$XOT_CA" --tsig "$OTHER" q:small.test/AXFR/edns/tsig >"$T/b-other-py.txt" 2>&1
[ "$(stream_field "$T/b-other-py.txt" rcode)" = REFUSED ] && [ "$(stream_field "$T/b-other-py.txt" tsig)" = ok ] ||
	{ cat "$T/b-other-py.txt"; fail "(b) AXFR with other-key: not a REFUSED signed with other-key"; }
ok "(b) REFUSED AXFR to other-key: signed with other-key, MAC verified"
pol --port "$PB" --ca "$XOT_CA" --tsig "$KEY" q:small.test/A/edns/tsig q:unknown.test/AXFR/edns/tsig \
	q:small.test/SOA/tsig >"$T/b-py.txt" 2>&1 || { cat "$T/b-py.txt"; fail "(b) python session failed"; }
for i in 1 2 3; do
	[ "$(stream_field "$T/b-py.txt" tsig $i)" = ok ] ||
		{ cat "$T/b-py.txt"; fail "(b) python: answer $i's TSIG does not verify"; }
done
[ "$(stream_field "$T/b-py.txt" rcode 1)" = REFUSED ] && [[ $(stream_field "$T/b-py.txt" ede 1) == 21:* ]] &&
	[ "$(stream_field "$T/b-py.txt" rcode 2)" = REFUSED ] && [[ $(stream_field "$T/b-py.txt" ede 2) == 18:* ]] &&
	[ "$(stream_field "$T/b-py.txt" rcode 3)" = NOERROR ] || { cat "$T/b-py.txt"; fail "(b) python: unexpected answers"; }
ok "(b) python: REFUSED/21, REFUSED/18 and named's SOA all signed, MACs recomputed and equal"
# A signed query without EDNS gets no OPT but still the TSIG.
kd "$PB" -y "$KEY" +noedns small.test A >"$T/b-a-noedns.txt" 2>&1
assert_nogrep "$T/b-a-noedns.txt" 'EDNS PSEUDOSECTION' "(b) signed A without EDNS: no OPT"
no_tsig_warning "$T/b-a-noedns.txt" "(b) signed A without EDNS"
alive "$PROXY_PID" || fail "proxy (b) died"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy (b) exited with status $? on SIGTERM"

########################################################################
note "=== (c) transfer-rate 1/3600 per key, secret-file: forged requests cost nothing"
PC=$(free_port) || fail "no free port"
printf '%s\n' "$XOT_TSIG_SECRET" >"$T/xfr-key.secret"
chmod 600 "$T/xfr-key.secret"
policy_ini "$T/c.ini" "$PC" "$NP" transfer-rate=1/3600
cat >>"$T/c.ini" <<EOF

[key $XOT_TSIG_NAME]
algorithm = $XOT_TSIG_ALG
secret-file = $T/xfr-key.secret

[acl keyed]
address = 127.0.0.0/8
tsig-key = $XOT_TSIG_NAME

[zone signed.test]
acl = keyed
EOF
start_policy_proxy proxy-c "$T/c.ini" "$PC"
for i in 1 2 3; do
	kd "$PC" -y "$WRONG" signed.test AXFR >"$T/c-forged$i.txt" 2>&1 && fail "(c) forged AXFR $i succeeded"
	assert_grep "$T/c-forged$i.txt" "server replied with error '(BADSIG|NOTAUTH)'" "(c) forged AXFR $i: BADSIG (not the rate's SERVFAIL)"
done
kd "$PC" -y "$KEY" signed.test AXFR >"$T/c-first.txt" 2>&1
xfr_ok "$T/c-first.txt" "(c) first genuine AXFR after 3 forged ones (the budget is intact)" $((XOT_ZONE_SIGNED_N + 1))
kd "$PC" -y "$KEY" signed.test AXFR >"$T/c-second.txt" 2>&1 && fail "(c) a second AXFR within the rate succeeded"
xfr_err "$T/c-second.txt" "(c) second AXFR (rate 1/3600)" SERVFAIL
kd "$PC" -y "$KEY" +edns signed.test SOA >"$T/c-soa.txt" 2>&1
assert_answer "$T/c-soa.txt" "(c) signed SOA while the key is over its rate (SOA is no transfer)" NOERROR
no_tsig_warning "$T/c-soa.txt" "(c) named's signed SOA"
pol --port "$PC" --ca "$XOT_CA" --tsig "$KEY" q:signed.test/AXFR/edns/tsig >"$T/c-py.txt" 2>&1
[ "$(stream_field "$T/c-py.txt" rcode)" = SERVFAIL ] && [ "$(stream_field "$T/c-py.txt" ede)" = '0:"transfer rate"' ] &&
	[ "$(stream_field "$T/c-py.txt" tsig)" = ok ] ||
	{ cat "$T/c-py.txt"; fail "(c) over-rate AXFR: not SERVFAIL + EDE 0 \"transfer rate\" with a valid TSIG"; }
ok "(c) over-rate AXFR: SERVFAIL, EDE 0 \"transfer rate\", TSIG verified, in $(stream_field "$T/c-py.txt" time) s"
alive "$NAMED_PID" || fail "named died"
# A SERVFAIL the proxy makes after forwarding (backend unreachable, EDE 23)
# is signed too.
stop_pid "$NAMED_PID" TERM 10
pol --port "$PC" --ca "$XOT_CA" --tsig "$KEY" q:signed.test/SOA/edns/tsig >"$T/c-down.txt" 2>&1
[ "$(stream_field "$T/c-down.txt" rcode)" = SERVFAIL ] && [[ $(stream_field "$T/c-down.txt" ede) == 23:* ]] &&
	[ "$(stream_field "$T/c-down.txt" tsig)" = ok ] ||
	{ cat "$T/c-down.txt"; fail "(c) backend down: not a signed SERVFAIL + EDE 23"; }
ok "(c) backend down: SERVFAIL, EDE $(stream_field "$T/c-down.txt" ede), TSIG verified"
kd "$PC" -y "$KEY" +edns signed.test SOA >"$T/c-down-kdig.txt" 2>&1
assert_answer "$T/c-down-kdig.txt" "(c) backend down, kdig" SERVFAIL '23 '
no_tsig_warning "$T/c-down-kdig.txt" "(c) SERVFAIL EDE 23"
alive "$PROXY_PID" || fail "proxy (c) died"
pass
