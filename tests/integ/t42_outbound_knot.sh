#!/bin/bash
# t42: Knot DNS 3.2 (no XoT of its own before 3.4) as the legacy secondary
# behind the outbound side:
#   knotd (remote 127.0.0.1@OUT, zone master, acl notify) --plain-->
#   xotproxy [outbound] --TLS 1.3--> xotproxy [inbound] --> shared named.
# example.test (100k records) without TSIG and signed.test with it load with
# the primary's serial and records; a NOTIFY makes Knot ask again.
#   XOT-04 (strict CA + auth-name), XOT-01/XOT-02, XOT-14, TSIG-01/TSIG-03
#   (Knot verifies the primary's MACs through two proxies), AXFR-09,
#   NOTIFY-02/NOTIFY-03.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init
need_binary knotd
need_binary knotc
secondary_via_outbound knot example.test signed.test:key
stop_pid "$OUT_PID" TERM 15 || fail "outbound proxy exited with status $? on SIGTERM"
pass
