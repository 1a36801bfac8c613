#!/bin/bash
# t10: several clients transfer the 100k-record zone at the same time, plus
# SOA queries meanwhile; every transfer is complete and identical.
#   TCP-03/TCP-04 (concurrent clients), AXFR-09 (no frame lost or spliced
#   between sessions), TCP-01 (no cross-talk between connections).
. "$(dirname "$0")/lib.sh"
test_init

NPAR=${XOT_PARALLEL:-4}
P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
start_proxy proxy "$T/xotproxy.ini" "$P"

kt "$XOT_NAMED_PORT" example.test AXFR >"$T/direct.txt" || fail "direct AXFR failed"
rrs "$T/direct.txt" >"$T/direct.rrs"
[ "$(wc -l <"$T/direct.rrs")" -ge $((XOT_ZONE_BIG_N + 1)) ] || fail "direct AXFR is short"

pids=()
for ((i = 1; i <= NPAR; i++)); do
	kd "$P" example.test AXFR >"$T/par-$i.txt" 2>"$T/par-$i.err" &
	pids+=($!)
done
kd "$P" signed.test -y "$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET" AXFR >"$T/par-signed.txt" 2>"$T/par-signed.err" &
pids+=($!)
for ((i = 1; i <= 5; i++)); do
	kd "$P" small.test SOA >"$T/soa-$i.txt" 2>&1 || fail "SOA $i during the parallel transfers failed"
	[ "$(dig_status "$T/soa-$i.txt")" = NOERROR ] || fail "SOA $i: status $(dig_status "$T/soa-$i.txt")"
done
ok "5 SOA queries answered during the transfers"
# Bounded wait for the background transfers.
for pid in "${pids[@]}"; do
	wait_pid_exit "$pid" 120
	rc=$?
	[ $rc -eq 0 ] || fail "a parallel kdig (pid $pid) exited $rc"
done
for ((i = 1; i <= NPAR; i++)); do
	rrs "$T/par-$i.txt" >"$T/par-$i.rrs"
	cmp -s "$T/direct.rrs" "$T/par-$i.rrs" || fail "parallel AXFR $i differs from the direct one ($(wc -l <"$T/par-$i.rrs") records)"
	grep -Eq 'ERROR|WARNING' "$T/par-$i.err" && fail "parallel AXFR $i: $(cat "$T/par-$i.err")"
done
ok "$NPAR parallel AXFRs complete and identical ($(wc -l <"$T/direct.rrs") records each)"
grep -Eq 'ERROR|WARNING|TSIG' "$T/par-signed.err" && fail "parallel signed AXFR: $(cat "$T/par-signed.err")"
kt "$XOT_NAMED_PORT" -y "$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET" signed.test AXFR >"$T/signed-direct.txt" || fail "direct signed AXFR failed"
grep -Ev $'[[:space:]]ANY[[:space:]]+TSIG[[:space:]]' "$T/signed-direct.txt" >"$T/signed-direct.nt"
grep -Ev $'[[:space:]]ANY[[:space:]]+TSIG[[:space:]]' "$T/par-signed.txt" >"$T/par-signed.nt"
[ "$(xfr_records "$T/par-signed.txt")" -ge $((XOT_ZONE_SIGNED_N + 1)) ] || fail "parallel signed AXFR incomplete"
same_records "$T/signed-direct.nt" "$T/par-signed.nt" "parallel signed AXFR vs direct"
ok "signed AXFR in parallel verified"
wait_until 10 bash -c "[ \$(grep -c 'zone example\.test\., AXFR, ok' '$PROXY_LOG') -eq $NPAR ]" ||
	fail "expected $NPAR 'AXFR, ok' log lines, found $(grep -c 'zone example\.test\., AXFR, ok' "$PROXY_LOG")"
ok "proxy logged $NPAR successful AXFRs"
alive "$PROXY_PID" || fail "proxy died"
pass
