#!/bin/bash
# t12: raw DNS-over-TLS framing through the proxy (openssl s_client).
#   TCP-03/XOT-06/DOT-03: three pipelined queries in one write (AXFR, SOA,
#     refused A) all get their answers, matched by ID (AXFR-01: IDs kept).
#   TCP-08: a query split into three TLS records (1 byte of the length, then
#     1 byte, then the rest) is reassembled and answered.
#   AXFR-06: the refused query does not end the session.
. "$(dirname "$0")/lib.sh"
test_init

P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
start_proxy proxy "$T/xotproxy.ini" "$P"

# session NAME: start s_client (TLS 1.3, ALPN dot, strict) reading from fd 4.
session() {
	rm -f "$T/$1.fifo"
	mkfifo "$T/$1.fifo"
	openssl s_client -connect "127.0.0.1:$P" -servername xot.test -CAfile "$XOT_CA" -verify_return_error \
		-tls1_3 -alpn dot -quiet <"$T/$1.fifo" >"$T/$1.bin" 2>"$T/$1.err" &
	SPID=$!
	_BG_PIDS+=("$SPID")
	exec 4>"$T/$1.fifo"
}
nframes() { dns_frames "$1" | grep -vc partial; }

# --- pipelining: AXFR small.test (ID 4369), SOA example.test (8738), A
# example.test (13107) in a single write.
session pipe
printf '%b' "$(dns_query 4369 small.test AXFR)$(dns_query 8738 example.test SOA)$(dns_query 13107 example.test A)" >&4
wait_until 15 bash -c "[ \$(od -An -v -tu1 '$T/pipe.bin' | wc -w) -gt 0 ] && [ \$($(declare -f dns_frames); dns_frames '$T/pipe.bin' | grep -vc partial) -ge 3 ]" ||
	{ dns_frames "$T/pipe.bin"; fail "pipelined queries: got $(nframes "$T/pipe.bin") answers, expected 3: $(head -c 300 "$T/pipe.err")"; }
exec 4>&-
stop_pid "$SPID" TERM 5 >/dev/null 2>&1
dns_frames "$T/pipe.bin" >"$T/pipe.frames"
cat "$T/pipe.frames"
grep -q partial "$T/pipe.frames" && fail "pipelined: a partial frame"
[ "$(wc -l <"$T/pipe.frames")" -eq 3 ] || fail "pipelined: $(wc -l <"$T/pipe.frames") frames, expected 3"
grep -qx '4369 1 0 41' "$T/pipe.frames" || fail "pipelined: no NOERROR AXFR answer with ID 4369 and 41 records"
grep -qx '8738 1 0 1' "$T/pipe.frames" || fail "pipelined: no NOERROR SOA answer with ID 8738"
grep -qx '13107 1 5 0' "$T/pipe.frames" || fail "pipelined: no REFUSED answer with ID 13107"
ok "3 pipelined queries in one write: AXFR, SOA and REFUSED answers, IDs kept"

# --- fragmentation: one SOA query in three TLS records.
session frag
q=$(dns_query 25000 small.test SOA)
printf '%b' "${q:0:4}" >&4
sleep 0.3 # deliberate: make s_client send a separate TLS record
printf '%b' "${q:4:4}" >&4
sleep 0.3
printf '%b' "${q:8}" >&4
wait_until 15 bash -c "$(declare -f dns_frames); [ \$(dns_frames '$T/frag.bin' | grep -vc partial) -ge 1 ]" ||
	fail "query split over three TLS records: no answer"
exec 4>&-
stop_pid "$SPID" TERM 5 >/dev/null 2>&1
dns_frames "$T/frag.bin" >"$T/frag.frames"
grep -qx '25000 1 0 1' "$T/frag.frames" || { cat "$T/frag.frames"; fail "fragmented query: no NOERROR SOA answer with ID 25000"; }
ok "query split over three TLS records answered (ID 25000)"
alive "$PROXY_PID" || fail "proxy died"
pass
