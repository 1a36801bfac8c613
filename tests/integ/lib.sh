# lib.sh - shared helpers for the xotproxy integration tests (sourced, bash).
#
# A test script does:
#     . "$(dirname "$0")/lib.sh"
#     test_init            # per-test dir $T, EXIT trap, shared fixtures
#     ...
#     pass
#
# Shared fixtures (CA, certificates, TSIG key, zones, one named primary) are
# made once per run by run.sh with shared_setup and exported as XOT_* below.
# A test started on its own (XOT_BIN=/abs/xotproxy tests/integ/t01_x.sh)
# makes them itself and removes them on exit (unless KEEP=1).
#
# Everything listens on 127.0.0.1 high ports. Every background process is
# recorded and stopped by PID on exit: nothing is ever killed by name.

set -u
set -o pipefail
export LC_ALL=C

XOT_INTEG_DIR=${XOT_INTEG_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
export XOT_INTEG_DIR
TOOLS=$(cd "$XOT_INTEG_DIR/../tools" && pwd)    # the Python test clients and fake peers

# Sizes of the generated zones (records in the zone file, SOA included).
XOT_ZONE_BIG_N=${XOT_ZONE_BIG_N:-100000}
XOT_ZONE_SIGNED_N=${XOT_ZONE_SIGNED_N:-20000}
XOT_ZONE_SMALL_N=${XOT_ZONE_SMALL_N:-40}
export XOT_ZONE_BIG_N XOT_ZONE_SIGNED_N XOT_ZONE_SMALL_N

_BG_PIDS=()          # background processes of this shell, in start order
LAST_PID=

# ---------------------------------------------------------------- messages

note() { printf '%s %s\n' "$(date +%H:%M:%S.%N | cut -c1-12)" "$*"; }
ok()   { note "ok: $*"; }

# fail MSG...: the test failed; the EXIT trap cleans up.
fail() {
	note "FAIL: $*"
	exit 1
}

# skip MSG...: the test cannot run here (exit 77).
skip() {
	note "SKIP: $*"
	exit 77
}

pass() {
	note "PASS"
	exit 0
}

# ------------------------------------------------------------- processes

# alive PID: the process exists and is not a zombie (a zombie still passes
# kill -0, see platform-notes.md).
alive() {
	local pid=$1 stat rest
	kill -0 "$pid" 2>/dev/null || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	rest=${stat##*) }            # after the last ')': the comm may hold spaces
	[ "${rest%% *}" != Z ]
}

# bg_start NAME CMD...: start CMD in the background, stdout+stderr to
# $T/NAME.log; its PID goes to LAST_PID and is stopped on exit.
bg_start() {
	local name=$1
	shift
	"$@" >"$T/$name.log" 2>&1 &
	LAST_PID=$!
	_BG_PIDS+=("$LAST_PID")
	echo "$LAST_PID $name $(basename "$1")" >>"$T/pids"
	note "started $name (pid $LAST_PID): $*"
}

# stop_pid PID [SIGNAL] [TIMEOUT]: send SIGNAL (TERM), wait up to TIMEOUT (10)
# seconds, then SIGKILL. Reaps the process if it is our child and returns its
# exit status (or 0 if it was not our child / already gone).
stop_pid() {
	local pid=$1 sig=${2:-TERM} t=${3:-10} i rc=0
	if alive "$pid"; then
		kill "-$sig" "$pid" 2>/dev/null
		for ((i = 0; i < t * 10; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			note "pid $pid ignored SIG$sig for ${t}s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null || rc=$?
	# wait returns 127 for a process that is not our child.
	[ "$rc" = 127 ] && rc=0
	return "$rc"
}

# wait_pid_exit PID TIMEOUT: wait up to TIMEOUT seconds for PID to end on its
# own; returns its exit status, or 124 if still running.
wait_pid_exit() {
	local pid=$1 t=$2 i rc=0
	for ((i = 0; i < t * 10; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	alive "$pid" && return 124
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	for ((i = ${#_BG_PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${_BG_PIDS[$i]}" TERM 10 >/dev/null 2>&1
	done
	if [ -n "${_XOT_OWN_RUN:-}" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			[ -n "${_XOT_QUIET_CLEANUP:-}" ] || note "KEEP=1: leaving $XOT_RUN"
		else
			rm -rf "$XOT_RUN"
		fi
	fi
	exit "$rc"
}

# -------------------------------------------------------------- waiting

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; fail
# (return 1) after SECONDS.
wait_until() {
	local limit=$1 end
	shift
	end=$(($(date +%s%N) / 1000000 + limit * 1000))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(($(date +%s%N) / 1000000))" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# ----------------------------------------------------------------- ports

# port_busy PORT: something listens (TCP) or is bound (UDP) on PORT.
port_busy() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
	ss -Hlun "sport = :$1" 2>/dev/null | grep -q . && return 0
	ss -Htan "sport = :$1" 2>/dev/null | grep -q . && return 0
	return 1
}

# free_port: print a port that is free for TCP and UDP and was not handed
# out before in this run. Ports come from below the kernel's ephemeral range (ip_local_port_range,
# 32768 by default): a port picked in that range can be taken by any
# outgoing connection (a client's, the proxy's to its backend) between the
# pick and the bind; a CI run with three suites side by side saw it.
EPHEMERAL_LOW=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "${EPHEMERAL_LOW:-0}" -gt 12000 ] 2>/dev/null || EPHEMERAL_LOW=32768
free_port() {
	local p i used=${XOT_RUN:-/tmp}/ports
	for ((i = 0; i < 200; i++)); do
		p=$((10000 + RANDOM % (EPHEMERAL_LOW - 10000)))
		grep -qx "$p" "$used" 2>/dev/null && continue
		port_busy "$p" && continue
		echo "$p" >>"$used"
		echo "$p"
		return 0
	done
	echo "free_port: no free port found" >&2
	return 1
}

# free_ports VAR...: a free port (free_port) in each variable; fails the test
# when none is left.
free_ports() {
	local v p
	for v in "$@"; do
		p=$(free_port) || fail "no free port"
		printf -v "$v" %s "$p"
	done
}

# ms_now: wall clock in milliseconds.
ms_now() { echo $(($(date +%s%N) / 1000000)); }

# start_fakeprimary NAME MODE [ARGS...]: tests/tools/fakeprimary.py
# (plaintext DNS, misbehaving as MODE says) on a fresh port, FPORT; waits
# until it listens. FLOG is its log.
start_fakeprimary() {
	local name=$1 mode=$2
	shift 2
	free_ports FPORT
	bg_start "$name" python3 "$TOOLS/fakeprimary.py" --port "$FPORT" --mode "$mode" \
		--status "$T/$name.status" "$@"
	# shellcheck disable=SC2034 # for the caller
	FLOG=$T/$name.log
	wait_until 10 test -e "$T/$name.status" || fail "$name: fakeprimary not listening"
}

# tcp_listening PORT: some socket listens on 127.0.0.1:PORT.
tcp_listening() {
	ss -Hltn "sport = :$1" | grep -q .
}

# ------------------------------------------------------------ DNS helpers

# dig_status OUTFILE: the rcode of a dig/kdig answer ("NOERROR", ...).
dig_status() {
	sed -n 's/.*status: \([A-Z]*\).*/\1/p' "$1" | head -n 1
}

# soa_ready PORT ZONE: a plaintext server on PORT answers ZONE SOA authoritatively.
soa_ready() {
	local out
	out=$(dig +tcp +time=1 +tries=1 +norec @127.0.0.1 -p "$1" "$2" SOA 2>/dev/null) || return 1
	grep -q 'status: NOERROR' <<<"$out" && grep -q 'flags:.* aa' <<<"$out" &&
		grep -q "^$2\.[[:space:]].*SOA" <<<"$out"
}

# soa_serial PORT ZONE: the SOA serial served (plaintext TCP) on PORT.
soa_serial() {
	dig +tcp +time=2 +tries=2 +short @127.0.0.1 -p "$1" "$2" SOA | awk '{ print $3 }'
}

# Loopback only: kdig and dig refuse to run without an @127.x or @::1 server
# (without one they would ask the resolvers of /etc/resolv.conf).
_loopback_only() {
	local a
	for a in "$@"; do
		case $a in \@127.*|\@::1) return 0 ;; esac
	done
	echo "lib.sh: refusing to run a DNS client without a loopback server: $*" >&2
	return 99
}
kdig() { _loopback_only "$@" && command kdig "$@"; }
dig() { _loopback_only "$@" && command dig "$@"; }

# kd PORT ARGS...: strict kdig over TLS to the proxy on 127.0.0.1:PORT.
# +nopadding keeps answers identical to the plaintext ones (platform notes).
kd() {
	local port=$1
	shift
	kdig @127.0.0.1 -p "$port" +tls-ca="$XOT_CA" +tls-hostname=xot.test \
		+nopadding +time=15 +retry=0 "$@"
}

# kt PORT ARGS...: kdig over plaintext TCP to 127.0.0.1:PORT.
kt() {
	local port=$1
	shift
	kdig @127.0.0.1 -p "$port" +tcp +time=15 +retry=0 "$@"
}

# rrs FILE: the records of a kdig/dig output, sorted, comments removed.
rrs() {
	grep -v '^;' "$1" | grep -v '^[[:space:]]*$' | sort
}

# xfr_records FILE: records counted in kdig's AXFR/IXFR footer
# (";; Received B B (M messages, R records)").
xfr_records() {
	sed -n 's/^;; Received [0-9]* B (\([0-9]*\) messages*, \([0-9]*\) records*).*/\2/p' "$1" | tail -n 1
}
xfr_messages() {
	sed -n 's/^;; Received [0-9]* B (\([0-9]*\) messages*, \([0-9]*\) records*).*/\1/p' "$1" | tail -n 1
}
xfr_bytes() {
	sed -n 's/^;; Received \([0-9]*\) B (.*/\1/p' "$1" | tail -n 1
}

# same_records A B WHAT: the sorted records of two outputs are identical.
same_records() {
	local a=$1 b=$2 what=$3
	rrs "$a" >"$a.rrs"
	rrs "$b" >"$b.rrs"
	[ -s "$a.rrs" ] || fail "$what: $a holds no records"
	if ! cmp -s "$a.rrs" "$b.rrs"; then
		note "$what: record sets differ (first lines of diff):"
		diff "$a.rrs" "$b.rrs" | head -n 20
		fail "$what: record sets differ ($(wc -l <"$a.rrs") vs $(wc -l <"$b.rrs") records)"
	fi
	ok "$what: identical record sets ($(wc -l <"$a.rrs") records)"
}

# assert_grep FILE ERE WHAT / assert_nogrep FILE ERE WHAT
assert_grep() {
	grep -Eq -- "$2" "$1" || { tail -n 20 "$1"; fail "$3: no line matching /$2/ in $1"; }
	ok "$3"
}
assert_nogrep() {
	if grep -Eq -- "$2" "$1"; then
		grep -E -- "$2" "$1" | head -n 5
		fail "$3: unexpected line matching /$2/ in $1"
	fi
	ok "$3"
}

# ------------------------------------------------------------------ named

# named_conf DIR PORT: print the options block of a test named instance
# that keeps all its state under DIR and serves plaintext on 127.0.0.1:PORT.
named_options() {
	local dir=$1 port=$2
	cat <<EOF
options {
	directory "$dir";
	pid-file "$dir/named.pid";
	lock-file "$dir/named.lock";
	session-keyfile "$dir/session.key";
	managed-keys-directory "$dir";
	dump-file "$dir/named_dump.db";
	statistics-file "$dir/named.stats";
	listen-on port $port { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
	transfers-out 200;
	transfers-in 50;
	tcp-clients 500;
	max-journal-size unlimited;
};
controls { };
EOF
}

# start_named NAME DIR PORT ZONE [TIMEOUT]: start named -g -c DIR/named.conf
# (stderr to $T/NAME.log) and wait until it serves ZONE on PORT.
start_named() {
	local name=$1 dir=$2 port=$3 zone=$4 t=${5:-60}
	named-checkconf "$dir/named.conf" || fail "$name: named-checkconf failed"
	bg_start "$name" named -g -c "$dir/named.conf"
	local pid=$LAST_PID
	if ! wait_until "$t" soa_ready "$port" "$zone"; then
		tail -n 30 "$T/$name.log"
		fail "$name: not serving $zone on port $port after ${t}s"
	fi
	alive "$pid" || fail "$name exited"
	ok "$name serves $zone on 127.0.0.1#$port"
}

# ------------------------------------------------------------------ proxy

# proxy_ini FILE LISTENPORT BACKENDPORT [CERT KEY]: a proxy config with the
# standard zones (example.test, signed.test, small.test allowed from
# 127.0.0.0/8 and ::1). Append more sections with cat >>FILE.
proxy_ini() {
	local f=$1 lport=$2 bport=$3 cert=${4:-$XOT_CERT} key=${5:-$XOT_KEY}
	cat >"$f" <<EOF
# xotproxy test configuration
[global]
log-level = ${PROXY_LOG_LEVEL:-info}

[inbound]
listen = 127.0.0.1:$lport
cert = $cert
key = $key
backend = 127.0.0.1:$bport
handshake-timeout = 10
idle-timeout = 30

[zone example.test]
allow = 127.0.0.0/8 ::1

[zone signed.test]
allow = 127.0.0.0/8 ::1

[zone small.test]
allow = 127.0.0.0/8 ::1
EOF
}

# start_proxy NAME INI PORT: start xotproxy -c INI, wait for its
# "listening on 127.0.0.1#PORT" line and the listening socket.
start_proxy() {
	local name=$1 ini=$2 port=$3
	# XOT_WRAP: a command to run the proxy under (e.g. valgrind); the PID stays the proxy's.
	# shellcheck disable=SC2086
	bg_start "$name" ${XOT_WRAP:-} "$XOT_BIN" -c "$ini"
	local pid=$LAST_PID
	PROXY_PID=$pid
	PROXY_LOG=$T/$name.log
	# the text line, or the JSON object of log-format = json
	if ! wait_until 60 grep -Eq "listening on 127\.0\.0\.1#$port|\"listening\".*\"127\.0\.0\.1#$port\"" "$PROXY_LOG"; then
		alive "$pid" || note "$name exited"
		tail -n 20 "$PROXY_LOG"
		fail "$name: no 'listening on 127.0.0.1#$port' within 20s"
	fi
	wait_until 10 tcp_listening "$port" || fail "$name: port $port not listening"
	ok "$name listening on 127.0.0.1#$port"
}

# ------------------------------------------------------- shared fixtures

# make_ca DIR: test CA (ECDSA P-256) in DIR/ca.pem, DIR/ca.key.
make_ca() {
	local d=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 30 -subj "/CN=xotproxy test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# make_server_cert DIR NAME ec|rsa: DIR/NAME.pem, DIR/NAME.key signed by
# DIR/ca.*, SAN DNS:xot.test and IP:127.0.0.1.
make_server_cert() {
	local d=$1 n=$2 kind=$3
	if [ "$kind" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/$n.key" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$d/$n.key" 2>/dev/null
	fi
	openssl req -new -key "$d/$n.key" -subj "/CN=xot.test" -out "$d/$n.csr" 2>/dev/null
	cat >"$d/$n.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:xot.test, IP:127.0.0.1
EOF
	openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 30 -extfile "$d/$n.ext" -out "$d/$n.pem" 2>/dev/null
}

# shared_named_conf DIR PORT: the shared primary (example.test open,
# signed.test only with the TSIG key, small.test open).
shared_named_conf() {
	local dir=$1 port=$2
	named_options "$dir" "$port"
	cat <<EOF
include "$XOT_TSIG_FILE";

zone "example.test" {
	type primary;
	file "example.test.zone";
	allow-transfer { any; };
	allow-update { key "$XOT_TSIG_NAME"; };
	ixfr-from-differences yes;
};
zone "signed.test" {
	type primary;
	file "signed.test.zone";
	allow-transfer { key "$XOT_TSIG_NAME"; };
	allow-update { key "$XOT_TSIG_NAME"; };
	ixfr-from-differences yes;
};
zone "small.test" {
	type primary;
	file "small.test.zone";
	allow-transfer { any; };
};
EOF
}

# shared_setup: make the shared fixtures under $XOT_RUN and start the
# shared named primary; exports XOT_*.
shared_setup() {
	local f=$XOT_RUN/fixtures
	mkdir -p "$f" "$XOT_RUN/named"
	# T is where bg_start puts logs: the shared processes log to the run dir.
	local saved_T=${T:-}
	T=$XOT_RUN

	make_ca "$f" || fail "CA generation failed"
	make_server_cert "$f" server ec || fail "ECDSA certificate generation failed"
	make_server_cert "$f" server-rsa rsa || fail "RSA certificate generation failed"
	export XOT_CA=$f/ca.pem XOT_CERT=$f/server.pem XOT_KEY=$f/server.key
	export XOT_RSA_CERT=$f/server-rsa.pem XOT_RSA_KEY=$f/server-rsa.key

	export XOT_TSIG_NAME=xfr-key XOT_TSIG_ALG=hmac-sha256
	tsig-keygen -a hmac-sha256 "$XOT_TSIG_NAME" >"$f/tsig.conf" || fail "tsig-keygen failed"
	XOT_TSIG_SECRET=$(sed -n 's/.*secret "\(.*\)";.*/\1/p' "$f/tsig.conf")
	[ -n "$XOT_TSIG_SECRET" ] || fail "no secret in $f/tsig.conf"
	export XOT_TSIG_SECRET XOT_TSIG_FILE=$f/tsig.conf

	"$XOT_INTEG_DIR/gen-zone.sh" example.test "$XOT_ZONE_BIG_N" 1000 >"$f/example.test.zone"
	"$XOT_INTEG_DIR/gen-zone.sh" signed.test "$XOT_ZONE_SIGNED_N" 2000 >"$f/signed.test.zone"
	"$XOT_INTEG_DIR/gen-zone.sh" small.test "$XOT_ZONE_SMALL_N" 3000 >"$f/small.test.zone"
	export XOT_ZONE_BIG=$f/example.test.zone XOT_ZONE_SIGNED=$f/signed.test.zone
	export XOT_ZONE_SMALL=$f/small.test.zone
	export XOT_FIXTURES=$f

	# The shared primary gets its own copies: it writes journals next to them.
	local nd=$XOT_RUN/named
	cp "$f"/*.zone "$nd/"
	XOT_NAMED_PORT=$(free_port) || fail "no free port"
	export XOT_NAMED_PORT XOT_NAMED_DIR=$nd
	shared_named_conf "$nd" "$XOT_NAMED_PORT" >"$nd/named.conf"
	start_named shared-named "$nd" "$XOT_NAMED_PORT" example.test 90
	wait_until 30 soa_ready "$XOT_NAMED_PORT" signed.test || fail "shared named: no signed.test"
	wait_until 30 soa_ready "$XOT_NAMED_PORT" small.test || fail "shared named: no small.test"
	export XOT_NAMED_PID=$LAST_PID XOT_NAMED_LOG=$XOT_RUN/shared-named.log
	T=$saved_T
}

# nsupdate_add PORT ZONE NAME TYPE DATA: add a record with the TSIG key
# (the primary then bumps the serial and journals the change).
nsupdate_add() {
	local port=$1 zone=$2 name=$3 type=$4 data=$5
	printf 'server 127.0.0.1 %s\nzone %s\nupdate add %s 300 %s %s\nsend\n' \
		"$port" "$zone" "$name" "$type" "$data" |
		nsupdate -v -t 10 -y "$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET"
}

# ------------------------------------------------------------- test init

# test_init: per-test directory $T (given by run.sh as XOT_TEST_DIR), the
# EXIT trap, the proxy binary check and (standalone) the shared fixtures.
test_init() {
	trap _cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	[ -n "${XOT_BIN:-}" ] || fail "XOT_BIN is not set (path of the xotproxy binary)"
	case $XOT_BIN in /*) ;; *) XOT_BIN=$(cd "$(dirname "$XOT_BIN")" && pwd)/$(basename "$XOT_BIN") ;; esac
	[ -x "$XOT_BIN" ] || fail "proxy binary $XOT_BIN is not executable"
	export XOT_BIN
	if [ -z "${XOT_RUN:-}" ]; then
		XOT_RUN=$(mktemp -d /tmp/xotinteg.XXXXXX)
		export XOT_RUN
		_XOT_OWN_RUN=1
		T=$XOT_RUN
		note "standalone: making shared fixtures in $XOT_RUN"
		shared_setup
		_BG_PIDS=("$XOT_NAMED_PID")
	fi
	if [ -n "${XOT_TEST_DIR:-}" ]; then
		T=$XOT_TEST_DIR
	else
		T=$(mktemp -d "$XOT_RUN/$(basename "$0" .sh).XXXXXX")
	fi
	mkdir -p "$T"
	note "test dir $T"
}

# ------------------------------------------------------- raw DNS framing

# dns_query ID NAME TYPE: print (as printf %b escapes) a length-prefixed DNS
# query: ID (decimal), RD=0, one question NAME/TYPE/IN. TYPE: A SOA AXFR or
# a number.
dns_query() {
	local id=$1 name=${2%.} type=$3 q lab t body len
	case $type in A) t=1 ;; SOA) t=6 ;; AXFR) t=252 ;; IXFR) t=251 ;; *) t=$type ;; esac
	body=$(printf '\\x%02x\\x%02x\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00' $((id >> 8)) $((id & 255)))
	len=12
	local IFS=.
	for lab in $name; do
		body+=$(printf '\\x%02x' ${#lab})$lab
		len=$((len + 1 + ${#lab}))
	done
	body+=$(printf '\\x00\\x%02x\\x%02x\\x00\\x01' $((t >> 8)) $((t & 255)))
	len=$((len + 5))
	printf '\\x%02x\\x%02x%s' $((len >> 8)) $((len & 255)) "$body"
}

# dns_frames FILE: one line per complete length-prefixed DNS message in FILE:
# "ID QR RCODE ANCOUNT" (decimal); "partial" if the file ends mid-frame.
dns_frames() {
	od -An -v -tu1 "$1" | awk '
		{ for (i = 1; i <= NF; i++) b[n++] = $i }
		END {
			i = 0
			while (i + 2 <= n) {
				len = b[i] * 256 + b[i + 1]
				if (len < 12 || i + 2 + len > n) { print "partial"; break }
				printf "%d %d %d %d\n", b[i + 2] * 256 + b[i + 3], int(b[i + 4] / 128), b[i + 5] % 16, b[i + 8] * 256 + b[i + 9]
				i += 2 + len
			}
		}'
}

# rl_count PATTERN LOG: lines matching PATTERN plus every "suppressed N log
# lines" summary in LOG (refusal and handshake-failure lines are rate-limited
# per client address, XOT-16; use it where one address causes every line).
rl_count() {
	local n s
	n=$(grep -c -- "$1" "$2")
	s=$(sed -n 's/.*, suppressed \([0-9]*\) log lines.*/\1/p' "$2" | awk '{ t += $1 } END { print t + 0 }')
	echo $((n + s))
}
