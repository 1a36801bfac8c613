#!/bin/bash
# t70: an answer never goes to the wrong requester (issue 13, item 1; TCP-07,
# TCP-01, IXFR-02).
#   1. Outbound: legacy secondary --UDP/TCP--> xotproxy [outbound] --TLS-->
#      xotproxy [inbound] --> fakeprimary lone-soa-more. A UDP IXFR (id 1111)
#      is answered with a lone SOA; 1.5 s later the primary sends 10 more
#      records with id 1111 (the lone SOA was the start of an AXFR-style
#      answer). The UDP requester takes the SOA and is done, but the session
#      may still receive the rest: it must never be handed to the next
#      requester. A UDP SOA poll (id 2222) and a TCP SOA (id 3333) sent
#      right after, and again after the rest of id 1111 was sent (4444,
#      5555), each get exactly one message: their own ID, the SOA. The same
#      with the IXFR over local TCP (closed after the lone SOA, as kdig
#      +tcp does) followed by a UDP poll (id 2223).
#   2. Inbound: fakeprimary unknown-id puts a message with a foreign ID
#      (query ID XOR 0x5555) before every answer. That message is never
#      relayed: the client gets only its own ID (SERVFAIL, EDE 23, since
#      nothing of the answer was relayed), the proxy logs one warning naming
#      the ID, the backend connection is retired, and the session answers
#      the next query the same way.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
PROBE=$TOOLS/idprobe.py

# only_own FILE ID WHAT: FILE holds exactly one message, with ID, an SOA
# answer (serial 100), and nothing else arrived.
only_own() {
	local n
	n=$(grep -c '^msg ' "$1")
	grep -q "^msg q=$2 id=$2 rcode=0 an=1 soa=100 " "$1" && [ "$n" = 1 ] ||
		{ cat "$1"; fail "$3: expected exactly one message, id $2 with the SOA; got $n"; }
	ok "$3: one message, id $2, the SOA"
}

# ---------------------------------------------------------- 1. outbound
start_fakeprimary fp-lone lone-soa-more --gap 1.5
XOT_PRIMARY_ZONES=lone.test xot_outbound outbound "$FPORT" idle-timeout=30

python3 "$PROBE" udp --port "$O" --linger 0.3 lone.test IXFR/1111/serial=50 >"$T/u1111.out"
only_own "$T/u1111.out" 1111 "UDP IXFR (lone SOA first)"
python3 "$PROBE" udp --port "$O" --linger 0.3 lone.test SOA/2222 >"$T/u2222.out"
python3 "$PROBE" tcp --port "$O" --linger 0.5 lone.test SOA/3333 >"$T/t3333.out"
only_own "$T/u2222.out" 2222 "UDP SOA poll right after"
only_own "$T/t3333.out" 3333 "TCP SOA right after"
# The rest of id 1111 is due 1.5 s after the lone SOA: the primary sends it,
# or finds its connection closed (the session that carried id 1111 was not
# reused but closed, and the inbound proxy closed its backend connection).
wait_until 10 grep -Eq 'answer conn=1 id=1111 messages=2|conn 1 closed by peer' "$FLOG" ||
	fail "the primary neither sent the rest of id 1111 nor saw its connection closed: $(cat "$FLOG")"
sleep_until=$(grep -cE 'answer conn=1 id=1111 messages=2' "$FLOG")
ok "the rest of id 1111 is past due ($([ "$sleep_until" = 1 ] && echo "sent" || echo "its connection was closed first"))"
python3 "$PROBE" udp --port "$O" --linger 0.3 lone.test SOA/4444 >"$T/u4444.out"
python3 "$PROBE" tcp --port "$O" --linger 0.5 lone.test SOA/5555 >"$T/t5555.out"
only_own "$T/u4444.out" 4444 "UDP SOA poll after the rest of id 1111"
only_own "$T/t5555.out" 5555 "TCP SOA after the rest of id 1111"
# The same with the IXFR over local TCP (as kdig +tcp IXFR=50 does: it
# closes after the lone SOA), then a UDP poll at once.
python3 "$PROBE" tcp --port "$O" --linger 0 lone.test IXFR/1112/serial=50 >"$T/t1112.out"
python3 "$PROBE" udp --port "$O" --linger 0.3 lone.test SOA/2223 >"$T/u2223.out"
only_own "$T/t1112.out" 1112 "TCP IXFR (lone SOA first), connection closed after it"
only_own "$T/u2223.out" 2223 "UDP SOA poll right after the TCP IXFR"
assert_nogrep "$OUT_LOG" 'unknown id 111[12]' "outbound: no message of id 1111 or 1112 reached a session in use"
assert_nogrep "$OUT_LOG" 'aborted' "outbound: nothing aborted"
alive "$OUT_PID" || fail "outbound proxy died"

# ---------------------------------------------------------- 2. inbound
start_fakeprimary fp-unknown unknown-id
free_ports I
proxy_ini "$T/inbound.ini" "$I" "$FPORT"
printf '\n[zone lone.test]\nallow = 127.0.0.0/8\n' >>"$T/inbound.ini"
start_proxy inbound "$T/inbound.ini" "$I"
python3 "$PROBE" tcp --tls --ca "$XOT_CA" --port "$I" --linger 0.5 lone.test SOA/7000 SOA/7001 >"$T/i7000.out"
cat "$T/i7000.out"
grep -q '^msg q=7000 id=7000 rcode=2 an=0 soa=- ede=23 ' "$T/i7000.out" ||
	fail "SOA id 7000: no SERVFAIL with EDE 23"
grep -q '^msg q=7001 id=7001 rcode=2 an=0 soa=- ede=23 ' "$T/i7000.out" ||
	fail "SOA id 7001 on the same session: no SERVFAIL with EDE 23"
[ "$(grep -c '^msg ' "$T/i7000.out")" = 2 ] || fail "the client got messages that are not its answers"
ok "inbound: the foreign-ID messages were withheld; each query got its own SERVFAIL (EDE 23) on one session"
for id in 7000 7001; do
	bad=$((id ^ 0x5555))
	n=$(grep -c "backend sent an answer with unknown id $bad: dropped, connection retired" "$PROXY_LOG")
	[ "$n" = 1 ] || { tail -n 20 "$PROXY_LOG"; fail "inbound log: $n warnings for id $bad, expected 1"; }
done
ok "inbound log: one warning per foreign ID ($(grep -m1 'unknown id' "$PROXY_LOG" | cut -d' ' -f3-))"
n=$(grep -c '^conn [0-9]* open' "$FLOG")
[ "$n" = 2 ] || fail "the backend saw $n connections, expected 2 (each retired after its foreign message)"
ok "each backend connection was retired after the foreign message (2 connections for 2 queries)"
alive "$PROXY_PID" || fail "inbound proxy died"
pass
