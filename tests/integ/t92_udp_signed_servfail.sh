#!/bin/bash
# t92: the outbound side's SERVFAIL to a TSIG-signed UDP SOA query is signed
#   when it holds the key (hostile review of issue 13, A11: "signs its own
#   TC and SERVFAIL answers to a TSIG-signed UDP query when a [key] with
#   that name and secret is configured", RFC 8945 §5.3).
#   The only primary is a port nothing listens on (connection refused), a
#   [key] with the secondary's name and secret is configured, and dig sends
#   a signed SOA poll over UDP. It must get SERVFAIL (EDE 22) signed with
#   the key. Seen: the SERVFAIL comes unsigned (dig: "Couldn't verify
#   signature: expected a TSIG or SIG(0)"): the relay's own SERVFAIL
#   (relay.c upstream_failed -> build_answer, verdict sign = false on the
#   outbound side) reaches ep_udp's udp_write -> send_answer, which signs
#   only the TC answers it makes; only reply_servfail (a close without
#   answer) signs.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

free_ports DP O
outbound_ini "$T/ob.ini" "$O" "127.0.0.1:$DP" connect-timeout=1
printf '\n[key %s]\nalgorithm = %s\nsecret = %s\n' "$XOT_TSIG_NAME" "$XOT_TSIG_ALG" "$XOT_TSIG_SECRET" >>"$T/ob.ini"
start_outbound ob "$T/ob.ini" "$O"
KEY="$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET"

dig +notcp +norec +time=10 +tries=1 -y "$KEY" @127.0.0.1 -p "$O" example.test SOA >"$T/u.txt" 2>&1
[ "$(dig_status "$T/u.txt")" = SERVFAIL ] || fail "expected SERVFAIL (no primary), got: $(head -n 3 "$T/u.txt")"
grep -q 'EDE: 22' "$T/u.txt" || fail "SERVFAIL without EDE 22: $(grep EDE "$T/u.txt")"
ok "signed UDP SOA poll: SERVFAIL, EDE 22"
assert_nogrep "$T/u.txt" "Couldn't verify signature|could not be validated" \
	"the SERVFAIL to the signed UDP query is signed with the key the proxy holds"
alive "$OUT_PID" || fail "outbound proxy died"
pass
