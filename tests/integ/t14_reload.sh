#!/bin/bash
# t14: SIGHUP reloads the configuration, certificate and key without cutting
# transfers (PRX-07): an AXFR running across the reload completes; new
# connections get the new certificate and the new ACL; session tickets from
# before the reload still resume (DOT-09); a broken file keeps the running
# configuration.
. "$(dirname "$0")/lib.sh"
test_init

CLIENT=$(cd "$(dirname "$0")/../tools" && pwd)/xotclient.py
F=$(dirname "$XOT_CA")
cp "$F/ca.pem" "$F/ca.key" "$T/"
make_server_cert "$T" second ec
pin() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64; }
PIN1=$(pin "$XOT_CERT")
PIN2=$(pin "$T/second.pem")
[ "$PIN1" != "$PIN2" ] || fail "test certificates share a key"

P=$(free_port) || fail "no free port"
cp "$XOT_CERT" "$T/live.pem"
cp "$XOT_KEY" "$T/live.key"
chmod 600 "$T/live.key"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT" "$T/live.pem" "$T/live.key"
start_proxy proxy "$T/xotproxy.ini" "$P"

kdig_pin() { kdig @127.0.0.1 -p "$P" +tls-pin="$1" +time=10 +retry=0 small.test SOA; }
kdig_pin "$PIN1" >"$T/before.txt" 2>&1 || fail "first certificate not served: $(tail -n 3 "$T/before.txt")"
ok "serving the first certificate"
# s_client writes the session when the ticket arrives: hold stdin open until then.
wait_until 10 test -s "$T/sess.pem" | openssl s_client -connect "127.0.0.1:$P" -servername xot.test -CAfile "$XOT_CA" -tls1_3 -alpn dot \
	-sess_out "$T/sess.pem" >/dev/null 2>&1
[ -s "$T/sess.pem" ] || fail "no session ticket before the reload"

# A slow AXFR (the client stalls 3 s after the first bytes) spans the reload.
python3 "$CLIENT" --port "$P" --ca "$XOT_CA" --stall 3 example.test/AXFR >"$T/long.out" 2>"$T/long.err" &
LONG=$!
_BG_PIDS+=("$LONG")
# It has started once the proxy holds a backend connection for it.
wait_until 10 bash -c "ss -tnpH state established '( dport = :$XOT_NAMED_PORT )' | grep -q 'pid=$PROXY_PID,'" ||
	fail "the long AXFR did not start"

# New certificate and an ACL that now excludes 127.0.0.1 from small.test.
cp "$T/second.pem" "$T/live.pem"
cp "$T/second.key" "$T/live.key"
sed -i '/^\[zone small.test\]/,/^allow/ s|^allow = .*|allow = 127.0.0.2/32|' "$T/xotproxy.ini"
kill -HUP "$PROXY_PID"
wait_until 10 grep -q "reloaded " "$PROXY_LOG" || { tail -n 5 "$PROXY_LOG"; fail "no 'reloaded' log line"; }
ok "log: $(grep 'reloaded ' "$PROXY_LOG" | tail -n 1)"

kdig_pin "$PIN2" >"$T/after.txt" 2>&1 || fail "new certificate not served after SIGHUP: $(tail -n 3 "$T/after.txt")"
ok "new connections get the new certificate"
kdig_pin "$PIN1" >"$T/old.txt" 2>&1 && fail "old certificate still served after SIGHUP"
kd "$P" small.test SOA >"$T/acl.txt" 2>&1
[ "$(dig_status "$T/acl.txt")" = REFUSED ] || fail "new ACL not applied: status $(dig_status "$T/acl.txt")"
ok "new ACL applied (small.test now REFUSED for 127.0.0.1)"
echo | openssl s_client -connect "127.0.0.1:$P" -servername xot.test -CAfile "$XOT_CA" -tls1_3 -alpn dot \
	-sess_in "$T/sess.pem" >"$T/resume.txt" 2>&1
assert_grep "$T/resume.txt" '^Reused, TLSv1.3' "a ticket from before the reload still resumes"

wait_pid_exit "$LONG" 60 || fail "the AXFR spanning the reload did not finish"
grep -q " done$" "$T/long.out" || fail "AXFR across the reload incomplete: $(cat "$T/long.out" "$T/long.err")"
ok "AXFR across the reload completed: $(head -n 1 "$T/long.out")"

# A broken configuration keeps the running one.
echo "bogus line" >>"$T/xotproxy.ini"
kill -HUP "$PROXY_PID"
wait_until 10 grep -q "reload failed" "$PROXY_LOG" || fail "no 'reload failed' log line for a broken file"
ok "log: $(grep 'reload failed' "$PROXY_LOG" | tail -n 1)"
kdig_pin "$PIN2" >"$T/still.txt" 2>&1 || fail "proxy stopped serving after a failed reload"
ok "still serving after a failed reload"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"
pass
