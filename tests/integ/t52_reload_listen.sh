#!/bin/bash
# t52: listen addresses follow the configuration on SIGHUP (issue 10 item 5),
# for [inbound] listen and for an [outbound NAME] group's listen (TCP and
# UDP), without touching the listeners that stay:
#   - added addresses serve at once: AXFR over TLS on the new inbound port,
#     SOA over TCP and UDP on the new outbound port; the sockets of the
#     unchanged addresses are the same ones (same inode), and a TLS session
#     held open on the first inbound port keeps answering;
#   - removed addresses refuse new connections (TCP and UDP unbound), while
#     the session accepted on the removed port still answers its next query;
#   - a reload with an address that cannot be bound (held by another process:
#     a TCP one for [inbound], a UDP one for [outbound]) fails as a whole,
#     says why, binds nothing it would have added and changes nothing else
#     (an ACL change in the same file is not applied);
#   - as root with `user = nobody`: the process keeps CAP_NET_BIND_SERVICE
#     alone, and a reload adding a second port below 1024 binds it.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
test_init

ABUSE=$(cd "$(dirname "$0")/../tools" && pwd)/xotabuse.py

X=$(free_port) || fail "no free port"     # a second xotproxy: the outbound group's XoT primary
P1=$(free_port) || fail "no free port"    # inbound, at start
P2=$(free_port) || fail "no free port"    # inbound, added
P3=$(free_port) || fail "no free port"    # inbound, in the reload that fails
O1=$(free_port) || fail "no free port"    # outbound, at start
O2=$(free_port) || fail "no free port"    # outbound, added
O3=$(free_port) || fail "no free port"    # outbound, UDP held by another process
B=$(free_port) || fail "no free port"     # TCP held by another process

# ---------------------------------------------------------------- helpers

# write_ini INBOUND-LISTEN OUTBOUND-LISTEN [SMALL-ALLOW]: the proxy under test,
# [inbound] in front of the shared named and [outbound g1] towards X.
write_ini() {
	cat >"$T/xotproxy.ini" <<EOF
[global]
log-level = info

[inbound]
listen = $1
cert = $XOT_CERT
key = $XOT_KEY
backend = 127.0.0.1:$XOT_NAMED_PORT
handshake-timeout = 10
idle-timeout = 120

[zone small.test]
allow = ${3:-127.0.0.0/8 ::1}

[zone example.test]
allow = 127.0.0.0/8 ::1

[outbound g1]
listen = $2
allow = 127.0.0.0/8
primary = 127.0.0.1:$X
ca = $XOT_CA
auth-name = xot.test
connect-timeout = 5
EOF
}

# reload_expect PATTERN: SIGHUP, then wait for one more log line matching PATTERN.
reload_expect() {
	local n
	n=$(grep -c -- "$1" "$PROXY_LOG")
	kill -HUP "$PROXY_PID"
	wait_until 10 bash -c "[ \$(grep -c -- '$1' '$PROXY_LOG') -gt $n ]" ||
		{ tail -n 10 "$PROXY_LOG"; fail "no new '$1' line after SIGHUP"; }
	ok "log: $(grep -- "$1" "$PROXY_LOG" | tail -n 1)"
}

# ino PROTO PORT: the inode of the socket bound to 127.0.0.1:PORT (t: TCP
# listener, u: UDP), empty if none.
ino() {
	ss -Hln"$1"e "sport = :$2" | sed -n 's/.* ino:\([0-9]*\).*/\1/p' | head -n 1
}

udp_bound() {
	ss -Hlun "sport = :$1" | grep -q .
}

# refused PORT: a TCP connect to 127.0.0.1:PORT gets "connection refused".
refused() {
	python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.settimeout(5)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)
EOF
}

# soa_via_outbound PORT tcp|udp: SOA small.test through the outbound group.
soa_via_outbound() {
	local out proto=+tcp
	[ "$2" = udp ] && proto=+notcp
	out=$(dig "$proto" +time=5 +tries=1 +norec @127.0.0.1 -p "$1" small.test SOA 2>&1) || return 1
	grep -q 'status: NOERROR' <<<"$out" && grep -q '^small\.test\.[[:space:]].*SOA' <<<"$out"
}

# answered N: the held session has printed N query answers.
# shellcheck disable=SC2317 # called through wait_until
answered() {
	[ "$(grep -c ' q small.test SOA .*rcode=NOERROR' "$T/held.log")" -ge "$1" ]
}

# ------------------------------------------------------------------ start

PROXY_LOG_LEVEL=info proxy_ini "$T/primary.ini" "$X" "$XOT_NAMED_PORT"
start_proxy primary "$T/primary.ini" "$X"

write_ini "127.0.0.1:$P1" "127.0.0.1:$O1"
"$XOT_BIN" -t -c "$T/xotproxy.ini" >"$T/check.txt" 2>&1 || fail "config rejected: $(cat "$T/check.txt")"
start_proxy proxy "$T/xotproxy.ini" "$P1"
wait_until 10 udp_bound "$O1" || fail "outbound UDP $O1 not bound"
soa_via_outbound "$O1" tcp || fail "no SOA over TCP through the outbound group at start"
ok "serving on inbound $P1 and outbound $O1"

ino_p1=$(ino t "$P1")
ino_o1t=$(ino t "$O1")
ino_o1u=$(ino u "$O1")
if [ -z "$ino_p1" ] || [ -z "$ino_o1t" ] || [ -z "$ino_o1u" ]; then
	fail "no socket inodes from ss"
fi

# A TLS session on P1 that answers one query now and one after each go file.
bg_start held python3 "$ABUSE" session --port "$P1" --ca "$XOT_CA" --timeout 20 \
	q:small.test:SOA "wait:$T/go1:120" q:small.test:SOA "wait:$T/go2:120" q:small.test:SOA
HELD=$LAST_PID
wait_until 15 answered 1 || fail "held session: no first answer: $(cat "$T/held.log")"
ok "TLS session held open on $P1"

# ------------------------------------------------------------- adding

write_ini "127.0.0.1:$P1 127.0.0.1:$P2" "127.0.0.1:$O1 127.0.0.1:$O2"
reload_expect "reloaded "
assert_grep "$PROXY_LOG" "listening on 127\\.0\\.0\\.1#$P2 \\(TCP\\)" "log: inbound $P2 added"
assert_grep "$PROXY_LOG" "listening on 127\\.0\\.0\\.1#$O2 \\(UDP\\)" "log: outbound $O2 added"
assert_nogrep "$PROXY_LOG" "needs a restart" "no 'needs a restart' warning"
tcp_listening "$P2" || fail "inbound $P2 not listening after the reload"

kt "$XOT_NAMED_PORT" small.test AXFR >"$T/axfr.direct" 2>&1 || fail "direct AXFR failed"
kd "$P2" small.test AXFR >"$T/axfr.p2" 2>&1 || fail "AXFR over TLS via $P2 failed: $(tail -n 3 "$T/axfr.p2")"
same_records "$T/axfr.p2" "$T/axfr.direct" "AXFR over TLS via the added inbound port $P2"
soa_via_outbound "$O2" tcp || fail "no SOA over TCP via the added outbound port $O2"
ok "SOA over TCP via the added outbound port $O2"
soa_via_outbound "$O2" udp || fail "no SOA over UDP via the added outbound port $O2"
ok "SOA over UDP via the added outbound port $O2"
soa_via_outbound "$O1" udp || fail "no SOA over UDP via the kept outbound port $O1"

[ "$(ino t "$P1")" = "$ino_p1" ] || fail "inbound $P1: socket reopened (inode $ino_p1 -> $(ino t "$P1"))"
[ "$(ino t "$O1")" = "$ino_o1t" ] || fail "outbound TCP $O1: socket reopened"
[ "$(ino u "$O1")" = "$ino_o1u" ] || fail "outbound UDP $O1: socket reopened"
ok "the unchanged listeners kept their sockets (same inodes)"

touch "$T/go1"
wait_until 15 answered 2 || fail "held session on $P1: no answer after the reload: $(tail -n 3 "$T/held.log")"
ok "the session held on $P1 answers after the reload"

# ------------------------------------------------------------- removing

write_ini "127.0.0.1:$P2" "127.0.0.1:$O2"
reload_expect "reloaded "
assert_grep "$PROXY_LOG" "stopped listening on 127\\.0\\.0\\.1#$P1 \\(TCP\\)" "log: inbound $P1 removed"
refused "$P1" || fail "a new connection to the removed port $P1 was not refused"
ok "new connections to the removed inbound port $P1: connection refused"
refused "$O1" || fail "a new connection to the removed outbound port $O1 was not refused"
udp_bound "$O1" && fail "outbound UDP $O1 still bound after its removal"
ok "removed outbound port $O1: TCP refused, UDP unbound"

touch "$T/go2"
wait_until 15 answered 3 || fail "held session on the removed $P1: no answer: $(tail -n 3 "$T/held.log")"
wait_pid_exit "$HELD" 15 || fail "held session failed: $(tail -n 3 "$T/held.log")"
ok "the session accepted on the removed port $P1 still answered its next query"

kd "$P2" small.test SOA >"$T/soa.p2" 2>&1
[ "$(dig_status "$T/soa.p2")" = NOERROR ] || fail "SOA via $P2 after removing $P1: $(tail -n 3 "$T/soa.p2")"
soa_via_outbound "$O2" udp || fail "no SOA over UDP via $O2 after removing $O1"
ok "$P2 and $O2 still serve"

# ------------------------------------------------- a reload that fails

# Another process holds TCP 127.0.0.1:B; the reload adds P3 and B (and
# narrows small.test's ACL): nothing of it may be applied.
bg_start blocker python3 -c "
import socket, time
t = socket.socket(); t.bind(('127.0.0.1', $B)); t.listen()
u = socket.socket(type=socket.SOCK_DGRAM); u.bind(('127.0.0.1', $O3))
time.sleep(3600)"
BLOCKER=$LAST_PID
wait_until 10 tcp_listening "$B" || fail "blocker not listening on $B"
wait_until 10 udp_bound "$O3" || fail "blocker not bound to UDP $O3"
ino_p2=$(ino t "$P2")

write_ini "127.0.0.1:$P2 127.0.0.1:$P3 127.0.0.1:$B" "127.0.0.1:$O2" "127.0.0.2/32"
reload_expect "reload failed"
assert_grep "$PROXY_LOG" "reload failed, keeping the running configuration: listen TCP 127\\.0\\.0\\.1#$B: Address already in use" \
	"log: the inbound reload failed on $B (address in use)"
tcp_listening "$P3" && fail "$P3 left listening by a failed reload"
ok "nothing bound by the failed reload ($P3 free)"
[ "$(ino t "$P2")" = "$ino_p2" ] || fail "$P2 reopened by a failed reload"
kd "$P2" small.test SOA >"$T/soa.fail" 2>&1
[ "$(dig_status "$T/soa.fail")" = NOERROR ] ||
	fail "after the failed reload: small.test SOA via $P2 is $(dig_status "$T/soa.fail") (ACL change applied?)"
ok "the running configuration stays (listeners and the old ACL)"

write_ini "127.0.0.1:$P2" "127.0.0.1:$O2 127.0.0.1:$O3" "127.0.0.2/32"
reload_expect "reload failed"
assert_grep "$PROXY_LOG" "reload failed, keeping the running configuration: outbound g1: listen UDP 127\\.0\\.0\\.1#$O3: Address already in use" \
	"log: the outbound reload failed on UDP $O3 (address in use)"
tcp_listening "$O3" && fail "TCP $O3 left listening by a failed reload (its UDP half failed)"
kd "$P2" small.test SOA >"$T/soa.fail2" 2>&1
[ "$(dig_status "$T/soa.fail2")" = NOERROR ] || fail "after the 2nd failed reload: ACL change applied?"
soa_via_outbound "$O2" tcp || fail "no SOA via $O2 after a failed reload"
ok "outbound: the failed reload bound nothing; $O2 still serves"
stop_pid "$BLOCKER" TERM 5 >/dev/null 2>&1

# Once the address is free the same file loads.
write_ini "127.0.0.1:$P2 127.0.0.1:$P3" "127.0.0.1:$O2 127.0.0.1:$O3" "127.0.0.2/32"
reload_expect "reloaded "
tcp_listening "$P3" || fail "$P3 not listening after a good reload"
wait_until 10 udp_bound "$O3" || fail "UDP $O3 not bound after a good reload"
kd "$P3" small.test SOA >"$T/soa.p3" 2>&1
[ "$(dig_status "$T/soa.p3")" = REFUSED ] || fail "the new ACL is not applied on $P3: $(dig_status "$T/soa.p3")"
ok "the next good reload applies both the listeners and the ACL"

alive "$PROXY_PID" || fail "proxy died"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"

# ----------------------------------------- below 1024 after dropping root

cap_test() {
	[ "$(id -u)" = 0 ] || { note "not root: capability path not tested"; return 0; }
	getent passwd nobody >/dev/null || { note "no user nobody: capability path not tested"; return 0; }
	local start p L1='' L2=''
	start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)
	for p in 853 $(seq 900 999); do
		[ "$p" -lt "$start" ] || break
		port_busy "$p" && continue
		if [ -z "$L1" ]; then L1=$p; else L2=$p; break; fi
	done
	[ -n "$L2" ] || { note "no two free ports below $start: capability path not tested"; return 0; }
	# nobody must read the configuration, certificate and key on reload:
	# outside the run directory (mode 700).
	PD=$(mktemp -d /tmp/xott52.XXXXXX)
	chmod 755 "$PD"
	cp "$XOT_CERT" "$PD/cert.pem"
	cp "$XOT_KEY" "$PD/key.pem"
	chmod 644 "$PD/cert.pem"
	chown nobody "$PD/key.pem"
	chmod 600 "$PD/key.pem"
	cap_ini() {
		cat >"$PD/cap.ini" <<EOF
[global]
log-level = info
user = nobody

[inbound]
listen = $1
cert = $PD/cert.pem
key = $PD/key.pem
backend = 127.0.0.1:$XOT_NAMED_PORT

[zone small.test]
allow = 127.0.0.0/8
EOF
		chmod 644 "$PD/cap.ini"
	}
	cap_ini "127.0.0.1:$L1"
	start_proxy cap "$PD/cap.ini" "$L1"
	assert_grep "$PROXY_LOG" "running as user nobody, keeping only CAP_NET_BIND_SERVICE" \
		"log: privileges dropped, CAP_NET_BIND_SERVICE kept"
	local uid eff prm
	uid=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$PROXY_PID/status")
	eff=$(awk '/^CapEff:/ { print $2 }' "/proc/$PROXY_PID/status")
	prm=$(awk '/^CapPrm:/ { print $2 }' "/proc/$PROXY_PID/status")
	[ "$uid" = "65534 65534 65534 65534" ] || fail "uids after the drop: $uid"
	if [ "$eff" != 0000000000000400 ] || [ "$prm" != 0000000000000400 ]; then
		fail "capabilities after the drop: effective $eff, permitted $prm (want 400: CAP_NET_BIND_SERVICE)"
	fi
	ok "running as nobody with CAP_NET_BIND_SERVICE only (CapEff $eff)"
	cap_ini "127.0.0.1:$L1 127.0.0.1:$L2"
	reload_expect "reloaded "
	tcp_listening "$L2" || fail "low port $L2 not bound by the reload after the privilege drop"
	kd "$L2" small.test SOA >"$T/soa.low" 2>&1
	[ "$(dig_status "$T/soa.low")" = NOERROR ] || fail "SOA via the added low port $L2: $(tail -n 3 "$T/soa.low")"
	ok "a reload as nobody bound the low port $L2 and serves on it"
	stop_pid "$PROXY_PID" TERM 10 || fail "proxy (nobody) exited with status $? on SIGTERM"
}
PD=
# shellcheck disable=SC2154 # rc is set inside the trap
trap 'rc=$?; [ -n "$PD" ] && rm -rf "$PD"; (exit $rc); _cleanup' EXIT
cap_test
pass
