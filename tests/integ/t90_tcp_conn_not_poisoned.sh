#!/bin/bash
# t90: a local TCP connection is not poisoned by one failed query (hostile
#   review of issue 13, item 3 / upstream_retry).
#   The only primary (tests/tools/rvxot.py) hangs on its first query and
#   answers every later one at once. A local secondary keeps ONE plain TCP
#   connection to the outbound side:
#   - query 1 gets SERVFAIL (EDE 22) after backend-timeout (2 s): expected;
#   - then it polls SOA on the same connection, one every 0.5 s: once the
#     primary's backoff (1 s) has passed, a poll must reach the primary and
#     be answered NOERROR within 20 s. Seen: every later query on that
#     connection gets SERVFAIL at once ("no other primary to try") and never
#     reaches the primary, for the life of the connection, because the
#     connection's set of primaries already tried (ob_conn.tried) is cleared
#     only by an answer.
#   - a fresh connection is answered NOERROR (control: the primary is fine).
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_outbound.sh"
test_init

rv_outbound hang backend-timeout=2

python3 "$TOOLS/rvtcp.py" --port "$O" --zone example.test --first-timeout 20 \
	--until-noerror 20 --pace 0.5 >"$T/client.txt" 2>&1
cat "$T/client.txt" | head -n 5
grep -q '^answer 1 .*rcode=SERVFAIL' "$T/client.txt" ||
	fail "query 1 was not SERVFAIL (the primary hung on it): $(head -n 1 "$T/client.txt")"
ok "query 1: $(grep -m1 '^answer 1 ' "$T/client.txt")"
grep -q 'WRONG ID' "$T/client.txt" && fail "an answer carried another query's ID"
n=$(grep -c '^answer ' "$T/client.txt")
reached=$(grep -c '^query ' "$PLOG")
grep -q '^result noerror' "$T/client.txt" ||
	fail "the same connection never got NOERROR in 20 s after the primary recovered: $n answers, the primary saw $reached queries; last: $(grep '^answer ' "$T/client.txt" | tail -n 1); log: $(grep -m1 'no other primary' "$OUT_LOG" | cut -c1-160)"
ok "the same connection got NOERROR again after $n queries ($reached reached the primary)"

dig +tcp +norec +time=8 +tries=1 @127.0.0.1 -p "$O" example.test SOA >"$T/fresh.txt" 2>&1
[ "$(dig_status "$T/fresh.txt")" = NOERROR ] || fail "a fresh connection: $(dig_status "$T/fresh.txt")"
ok "a fresh connection: NOERROR"
alive "$OUT_PID" || fail "outbound proxy died"
pass
