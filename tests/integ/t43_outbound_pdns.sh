#!/bin/bash
# t43: PowerDNS Authoritative 4.7 (bind backend; no XoT at all) as the legacy
# secondary behind the outbound side:
#   pdns_server (launch=bind, zone type slave, masters { 127.0.0.1:OUT; })
#   --plain--> xotproxy [outbound] --TLS 1.3--> xotproxy [inbound] --> named.
# example.test (100k records) loads with the primary's serial and records;
# a NOTIFY makes PowerDNS poll again (it checks SOA over UDP).
#   XOT-04 (strict CA + auth-name), XOT-01/XOT-02, XOT-14 (PowerDNS's UDP SOA
#   checks go over TLS), AXFR-09, NOTIFY-02/NOTIFY-03.
# (No TSIG here: the bind backend keeps TSIG settings in a separate DNSSEC
# database; t41/t42 cover TSIG through the outbound side.)
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
need_binary pdns_server
ls /usr/lib/*/pdns/libbindbackend.so >/dev/null 2>&1 ||
	skip "the PowerDNS bind backend (pdns-backend-bind) is not installed"
secondary_via_outbound pdns example.test
stop_pid "$OUT_PID" TERM 15 || fail "outbound proxy exited with status $? on SIGTERM"
pass
