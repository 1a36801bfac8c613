#!/bin/bash
# t107: a reload that fails in the second of two [outbound] sections leaves
# the first one unchanged (issue 14, hostile review; docs/architecture.md:
# "nothing changes unless every stage succeeds ... a failed reload logs why
# and keeps the old configuration whole").
#   Two groups, a and b, towards one XoT primary (rvxot.py). The file is
#   changed so that group a's allow list no longer admits 127.0.0.1 and
#   group b's ca names a file that is not PEM (its TLS context cannot be
#   built). After the SIGHUP:
#     - the failure is logged ("cannot load CA file");
#     - the reload is reported as failed, not as "reloaded";
#     - group a still serves 127.0.0.1 (its old allow list stays).
# Both the pre-refactor binary and this tree apply group a's change and
# then stop at group b: this test FAILS on both.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

X=$(free_port) || fail "no free port"
OA=$(free_port) || fail "no free port"
OB=$(free_port) || fail "no free port"
start_rvxot rvxot "$X"

write_ini() { # ALLOW-A CA-B
	cat >"$T/x.ini" <<INI
[global]
log-level = debug

[outbound a]
listen = 127.0.0.1:$OA
allow = $1
primary = 127.0.0.1:$X
ca = $XOT_CA
auth-name = xot.test

[outbound b]
listen = 127.0.0.1:$OB
primary = 127.0.0.1:$X
ca = $2
auth-name = xot.test
INI
}
write_ini 127.0.0.0/8 "$XOT_CA"
start_outbound ob "$T/x.ini" "$OA"

soa_a() {
	dig +tcp +time=5 +tries=1 @127.0.0.1 -p "$OA" example.test SOA 2>&1 | grep -q 'status: NOERROR'
}
soa_a || fail "group a does not serve before the reload"
ok "group a serves 127.0.0.1"

echo "not a certificate" >"$T/bad.pem"
write_ini 10.0.0.0/8 "$T/bad.pem"
n=$(grep -c 'reload' "$OUT_LOG")
kill -HUP "$OUT_PID"
wait_until 10 grep -q 'cannot load CA file' "$OUT_LOG" || fail "the bad CA file was not reported: $(tail -n 5 "$OUT_LOG")"
wait_until 10 bash -c "[ \$(grep -c 'reload' '$OUT_LOG') -gt $n ]" || fail "no reload line"
ok "log: $(grep 'cannot load CA file' "$OUT_LOG" | tail -n 1 | cut -d' ' -f2-)"
soa_a || fail "group a no longer serves 127.0.0.1 after a reload that failed in group b (its new allow list was applied): $(grep 'outbound a' "$OUT_LOG" | tail -n 2)"
ok "group a unchanged"
grep -q 'reload failed, keeping the running configuration' "$OUT_LOG" ||
	fail "the reload that could not apply group b was not reported as failed: $(grep -E 'reload' "$OUT_LOG" | tail -n 2)"
ok "reload reported as failed"
pass
