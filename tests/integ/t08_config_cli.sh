#!/bin/bash
# t08: command line and configuration check.
#   -t -c good.ini: exit 0, prints the effective settings, binds nothing.
#   -t -c bad.ini:  exit 1, "FILE:LINE: reason" with the right line.
#   --version, -h: exit 0. SIGTERM and SIGINT: clean stop, exit 0.
#   TCP-09 (-t prints the effective limits), AXFR-08 (deny by default).
. "$(dirname "$0")/lib.sh"
test_init

P=$(free_port) || fail "no free port"
cd "$T" || fail "cd $T"
proxy_ini good.ini "$P" "$XOT_NAMED_PORT"

# --- version and help.
"$XOT_BIN" --version >version.txt 2>&1 || fail "--version exited $?"
grep -Eq 'xotproxy [0-9]' version.txt || fail "--version printed: $(cat version.txt)"
ok "--version: $(head -n 1 version.txt)"
"$XOT_BIN" -h >help.txt 2>&1 || fail "-h exited $?"
grep -q -- '-c' help.txt && grep -q -- '-t' help.txt || fail "-h does not describe -c and -t: $(cat help.txt)"
ok "-h prints usage"
"$XOT_BIN" --no-such-option >badopt.txt 2>&1 && fail "an unknown option was accepted (exit 0)"
ok "unknown option rejected (exit $?)"

# --- good configuration.
timeout 10 "$XOT_BIN" -t -c good.ini >t-good.out 2>t-good.err
rc=$?
[ $rc -eq 0 ] || fail "-t -c good.ini exited $rc: $(cat t-good.err)"
grep -q "127.0.0.1:$P" t-good.out || fail "-t output lacks the listen address 127.0.0.1:$P: $(cat t-good.out)"
grep -q "127.0.0.1:$XOT_NAMED_PORT" t-good.out || fail "-t output lacks the backend"
grep -q "$XOT_CERT" t-good.out || fail "-t output lacks the certificate path"
grep -Eq 'example\.test' t-good.out || fail "-t output lacks zone example.test"
grep -Eq 'idle-timeout *= *30' t-good.out || fail "-t output lacks idle-timeout"
grep -Eq 'handshake-timeout *= *10' t-good.out || fail "-t output lacks handshake-timeout"
ok "-t -c good.ini: exit 0, prints the effective settings"
if tcp_listening "$P"; then fail "-t left something listening on $P"; fi

# bad NAME SED-EXPR EXPECTED-LINE: apply SED-EXPR to good.ini, expect exit 1
# and "NAME.ini:LINE:" on stdout/stderr. EXPECTED-LINE is found by grepping
# the marker text in the bad file.
bad() {
	local name=$1 expr=$2 marker=$3 line rc
	sed "$expr" good.ini >"$name.ini"
	line=$(grep -nF -- "$marker" "$name.ini" | head -n 1 | cut -d: -f1)
	[ -n "$line" ] || fail "test bug: marker '$marker' not in $name.ini"
	timeout 10 "$XOT_BIN" -t -c "$name.ini" >"$name.out" 2>&1
	rc=$?
	[ $rc -eq 1 ] || { cat "$name.out"; fail "$name: -t exited $rc, expected 1"; }
	grep -Eq "(^|/)$name\\.ini:$line: ." "$name.out" ||
		fail "$name: expected '$name.ini:$line: reason', got: $(head -n 3 "$name.out")"
	ok "$name: exit 1, $(grep -E "$name\\.ini:$line:" "$name.out" | head -n 1)"
}
bad bad-backend 's|^backend = .*|backend = 127.0.0.1:99999|' 'backend = 127.0.0.1:99999'
bad bad-listen 's|^listen = .*|listen = not-an-address|' 'listen = not-an-address'
bad bad-listen2 "s|^listen = .*|listen = 127.0.0.1:$P 127.0.0.1:0x1|" 'listen = 127.0.0.1'
bad bad-key '/^key = /a frobnicate = yes' 'frobnicate = yes'
bad bad-level 's|^log-level = .*|log-level = loud|' 'log-level = loud'
bad bad-cidr '/^\[zone small.test\]/,$ s|^allow = .*|allow = 127.0.0.0/33|' 'allow = 127.0.0.0/33'
bad bad-addr '/^\[zone signed.test\]/,/^$/ s|^allow = .*|allow = 127.0.0.300/8|' 'allow = 127.0.0.300/8'
bad bad-section 's|^\[zone small.test\]|[bogus]|' '[bogus]'
bad bad-timeout 's|^idle-timeout = .*|idle-timeout = soon|' 'idle-timeout = soon'
bad bad-zone 's|^\[zone small.test\]|[zone bad..name]|' '[zone bad..name]'
bad bad-syntax '/^key = /a this line has no equals sign' 'this line has no equals sign'

# A certificate that does not exist: exit 1, the path is named.
sed 's|^cert = .*|cert = /nonexistent/xot-cert.pem|' good.ini >bad-cert.ini
timeout 10 "$XOT_BIN" -t -c bad-cert.ini >bad-cert.out 2>&1
rc=$?
[ $rc -eq 1 ] || fail "missing certificate: -t exited $rc, expected 1"
grep -q '/nonexistent/xot-cert.pem' bad-cert.out || fail "missing certificate: message does not name the file: $(cat bad-cert.out)"
grep -q '^bad-cert\.ini' bad-cert.out || fail "missing certificate: message does not start with the config file name: $(cat bad-cert.out)"
# The reason must say what went wrong, not a library success string.
if grep -Eq ': ok \(0\)$' bad-cert.out; then fail "missing certificate: the reason reads 'ok (0)': $(cat bad-cert.out)"; fi
ok "missing certificate: exit 1, $(head -n 1 bad-cert.out)"

# A key that does not belong to the certificate (RSA key, ECDSA certificate).
sed "s|^key = .*|key = $XOT_RSA_KEY|" good.ini >bad-pair.ini
timeout 10 "$XOT_BIN" -t -c bad-pair.ini >bad-pair.out 2>&1
rc=$?
[ $rc -eq 1 ] || fail "key not matching the certificate: -t exited $rc, expected 1: $(cat bad-pair.out)"
ok "key not matching the certificate: exit 1, $(head -n 1 bad-pair.out)"

timeout 10 "$XOT_BIN" -t -c "$T/does-not-exist.ini" >missing.out 2>&1
rc=$?
[ $rc -eq 1 ] || fail "missing config file: exit $rc, expected 1"
grep -q 'does-not-exist.ini' missing.out || fail "missing config file not named: $(cat missing.out)"
ok "missing config file: exit 1"

# Without -t a bad configuration also stops the start (exit 1, nothing bound).
timeout 10 "$XOT_BIN" -c bad-backend.ini >run-bad.out 2>&1
rc=$?
[ $rc -eq 1 ] || fail "starting with a bad config exited $rc, expected 1"
if tcp_listening "$P"; then fail "a bad config left a listener on $P"; fi
ok "start with a bad config: exit 1"

# --- SIGTERM and SIGINT stop cleanly with exit 0.
for sig in TERM INT; do
	start_proxy "proxy-$sig" good.ini "$P"
	kd "$P" example.test SOA >"soa-$sig.txt" 2>&1 || fail "proxy not answering before SIG$sig"
	kill "-$sig" "$PROXY_PID"
	wait_pid_exit "$PROXY_PID" 15
	rc=$?
	[ $rc -eq 0 ] || fail "proxy exited with status $rc on SIG$sig, expected 0"
	wait_until 10 bash -c "! ss -Hltn 'sport = :$P' | grep -q ." || fail "port $P still listening after SIG$sig"
	ok "SIG$sig: exit 0, listener closed"
done
pass
