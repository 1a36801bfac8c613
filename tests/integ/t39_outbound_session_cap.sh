#!/bin/bash
# t39: outbound max-sessions queues, it does not refuse. With max-sessions = 1,
# two AXFRs and eight UDP SOA polls sent at once through the outbound side all
# succeed: queries beyond the cap wait for the one TLS session (XOT-08 reuse,
# XOT-10: a cap must not turn routine polls into SERVFAIL), and the primary
# sees at most one session at a time.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

P=$(free_port) && O=$(free_port) || fail "no free port"
start_xot_primary primary "$P" "$XOT_NAMED_PORT"
outbound_ini "$T/out.ini" "$O" "127.0.0.1:$P" max-sessions=1
start_outbound out "$T/out.ini" "$O"

kt "$XOT_NAMED_PORT" example.test AXFR >"$T/direct.txt" || fail "direct AXFR failed"
want=$(xfr_records "$T/direct.txt" | wc -l)

pids=()
for i in 1 2; do
	kdig @127.0.0.1 -p "$O" +tcp +time=30 example.test AXFR >"$T/axfr$i.txt" 2>&1 &
	pids+=($!)
done
for i in $(seq 1 8); do
	kdig @127.0.0.1 -p "$O" +notcp +time=30 +retry=0 example.test SOA >"$T/soa$i.txt" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || note "client pid $p exited $?"
done
for i in 1 2; do
	got=$(xfr_records "$T/axfr$i.txt" | wc -l)
	[ "$got" -eq "$want" ] || { tail -5 "$T/axfr$i.txt"; fail "AXFR $i through outbound: $got records, expected $want"; }
done
ok "2 simultaneous AXFRs through one session slot: $want records each"
for i in $(seq 1 8); do
	grep -q 'status: NOERROR' "$T/soa$i.txt" || { cat "$T/soa$i.txt"; fail "UDP SOA poll $i was not answered NOERROR"; }
done
ok "8 simultaneous UDP SOA polls answered NOERROR while the session was busy"
n=$(grep -c 'TLS established' "$PRI_LOG")
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "the primary saw $n TLS sessions for max-sessions 1 and sequential reuse"
ok "the primary saw $n TLS session(s) for 10 queries (max-sessions 1)"
alive "$OUT_PID" || fail "outbound proxy died"
pass
