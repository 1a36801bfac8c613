# shellcheck shell=bash disable=SC2034
# docker/lib.sh - what docker/test.sh and docker/compose-test.sh share
# (sourced). Each caller defines step and die, and sets TMP (its temp dir)
# and BASE_IMAGE before calling.

# ctest_packages PKG...: installs the Debian packages that are missing.
ctest_packages() {
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	step "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086 # word list
	apt-get install -y -q --no-install-recommends $missing >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null; }
}

# ctest_podman_conf: this kernel's hybrid cgroup layout needs runc (crun
# refuses it), and containers cannot raise RLIMIT_NOFILE/NPROC past the
# host's: explicit limits. Kept when CONTAINERS_CONF is already set.
ctest_podman_conf() {
	[ -z "${CONTAINERS_CONF:-}" ] || return 0
	cat >"$TMP/containers.conf" <<-'CONF'
	[containers]
	default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
	[engine]
	runtime = "runc"
	CONF
	export CONTAINERS_CONF=$TMP/containers.conf
}

# ctest_base_image: BASE_IMAGE unless it exists: Debian 12 minbase by
# mmdebstrap from the machine's own bookworm 'deb' entries (its mirror may
# be the only one reachable), else deb.debian.org; merged /usr, docs
# stripped like -slim. Sets BUILT_BASE=1 when it built one.
ctest_base_image() {
	if podman image exists "$BASE_IMAGE"; then
		step "base image $BASE_IMAGE: cached"
		return 0
	fi
	local mirrors=() f line
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && grep -Eq '^Suites:.*[[:space:]]bookworm([[:space:]]|$)' "$f" && mirrors+=("$f")
	done
	while IFS= read -r line; do
		mirrors+=("$line")
	done < <(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -E '^[[:space:]]*deb[[:space:]].*[[:space:]]bookworm(-updates|-security)?[[:space:]]' || true)
	if [ ${#mirrors[@]} = 0 ]; then
		mirrors=("deb http://deb.debian.org/debian bookworm main"
			"deb http://deb.debian.org/debian bookworm-updates main"
			"deb http://deb.debian.org/debian-security bookworm-security main")
	fi
	step "building the base image $BASE_IMAGE (mmdebstrap minbase, docs stripped like -slim)"
	# merged-usr hook: bookworm would otherwise pull in usrmerge and perl (+90 MB).
	if ! mmdebstrap --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--aptopt='APT::Install-Recommends "false"' \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		bookworm "$TMP/base.tar" "${mirrors[@]}" </dev/null >"$TMP/mmdebstrap.log" 2>&1; then
		tail -n 30 "$TMP/mmdebstrap.log" >&2
		die "mmdebstrap failed"
	fi
	podman import --quiet --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		"$TMP/base.tar" "$BASE_IMAGE" >/dev/null
	rm -f "$TMP/base.tar"
	BUILT_BASE=1 # read by the caller's cleanup
}
