#!/bin/bash
# t72: local connections and outbound sessions (issue 13, items 9 and 10).
#   1. max-sessions = 1: three local TCP connections each send an SOA and
#      then stay open and idle (15 s). An idle local connection holds no
#      TLS session, so each one's SOA is answered at once (under 8 s while
#      the idle ones stay open 15 s; before the fix the second waited for
#      the first connection to close), and a UDP poll meanwhile too. The primary sees one TLS connection: the
#      session goes back to the pool clean after each answer and is reused.
#   2. 200 local plain-TCP connections reset right after connect (SO_LINGER
#      0) are not TLS: no "TLS handshake failed" line (before the fix: "TLS
#      handshake failed (connect: Connection reset by peer)"), and the proxy
#      stays up and answers.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
PROBE=$TOOLS/idprobe.py

xot_outbound out "$XOT_NAMED_PORT" max-sessions=1
serial=$(soa_serial "$XOT_NAMED_PORT" example.test)

# ------------------------------------------------------- 1. idle locals
pids=()
for i in 1 2 3; do
	python3 "$PROBE" tcp --port "$O" --timeout 30 --linger 15 example.test SOA/$((600 + i)) >"$T/idle$i.out" &
	pids+=($!)
	_BG_PIDS+=($!)
	wait_until 8 grep -q "^msg q=$((600 + i)) id=$((600 + i)) rcode=0 an=1 soa=$serial " "$T/idle$i.out" ||
		{ cat "$T/idle$i.out"; fail "local connection $i: SOA not answered within 8 s while $((i - 1)) idle local connection(s) stay open (max-sessions 1)"; }
	ok "local connection $i answered with $((i - 1)) idle local connection(s) open"
done
python3 "$PROBE" udp --port "$O" --timeout 3 --linger 0.2 example.test SOA/700 >"$T/udp.out"
grep -q "^msg q=700 id=700 rcode=0 an=1 soa=$serial " "$T/udp.out" ||
	{ cat "$T/udp.out"; fail "UDP poll not answered while 3 idle local connections are open"; }
ok "UDP poll answered while 3 idle local connections are open"
n=$(grep -c 'TLS established' "$PRI_LOG")
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "the primary saw $n TLS connections for 4 queries (expected the one session reused)"
ok "the primary saw $n TLS connection(s) for 4 queries: the session went back to the pool"
for p in "${pids[@]}"; do
	kill "$p" 2>/dev/null
done

# ------------------------------------------------------- 2. resets
python3 - "$O" <<'EOF'
import socket, struct, sys
port = int(sys.argv[1])
for _ in range(200):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.connect(("127.0.0.1", port))
    s.close()
EOF
python3 "$PROBE" tcp --port "$O" --timeout 10 --linger 0.2 example.test SOA/701 >"$T/after.out"
grep -q "^msg q=701 id=701 rcode=0 " "$T/after.out" || fail "no answer after the resets"
ok "200 reset local connections; the next query is answered"
assert_nogrep "$OUT_LOG" 'TLS handshake failed' "outbound log: a reset plain-TCP connection is no TLS handshake failure"
alive "$OUT_PID" || fail "outbound proxy died"
pass
