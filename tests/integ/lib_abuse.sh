# shellcheck shell=bash
# lib_abuse.sh - helpers for the fault and abuse tests (t2N_*.sh), sourced
# after lib.sh: memory and CPU of the proxy from /proc, descriptor counts,
# and the abuse client.
#
# Memory bounds are asserted on the plain binary only: an ASan build keeps
# freed memory in its quarantine and adds shadow memory and redzones, and
# under XOT_WRAP (valgrind) the PID is the tool's. There the numbers are still
# printed, marked "not asserted".

ABUSE=$(cd "$XOT_INTEG_DIR/../tools" && pwd)/xotabuse.py

# mem_asserted: 0 if memory bounds apply to this binary and wrapper.
mem_asserted() {
	[ -z "${XOT_WRAP:-}" ] || return 1
	! grep -aq __asan_init "$XOT_BIN"
}

# vm PID FIELD: a /proc/PID/status value in KiB (VmRSS, VmHWM, ...).
vm() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# mem_reset_peak PID: restart VmHWM from the current RSS (platform notes).
mem_reset_peak() {
	echo 5 >"/proc/$1/clear_refs"
}

# cpu_ticks PID: utime + stime in clock ticks (fields 14 and 15; parsed after
# the last ')', the comm may hold spaces).
cpu_ticks() {
	local stat rest
	stat=$(cat "/proc/$1/stat") || return 1
	rest=${stat##*) }
	awk '{ print $12 + $13 }' <<<"$rest"
}
CLK_TCK=$(getconf CLK_TCK)

# fd_count PID: open descriptors of PID.
fd_count() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# assert_mem_le VALUE_KIB BOUND_KIB WHAT: VALUE <= BOUND, printed either way.
assert_mem_le() {
	local v=$1 b=$2 what=$3
	if mem_asserted; then
		[ "$v" -le "$b" ] || fail "$what: $v KiB, bound $b KiB"
		ok "$what: $v KiB (bound $b KiB)"
	else
		ok "$what: $v KiB (bound $b KiB not asserted: sanitizer or wrapper)"
	fi
}

# sample_peak PID SECONDS OUTFILE: sample VmRSS every 0.1 s for SECONDS and
# write the highest value (KiB) to OUTFILE. VmHWM is the exact peak; this one
# also works where clear_refs is not allowed.
sample_peak() {
	local pid=$1 secs=$2 out=$3 i v max=0
	for ((i = 0; i < secs * 10; i++)); do
		v=$(vm "$pid" VmRSS 2>/dev/null) || break
		[ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
		sleep 0.1
	done
	echo "$max" >"$out"
}

# now_ms: wall clock in milliseconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# xfr_ok_same PORT ZONE DIRECT WHAT: a kdig AXFR of ZONE through the proxy on
# PORT has exactly the records of the direct transfer in file DIRECT.
xfr_ok_same() {
	local port=$1 zone=$2 direct=$3 what=$4 f
	f=$T/$(echo "$what" | tr -c 'A-Za-z0-9\n' _).txt
	kd "$port" "$zone" AXFR >"$f" 2>"$f.err" || fail "$what: kdig failed: $(head -c 300 "$f.err")"
	grep -Eq 'ERROR|WARNING' "$f.err" && fail "$what: $(head -c 300 "$f.err")"
	same_records "$direct" "$f" "$what"
}
