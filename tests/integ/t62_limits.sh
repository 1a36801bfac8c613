#!/bin/bash
# t62: transfer caps and rates per client key (issue 9: [inbound]
# transfer-rate, max-transfers-per-client, max-transfers).
#   XOT-10 (a server may cap concurrent XFRs in total or per secondary and
#     SHOULD answer SERVFAIL): over a cap, SERVFAIL + EDE 0 "transfer limit";
#     over the rate, SERVFAIL + EDE 0 "transfer rate"; question echoed, the
#     session kept, answered at once (TSIG-05: limits answer, never queue).
#   PRX-04 (per-client XFR starts and concurrent XFRs, another client
#     unaffected): the client key is the address unless the query is signed
#     with a key whose MAC the proxy verified (then the TSIG key name; issue
#     13 B13: a name-only key is no identity), so 127.0.0.2 and a TSIG-signed client from
#     127.0.0.1 are unaffected while 127.0.0.1 is limited; SOA is no transfer
#     and passes throughout; the rate refills (token bucket) and the slot of
#     a finished transfer is given back.
#   TCP-04 (caps looser than client guidance; other IPs unaffected).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_policy.sh"
test_init

KEY="$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET"
SMALL_N="$(shared_count small.test)"

# limits_ini FILE PORT KEY=VALUE...: local clients (127.0.0.0/8) for
# small.test and example.test, the TSIG key (with its secret: the proxy
# verifies it, so its name is a client key) for signed.test.
limits_ini() {
	local f=$1 p=$2
	shift 2
	policy_ini "$f" "$p" "$XOT_NAMED_PORT" "$@"
	cat >>"$f" <<EOF

[key $XOT_TSIG_NAME]
algorithm = $XOT_TSIG_ALG
secret = $XOT_TSIG_SECRET

[acl local]
address = 127.0.0.0/8

[acl keyed]
address = 127.0.0.0/8
tsig-key = $XOT_TSIG_NAME

[zone small.test]
acl = local

[zone example.test]
acl = local

[zone signed.test]
acl = keyed
EOF
}

# limited FILE N WHAT TEXT: the Nth stream of an xotpolicy.py output is
# SERVFAIL + EDE 0 "TEXT", question echoed, answered within 1 s.
limited() {
	local f=$1 n=$2 what=$3 text=$4 el
	[ "$(stream_field "$f" rcode "$n")" = SERVFAIL ] &&
		[ "$(stream_field "$f" ede "$n")" = "0:\"$text\"" ] &&
		[ "$(stream_field "$f" echo "$n")" = yes ] ||
		{ cat "$f"; fail "$what: not SERVFAIL + EDE 0 \"$text\" with the question echoed"; }
	el=$(stream_field "$f" time "$n")
	awk -v e="$el" 'BEGIN { exit !(e < 1) }' || fail "$what: answered after $el s (limits must answer at once)"
	ok "$what: SERVFAIL, EDE 0 \"$text\", question echoed, in $el s"
}
# admitted FILE N WHAT RECORDS: the Nth stream is a complete AXFR.
admitted() {
	local f=$1 n=$2 what=$3 want=$4
	[ "$(stream_field "$f" rcode "$n")" = NOERROR ] && [ "$(stream_field "$f" end "$n")" = complete ] &&
		[ "$(stream_field "$f" records "$n")" = "$want" ] ||
		{ cat "$f"; fail "$what: not a complete AXFR of $want records"; }
	ok "$what: complete, $want records"
}

# hold_axfr NAME SOURCE ZONE RELEASE: a python client from SOURCE that sends
# an AXFR of ZONE and reads nothing (4 KiB receive buffer) until RELEASE
# exists, then reads the whole stream. Sets HOLD_PID.
hold_axfr() {
	bg_start "$1" python3 "$POLICY" --port "$P" --ca "$XOT_CA" --source "$2" --rcvbuf 4096 --timeout 90 \
		"send:$3/AXFR/edns" "wait:$4:90" collect:90
	HOLD_PID=$LAST_PID
	wait_until 10 proxy_has_backend_conn "$PROXY_PID" "$XOT_NAMED_PORT" ||
		{ cat "$T/$1.log"; fail "$1: the held AXFR did not start (no backend connection)"; }
	ok "$1: AXFR of $3 from $2 running, its reader stalled"
}
# release_axfr NAME RELEASE RECORDS: let the held client read; its AXFR must
# complete with RECORDS records.
release_axfr() {
	touch "$2"
	wait_pid_exit "$HOLD_PID" 60 || { cat "$T/$1.log"; fail "$1: exit $? after the release"; }
	admitted "$T/$1.log" 1 "$1 after the release" "$3"
}

########################################################################
note "=== transfer-rate = 2/4 (2 AXFR starts per 4 s per client key)"
P=$(free_port) || fail "no free port"
limits_ini "$T/rate.ini" "$P" transfer-rate=2/4
start_policy_proxy proxy-rate "$T/rate.ini" "$P"

pol --port "$P" --ca "$XOT_CA" --source 127.0.0.1 q:small.test/AXFR/edns q:small.test/AXFR/edns \
	q:small.test/AXFR/edns q:small.test/SOA/edns >"$T/rate1.txt" 2>&1
t_refused=$(ms_now)
admitted "$T/rate1.txt" 1 "127.0.0.1 AXFR 1 of 3" "$SMALL_N"
admitted "$T/rate1.txt" 2 "127.0.0.1 AXFR 2 of 3" "$SMALL_N"
limited "$T/rate1.txt" 3 "127.0.0.1 AXFR 3 of 3 (over 2/4)" "transfer rate"
[ "$(stream_field "$T/rate1.txt" rcode 4)" = NOERROR ] ||
	{ cat "$T/rate1.txt"; fail "SOA on the same session after the rate refusal: not NOERROR"; }
ok "127.0.0.1: SOA after the rate refusal answered on the same session"
grep -q 'result: ok' "$T/rate1.txt" || { cat "$T/rate1.txt"; fail "the rate-limited session did not end cleanly"; }

# Other client keys are unaffected while 127.0.0.1 is out of tokens.
kdig @127.0.0.1 -p "$P" -b 127.0.0.2 +tls-ca="$XOT_CA" +tls-hostname=xot.test +nopadding +time=15 +retry=0 \
	small.test AXFR >"$T/rate-other-ip.txt" 2>&1
xfr_ok "$T/rate-other-ip.txt" "127.0.0.2 (another address) while 127.0.0.1 is limited" "$SMALL_N"
kd "$P" -y "$KEY" signed.test AXFR >"$T/rate-tsig.txt" 2>&1
xfr_ok "$T/rate-tsig.txt" "TSIG-signed client from 127.0.0.1 (key $XOT_TSIG_NAME) while 127.0.0.1 is limited" "$(shared_count signed.test)"
# The bucket refills: 127.0.0.1 is admitted again (1 token per 2 s).
admitted_again() {
	pol --port "$P" --ca "$XOT_CA" --source 127.0.0.1 q:small.test/AXFR/edns >"$T/rate-poll.txt" 2>&1
	[ "$(stream_field "$T/rate-poll.txt" rcode)" = NOERROR ]
}
wait_until 8 admitted_again || { cat "$T/rate-poll.txt"; fail "127.0.0.1 not admitted again within 8 s of its refusal (rate 2/4)"; }
el=$(($(ms_now) - t_refused))
admitted "$T/rate-poll.txt" 1 "127.0.0.1 after the refill (${el} ms after the refusal)" "$SMALL_N"
[ "$el" -le 6000 ] || fail "refill took $el ms; 2/4 gives a token every 2 s"
wait_until 10 grep -q 'transfer rate' "$PROXY_LOG" || fail "no rate refusal in the proxy log"
ok "proxy: $(grep -E 'transfer rate' "$PROXY_LOG" | head -n 1 | cut -d' ' -f3-)"
alive "$PROXY_PID" || fail "proxy died"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"

########################################################################
note "=== max-transfers-per-client = 1"
P=$(free_port) || fail "no free port"
limits_ini "$T/per.ini" "$P" max-transfers-per-client=1
start_policy_proxy proxy-per "$T/per.ini" "$P"

hold_axfr holdA 127.0.0.1 example.test "$T/releaseA"
pol --port "$P" --ca "$XOT_CA" --source 127.0.0.1 q:small.test/AXFR/edns q:small.test/SOA/edns \
	q:small.test/IXFR/edns >"$T/per1.txt" 2>&1
limited "$T/per1.txt" 1 "127.0.0.1 second AXFR while its first runs" "transfer limit"
[ "$(stream_field "$T/per1.txt" rcode 2)" = NOERROR ] || { cat "$T/per1.txt"; fail "127.0.0.1 SOA while at its cap: not NOERROR"; }
ok "127.0.0.1 SOA while at its cap: NOERROR (SOA is no transfer)"
limited "$T/per1.txt" 3 "127.0.0.1 IXFR while its AXFR runs (IXFR counts too)" "transfer limit"
kdig @127.0.0.1 -p "$P" -b 127.0.0.2 +tls-ca="$XOT_CA" +tls-hostname=xot.test +nopadding +time=15 +retry=0 \
	small.test AXFR >"$T/per-other-ip.txt" 2>&1
xfr_ok "$T/per-other-ip.txt" "127.0.0.2 while 127.0.0.1 is at its cap" "$SMALL_N"
kd "$P" -y "$KEY" signed.test AXFR >"$T/per-tsig.txt" 2>&1
xfr_ok "$T/per-tsig.txt" "TSIG-signed client from 127.0.0.1 while 127.0.0.1 is at its cap" "$(shared_count signed.test)"
# Two at once from two other keys: per-client means each has its own slot.
pol --port "$P" --ca "$XOT_CA" --source 127.0.0.3 q:small.test/AXFR/edns >"$T/per-3.txt" 2>&1 &
p3=$!
pol --port "$P" --ca "$XOT_CA" --source 127.0.0.4 q:small.test/AXFR/edns >"$T/per-4.txt" 2>&1
wait "$p3"
admitted "$T/per-3.txt" 1 "127.0.0.3" "$SMALL_N"
admitted "$T/per-4.txt" 1 "127.0.0.4" "$SMALL_N"
# The held transfer was running all along (else nothing above was tested).
proxy_has_backend_conn "$PROXY_PID" "$XOT_NAMED_PORT" && alive "$HOLD_PID" ||
	{ cat "$T/holdA.log"; fail "holdA's AXFR ended before the checks finished"; }
pol --port "$P" --ca "$XOT_CA" --source 127.0.0.1 q:small.test/AXFR/edns >"$T/per2.txt" 2>&1
limited "$T/per2.txt" 1 "127.0.0.1 on a new session, still at its cap" "transfer limit"
release_axfr holdA "$T/releaseA" "$(shared_count example.test)"
admitted_after() {
	pol --port "$P" --ca "$XOT_CA" --source 127.0.0.1 q:small.test/AXFR/edns >"$T/per-after.txt" 2>&1
	[ "$(stream_field "$T/per-after.txt" rcode)" = NOERROR ]
}
wait_until 5 admitted_after || { cat "$T/per-after.txt"; fail "127.0.0.1 not admitted after its transfer ended (slot not given back)"; }
admitted "$T/per-after.txt" 1 "127.0.0.1 after its transfer ended" "$SMALL_N"
alive "$PROXY_PID" || fail "proxy died"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"

########################################################################
note "=== max-transfers = 1 (the whole listener set)"
P=$(free_port) || fail "no free port"
limits_ini "$T/max.ini" "$P" max-transfers=1
start_policy_proxy proxy-max "$T/max.ini" "$P"

hold_axfr holdB 127.0.0.1 example.test "$T/releaseB"
pol --port "$P" --ca "$XOT_CA" --source 127.0.0.2 q:small.test/AXFR/edns q:small.test/SOA/edns >"$T/max1.txt" 2>&1
limited "$T/max1.txt" 1 "127.0.0.2 AXFR while 127.0.0.1's runs (max-transfers 1)" "transfer limit"
[ "$(stream_field "$T/max1.txt" rcode 2)" = NOERROR ] || { cat "$T/max1.txt"; fail "127.0.0.2 SOA at the global cap: not NOERROR"; }
ok "127.0.0.2 SOA at the global cap: NOERROR"
pol --port "$P" --ca "$XOT_CA" --tsig "$KEY" q:signed.test/AXFR/edns/tsig >"$T/max-tsig.txt" 2>&1
limited "$T/max-tsig.txt" 1 "TSIG-signed client at the global cap" "transfer limit"
proxy_has_backend_conn "$PROXY_PID" "$XOT_NAMED_PORT" && alive "$HOLD_PID" ||
	{ cat "$T/holdB.log"; fail "holdB's AXFR ended before the checks finished"; }
release_axfr holdB "$T/releaseB" "$(shared_count example.test)"
admitted_b() {
	pol --port "$P" --ca "$XOT_CA" --source 127.0.0.2 q:small.test/AXFR/edns >"$T/max-after.txt" 2>&1
	[ "$(stream_field "$T/max-after.txt" rcode)" = NOERROR ]
}
wait_until 5 admitted_b || { cat "$T/max-after.txt"; fail "127.0.0.2 not admitted after the running transfer ended"; }
admitted "$T/max-after.txt" 1 "127.0.0.2 once the global slot is free" "$SMALL_N"
wait_until 10 grep -q 'transfer limit' "$PROXY_LOG" || fail "no 'transfer limit' in the proxy log"
ok "proxy: $(grep 'transfer limit' "$PROXY_LOG" | head -n 1 | cut -d' ' -f3-)"
alive "$PROXY_PID" || fail "proxy died"
pass
