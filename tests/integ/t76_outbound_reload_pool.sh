#!/bin/bash
# t76: SIGHUP and the outbound pools (issue 13 item 8).
#   1. SIGHUP with the file unchanged keeps the group's pool:
#      - the idle TLS session survives: the next query makes no handshake at
#        the primary (an inbound xotproxy logging every handshake), neither
#        full nor resumed;
#      - the backoff survives: a dead first primary in an 8 s backoff is not
#        tried by a query right after the reload (before: a fresh pool tried
#        it at once).
#   2. A changed group (connect-timeout) with queries waiting under
#      max-sessions = 2 at a slow primary (fakexot.py, 1.5 s per answer): the
#      waiting queries move to the new pool and are all answered, queries
#      sent after the reload too, and the primary never sees more than 2
#      sessions at once (before: the old pool's 2 plus the new pool's 2),
#      also across two more changes in a row while older sessions are busy.
#   3. A changed reload while a query waits for a silent primary's first
#      answer octet: the query still fails over to the second primary, and
#      the silent primary's backoff holds in the new pool.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

# reload NAME: SIGHUP to the outbound proxy; wait for its "reloaded" line.
reload() { ob_hup "$1" ob_reloads; }
soa_ok() {   # soa_ok OUT: one TCP SOA query through the outbound side, NOERROR
	dig +tcp +norec +time=10 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$1" 2>&1 &&
		[ "$(dig_status "$1")" = NOERROR ]
}
handshakes() { grep -c 'TLS established' "$PRI_LOG"; }

# ------------------------------------------------ 1. unchanged: pool kept
D=$(free_port) || fail "no free port"        # nothing listens here
free_ports P O
start_xot_primary primary "$P" "$XOT_NAMED_PORT"
outbound_ini "$T/same.ini" "$O" "127.0.0.1:$D 127.0.0.1:$P" idle-timeout=60
start_outbound ob-same "$T/same.ini" "$O"
dead_re="primary 127\\.0\\.0\\.1#$D, .*not tried again for"
# Drive the dead primary's backoff to 8 s (1, 2, 4, 8): a query whenever
# its step has run out.
end=$(($(ms_now) + 30000))
until grep -Eq "$dead_re 8 s" "$OUT_LOG"; do
	[ "$(ms_now)" -lt "$end" ] || fail "the dead primary's backoff did not reach 8 s in 30 s"
	soa_ok "$T/drive.txt" || fail "SOA while driving the backoff: $(dig_status "$T/drive.txt")"
	sleep 0.3
done
soa_ok "$T/before.txt" || fail "SOA before the reload failed"
h=$(handshakes)
[ "$h" -ge 1 ] || fail "no handshake logged by the primary"
l=$(grep -Ec "$dead_re" "$OUT_LOG")
ok "before the reload: dead primary at 8 s backoff; $h handshakes at the live primary"
reload "unchanged file"
soa_ok "$T/after.txt" || fail "SOA after the reload: $(dig_status "$T/after.txt")"
[ "$(grep -Ec "$dead_re" "$OUT_LOG")" = "$l" ] ||
	fail "the dead primary was tried again right after the reload: $(grep -E "$dead_re" "$OUT_LOG" | tail -n 1)"
ok "backoff kept: the dead primary was not tried after the reload"
[ "$(handshakes)" = "$h" ] || fail "the query after the reload made a new TLS handshake ($h before, $(handshakes) after): the idle session was dropped"
ok "idle session kept: no handshake at the primary for the query after the reload"
assert_grep "$OUT_LOG" "primaries and TLS settings unchanged: sessions, tickets and backoff kept" "the reload kept the pool"
stop_pid "$OUT_PID" TERM 10 || fail "outbound proxy exited with status $?"

# ------------------- 2. changed group, queries waiting under max-sessions
free_ports FP O
start_fakexot fake "$FP" slow --delay 1.5
FLOG=$T/fake.log
outbound_ini "$T/chg.ini" "$O" "127.0.0.1:$FP" max-sessions=2 queue-timeout=30
start_outbound ob-chg "$T/chg.ini" "$O"
pids=()
for i in 1 2 3 4 5 6; do
	dig +tcp +norec +time=40 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/w-$i.txt" 2>&1 &
	pids+=($!)
done
wait_until 10 bash -c "[ \$(grep -c '^query ' '$FLOG') -ge 2 ]" || fail "the slow primary got no queries"
sed -i 's/^connect-timeout = .*/connect-timeout = 6/' "$T/chg.ini"
reload "changed group"
line=$(grep 'primaries or TLS settings changed' "$OUT_LOG" | tail -n 1)
[ -n "$line" ] || fail "no log line about the changed group"
moved=$(sed -n 's/.*new sessions, \([0-9]*\) queries waiting moved.*/\1/p' <<<"$line")
[ "${moved:-0}" -ge 1 ] || fail "no waiting query was moved: $line"
ok "$(cut -d' ' -f3- <<<"$line")"
for i in 7 8 9; do
	dig +tcp +norec +time=40 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/w-$i.txt" 2>&1 &
	pids+=($!)
done
# two more changes in a row while sessions of the older pools are busy (a
# chain of retired pools whose sessions all count), then more queries
for ct in 7 8; do
	sed -i "s/^connect-timeout = .*/connect-timeout = $ct/" "$T/chg.ini"
	reload "changed group again ($ct)"
done
for i in 10 11 12; do
	dig +tcp +norec +time=40 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/w-$i.txt" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
for i in $(seq 1 12); do
	[ "$(dig_status "$T/w-$i.txt")" = NOERROR ] || fail "query $i: $(dig_status "$T/w-$i.txt") $(tail -n 2 "$T/w-$i.txt" | xargs)"
done
ok "12 of 12 queries answered (6 sent before the reloads, 6 between and after them)"
most=$(sed -n 's/.*open=[0-9]* max=\([0-9]*\).*/\1/p' "$FLOG" | sort -n | tail -n 1)
[ "${most:-0}" -ge 2 ] || fail "the primary never had 2 sessions at once (test did not fill max-sessions)"
[ "$most" -le 2 ] || fail "the primary had $most sessions open at once, max-sessions is 2"
ok "the primary never had more than $most sessions at once (max-sessions 2)"
alive "$OUT_PID" || fail "outbound proxy died"
stop_pid "$OUT_PID" TERM 10 || fail "outbound proxy exited with status $?"

# ------------- 3. a changed reload while a query waits for a silent primary
# The query's session belongs to the pool the reload retires; when the
# silent primary's backend-timeout runs out it fails over to the second
# primary through the new pool.
free_ports HP O
start_fakexot hang "$HP" hang
outbound_ini "$T/mid.ini" "$O" "127.0.0.1:$HP 127.0.0.1:$P"
start_outbound ob-mid "$T/mid.ini" "$O"
t0=$(ms_now)
dig +tcp +norec +time=20 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/mid.txt" 2>&1 &
MID=$!
wait_until 10 grep -q '^query ' "$T/hang.log" || fail "the silent primary got no query"
sed -i 's/^connect-timeout = .*/connect-timeout = 7/' "$T/mid.ini"
reload "changed group while a query waits for its first octet"
wait "$MID" || fail "no answer to the query that waited across the reload"
ms=$(($(ms_now) - t0))
[ "$(dig_status "$T/mid.txt")" = NOERROR ] || fail "the query that waited across the reload: $(dig_status "$T/mid.txt")"
[ "$ms" -lt 10000 ] || fail "the query that waited across the reload took $ms ms"
ok "a query waiting across a changed reload failed over to the second primary: NOERROR in $ms ms"
# the silent primary's backoff, found by the retired pool's session, holds
# in the new pool: the next query does not wait for it again
n=$(grep -c '^query ' "$T/hang.log")
t0=$(ms_now)
soa_ok "$T/mid2.txt" || fail "the query after the failover: $(dig_status "$T/mid2.txt")"
ms=$(($(ms_now) - t0))
[ "$(grep -c '^query ' "$T/hang.log")" = "$n" ] || fail "the new pool sent the next query to the silent primary in its backoff"
[ "$ms" -lt 2000 ] || fail "the next query took $ms ms"
ok "the backoff found by the old pool holds in the new one: next query NOERROR in $ms ms"
alive "$OUT_PID" || fail "outbound proxy died"
stop_pid "$OUT_PID" TERM 10 || fail "outbound proxy exited with status $?"
pass
