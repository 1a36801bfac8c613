#!/bin/sh
# deps.sh [--build] [--check] - install the Debian 12 packages xotproxy builds and tests with.
# --build: only what building the daemon and the unit tests needs (make unit);
#          without it, also the peers and tools the integration tests run.
# --check: exit 1 if any is missing, install nothing.
set -eu
BUILD_PKGS="build-essential pkg-config libwolfssl-dev libev-dev libinih-dev libcunit1-dev"
TEST_PKGS="bind9 bind9-utils bind9-dnsutils knot-dnsutils nsd openssl clang valgrind iproute2 python3 dpkg-dev
      prometheus jq curl knot pdns-server pdns-backend-bind mandoc systemd"
PKGS="$BUILD_PKGS $TEST_PKGS"
if [ "${1:-}" = "--build" ]; then PKGS="$BUILD_PKGS"; shift; fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
[ "${1:-}" = "--check" ] && { echo "missing:$missing"; exit 1; }
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
# Debian's postinst would start named and nsd on port 53, where they fight;
# keep every service stopped: tests run their own instances on high ports.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	created_policy=1
fi
trap '[ $created_policy = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
