#!/bin/bash
# install-deps.sh - install the Debian packages `make bench` needs, if missing.
# haproxy and dnsdist start their system services from postinst: a temporary
# /usr/sbin/policy-rc.d ("exit 101") keeps them down; it is removed afterwards
# (an existing policy-rc.d is left untouched).
set -u
need=()
for spec in named:bind9 named-checkconf:bind9-utils kdig:knot-dnsutils dig:bind9-dnsutils haproxy:haproxy \
	dnsdist:dnsdist openssl:openssl ss:iproute2 awk:gawk python3:python3; do
	bin=${spec%%:*} pkg=${spec#*:}
	command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing ${need[*]} and not root" >&2
	exit 1
fi
echo "install-deps: installing ${need[*]}" >&2
prc=/usr/sbin/policy-rc.d own=0
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 755 "$prc" && own=1
	trap '[ $own = 1 ] && rm -f "$prc"' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=300 --no-install-recommends)
if ! apt-get install "${apt_opts[@]}" "${need[@]}" >/tmp/bench-apt.$$.log 2>&1; then
	apt-get update -q -o DPkg::Lock::Timeout=300 >>/tmp/bench-apt.$$.log 2>&1
	apt-get install "${apt_opts[@]}" "${need[@]}" >>/tmp/bench-apt.$$.log 2>&1 || {
		tail -n 20 /tmp/bench-apt.$$.log >&2
		rm -f /tmp/bench-apt.$$.log
		exit 1
	}
fi
rm -f /tmp/bench-apt.$$.log
exit 0
