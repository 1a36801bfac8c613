#!/bin/bash
# t85: secrets and privileges (issue 13 item 16).
#   - started as root with user = nobody: /proc/PID/status shows uid nobody,
#     CapBnd, CapPrm and CapEff 0x400 (CAP_NET_BIND_SERVICE alone) and
#     NoNewPrivs 1; an SOA still goes through. Started without CAP_SETPCAP
#     (setpriv --bounding-set -setpcap): the bounding set cannot be
#     cleared, a warning says so, the rest holds.
#   - user = root, user = 0 (and any other uid-0 name in /etc/passwd): -t
#     and a start fail with FILE:LINE: reason, nothing listens.
#   - started as root without user: one warning line.
#   - an inline secret in a file others can read (0644), or a group other
#     than the service's can read (0640, group nogroup): -t and the start
#     warn once, naming FILE:LINE; 0600 and 0640 in the service's own
#     group: no warning.
# Runs as root (it switches users); skipped (77) otherwise.
. "$(dirname "$0")/lib.sh"
test_init
[ "$(id -u)" = 0 ] || skip "not root: the user switch cannot be tested"
getent passwd nobody >/dev/null || skip "no user nobody"

P=$(free_port) || fail "no free port"

# base_ini FILE [GLOBAL-LINES...]: a config with a [key] holding an inline secret.
base_ini() {
	local f=$1
	shift
	{
		echo "[global]"
		echo "log-level = info"
		local l
		for l in "$@"; do echo "$l"; done
		cat <<EOF

[inbound]
listen = 127.0.0.1:$P
cert = $XOT_CERT
key = $XOT_KEY
backend = 127.0.0.1:$XOT_NAMED_PORT

[key $XOT_TSIG_NAME]
algorithm = $XOT_TSIG_ALG
secret = $XOT_TSIG_SECRET

[zone small.test]
allow = 127.0.0.0/8
EOF
	} >"$f"
}
# secret_line FILE: the line number of the inline secret
secret_line() { grep -n '^secret = ' "$1" | cut -d: -f1; }

# ------------------------------------------------ user = nobody: the switch
base_ini "$T/nobody.ini" "user = nobody"
chmod 600 "$T/nobody.ini"
start_proxy nobody "$T/nobody.ini" "$P"
assert_grep "$PROXY_LOG" "running as user nobody, keeping only CAP_NET_BIND_SERVICE .*no_new_privs set" \
	"log: switched to nobody, CAP_NET_BIND_SERVICE kept, no_new_privs"
st=/proc/$PROXY_PID/status
uid=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")
nobody=$(id -u nobody)
[ "$uid" = "$nobody $nobody $nobody $nobody" ] || fail "uids after the switch: $uid (nobody is $nobody)"
for f in CapBnd CapPrm CapEff; do
	v=$(awk -v f="$f:" '$1 == f { print $2 }' "$st")
	[ "$v" = 0000000000000400 ] || fail "$f after the switch is $v, want 0000000000000400 (CAP_NET_BIND_SERVICE alone)"
done
v=$(awk '$1 == "CapInh:" { print $2 }' "$st")
[ "$v" = 0000000000000000 ] || fail "CapInh after the switch is $v"
nnp=$(awk '$1 == "NoNewPrivs:" { print $2 }' "$st")
[ "$nnp" = 1 ] || fail "NoNewPrivs is '$nnp', want 1"
ok "as nobody: CapBnd/CapPrm/CapEff 0x400, CapInh 0, NoNewPrivs 1"
kd "$P" small.test SOA >"$T/soa.txt" 2>&1
[ "$(dig_status "$T/soa.txt")" = NOERROR ] || fail "SOA after the switch: $(tail -n 3 "$T/soa.txt")"
ok "an SOA is served after the switch"
assert_nogrep "$PROXY_LOG" "running as root" "no root warning when user is set"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy (nobody) exited with status $? on SIGTERM"

# ------------------------------------------------ root without CAP_SETPCAP (a container that dropped it)
# The bounding set cannot be cleared then: the switch still happens, with a
# warning; no_new_privs holds and only CAP_NET_BIND_SERVICE is permitted.
if command -v setpriv >/dev/null; then
	bg_start nosetpcap setpriv --bounding-set -setpcap "$XOT_BIN" -c "$T/nobody.ini"
	PROXY_PID=$LAST_PID
	PROXY_LOG=$T/nosetpcap.log
	wait_until 20 grep -q "running as user nobody" "$PROXY_LOG" || { cat "$PROXY_LOG"; fail "no switch without CAP_SETPCAP"; }
	assert_grep "$PROXY_LOG" "warning: user nobody: capability bounding set not cleared .*no CAP_SETPCAP" \
		"without CAP_SETPCAP: warned that the bounding set stays"
	st=/proc/$PROXY_PID/status
	for f in CapPrm CapEff; do
		v=$(awk -v f="$f:" '$1 == f { print $2 }' "$st")
		[ "$v" = 0000000000000400 ] || fail "without CAP_SETPCAP: $f is $v"
	done
	[ "$(awk '$1 == "NoNewPrivs:" { print $2 }' "$st")" = 1 ] || fail "without CAP_SETPCAP: NoNewPrivs not 1"
	kd "$P" small.test SOA >"$T/soa3.txt" 2>&1
	[ "$(dig_status "$T/soa3.txt")" = NOERROR ] || fail "SOA without CAP_SETPCAP: $(tail -n 3 "$T/soa3.txt")"
	ok "without CAP_SETPCAP: runs as nobody, CapPrm/CapEff 0x400, NoNewPrivs 1, CapBnd $(awk '$1 == "CapBnd:" { print $2 }' "$st")"
	stop_pid "$PROXY_PID" TERM 10 || fail "proxy (no CAP_SETPCAP) exited with status $? on SIGTERM"
else
	note "no setpriv: the start without CAP_SETPCAP is not tested"
fi

# ------------------------------------------------ user = root (or uid 0 by another name)
roots="root 0 000"
alias0=$(getent passwd | awk -F: '$3 == 0 && $1 != "root" { print $1; exit }')
[ -n "$alias0" ] && roots="$roots $alias0"
for u in $roots; do
	base_ini "$T/root.ini" "user = $u"
	chmod 600 "$T/root.ini"
	timeout 10 "$XOT_BIN" -t -c "$T/root.ini" >"$T/root-t.out" 2>"$T/root-t.err"
	rc=$?
	[ $rc = 1 ] || fail "-t with user = $u exited $rc"
	grep -Eq "^$T/root\.ini:3: .*(user: \"$u\" is root \(uid 0\)|user $u has uid 0 \(root\))" "$T/root-t.err" ||
		fail "-t with user = $u: $(cat "$T/root-t.err")"
	timeout 10 "$XOT_BIN" -c "$T/root.ini" >"$T/root-s.out" 2>"$T/root-s.err"
	rc=$?
	[ $rc = 1 ] || fail "a start with user = $u exited $rc"
	grep -q "root.ini:3: " "$T/root-s.err" || fail "start with user = $u: $(cat "$T/root-s.err")"
	! tcp_listening "$P" || fail "something listens on $P after the refused start"
	ok "user = $u: -t and start exit 1: $(head -n 1 "$T/root-t.err")"
done
[ -n "$alias0" ] || note "no other uid-0 name in /etc/passwd: only root, 0, 000 tried"

# ------------------------------------------------ root without user: a warning
base_ini "$T/asroot.ini"
chmod 600 "$T/asroot.ini"
start_proxy asroot "$T/asroot.ini" "$P"
wait_until 10 grep -q "running as root: set user = NAME" "$PROXY_LOG" || fail "no root warning: $(tail -n 5 "$PROXY_LOG")"
[ "$(grep -c 'running as root' "$PROXY_LOG")" = 1 ] || fail "the root warning is not logged once"
nnp=$(awk '$1 == "NoNewPrivs:" { print $2 }' "/proc/$PROXY_PID/status")
[ "$nnp" = 1 ] || fail "NoNewPrivs is '$nnp' without user, want 1"
ok "root without user: warned once; NoNewPrivs 1"
assert_nogrep "$PROXY_LOG" "TSIG secret inline" "no inline-secret warning for a 0600 file"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy (root) exited with status $? on SIGTERM"

# ------------------------------------------------ inline secrets and the file's mode
base_ini "$T/secret.ini"
L=$(secret_line "$T/secret.ini")
check_t() {      # check_t MODE GROUP WANT(warn|quiet)
	chmod "$1" "$T/secret.ini"
	chgrp "$2" "$T/secret.ini"
	timeout 10 "$XOT_BIN" -t -c "$T/secret.ini" >"$T/sec.out" 2>"$T/sec.err" ||
		fail "-t with mode $1 group $2 failed: $(cat "$T/sec.err")"
	if [ "$3" = warn ]; then
		[ "$(grep -c "TSIG secret inline" "$T/sec.err")" = 1 ] ||
			fail "-t, mode $1 group $2: want one inline-secret warning, got: $(cat "$T/sec.err")"
		grep -q "$T/secret.ini:$L: TSIG secret inline in a file readable by .*(mode 0$1).*secret-file" "$T/sec.err" ||
			fail "-t, mode $1 group $2: the warning lacks FILE:LINE or the mode: $(cat "$T/sec.err")"
		ok "-t, mode $1 group $2: $(grep 'TSIG secret inline' "$T/sec.err" | cut -c1-140)..."
	else
		grep -q "TSIG secret inline" "$T/sec.err" && fail "-t, mode $1 group $2 warned: $(cat "$T/sec.err")"
		ok "-t, mode $1 group $2: no inline-secret warning"
	fi
}
rootgrp=$(id -gn)
check_t 644 "$rootgrp" warn
check_t 604 "$rootgrp" warn
check_t 600 "$rootgrp" quiet
if getent group nogroup >/dev/null; then
	check_t 640 nogroup warn
fi
if [ -z "$(getent group "$rootgrp" | cut -d: -f4)" ]; then
	check_t 640 "$rootgrp" quiet      # the service's own group, no members: private
fi

# the start warns too, once
chmod 644 "$T/secret.ini"
chgrp "$rootgrp" "$T/secret.ini"
start_proxy secret "$T/secret.ini" "$P"
wait_until 10 grep -q "TSIG secret inline" "$PROXY_LOG" || fail "no inline-secret warning at start"
kd "$P" small.test SOA >"$T/soa2.txt" 2>&1
[ "$(grep -c 'TSIG secret inline' "$PROXY_LOG")" = 1 ] || fail "the inline-secret warning is not logged once"
grep -q "secret.ini:$L: " "$PROXY_LOG" || fail "the start warning lacks FILE:LINE"
ok "start with a 0644 inline secret: warned once with FILE:LINE"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"
pass
