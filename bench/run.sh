#!/bin/bash
# run.sh XOTPROXY - `make bench`: xotproxy against direct TCP and peer TLS
# terminators (issue 3). Loopback only; everything runs from a temp dir under
# /tmp that is removed on exit; every server is stopped by PID.
#
#   bench/run.sh ./xotproxy            full run (~10-15 min on 2 cores)
#   BENCH_QUICK=1 bench/run.sh ...     smoke test: 1 run each, no 1M zone,
#                                      1,000 instead of 10,000 idle connections
#   KEEP=1                             keep the temp dir (logs, configs)
#
# Contenders: (a) direct plaintext TCP to named, (b) xotproxy, (c) haproxy
# (TCP mode, ssl alpn dot, TLS 1.3), (d) dnsdist 1.7 DoT frontend, (e) named's
# native XoT; for the outbound side (issue 8), (f) xotproxy outbound in front
# of (b), and (g) xotproxy outbound in front of (e). Output: a table on stdout, bench/results/latest.{tsv,md}.
set -u
set -o pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 1 ] || QUICK=0
BIN=${1:-./xotproxy}
case $BIN in /*) ;; *) BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN") ;; esac
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3)

note() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	note "bench: $*"
	exit 1
}

[ -x "$BIN" ] || die "proxy binary $BIN is not executable (run make first)"
"$BENCH_DIR/install-deps.sh" || die "cannot install the peers (haproxy, dnsdist, bind9, knot-dnsutils)"

# Idle connections need file descriptors: take the hard limit (the servers
# started below inherit it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null
FD_LIMIT=$(ulimit -n)

W=$(mktemp -d /tmp/xotbench.XXXXXX) || die "mktemp failed"
PIDS=()
NAMES=()

alive() {
	local pid=$1 stat
	kill -0 "$pid" 2>/dev/null || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

stop_pid() {
	local pid=$1 i
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[$i]}"
	done
	if [ "${KEEP:-0}" = 1 ]; then
		note "KEEP=1: leaving $W"
	else
		rm -rf "$W"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bg NAME CMD...: start CMD in the background (log $W/NAME.log), PID in LAST_PID.
bg() {
	local name=$1
	shift
	"$@" >"$W/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	NAMES+=("$name")
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s, at most SECONDS.
wait_until() {
	local limit=$1 end
	shift
	end=$(($(date +%s) + limit))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

listening() { ss -Hltn "sport = :$1" | grep -q .; }

# free_port: a TCP/UDP port below the ephemeral range, unused and not yet handed out.
USED_PORTS=" "
free_port() {
	local p i
	for ((i = 0; i < 500; i++)); do
		p=$((20000 + RANDOM % 12000))
		case $USED_PORTS in *" $p "*) continue ;; esac
		ss -Hatun "sport = :$p" 2>/dev/null | grep -q . && continue
		USED_PORTS="$USED_PORTS$p "
		echo "$p"
		return 0
	done
	return 1
}

soa_ready() {
	local out
	out=$(dig +tcp +time=1 +tries=1 +norec @127.0.0.1 -p "$1" "$2" SOA 2>/dev/null) || return 1
	grep -q 'status: NOERROR' <<<"$out" && grep -q 'flags:.* aa' <<<"$out"
}

# ---------------------------------------------------------------- fixtures
note "bench: work dir $W, quick=$QUICK, fd limit $FD_LIMIT"
mkdir -p "$W/named"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$W/ca.key" -out "$W/ca.pem" -days 7 -subj "/CN=xotproxy bench CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	2>/dev/null || die "CA generation failed"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$W/server.key" 2>/dev/null &&
	openssl req -new -key "$W/server.key" -subj "/CN=xot.test" -out "$W/server.csr" 2>/dev/null &&
	printf '%s\n' "basicConstraints = critical, CA:FALSE" "keyUsage = critical, digitalSignature" \
		"extendedKeyUsage = serverAuth" "subjectAltName = DNS:xot.test, IP:127.0.0.1" >"$W/server.ext" &&
	openssl x509 -req -in "$W/server.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial \
		-days 7 -extfile "$W/server.ext" -out "$W/server.pem" 2>/dev/null ||
	die "server certificate generation failed"
cat "$W/server.pem" "$W/server.key" >"$W/haproxy.pem"

ZONES="small.test:40 z10k.test:10000 z100k.test:100000"
[ "$QUICK" = 1 ] || ZONES="$ZONES z1m.test:1000000"
for zn in $ZONES; do
	"$BENCH_DIR/../tests/integ/gen-zone.sh" "${zn%%:*}" "${zn#*:}" 1 >"$W/named/${zn%%:*}.zone" || die "zone generation failed"
done
note "bench: zones generated: $ZONES"

# ------------------------------------------------------------------- named
NAMED_PORT=$(free_port) && NAMED_TLS_PORT=$(free_port) || die "no free port"
{
	cat <<EOF
options {
	directory "$W/named";
	pid-file "$W/named/named.pid";
	lock-file "$W/named/named.lock";
	session-keyfile "$W/named/session.key";
	managed-keys-directory "$W/named";
	dump-file "$W/named/named_dump.db";
	statistics-file "$W/named/named.stats";
	listen-on port $NAMED_PORT { 127.0.0.1; };
	listen-on port $NAMED_TLS_PORT tls benchtls { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
	allow-transfer { any; };
	transfers-out 500;
	tcp-clients 5000;
	tcp-listen-queue 1024;
};
tls benchtls {
	cert-file "$W/server.pem";
	key-file "$W/server.key";
	protocols { TLSv1.3; };
};
controls { };
EOF
	for zn in $ZONES; do
		printf 'zone "%s" { type primary; file "%s.zone"; };\n' "${zn%%:*}" "${zn%%:*}"
	done
} >"$W/named/named.conf"
named-checkconf "$W/named/named.conf" || die "named-checkconf failed"
bg named named -g -c "$W/named/named.conf"
NAMED_PID=$LAST_PID
for zn in $ZONES; do
	wait_until 300 soa_ready "$NAMED_PORT" "${zn%%:*}" || {
		tail -n 20 "$W/named.log" >&2
		die "named does not serve ${zn%%:*} on port $NAMED_PORT"
	}
done
wait_until 30 listening "$NAMED_TLS_PORT" || die "named: no XoT listener on $NAMED_TLS_PORT"
note "bench: named (pid $NAMED_PID) serves all zones on $NAMED_PORT, XoT on $NAMED_TLS_PORT"

# ---------------------------------------------------------------- xotproxy
# xotproxy_conf PORT: a configuration relaying every bench zone to named.
xotproxy_conf() {
	cat <<EOF
[global]
log-level = warning
[inbound]
listen = 127.0.0.1:$1
cert = $W/server.pem
key = $W/server.key
backend = 127.0.0.1:$NAMED_PORT
max-clients = 20000
max-clients-per-ip = 0
handshake-timeout = 10
idle-timeout = 3600
EOF
	for zn in $ZONES; do
		printf '[zone %s]\nallow = 127.0.0.0/8\n' "${zn%%:*}"
	done
}
# start_xot NAME PORT: start an xotproxy instance; prints "PID" or "error ..."
start_xot() {
	local name=$1 port=$2
	xotproxy_conf "$port" >"$W/$name.ini"
	bg "$name" "$BIN" -c "$W/$name.ini"
	if wait_until 20 listening "$port" && alive "$LAST_PID"; then
		return 0
	fi
	tail -n 5 "$W/$name.log" >&2
	return 1
}
XOT_PORT=$(free_port) && XOT_IDLE_PORT=$(free_port) || die "no free port"
start_xot xotproxy "$XOT_PORT" || die "xotproxy did not start"
XOT_PID=$LAST_PID
start_xot xotproxy-idle "$XOT_IDLE_PORT" || die "xotproxy (idle instance) did not start"
XOT_IDLE_PID=$LAST_PID
note "bench: xotproxy pid $XOT_PID on $XOT_PORT, idle instance pid $XOT_IDLE_PID on $XOT_IDLE_PORT"

# -------------------------------------------------------- xotproxy outbound
# start_outbound NAME PORT PRIMARYPORT: the outbound side in front of a XoT
# primary on 127.0.0.1 (our inbound instance, or named's native XoT). One TLS
# session per concurrent transfer, so max-sessions is raised for the
# parallel run.
start_outbound() {
	local name=$1 port=$2 primary=$3
	cat >"$W/$name.ini" <<EOF
[global]
log-level = warning
[outbound]
listen = 127.0.0.1:$port
primary = 127.0.0.1:$primary
auth-name = xot.test
ca = $W/ca.pem
idle-timeout = 3600
max-sessions = 64
EOF
	bg "$name" "$BIN" -c "$W/$name.ini"
	if wait_until 20 listening "$port" && alive "$LAST_PID"; then
		return 0
	fi
	tail -n 5 "$W/$name.log" >&2
	return 1
}
OUT_PORT=$(free_port) && OUT_XOT_PORT=$(free_port) || die "no free port"
OUT_ERR='' OUT_PID='' OUT_XOT_ERR='' OUT_XOT_PID=''
if start_outbound outbound "$OUT_PORT" "$XOT_PORT"; then OUT_PID=$LAST_PID; else OUT_ERR="outbound (f) did not start"; fi
if start_outbound outbound-bind "$OUT_XOT_PORT" "$NAMED_TLS_PORT"; then OUT_XOT_PID=$LAST_PID; else OUT_XOT_ERR="outbound (g) did not start"; fi
note "bench: outbound pid ${OUT_PID:-none} on $OUT_PORT (-> xotproxy), ${OUT_XOT_PID:-none} on $OUT_XOT_PORT (-> named XoT)"

# ---------------------------------------------------- 100,000-zone instance
# Issue 9: a zones-file of 100,000 zones (plus small.test, which named
# serves) for `-t` timing and the reload stall.
ZONES_PORT=$(free_port) || die "no free port"
"$PY" -c 'import sys; sys.stdout.write("".join("z%d.bench sec\n" % i for i in range(100000)))' >"$W/zones100k.txt"
{
	xotproxy_conf "$ZONES_PORT"
	printf '[acl sec]\naddress = 127.0.0.0/8\n'
} | sed "/^\[inbound\]/a zones-file = $W/zones100k.txt" >"$W/zones100k.ini"
bg xotproxy-zones "$BIN" -c "$W/zones100k.ini"
if wait_until 30 listening "$ZONES_PORT" && alive "$LAST_PID"; then
	ZONES_PID=$LAST_PID
	ZONES_JSON="{\"bin\": \"$BIN\", \"ini\": \"$W/zones100k.ini\", \"port\": $ZONES_PORT, \"pid\": $ZONES_PID}"
else
	ZONES_JSON=null
	note "bench: the 100,000-zone instance did not start: $(tail -n 3 "$W/xotproxy-zones.log" | tr '\n' ' ')"
fi

# ----------------------------------------------------------------- haproxy
# haproxy_conf PORT BACKENDPORT MAXCONN
haproxy_conf() {
	cat <<EOF
global
	maxconn $3
	log stderr format raw local0 err
defaults
	mode tcp
	log global
	timeout connect 5s
	timeout client 1h
	timeout server 1h
frontend xot
	bind 127.0.0.1:$1 ssl crt $W/haproxy.pem alpn dot ssl-min-ver TLSv1.3
	default_backend named
backend named
	server primary 127.0.0.1:$2
EOF
}
HAPROXY_ERR='' HAPROXY_PID='' HAPROXY_IDLE_ERR='' HAPROXY_IDLE_PID=''
HAPROXY_PORT=$(free_port) && HAPROXY_IDLE_PORT=$(free_port) && SINK_PORT=$(free_port) || die "no free port"
haproxy_conf "$HAPROXY_PORT" "$NAMED_PORT" 2000 >"$W/haproxy.cfg"
bg haproxy haproxy -db -f "$W/haproxy.cfg"
if wait_until 20 listening "$HAPROXY_PORT" && alive "$LAST_PID"; then
	HAPROXY_PID=$LAST_PID
else
	HAPROXY_ERR="haproxy did not start: $(tail -n 2 "$W/haproxy.log" | tr '\n\t"' '  ' | cut -c1-200)"
fi
# The idle instance connects each client to a sink (2 fds per connection).
HAPROXY_IDLE_MAX=$(((FD_LIMIT - 40) / 2))
[ "$HAPROXY_IDLE_MAX" -gt 10000 ] && HAPROXY_IDLE_MAX=10000
bg sink "$PY" "$BENCH_DIR/xotbench.py" sink --port "$SINK_PORT"
wait_until 20 listening "$SINK_PORT" || die "sink did not start"
haproxy_conf "$HAPROXY_IDLE_PORT" "$SINK_PORT" $((HAPROXY_IDLE_MAX + 10)) >"$W/haproxy-idle.cfg"
bg haproxy-idle haproxy -db -f "$W/haproxy-idle.cfg"
if wait_until 20 listening "$HAPROXY_IDLE_PORT" && alive "$LAST_PID"; then
	HAPROXY_IDLE_PID=$LAST_PID
else
	HAPROXY_IDLE_ERR="haproxy (idle) did not start: $(tail -n 2 "$W/haproxy-idle.log" | tr '\n\t"' '  ' | cut -c1-200)"
fi
note "bench: haproxy pid ${HAPROXY_PID:-none} on $HAPROXY_PORT, idle pid ${HAPROXY_IDLE_PID:-none} on $HAPROXY_IDLE_PORT"

# ----------------------------------------------------------------- dnsdist
DNSDIST_PORT=$(free_port) && DNSDIST_PLAIN_PORT=$(free_port) || die "no free port"
cat >"$W/dnsdist.conf" <<EOF
setSecurityPollSuffix("")
setLocal("127.0.0.1:$DNSDIST_PLAIN_PORT")
addTLSLocal("127.0.0.1:$DNSDIST_PORT", "$W/server.pem", "$W/server.key", { minTLSVersion="tls1.3" })
newServer({address="127.0.0.1:$NAMED_PORT", tcpOnly=true, checkName="small.test.", checkType="SOA", mustResolve=true})
setACL({"127.0.0.0/8"})
EOF
DNSDIST_ERR='' DNSDIST_PID=''
bg dnsdist dnsdist --supervised --disable-syslog -C "$W/dnsdist.conf"
if wait_until 20 listening "$DNSDIST_PORT" && alive "$LAST_PID"; then
	DNSDIST_PID=$LAST_PID
else
	DNSDIST_ERR="dnsdist did not start: $(tail -n 2 "$W/dnsdist.log" | tr '\n\t"' '  ' | cut -c1-200)"
fi
note "bench: dnsdist pid ${DNSDIST_PID:-none} on $DNSDIST_PORT"

# ------------------------------------------------------------------ bench
jstr() { "$PY" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
jpid() { if [ -n "$1" ]; then echo "$1"; else echo null; fi; }
GITREV=$(git -C "$BENCH_DIR/.." rev-parse --short HEAD 2>/dev/null || echo "?")
git -C "$BENCH_DIR/.." diff --quiet HEAD -- proxy tls conf 2>/dev/null || GITREV="$GITREV+changes"
if ldd "$BIN" 2>/dev/null | grep -q libwolfssl; then WOLF=system; else WOLF="static local build"; fi
XOT_VERSION="$("$BIN" -V 2>&1 | head -n 1) at $GITREV, wolfSSL $WOLF"
PEERS="BIND $(named -v | sed -n 's/^BIND \([^ ]*\).*/\1/p'), $(haproxy -v | head -n 1 | cut -d' ' -f1-3 | sed 's/HAProxy version/haproxy/'), $(dnsdist --version | head -n 1 | cut -d' ' -f1-2), $(kdig -V | head -n 1 | sed 's/ (.*//'), Python $("$PY" -c 'import ssl,platform; print(platform.python_version(), ssl.OPENSSL_VERSION)')"

if [ "$QUICK" = 1 ]; then
	RUNS=1 IDLE_N=1000 HS_N=300 LAT_KEPT=300 LAT_NEW=30
	ZJSON='[["z10k.test", 10000], ["z100k.test", 100000]]'
else
	RUNS=${BENCH_RUNS:-7} IDLE_N=10000 HS_N=2000 LAT_KEPT=2000 LAT_NEW=100
	ZJSON='[["z10k.test", 10000], ["z100k.test", 100000], ["z1m.test", 1000000]]'
fi
IDLE_C_N=$IDLE_N
[ "$IDLE_C_N" -gt "$HAPROXY_IDLE_MAX" ] && IDLE_C_N=$HAPROXY_IDLE_MAX

cat >"$W/bench.json" <<EOF
{
  "quick": $QUICK,
  "runs": $RUNS,
  "workdir": "$W",
  "results": "$BENCH_DIR/results",
  "ca": "$W/ca.pem",
  "named_pid": $NAMED_PID,
  "zones": $ZJSON,
  "small_serial": 1,
  "par_zone": ["z100k.test", 100000],
  "par_n": 50,
  "zones100k": $ZONES_JSON,
  "lat_kept": $LAT_KEPT,
  "lat_new": $LAT_NEW,
  "hs_n": $HS_N,
  "fd_limit": $FD_LIMIT,
  "loadavg": $(jstr "$(cut -d' ' -f1-3 /proc/loadavg)"),
  "xot_version": $(jstr "$XOT_VERSION"),
  "peer_versions": $(jstr "$PEERS"),
  "contenders": {
    "a": {"port": $NAMED_PORT},
    "b": {"port": $XOT_PORT, "pid": $XOT_PID},
    "c": {"port": $HAPROXY_PORT, "pid": $(jpid "$HAPROXY_PID"), "error": $(if [ -n "$HAPROXY_ERR" ]; then jstr "$HAPROXY_ERR"; else echo null; fi)},
    "d": {"port": $DNSDIST_PORT, "pid": $(jpid "$DNSDIST_PID"), "error": $(if [ -n "$DNSDIST_ERR" ]; then jstr "$DNSDIST_ERR"; else echo null; fi)},
    "e": {"port": $NAMED_TLS_PORT, "pid": $NAMED_PID},
    "f": {"port": $OUT_PORT, "pid": $(jpid "$OUT_PID"), "error": $(if [ -n "$OUT_ERR" ]; then jstr "$OUT_ERR"; else echo null; fi)},
    "g": {"port": $OUT_XOT_PORT, "pid": $(jpid "$OUT_XOT_PID"), "error": $(if [ -n "$OUT_XOT_ERR" ]; then jstr "$OUT_XOT_ERR"; else echo null; fi)}
  },
  "idle": {
    "b": {"port": $XOT_IDLE_PORT, "pid": $XOT_IDLE_PID, "n": $IDLE_N},
    "c": {"port": $HAPROXY_IDLE_PORT, "pid": $(jpid "$HAPROXY_IDLE_PID"), "n": $IDLE_C_N, "error": $(if [ -n "$HAPROXY_IDLE_ERR" ]; then jstr "$HAPROXY_IDLE_ERR"; else echo null; fi)}
  }
}
EOF
"$PY" "$BENCH_DIR/bench.py" "$W/bench.json"
rc=$?
for ((i = 0; i < ${#PIDS[@]}; i++)); do
	alive "${PIDS[$i]}" || note "bench: ${NAMES[$i]} (pid ${PIDS[$i]}) is no longer running: $(tail -n 3 "$W/${NAMES[$i]}.log" | tr '\n' ' ')"
done
[ $rc -eq 0 ] && note "bench: results in $BENCH_DIR/results/latest.tsv and latest.md"
exit $rc
