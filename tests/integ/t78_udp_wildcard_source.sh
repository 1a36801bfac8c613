#!/bin/bash
# t78: an outbound listener on a wildcard address answers UDP from the
# address each query was sent to (issue 13, A5). dig checks the source of
# the answer: a reply from another address is "unexpected source" and the
# query times out.
#   1. listen = 0.0.0.0:PORT and [::]:PORT: dig +notcp @127.0.0.2, @127.0.0.3,
#      @127.0.0.1 and @::1 get the SOA, and dig's SERVER line names the address
#      asked (the answer came from it).
#   2. The proxy's own local answers (AXFR over UDP gets TC at once; an A
#      query is REFUSED) leave from the address asked too.
#   3. TCP on the same wildcard still works (dig +tcp @127.0.0.2).
# XOT-14/NOTIFY-03 (SOA polls over UDP from a legacy secondary).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
Z=example.test

free_ports P O
start_xot_primary primary "$P" "$XOT_NAMED_PORT"
outbound_ini "$T/outbound.ini" "$O" "127.0.0.1:$P"
sed -i "s/^listen = .*/listen = 0.0.0.0:$O [::]:$O/" "$T/outbound.ini"
start_outbound outbound "$T/outbound.ini" "$O"
want=$(soa_serial "$XOT_NAMED_PORT" "$Z")
[ -n "$want" ] || fail "no serial for $Z from the shared named"

# ------------------------------------------- 1. SOA over UDP, each address
for addr in 127.0.0.2 127.0.0.3 127.0.0.1 ::1; do
	out=$T/soa-$addr.txt
	dig +notcp +norec +time=5 +tries=1 @"$addr" -p "$O" "$Z" SOA >"$out" 2>&1 ||
		fail "UDP SOA @$addr: no answer ($(grep -m1 -E 'unexpected source|timed out|no servers' "$out"))"
	[ "$(dig_status "$out")" = NOERROR ] || fail "UDP SOA @$addr: status $(dig_status "$out")"
	grep -q "^;; SERVER: $addr#$O($addr) (UDP)" "$out" || fail "UDP SOA @$addr: the answer did not come from $addr over UDP: $(grep SERVER "$out")"
	[ "$(awk '$4 == "SOA" { print $7; exit }' "$out")" = "$want" ] || fail "UDP SOA @$addr: not serial $want"
	grep -q 'unexpected source' "$out" && fail "UDP SOA @$addr: dig saw a reply from another address"
	ok "UDP SOA @$addr#$O: serial $want, answered from $addr"
done

# ------------------------------------------- 2. local answers, same rule
for addr in 127.0.0.2 ::1; do
	dig +notcp +norec +time=5 +tries=1 @"$addr" -p "$O" "$Z" A >"$T/a-$addr.txt" 2>&1 ||
		fail "UDP A @$addr: no answer ($(grep -m1 -E 'unexpected source|timed out' "$T/a-$addr.txt"))"
	[ "$(dig_status "$T/a-$addr.txt")" = REFUSED ] || fail "UDP A @$addr: status $(dig_status "$T/a-$addr.txt")"
	grep -q "^;; SERVER: $addr#$O($addr) (UDP)" "$T/a-$addr.txt" || fail "UDP A @$addr: not from $addr"
	ok "UDP A @$addr: REFUSED locally, answered from $addr"
done
# AXFR over UDP (dig sends AXFR over TCP only): a short Python client that
# prints the answer's source address.
python3 - "$O" >"$T/axfr-udp.txt" 2>&1 <<'PYEOF' || fail "UDP AXFR @127.0.0.2: $(cat "$T/axfr-udp.txt")"
import socket, struct, sys
port = int(sys.argv[1])
q = struct.pack("!HHHHHH", 0x7a7a, 0, 1, 0, 0, 0) + b"\x07example\x04test\x00" + struct.pack("!HH", 252, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(5)
s.sendto(q, ("127.0.0.2", port))
m, src = s.recvfrom(65535)
print("src=%s id=%04x tc=%d" % (src[0], struct.unpack("!H", m[:2])[0], (m[2] >> 1) & 1))
PYEOF
grep -q '^src=127.0.0.2 id=7a7a tc=1$' "$T/axfr-udp.txt" || fail "UDP AXFR @127.0.0.2: $(cat "$T/axfr-udp.txt")"
ok "UDP AXFR @127.0.0.2: TC from 127.0.0.2"

# -------------------------------------------------- 3. TCP on the wildcard
dig +tcp +norec +time=5 +tries=1 @127.0.0.2 -p "$O" "$Z" SOA >"$T/tcp.txt" 2>&1 || fail "TCP SOA @127.0.0.2 failed"
[ "$(dig_status "$T/tcp.txt")" = NOERROR ] || fail "TCP SOA @127.0.0.2: $(dig_status "$T/tcp.txt")"
ok "TCP SOA @127.0.0.2: NOERROR"

alive "$OUT_PID" || fail "outbound proxy died"
alive "$PRI_PID" || fail "primary died"
pass
