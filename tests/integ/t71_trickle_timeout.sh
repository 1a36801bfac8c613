#!/bin/bash
# t71: transfer-timeout counts complete messages, not octets (issue 13,
# item 4; TCP-05, PRX-04, XoT error table).
#   1. transfer-timeout = 3, backend-timeout = 30: the backend (fakeprimary
#      trickle) sends its SOA answer (106 octets) one octet every 0.4 s,
#      i.e. over 42 s. No complete message comes in 3 s and nothing of the
#      answer reached the client, so the client gets SERVFAIL with EDE 23
#      (its own ID) after about 3 s, not the answer after 42 s; the session
#      stays open and the next query on it is answered (the backend answers
#      later queries at once).
#   2. The same with the header and a few octets more sent at once: the
#      client has part of the answer, so the session is aborted (no
#      close_notify) after about 3 s, not kept alive by each octet.
#   3. A hung backend (fakeprimary hang) with transfer-timeout = 3 shorter
#      than backend-timeout = 30: SERVFAIL EDE 23 at about 3 s, the session
#      stays usable (the next query gets its own SERVFAIL, not a close).
. "$(dirname "$0")/lib.sh"
test_init
PROBE=$TOOLS/idprobe.py

proxy() {
	local name=$1 bport=$2
	free_ports PORT
	# shellcheck disable=SC2153 # free_ports set it
	proxy_ini "$T/$name.ini" "$PORT" "$bport"
	sed -i "/^idle-timeout/a transfer-timeout = 3\nbackend-timeout = 30" "$T/$name.ini"
	printf '\n[zone lone.test]\nallow = 127.0.0.0/8\n' >>"$T/$name.ini"
	start_proxy "$name" "$T/$name.ini" "$PORT"
}
# servfail_at FILE ID: the time (s) at which ID got SERVFAIL with EDE 23.
servfail_at() {
	sed -n "s/^msg q=$2 id=$2 rcode=2 an=0 soa=- ede=23 t=\([0-9.]*\)$/\1/p" "$1"
}

# ------------------------------------------------------------- 1. trickle
start_fakeprimary fp-trickle trickle --delay 0.4
proxy proxy1 "$FPORT"
python3 "$PROBE" tcp --tls --ca "$XOT_CA" --port "$PORT" --timeout 30 --linger 0.3 \
	lone.test SOA/801 SOA/802 >"$T/trickle.out"
cat "$T/trickle.out"
grep -q 'trickle conn=1 id=801' "$FLOG" || fail "the backend did not trickle the answer to id 801"
t=$(servfail_at "$T/trickle.out" 801)
[ -n "$t" ] || fail "id 801: no SERVFAIL with EDE 23"
awk -v t="$t" 'BEGIN { exit !(t >= 2.5 && t <= 10) }' ||
	fail "id 801: SERVFAIL after $t s, expected about 3 s (transfer-timeout)"
ok "trickled answer: SERVFAIL EDE 23 after $t s (transfer-timeout 3 s; the whole answer would take 42 s)"
grep -q '^msg q=802 id=802 rcode=0 an=1 soa=100 ' "$T/trickle.out" ||
	fail "id 802 on the same session: not answered"
[ "$(grep -c '^msg ' "$T/trickle.out")" = 2 ] || fail "the client got more than its two answers"
ok "the session stays usable: the next SOA on it is answered"
assert_grep "$PROXY_LOG" 'SOA, failed \(transfer timeout\), SERVFAIL sent' "proxy log: the SOA failed on the transfer timeout"

# ------------------------------------------------------- 2. trickle, head
start_fakeprimary fp-head trickle --delay 0.4 --trickle-head 20
proxy proxy-head "$FPORT"
python3 "$PROBE" tcp --tls --ca "$XOT_CA" --port "$PORT" --timeout 30 --linger 0.3 \
	lone.test SOA/851 >"$T/head.out"
cat "$T/head.out"
grep -q '^closed' "$T/head.out" || fail "id 851: the session was not closed"
grep -q '^msg ' "$T/head.out" && fail "id 851: a whole message arrived (the trickle should take 42 s)"
wait_until 5 grep -q 'aborted (transfer timeout)' "$PROXY_LOG" || fail "no 'aborted (transfer timeout)' line"
s=$(grep -m1 'aborted (transfer timeout)' "$PROXY_LOG" | sed -n 's/.*, \([0-9.]*\) s$/\1/p')
awk -v t="$s" 'BEGIN { exit !(t >= 2.5 && t <= 10) }' ||
	fail "id 851: aborted after $s s, expected about 3 s: each octet must not count as progress"
ok "partly relayed trickle: aborted after $s s (transfer-timeout 3 s)"

# ------------------------------------------------------------- 3. hung
start_fakeprimary fp-hang hang
proxy proxy2 "$FPORT"
python3 "$PROBE" tcp --tls --ca "$XOT_CA" --port "$PORT" --timeout 30 --linger 0.3 \
	lone.test SOA/901 SOA/902 >"$T/hang.out"
cat "$T/hang.out"
t=$(servfail_at "$T/hang.out" 901)
[ -n "$t" ] || fail "id 901 (hung backend): no SERVFAIL with EDE 23"
awk -v t="$t" 'BEGIN { exit !(t >= 2.5 && t <= 10) }' ||
	fail "id 901: SERVFAIL after $t s, expected about 3 s (transfer-timeout < backend-timeout)"
[ -n "$(servfail_at "$T/hang.out" 902)" ] || fail "id 902: the session did not answer the next query"
ok "hung backend: SERVFAIL EDE 23 after $t s, and the next query on the session is answered"
assert_nogrep "$PROXY_LOG" 'aborted' "proxy log: nothing aborted"
pass
