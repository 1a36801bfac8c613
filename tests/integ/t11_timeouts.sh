#!/bin/bash
# t11: handshake-timeout and idle-timeout close silent connections.
#   TCP-05 (idle timeout of the order of seconds), TCP-09 (configurable
#   limits), DOT-01 (a silent plaintext connection gets nothing, then a close).
. "$(dirname "$0")/lib.sh"
test_init

P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
sed -i 's/^handshake-timeout = .*/handshake-timeout = 2/; s/^idle-timeout = .*/idle-timeout = 2/' "$T/xotproxy.ini"
start_proxy proxy "$T/xotproxy.ini" "$P"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- a TCP connection that never starts the TLS handshake.
t0=$(now_ms)
timeout 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P; cat <&3 >'$T/silent.bin'"
rc=$?
el=$(($(now_ms) - t0))
[ $rc -ne 124 ] || fail "silent TCP connection still open after 20 s (handshake-timeout = 2)"
[ "$el" -ge 1500 ] || fail "silent TCP connection closed after ${el} ms, before the 2 s handshake timeout"
[ "$el" -le 10000 ] || fail "silent TCP connection closed only after ${el} ms (handshake-timeout = 2)"
[ ! -s "$T/silent.bin" ] || fail "the proxy sent $(stat -c %s "$T/silent.bin") bytes to a client that never said hello"
ok "no ClientHello: closed after ${el} ms (handshake-timeout 2 s)"

# --- a TLS session (ALPN dot) that sends no query.
mkfifo "$T/idle.fifo"
t0=$(now_ms)
openssl s_client -connect "127.0.0.1:$P" -servername xot.test -CAfile "$XOT_CA" -tls1_3 -alpn dot -quiet \
	<"$T/idle.fifo" >"$T/idle.bin" 2>"$T/idle.err" &
spid=$!
_BG_PIDS+=("$spid")
exec 4>"$T/idle.fifo"
wait_pid_exit "$spid" 20
rc=$?
el=$(($(now_ms) - t0))
exec 4>&-
[ $rc -ne 124 ] || fail "idle TLS session still open after 20 s (idle-timeout = 2)"
[ "$el" -ge 1500 ] || fail "idle TLS session closed after ${el} ms, before the 2 s idle timeout: $(cat "$T/idle.err")"
[ "$el" -le 12000 ] || fail "idle TLS session closed only after ${el} ms (idle-timeout = 2)"
ok "idle TLS session: closed by the proxy after ${el} ms (idle-timeout 2 s)"

# --- a session in use is not cut: AXFR of the big zone, then SOA, on one
# connection, still fine with the short timeouts.
kdig @127.0.0.1 -p "$P" +tls-ca="$XOT_CA" +tls-hostname=xot.test +nopadding +time=15 +retry=0 +keepopen \
	example.test AXFR small.test SOA >"$T/busy.txt" 2>&1
n=$(xfr_records "$T/busy.txt")
[ -n "$n" ] && [ "$n" -ge $((XOT_ZONE_BIG_N + 1)) ] || fail "AXFR with short timeouts carried '$n' records"
grep -Eq $'^small\\.test\\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA' "$T/busy.txt" || fail "no SOA answer after the AXFR"
ok "AXFR ($n records) then SOA on one session with 2 s timeouts"
# --- a slow reader: the client stops reading for 4 s (twice the idle
# timeout) in the middle of an AXFR. The idle timeout applies only when
# nothing is outstanding (ROB-03 timers: progress timeout while
# an XFR runs), so the transfer must complete.
mkfifo "$T/slow.fifo"
bg_start slowkdig bash -c "exec kdig @127.0.0.1 -p $P +tls-ca='$XOT_CA' +tls-hostname=xot.test +nopadding +time=30 +retry=0 example.test AXFR >'$T/slow.fifo'"
kpid=$LAST_PID
exec 5<"$T/slow.fifo"
timeout 30 dd bs=4096 count=1 <&5 >"$T/slow-1.txt" 2>/dev/null || fail "no output from the slow kdig"
t0=$(now_ms)
while [ $(($(now_ms) - t0)) -lt 4000 ]; do sleep 0.2; done # deliberate stall of the reader, not a synchronisation
timeout 60 cat <&5 >"$T/slow-2.txt"
exec 5<&-
wait_pid_exit "$kpid" 30
rc=$?
cat "$T/slow-1.txt" "$T/slow-2.txt" >"$T/slow.txt"
n=$(xfr_records "$T/slow.txt")
[ $rc -eq 0 ] && [ -n "$n" ] && [ "$n" -ge $((XOT_ZONE_BIG_N + 1)) ] ||
	fail "AXFR with a reader stalled 4 s (idle-timeout 2 s): kdig exit $rc, '$n' records: $(cat "$T/slowkdig.log")"
ok "AXFR to a reader that stalled 4 s completed ($n records): idle timeout not applied mid-transfer"

alive "$PROXY_PID" || fail "proxy died"
pass
