#!/bin/bash
# t30: logging never blocks the event loop (issue 7 item 2). The proxy's
# stderr is a FIFO that nobody reads (a holder keeps it open and never reads),
# so its 64 KiB fill at once. Ten clients send 5,000 SOA queries in all (one
# debug line each: not rate-limited), in pipelined batches of 10, and one
# pipelines 5,000 refused A queries on one session. While the log is stuck,
# another client's handshake and SOA query complete in under 1 s, and the
# flooding clients get all 10,000 answers.
# Once the FIFO is read, the proxy reports "N log lines dropped".
. "$(dirname "$0")/lib.sh"
test_init

ABUSE=$(cd "$(dirname "$0")/../tools" && pwd)/xotabuse.py
N=5000
FLOODERS=10
BATCH=10
P=$(free_port) || fail "no free port"
PROXY_LOG_LEVEL=debug proxy_ini "$T/xotproxy.ini" "$P" "$XOT_NAMED_PORT"

# fifo_bytes: bytes waiting unread in the FIFO.
fifo_bytes() {
	python3 -c 'import fcntl, os, struct, sys, termios
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NONBLOCK)
print(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0])' "$T/stderr.fifo"
}
# fifo_full: the pipe takes no more (a write that does not fit the last page's
# room starts a new page, so a full pipe holds 48 KiB or more) and stays so.
fifo_full() {
	local a
	a=$(fifo_bytes)
	[ "$a" -ge 49152 ] && sleep 0.5 && [ "$(fifo_bytes)" = "$a" ]
}

# start_proxy_fifo: the proxy with stderr on $T/stderr.fifo, held open for
# reading by a process that never reads.
start_proxy_fifo() {
	mkfifo "$T/stderr.fifo"
	sleep 1000 <>"$T/stderr.fifo" &
	_BG_PIDS+=("$!")
	echo "$! holder sleep" >>"$T/pids"
	local prog=$XOT_BIN
	[ -n "${XOT_WRAP:-}" ] && prog=${XOT_WRAP%% *}
	# shellcheck disable=SC2086
	${XOT_WRAP:-} "$XOT_BIN" -c "$T/xotproxy.ini" >"$T/proxy.out" 2>"$T/stderr.fifo" &
	PROXY_PID=$!
	_BG_PIDS+=("$PROXY_PID")
	echo "$PROXY_PID proxy $(basename "$prog")" >>"$T/pids"
	note "started proxy (pid $PROXY_PID), stderr to an unread FIFO"
	wait_until 30 tcp_listening "$P" || fail "proxy: port $P not listening"
	ok "proxy listening on 127.0.0.1#$P"
}
start_proxy_fifo

BATCHES=$((N / FLOODERS / BATCH))       # per flooder
soa_steps=()
for ((i = 0; i < BATCHES; i++)); do soa_steps+=("pipe:$BATCH:example.test:SOA"); done
FLOODER_PIDS=()
for ((k = 1; k <= FLOODERS; k++)); do
	bg_start "flooder$k" python3 "$ABUSE" session --port "$P" --ca "$XOT_CA" --timeout 60 \
		"${soa_steps[@]}"
	FLOODER_PIDS+=("$LAST_PID")
done
bg_start refuser python3 "$ABUSE" session --port "$P" --ca "$XOT_CA" --timeout 60 "pipe:$N:example.test:A"
REFUSER=$LAST_PID
wait_until 30 fifo_full || fail "the proxy's stderr FIFO did not fill ($(fifo_bytes) bytes)"
ok "stderr FIFO full: $(fifo_bytes) bytes unread"

# Another client, while the log is stuck: handshake + SOA within 1 s.
for i in 1 2 3; do
	t0=$(date +%s%N)
	kd "$P" +time=5 small.test SOA >"$T/other-$i.txt" 2>&1
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$(dig_status "$T/other-$i.txt")" = NOERROR ] ||
		{ cat "$T/other-$i.txt"; fail "client $i during the log flood: no NOERROR answer (${ms} ms)"; }
	[ "$ms" -lt 1000 ] || fail "client $i during the log flood: handshake + SOA took $ms ms (bound 1000)"
	ok "client $i during the log flood: handshake + SOA in $ms ms"
done
fifo_full || fail "the FIFO drained by itself ($(fifo_bytes) bytes): the test did not hold the log"

for ((k = 1; k <= FLOODERS; k++)); do
	wait_pid_exit "${FLOODER_PIDS[$((k - 1))]}" 60 || { tail -n 3 "$T/flooder$k.log"; fail "flooder $k failed"; }
	n=$(grep -c "x example.test SOA complete: \[rcode=NOERROR msgs=1 records=1\]x$BATCH " "$T/flooder$k.log")
	[ "$n" = "$BATCHES" ] || fail "flooder $k: $n of $BATCHES batches answered NOERROR"
done
ok "flooders: $N SOA answers"
wait_pid_exit "$REFUSER" 60 || { cat "$T/refuser.log"; fail "the refused-query client failed"; }
assert_grep "$T/refuser.log" "pipe $N x example.test A complete: \[rcode=REFUSED msgs=1 records=0\]x$N " \
	"refuser: $N REFUSED answers"

# Now read the log: the buffered lines, then the report of the dropped ones.
bg_start reader cat "$T/stderr.fifo"
wait_until 10 grep -q 'log lines dropped' "$T/reader.log" ||
	{ tail -n 3 "$T/reader.log"; fail "no 'log lines dropped' line after the FIFO was read"; }
dropped=$(sed -n 's/.*Z warning: \([0-9]*\) log lines dropped$/\1/p' "$T/reader.log" | head -n 1)
[ -n "$dropped" ] && [ "$dropped" -gt 0 ] || fail "bad report: $(grep 'log lines dropped' "$T/reader.log")"
ok "log: $(grep -m1 'log lines dropped' "$T/reader.log" | cut -d' ' -f2-)"
soa_lines=$(grep -c 'zone example\.test\., SOA, ok' "$T/reader.log")
[ "$soa_lines" -lt "$N" ] || fail "all $N SOA lines were logged: the log never overflowed"
ok "$soa_lines of $N SOA debug lines logged, the rest dropped and counted"

# The proxy still works and stops cleanly (its final flush is bounded).
kd "$P" small.test SOA >"$T/after.txt" 2>&1
[ "$(dig_status "$T/after.txt")" = NOERROR ] || fail "SOA after the flood: $(tail -n 3 "$T/after.txt")"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exit status $? after SIGTERM"
wait_until 5 grep -q 'info: stopped' "$T/reader.log" || fail "no 'stopped' line at exit"
ok "proxy stopped cleanly, final lines flushed"
pass
