#!/bin/bash
# t105: inbound at max-clients pauses the inbound listeners only (issue 14
# item 1, hostile review: "each set pauses on its own").
#   One process with [inbound] max-clients = 1, an [outbound g1] group
#   towards a scripted XoT primary (rvxot.py) and /metrics. A TLS session
#   that had a query admitted holds the one inbound slot: the inbound
#   listener pauses ("max-clients (1) reached; pausing accepts") and a
#   second TLS client is not served. Meanwhile, and again after a SIGHUP
#   taken while paused:
#     - the outbound group answers SOA over TCP and over UDP;
#     - /metrics answers a scrape;
#     - the inbound stays paused (the reload does not resume it at the cap).
#   Once the holder goes, the inbound accepts again (a new TLS client gets
#   its SOA).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
command -v curl >/dev/null || skip "curl not installed"
TOOLS=$(cd "$XOT_INTEG_DIR/../tools" && pwd)

P=$(free_port) || fail "no free port"
O=$(free_port) || fail "no free port"
M=$(free_port) || fail "no free port"
X=$(free_port) || fail "no free port"
start_rvxot rvxot "$X"

proxy_ini "$T/x.ini" "$P" "$XOT_NAMED_PORT"
sed -i "s/^log-level = .*/log-level = debug\nmetrics = 127.0.0.1:$M/; s/^idle-timeout = .*/&\nmax-clients = 1/" "$T/x.ini"
cat >>"$T/x.ini" <<INI

[outbound g1]
listen = 127.0.0.1:$O
allow = 127.0.0.0/8
primary = 127.0.0.1:$X
ca = $XOT_CA
auth-name = xot.test
connect-timeout = 5
INI
start_proxy proxy "$T/x.ini" "$P"
wait_until 10 tcp_listening "$O" || fail "outbound TCP $O not listening"

# holder: one admitted query, then hold the session until $T/release
python3 "$TOOLS/xotabuse.py" session --port "$P" --ca "$XOT_CA" --timeout 60 \
	q:small.test:SOA "wait:$T/release:60" >"$T/holder.txt" 2>&1 &
HOLDER=$!
wait_until 15 grep -q "max-clients (1) reached; pausing accepts" "$PROXY_LOG" ||
	fail "inbound did not pause at max-clients 1: $(tail -n 5 "$PROXY_LOG")"
ok "inbound paused at max-clients 1"

# others_served WHEN: outbound TCP and UDP and /metrics all answer
others_served() {
	local out
	out=$(dig +tcp +time=5 +tries=1 @127.0.0.1 -p "$O" example.test SOA 2>&1)
	grep -q 'status: NOERROR' <<<"$out" || fail "$1: outbound TCP not served while inbound is paused: $(head -c 300 <<<"$out")"
	out=$(dig +notcp +time=5 +tries=1 @127.0.0.1 -p "$O" example.test SOA 2>&1)
	grep -q 'status: NOERROR' <<<"$out" || fail "$1: outbound UDP not served while inbound is paused: $(head -c 300 <<<"$out")"
	curl -sS --max-time 5 "http://127.0.0.1:$M/metrics" >"$T/scrape" 2>"$T/curl.err" ||
		fail "$1: /metrics not served while inbound is paused: $(cat "$T/curl.err")"
	grep -q '^xotproxy_build_info' "$T/scrape" || fail "$1: /metrics answered without the exposition"
	ok "$1: outbound TCP, outbound UDP and /metrics served while inbound is paused"
}
# inbound_refused WHEN: a second TLS client gets no answer (still paused)
inbound_refused() {
	if timeout 8 kdig +tls +tls-ca="$XOT_CA" +tls-hostname=xot.test +time=3 +retry=0 \
		@127.0.0.1 -p "$P" small.test SOA >"$T/second.txt" 2>&1 &&
		grep -q 'NOERROR' "$T/second.txt"; then
		fail "$1: a second inbound client was served at max-clients 1"
	fi
	ok "$1: a second inbound client is not served at the cap"
}
others_served "paused"
inbound_refused "paused"

n=$(grep -c 'reloaded ' "$PROXY_LOG")
kill -HUP "$PROXY_PID"
wait_until 10 bash -c "[ \$(grep -c 'reloaded ' '$PROXY_LOG') -gt $n ]" || fail "no reload line"
others_served "after a reload at the cap"
inbound_refused "after a reload at the cap"

touch "$T/release"
wait "$HOLDER" || fail "holder session failed: $(cat "$T/holder.txt")"
wait_until 10 bash -c "kdig +tls +tls-ca='$XOT_CA' +tls-hostname=xot.test +time=3 +retry=0 @127.0.0.1 -p $P small.test SOA 2>&1 | grep -q NOERROR" ||
	fail "inbound did not resume after the holder left"
ok "inbound resumed once below max-clients"
alive "$PROXY_PID" || fail "proxy died"
pass
