#!/bin/bash
# t25: 500 concurrent XoT clients, each on its own TLS connection, each doing
# an AXFR of a 10,000-record zone: all complete and every copy is identical,
# message for message, to a direct transfer from the backend (SHA-256 over
# every answer message with its 2-octet ID zeroed: IDs differ per query).
#   TCP-03/TCP-04 (many concurrent clients), AXFR-09 / ROB-01 (frames
#   relayed whole, in order, none added, dropped, merged or split: the byte
#   streams match), TCP-01 (no cross-talk between connections), XOT-10
#   (the proxy itself imposes no transfer cap below max-clients).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_abuse.sh"
test_init

N=${XOT_LOAD_CLIENTS:-500}
ZN=10000
ulimit -n 8192 2>/dev/null || skip "cannot raise the descriptor limit to 8192 (hard limit $(ulimit -Hn))"
B=$(free_port) || fail "no free port"
P=$(free_port) || fail "no free port"

# A dedicated primary that accepts that many transfers at once.
nd=$T/named
mkdir -p "$nd"
"$XOT_INTEG_DIR/gen-zone.sh" load.test "$ZN" 25 >"$nd/load.test.zone"
{
	named_options "$nd" "$B" | sed -e 's/transfers-out .*/transfers-out 1000;/' \
		-e 's/tcp-clients .*/tcp-clients 2000;\n\ttcp-listen-queue 2048;/'
	echo 'zone "load.test" { type primary; file "load.test.zone"; allow-transfer { any; }; };'
} >"$nd/named.conf"
start_named backend "$nd" "$B" load.test 60
NPID=$LAST_PID

proxy_ini "$T/xotproxy.ini" "$P" "$B"
# 500 clients start their handshakes in the same instant (the Python client
# finishes them slowly): let them all pend; max-handshakes is t35's subject.
sed -i "/^idle-timeout/a max-clients = 2000\nmax-clients-per-ip = 0\nmax-handshakes = 600" "$T/xotproxy.ini"
cat >>"$T/xotproxy.ini" <<EOF

[zone load.test]
allow = 127.0.0.0/8
EOF
start_proxy proxy "$T/xotproxy.ini" "$P"

# Reference: one direct transfer over plain TCP, and one through the proxy
# checked record for record with kdig.
python3 "$ABUSE" load --plain --port "$B" --clients 1 --name load.test >"$T/direct.out" 2>&1 ||
	{ cat "$T/direct.out"; fail "direct AXFR failed"; }
ref=$(awk '/^digest / { print $2 }' "$T/direct.out")
refline=$(grep '^digest ' "$T/direct.out")
[ -n "$ref" ] || fail "no reference digest"
ok "direct transfer: $refline"
kt "$B" load.test AXFR >"$T/direct.txt" || fail "direct kdig AXFR failed"
[ "$(xfr_records "$T/direct.txt")" = $((ZN + 1)) ] || fail "direct AXFR has $(xfr_records "$T/direct.txt") records, not $((ZN + 1))"
xfr_ok_same "$P" load.test "$T/direct.txt" "kdig AXFR through the proxy"
python3 "$ABUSE" load --port "$P" --ca "$XOT_CA" --clients 1 --name load.test >"$T/one.out" 2>&1 ||
	{ cat "$T/one.out"; fail "one XoT transfer failed"; }
grep -q "^digest $ref " "$T/one.out" || { cat "$T/one.out"; fail "a transfer through the proxy differs from the direct one"; }
ok "one transfer through the proxy is byte-identical (IDs aside) to the direct one"

rss0=$(vm "$PROXY_PID" VmRSS)
cpu0=$(cpu_ticks "$PROXY_PID")
mem_reset_peak "$PROXY_PID"
nok0=$(grep -c 'zone load\.test\., AXFR, ok' "$PROXY_LOG")

# --- N concurrent clients: all connect, then all queries go out at once.
t0=$(now_ms)
python3 "$ABUSE" load --port "$P" --ca "$XOT_CA" --clients "$N" --name load.test --timeout 90 \
	>"$T/load.out" 2>&1
rc=$?
el=$(($(now_ms) - t0))
head -n 20 "$T/load.out"
hwm=$(vm "$PROXY_PID" VmHWM)
cpu1=$(cpu_ticks "$PROXY_PID")
grep -q "^load clients $N ok $N failed 0 distinct_digests 1 " "$T/load.out" ||
	fail "$N concurrent transfers: $(grep '^load ' "$T/load.out")"
[ $rc -eq 0 ] || fail "load client exited $rc"
grep -q "^digest $ref .* clients $N$" "$T/load.out" ||
	fail "the $N transfers agree with each other but not with the direct transfer ($refline)"
ok "$N concurrent AXFRs of $ZN records: all complete, all identical to the direct transfer"
ok "$N transfers in $el ms wall; proxy CPU $(((cpu1 - cpu0) * 1000 / CLK_TCK)) ms"
wait_until 15 bash -c "[ \$(grep -c 'zone load\\.test\\., AXFR, ok' '$PROXY_LOG') -ge $((nok0 + N)) ]" ||
	fail "proxy logged $(($(grep -c 'zone load\.test\., AXFR, ok' "$PROXY_LOG") - nok0)) ok transfers, expected $N"
ok "proxy logged $N 'AXFR, ok' lines"
assert_nogrep "$PROXY_LOG" 'aborted|failed|pausing accepts' "proxy logged no aborted or failed transfer and no accept pause"
ok "max RSS: before $rss0 KiB, peak with $N clients $hwm KiB ($(((hwm - rss0) * 1024 / N)) bytes per client)"
assert_mem_le $((hwm - rss0)) $((N * 160)) "RSS growth for $N concurrent transfers (bound 160 KiB per client)"
alive "$PROXY_PID" || fail "proxy died"
alive "$NPID" || fail "backend named died"
pass
