#!/bin/bash
# t41: NSD 4.6 as the legacy secondary behind the outbound side:
#   nsd (request-xfr: 127.0.0.1@OUT, allow-notify) --plain--> xotproxy
#   [outbound] --TLS 1.3--> xotproxy [inbound] --> shared named.
# example.test (100k records) without TSIG and signed.test with it load with
# the primary's serial and records; a NOTIFY makes NSD ask again through the
# outbound side.
#   XOT-04 (strict CA + auth-name), XOT-01/XOT-02, XOT-14 (NSD's queries to
#   its primary go over TLS), TSIG-01/TSIG-03 (NSD verifies the primary's MACs
#   through two proxies), AXFR-09 (complete copy), NOTIFY-02/NOTIFY-03.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
need_binary nsd
secondary_via_outbound nsd example.test signed.test:key
stop_pid "$OUT_PID" TERM 15 || fail "outbound proxy exited with status $? on SIGTERM"
pass
