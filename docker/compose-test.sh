#!/usr/bin/env bash
# docker/compose-test.sh - runs the lab of docker/compose.yml with podman-compose (Debian 12:
# 1.0.3, through docker/lab/podman-netmode) and checks it end to end:
#   - an AXFR over TLS from the inbound proxy's published port (kdig, certificate verified
#     against the lab CA for xot.test, TSIG signed) returns the primary's zone, and the
#     same query without TSIG is REFUSED;
#   - the secondary, fed by the outbound proxy over XoT, serves the zone with the primary's
#     serial on its published port (dig), authoritatively, and logged a TSIG-signed transfer;
#   - `podman-compose down` removes the lab's containers.
# Not part of `make container-test` or CI (docker/test.sh is).
#
# Runs beside a user's own lab: its containers, project, image tags, certificates and
# ports are its own (XOT_LAB* variables of docker/compose.yml). Everything it creates
# (containers, the project network, the two images unless XOT_CTEST_KEEP_IMAGES=1, temp
# files) is removed by name on exit;
# the base image localhost/debian:12-base is built like docker/test.sh does when missing,
# and kept as a cache (XOT_CTEST_KEEP_BASE=0 removes it too, if this run built it).
#
# Needs root (rootful podman). Missing packages are installed with apt-get. podman gets a
# private containers.conf (runc, explicit ulimits; platform notes) through CONTAINERS_CONF
# unless CONTAINERS_CONF is already set.
#
# Environment:
#   XOT_CTEST_FROM=REV    build the project sources from git revision REV (docker/ still
#                         from the working tree); default: the working tree
#   XOT_CTEST_KEEP_BASE=0 also remove the base image (when this run built it)
#   XOT_CTEST_BASE_IMAGE  base image name (default localhost/debian:12-base)
#   XOT_CTEST_TIMEOUT=90  seconds to wait for each of: the first TLS AXFR, the secondary
#   XOT_CTEST_KEEP_IMAGES=1  keep the two lab images (tag ctest-compose) at exit, and use
#                         them if present instead of building: quicker reruns of the same
#                         sources (remove them with `podman rmi` when the sources change)
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
BASE_IMAGE=${XOT_CTEST_BASE_IMAGE:-localhost/debian:12-base}
LAB=xotctest-lab                      # project name and container name prefix
TAG=ctest-compose
PROXY_IMAGE=localhost/xotproxy:$TAG
NAMED_IMAGE=localhost/xot-named:$TAG
NETWORK=${LAB}_default                # made by podman-compose 1.0.3, not removed by down
CONTAINERS="$LAB-secondary $LAB-xot-out $LAB-xot-in $LAB-primary $LAB-net"   # removal order
ZONE=example.test
EXPECT_RECORDS=8                      # SOA NS MX A A A TXT + closing SOA (lab/example.test.zone)
TIMEOUT=${XOT_CTEST_TIMEOUT:-90}
T0=$SECONDS

say() { printf 'compose-test: %s\n' "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }
step() { say "[$((SECONDS - T0)) s] $*"; }
# shellcheck source=docker/lib.sh
. "$REPO/docker/lib.sh"

[ "$(id -u)" = 0 ] || die "needs root (rootful podman, apt-get)"

# ---------------------------------------------------------------- packages
PKGS="podman podman-compose runc catatonit containernetworking-plugins iptables
      mmdebstrap gpg knot-dnsutils bind9-dnsutils openssl iproute2"
# shellcheck disable=SC2086 # word list
ctest_packages $PKGS

TMP=$(mktemp -d "${TMPDIR:-/tmp}/xot-compose-test.XXXXXX")

# ---------------------------------------------------------------- podman configuration
ctest_podman_conf

# ---------------------------------------------------------------- cleanup
BUILT_BASE=0
COMPOSE_FILE=""
UP=0
remove_lab() {
	local c
	for c in $CONTAINERS; do
		podman container exists "$c" 2>/dev/null && podman rm -f -t 1 "$c" >/dev/null 2>&1
	done
	podman network exists "$NETWORK" 2>/dev/null && podman network rm -f "$NETWORK" >/dev/null 2>&1
	[ "${XOT_CTEST_KEEP_IMAGES:-0}" = 1 ] && return 0
	for c in "$PROXY_IMAGE" "$NAMED_IMAGE"; do
		podman image exists "$c" 2>/dev/null && podman rmi -f "$c" >/dev/null 2>&1
	done
	return 0
}
dump_logs() {
	local c
	[ -f "$TMP/up.log" ] && { say "---- podman-compose up (last 30 lines)"; tail -n 30 "$TMP/up.log" | sed 's/^/    /' >&2; }
	for c in $CONTAINERS; do
		podman container exists "$c" 2>/dev/null || continue
		say "---- podman logs $c (last 25 lines)"
		podman logs "$c" 2>&1 | tail -n 25 | sed 's/^/    /' >&2
	done
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	[ $rc -ne 0 ] && dump_logs
	[ $UP = 1 ] && compose down >>"$TMP/down.log" 2>&1
	remove_lab
	if [ $BUILT_BASE = 1 ] && [ "${XOT_CTEST_KEEP_BASE:-1}" = 0 ]; then
		podman rmi "$BASE_IMAGE" >/dev/null 2>&1
	fi
	rm -rf "$TMP"
	if [ $rc -eq 0 ]; then say "PASS ($((SECONDS - T0)) s)"; else say "FAILED (exit $rc)"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Leftovers of an interrupted earlier run (the same names).
remove_lab

# ---------------------------------------------------------------- base image
ctest_base_image

# ---------------------------------------------------------------- the compose project
CONTEXT=$REPO
if [ -n "${XOT_CTEST_FROM:-}" ]; then
	CONTEXT=$TMP/context
	mkdir -p "$CONTEXT"
	git -C "$REPO" archive "$XOT_CTEST_FROM" | tar -x -C "$CONTEXT"
	rm -rf "$CONTEXT/docker"
	cp -r "$REPO/docker" "$CONTEXT/docker"
	rm -rf "$CONTEXT/docker/lab/tls"
	step "building from git $XOT_CTEST_FROM ($(git -C "$REPO" rev-parse --short "$XOT_CTEST_FROM")) + working docker/"
fi
COMPOSE_FILE=$CONTEXT/docker/compose.yml

# Free ports on 127.0.0.1: TLS (TCP), DNS (TCP and UDP).
free_port() {
	local p _
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		ss -Hltun "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}
TLS_PORT=$(free_port) || die "no free port found"
DNS_PORT=$(free_port) || die "no free port found"
[ "$TLS_PORT" != "$DNS_PORT" ] || DNS_PORT=$(free_port) || die "no free port found"

"$CONTEXT/docker/lab/gen-certs.sh" "$TMP/tls" >/dev/null
SECRET=$(sed -n 's/^[[:space:]]*secret "\(.*\)";$/\1/p' "$TMP/tls/tsig.key")
[ -n "$SECRET" ] || die "no secret in $TMP/tls/tsig.key"

export XOT_LAB=$LAB XOT_LAB_TAG=$TAG XOT_LAB_TLS=$TMP/tls \
	XOT_LAB_TLS_PORT=$TLS_PORT XOT_LAB_DNS_PORT=$DNS_PORT \
	XOT_LAB_BASE_IMAGE=$BASE_IMAGE XOT_LAB_BUILD_IMAGE=$BASE_IMAGE
compose() {
	podman-compose --podman-path "$CONTEXT/docker/lab/podman-netmode" -p "$LAB" \
		-f "$COMPOSE_FILE" "$@"
}

# `up` builds the images that do not exist (each once), then starts the services in
# dependency order. 1.0.3 returns 0 even when a build or a container fails: checked below.
if podman image exists "$PROXY_IMAGE" && podman image exists "$NAMED_IMAGE"; then
	step "podman-compose up -d ($NAMED_IMAGE and $PROXY_IMAGE kept from an earlier run)"
else
	step "podman-compose up -d (builds $NAMED_IMAGE and $PROXY_IMAGE: wolfSSL from source, 2-3 min)"
fi
UP=1
compose --podman-build-args '--network host --pull=never --layers=false' up -d \
	>"$TMP/up.log" 2>&1 || die "podman-compose up failed"
for i in "$NAMED_IMAGE" "$PROXY_IMAGE"; do
	podman image exists "$i" || die "image $i was not built"
done
for c in $CONTAINERS; do
	s=$(podman container inspect --format '{{.State.Status}}' "$c" 2>/dev/null || echo missing)
	[ "$s" = running ] || die "container $c is $s"
done
step "up: 5 containers running; published 127.0.0.1:$TLS_PORT (XoT), 127.0.0.1:$DNS_PORT (DNS)"

# ---------------------------------------------------------------- checks
kd() {
	kdig @127.0.0.1 -p "$TLS_PORT" +tls-ca="$TMP/tls/ca.pem" +tls-hostname=xot.test \
		+nopadding +time=3 +retry=0 "$@"
}
records() {
	sed -n 's/^;; Received [0-9]* B ([0-9]* messages*, \([0-9]*\) records*).*/\1/p' "$1" | tail -n 1
}
axfr() {
	kd -y "hmac-sha256:xfr-key:$SECRET" AXFR "$ZONE" >"$1" 2>&1 &&
		[ "$(records "$1")" = "$EXPECT_RECORDS" ]
}
alive() {
	local c s
	for c in $CONTAINERS; do
		s=$(podman container inspect --format '{{.State.Status}}' "$c" 2>/dev/null || echo missing)
		[ "$s" = running ] || die "container $c is $s"
	done
}

step "waiting for a signed AXFR of $ZONE over TLS through 127.0.0.1:$TLS_PORT (up to $TIMEOUT s)"
deadline=$((SECONDS + TIMEOUT))
until axfr "$TMP/axfr.txt"; do
	[ $SECONDS -lt $deadline ] || { cat "$TMP/axfr.txt" >&2; die "no complete AXFR within $TIMEOUT s"; }
	alive
	sleep 0.5
done
PRIMARY_SERIAL=$(awk '$4 == "SOA" { print $7; exit }' "$TMP/axfr.txt")
FILE_SERIAL=$(sed -n 's/^[[:space:]]*\([0-9]\{10\}\) .*/\1/p' "$CONTEXT/docker/lab/example.test.zone" | head -n 1)
[ "$PRIMARY_SERIAL" = "$FILE_SERIAL" ] || die "AXFR serial $PRIMARY_SERIAL, zone file $FILE_SERIAL"
# kdig verifies the reply's TSIG (a failure is a ';; WARNING' or ';; ERROR' line).
! grep -Eq '^;; (WARNING|ERROR)' "$TMP/axfr.txt" || { cat "$TMP/axfr.txt" >&2; die "kdig reported a problem"; }
grep -Eq '^xfr-key\.[[:space:]].*[[:space:]]TSIG[[:space:]]+hmac-sha256\. .* NOERROR ' "$TMP/axfr.txt" ||
	{ cat "$TMP/axfr.txt" >&2; die "the AXFR reply carries no TSIG xfr-key"; }

kd AXFR "$ZONE" >"$TMP/unsigned.txt" 2>&1 || true
grep -Eq "status: REFUSED|error 'REFUSED'" "$TMP/unsigned.txt" ||
	{ cat "$TMP/unsigned.txt" >&2; die "unsigned AXFR not refused"; }

step "waiting for the secondary to serve serial $PRIMARY_SERIAL on 127.0.0.1:$DNS_PORT (up to $TIMEOUT s)"
dg() { dig @127.0.0.1 -p "$DNS_PORT" +norec +time=2 +tries=1 "$@"; }
deadline=$((SECONDS + TIMEOUT))
until s=$(dg +short "$ZONE" SOA 2>/dev/null | awk '{ print $3 }') && [ "$s" = "$PRIMARY_SERIAL" ]; do
	[ $SECONDS -lt $deadline ] || die "secondary serial '${s:-}' after $TIMEOUT s, expected $PRIMARY_SERIAL"
	alive
	sleep 1
done
dg "$ZONE" SOA >"$TMP/soa.txt"
grep -q 'flags: qr aa' "$TMP/soa.txt" || { cat "$TMP/soa.txt" >&2; die "secondary's SOA answer not authoritative"; }
dg +tcp www."$ZONE" A >"$TMP/www.txt"
grep -Eq "^www\.$ZONE\.[[:space:]].*[[:space:]]A[[:space:]]+192\.0\.2\.10$" "$TMP/www.txt" ||
	{ cat "$TMP/www.txt" >&2; die "secondary over TCP: no www A 192.0.2.10"; }
podman logs "$LAB-secondary" >"$TMP/secondary.log" 2>&1
grep -q "transfer of '$ZONE/IN' from 127.0.0.1#5353: Transfer status: success" "$TMP/secondary.log" ||
	die "the secondary logged no successful transfer from 127.0.0.1#5353"
xfr_line=$(grep "transfer of '$ZONE/IN' from 127.0.0.1#5353: connected using" "$TMP/secondary.log" | tail -n 1)
case $xfr_line in *"TSIG xfr-key"*) ;; *) die "the secondary's transfer was not TSIG signed: $xfr_line" ;; esac
podman logs "$LAB-xot-out" >"$TMP/xot-out.log" 2>&1
podman logs "$LAB-xot-in" >"$TMP/xot-in.log" 2>&1

# The checks' output.
say "---- kdig AXFR $ZONE over TLS, 127.0.0.1:$TLS_PORT, TSIG xfr-key"
grep -v '^;;.*\(From\|Time\|Received\)' "$TMP/axfr.txt" | grep -v '^$' | sed 's/^/    /' >&2
say "    $(grep '^;; Received' "$TMP/axfr.txt")"
say "---- kdig AXFR without TSIG: $(grep -m1 REFUSED "$TMP/unsigned.txt")"
say "---- dig @127.0.0.1 -p $DNS_PORT +norec $ZONE SOA (the secondary)"
grep -E '^;; ->>HEADER|^;; flags|^[^;].*SOA' "$TMP/soa.txt" | sed 's/^/    /' >&2
say "---- dig +tcp www.$ZONE A: $(grep -E "^www\.$ZONE\." "$TMP/www.txt" | tr -s '\t ' ' ')"
say "---- logs: secondary (named), xot-out, xot-in"
{
	grep -E "(connected using|transferred serial|Transfer completed)" "$TMP/secondary.log" | cut -d' ' -f3-
	grep -E 'AXFR' "$TMP/xot-out.log" | cut -d' ' -f2-
	grep -E 'AXFR' "$TMP/xot-in.log" | cut -d' ' -f2-
} | sed 's/^/    /' >&2

# ---------------------------------------------------------------- down
step "podman-compose down"
UP=0
compose down >"$TMP/down.log" 2>&1 || die "podman-compose down failed"
for c in $CONTAINERS; do
	! podman container exists "$c" || die "container $c left after down"
done
step "down: no lab container left (the project network and the images go in the exit trap)"
