#!/bin/bash
# t100: each listener set pauses on its own (issue 14, item 1). One process
# runs [inbound] with max-clients = 1 and an [outbound] group. While one
# silent connection holds the inbound side at max-clients (its accepting
# paused, logged), a new inbound client is not served, yet the outbound
# group's TCP listener still accepts and answers: the inbound pause used
# to stop the outbound listeners too. Once the holder goes, inbound
# accepting resumes.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

ABUSE=$(cd "$(dirname "$0")/../tools" && pwd)/xotabuse.py
PK=$(free_port) && P=$(free_port) && O=$(free_port) || fail "no free port"
start_xot_primary primary "$PK" "$XOT_NAMED_PORT"

proxy_ini "$T/both.ini" "$P" "$XOT_NAMED_PORT"
sed -i 's/^handshake-timeout = .*/handshake-timeout = 60/' "$T/both.ini"
sed -i "/^idle-timeout/a max-clients = 1" "$T/both.ini"
cat >>"$T/both.ini" <<INI

[outbound primary-a]
listen = 127.0.0.1:$O
allow = 127.0.0.0/8 ::1
primary = 127.0.0.1:$PK
ca = $XOT_CA
auth-name = xot.test
connect-timeout = 5
INI
start_proxy both "$T/both.ini" "$P"
wait_until 10 tcp_listening "$O" || fail "outbound TCP $O not listening"

# one silent connection: in its TLS handshake, it counts toward max-clients
bg_start holder python3 "$ABUSE" flood --port "$P" --count 1 --modes silent \
	--status "$T/hold.status" --until-file "$T/stop" --wait 60
HOLDER=$LAST_PID
wait_until 20 test -e "$T/hold.status" || fail "the holder did not connect"
wait_until 10 grep -q "max-clients (1) reached; pausing accepts" "$PROXY_LOG" ||
	{ tail -n 5 "$PROXY_LOG"; fail "no 'max-clients (1) reached; pausing accepts' line"; }
ok "inbound at max-clients (1): accepting paused"

kd "$P" small.test SOA +time=2 >"$T/in-paused.txt" 2>&1 &&
	fail "an inbound client was served while inbound is paused: $(head -n 3 "$T/in-paused.txt")"
ok "inbound client not served while paused"

kdig @127.0.0.1 -p "$O" +tcp +time=5 +retry=0 small.test SOA >"$T/out-tcp.txt" 2>&1
[ "$(dig_status "$T/out-tcp.txt")" = NOERROR ] ||
	fail "outbound TCP query not answered while inbound is paused: $(tail -n 3 "$T/out-tcp.txt")"
ok "outbound TCP listener accepts and answers while inbound is paused"
kdig @127.0.0.1 -p "$O" +notcp +time=5 +retry=0 small.test SOA >"$T/out-udp.txt" 2>&1
[ "$(dig_status "$T/out-udp.txt")" = NOERROR ] || fail "outbound UDP query not answered: $(tail -n 3 "$T/out-udp.txt")"
ok "outbound UDP answers too"

touch "$T/stop"
wait_pid_exit "$HOLDER" 15 || fail "holder did not end"
ok=0
for _ in 1 2 3 4 5; do
	kd "$P" small.test SOA +time=3 >"$T/in-after.txt" 2>&1 && { ok=1; break; }
done
[ "$ok" = 1 ] || fail "inbound not served after the holder left: $(tail -n 3 "$T/in-after.txt")"
ok "inbound accepting resumed once below max-clients"
alive "$PROXY_PID" || fail "proxy died"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"
pass
