#!/bin/sh
# build-wolfssl.sh [--retry] PREFIX
#
# Builds the project-local static wolfSSL (Debian's own 5.5.4 source package, with
# Debian's security patches applied) with AES-NI, intelasm and SP-math asm, TLS 1.3
# only, and installs it into PREFIX (lib/libwolfssl.a, include/, lib/pkgconfig/).
# Recipe and rationale: docs research "wolfssl-libev.md", section 7.
#
# - Idempotent: exits 0 at once when PREFIX holds a build of the current recipe
#   (stamp file PREFIX/.xot-wolfssl-stamp).
# - The source comes from the Debian archive(s) the machine already uses, through a
#   private, temporary sources list: the machine's apt configuration and package lists
#   are not modified.
# - Missing build tools (dpkg-dev autoconf automake libtool build-essential) are
#   installed with apt-get when running as root; otherwise the script fails.
# - Everything is logged to PREFIX.log. On failure the last lines are printed, the
#   recipe hash is written to PREFIX.failed and the script exits 1. Later runs fail
#   at once (so `make` does not retry a slow failing build every time) until
#   --retry is given or PREFIX.failed is removed.
# - PREFIX is replaced only after a complete, checked build (staged install).
#
# Progress messages go to stderr; stdout stays empty.
set -eu

RETRY=0
if [ "${1:-}" = "--retry" ]; then RETRY=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [--retry] PREFIX" >&2; exit 2; }

PREFIX=$(realpath -m "$1")
# When run from make: do not inherit its flags (-n, -k, jobserver) or a caller's
# compiler settings (e.g. sanitizer CFLAGS/LDFLAGS); the recipe sets its own.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES CC CFLAGS CPPFLAGS LDFLAGS LIBS CPP CXX CXXFLAGS
LOG="$PREFIX.log"
STAMP="$PREFIX/.xot-wolfssl-stamp"
FAILED="$PREFIX.failed"
LOCK="$PREFIX.lock"

# ---- the recipe (any change here changes the hash and triggers a rebuild) ----------
RECIPE_REV=1
CONFIGURE_ARGS="--enable-static --disable-shared
--disable-examples --disable-crypttests
--enable-tls13 --disable-tlsv12 --disable-oldtls --disable-earlydata
--enable-alpn --enable-sni --enable-session-ticket --enable-supportedcurves
--enable-ecc --enable-curve25519 --enable-sha384 --enable-sha512
--enable-aesgcm --enable-chacha --enable-poly1305
--enable-aesni --enable-intelasm --enable-sp --enable-sp-asm
--enable-opensslextra --enable-ip-alt-name"
RECIPE_CPPFLAGS="-DWOLFSSL_ALT_NAMES -DWOLFSSL_FPKI -DWOLFSSL_GETRANDOM"
RECIPE_CFLAGS="-O2 -g"
SRC_PACKAGE=wolfssl
# Macros options.h must define for the build to count as good.
REQUIRED_MACROS="WOLFSSL_AESNI WOLFSSL_TLS13 HAVE_ALPN HAVE_SNI HAVE_SESSION_TICKET OPENSSL_EXTRA"

RECIPE_HASH=$(printf '%s\n' "rev=$RECIPE_REV" "pkg=$SRC_PACKAGE" "$CONFIGURE_ARGS" \
	"CPPFLAGS=$RECIPE_CPPFLAGS" "CFLAGS=$RECIPE_CFLAGS" | sha256sum | cut -c1-16)

is_current() {
	[ -f "$PREFIX/lib/libwolfssl.a" ] && [ -f "$PREFIX/include/wolfssl/options.h" ] &&
		[ -f "$STAMP" ] && [ "$(sed -n 's/^recipe=//p' "$STAMP")" = "$RECIPE_HASH" ]
}

# ---- fast path: nothing to do --------------------------------------------------------
is_current && exit 0

say() { echo "build-wolfssl: $*" >&2; }

mkdir -p "$(dirname "$PREFIX")"
# Serialise concurrent runs (parallel make invocations); re-check under the lock.
exec 9>"$LOCK"
if ! flock -w 1 9; then
	say "another build of $PREFIX is running; waiting for it"
	flock 9
fi
is_current && exit 0

if [ $RETRY = 0 ] && [ -f "$FAILED" ] && [ "$(cat "$FAILED")" = "$RECIPE_HASH" ]; then
	say "an earlier build of this recipe failed (log: $LOG)."
	say "not retrying automatically; retry with: $0 --retry $1   (or: make wolfssl)"
	exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/xot-wolfssl.XXXXXX")
STAGE="$PREFIX.stage"
STEP="start"
: >"$LOG"

finish() {
	rc=$?
	rm -rf "$WORK" "$STAGE" "$PREFIX.new"
	if [ $rc -ne 0 ]; then
		echo "$RECIPE_HASH" >"$FAILED"
		{
			echo "build-wolfssl: FAILED during: $STEP (exit $rc). Last lines of $LOG:"
			tail -n 25 "$LOG" | sed 's/^/    /'
		} >&2
	fi
	exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM HUP

log() { echo "== $*" >>"$LOG"; }
run() { log "\$ $*"; "$@" >>"$LOG" 2>&1; }
step() { STEP=$1; say "$1"; log "$1"; }

step "building the project-local wolfSSL into $PREFIX (one-time, about 1-2 min; log: $LOG)"
log "recipe hash $RECIPE_HASH, started $(date -u '+%Y-%m-%d %H:%M:%S UTC')"

# ---- 1. build tools -------------------------------------------------------------------
step "checking build tools"
TOOLS="dpkg-dev autoconf automake libtool build-essential"
missing=""
for p in $TOOLS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		say "missing build tools:$missing -- install them as root: apt-get install$missing"
		log "missing build tools:$missing (not root)"
		exit 1
	fi
	step "installing build tools:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086 # $missing is a word list
	if ! run apt-get install -y -q --no-install-recommends $missing; then
		run apt-get update -q
		# shellcheck disable=SC2086
		run apt-get install -y -q --no-install-recommends $missing
	fi
fi

# ---- 2. private deb-src list derived from the machine's apt sources --------------------
step "deriving deb-src entries from the machine's apt sources"
# shellcheck disable=SC1091
CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$CODENAME" ] || { log "no VERSION_CODENAME in /etc/os-release"; exit 1; }

# Emits "suite<TAB>uri<TAB>signed-by" for every enabled 'deb' entry, from both formats.
list_entries() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '
		/^[ \t]*#/ || NF == 0 { next }
		$1 != "deb" { next }
		{
			i = 2; sb = ""
			if ($2 ~ /^\[/) {               # [ option=value ... ]
				opts = ""
				for (; i <= NF; i++) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } }
				if (match(opts, /signed-by=[^] \t]+/)) sb = substr(opts, RSTART + 10, RLENGTH - 10)
			}
			uri = $i; suite = $(i + 1)
			printf "%s\t%s\t%s\n", suite, uri, sb
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
		function flush(   n, a, b, j, k, m) {
			if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no") {
				n = split(uris, a, /[ \t]+/); k = split(suites, b, /[ \t]+/)
				for (j = 1; j <= n; j++) for (m = 1; m <= k; m++)
					if (a[j] != "" && b[m] != "") printf "%s\t%s\t%s\n", b[m], a[j], signedby
			}
			types = uris = suites = signedby = enabled = ""
		}
		/^[ \t]*#/ { next }
		NF == 0 { flush(); next }
		/^[ \t]/ { next }                    # continuation lines (inline keys): ignore
		{
			key = tolower($1); sub(/:$/, "", key)
			val = $0; sub(/^[^:]*:[ \t]*/, "", val)
			if (key == "types") types = val
			else if (key == "uris") uris = val
			else if (key == "suites") suites = val
			else if (key == "enabled") enabled = val
			else if (key == "signed-by" && val ~ /^\//) signedby = val
		}
		END { flush() }' "$f"
	done
}
ENTRIES=$(list_entries)
printf '%s\n' "$ENTRIES" | sed 's/^/    apt source: /' >>"$LOG"

APTDIR="$WORK/apt"
mkdir -p "$APTDIR/lists/partial" "$WORK/src"
SRCLIST="$APTDIR/sources.list"
: >"$SRCLIST"
for suite in "$CODENAME" "$CODENAME-security"; do
	line=$(printf '%s\n' "$ENTRIES" | awk -F'\t' -v s="$suite" '$1 == s { print; exit }')
	if [ -z "$line" ]; then
		log "no 'deb' entry for suite $suite in the machine's apt sources"
		continue
	fi
	uri=$(printf '%s' "$line" | cut -f2)
	sb=$(printf '%s' "$line" | cut -f3)
	if [ -n "$sb" ]; then
		echo "deb-src [signed-by=$sb] $uri $suite main" >>"$SRCLIST"
	else
		echo "deb-src $uri $suite main" >>"$SRCLIST"
	fi
done
if [ ! -s "$SRCLIST" ]; then
	log "could not derive any deb-src entry (looked for suites $CODENAME and $CODENAME-security)"
	exit 1
fi
log "private sources list:"; sed 's/^/    /' "$SRCLIST" >>"$LOG"
grep -q -- "-security " "$SRCLIST" ||
	say "note: no $CODENAME-security entry found; the source will be from $CODENAME only (older patch level)"

# Everything apt touches is private: sources, lists, caches. Sandbox user root avoids
# "_apt cannot access" warnings for the private directories.
APT_OPTS="-o Dir::Etc::SourceList=$SRCLIST -o Dir::Etc::SourceParts=/dev/null
-o Dir::State::Lists=$APTDIR/lists -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
-o APT::Sandbox::User=root -o Debug::NoLocking=true"

# ---- 3. download and unpack the Debian source package -----------------------------------
step "fetching the $SRC_PACKAGE source package from the Debian archive"
# shellcheck disable=SC2086
run apt-get $APT_OPTS -q update
WANT=$(dpkg-query -W -f='${source:Version}' libwolfssl-dev 2>/dev/null ||
	dpkg-query -W -f='${source:Version}' libwolfssl35 2>/dev/null || true)
cd "$WORK/src"
got=""
if [ -n "$WANT" ]; then
	# shellcheck disable=SC2086
	if run apt-get $APT_OPTS -q source --download-only "$SRC_PACKAGE=$WANT"; then
		got=$WANT
	else
		say "note: source version $WANT (the installed libwolfssl) is not available; taking the newest"
	fi
fi
if [ -z "$got" ]; then
	# shellcheck disable=SC2086
	run apt-get $APT_OPTS -q source --download-only "$SRC_PACKAGE"
fi
# shellcheck disable=SC2012 # our own temp dir, Debian file names
DSC=$(ls "$WORK"/src/"${SRC_PACKAGE}"_*.dsc 2>/dev/null | head -n 1)
[ -n "$DSC" ] || { log "no .dsc downloaded"; exit 1; }
SRC_VERSION=$(sed -n 's/^Version: //p' "$DSC" | head -n 1)
step "unpacking $SRC_PACKAGE $SRC_VERSION and applying Debian's patches (dpkg-source -x)"
run dpkg-source -x "$DSC" "$WORK/src/tree"
if [ -n "$WANT" ] && [ "$SRC_VERSION" != "$WANT" ]; then
	say "note: building $SRC_VERSION; the installed system libwolfssl is $WANT"
fi

# ---- 4. configure, build, staged install ------------------------------------------------
cd "$WORK/src/tree"
step "autogen.sh"
run ./autogen.sh
step "configure"
# shellcheck disable=SC2086
run ./configure --prefix="$PREFIX" $CONFIGURE_ARGS \
	CPPFLAGS="$RECIPE_CPPFLAGS" CFLAGS="$RECIPE_CFLAGS"
step "make (-j2)"
run make -j2
step "install (staged)"
rm -rf "$STAGE" "$PREFIX.new"
run make install DESTDIR="$STAGE"
mv "$STAGE$PREFIX" "$PREFIX.new"
rm -rf "$STAGE"

# ---- 5. sanity checks, then swap into place -------------------------------------------
step "checking the result"
N="$PREFIX.new"
for f in lib/libwolfssl.a include/wolfssl/options.h include/wolfssl/ssl.h lib/pkgconfig/wolfssl.pc; do
	[ -f "$N/$f" ] || { log "missing after install: $f"; exit 1; }
done
if ls "$N"/lib/libwolfssl.so* >/dev/null 2>&1; then
	log "a shared libwolfssl was installed; the recipe needs --disable-shared"; exit 1
fi
for m in $REQUIRED_MACROS; do
	grep -q "^#define $m\$" "$N/include/wolfssl/options.h" ||
		{ log "options.h does not define $m"; exit 1; }
done
for m in WOLFSSL_EARLY_DATA SESSION_CERTS; do
	if grep -q "^#define $m\$" "$N/include/wolfssl/options.h"; then
		log "options.h defines $m, which the recipe disables"; exit 1
	fi
done
printf 'recipe=%s\nsource=%s %s\nbuilt=%s\n' "$RECIPE_HASH" "$SRC_PACKAGE" "$SRC_VERSION" \
	"$(date -u '+%Y-%m-%dT%H:%M:%SZ')" >"$N/.xot-wolfssl-stamp"
rm -rf "$PREFIX"
mv "$N" "$PREFIX"
rm -f "$FAILED"
STEP="done"
log "done: $SRC_PACKAGE $SRC_VERSION, recipe $RECIPE_HASH"
say "done: wolfSSL $SRC_VERSION (static, AES-NI, TLS 1.3 only) in $PREFIX"
