#!/usr/bin/env bash
# docker/test.sh - container test (make container-test; issue 10 item 3).
#
# Builds the xotproxy image (docker/Dockerfile) and a BIND image (docker/Dockerfile.named)
# on a local Debian 12 base image made with mmdebstrap (no registry needed), runs the
# sidecar Pod of docker/k8s-sidecar.yaml with `podman kube play` (named + xotproxy, the
# certificate from a Secret, configurations from ConfigMaps, hostPort on 127.0.0.1), and
# checks through the published port:
#   - AXFR over TLS (kdig, certificate verified against a throwaway CA) returns the zone;
#   - certificate rotation: a new certificate is written into the Secret's volume, the
#     proxy gets SIGHUP inside its container, logs the reload, and serves the new
#     certificate (by serial) on the next AXFR;
#   - the proxy runs as a non-root uid (and binds 853 through its file capability);
#   - the image is at most 100 MB.
# Everything it creates (Pod, containers, Secret, volumes, images, temp files) is removed
# by name on exit; the base image localhost/debian:12-base is kept as a cache
# (XOT_CTEST_KEEP_BASE=0 removes it too, if this run created it).
#
# Needs root (rootful podman). Missing packages are installed with apt-get. podman gets a
# private containers.conf (runc, explicit ulimits; platform notes) through CONTAINERS_CONF
# unless CONTAINERS_CONF is already set; the machine's configuration is not modified.
#
# Environment:
#   XOT_CTEST_FROM=REV    build the project sources from git revision REV (docker/ still
#                         from the working tree), e.g. HEAD when the working tree holds
#                         unfinished edits; default: the working tree
#   XOT_CTEST_KEEP_BASE=0 also remove the base image (when this run built it)
#   XOT_CTEST_TIMEOUT=60  seconds to wait for the first transfer
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
BASE_IMAGE=localhost/debian:12-base
PROXY_IMAGE=localhost/xotproxy:ctest
NAMED_IMAGE=localhost/xot-named:ctest
PREFIX=xotctest                       # prefix of the Pod, Secret and ConfigMap names
POD=$PREFIX-xot-primary
PROXY_CTR=$POD-xotproxy
NAMED_CTR=$POD-named
SECRET=$PREFIX-xotproxy-tls
CONFIGMAPS="$PREFIX-xotproxy-config $PREFIX-named-config"
ZONE=example.test
EXPECT_RECORDS=8                      # SOA NS MX A A A TXT + closing SOA (k8s-sidecar.yaml)
MAX_IMAGE_BYTES=100000000             # 100 MB, as podman counts them
TIMEOUT=${XOT_CTEST_TIMEOUT:-60}
T0=$SECONDS

say() { printf 'container-test: %s\n' "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }
step() { say "[$((SECONDS - T0)) s] $*"; }
# shellcheck source=docker/lib.sh
. "$REPO/docker/lib.sh"

[ "$(id -u)" = 0 ] || die "needs root (rootful podman, apt-get)"

# ---------------------------------------------------------------- packages
PKGS="podman runc catatonit containernetworking-plugins iptables uidmap slirp4netns
      fuse-overlayfs mmdebstrap gpg mount knot-dnsutils openssl iproute2"
# shellcheck disable=SC2086 # word list
ctest_packages $PKGS

TMP=$(mktemp -d "${TMPDIR:-/tmp}/xot-ctest.XXXXXX")

# ---------------------------------------------------------------- podman configuration
ctest_podman_conf

# ---------------------------------------------------------------- cleanup
BUILT_BASE=0
HAD_PAUSE=1
PAUSE_IMAGE=""
HAD_KUBE_NET=1
KUBE_NET=podman-default-kube-network
KUBE_YAML=""
dump_logs() {
	local c
	for c in "$NAMED_CTR" "$PROXY_CTR"; do
		podman container exists "$c" 2>/dev/null || continue
		say "---- podman logs $c (last 40 lines)"
		podman logs "$c" 2>&1 | tail -n 40 | sed 's/^/    /' >&2
	done
}
cleanup() {
	local rc=$? v
	trap - EXIT INT TERM
	set +e
	[ $rc -ne 0 ] && dump_logs
	if [ -n "$KUBE_YAML" ] && [ -f "$KUBE_YAML" ]; then
		podman kube down "$KUBE_YAML" >/dev/null 2>&1
	fi
	podman pod exists "$POD" 2>/dev/null && podman pod rm -f "$POD" >/dev/null 2>&1
	podman secret rm "$SECRET" >/dev/null 2>&1     # no `secret exists` in podman 4.3
	for v in $SECRET $CONFIGMAPS; do
		podman volume exists "$v" 2>/dev/null && podman volume rm -f "$v" >/dev/null 2>&1
	done
	for v in "$PROXY_IMAGE" "$NAMED_IMAGE"; do
		podman image exists "$v" 2>/dev/null && podman rmi -f "$v" >/dev/null 2>&1
	done
	# kube play makes its infra ("pause") image and its network on first use: remove
	# them if this run did.
	if [ $HAD_PAUSE = 0 ] && [ -n "$PAUSE_IMAGE" ]; then
		podman rmi "$PAUSE_IMAGE" >/dev/null 2>&1
	fi
	if [ $HAD_KUBE_NET = 0 ]; then
		podman network rm "$KUBE_NET" >/dev/null 2>&1
	fi
	if [ $BUILT_BASE = 1 ] && [ "${XOT_CTEST_KEEP_BASE:-1}" = 0 ]; then
		podman rmi "$BASE_IMAGE" >/dev/null 2>&1
	fi
	rm -rf "$TMP"
	if [ $rc -eq 0 ]; then say "PASS ($((SECONDS - T0)) s)"; else say "FAILED (exit $rc)"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Leftovers of an interrupted earlier run: kube play would reuse stale volumes, and a
# rebuilt tag would leave the old image behind untagged.
podman pod exists "$POD" 2>/dev/null && podman pod rm -f "$POD" >/dev/null
podman secret rm "$SECRET" >/dev/null 2>&1 || true
for v in $SECRET $CONFIGMAPS; do
	podman volume exists "$v" 2>/dev/null && podman volume rm -f "$v" >/dev/null
done
for v in "$PROXY_IMAGE" "$NAMED_IMAGE"; do
	podman image exists "$v" 2>/dev/null && podman rmi -f "$v" >/dev/null
done
PAUSE_IMAGE=localhost/podman-pause:$(podman version --format '{{.Client.Version}}')-0
podman image exists "$PAUSE_IMAGE" || HAD_PAUSE=0
podman network exists "$KUBE_NET" || HAD_KUBE_NET=0

# ---------------------------------------------------------------- base image
ctest_base_image

# ---------------------------------------------------------------- images
CONTEXT=$REPO
if [ -n "${XOT_CTEST_FROM:-}" ]; then
	CONTEXT=$TMP/context
	mkdir -p "$CONTEXT"
	git -C "$REPO" archive "$XOT_CTEST_FROM" | tar -x -C "$CONTEXT"
	rm -rf "$CONTEXT/docker"
	cp -r "$REPO/docker" "$CONTEXT/docker"
	step "building from git $XOT_CTEST_FROM ($(git -C "$REPO" rev-parse --short "$XOT_CTEST_FROM")) + working docker/"
fi
# --layers=false: no intermediate images are left behind; --pull=never: no registry.
build() {
	local log=$1
	shift
	if ! podman build --network host --pull=never --layers=false \
		--build-arg BASE_IMAGE="$BASE_IMAGE" "$@" >"$log" 2>&1; then
		grep -v ' /usr/bin/install -c ' "$log" | tail -n 40 >&2
		die "podman build failed (full log above was $log)"
	fi
}
step "building $NAMED_IMAGE"
build "$TMP/build-named.log" -f "$REPO/docker/Dockerfile.named" -t "$NAMED_IMAGE" "$REPO/docker"
step "building $PROXY_IMAGE (wolfSSL from Debian's source, about 1-2 min)"
build "$TMP/build-proxy.log" --build-arg BUILD_IMAGE="$BASE_IMAGE" \
	-f "$CONTEXT/docker/Dockerfile" -t "$PROXY_IMAGE" "$CONTEXT"
grep -q 'cap_net_bind_service=ep' "$TMP/build-proxy.log" || die "setcap did not take in the build"
size=$(podman image inspect --format '{{.Size}}' "$PROXY_IMAGE")
say "image $PROXY_IMAGE: $size bytes ($((size / 1000000)) MB; limit $((MAX_IMAGE_BYTES / 1000000)) MB)"
[ "$size" -le $MAX_IMAGE_BYTES ] || die "image too large: $size bytes"

# ---------------------------------------------------------------- certificates
step "throwaway CA and server certificates (ECDSA P-256, SAN DNS:xot.test)"
cd "$TMP"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj "/CN=xot container test CA" -keyout ca.key -out ca.pem 2>/dev/null
printf 'subjectAltName = DNS:xot.test\nextendedKeyUsage = serverAuth\n' >ext.cnf
for n in 1 2; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=xot.test" -keyout "server$n.key" -out "server$n.csr" 2>/dev/null
	openssl x509 -req -in "server$n.csr" -CA ca.pem -CAkey ca.key -days 2 \
		-set_serial "$((0x5e0 + n))" -extfile ext.cnf -out "server$n.pem" 2>/dev/null
done
SERIAL1=$(openssl x509 -noout -serial -in server1.pem | cut -d= -f2)
SERIAL2=$(openssl x509 -noout -serial -in server2.pem | cut -d= -f2)
cd "$REPO"

# ---------------------------------------------------------------- the Pod
# A free port on 127.0.0.1 for the hostPort.
PORT=""
for _ in $(seq 1 50); do
	p=$((20000 + RANDOM % 40000))
	if ! ss -Hltn "sport = :$p" | grep -q .; then PORT=$p; break; fi
done
[ -n "$PORT" ] || die "no free port found"

# The yaml under test, with test names, the test images, the real Secret and the port
# (published on 127.0.0.1 only).
# The Secret: as in Kubernetes (base64 data, a secret volume) with podman >= 4.4. Podman
# 4.3 (Debian 12) mounts Secret data without decoding it (containers/podman#16625, fixed in
# 4.4) and ignores stringData, so no PEM file can come out of a Secret there: the same
# object then goes in as a ConfigMap (PEM text) mounted at the same place, which is the
# same mechanism (an API object projected into a volume, updated in place).
podman_version=$(podman version --format '{{.Client.Version}}')
secret_as=secret
case $podman_version in
	[0-3].* | 4.[0-3].*) secret_as=configmap ;;
esac
KUBE_YAML=$TMP/pod.yaml
sed -E \
	-e "s/^( *(- )?(name|secretName): )(xot-primary|xotproxy-config|named-config|xotproxy-tls)\$/\1$PREFIX-\4/" \
	-e "s#image: localhost/xotproxy:latest#image: $PROXY_IMAGE#" \
	-e "s#image: localhost/xot-named:latest#image: $NAMED_IMAGE#" \
	-e "s#^( *)hostPort: 853\$#\1hostPort: $PORT\n\1hostIP: 127.0.0.1#" \
	"$REPO/docker/k8s-sidecar.yaml" |
	awk -v as="$secret_as" -v crt="$TMP/server1.pem" -v key="$TMP/server1.key" '
	function value(file, indent,   line, out, cmd) {
		if (as == "secret") {
			cmd = "base64 -w0 " file; cmd | getline out; close(cmd); return " " out
		}
		out = " |"
		while ((getline line < file) > 0) out = out "\n" indent "  " line
		close(file); return out
	}
	/REPLACE_WITH_BASE64_PEM_CERTIFICATE_CHAIN/ || /REPLACE_WITH_BASE64_PEM_PRIVATE_KEY/ {
		match($0, /^ */); indent = substr($0, 1, RLENGTH)
		sub(/ REPLACE_WITH_[A-Z0-9_]*/, value(/CERTIFICATE/ ? crt : key, indent))
	}
	as == "configmap" && /^kind: Secret$/ { $0 = "kind: ConfigMap" }
	as == "configmap" && /^type: kubernetes.io\/tls$/ { next }
	as == "configmap" && /^ *secret:$/ { sub(/secret:/, "configMap:") }
	as == "configmap" && /^ *secretName: / { sub(/secretName:/, "name:") }
	{ print }' >"$KUBE_YAML"
for want in "name: $POD" "name: $SECRET" "image: $PROXY_IMAGE" "image: $NAMED_IMAGE" \
	"hostPort: $PORT" "hostIP: 127.0.0.1"; do
	grep -q "$want" "$KUBE_YAML" || die "docker/k8s-sidecar.yaml changed: could not set '$want'"
done
! grep -q REPLACE_WITH "$KUBE_YAML" || die "Secret placeholders left in the yaml"

step "podman kube play (Pod $POD, 127.0.0.1:$PORT -> 853)"
# From $TMP: kube play builds an image itself when the working directory has an entry
# named like the image (the repo's ./xotproxy binary), even with --build=false.
(cd "$TMP" && podman kube play "$KUBE_YAML") >"$TMP/play.log" 2>&1 ||
	{ cat "$TMP/play.log" >&2; die "kube play failed"; }

# kd ARGS...: kdig over TLS to the published port, verifying the certificate.
kd() {
	kdig @127.0.0.1 -p "$PORT" +tls +tls-ca="$TMP/ca.pem" +tls-hostname=xot.test \
		+nopadding +time=3 +retry=0 "$@"
}
# records FILE: the record count of kdig's transfer footer.
records() {
	sed -n 's/^;; Received [0-9]* B ([0-9]* messages*, \([0-9]*\) records*).*/\1/p' "$1" | tail -n 1
}
# served_serial: serial of the certificate the proxy presents (SNI xot.test, ALPN dot).
served_serial() {
	openssl s_client -connect "127.0.0.1:$PORT" -servername xot.test -alpn dot -tls1_3 \
		-CAfile "$TMP/ca.pem" -verify_return_error </dev/null 2>/dev/null |
		openssl x509 -noout -serial | cut -d= -f2
}
# axfr OUT: one verified AXFR of the zone with the expected record count.
axfr() {
	kd AXFR "$ZONE" >"$1" 2>&1 && [ "$(records "$1")" = "$EXPECT_RECORDS" ]
}
# proxy_sh CMD: a shell command in the proxy container (as its user). The proxy is found
# by name: it is PID 1 there unless the Pod shares its process namespace.
proxy_sh() {
	podman exec "$PROXY_CTR" sh -c "$1"
}

step "waiting for an AXFR of $ZONE through 127.0.0.1:$PORT (up to $TIMEOUT s)"
deadline=$((SECONDS + TIMEOUT))
until axfr "$TMP/axfr1.txt"; do
	if [ $SECONDS -ge $deadline ]; then
		cat "$TMP/axfr1.txt" >&2
		die "no complete AXFR within $TIMEOUT s"
	fi
	state=$(podman container inspect --format '{{.State.Status}}' "$PROXY_CTR" 2>/dev/null || echo missing)
	[ "$state" = running ] || [ "$state" = created ] || die "proxy container is $state"
	sleep 0.5
done
say "AXFR 1: $(records "$TMP/axfr1.txt") records"
s=$(served_serial)
[ "$s" = "$SERIAL1" ] || die "served certificate serial $s, expected $SERIAL1"

# The proxy: non-root, only CAP_NET_BIND_SERVICE.
pid=$(proxy_sh 'pidof xotproxy')
[ -n "$pid" ] || die "no xotproxy process in $PROXY_CTR"
status=$(proxy_sh "cat /proc/$pid/status")
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' <<<"$status")
capeff=$(awk '/^CapEff:/ { print $2 }' <<<"$status")
say "proxy: pid $pid in its container, Uid (real effective saved fs) $uids, CapEff $capeff"
for u in $uids; do [ "$u" != 0 ] || die "the proxy runs with uid 0 ($uids)"; done
[ "$capeff" = 0000000000000400 ] || die "unexpected effective capabilities $capeff (want only net_bind_service)"

# Certificate rotation: new files in the Secret's volume (what the kubelet does on a
# Secret update), then SIGHUP.
step "rotating the certificate (serial $SERIAL1 -> $SERIAL2) and sending SIGHUP"
secret_dir=$(podman volume inspect --format '{{.Mountpoint}}' "$SECRET")
[ -f "$secret_dir/tls.crt" ] || die "Secret volume $secret_dir has no tls.crt"
cp "$TMP/server2.pem" "$secret_dir/.tls.crt.new" && mv -f "$secret_dir/.tls.crt.new" "$secret_dir/tls.crt"
cp "$TMP/server2.key" "$secret_dir/.tls.key.new" && mv -f "$secret_dir/.tls.key.new" "$secret_dir/tls.key"
chmod 0644 "$secret_dir/tls.crt" "$secret_dir/tls.key"
# shellcheck disable=SC2016 # expanded in the container
proxy_sh 'kill -HUP $(pidof xotproxy)'
deadline=$((SECONDS + 20))
# (Logs are read whole, then searched: grep -q on a pipe could make podman logs fail
# with EPIPE, which pipefail would report.)
proxy_logs() { podman logs "$PROXY_CTR" 2>&1; }
until proxy_logs >"$TMP/proxy.log" && grep -q 'info: reloaded ' "$TMP/proxy.log"; do
	[ $SECONDS -lt $deadline ] || die "no reload logged within 20 s of SIGHUP"
	sleep 0.2
done
! grep 'reload failed' "$TMP/proxy.log" || die "the reload failed"
say "$(grep 'info: reloaded ' "$TMP/proxy.log" | tail -n 1)"
[ "$(proxy_sh 'pidof xotproxy')" = "$pid" ] || die "the proxy restarted instead of reloading"

axfr "$TMP/axfr2.txt" || { cat "$TMP/axfr2.txt" >&2; die "AXFR after the reload failed"; }
say "AXFR 2: $(records "$TMP/axfr2.txt") records"
s=$(served_serial)
[ "$s" = "$SERIAL2" ] || die "served certificate serial after reload $s, expected $SERIAL2"
diff <(grep -v '^;' "$TMP/axfr1.txt") <(grep -v '^;' "$TMP/axfr2.txt") >/dev/null ||
	die "the two transfers differ"
proxy_logs >"$TMP/proxy.log"
ok=$(grep -c "zone $ZONE\., AXFR, ok" "$TMP/proxy.log" || true)
[ "$ok" -ge 2 ] || die "the proxy logged $ok successful AXFRs, expected at least 2"
say "proxy log: $ok AXFR ok lines; image size $size bytes"
