# shellcheck shell=bash
# lib_outbound.sh - helpers for the outbound tests (t40-t49), sourced after
# lib.sh: the outbound proxy's config and start, an inbound proxy standing in
# as the remote XoT primary, config writers and start helpers for the legacy
# secondaries (named, NSD, Knot, PowerDNS) and for a BIND 9.18 native XoT
# primary, and certificate helpers (SPKI pins, a client certificate, a second
# CA, an expired certificate).
#
# The chain these tests build (issue 8):
#   legacy secondary --plain TCP/UDP--> xotproxy [outbound] --TLS 1.3--> XoT
#   primary (xotproxy [inbound] in front of named, or BIND's own XoT).
#
# Every daemon runs in the foreground under bg_start (stopped by PID on exit),
# keeps its state in the test directory and listens on 127.0.0.1 high ports.

# ------------------------------------------------------------ the proxies

# outbound_ini FILE LISTENPORT PRIMARIES [KEY=VALUE]...: an [outbound] config
# for a secondary on 127.0.0.1:LISTENPORT carrying to PRIMARIES (a
# space-separated list of address:port). By default the primary is verified
# with the test CA and the name xot.test; each KEY=VALUE overrides or adds a
# key (KEY= with an empty value drops the key, e.g. ca= for pin-only).
# OUT_LOG_LEVEL sets the log level (default debug: the tests read the log).
outbound_ini() {
	local f=$1 lport=$2 prims=$3 kv k v
	shift 3
	local -A kvs=([ca]="$XOT_CA" [auth-name]=xot.test [connect-timeout]=5 [idle-timeout]=30)
	local order=(ca auth-name connect-timeout idle-timeout)
	for kv in "$@"; do
		k=${kv%%=*}
		v=${kv#*=}
		[ -n "${kvs[$k]+x}" ] || order+=("$k")
		kvs[$k]=$v
	done
	{
		echo "# xotproxy outbound test configuration"
		echo "[global]"
		echo "log-level = ${OUT_LOG_LEVEL:-debug}"
		echo
		echo "[outbound primary-a]"
		echo "listen = 127.0.0.1:$lport"
		echo "allow = 127.0.0.0/8 ::1"
		echo "primary = $prims"
		for k in "${order[@]}"; do
			[ -n "${kvs[$k]}" ] && echo "$k = ${kvs[$k]}"
		done
	} >"$f"
}

# udp_bound PORT: some socket is bound to UDP 127.0.0.1:PORT.
udp_bound() {
	ss -Hlun "sport = :$1" | grep -q .
}

# start_outbound NAME INI PORT: start xotproxy -c INI (outbound only); wait
# until it listens on TCP and UDP 127.0.0.1:PORT. Sets OUT_PID and OUT_LOG.
start_outbound() {
	local name=$1 ini=$2 port=$3
	"$XOT_BIN" -t -c "$ini" >"$T/$name.check" 2>&1 ||
		fail "$name: xotproxy -t rejects $ini: $(cat "$T/$name.check")"
	# shellcheck disable=SC2086
	bg_start "$name" ${XOT_WRAP:-} "$XOT_BIN" -c "$ini"
	OUT_PID=$LAST_PID
	OUT_LOG=$T/$name.log
	if ! wait_until 30 tcp_listening "$port"; then
		alive "$OUT_PID" || note "$name exited"
		tail -n 20 "$OUT_LOG"
		fail "$name: TCP port $port not listening after 30 s"
	fi
	wait_until 10 udp_bound "$port" || fail "$name: UDP port $port not bound (the secondary polls SOA over UDP)"
	alive "$OUT_PID" || fail "$name exited"
	ok "$name (outbound) listening on 127.0.0.1#$port, TCP and UDP"
}

# start_xot_primary NAME PORT BACKENDPORT [CERT KEY]: an inbound xotproxy on
# 127.0.0.1:PORT at log-level debug (every SOA answer and every TLS
# handshake, ", resumed" or not, is logged) in front of the plaintext
# primary on BACKENDPORT: the remote XoT primary of the outbound side.
# Extra zone sections: XOT_PRIMARY_ZONES (space-separated). Sets PRI_PID and
# PRI_LOG.
start_xot_primary() {
	local name=$1 port=$2 bport=$3 cert=${4:-$XOT_CERT} key=${5:-$XOT_KEY} z
	PROXY_LOG_LEVEL=debug proxy_ini "$T/$name.ini" "$port" "$bport" "$cert" "$key"
	for z in ${XOT_PRIMARY_ZONES:-}; do
		printf '\n[zone %s]\nallow = 127.0.0.0/8 ::1\n' "$z" >>"$T/$name.ini"
	done
	start_proxy "$name" "$T/$name.ini" "$port"
	PRI_PID=$PROXY_PID
	PRI_LOG=$PROXY_LOG
}

# full_handshakes LOG: TLS handshakes an inbound xotproxy (log-level debug)
# completed without resumption; resumed_handshakes LOG: those resumed.
full_handshakes() {
	grep 'TLS established' "$1" | grep -vc ', resumed'
}
resumed_handshakes() {
	grep 'TLS established' "$1" | grep -c ', resumed'
}

# zone_lines LOG ZONE: the inbound proxy's log lines about ZONE (SOA answers
# at debug, transfers and refusals at info): any DNS that reached it.
zone_lines() {
	grep -c "zone ${2%.}\\." "$1"
}

# ------------------------------------------------------- TLS material

# spki_pin CERT: base64 SHA-256 of CERT's SubjectPublicKeyInfo (RFC 7469).
spki_pin() {
	openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | base64
}

# make_client_cert DIR NAME: DIR/NAME.pem + DIR/NAME.key, clientAuth, signed
# by the shared test CA (for mutual TLS towards the primary).
make_client_cert() {
	local d=$1 n=$2
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$d/$n.key" 2>/dev/null
	openssl req -new -key "$d/$n.key" -subj "/CN=secondary.xot.test" -out "$d/$n.csr" 2>/dev/null
	cat >"$d/$n.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:secondary.xot.test
EOF
	openssl x509 -req -in "$d/$n.csr" -CA "$XOT_CA" -CAkey "${XOT_CA%.pem}.key" -CAcreateserial \
		-days 30 -extfile "$d/$n.ext" -out "$d/$n.pem" 2>/dev/null
}

# make_expired_cert DIR NAME: DIR/NAME.pem + DIR/NAME.key, signed by the
# shared test CA, SAN xot.test and 127.0.0.1 like the good one, but valid
# only from 2020-01-01 to 2020-01-02 (openssl ca takes explicit dates;
# openssl x509 -req cannot make a certificate that ended in the past).
make_expired_cert() {
	local d=$1 n=$2 cd=$1/$2-ca
	mkdir -p "$cd"
	: >"$cd/index.txt"
	echo 1000 >"$cd/serial"
	cat >"$cd/ca.cnf" <<EOF
[ ca ]
default_ca = test
[ test ]
dir = $cd
database = $cd/index.txt
serial = $cd/serial
new_certs_dir = $cd
certificate = $XOT_CA
private_key = ${XOT_CA%.pem}.key
default_md = sha256
policy = anything
copy_extensions = none
unique_subject = no
[ anything ]
commonName = supplied
[ srv ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:xot.test, IP:127.0.0.1
EOF
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$d/$n.key" 2>/dev/null
	openssl req -new -key "$d/$n.key" -subj "/CN=xot.test" -out "$d/$n.csr" 2>/dev/null
	openssl ca -batch -notext -config "$cd/ca.cnf" -extensions srv -in "$d/$n.csr" \
		-startdate 20200101000000Z -enddate 20200102000000Z -out "$d/$n.pem" >"$cd/ca.log" 2>&1
}

# make_other_ca DIR: a second, unrelated CA in DIR/ca.pem with a server
# certificate DIR/server.pem (same SANs as the good one).
make_other_ca() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 30 -subj "/CN=other test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null &&
		make_server_cert "$d" server ec
}

# --------------------------------------------------- plaintext primaries

# primary_named_conf DIR PORT ZONE FILE [NOTIFYPORT]: a named primary for
# ZONE on 127.0.0.1:PORT (TSIG-signed updates, journal, IXFR), sending
# NOTIFY to 127.0.0.1 port NOTIFYPORT when given.
primary_named_conf() {
	local dir=$1 port=$2 zone=$3 file=$4 nport=${5:-}
	named_options "$dir" "$port"
	echo "include \"$XOT_TSIG_FILE\";"
	echo "zone \"$zone\" {"
	echo "	type primary;"
	echo "	file \"$file\";"
	echo "	allow-transfer { any; };"
	echo "	allow-update { key \"$XOT_TSIG_NAME\"; };"
	echo "	ixfr-from-differences yes;"
	if [ -n "$nport" ]; then
		echo "	notify explicit;"
		echo "	also-notify { 127.0.0.1 port $nport; };"
	fi
	echo "};"
}

# ------------------------------------------------------ legacy secondaries

# sec_serial PORT ZONE: the SOA serial a secondary serves (UDP, one try).
sec_serial() {
	dig +short +time=1 +tries=1 +norec @127.0.0.1 -p "$1" "$2" SOA 2>/dev/null | awk 'NR == 1 { print $3 }'
}
sec_serial_is() { [ "$(sec_serial "$1" "$2")" = "$3" ]; }

# named_secondary_conf DIR PORT ZONE PRIMARYPORT [KEY]: a plaintext named
# secondary of ZONE whose primary is 127.0.0.1 port PRIMARYPORT (the outbound
# listener), with the TSIG key when KEY=key. It accepts NOTIFY from
# 127.0.0.1 (where the real primary sends from) and serves AXFR to anyone.
named_secondary_conf() {
	local dir=$1 port=$2 zone=$3 pport=$4 usekey=${5:-} k=
	[ "$usekey" = key ] && k=" key \"$XOT_TSIG_NAME\""
	named_options "$dir" "$port"
	cat <<EOF
include "$XOT_TSIG_FILE";
zone "$zone" {
	type secondary;
	file "$zone.sec";
	primaries { 127.0.0.1 port $pport$k; };
	allow-notify { 127.0.0.1; };
	allow-transfer { any; };
	min-retry-time 1;
	max-retry-time 2;
};
EOF
}

# nsd_secondary_conf DIR PORT PRIMARYPORT ZONE[:key]...: an NSD 4.6 secondary
# on 127.0.0.1:PORT; each ZONE is requested from 127.0.0.1@PRIMARYPORT (with
# the TSIG key for ZONE:key), NOTIFY accepted from 127.0.0.1, AXFR served.
nsd_secondary_conf() {
	local dir=$1 port=$2 pport=$3 z name k
	shift 3
	cat <<EOF
server:
	ip-address: 127.0.0.1
	port: $port
	do-ip6: no
	username: ""
	chroot: ""
	database: ""
	zonesdir: "$dir"
	pidfile: "$dir/nsd.pid"
	zonelistfile: "$dir/zone.list"
	xfrdfile: "$dir/xfrd.state"
	xfrdir: "$dir"
	logfile: "$dir/nsd-file.log"
	server-count: 1
	verbosity: 2
remote-control:
	control-enable: no
key:
	name: "$XOT_TSIG_NAME"
	algorithm: $XOT_TSIG_ALG
	secret: "$XOT_TSIG_SECRET"
EOF
	for z in "$@"; do
		name=${z%%:*}
		k=NOKEY
		[ "$z" != "$name" ] && k=$XOT_TSIG_NAME
		cat <<EOF
zone:
	name: "$name"
	zonefile: "$name.sec"
	request-xfr: 127.0.0.1@$pport $k
	allow-notify: 127.0.0.1 NOKEY
	provide-xfr: 127.0.0.0/8 NOKEY
EOF
	done
}

# knot_secondary_conf DIR PORT PRIMARYPORT ZONE[:key]...: a Knot 3.2
# secondary (knotd -c FILE, foreground, logs to stderr).
knot_secondary_conf() {
	local dir=$1 port=$2 pport=$3 z name
	shift 3
	cat <<EOF
server:
    listen: 127.0.0.1@$port
    rundir: "$dir"
log:
  - target: stderr
    any: info
database:
    storage: "$dir"
key:
  - id: $XOT_TSIG_NAME
    algorithm: $XOT_TSIG_ALG
    secret: $XOT_TSIG_SECRET
remote:
  - id: out
    address: 127.0.0.1@$pport
  - id: out-key
    address: 127.0.0.1@$pport
    key: $XOT_TSIG_NAME
acl:
  - id: notify-from-primary
    address: 127.0.0.1
    action: notify
  - id: transfer-out
    address: 127.0.0.0/8
    action: transfer
template:
  - id: default
    storage: "$dir"
    file: "%s.zone"
zone:
EOF
	for z in "$@"; do
		name=${z%%:*}
		if [ "$z" != "$name" ]; then
			echo "  - domain: $name"
			echo "    master: out-key"
		else
			echo "  - domain: $name"
			echo "    master: out"
		fi
		echo "    acl: [notify-from-primary, transfer-out]"
	done
}

# pdns_secondary_conf DIR PORT PRIMARYPORT ZONE...: a PowerDNS 4.7
# (bind backend) secondary; writes DIR/pdns.conf and DIR/named.conf (the
# backend's zone list: type slave, masters { 127.0.0.1:PRIMARYPORT; }).
pdns_secondary_conf() {
	local dir=$1 port=$2 pport=$3 z
	shift 3
	cat >"$dir/pdns.conf" <<EOF
launch=bind
bind-config=$dir/named.conf
local-address=127.0.0.1
local-port=$port
socket-dir=$dir
guardian=no
daemon=no
write-pid=no
disable-syslog=yes
loglevel=6
log-dns-details=yes
secondary=yes
allow-axfr-ips=127.0.0.0/8
allow-notify-from=127.0.0.0/8
xfr-cycle-interval=1
webserver=no
api=no
EOF
	{
		echo "options { directory \"$dir\"; };"
		for z in "$@"; do
			echo "zone \"$z\" { type slave; file \"$dir/$z.sec\"; masters { 127.0.0.1:$pport; }; };"
		done
	} >"$dir/named.conf"
}

# start_secondary KIND NAME DIR: start the daemon KIND (named, nsd, knot,
# pdns) on the config made above in DIR; skips the test if its binary is
# missing. Sets SEC_PID and SEC_LOG.
start_secondary() {
	local kind=$1 name=$2 dir=$3
	case $kind in
	named)
		named-checkconf "$dir/named.conf" || fail "$name: named-checkconf failed"
		bg_start "$name" named -g -c "$dir/named.conf" ;;
	nsd)
		nsd-checkconf "$dir/nsd.conf" || fail "$name: nsd-checkconf failed"
		bg_start "$name" nsd -d -c "$dir/nsd.conf" ;;
	knot)
		knotc -c "$dir/knot.conf" conf-check >"$T/$name.check" 2>&1 ||
			fail "$name: knotc conf-check failed: $(cat "$T/$name.check")"
		bg_start "$name" knotd -c "$dir/knot.conf" ;;
	pdns)
		bg_start "$name" pdns_server --config-dir="$dir" ;;
	*) fail "start_secondary: unknown kind $kind" ;;
	esac
	SEC_PID=$LAST_PID
	SEC_LOG=$T/$name.log
}

# need_binary PROG: skip the test (exit 77) if PROG is not installed.
need_binary() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"
}

# sec_log LOG DIR: a secondary's stderr log plus NSD's own log file (NSD
# writes to its logfile, not stderr, once it runs).
sec_logs() {
	cat "$1" 2>/dev/null
	[ -f "$2/nsd-file.log" ] && cat "$2/nsd-file.log"
	return 0
}

# axfr_count PORT ZONE OUT: AXFR of ZONE from a plaintext server on PORT into
# OUT; prints the record count from kdig's footer.
axfr_count() {
	kt "$1" "$2" AXFR >"$3" 2>"$3.err" || return 1
	xfr_records "$3"
}

# --------------------------------------------------- BIND native XoT primary

# bind_xot_primary_conf DIR PLAINPORT TLSPORT CERT KEY [MTLSPORT]: a named
# 9.18 primary for example.test and small.test (zone files copied into DIR
# by the caller) on plaintext 127.0.0.1:PLAINPORT and native XoT on
# 127.0.0.1:TLSPORT (tls block "srv": server certificate only). With
# MTLSPORT, a second XoT listener there (tls block "mtls") whose tls block
# has ca-file (the test CA): BIND 9.18 then requires a client certificate
# signed by it (mutual TLS). Transfers are allowed only over TLS (plaintext
# AXFR gets REFUSED); DIR/query.log gets every query (querylog) and the
# xfer-out lines.
bind_xot_primary_conf() {
	local dir=$1 pport=$2 tport=$3 cert=$4 key=$5 mport=${6:-} listen
	cat <<EOF
tls srv {
	cert-file "$cert";
	key-file "$key";
	protocols { TLSv1.3; };
};
EOF
	listen="\\tlisten-on port $tport tls srv { 127.0.0.1; };"
	if [ -n "$mport" ]; then
		cat <<EOF
tls mtls {
	cert-file "$cert";
	key-file "$key";
	ca-file "$XOT_CA";
	protocols { TLSv1.3; };
};
EOF
		listen+="\\n\\tlisten-on port $mport tls mtls { 127.0.0.1; };"
	fi
	named_options "$dir" "$pport" |
		sed "s|^\\tlisten-on port $pport { 127.0.0.1; };|&\\n$listen\\n\\tquerylog yes;|"
	cat <<EOF
logging {
	channel q { file "$dir/query.log"; print-time yes; severity info; };
	category queries { q; };
	category xfer-out { q; default_stderr; };
	category default { default_stderr; };
};
zone "example.test" {
	type primary;
	file "example.test.zone";
	allow-transfer transport tls { any; };
};
zone "small.test" {
	type primary;
	file "small.test.zone";
	allow-transfer transport tls { any; };
};
EOF
}

# ------------------------------------ t41-t43: one legacy secondary, driven

# secondary_via_outbound KIND ZONE[:key]...: the common body of t41-t43.
# KIND (nsd, knot, pdns) is a plaintext secondary whose only primary is the
# outbound listener; the outbound side carries its SOA polls and transfers
# over TLS 1.3 to an inbound xotproxy in front of the shared named. For each
# ZONE (ZONE:key: TSIG-signed with the shared key) the secondary must serve
# the primary's serial and exactly the primary's records, and both proxies
# must log the transfer. Then a NOTIFY for the first zone must make the
# secondary ask the outbound side again (SOA poll or IXFR), which must be
# relayed over TLS. Sets P (inbound), O (outbound), S (secondary) ports.
secondary_via_outbound() {
	local kind=$1 z name want n_p n_s first="" re
	shift
	P=$(free_port) || fail "no free port"
	O=$(free_port) || fail "no free port"
	S=$(free_port) || fail "no free port"
	start_xot_primary inbound "$P" "$XOT_NAMED_PORT"
	outbound_ini "$T/outbound.ini" "$O" "127.0.0.1:$P"
	start_outbound outbound "$T/outbound.ini" "$O"

	local sd=$T/$kind
	mkdir -p "$sd"
	case $kind in
	nsd) nsd_secondary_conf "$sd" "$S" "$O" "$@" >"$sd/nsd.conf" ;;
	knot) knot_secondary_conf "$sd" "$S" "$O" "$@" >"$sd/knot.conf" ;;
	pdns)
		local plain=()
		for z in "$@"; do plain+=("${z%%:*}"); done
		pdns_secondary_conf "$sd" "$S" "$O" "${plain[@]}" ;;
	esac
	start_secondary "$kind" secondary "$sd"

	for z in "$@"; do
		name=${z%%:*}
		[ -n "$first" ] || first=$name
		want=$(soa_serial "$XOT_NAMED_PORT" "$name")
		[ -n "$want" ] || fail "no $name serial from the shared named"
		if ! wait_until 90 sec_serial_is "$S" "$name" "$want"; then
			sec_logs "$SEC_LOG" "$sd" | tail -n 20
			tail -n 10 "$OUT_LOG"
			fail "$kind does not serve $name serial $want after 90 s (has '$(sec_serial "$S" "$name")')"
		fi
		ok "$kind serves $name serial $want, transferred through the outbound side"
		if [ "$z" != "$name" ]; then
			kt "$XOT_NAMED_PORT" -y "$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET" "$name" AXFR |
				grep -Ev $'[[:space:]]ANY[[:space:]]+TSIG[[:space:]]' >"$T/primary-$name.txt" ||
				fail "signed AXFR of $name from the primary failed"
		else
			kt "$XOT_NAMED_PORT" "$name" AXFR >"$T/primary-$name.txt" 2>&1 || fail "AXFR of $name from the primary failed"
		fi
		kt "$S" "$name" AXFR >"$T/secondary-$name.txt" 2>&1 ||
			fail "AXFR of $name from the $kind secondary failed: $(tail -n 3 "$T/secondary-$name.txt")"
		n_p=$(rrs "$T/primary-$name.txt" | wc -l)
		n_s=$(rrs "$T/secondary-$name.txt" | wc -l)
		[ "$n_p" -gt 3 ] || fail "primary's $name AXFR holds $n_p records"
		[ "$n_s" = "$n_p" ] || fail "$kind's copy of $name: $n_s records, primary $n_p"
		same_records "$T/primary-$name.txt" "$T/secondary-$name.txt" "$name: $kind's copy vs the primary"
		wait_until 10 grep -Eq "zone $name\\., (AXFR|IXFR), ok" "$PRI_LOG" ||
			fail "the inbound proxy logged no transfer of $name"
		wait_until 10 grep -Eq "zone $name\\., (AXFR|IXFR), ok" "$OUT_LOG" ||
			{ tail -n 10 "$OUT_LOG"; fail "the outbound proxy logged no transfer of $name"; }
		ok "outbound: $(grep -E "zone $name\\., (AXFR|IXFR), ok" "$OUT_LOG" | tail -n 1 | cut -d' ' -f3-)"
		if [ "$z" != "$name" ]; then
			# TSIG end to end: the secondary verified the primary's MACs.
			case $kind in
			nsd) re="zone $name\\.? .*received update to serial $want .*TSIG verified with key $XOT_TSIG_NAME" ;;
			knot) re="\\[$name\\.\\] AXFR, incoming, remote 127\\.0\\.0\\.1@$O.* finished" ;;
			esac
			sec_logs "$SEC_LOG" "$sd" | grep -Eq "$re" ||
				{ sec_logs "$SEC_LOG" "$sd" | grep "$name" | tail -n 5; fail "$kind logged no verified transfer of $name (/$re/)"; }
			ok "$kind: signed transfer of $name verified"
		fi
	done
	assert_nogrep "$OUT_LOG" "aborted|failed|verification|not tried again" "outbound logged no failure"

	# NOTIFY (as the real primary would send it, from 127.0.0.1): the
	# secondary must ask its primary, the outbound listener, again.
	local before after
	before=$(grep -Ec "zone $first\\., (SOA|IXFR|AXFR), ok" "$OUT_LOG")
	want=$(soa_serial "$XOT_NAMED_PORT" "$first")
	# Without a serial in it: NSD and Knot ignore a NOTIFY whose serial is
	# not newer than theirs, but must check with their primary when it names
	# none (RFC 1996 §3.7, §3.11).
	kdig @127.0.0.1 -p "$S" +time=5 +retry=1 "$first" NOTIFY >"$T/notify.txt" 2>&1 ||
		fail "NOTIFY to $kind failed: $(cat "$T/notify.txt")"
	[ "$(dig_status "$T/notify.txt")" = NOERROR ] || fail "$kind answered the NOTIFY with $(dig_status "$T/notify.txt")"
	if ! wait_until 30 bash -c "[ \$(grep -Ec 'zone $first\\., (SOA|IXFR|AXFR), ok' '$OUT_LOG') -gt $before ]"; then
		sec_logs "$SEC_LOG" "$sd" | tail -n 10
		fail "$kind sent nothing through the outbound side within 30 s of a NOTIFY"
	fi
	after=$(grep -Ec "zone $first\\., (SOA|IXFR|AXFR), ok" "$OUT_LOG")
	ok "after the NOTIFY $kind asked again: $(grep -E "zone $first\\., (SOA|IXFR|AXFR), ok" "$OUT_LOG" | tail -n $((after - before)) | awk -F', ' '{ print $4 }' | sort | uniq -c | xargs)"
	sec_serial_is "$S" "$first" "$want" || fail "$kind no longer serves $first serial $want after the refresh"
	alive "$SEC_PID" || fail "$kind died"
	alive "$OUT_PID" || fail "outbound proxy died"
	alive "$PRI_PID" || fail "inbound proxy died"
}

# assert_survives PID SECONDS WHAT: PID is still running SECONDS from now
# (polled: fails as soon as it dies). For the timers a failed upstream
# attempt may leave behind (connect-timeout): give SECONDS > connect-timeout.
_ob_dead() { ! alive "$1"; }
assert_survives() {
	if wait_until "$2" _ob_dead "$1"; then
		[ -n "${OUT_LOG:-}" ] && tail -n 3 "$OUT_LOG"
		fail "$3: the proxy (pid $1) died within $2 s"
	fi
	ok "$3: the proxy is still running $2 s later"
}

# start_rvxot NAME PORT [ARGS...]: the scripted XoT primary
# (tests/tools/rvxot.py) on 127.0.0.1:PORT with the shared test certificate,
# serving example.test unless ARGS say otherwise; its log is $T/NAME.log.
# Returns once it listens.
start_rvxot() {
	local name=$1 port=$2
	shift 2
	bg_start "$name" python3 "$TOOLS/rvxot.py" --port "$port" \
		--cert "$XOT_CERT" --key "$XOT_KEY" --zone example.test --status "$T/$name.status" "$@"
	wait_until 10 test -e "$T/$name.status" || fail "$name (rvxot.py) not listening: $(tail -n 3 "$T/$name.log")"
}

# start_fakexot NAME PORT MODE [ARGS...]: the misbehaving XoT primary
# (tests/tools/fakexot.py, mode MODE) on 127.0.0.1:PORT with the shared test
# certificate, serving example.test; waits until it listens. Log
# $T/NAME.log.
start_fakexot() {
	local name=$1 port=$2 mode=$3
	shift 3
	bg_start "$name" python3 "$TOOLS/fakexot.py" --port "$port" --mode "$mode" --cert "$XOT_CERT" \
		--key "$XOT_KEY" --zone example.test --status "$T/$name.status" "$@"
	wait_until 10 test -e "$T/$name.status" || fail "$name (fakexot.py $mode) not listening"
}

# xot_outbound NAME BACKEND [KEY=VALUE...]: the usual chain: an inbound
# xotproxy "primary" on port P in front of the plaintext server on port
# BACKEND (zones: XOT_PRIMARY_ZONES), and the outbound proxy NAME
# ($T/NAME.ini, outbound_ini with the KEY=VALUE settings) on port O with it
# as the one primary.
xot_outbound() {
	local name=$1 backend=$2
	shift 2
	free_ports P O
	start_xot_primary primary "$P" "$backend"
	outbound_ini "$T/$name.ini" "$O" "127.0.0.1:$P" "$@"
	start_outbound "$name" "$T/$name.ini" "$O"
}

# rv_outbound SCRIPT [KEY=VALUE...]: the set-up of the t9x tests: rvxot.py
# "rvxot" running --script SCRIPT on port FP (its log PLOG), and the outbound
# proxy "ob" ($T/ob.ini, outbound_ini with the KEY=VALUE settings) on port O
# with it as the one primary.
rv_outbound() {
	local script=$1
	shift
	free_ports FP O
	start_rvxot rvxot "$FP" --script "$script"
	PLOG=$T/rvxot.log
	outbound_ini "$T/ob.ini" "$O" "127.0.0.1:$FP" "$@"
	start_outbound ob "$T/ob.ini" "$O"
}

# ob_reloads, ob_changes: how many reloads, and how many pool replacements
# (a section whose primaries or TLS settings changed), the outbound proxy
# has logged.
ob_reloads() { grep -c 'reloaded ' "$OUT_LOG"; }
ob_changes() { grep -c 'primaries or TLS settings changed' "$OUT_LOG"; }
_grew() { [ "$($1)" -gt "$2" ]; }

# ob_hup WHAT COUNTER: SIGHUP to the outbound proxy, then wait (at most
# 10 s) until COUNTER (ob_reloads or ob_changes) has grown; fails with WHAT.
ob_hup() {
	local what=$1 counter=$2 n
	n=$($counter)
	kill -HUP "$OUT_PID" 2>/dev/null || fail "$what: the outbound proxy is gone"
	wait_until 10 _grew "$counter" "$n" || { tail -n 5 "$OUT_LOG"; fail "$what: not logged ($counter still $n)"; }
}
