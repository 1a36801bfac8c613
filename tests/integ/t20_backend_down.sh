#!/bin/bash
# t20: the backend is not running, then refuses at the application level
# (accepts and closes at once), then appears; one TLS session lives through
# all three.
#   ROB-04 (IN, strategy a/b: no frame relayed yet ->
#   SERVFAIL with EDE 23, question copied, session kept; RFC 5936 §4.1.2),
#   EDNS-02 (OPT, and so EDE, only when the query had one), EDNS-05/EDNS-06
#   (EDE 23 Network Error), AXFR-09 (never a complete-looking answer),
#   PRX-03 (one log line per failed transfer), PRX-01 (nothing cached: the
#   first query after the backend appears is answered by it).
# Also: promptness (< 5 s for each SERVFAIL), memory bounded over 300
# failing sessions, descriptors back to the baseline.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_abuse.sh"
test_init

B=$(free_port) || fail "no free port"
P=$(free_port) || fail "no free port"
port_busy "$B" && fail "backend port $B is in use"
proxy_ini "$T/xotproxy.ini" "$P" "$B"
start_proxy proxy "$T/xotproxy.ini" "$P"
rss0=$(vm "$PROXY_PID" VmRSS)
fd0=$(fd_count "$PROXY_PID")

# --- kdig: SOA and AXFR with EDNS get SERVFAIL (+ EDE 23), promptly. kdig
# prints no EDE for a failed AXFR: the session client below checks that one.
t0=$(now_ms)
kd "$P" small.test SOA +edns >"$T/kdig-soa.txt" 2>&1
el=$(($(now_ms) - t0))
[ "$(dig_status "$T/kdig-soa.txt")" = SERVFAIL ] || { cat "$T/kdig-soa.txt"; fail "SOA with the backend down: status '$(dig_status "$T/kdig-soa.txt")', expected SERVFAIL"; }
assert_grep "$T/kdig-soa.txt" "EDE: 23 \\(Network Error\\)" "kdig SOA: SERVFAIL with EDE 23 (Network Error)"
[ "$el" -lt 5000 ] || fail "SOA: SERVFAIL after $el ms (bound 5000 ms)"
ok "kdig SOA: answered in $el ms (bound 5000 ms)"
t0=$(now_ms)
kd "$P" example.test AXFR +edns >"$T/kdig-axfr.txt" 2>&1 && fail "kdig AXFR with the backend down exited 0"
el=$(($(now_ms) - t0))
assert_grep "$T/kdig-axfr.txt" "replied with error 'SERVFAIL'" "kdig AXFR: SERVFAIL"
grep -Eq $'^example\\.test\\.[[:space:]].*SOA' "$T/kdig-axfr.txt" && fail "kdig AXFR: records in a failed transfer"
[ "$el" -lt 5000 ] || fail "AXFR: SERVFAIL after $el ms (bound 5000 ms)"
ok "kdig AXFR: failed with SERVFAIL in $el ms (bound 5000 ms)"

# --- one session across backend down -> refusing -> up. The client waits on
# files we create between the phases.
bg_start session python3 "$ABUSE" session --port "$P" --ca "$XOT_CA" --timeout 20 \
	q:small.test:SOA:edns q:example.test:AXFR:edns q:small.test:SOA \
	wait:"$T/phase2" q:small.test:SOA:edns q:small.test:AXFR:edns \
	wait:"$T/phase3" q:small.test:SOA:edns q:small.test:AXFR:edns q:example.test:SOA
SESS_PID=$LAST_PID
SLOG=$T/session.log
wait_until 10 grep -q 'waiting for .*phase2' "$SLOG" || { cat "$SLOG"; fail "session did not reach phase 2"; }
# Phase 1: nothing listens on the backend port.
grep -E '^1 q ' "$SLOG" | head -n 3 >"$T/phase1.txt"
cat "$T/phase1.txt"
[ "$(grep -c 'rcode=SERVFAIL' "$T/phase1.txt")" = 3 ] || fail "phase 1 (backend down): expected 3 SERVFAIL answers on one session"
[ "$(grep -c 'rcode=SERVFAIL ede=23 opt=yes' "$T/phase1.txt")" = 2 ] || fail "phase 1: EDNS queries did not get EDE 23"
grep -q 'q small.test SOA qd=1 .*rcode=SERVFAIL ede=- opt=no' "$T/phase1.txt" ||
	fail "phase 1: the query without EDNS got an OPT in its SERVFAIL (EDNS-02)"
awk '{ sub("time=", "", $NF); if ($NF + 0 >= 5) exit 1 }' "$T/phase1.txt" || fail "phase 1: a SERVFAIL took 5 s or more"
ok "backend down: SOA, AXFR (EDNS: EDE 23) and SOA (no EDNS: no OPT) got SERVFAIL on one session, each < 5 s"

# Phase 2: a backend that accepts and closes at once (refuses to serve).
cat >"$T/slammer.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.close()
EOF
bg_start slammer python3 "$T/slammer.py" "$B"
SLAM_PID=$LAST_PID
wait_until 10 tcp_listening "$B" || fail "slammer not listening"
touch "$T/phase2"
wait_until 10 grep -q 'waiting for .*phase3' "$SLOG" || { cat "$SLOG"; fail "session did not reach phase 3"; }
grep -E '^1 q ' "$SLOG" | sed -n 4,5p >"$T/phase2.txt"
cat "$T/phase2.txt"
[ "$(grep -c 'rcode=SERVFAIL ede=23 opt=yes' "$T/phase2.txt")" = 2 ] ||
	fail "phase 2 (backend accepts and closes): expected SERVFAIL with EDE 23 for SOA and AXFR"
ok "backend accepting and closing at once: SERVFAIL with EDE 23, same session"
stop_pid "$SLAM_PID" TERM 5

# Phase 3: a real backend appears on the port; the next queries on the same
# session succeed, and the answers are the backend's (nothing cached).
nd=$T/named
mkdir -p "$nd"
cp "$XOT_ZONE_SMALL" "$nd/small.test.zone"
"$XOT_INTEG_DIR/gen-zone.sh" example.test 50 4242 >"$nd/example.test.zone"
{
	named_options "$nd" "$B"
	echo 'zone "small.test" { type primary; file "small.test.zone"; allow-transfer { any; }; };'
	echo 'zone "example.test" { type primary; file "example.test.zone"; allow-transfer { any; }; };'
} >"$nd/named.conf"
start_named backend "$nd" "$B" small.test 60
NPID=$LAST_PID
touch "$T/phase3"
wait_pid_exit "$SESS_PID" 30
rc=$?
cat "$SLOG"
[ $rc -eq 0 ] || fail "session client exited $rc"
grep -E '^1 q ' "$SLOG" | sed -n 6,8p >"$T/phase3.txt"
grep -q 'q small.test SOA .*rcode=NOERROR .*soa=3000' "$T/phase3.txt" || fail "phase 3: no NOERROR SOA on the same session"
grep -q 'q small.test AXFR .*rcode=NOERROR .*records=41 ' "$T/phase3.txt" || fail "phase 3: no complete small.test AXFR on the same session"
grep -q 'q example.test SOA .*rcode=NOERROR .*soa=4242' "$T/phase3.txt" || fail "phase 3: example.test SOA is not the new backend's (serial 4242)"
ok "backend up: the same TLS session now gets SOA and a complete AXFR"
kt "$B" small.test AXFR >"$T/direct.txt" || fail "direct AXFR failed"
xfr_ok_same "$P" small.test "$T/direct.txt" "AXFR through the proxy after recovery"

n=$(grep -c 'failed (backend connect: Connection refused), SERVFAIL sent' "$PROXY_LOG")
[ "$n" -ge 5 ] || fail "proxy logged $n 'failed (backend connect: Connection refused), SERVFAIL sent' lines, expected >= 5"
ok "proxy logged $n failed transfers (backend connect: Connection refused)"
assert_grep "$PROXY_LOG" 'SOA, failed \(backend(: Connection reset by peer| closed| send: [^)]*)\), SERVFAIL sent' "proxy logged the application-level refusal"

# --- memory and descriptors over 300 failing sessions (backend down again).
stop_pid "$NPID" TERM 10
wait_until 10 bash -c "! ss -Hltn 'sport = :$B' | grep -q ." || fail "backend still listening"
python3 "$ABUSE" session --port "$P" --ca "$XOT_CA" --repeat 30 q:small.test:AXFR:edns >"$T/warm.txt" 2>&1 ||
	{ tail -n 3 "$T/warm.txt"; fail "warm-up sessions failed"; }
rss1=$(vm "$PROXY_PID" VmRSS)
mem_reset_peak "$PROXY_PID"
t0=$(now_ms)
python3 "$ABUSE" session --port "$P" --ca "$XOT_CA" --repeat 300 q:small.test:SOA:edns q:example.test:AXFR:edns \
	>"$T/many.txt" 2>&1 || { tail -n 3 "$T/many.txt"; fail "300 sessions with the backend down: a step failed"; }
el=$(($(now_ms) - t0))
[ "$(grep -c 'rcode=SERVFAIL ede=23' "$T/many.txt")" = 600 ] || fail "300 sessions: expected 600 SERVFAIL+EDE 23 answers"
hwm=$(vm "$PROXY_PID" VmHWM)
rss2=$(vm "$PROXY_PID" VmRSS)
ok "300 sessions x 2 SERVFAIL answers in $el ms"
ok "max RSS: baseline $rss0 KiB, after warm-up $rss1 KiB, peak during 300 failing sessions $hwm KiB, after $rss2 KiB"
assert_mem_le $((hwm - rss1)) 512 "RSS growth over 300 failing sessions (leak check)"
assert_mem_le "$hwm" 16384 "peak RSS"
wait_until 10 bash -c "[ \$(find /proc/$PROXY_PID/fd -mindepth 1 | wc -l) -le $fd0 ]" ||
	fail "proxy holds $(fd_count "$PROXY_PID") descriptors, $fd0 at start: a backend or client socket leaked"
ok "descriptors back to $fd0"
alive "$PROXY_PID" || fail "proxy died"
pass
