#!/bin/bash
# t87: tsig-max-fudge (issue 13 item 17). The proxy verifies TSIG for a [key]
# with its secret; a signer may claim a Fudge up to 65535 s, and without a
# replay cache that is how long a captured query replays. The window is
# min(Fudge, tsig-max-fudge):
#   - default (300): a query signed 1000 s ago with Fudge 65535 (a replay)
#     gets NOTAUTH + BADTIME, signed (its MAC verifies with the key, Other
#     Data is the server time); the same Fudge 200 s off is answered; Fudge
#     300, 200 s off, is answered too (honest signers are not affected);
#   - reload with tsig-max-fudge = 100: Fudge 65535, 200 s off: BADTIME;
#   - reload with tsig-max-fudge = 65535 (no cap): the 1000 s-old replay
#     is answered, as before the cap: the cap is what refuses it.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_policy.sh"
test_init

P=$(free_port) || fail "no free port"
KEY="$XOT_TSIG_ALG:$XOT_TSIG_NAME:$XOT_TSIG_SECRET"
printf '%s\n' "$XOT_TSIG_SECRET" >"$T/xfr.secret"
chmod 600 "$T/xfr.secret"
write_ini() {      # write_ini [tsig-max-fudge line]
	policy_ini "$T/p.ini" "$P" "$XOT_NAMED_PORT"
	[ $# -gt 0 ] && sed -i "s/^log-level = .*/&\n$1/" "$T/p.ini"
	cat >>"$T/p.ini" <<EOF

[key $XOT_TSIG_NAME]
algorithm = $XOT_TSIG_ALG
secret-file = $T/xfr.secret

[acl signed]
address = 127.0.0.0/8
tsig-key = $XOT_TSIG_NAME

[zone small.test]
acl = signed
EOF
}
write_ini
start_policy_proxy proxy "$T/p.ini" "$P"
grep -q '^tsig-max-fudge = 300$' "$T/proxy.check" || fail "-t does not print tsig-max-fudge = 300"

# soa NAME OFFSET FUDGE: one signed SOA query; prints the output file
n=0
soa() {
	n=$((n + 1))
	local f=$T/q$n.txt
	pol --port "$P" --ca "$XOT_CA" --tsig "$KEY" "q:small.test/SOA/tsigtime=$1/fudge=$2" >"$f" 2>&1
	echo "$f"
}
# expect_badtime OFFSET FUDGE WHAT / expect_answered OFFSET FUDGE WHAT
expect_badtime() {
	local f
	f=$(soa "$1" "$2")
	{ [ "$(stream_field "$f" rcode)" = NOTAUTH ] && [ "$(stream_field "$f" tsig_error)" = BADTIME ]; } ||
		{ cat "$f"; fail "$3: Time Signed ${1}s, Fudge $2: not NOTAUTH + BADTIME"; }
	[ "$(stream_field "$f" tsig)" = ok ] || { cat "$f"; fail "$3: the BADTIME answer's MAC does not verify"; }
	local other d
	other=$(stream_field "$f" other)
	d=$(( 16#$other - $(date +%s) ))
	[ "${d#-}" -le 5 ] || fail "$3: Other Data $((16#$other)) is $d s from now"
	ok "$3: Time Signed ${1}s, Fudge $2: NOTAUTH + BADTIME, signed (MAC verifies), Other Data = server time"
}
expect_answered() {
	local f
	f=$(soa "$1" "$2")
	{ [ "$(stream_field "$f" rcode)" = NOERROR ] && [ "$(stream_field "$f" soas)" -ge 1 ]; } ||
		{ cat "$f"; fail "$3: Time Signed ${1}s, Fudge $2: not answered"; }
	ok "$3: Time Signed ${1}s, Fudge $2: NOERROR with the SOA"
}

expect_badtime -1000 65535 "default cap 300, a replay"
expect_badtime 1000 65535 "default cap 300, from the future"
expect_answered -200 65535 "default cap 300"
expect_answered -200 300 "default cap 300, honest Fudge"
expect_badtime -301 300 "default cap 300, honest Fudge, late"
wait_until 10 grep -q "BADTIME" "$PROXY_LOG" || fail "BADTIME not logged"

reload_to() {
	write_ini "tsig-max-fudge = $1"
	local c
	c=$(grep -c "reloaded " "$PROXY_LOG")
	kill -HUP "$PROXY_PID"
	wait_until 10 bash -c "[ \$(grep -c 'reloaded ' '$PROXY_LOG') -gt $c ]" || fail "no reload line"
	ok "reloaded with tsig-max-fudge = $1"
}
reload_to 100
expect_badtime -200 65535 "cap 100"
expect_answered -90 65535 "cap 100"
reload_to 65535
expect_answered -1000 65535 "no cap (65535): the replay the cap refuses"

alive "$PROXY_PID" || fail "proxy died"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with an error"
pass
