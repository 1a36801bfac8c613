#!/bin/bash
# t106: a /metrics address that cannot be bound stops the start with the
# same line as before the listener refactor (issue 14, hostile review):
#   "error: metrics: listen 127.0.0.1#PORT: Address already in use"
# (no transport word: the metrics endpoint names its service, not "TCP"),
# and the process exits non-zero without serving.
. "$(dirname "$0")/lib.sh"
test_init

P=$(free_port) || fail "no free port"
MP=$(free_port) || fail "no free port"
python3 -c '
import socket, sys, time, os
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
open(sys.argv[2], "w").close()
time.sleep(60)' "$MP" "$T/held" &
HOLD=$!
_BG_PIDS+=("$HOLD")
wait_until 10 test -e "$T/held" || fail "could not hold port $MP"

proxy_ini "$T/x.ini" "$P" "$XOT_NAMED_PORT"
sed -i "s/^log-level = .*/&\nmetrics = 127.0.0.1:$MP/" "$T/x.ini"
rc=0
timeout 20 "$XOT_BIN" -c "$T/x.ini" >"$T/proxy.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "xotproxy with a busy metrics port: exit $rc (want a failure exit)"
grep -q "error: metrics: listen 127\\.0\\.0\\.1#$MP: Address already in use$" "$T/proxy.log" ||
	fail "no 'metrics: listen 127.0.0.1#$MP: Address already in use' line: $(grep -i metrics "$T/proxy.log")"
ok "busy metrics port: $(grep 'metrics: listen' "$T/proxy.log" | cut -d' ' -f2-), exit $rc"
pass
