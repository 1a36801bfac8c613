#!/bin/bash
# t81: issue 13 B15, removing a CA from client-ca reaches the sessions it
# authenticated. client-ca holds ca1 and ca2; sec1 has a ca1 certificate,
# sec2 a ca2 one (a leaf + intermediate chain under ca2, so the chain the
# client presented is what is re-verified); the ACL names both. Each opens a
# session and gets small.test's SOA; SIGHUP reloads client-ca = ca1 only;
# on the same sessions sec2's AXFR gets REFUSED with EDE 18 and sec1's AXFR
# goes through; a new sec2 session is refused in the handshake. A second
# reload back to ca1 + ca2 makes sec2's old session work again (the check
# runs once per configuration generation, not once per session).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_policy.sh"
test_init

C=$T/certs
make_client_ca "$C/ca1" "client CA one" || fail "ca1"
make_client_ca "$C/ca2" "client CA two" || fail "ca2"
make_san_client_cert "$C/ca1" "$C" sec1 sec1.example.net || fail "sec1 certificate"
# sec2: ca2 -> intermediate -> leaf; the client sends leaf + intermediate
make_client_ca "$C/int2" "client CA two, intermediate" || fail "int2 key"
openssl req -new -key "$C/int2/ca.key" -subj "/CN=client CA two, intermediate" -out "$C/int2.csr" 2>/dev/null
printf 'basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n' >"$C/int2.ext"
openssl x509 -req -in "$C/int2.csr" -CA "$C/ca2/ca.pem" -CAkey "$C/ca2/ca.key" -CAcreateserial \
	-days 30 -extfile "$C/int2.ext" -out "$C/int2/ca.pem" 2>/dev/null || fail "intermediate"
make_san_client_cert "$C/int2" "$C" sec2leaf sec2.example.net 2>/dev/null || true
[ -s "$C/sec2leaf.pem" ] || fail "sec2 leaf"
cat "$C/sec2leaf.pem" "$C/int2/ca.pem" >"$C/sec2.pem"
cp "$C/sec2leaf.key" "$C/sec2.key"
openssl verify -CAfile "$C/ca2/ca.pem" -untrusted "$C/int2/ca.pem" "$C/sec2leaf.pem" >/dev/null ||
	fail "sec2's chain does not verify under ca2"
cat "$C/ca1/ca.pem" "$C/ca2/ca.pem" >"$T/both.pem"
cp "$C/ca1/ca.pem" "$T/one.pem"
cp "$T/both.pem" "$T/client-ca.pem"

P=$(free_port) || fail "no free port"
policy_ini "$T/p.ini" "$P" "$XOT_NAMED_PORT" client-ca="$T/client-ca.pem"
cat >>"$T/p.ini" <<EOF

[acl secondaries]
client-cert = sec1.example.net sec2.example.net

[zone small.test]
acl = secondaries
EOF
start_policy_proxy proxy "$T/p.ini" "$P"
N=$(shared_count small.test)

# session NAME: a session that asks SOA, waits for reload 1, asks AXFR,
# waits for reload 2, asks AXFR again.
session() {
	pol --port "$P" --ca "$XOT_CA" --cert "$C/$1.pem" --key "$C/$1.key" --timeout 20 \
		"q:small.test/SOA/edns" "touch:$T/$1.ready" "wait:$T/reload1:60" \
		"q:small.test/AXFR/edns" "touch:$T/$1.after1" "wait:$T/reload2:60" \
		"q:small.test/AXFR/edns" >"$T/$1.out" 2>&1 &
	_BG_PIDS+=("$!")
	eval "PID_$1=$!"
}
session sec1
session sec2
wait_until 20 test -e "$T/sec1.ready" -a -e "$T/sec2.ready" || fail "sessions not ready"
[ "$(stream_field "$T/sec1.out" rcode 1)" = NOERROR ] || { cat "$T/sec1.out"; fail "sec1 SOA before the reload"; }
[ "$(stream_field "$T/sec2.out" rcode 1)" = NOERROR ] || { cat "$T/sec2.out"; fail "sec2 SOA before the reload"; }
ok "before the reload: both sessions get the SOA (client-ca = ca1 + ca2)"

reloads() { grep -c 'reloaded ' "$PROXY_LOG"; }
reloaded_ge() { [ "$(reloads)" -ge "$1" ]; }
cp "$T/one.pem" "$T/client-ca.pem"
kill -HUP "$PROXY_PID"
wait_until 10 reloaded_ge 1 || fail "no reload 1: $(tail -n 3 "$PROXY_LOG")"
touch "$T/reload1"
ok "reloaded: client-ca = ca1 only"
wait_until 30 test -e "$T/sec1.after1" -a -e "$T/sec2.after1" || fail "AXFRs after reload 1 not done"

[ "$(stream_field "$T/sec2.out" rcode 2)" = REFUSED ] ||
	{ cat "$T/sec2.out"; fail "sec2 (ca2) session: AXFR after removing ca2 is not REFUSED"; }
[[ $(stream_field "$T/sec2.out" ede 2) == 18:* ]] || { cat "$T/sec2.out"; fail "sec2: REFUSED without EDE 18"; }
[ "$(stream_field "$T/sec2.out" records 2)" = 0 ] || fail "sec2: records transferred"
ok "sec2's open session (ca2, removed): AXFR REFUSED, EDE $(stream_field "$T/sec2.out" ede 2)"
assert_grep "$PROXY_LOG" 'client certificate .* no longer verifies' "log: sec2's certificate no longer verifies"
[ "$(stream_field "$T/sec1.out" rcode 2)" = NOERROR ] && [ "$(stream_field "$T/sec1.out" records 2)" = "$N" ] ||
	{ cat "$T/sec1.out"; fail "sec1 (ca1) session: AXFR after the reload"; }
ok "sec1's open session (ca1, kept): AXFR of $N records"

pol --port "$P" --ca "$XOT_CA" --cert "$C/sec2.pem" --key "$C/sec2.key" "q:small.test/SOA/edns" >"$T/sec2-new.out" 2>&1
handshake_refused "$T/sec2-new.out" "a new sec2 session after the reload"

cp "$T/both.pem" "$T/client-ca.pem"
kill -HUP "$PROXY_PID"
wait_until 10 reloaded_ge 2 || fail "no reload 2"
touch "$T/reload2"
wait_pid_exit "$PID_sec2" 30
wait_pid_exit "$PID_sec1" 30
[ "$(stream_field "$T/sec2.out" rcode 3)" = NOERROR ] && [ "$(stream_field "$T/sec2.out" records 3)" = "$N" ] ||
	{ cat "$T/sec2.out"; fail "sec2's session after ca2 is back: AXFR"; }
ok "ca2 back in client-ca: sec2's same session transfers again ($N records)"
[ "$(stream_field "$T/sec1.out" rcode 3)" = NOERROR ] || { cat "$T/sec1.out"; fail "sec1 after reload 2"; }
alive "$PROXY_PID" || fail "proxy died"
pass
