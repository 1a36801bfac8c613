#!/bin/bash
# t68: the first primary completes TLS and answers with the start of a
#   frame whose header carries the query's ID (a length of 1000, then 20
#   octets: tests/tools/fakexot.py mode longframe-id) and then stalls; the
#   second primary is healthy (an inbound xotproxy in front of the shared
#   named). backend-timeout 3, transfer-timeout 30.
#   Part 1, UDP: nothing of that frame can reach a whole-message client, so
#   the first-octet deadline (backend-timeout) still runs: the poll fails
#   over and is answered NOERROR by the second primary within 8 s (before:
#   SERVFAIL only at transfer-timeout, 30 s), and the first primary is
#   backed off.
#   Part 2, TCP (fresh proxy, transfer-timeout 6): the 14 octets of length
#   and header did reach the client, so there is no failover: the
#   connection is aborted at transfer-timeout (not before 5 s, not after
#   20 s), with no SERVFAIL made up after part of an answer (AXFR-05).
#   Part 2b, TCP, the primary stalls before the header is whole (fakexot
#   shorthdr): nothing reached the client, so it fails over within 8 s.
#   Part 3, UDP again, with a changed reload (the primaries swapped: a new
#   pool) while the poll waits for the rest of the frame: NOERROR within
#   8 s from the healthy primary.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
TOOLS=$(cd "$XOT_INTEG_DIR/../tools" && pwd)
ms_now() { echo $(($(date +%s%N) / 1000000)); }

P=$(free_port) || fail "no free port"
start_xot_primary primary "$P" "$XOT_NAMED_PORT"

# start_pair NAME TRANSFER-TIMEOUT [MODE]: fakexot MODE (longframe-id) +
# outbound side on $O
start_pair() {
	local name=$1 fp mode=${3:-longframe-id}
	fp=$(free_port) || fail "no free port"
	O=$(free_port) || fail "no free port"
	bg_start "fake-$name" python3 "$TOOLS/fakexot.py" --port "$fp" --mode "$mode" \
		--cert "$XOT_CERT" --key "$XOT_KEY" --zone example.test --status "$T/fake-$name.status"
	FAKE_PID=$LAST_PID
	FLOG=$T/fake-$name.log
	FP=$fp
	wait_until 10 test -e "$T/fake-$name.status" || fail "fakexot not listening"
	outbound_ini "$T/ob-$name.ini" "$O" "127.0.0.1:$fp 127.0.0.1:$P" backend-timeout=3 \
		transfer-timeout="$2"
	start_outbound "ob-$name" "$T/ob-$name.ini" "$O"
}

start_pair udp 30
t0=$(ms_now)
dig +notcp +norec +time=20 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/udp.txt" 2>&1 ||
	fail "UDP: no answer ($(tail -n 2 "$T/udp.txt" | xargs))"
ms=$(($(ms_now) - t0))
grep -q '^longframe-id ' "$FLOG" || fail "UDP: the first primary never sent its long frame (not exercised)"
[ "$(dig_status "$T/udp.txt")" = NOERROR ] || fail "UDP: $(dig_status "$T/udp.txt") after $ms ms"
# Bounds: the faults answer at transfer-timeout (30 s) or not at all; the
# proxy needs backend-timeout (3 s) plus set-up, slow under a loaded CI.
[ "$ms" -lt 15000 ] || fail "UDP: answered after $ms ms (backend-timeout 3 s): no failover within it"
ok "UDP: NOERROR in $ms ms from the second primary after the first stalled mid-frame"
grep -Eq "primary 127\\.0\\.0\\.1#$FP, .*not tried again for" "$OUT_LOG" || fail "UDP: the first primary was not backed off"
ok "UDP: the first primary is backed off"
alive "$OUT_PID" || fail "outbound proxy died"
stop_pid "$OUT_PID" || true
stop_pid "$FAKE_PID" || true

start_pair tcp 6
t0=$(ms_now)
python3 "$TOOLS/rvtcp.py" --port "$O" --zone example.test --first-timeout 40 >"$T/tcp.txt" 2>&1
ms=$(($(ms_now) - t0))
note "TCP: $(xargs <"$T/tcp.txt") after $ms ms"
grep -q '^longframe-id ' "$FLOG" || fail "TCP: the first primary never sent its long frame (not exercised)"
grep -q '^error connection closed' "$T/tcp.txt" || fail "TCP: expected an abort, got: $(xargs <"$T/tcp.txt")"
[ "$ms" -ge 5000 ] && [ "$ms" -lt 20000 ] || fail "TCP: aborted after $ms ms (transfer-timeout 6 s)"
ok "TCP: aborted after $ms ms (octets of the answer had reached the client: no failover)"
assert_nogrep "$OUT_LOG" "SERVFAIL sent" "TCP: no SERVFAIL after part of an answer"
alive "$OUT_PID" || fail "outbound proxy died"
stop_pid "$OUT_PID" || true
stop_pid "$FAKE_PID" || true

# Part 2b: TCP, but the primary stalls before the header is whole (fakexot
# shorthdr: length 1000, then 8 octets): nothing reached the client (its
# ID is not vetted yet), so the query fails over within backend-timeout.
start_pair short 30 shorthdr
t0=$(ms_now)
python3 "$TOOLS/rvtcp.py" --port "$O" --zone example.test --first-timeout 20 >"$T/short.txt" 2>&1
ms=$(($(ms_now) - t0))
grep -q '^shorthdr ' "$FLOG" || fail "TCP short header: the first primary never sent it (not exercised)"
grep -q '^answer 1 .*rcode=NOERROR' "$T/short.txt" || fail "TCP short header: $(xargs <"$T/short.txt") after $ms ms"
[ "$ms" -lt 15000 ] || fail "TCP short header: answered after $ms ms (backend-timeout 3 s, transfer-timeout 30 s)"
ok "TCP, header incomplete: NOERROR in $ms ms from the second primary"
alive "$OUT_PID" || fail "outbound proxy died"
stop_pid "$OUT_PID" || true
stop_pid "$FAKE_PID" || true

# Part 3: the same UDP stall, and a changed reload (the primaries swapped:
# a new pool) while the poll waits for the rest of the frame: the poll is
# still answered NOERROR within 8 s and the proxy lives.
start_pair reload 30
dig +notcp +norec +time=20 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/reload.txt" 2>&1 &
DIG=$!
t0=$(ms_now)
wait_until 10 grep -q '^longframe-id ' "$FLOG" || fail "reload: the first primary never sent its long frame"
n=$(grep -c 'reloaded ' "$OUT_LOG")
sed -i "s/^primary = .*/primary = 127.0.0.1:$P 127.0.0.1:$FP/" "$T/ob-reload.ini"
kill -HUP "$OUT_PID"
wait_until 10 bash -c "[ \$(grep -c 'reloaded ' '$OUT_LOG') -gt $n ]" || fail "reload: no 'reloaded' line after SIGHUP"
wait "$DIG" || fail "reload: no answer ($(tail -n 2 "$T/reload.txt" | xargs))"
ms=$(($(ms_now) - t0))
[ "$(dig_status "$T/reload.txt")" = NOERROR ] || fail "reload: $(dig_status "$T/reload.txt") after $ms ms"
[ "$ms" -lt 15000 ] || fail "reload: answered after $ms ms"
ok "reload during the stall: NOERROR in $ms ms"
alive "$OUT_PID" || fail "outbound proxy died"
stop_pid "$OUT_PID" || true
stop_pid "$FAKE_PID" || true

pass
