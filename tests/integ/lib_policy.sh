# shellcheck shell=bash
# lib_policy.sh - helpers for the inbound policy tests (t60-t69, issue 9),
# sourced after lib.sh: a client CA and client certificates with a chosen
# SAN, an [inbound] config without zones (the tests append [key], [acl] and
# [zone] sections), kdig with a client certificate, answer checks (status,
# EDE, echoed question), the policy client tests/tools/xotpolicy.py, and a
# dedicated named primary with a query log.
#
# The interface under test (issue 9), as the tests write it:
#   [inbound]   client-ca, max-transfers, max-transfers-per-client,
#               transfer-rate = N/SECS, proxy-protocol = v2, zones-file
#   [key NAME]  algorithm, secret | secret-file (none: key name checked only)
#   [acl NAME]  address, client-cert (SAN dNSName or sha256:PIN), tsig-key,
#               backend-source
#   [zone NAME] acl = ACL... (any one admits), allow = ADDR... (shorthand)

POLICY=$(cd "$XOT_INTEG_DIR/../tools" && pwd)/xotpolicy.py
export POLICY

# ------------------------------------------------------------ certificates

# make_client_ca DIR [CN]: a CA for client certificates in DIR/ca.pem and
# DIR/ca.key (ECDSA P-256), unrelated to the shared server CA.
make_client_ca() {
	local d=$1 cn=${2:-xotproxy test client CA}
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 30 -subj "/CN=$cn" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# make_san_client_cert CADIR DIR NAME SAN: DIR/NAME.pem + DIR/NAME.key, a
# clientAuth certificate with subjectAltName DNS:SAN (and CN=SAN), signed by
# CADIR/ca.pem + CADIR/ca.key.
make_san_client_cert() {
	local cd=$1 d=$2 n=$3 san=$4
	mkdir -p "$d"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$d/$n.key" 2>/dev/null || return 1
	chmod 600 "$d/$n.key"
	openssl req -new -key "$d/$n.key" -subj "/CN=$san" -out "$d/$n.csr" 2>/dev/null || return 1
	cat >"$d/$n.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:$san
EOF
	openssl x509 -req -in "$d/$n.csr" -CA "$cd/ca.pem" -CAkey "$cd/ca.key" -CAcreateserial \
		-days 30 -extfile "$d/$n.ext" -out "$d/$n.pem" 2>/dev/null || return 1
	openssl verify -CAfile "$cd/ca.pem" -purpose sslclient "$d/$n.pem" >/dev/null 2>&1 ||
		{ echo "make_san_client_cert: $d/$n.pem does not verify against $cd/ca.pem" >&2; return 1; }
	openssl x509 -in "$d/$n.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:$san\$" ||
		{ echo "make_san_client_cert: $d/$n.pem lacks DNS:$san" >&2; return 1; }
}

# spki_pin_of CERT: base64 SHA-256 of CERT's SubjectPublicKeyInfo (RFC 7469),
# the form `client-cert = sha256:PIN` takes (same as spki_pin in
# lib_outbound.sh, here so the policy tests need only this file).
spki_pin_of() {
	openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | base64
}

# --------------------------------------------------------------- the proxy

# policy_ini FILE LISTENPORT BACKENDPORT [KEY=VALUE]...: a [global] and an
# [inbound] section (shared server certificate, log-level debug unless
# PROXY_LOG_LEVEL) and nothing else: the test appends its [key], [acl] and
# [zone] sections. Each KEY=VALUE adds an [inbound] key (client-ca,
# max-transfers, transfer-rate, ...).
policy_ini() {
	local f=$1 lport=$2 bport=$3 kv
	shift 3
	{
		echo "# xotproxy policy test configuration"
		echo "[global]"
		echo "log-level = ${PROXY_LOG_LEVEL:-debug}"
		echo
		echo "[inbound]"
		echo "listen = 127.0.0.1:$lport"
		echo "cert = $XOT_CERT"
		echo "key = $XOT_KEY"
		echo "backend = 127.0.0.1:$bport"
		echo "handshake-timeout = 10"
		echo "idle-timeout = 30"
		for kv in "$@"; do
			echo "${kv%%=*} = ${kv#*=}"
		done
	} >"$f"
}

# start_policy_proxy NAME INI PORT: xotproxy -t must accept INI (its output
# goes to $T/NAME.check), then start_proxy. Sets PROXY_PID and PROXY_LOG.
start_policy_proxy() {
	local name=$1 ini=$2 port=$3
	"$XOT_BIN" -t -c "$ini" >"$T/$name.check" 2>&1 || {
		cat "$T/$name.check"
		fail "$name: xotproxy -t rejects $ini (the issue 9 keys are not accepted?)"
	}
	start_proxy "$name" "$ini" "$port"
}

# ---------------------------------------------------------------- clients

# kdc PORT CERTBASE ARGS...: strict kdig over TLS to the proxy with the client
# certificate CERTBASE.pem / CERTBASE.key (CERTBASE "-" = none).
kdc() {
	local port=$1 cb=$2
	shift 2
	if [ "$cb" = - ]; then
		kd "$port" "$@"
	else
		kd "$port" +tls-certfile="$cb.pem" +tls-keyfile="$cb.key" "$@"
	fi
}

# pol ARGS...: the policy client (tests/tools/xotpolicy.py).
pol() {
	python3 "$POLICY" "$@"
}

# stream_field FILE FIELD [N]: FIELD (rcode, ede, tsig, records, ...) of the
# Nth (default last) "stream" line of an xotpolicy.py output. ede is the
# whole list (codes with their quoted texts, which may hold spaces).
stream_field() {
	local f=$1 k=$2 n=${3:-} l
	if [ -n "$n" ]; then
		l=$(grep ' stream ' "$f" | sed -n "${n}p")
	else
		l=$(grep ' stream ' "$f" | tail -n 1)
	fi
	if [ "$k" = ede ]; then
		sed -n 's/.* ede=\(.*\) msgs=.*/\1/p' <<<"$l"
	else
		sed -n "s/.* $k=\([^ ]*\).*/\1/p" <<<"$l"
	fi
}

# assert_answer FILE WHAT STATUS [EDE-ERE]: a kdig answer (not an XFR) with
# status STATUS, QR set, the question echoed, and (with EDE-ERE) an EDE line
# matching it; without EDE-ERE nothing is checked about EDE.
assert_answer() {
	local f=$1 what=$2 st=$3 ede=${4:-}
	[ "$(dig_status "$f")" = "$st" ] || { cat "$f"; fail "$what: status '$(dig_status "$f")', expected $st"; }
	grep -Eq '^;; Flags: qr' "$f" || { cat "$f"; fail "$what: QR not set"; }
	grep -Eq '^;; QUESTION SECTION:' "$f" && grep -A1 '^;; QUESTION SECTION:' "$f" | grep -Eq '^;; [^ ]' ||
		{ cat "$f"; fail "$what: no question echoed"; }
	if [ -n "$ede" ]; then
		grep -Eq "^;; EDE: $ede" "$f" || { cat "$f"; fail "$what: no EDE matching /$ede/"; }
		ok "$what: $st, $(grep -E '^;; EDE:' "$f" | head -n 1 | sed 's/^;; //'), question echoed"
	else
		ok "$what: $st, question echoed"
	fi
}

# xfr_ok FILE WHAT N: a kdig AXFR output with exactly N records and no
# error or warning in it.
xfr_ok() {
	local f=$1 what=$2 n=$3 got
	got=$(xfr_records "$f")
	if grep -Eq ';; (ERROR|WARNING)' "$f" || [ "$got" != "$n" ]; then
		tail -n 5 "$f"
		fail "$what: '$got' records, expected $n (or kdig reported an error)"
	fi
	ok "$what: $n records"
}

# xfr_err FILE WHAT RCODE: a kdig AXFR that failed with the server's RCODE
# and transferred nothing.
xfr_err() {
	local f=$1 what=$2 rc=$3
	grep -q "server replied with error '$rc'" "$f" ||
		{ tail -n 8 "$f"; fail "$what: no \"server replied with error '$rc'\""; }
	[ -z "$(xfr_records "$f")" ] || [ "$(xfr_records "$f")" = 0 ] || fail "$what: records were transferred"
	ok "$what: $rc, nothing transferred"
}

# handshake_refused FILE WHAT: an xotpolicy.py run whose TLS session the
# proxy ended before any DNS octet: a failed handshake, or a TLS alert /
# close right after it (TLS 1.3 clients finish before the server has checked
# their certificate), and no stream line.
handshake_refused() {
	local f=$1 what=$2
	if grep -q 'FAIL connect:' "$f"; then
		ok "$what: handshake failed ($(sed -n 's/.*FAIL connect: //p' "$f" | head -c 160))"
	elif grep -q 'closed how=.* after 0 DNS octets' "$f"; then
		ok "$what: closed before any DNS ($(sed -n 's/.*closed how=\([^ ]*\).*/\1/p' "$f"))"
	else
		cat "$f"
		fail "$what: the session was not refused in the handshake"
	fi
	if grep -q ' stream .*rcode=' "$f" && ! grep -q ' stream .*rcode=- ' "$f"; then
		cat "$f"
		fail "$what: a DNS answer arrived"
	fi
}

# ------------------------------------------------------ a dedicated named

# querylog_named_conf DIR PORT: named options for a private primary on
# 127.0.0.1:PORT with querylog on, and the TSIG key of the shared fixtures
# (zones are appended by the caller). Started by start_named (named -g), it
# logs everything, every query received included, to its stderr:
# $T/NAME.log ("client @0x... ADDR#PORT (ZONE): query: QNAME IN TYPE ...").
# A logging block would be ignored: -g forces all logging to stderr.
querylog_named_conf() {
	local dir=$1 port=$2
	named_options "$dir" "$port" | sed 's|^\trecursion no;|&\n\tquerylog yes;|'
	echo "include \"$XOT_TSIG_FILE\";"
}

# lines FILE: number of lines in FILE (0 if it does not exist).
lines() {
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# proxy_backend_conns PROXYPID BACKENDPORT: established connections from the
# proxy to the backend port (a transfer the proxy is relaying).
proxy_backend_conns() {
	ss -tnpH state established "( dport = :$2 )" 2>/dev/null | grep -c "pid=$1,"
}
proxy_has_backend_conn() { [ "$(proxy_backend_conns "$1" "$2")" -ge 1 ]; }

# shared_count ZONE: the records of ZONE on the shared named right now, by a
# direct AXFR (TSIG-signed for signed.test): earlier tests of a run (t01,
# t02) add records to the shared zones with nsupdate.
shared_count() {
	local f=$T/shared-count-$1.txt
	if [ "$1" = signed.test ]; then
		kt "$XOT_NAMED_PORT" -y "$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET" "$1" AXFR >"$f" 2>&1
	else
		kt "$XOT_NAMED_PORT" "$1" AXFR >"$f" 2>&1
	fi || fail "direct AXFR of $1 from the shared named failed"
	xfr_records "$f"
}
