#!/bin/bash
# test_install.sh - `make install` / `make uninstall` into a temporary DESTDIR.
#
#   tests/install/test_install.sh        (or: make install-test)
#
# Installs with PREFIX=/usr, then checks: the layout (binary, both man pages,
# sample config, systemd unit, sysusers.d file) and the paths substituted in
# them; `mandoc -Tlint -W warning` on the installed pages (must be silent);
# the installed binary's --version; `-t` on a copy of the installed sample
# config pointed at a throwaway certificate, and on the sample with its
# ";key = value" examples uncommented, whose "#key = value" lines must be the
# defaults -t prints; that every key of the key table (xotproxy --dump-keys)
# is documented in its section of xotproxy.conf(5) with its default (and no
# other key is) and appears in the sample;
# `systemd-analyze verify` and an
# offline `systemd-analyze security` on the installed unit (paths pointed into
# the DESTDIR, since verify checks that ExecStart exists); systemd-sysusers on
# the sysusers.d file in a scratch root; that a reinstall keeps an edited
# config; then `make uninstall` and that nothing is left (an edited config
# excepted). Last, the same with PREFIX=/usr/local (config in /usr/local/etc).
#
# Missing tools (mandoc, systemd, openssl) are installed with apt-get when run
# as root; otherwise the test fails naming them. Nothing outside its temporary
# directory is touched, which it removes on exit (KEEP=1 keeps it).
set -u
set -o pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MAKE=${MAKE:-make}
T=$(mktemp -d "${TMPDIR:-/tmp}/xot-install.XXXXXX") || { echo "FAIL: mktemp" >&2; exit 1; }
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

note() { printf '%s\n' "$*"; }
ok() { note "ok: $*"; }
fail() {
	note "FAIL: $*"
	exit 1
}
# run_logged NAME SECONDS CMD...: runs CMD with a time limit, output to $T/NAME.log;
# returns its status.
run_logged() {
	local name=$1 secs=$2
	shift 2
	timeout "$secs" "$@" >"$T/$name.log" 2>&1
}
show() { sed 's/^/    /' "$T/$1.log" | tail -n "${2:-30}"; }

# ---------------------------------------------------------------- tools
missing=
command -v mandoc >/dev/null 2>&1 || missing="$missing mandoc"
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || fail "missing packages:$missing (run as root to install them, or apt-get install$missing)"
	note "installing$missing"
	run_logged apt 900 sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends$missing" ||
		{ show apt; fail "apt-get install$missing"; }
	for t in mandoc systemd-analyze openssl; do
		command -v $t >/dev/null 2>&1 || fail "$t still missing after apt-get install$missing"
	done
fi

MK=("$MAKE" -C "$ROOT" --no-print-directory)

# ---------------------------------------------------------------- build
run_logged build 1800 "${MK[@]}" xotproxy || { show build; fail "make xotproxy"; }
ok "make xotproxy"

# ---------------------------------------------------------------- install, PREFIX=/usr
D=$T/destdir
run_logged install 300 "${MK[@]}" install DESTDIR="$D" PREFIX=/usr || { show install; fail "make install DESTDIR=$D PREFIX=/usr"; }
ok "make install DESTDIR=\$T/destdir PREFIX=/usr"

BIN=$D/usr/sbin/xotproxy
MAN8=$D/usr/share/man/man8/xotproxy.8
MAN5=$D/usr/share/man/man5/xotproxy.conf.5
CONF=$D/etc/xotproxy/xotproxy.ini
UNIT=$D/usr/lib/systemd/system/xotproxy.service
SYSUSERS=$D/usr/lib/sysusers.d/xotproxy.conf

if [ ! -f "$BIN" ] || [ ! -x "$BIN" ]; then fail "$BIN is missing or not executable"; fi
[ "$(stat -c %a "$BIN")" = 755 ] || fail "$BIN has mode $(stat -c %a "$BIN"), expected 755"
for f in "$MAN8" "$MAN5" "$CONF" "$UNIT" "$SYSUSERS"; do
	[ -f "$f" ] || fail "${f#"$D"} was not installed"
	want=644
	[ "$f" = "$CONF" ] && want=640       # may hold an inline TSIG secret (issue 13 item 16)
	[ "$(stat -c %a "$f")" = $want ] || fail "${f#"$D"} has mode $(stat -c %a "$f"), expected $want"
done
if getent group xotproxy >/dev/null; then
	[ "$(stat -c %G "$CONF")" = xotproxy ] || fail "the config's group is $(stat -c %G "$CONF"), expected xotproxy"
else
	grep -q "note: group xotproxy does not exist yet: after systemd-sysusers, run chgrp xotproxy /etc/xotproxy/xotproxy.ini" "$T/install.log" ||
		{ show install; fail "no note that group xotproxy is missing"; }
fi
ok "config installed mode 0640 ($(stat -c %U:%G "$CONF"); group xotproxy: $(getent group xotproxy >/dev/null && echo set || echo 'missing, noted'))"
# With an existing service group (XOT_GROUP=nogroup stands in for xotproxy), the config is 0640 root:that group.
if [ "$(id -u)" = 0 ] && getent group nogroup >/dev/null; then
	G=$T/destdir-group
	run_logged install-group 300 "${MK[@]}" install-conf DESTDIR="$G" PREFIX=/usr XOT_GROUP=nogroup ||
		{ show install-group; fail "make install-conf XOT_GROUP=nogroup"; }
	[ "$(stat -c %a:%U:%G "$G/etc/xotproxy/xotproxy.ini")" = 640:root:nogroup ] ||
		fail "with XOT_GROUP=nogroup the config is $(stat -c %a:%U:%G "$G/etc/xotproxy/xotproxy.ini"), expected 640:root:nogroup"
	ok "with an existing service group: config 0640 root:nogroup"
	rm -rf "$G"
fi
leftover=$(find "$D" -name '*.tmp')
[ -z "$leftover" ] || fail "temporary files left: $leftover"
ok "layout: $(cd "$D" && find . -type f | sed 's|^\.||' | sort | tr '\n' ' ')"

grep -q '@[A-Z]*@' "$UNIT" && fail "unsubstituted @VAR@ in the unit: $(grep '@[A-Z]*@' "$UNIT")"
grep -qx 'ExecStart=/usr/sbin/xotproxy -c /etc/xotproxy/xotproxy.ini' "$UNIT" ||
	fail "ExecStart: $(grep '^ExecStart=' "$UNIT")"
grep -qx 'ExecStartPre=/usr/sbin/xotproxy -t -c /etc/xotproxy/xotproxy.ini' "$UNIT" ||
	fail "ExecStartPre: $(grep '^ExecStartPre=' "$UNIT")"
cmp -s "$ROOT/dist/xotproxy.ini" "$CONF" || fail "with PREFIX=/usr the sample config should be installed unchanged"
ok "unit: ExecStart=/usr/sbin/xotproxy -c /etc/xotproxy/xotproxy.ini"

# ---------------------------------------------------------------- man pages
run_logged mandoc 30 mandoc -Tlint -W warning "$MAN8" "$MAN5"
rc=$?
if [ $rc -ne 0 ] || [ -s "$T/mandoc.log" ]; then show mandoc; fail "mandoc -Tlint -W warning (exit $rc)"; fi
for p in "$MAN8" "$MAN5"; do
	n=$(mandoc -Tascii "$p" | wc -l)
	[ "$n" -gt 50 ] || fail "${p#"$D"} renders to only $n lines"
done
ok "mandoc -Tlint -W warning: silent on both pages"

# ---------------------------------------------------------------- the binary
run_logged version 10 "$BIN" --version || { show version; fail "$BIN --version"; }
grep -Eq '^xotproxy [0-9]' "$T/version.log" || { show version; fail "--version output"; }
ok "--version: $(head -n 1 "$T/version.log")"

# -t reads the certificate and key: a throwaway pair, and a copy of the
# installed config pointed at it.
mkdir -p "$T/certs"
run_logged openssl 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/certs/server.key" -out "$T/certs/server.pem" -days 2 -subj /CN=xot.test \
	-addext subjectAltName=DNS:xot.test || { show openssl; fail "openssl req"; }
chmod 600 "$T/certs/server.key"
grep -q '^cert = /etc/xotproxy/server.pem' "$CONF" || fail "the sample config does not name /etc/xotproxy/server.pem"
sed "s|/etc/xotproxy/|$T/certs/|g" "$CONF" >"$T/check.ini"
timeout 10 "$BIN" -t -c "$T/check.ini" >"$T/check.out" 2>"$T/check.err"
rc=$?
[ $rc -eq 0 ] || fail "-t on the sample config exited $rc: $(cat "$T/check.err")"
grep -q '; configuration OK' "$T/check.out" || fail "-t did not print '; configuration OK'"
grep -q "^cert = $T/certs/server.pem" "$T/check.out" || fail "-t output lacks the certificate path"
grep -qi 'warning' "$T/check.err" && fail "-t warned on the sample config: $(cat "$T/check.err")"
grep -Eq '^[[:space:]]*user[[:space:]]*=' "$CONF" && fail "the sample config sets user = (the unit runs as xotproxy without root)"
grep -q '^;secret-file = ' "$CONF" || fail "the sample config does not suggest secret-file"
grep -Eq '^[;[:space:]]*secret[[:space:]]*=' "$CONF" && fail "the sample config suggests an inline secret = line"

ok "-t on the installed sample config (throwaway certificate): configuration OK"

# ---------------------------------------------------------------- the sample's examples and defaults
# In the sample, ";key = value" lines are examples and "#key = value" lines
# show defaults. With every example uncommented (the files they name made up
# here, user = the current user, or nobody for root), -t must accept it without a warning and
# print every default line as the sample shows it, in the same section.
xuser=$(id -un)
[ "$(id -u)" = 0 ] && xuser=nobody       # user = root is refused (issue 13 item 16)
sed -e 's|^;||' -e "s|/etc/xotproxy/|$T/certs/|g" -e "s|^user = .*|user = $xuser|" "$CONF" >"$T/full.ini"
grep -o "$T/certs/[^[:space:]]*" "$T/full.ini" | sort -u | while read -r f; do
	[ -e "$f" ] && continue
	case $f in
	*.pem) cp "$T/certs/server.pem" "$f" ;;
	*.key) cp "$T/certs/server.key" "$f" && chmod 600 "$f" ;;
	*.secret) printf 'eG90cHJveHkgaW5zdGFsbC10ZXN0IHNlY3JldA==\n' >"$f" && chmod 600 "$f" ;;
	*) : >"$f" ;;
	esac
done
timeout 10 "$BIN" -t -c "$T/full.ini" >"$T/full.out" 2>"$T/full.err"
rc=$?
[ $rc -eq 0 ] || fail "-t on the sample with its ;examples uncommented exited $rc: $(cat "$T/full.err")"
grep -qi 'warning' "$T/full.err" && fail "-t warned on the sample with its ;examples uncommented: $(cat "$T/full.err")"
for s in '[key ' '[acl ' '[zone ' '[outbound '; do
	grep -qF "$s" "$T/full.out" || fail "the sample has no $s...] example (none in the -t output of $T/full.ini)"
done
awk -v out="$T/full.out" '
	function head(h) { sub(/[ \t]*[#;].*$/, "", h); sub(/\.\]$/, "]", h); return h }
	BEGIN {
		while ((getline l < out) > 0) {
			if (l ~ /^\[/) s = head(l)
			else if (l ~ /^[a-z0-9-]+ = /) have[s SUBSEP l] = 1
		}
		s = ""
	}
	{ l = $0; sub(/^;/, "", l) }
	l ~ /^\[/ { s = head(l); next }
	l ~ /^#[a-z0-9-]+ = / {
		kv = substr(l, 2); sub(/[ \t]+#.*$/, "", kv); sub(/[ \t]+$/, "", kv); n++
		if (!((s SUBSEP kv) in have)) { printf "line %d: %s %s: -t prints another value\n", FNR, s, kv; bad = 1 }
	}
	END { if (n == 0) { print "no #key = value lines"; bad = 1 } exit bad }' "$CONF" >"$T/defaults.log" ||
	{ show defaults; fail "a #key = value line of the sample is not the default"; }
ok "sample: every ;example uncommented passes -t without a warning; $(grep -c '^#[a-z0-9-]* = ' "$CONF") #default lines match -t"

# ---------------------------------------------------------------- every key documented
# The key table (conf/conf_schema.c), as the installed binary lists it
# (--dump-keys: section, name, type, default, reload, help): every key is an
# ".It Ic KEY No =" item under its section's heading in xotproxy.conf(5), and
# no other key is; a key with a default says it in its item ("Default:"
# followed by the value, roff macros aside); and each key appears in its
# section of the sample (set, commented out, or named in a comment).
timeout 10 "$BIN" --dump-keys >"$T/dump.log" 2>&1 || { show dump; fail "xotproxy --dump-keys failed"; }
awk -F '\t' 'NF != 6 { print "line " NR ": " NF " fields"; bad = 1 } END { exit bad }' "$T/dump.log" \
	>"$T/dumpfmt.log" || { show dumpfmt; fail "xotproxy --dump-keys: not 6 tab-separated fields a line"; }
awk -F '\t' '{ print $1, $2 }' "$T/dump.log" | sort -u >"$T/keys.table"
n=$(wc -l <"$T/keys.table")
[ "$n" -ge 40 ] || fail "xotproxy --dump-keys lists only $n keys"
# man_section(LINE): the config section a ".Sh" heading of xotproxy.conf(5)
# documents ("" for the other headings); both awk programs below use it.
MAN_SECTION_AWK='
	function man_section(l,    h) {
		h = substr(l, 5); gsub(/"/, "", h)
		if (h == "GLOBAL SECTION") return "global"
		if (h == "INBOUND SECTION") return "inbound"
		if (h == "KEY SECTIONS") return "key"
		if (h == "ACL SECTIONS") return "acl"
		if (h == "ZONE SECTIONS") return "zone"
		if (h == "OUTBOUND SECTIONS") return "outbound"
		return ""
	}'
awk "$MAN_SECTION_AWK"'
	/^\.Sh / {
		sec = man_section($0)
	}
	sec != "" && /^\.It Ic [a-z0-9-]+ No =/ { print sec, $3 }' "$MAN5" | sort -u >"$T/keys.man"
diff -u "$T/keys.table" "$T/keys.man" >"$T/keys.log" ||
	{ show keys; fail "xotproxy.conf(5) and xotproxy --dump-keys disagree on the keys (- table only, + man page only)"; }
# Each item's text, macros dropped (".Ql 127.0.0.1:53 ." -> "127.0.0.1:53 ."),
# must hold "Default: VALUE" with the table's default, followed by a space,
# a period or the end.
awk -F '\t' -v man="$MAN5" "$MAN_SECTION_AWK"'
	function flush() { if (key != "") text[sec SUBSEP key] = item; key = "" }
	BEGIN {
		while ((getline l < man) > 0) {
			if (l ~ /^\.Sh /) {
				flush(); sec = man_section(l)
			} else if (l ~ /^\.It Ic [a-z0-9-]+ No =/) {
				flush(); split(l, w, " "); key = w[3]; item = ""
			} else if (key != "") {
				sub(/^\.[A-Z][a-z] /, "", l); item = item " " l
			}
		}
		flush()
	}
	$4 != "-" {
		t = text[$1 SUBSEP $2] " "; want = "Default: " $4
		i = index(t, want); c = substr(t, i + length(want), 1)
		if (i == 0 || (c != " " && c != ".")) { print $1, $2 ": no \"" want "\" in its item"; bad = 1 }
		m++
	}
	END { if (m < 30) { print "only " m " defaults checked"; bad = 1 } exit bad }' "$T/dump.log" >"$T/defaults-man.log" ||
	{ show defaults-man; fail "xotproxy.conf(5) does not give a key's default as the key table has it"; }
# The keys a reload does not apply ("restart" in the table) are the ones
# the man page's "What a reload does not change" paragraph names.
awk -F '\t' '$5 == "restart" { print $2 }' "$T/dump.log" | sort -u >"$T/restart.table"
awk '/^What a reload does not change:/ { on = 1; next } on && /^\.Ic [a-z]/ { print $2 } on && /^\.(Pp|Sh|Ss)/ { exit }' \
	"$MAN5" | sort -u >"$T/restart.man"
diff -u "$T/restart.table" "$T/restart.man" >"$T/restart.log" ||
	{ show restart; fail "xotproxy.conf(5) Reloading and the key table disagree on what a reload does not apply"; }
awk '
	/^[#;]?\[[a-z]+/ { sec = $0; sub(/^[#;]?\[/, "", sec); sub(/[^a-z].*$/, "", sec); next }
	{
		l = " " $0
		while (match(l, /[#;( ][a-z0-9-]+ = /)) {
			k = substr(l, RSTART + 1, RLENGTH - 4); print sec, k
			l = substr(l, RSTART + RLENGTH)
		}
	}' "$CONF" | sort -u >"$T/keys.sample"
comm -23 "$T/keys.table" "$T/keys.sample" >"$T/keys-sample.log"
[ -s "$T/keys-sample.log" ] && { show keys-sample; fail "keys missing from their section of the sample config"; }
ok "all $n keys of xotproxy --dump-keys: documented with their defaults in xotproxy.conf(5) (and no others), present in the sample"

# ---------------------------------------------------------------- systemd
# verify checks that the Exec*= binaries exist: point a copy into the DESTDIR.
mkdir -p "$T/verify"
sed -e "s|/usr/sbin/xotproxy|$BIN|g" -e "s|/etc/xotproxy/|$D/etc/xotproxy/|g" "$UNIT" >"$T/verify/xotproxy.service"
if command -v man >/dev/null 2>&1; then
	manopt=--man=yes                    # Documentation=man:... must resolve in the DESTDIR
else
	manopt=--man=no
fi
MANPATH=$D/usr/share/man run_logged verify 60 systemd-analyze verify "$manopt" "$T/verify/xotproxy.service"
rc=$?
[ $rc -eq 0 ] || { show verify; fail "systemd-analyze verify (exit $rc)"; }
# verify exits 0 on unknown keys or bad values but prints them
if grep -q 'xotproxy' "$T/verify.log"; then show verify; fail "systemd-analyze verify complained"; fi
[ -s "$T/verify.log" ] && { note "systemd-analyze verify, about other units:"; show verify 10; }
ok "systemd-analyze verify $manopt: clean"

# exposure is 0.0 (best) to 10.0; --threshold is in tenths
run_logged security 60 systemd-analyze security --offline=true --threshold=25 "$T/verify/xotproxy.service"
rc=$?
level=$(grep -o 'Overall exposure level.*' "$T/security.log" | head -n 1)
[ $rc -eq 0 ] || { show security; fail "systemd-analyze security: $level (threshold 2.5)"; }
ok "systemd-analyze security --offline: ${level#Overall exposure level for }"

mkdir -p "$T/sysroot/etc"
if [ "$(id -u)" = 0 ]; then
	run_logged sysusers 30 systemd-sysusers --root="$T/sysroot" "$SYSUSERS" || { show sysusers; fail "systemd-sysusers"; }
	grep -q '^xotproxy:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$T/sysroot/etc/passwd" ||
		fail "systemd-sysusers did not create user xotproxy: $(cat "$T/sysroot/etc/passwd")"
else
	run_logged sysusers 30 systemd-sysusers --dry-run --root="$T/sysroot" "$SYSUSERS" || { show sysusers; fail "systemd-sysusers --dry-run"; }
	grep -q "Creating user 'xotproxy'" "$T/sysusers.log" || { show sysusers; fail "systemd-sysusers would not create xotproxy"; }
fi
ok "systemd-sysusers: creates system user xotproxy (in a scratch root)"

# ---------------------------------------------------------------- reinstall, uninstall
cp "$CONF" "$T/pristine.ini"
echo "# local edit" >>"$CONF"
run_logged reinstall 300 "${MK[@]}" install DESTDIR="$D" PREFIX=/usr || { show reinstall; fail "second make install"; }
tail -n 1 "$CONF" | grep -qx '# local edit' || fail "make install overwrote an existing config"
grep -q 'keeping existing' "$T/reinstall.log" || fail "make install did not say it kept the config"
ok "make install keeps an existing config"

run_logged uninstall 120 "${MK[@]}" uninstall DESTDIR="$D" PREFIX=/usr || { show uninstall; fail "make uninstall"; }
for f in "$BIN" "$MAN8" "$MAN5" "$UNIT" "$SYSUSERS"; do
	[ ! -e "$f" ] || fail "make uninstall left ${f#"$D"}"
done
[ -f "$CONF" ] || fail "make uninstall removed an edited config"
ok "make uninstall: files gone, the edited config kept"

cp "$T/pristine.ini" "$CONF"
run_logged uninstall2 120 "${MK[@]}" uninstall DESTDIR="$D" PREFIX=/usr || { show uninstall2; fail "make uninstall (2)"; }
left=$(find "$D" -type f)
[ -z "$left" ] || fail "files left after make uninstall: $left"
[ ! -e "$D/etc/xotproxy" ] || fail "make uninstall left the empty directory /etc/xotproxy"
ok "make uninstall: an unchanged sample config is removed too; no files left"

# ---------------------------------------------------------------- PREFIX=/usr/local
L=$T/local
run_logged install-local 300 "${MK[@]}" install DESTDIR="$L" PREFIX=/usr/local || { show install-local; fail "make install PREFIX=/usr/local"; }
for f in sbin/xotproxy share/man/man8/xotproxy.8 share/man/man5/xotproxy.conf.5 \
         etc/xotproxy/xotproxy.ini lib/systemd/system/xotproxy.service lib/sysusers.d/xotproxy.conf; do
	[ -f "$L/usr/local/$f" ] || fail "PREFIX=/usr/local: /usr/local/$f missing"
done
[ ! -e "$L/etc" ] || fail "PREFIX=/usr/local installed into /etc"
grep -qx 'ExecStart=/usr/local/sbin/xotproxy -c /usr/local/etc/xotproxy/xotproxy.ini' "$L/usr/local/lib/systemd/system/xotproxy.service" ||
	fail "PREFIX=/usr/local: $(grep '^ExecStart=' "$L/usr/local/lib/systemd/system/xotproxy.service")"
grep -q '^cert = /usr/local/etc/xotproxy/server.pem' "$L/usr/local/etc/xotproxy/xotproxy.ini" ||
	fail "PREFIX=/usr/local: the sample config does not name /usr/local/etc/xotproxy/server.pem"
grep -q '^\.Pa /usr/local/etc/xotproxy/xotproxy.ini' "$L/usr/local/share/man/man5/xotproxy.conf.5" ||
	fail "PREFIX=/usr/local: the man page does not name /usr/local/etc/xotproxy/xotproxy.ini"
grep -rqE '/usr/local/usr/local|(^|[^l])/etc/xotproxy' "$L" && fail "PREFIX=/usr/local: a path was substituted wrongly: $(grep -rnE '/usr/local/usr/local|(^|[^l])/etc/xotproxy' "$L" | head -n 3)"
run_logged uninstall-local 120 "${MK[@]}" uninstall DESTDIR="$L" PREFIX=/usr/local || { show uninstall-local; fail "make uninstall PREFIX=/usr/local"; }
left=$(find "$L" -type f)
[ -z "$left" ] || fail "PREFIX=/usr/local: files left after make uninstall: $left"
ok "PREFIX=/usr/local: config in /usr/local/etc/xotproxy, paths substituted, uninstall clean"

note "PASS"
