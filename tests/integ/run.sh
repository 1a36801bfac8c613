#!/bin/bash
# run.sh - run the xotproxy integration tests.
#
# Usage: tests/integ/run.sh ./xotproxy [regex]   (runs tests whose name matches)
#
# Makes the shared fixtures once (test CA and certificates, TSIG key, zones,
# one named primary on a random 127.0.0.1 high port), then runs every
# tests/integ/t[0-9][0-9]_*.sh and t[0-9][0-9][0-9]_*.sh whose name contains PATTERN (all if none),
# one at a time. Prints one line per test: PASS/FAIL/SKIP, name, seconds;
# the tail of the logs of a failed test; and finally "N passed, N failed".
# Exit status 1 if any test failed.
#
# Environment: KEEP=1 keeps the run directory (logs, configs) for
# inspection; XOT_TEST_TIMEOUT (seconds, default 240) bounds each test.

set -u
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	echo "usage: $0 PATH-TO-XOTPROXY [PATTERN]" >&2
	exit 2
fi

XOT_INTEG_DIR=$(cd "$(dirname "$0")" && pwd)
export XOT_INTEG_DIR
bin=$1
pattern=${2:-}
case $bin in /*) ;; *) bin=$(cd "$(dirname "$bin")" 2>/dev/null && pwd)/$(basename "$bin") ;; esac
if [ ! -x "$bin" ]; then
	echo "run.sh: proxy binary '$1' not found or not executable" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
export XOT_BIN=$bin

for tool in named named-checkconf tsig-keygen dig nsupdate kdig openssl ss awk; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "run.sh: missing tool '$tool' (make deps)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
done

# shellcheck source=lib.sh
. "$XOT_INTEG_DIR/lib.sh"

XOT_RUN=$(mktemp -d /tmp/xotinteg.XXXXXX)
export XOT_RUN
_XOT_OWN_RUN=1
_XOT_QUIET_CLEANUP=1
T=$XOT_RUN
_setup_done=0
_run_exit() {
	local rc=$?
	if [ "$_setup_done" = 0 ]; then
		echo "FAIL shared fixtures:"
		tail -n 30 "$XOT_RUN/setup.log" 2>/dev/null | sed "s/^/    /"
		tail -n 20 "$XOT_RUN/shared-named.log" 2>/dev/null | sed "s/^/    /"
		echo "0 passed, 1 failed"
		rc=1
	fi
	(exit "$rc")
	_cleanup
}
_TEST_PID=
# On Ctrl-C or SIGTERM: stop the running test first (timeout(1) runs it in its
# own process group, so the terminal's SIGINT does not reach it), then
# clean up the shared fixtures.
_run_signal() {
	if [ -n "$_TEST_PID" ] && kill -0 "$_TEST_PID" 2>/dev/null; then
		kill -TERM "$_TEST_PID" 2>/dev/null
		wait_pid_exit "$_TEST_PID" 20 >/dev/null 2>&1 || kill -KILL "$_TEST_PID" 2>/dev/null
	fi
	echo "interrupted (signal); stopping"
	exit "$1"
}
# reap_leftovers DIR: stop processes a test recorded in DIR/pids that are
# still alive (only if the test could not clean up, e.g. after a timeout).
# Matched by PID and program name, never by name alone.
reap_leftovers() {
	local pid name prog
	[ -f "$1/pids" ] || return 0
	while read -r pid name prog; do
		alive "$pid" || continue
		[ "$(basename "$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1)")" = "$prog" ] || continue
		echo "    (stopping leftover $name, pid $pid)"
		stop_pid "$pid" TERM 5 >/dev/null 2>&1
	done <"$1/pids"
}
trap _run_exit EXIT
trap "_run_signal 130" INT
trap "_run_signal 143" TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%02d' $(($1 / 1000)) $((($1 % 1000) / 10)); }

suite_start=$(now_ms)
echo "xotproxy integration tests: $XOT_BIN"
echo "run directory: $XOT_RUN"
shared_setup >"$XOT_RUN/setup.log" 2>&1 || exit 1
_setup_done=1
_BG_PIDS=("$XOT_NAMED_PID")
echo "shared fixtures ready in $(secs $(($(now_ms) - suite_start))) s (named primary on 127.0.0.1#$XOT_NAMED_PORT)"

passed=0
failed=0
skipped=0
failed_names=()
for t in "$XOT_INTEG_DIR"/t[0-9][0-9]_*.sh "$XOT_INTEG_DIR"/t[0-9][0-9][0-9]_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ -n "$pattern" ] && [[ ! $name =~ $pattern ]]; then
		continue
	fi
	dir=$XOT_RUN/$name
	mkdir -p "$dir"
	start=$(now_ms)
	XOT_TEST_DIR=$dir timeout -k 15 "${XOT_TEST_TIMEOUT:-240}" bash "$t" >"$dir/test.log" 2>&1 &
	_TEST_PID=$!
	wait "$_TEST_PID"
	rc=$?
	_TEST_PID=
	el=$(secs $(($(now_ms) - start)))
	if [ $rc -eq 0 ]; then
		printf 'PASS %-28s %6s s\n' "$name" "$el"
		passed=$((passed + 1))
	elif [ $rc -eq 77 ]; then
		printf 'SKIP %-28s %6s s  (%s)\n' "$name" "$el" "$(grep -m1 'SKIP:' "$dir/test.log" | sed 's/.*SKIP: //')"
		skipped=$((skipped + 1))
	else
		[ $rc -eq 124 ] && echo "(timed out after ${XOT_TEST_TIMEOUT:-240} s)" >>"$dir/test.log"
		printf 'FAIL %-28s %6s s  (exit %d)\n' "$name" "$el" "$rc"
		failed=$((failed + 1))
		failed_names+=("$name")
		echo "    ---- $name: test.log (last 40 lines) ----"
		tail -n 40 "$dir/test.log" | sed 's/^/    /'
		for log in "$dir"/*.log; do
			[ "$log" = "$dir/test.log" ] && continue
			[ -s "$log" ] || continue
			echo "    ---- $name: $(basename "$log") (last 15 lines) ----"
			tail -n 15 "$log" | sed 's/^/    /'
		done
	fi
	reap_leftovers "$dir"
	if ! alive "$XOT_NAMED_PID"; then
		echo "shared named primary died during $name; stopping" >&2
		tail -n 20 "$XOT_NAMED_LOG" >&2
		failed=$((failed + 1))
		break
	fi
done

echo "total $(secs $(($(now_ms) - suite_start))) s; $skipped skipped${failed_names[*]:+; failed: ${failed_names[*]}}"
[ "${KEEP:-0}" = 1 ] && echo "KEEP=1: logs kept in $XOT_RUN"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
