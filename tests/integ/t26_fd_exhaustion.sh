#!/bin/bash
# t26: descriptor exhaustion and max-clients. The proxy runs with
# `ulimit -n 64`; 100 connections exhaust it: it logs, pauses accepting
# (1 s back-off) instead of spinning on a listener it cannot serve, and
# recovers when the descriptors come back: a client that queued meanwhile and
# a new one are both served. Then the same with max-clients = 10.
#   PRX-04 (bounded resources per client), TCP-09 (configurable limits),
#   ROB-03 (under load, connections may be closed;
#   the server must stay responsive), libev's documented EMFILE spin.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_abuse.sh"
test_init

LIMIT=64
NCONN=100
# Every check runs even after one fails (the whole picture in one run); the
# test fails at the end if any did.
BAD=()
bad() {
	note "FAILED CHECK: $*"
	BAD+=("$*")
}
kt "$XOT_NAMED_PORT" example.test AXFR >"$T/direct.txt" || fail "direct AXFR failed"

# cpu_over PID SECONDS: CPU milliseconds PID used over SECONDS of wall time.
cpu_over() {
	local a b
	a=$(cpu_ticks "$1")
	sleep "$2"
	b=$(cpu_ticks "$1")
	echo $(((b - a) * 1000 / CLK_TCK))
}

# flood_hold NAME PORT COUNT: COUNT silent connections held until $T/NAME.release.
flood_hold() {
	bg_start "$1" python3 "$ABUSE" flood --port "$2" --count "$3" --modes silent \
		--until-file "$T/$1.release" --status "$T/$1.status" --wait 120
	FLOOD_PID=$LAST_PID
	wait_until 30 test -e "$T/$1.status" || fail "$1: the flood client did not connect"
	grep -qx "connected $3" "$T/$1.status" || fail "$1: $(cat "$T/$1.status") of $3"
}

# ------------------------------------------------- descriptor exhaustion
P=$(free_port) || fail "no free port"
proxy_ini "$T/fd.ini" "$P" "$XOT_NAMED_PORT"
sed -i 's/^handshake-timeout = .*/handshake-timeout = 60/; s/^idle-timeout = .*/idle-timeout = 60/' "$T/fd.ini"
sed -i "/^idle-timeout/a max-clients-per-ip = 0" "$T/fd.ini"   # this part is about descriptors, not the per-IP cap
old_limit=$(ulimit -Sn)
ulimit -Sn "$LIMIT" || skip "cannot lower the descriptor limit"
start_proxy fdproxy "$T/fd.ini" "$P"
ulimit -Sn "$old_limit"
FD_PID=$PROXY_PID
FD_LOG=$PROXY_LOG
lim=$(awk '/Max open files/ { print $4 }' "/proc/$FD_PID/limits")
[ "$lim" = "$LIMIT" ] || fail "proxy descriptor limit is $lim, not $LIMIT"
fd0=$(fd_count "$FD_PID")
rss0=$(vm "$FD_PID" VmRSS)
mem_reset_peak "$FD_PID"
ok "proxy running with 'ulimit -n $LIMIT', $fd0 descriptors in use"

flood_hold fdflood "$P" "$NCONN"
if wait_until 5 grep -q 'accept: Too many open files; pausing accepts' "$FD_LOG"; then
	ok "log: $(grep -m1 'pausing accepts' "$FD_LOG" | cut -d' ' -f2-)"
else
	bad "no 'accept: Too many open files; pausing accepts' log line with $NCONN connections and $LIMIT descriptors"
fi
n=$(fd_count "$FD_PID")
[ "$n" -ge $((LIMIT - 1)) ] || bad "the proxy holds $n descriptors; expected the limit ($LIMIT)"
ok "the proxy holds $n of $LIMIT descriptors"
# Connections the proxy accepted and dropped at once (instead of leaving them
# queued) show up as closed by the peer in the flood client.
dropped=$(grep -c 'cannot create a TLS session' "$FD_LOG")
[ "$dropped" -eq 0 ] ||
	bad "$dropped connections accepted and closed at once ('cannot create a TLS session') instead of left queued while out of descriptors"

# A legitimate client queues behind the exhaustion (kdig waits up to 20 s).
kdig @127.0.0.1 -p "$P" +tls-ca="$XOT_CA" +tls-hostname=xot.test +nopadding +time=20 +retry=0 \
	example.test AXFR >"$T/queued.txt" 2>"$T/queued.err" &
QPID=$!
_BG_PIDS+=("$QPID")

lines0=$(grep -c 'pausing accepts' "$FD_LOG")
ms=$(cpu_over "$FD_PID" 3)
lines1=$(grep -c 'pausing accepts' "$FD_LOG")
ok "while exhausted: proxy CPU $ms ms over 3 s; $((lines1 - lines0)) 'pausing accepts' lines in those 3 s"
[ "$ms" -lt 500 ] || bad "proxy used $ms ms CPU in 3 s while out of descriptors (spinning on accept?)"
[ $((lines1 - lines0)) -le 6 ] || bad "$((lines1 - lines0)) 'pausing accepts' lines in 3 s: the back-off is not applied"
alive "$FD_PID" || fail "proxy died while out of descriptors"

touch "$T/fdflood.release"
wait_pid_exit "$FLOOD_PID" 20 || fail "flood client did not exit"
wait_pid_exit "$QPID" 30
rc=$?
if [ $rc -eq 0 ]; then
	same_records "$T/direct.txt" "$T/queued.txt" "AXFR of the client that queued during the exhaustion"
else
	bad "the client that arrived during the exhaustion failed (kdig exit $rc): $(grep -m1 -E 'ERROR|WARNING' "$T/queued.txt" "$T/queued.err" | cut -c1-200)"
fi
xfr_ok_same "$P" example.test "$T/direct.txt" "new AXFR after recovery"
wait_until 15 bash -c "[ \$(find /proc/$FD_PID/fd -mindepth 1 | wc -l) -le $fd0 ]" ||
	fail "proxy holds $(fd_count "$FD_PID") descriptors after recovery, $fd0 at start"
ok "descriptors back to $fd0"
hwm=$(vm "$FD_PID" VmHWM)
ok "max RSS (descriptor exhaustion): before $rss0 KiB, peak $hwm KiB"
assert_mem_le $((hwm - rss0)) 2048 "RSS growth while out of descriptors"
stop_pid "$FD_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"

# --------------------------------------------------------- max-clients
MAXC=10
P2=$(free_port) || fail "no free port"
proxy_ini "$T/mc.ini" "$P2" "$XOT_NAMED_PORT"
sed -i 's/^handshake-timeout = .*/handshake-timeout = 60/; s/^idle-timeout = .*/idle-timeout = 60/' "$T/mc.ini"
sed -i "/^idle-timeout/a max-clients = $MAXC" "$T/mc.ini"
start_proxy mcproxy "$T/mc.ini" "$P2"
MC_PID=$PROXY_PID
fd0=$(fd_count "$MC_PID")
rss0=$(vm "$MC_PID" VmRSS)
mem_reset_peak "$MC_PID"
flood_hold mcflood "$P2" 15
wait_until 10 grep -q "max-clients ($MAXC) reached; pausing accepts" "$PROXY_LOG" ||
	fail "no 'max-clients ($MAXC) reached; pausing accepts' log line"
ok "log: $(grep -m1 'max-clients ([0-9]*) reached' "$PROXY_LOG" | cut -d' ' -f2-)"
n=$(($(fd_count "$MC_PID") - fd0))
[ "$n" -eq "$MAXC" ] || fail "the proxy holds $n client connections, max-clients is $MAXC"
ok "the proxy holds exactly $MAXC client connections"
kdig @127.0.0.1 -p "$P2" +tls-ca="$XOT_CA" +tls-hostname=xot.test +nopadding +time=20 +retry=0 \
	example.test AXFR >"$T/queued2.txt" 2>"$T/queued2.err" &
QPID=$!
_BG_PIDS+=("$QPID")
ms=$(cpu_over "$MC_PID" 3)
ok "at max-clients: proxy CPU $ms ms over 3 s"
[ "$ms" -lt 500 ] || fail "proxy used $ms ms CPU in 3 s at max-clients (spinning?)"
n=$(($(fd_count "$MC_PID") - fd0))
[ "$n" -eq "$MAXC" ] || fail "the proxy took a connection beyond max-clients ($n)"
touch "$T/mcflood.release"
wait_pid_exit "$FLOOD_PID" 20 || fail "flood client did not exit"
wait_pid_exit "$QPID" 30
rc=$?
[ $rc -eq 0 ] || fail "the client queued at max-clients failed (exit $rc): $(head -c 300 "$T/queued2.err")"
same_records "$T/direct.txt" "$T/queued2.txt" "AXFR of the client that queued at max-clients"
xfr_ok_same "$P2" example.test "$T/direct.txt" "new AXFR after max-clients"
hwm=$(vm "$MC_PID" VmHWM)
ok "max RSS (max-clients): before $rss0 KiB, peak $hwm KiB"
assert_mem_le $((hwm - rss0)) 2048 "RSS growth at max-clients"
alive "$MC_PID" || fail "proxy died"
if [ ${#BAD[@]} -gt 0 ]; then
	fail "${#BAD[@]} failed check(s): $(printf '%s; ' "${BAD[@]}")"
fi
pass
