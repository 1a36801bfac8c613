#!/bin/bash
# t65: [inbound] zones-file with 100,000 zones (issue 9: one line per zone,
# "NAME ACL..."), a reload of it under load.
#   XOT-17/PRX-02 at scale: the last zone of the file is transferred, a zone
#     not in the file is refused by the proxy (REFUSED + EDE 18, never sent
#     to named); `xotproxy -t` checks the file (time printed).
#   PRX-07 (reload without cutting transfers): a SIGHUP that re-reads the
#     100,000 lines during a running, stalled AXFR loses nothing (the AXFR
#     completes with every record), and SOA queries on another open session
#     keep being answered while the file is re-read: the worst SOA latency
#     around the reload is printed and asserted under 1 s (the 100 ms target
#     is a bench figure, not asserted here).
#   Every query is judged on the configuration in force: a zone removed from
#   the file is refused on the next query.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_policy.sh"
. "$XOT_INTEG_DIR/lib_abuse.sh"
test_init

NZ=${XOT_T65_ZONES:-100000}
LAST=z$NZ.test
BIGN=$XOT_ZONE_BIG_N

# --- named serves the first zone (small) and the last (big).
NP=$(free_port) || fail "no free port"
nd=$T/named
mkdir -p "$nd"
"$XOT_INTEG_DIR/gen-zone.sh" z1.test 100 6500 >"$nd/z1.test.zone" || fail "gen-zone z1"
"$XOT_INTEG_DIR/gen-zone.sh" "$LAST" "$BIGN" 6501 >"$nd/$LAST.zone" || fail "gen-zone $LAST"
{
	querylog_named_conf "$nd" "$NP"
	cat <<EOF
zone "z1.test" { type primary; file "z1.test.zone"; allow-transfer { any; }; };
zone "$LAST" { type primary; file "$LAST.zone"; allow-transfer { any; }; };
EOF
} >"$nd/named.conf"
start_named named "$nd" "$NP" "$LAST" 90
QLOG=$T/named.log
kt "$NP" "$LAST" AXFR >"$T/direct.txt" 2>&1 || fail "direct AXFR of $LAST failed"
[ "$(xfr_records "$T/direct.txt")" = $((BIGN + 1)) ] || fail "direct AXFR of $LAST: $(xfr_records "$T/direct.txt") records"

# --- the zones file: z1.test .. z$NZ.test, each with the ACL "local".
awk -v n="$NZ" 'BEGIN { for (i = 1; i <= n; i++) printf "z%d.test local\n", i }' >"$T/zones.txt"
[ "$(wc -l <"$T/zones.txt")" = "$NZ" ] || fail "zones file has $(wc -l <"$T/zones.txt") lines"
ok "zones file: $NZ lines, $(du -k "$T/zones.txt" | cut -f1) KiB"

P=$(free_port) || fail "no free port"
# log-level info: the SOA prober's queries are not logged one by one.
PROXY_LOG_LEVEL=info policy_ini "$T/xotproxy.ini" "$P" "$NP" zones-file="$T/zones.txt"
printf '\n[acl local]\naddress = 127.0.0.0/8\n' >>"$T/xotproxy.ini"

t0=$(ms_now)
"$XOT_BIN" -t -c "$T/xotproxy.ini" >"$T/check.txt" 2>&1
rc=$?
el=$(($(ms_now) - t0))
[ $rc = 0 ] || { tail -n 5 "$T/check.txt"; fail "xotproxy -t with $NZ zones: exit $rc"; }
grep -q 'configuration OK' "$T/check.txt" || { tail -n 5 "$T/check.txt"; fail "xotproxy -t printed no 'configuration OK'"; }
[ "$el" -lt 60000 ] || fail "xotproxy -t took $el ms"
ok "xotproxy -t with $NZ zones: exit 0 in $el ms"

t0=$(ms_now)
start_proxy proxy "$T/xotproxy.ini" "$P"
ok "start with $NZ zones: listening after $(($(ms_now) - t0)) ms, RSS $(vm "$PROXY_PID" VmRSS) KiB"
grep -q "$NZ zones" "$PROXY_LOG" && ok "proxy: $(grep "$NZ zones" "$PROXY_LOG" | head -n 1 | cut -d' ' -f3-)"

kd "$P" "$LAST" AXFR >"$T/last.txt" 2>&1
xfr_ok "$T/last.txt" "AXFR of the last zone of the file ($LAST)" $((BIGN + 1))
same_records "$T/direct.txt" "$T/last.txt" "$LAST through the proxy vs direct"
kd "$P" z1.test AXFR >"$T/first.txt" 2>&1
xfr_ok "$T/first.txt" "AXFR of the first zone (z1.test)" 101
kd "$P" +edns "z$((NZ / 2)).test" SOA >"$T/mid.txt" 2>&1
wait_until 10 grep -q "query: z$((NZ / 2)).test IN SOA" "$QLOG" ||
	fail "z$((NZ / 2)).test (in the file) was not forwarded to named"
ok "z$((NZ / 2)).test (in the file, not served by named): forwarded, named answered $(dig_status "$T/mid.txt")"
kd "$P" +edns "z$((NZ + 1)).test" SOA >"$T/notin.txt" 2>&1
assert_answer "$T/notin.txt" "z$((NZ + 1)).test (not in the file)" REFUSED '18 '
kt "$NP" marker1.z1.test TXT >/dev/null 2>&1
wait_until 10 grep -q 'query: marker1.z1.test IN TXT' "$QLOG" || fail "marker not in named's log"
assert_nogrep "$QLOG" "query: z$((NZ + 1))\\.test" "z$((NZ + 1)).test never reached named"

# --- reload during a stalled AXFR of the last zone, SOA probed meanwhile.
bg_start holder python3 "$POLICY" --port "$P" --ca "$XOT_CA" --rcvbuf 4096 --timeout 120 \
	"send:$LAST/AXFR/edns" "wait:$T/release:120" collect:120
HOLD_PID=$LAST_PID
wait_until 10 proxy_has_backend_conn "$PROXY_PID" "$NP" || { cat "$T/holder.log"; fail "the held AXFR did not start"; }
ok "AXFR of $LAST running, its reader stalled"

PROBE_SECS=8
bg_start prober python3 "$POLICY" --port "$P" --ca "$XOT_CA" --timeout 10 \
	"probe:$PROBE_SECS:$LAST/SOA/edns:$T/probe.txt"
PROBE_PID=$LAST_PID
wait_until 10 test -s "$T/probe.txt" || { cat "$T/prober.log"; fail "the SOA prober did not start"; }
sleep 1
# The new file: the same 100,000 zones without z1.test.
awk -v n="$NZ" 'BEGIN { for (i = 2; i <= n; i++) printf "z%d.test local\n", i }' >"$T/zones.new"
mv "$T/zones.new" "$T/zones.txt"
n_rel=$(grep -c 'reloaded' "$PROXY_LOG")
t_hup=$(date +%s.%N)
kill -HUP "$PROXY_PID"
wait_until 60 bash -c "[ \$(grep -c 'reloaded' '$PROXY_LOG') -gt $n_rel ]" ||
	{ tail -n 5 "$PROXY_LOG"; fail "no 'reloaded' line within 60 s of SIGHUP"; }
t_rel=$(date +%s.%N)
ok "reload: $(grep 'reloaded' "$PROXY_LOG" | tail -n 1 | cut -d' ' -f3-) (seen $(awk -v a="$t_hup" -v b="$t_rel" 'BEGIN { printf "%d", (b - a) * 1000 }') ms after SIGHUP)"
wait_pid_exit "$PROBE_PID" $((PROBE_SECS + 20)) || { cat "$T/prober.log"; fail "the SOA prober failed (exit $?)"; }
cat "$T/prober.log"
# Every probe answered NOERROR; the worst latency overall and around the reload.
awk '$3 != "NOERROR" { bad++ } END { exit bad > 0 }' "$T/probe.txt" ||
	{ grep -v NOERROR "$T/probe.txt" | head -n 3; fail "a probe SOA was not answered NOERROR"; }
read -r n_all max_all n_win max_win < <(awk -v a="$t_hup" -v b="$t_rel" '
	{ n++; if ($2 > m) m = $2
	  # overlapping the reload: sent before it was seen done, answered after SIGHUP
	  if ($1 <= b && $1 + $2 / 1000 >= a) { w++; if ($2 > mw) mw = $2 } }
	END { printf "%d %.1f %d %.1f\n", n, m, w, mw }' "$T/probe.txt")
[ "$n_win" -ge 1 ] || fail "no probe SOA overlapped the reload window (probe rate too low?)"
ok "SOA latency: $n_all probes, max $max_all ms; $n_win probes overlapping the reload, max $max_win ms"
awk -v m="$max_all" 'BEGIN { exit !(m < 1000) }' || fail "an SOA waited $max_all ms during the reload (bound 1000 ms; target 100 ms)"
awk -v m="$max_win" 'BEGIN { exit !(m < 100) }' ||
	note "SOA latency around the reload $max_win ms: above the 100 ms bench target (not asserted here)"

# The running AXFR completes with every record.
alive "$HOLD_PID" || { cat "$T/holder.log"; fail "the held AXFR client ended before the release"; }
touch "$T/release"
wait_pid_exit "$HOLD_PID" 90 || { cat "$T/holder.log"; fail "the AXFR across the reload failed (exit $?)"; }
[ "$(stream_field "$T/holder.log" rcode)" = NOERROR ] && [ "$(stream_field "$T/holder.log" end)" = complete ] &&
	[ "$(stream_field "$T/holder.log" records)" = $((BIGN + 1)) ] ||
	{ cat "$T/holder.log"; fail "the AXFR across the reload is incomplete"; }
ok "AXFR of $LAST across the reload: complete, $((BIGN + 1)) records"

# The new file is in force: z1.test refused, the last zone still served.
kd "$P" +edns z1.test SOA >"$T/z1-after.txt" 2>&1
assert_answer "$T/z1-after.txt" "z1.test after it was removed from the file" REFUSED '18 '
kd "$P" "$LAST" AXFR >"$T/last-after.txt" 2>&1
xfr_ok "$T/last-after.txt" "AXFR of $LAST after the reload" $((BIGN + 1))
ok "RSS after the reload: $(vm "$PROXY_PID" VmRSS) KiB"
alive "$PROXY_PID" || fail "proxy died"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"
pass
