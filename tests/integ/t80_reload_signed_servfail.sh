#!/bin/bash
# t80: issue 13 B12, the use after free after a reload. The exact sequence:
# a query whose TSIG the proxy verified ([key] with a secret) is forwarded
# to a backend that never answers (fakeprimary.py --mode hang); SIGHUP
# reloads the configuration (the old one is freed: the [key] the query was
# verified with goes with it); backend-timeout passes and the proxy answers
# SERVFAIL + EDE 23, signed. That answer's TSIG must verify with the key
# (the token keeps a copy of it, not a pointer into the freed configuration).
# Then the same session sends a partial 4,000-octet frame (a length prefix
# and 3,000 octets of 0xff: the bytes that, before the fix, became the freed
# key's algorithm and secret length) and the proxy must still be alive and
# answer a signed SOA on a new session.
# Run on the ASan build (make integ-asan) it must report nothing: a read of
# the freed [key] is a heap-use-after-free there, which kills the process.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_policy.sh"
test_init

FAKE=$(cd "$XOT_INTEG_DIR/../tools" && pwd)/fakeprimary.py
KEY="$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET"

FP=$(free_port) || fail "no free port"
bg_start fake python3 "$FAKE" --port "$FP" --mode hang --status "$T/fake.status"
FAKE_LOG=$T/fake.log
wait_until 10 test -e "$T/fake.status" || fail "fakeprimary not listening"

P=$(free_port) || fail "no free port"
# conf VARIANT: the same policy; VARIANT adds keys so the reloaded snapshot
# is laid out differently from the one it replaces.
conf() {
	policy_ini "$T/p.ini" "$P" "$FP" backend-timeout=5
	cat >>"$T/p.ini" <<EOF

[key $XOT_TSIG_NAME]
algorithm = $XOT_TSIG_ALG
secret = $XOT_TSIG_SECRET
EOF
	for i in $(seq 1 "$1"); do
		printf '\n[key extra%s]\nalgorithm = hmac-sha512\nsecret = %s\n' "$i" \
			"$(head -c 64 /dev/urandom | base64 -w0)" >>"$T/p.ini"
	done
	cat >>"$T/p.ini" <<EOF

[acl keyed]
address = 127.0.0.0/8
tsig-key = $XOT_TSIG_NAME

[zone lone.test]
acl = keyed
EOF
}
conf 0
start_policy_proxy proxy "$T/p.ini" "$P"

pol --port "$P" --ca "$XOT_CA" --tsig "$KEY" --timeout 20 \
	"send:lone.test/SOA/edns/tsig" "touch:$T/sent" "wait:$T/reloaded:30" "collect:20" \
	"raw:0fa0" "raw:ff*3000" "hold:1" >"$T/session.out" 2>&1 &
POL=$!
_BG_PIDS+=("$POL")
wait_until 20 test -e "$T/sent" || fail "the client did not send"
wait_until 20 grep -q "query conn=.* name=lone.test type=SOA" "$FAKE_LOG" ||
	fail "the signed SOA never reached the backend: $(tail -n 3 "$PROXY_LOG")"
ok "the verified, signed SOA is forwarded; the backend stays silent"

conf 6
kill -HUP "$PROXY_PID"
wait_until 10 grep -q 'reloaded ' "$PROXY_LOG" || fail "no 'reloaded' line: $(tail -n 3 "$PROXY_LOG")"
ok "reloaded while the query is owed (the configuration it was verified under is freed)"
touch "$T/reloaded"

wait_pid_exit "$POL" 40
cat "$T/session.out"
[ "$(stream_field "$T/session.out" rcode)" = SERVFAIL ] ||
	fail "no SERVFAIL after backend-timeout (proxy alive: $(alive "$PROXY_PID" && echo yes || echo no))"
[[ $(stream_field "$T/session.out" ede) == 23:* ]] || fail "SERVFAIL without EDE 23"
[ "$(stream_field "$T/session.out" tsig)" = ok ] ||
	fail "the SERVFAIL's TSIG does not verify with the key (tsig=$(stream_field "$T/session.out" tsig))"
ok "SERVFAIL + EDE 23 after backend-timeout, signed with the key the query was verified with"
# the exact order: the reload came before the SERVFAIL was made
awk '/reloaded /{ if (!r) r = NR } /zone lone\.test\., SOA, failed/{ if (!f) f = NR } END { exit !(r && f > r) }' "$PROXY_LOG" ||
	{ grep -E 'reloaded |lone\.test' "$PROXY_LOG"; fail "the SERVFAIL was not made after the reload (machine too slow for backend-timeout?)"; }
ok "order in the log: reload, then the SERVFAIL"
grep -q 'sent 3000 raw octets' "$T/session.out" || fail "the partial frame was not sent"

alive "$PROXY_PID" || fail "the proxy died after the partial 4,000-octet frame"
assert_nogrep "$PROXY_LOG" 'AddressSanitizer|runtime error|SUMMARY:' "no sanitizer report"
pol --port "$P" --ca "$XOT_CA" --tsig "$KEY" "q:lone.test/AXFR/edns/tsig" >"$T/after.out" 2>&1
# the backend still hangs: the new session's AXFR must get the signed SERVFAIL too
[ "$(stream_field "$T/after.out" rcode)" = SERVFAIL ] && [ "$(stream_field "$T/after.out" tsig)" = ok ] ||
	{ cat "$T/after.out"; fail "a new session after the reload got no signed SERVFAIL"; }
ok "a new session after the reload: signed SERVFAIL as well"
alive "$PROXY_PID" || fail "the proxy died"
stop_pid "$PROXY_PID" TERM 15 || fail "the proxy exited with status $? on SIGTERM"
pass
