#!/bin/bash
# t05: TLS policy of the listener.
#   XOT-02: TLS 1.2 is refused (no session).
#   XOT-01: ALPN dot is selected; a client offering only h2 fails the
#           handshake (alert 120 no_application_protocol); a client offering
#           no ALPN gets no DNS data; h2+dot gets dot; BIND's dig (which
#           refuses XFR without ALPN dot) transfers.
#   DOT-01: plaintext DNS sent to the TLS port gets no DNS answer.
. "$(dirname "$0")/lib.sh"
test_init

P=$(free_port) || fail "no free port"
proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"
start_proxy proxy "$T/xotproxy.ini" "$P"

SC=(openssl s_client -connect "127.0.0.1:$P" -servername xot.test -CAfile "$XOT_CA" -verify_return_error)

# --- positive control: TLS 1.3 with ALPN dot (this is what the negative
# cases are compared against).
timeout 20 "${SC[@]}" -tls1_3 -alpn dot </dev/null >"$T/sc-dot.txt" 2>&1
rc=$?
[ $rc -eq 0 ] || { tail -n 5 "$T/sc-dot.txt"; fail "s_client -tls1_3 -alpn dot failed (exit $rc)"; }
assert_grep "$T/sc-dot.txt" '^ALPN protocol: dot$' "TLS 1.3 client offering dot: ALPN protocol dot selected (XOT-01)"
assert_grep "$T/sc-dot.txt" 'New, TLSv1\.3, Cipher is' "TLS 1.3 session established"
assert_grep "$T/sc-dot.txt" 'Verify return code: 0 \(ok\)' "server certificate verifies against the test CA"

# --- h2 and dot offered: dot is selected.
timeout 20 "${SC[@]}" -tls1_3 -alpn h2,dot </dev/null >"$T/sc-h2dot.txt" 2>&1 ||
	fail "s_client -alpn h2,dot failed: $(tail -n 3 "$T/sc-h2dot.txt")"
assert_grep "$T/sc-h2dot.txt" '^ALPN protocol: dot$' "client offering h2,dot: dot selected, never h2"

# --- TLS 1.2 only: no session (XOT-02).
timeout 20 "${SC[@]}" -tls1_2 -alpn dot </dev/null >"$T/sc-tls12.txt" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "s_client -tls1_2 succeeded (exit 0): TLS 1.2 must be refused"
[ $rc -ne 124 ] || fail "s_client -tls1_2 hung (timeout): expected a prompt handshake failure"
assert_nogrep "$T/sc-tls12.txt" 'New, TLSv1|CONNECTION ESTABLISHED' "TLS 1.2: no session established (XOT-02)"
assert_grep "$T/sc-tls12.txt" 'alert protocol version|alert number 70' "TLS 1.2: alert protocol_version"
wait_until 10 grep -Eq 'TLS handshake failed' "$PROXY_LOG" || fail "proxy did not log 'TLS handshake failed' for TLS 1.2"
ok "proxy log: $(grep -E 'TLS handshake failed' "$PROXY_LOG" | tail -n 1)"

# --- ALPN h2 only: handshake failure with alert 120 (XOT-01, RFC 7301 3.2).
n_fail=$(grep -c 'TLS handshake failed' "$PROXY_LOG")
timeout 20 "${SC[@]}" -tls1_3 -alpn h2 </dev/null >"$T/sc-h2.txt" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "s_client -alpn h2 succeeded (exit 0): expected handshake failure"
[ $rc -ne 124 ] || fail "s_client -alpn h2 hung (timeout)"
assert_grep "$T/sc-h2.txt" 'no application protocol|alert number 120' "ALPN h2 only: alert 120 no_application_protocol"
assert_nogrep "$T/sc-h2.txt" '^ALPN protocol: h2' "h2 never selected"
wait_until 10 bash -c "[ \$(grep -c 'TLS handshake failed' '$PROXY_LOG') -gt $n_fail ]" ||
	fail "proxy did not log 'TLS handshake failed' for ALPN h2"
ok "proxy log: $(grep -E 'TLS handshake failed' "$PROXY_LOG" | tail -n 1)"

# --- raw DNS over TLS with s_client: an SOA query for example.test, ID
# 0x1234, 2-byte length prefix (RFC 7858 section 3.3).
query() { printf '\x00\x1e\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x04test\x00\x00\x06\x00\x01'; }

# raw_exchange NAME ALPN-ARGS...: send the query on a TLS 1.3 session; the
# reply bytes go to $T/NAME.bin. Returns once a full answer header arrived, or
# s_client ended (the server closed), or after 15 s.
raw_exchange() {
	local name=$1
	shift
	rm -f "$T/$name.fifo"
	mkfifo "$T/$name.fifo"
	"${SC[@]}" -tls1_3 -quiet "$@" <"$T/$name.fifo" >"$T/$name.bin" 2>"$T/$name.err" &
	local pid=$!
	_BG_PIDS+=("$pid")
	exec 4>"$T/$name.fifo"
	query >&4
	wait_until 15 bash -c "[ \$(stat -c %s '$T/$name.bin') -ge 14 ] || ! kill -0 $pid" || true
	exec 4>&-
	RAW_ALIVE=0
	alive "$pid" && RAW_ALIVE=1
	stop_pid "$pid" TERM 5 >/dev/null 2>&1
	return 0
}

raw_exchange raw-dot -alpn dot
hdr=$(od -An -tx1 -N5 "$T/raw-dot.bin" | tr -d ' \n')
# length (2 bytes), ID 12 34, first flag byte with QR=1 (0x80 set).
case $hdr in
	????1234[89a-f]?) ok "raw query with ALPN dot answered (header $hdr)" ;;
	*) fail "raw query with ALPN dot: no DNS answer (got '$hdr', $(stat -c %s "$T/raw-dot.bin") bytes): $(head -c 300 "$T/raw-dot.err")" ;;
esac

raw_exchange raw-noalpn
size=$(stat -c %s "$T/raw-noalpn.bin")
[ "$size" -eq 0 ] || fail "client without ALPN received $size bytes of DNS data ($(od -An -tx1 -N16 "$T/raw-noalpn.bin"))"
[ "$RAW_ALIVE" = 0 ] || fail "client without ALPN: connection still open after 15 s, expected a close"
ok "client offering no ALPN: connection closed, no DNS data (XOT-01)"
wait_until 10 grep -q 'closed: ALPN dot not negotiated' "$PROXY_LOG" || fail "proxy did not log 'closed: ALPN dot not negotiated'"
ok "proxy log: $(grep 'closed: ALPN dot not negotiated' "$PROXY_LOG" | tail -n 1)"

# --- plaintext DNS to the TLS port gets no DNS answer (DOT-01).
timeout 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P; $(declare -f query); query >&3; cat <&3" >"$T/plain.bin" 2>/dev/null
hdr=$(od -An -tx1 -N4 "$T/plain.bin" | tr -d ' \n')
case $hdr in ????1234) fail "plaintext query on the TLS port got a DNS answer" ;; esac
ok "plaintext DNS on the TLS port: no DNS answer ($(stat -c %s "$T/plain.bin") bytes, starts '${hdr:-}')"

# --- BIND's dig only transfers over a session with ALPN dot.
dig +tls +tls-ca="$XOT_CA" +tls-hostname=xot.test +time=10 +tries=1 @127.0.0.1 -p "$P" small.test AXFR >"$T/dig-axfr.txt" 2>&1 ||
	fail "dig +tls AXFR failed: $(tail -n 3 "$T/dig-axfr.txt")"
dig +tcp +time=10 +tries=1 @127.0.0.1 -p "$XOT_NAMED_PORT" small.test AXFR >"$T/dig-direct.txt" 2>&1 || fail "direct dig AXFR failed"
assert_nogrep "$T/dig-axfr.txt" 'not allowed|failed|error' "dig reports no ALPN or transfer error"
same_records "$T/dig-direct.txt" "$T/dig-axfr.txt" "dig +tls AXFR small.test"
n=$(rrs "$T/dig-axfr.txt" | wc -l)
[ "$n" = $((XOT_ZONE_SMALL_N + 1)) ] || fail "dig +tls AXFR carried $n records, expected $((XOT_ZONE_SMALL_N + 1))"

# --- DOT-09: session tickets: a second connection resumes the first session.
# s_client writes the session when the ticket arrives: hold stdin open until then.
wait_until 10 test -s "$T/sess.pem" | openssl s_client -connect "127.0.0.1:$P" -servername xot.test -CAfile "$XOT_CA" -tls1_3 -alpn dot \
	-sess_out "$T/sess.pem" >"$T/sess1.txt" 2>&1
assert_grep "$T/sess1.txt" '^New, TLSv1.3' "first session is a full TLS 1.3 handshake"
[ -s "$T/sess.pem" ] || fail "no session ticket received"
echo | openssl s_client -connect "127.0.0.1:$P" -servername xot.test -CAfile "$XOT_CA" -tls1_3 -alpn dot \
	-sess_in "$T/sess.pem" >"$T/sess2.txt" 2>&1
assert_grep "$T/sess2.txt" '^Reused, TLSv1.3' "second session resumed with the ticket"

alive "$PROXY_PID" || fail "proxy died"
pass
