#!/bin/bash
# t64: PROXY protocol v2 towards the backend (issue 9: [inbound]
# proxy-protocol = v2), with PowerDNS Authoritative 4.7 as the legacy
# primary (proxy-protocol-from = 127.0.0.1, allow-axfr-ips = 127.0.0.21).
#   PRX-03 / XOT-25 ("behind a proxy, the primary sees every client as the
#     proxy"): with the header, PowerDNS applies its own transfer ACL to the
#     real client address: 127.0.0.21 transfers through xotproxy, 127.0.0.22
#     gets PowerDNS's refusal (NOTAUTH, its answer to a denied AXFR),
#     relayed unchanged (AXFR-08).
#   The PowerDNS setup is first checked without xotproxy (tests/tools/ppv2.py
#   writes the header by hand, with and without the TLVs xotproxy may add),
#   and a proxy without proxy-protocol gets no transfer from it (PowerDNS
#   requires the header from 127.0.0.1): the header is what makes it work.
. "$(dirname "$0")/lib.sh"
. "$XOT_INTEG_DIR/lib_policy.sh"
test_init
command -v pdns_server >/dev/null 2>&1 || skip "pdns_server is not installed"
[ -e /usr/lib/x86_64-linux-gnu/pdns/libbindbackend.so ] || ls /usr/lib/*/pdns/libbindbackend.so >/dev/null 2>&1 ||
	skip "PowerDNS bind backend (pdns-backend-bind) is not installed"
PPV2=$(cd "$XOT_INTEG_DIR/../tools" && pwd)/ppv2.py
ZN=5000

# --- PowerDNS: pp.test (several messages per AXFR) and small.test.
PD=$(free_port) || fail "no free port"
pd=$T/pdns
mkdir -p "$pd"
"$XOT_INTEG_DIR/gen-zone.sh" pp.test "$ZN" 6400 >"$pd/pp.test.zone" || fail "gen-zone failed"
cp "$XOT_ZONE_SMALL" "$pd/small.test.zone"
cat >"$pd/pdns.conf" <<EOF
launch=bind
bind-config=$pd/named.conf
local-address=127.0.0.1
local-port=$PD
socket-dir=$pd
guardian=no
daemon=no
write-pid=no
disable-syslog=yes
loglevel=6
log-dns-queries=yes
proxy-protocol-from=127.0.0.1
allow-axfr-ips=127.0.0.21
webserver=no
api=no
EOF
cat >"$pd/named.conf" <<EOF
options { directory "$pd"; };
zone "pp.test" { type master; file "$pd/pp.test.zone"; };
zone "small.test" { type master; file "$pd/small.test.zone"; };
EOF
bg_start pdns pdns_server --config-dir="$pd"
PDNS_PID=$LAST_PID
PDNS_LOG=$T/pdns.log
# Ready: it answers an SOA behind a header (plain queries from 127.0.0.1 are
# dropped: it expects the header from there).
pdns_ready() { python3 "$PPV2" --port "$PD" --src 127.0.0.21 --timeout 2 pp.test SOA | grep -q 'rcode=NOERROR'; }
wait_until 30 pdns_ready || { tail -n 20 "$PDNS_LOG"; fail "PowerDNS does not answer on 127.0.0.1#$PD"; }
ok "PowerDNS $(pdns_server --version 2>&1 | grep -o 'Server [0-9.]*' | head -n 1) serves pp.test on 127.0.0.1#$PD"

# --- the PowerDNS setup without xotproxy.
python3 "$PPV2" --port "$PD" --src 127.0.0.21 pp.test AXFR >"$T/pp-21.txt" 2>&1
grep -q "rcode=NOERROR .*records=$((ZN + 1)) soas=2 end=complete" "$T/pp-21.txt" ||
	{ cat "$T/pp-21.txt"; fail "hand-made header from 127.0.0.21: no complete AXFR"; }
ok "hand-made PROXY v2 from 127.0.0.21: AXFR complete ($(cat "$T/pp-21.txt"))"
python3 "$PPV2" --port "$PD" --src 127.0.0.21 --tlvs pp.test AXFR >"$T/pp-21-tlv.txt" 2>&1
grep -q "records=$((ZN + 1)) soas=2 end=complete" "$T/pp-21-tlv.txt" ||
	{ cat "$T/pp-21-tlv.txt"; fail "hand-made header with AUTHORITY and SSL TLVs: no complete AXFR"; }
ok "with PP2_TYPE_AUTHORITY and PP2_TYPE_SSL TLVs: AXFR complete"
python3 "$PPV2" --port "$PD" --src 127.0.0.22 pp.test AXFR >"$T/pp-22.txt" 2>&1
grep -q 'rcode=NOTAUTH .*end=error' "$T/pp-22.txt" || { cat "$T/pp-22.txt"; fail "hand-made header from 127.0.0.22: not NOTAUTH"; }
ok "hand-made PROXY v2 from 127.0.0.22: PowerDNS answers NOTAUTH"
python3 "$PPV2" --port "$PD" --src 127.0.0.21 --no-header --timeout 5 pp.test SOA >"$T/pp-none.txt" 2>&1
grep -Eq 'end=(closed|timeout)' "$T/pp-none.txt" && grep -q 'msgs=0' "$T/pp-none.txt" ||
	{ cat "$T/pp-none.txt"; fail "PowerDNS answered 127.0.0.1 without a PROXY header"; }
ok "no header from 127.0.0.1: PowerDNS answers nothing ($(cat "$T/pp-none.txt"))"
kdig @127.0.0.1 -p "$PD" -b 127.0.0.21 +tcp +time=10 +retry=0 pp.test AXFR >"$T/direct.txt" 2>&1
xfr_ok "$T/direct.txt" "direct AXFR from 127.0.0.21 (no header: not in proxy-protocol-from)" $((ZN + 1))

# --- xotproxy with proxy-protocol = v2.
P=$(free_port) || fail "no free port"
policy_ini "$T/pp.ini" "$P" "$PD" proxy-protocol=v2
cat >>"$T/pp.ini" <<EOF

[acl local]
address = 127.0.0.0/8

[zone pp.test]
acl = local

[zone small.test]
acl = local
EOF
start_policy_proxy proxy "$T/pp.ini" "$P"
kdp() {
	local src=$1
	shift
	kdig @127.0.0.1 -p "$P" -b "$src" +tls-ca="$XOT_CA" +tls-hostname=xot.test +nopadding +time=15 +retry=0 "$@"
}
kdp 127.0.0.21 pp.test AXFR >"$T/via-21.txt" 2>&1
xfr_ok "$T/via-21.txt" "127.0.0.21 through xotproxy (PROXY v2)" $((ZN + 1))
same_records "$T/direct.txt" "$T/via-21.txt" "pp.test through xotproxy vs direct"
wait_until 10 grep -q "AXFR-out zone 'pp.test', client '127.0.0.1(127.0.0.21)', AXFR finished" "$PDNS_LOG" ||
	{ grep AXFR-out "$PDNS_LOG" | tail -n 5; fail "PowerDNS logged no finished AXFR for 127.0.0.1(127.0.0.21)"; }
ok "PowerDNS: $(grep "client '127.0.0.1(127.0.0.21)', AXFR finished" "$PDNS_LOG" | tail -n 1 | cut -d' ' -f4-)"
kdp 127.0.0.21 small.test AXFR >"$T/via-21-small.txt" 2>&1
xfr_ok "$T/via-21-small.txt" "127.0.0.21 small.test through xotproxy" $((XOT_ZONE_SMALL_N + 1))

n0=$(grep -c 'denied: client IP has no permission' "$PDNS_LOG")
kdp 127.0.0.22 pp.test AXFR >"$T/via-22.txt" 2>&1 && fail "127.0.0.22 transferred pp.test through xotproxy"
xfr_err "$T/via-22.txt" "127.0.0.22 through xotproxy" NOTAUTH
wait_until 10 grep -q "AXFR-out zone 'pp.test', client '127.0.0.22:[0-9]*', denied" "$PDNS_LOG" ||
	{ grep AXFR-out "$PDNS_LOG" | tail -n 5; fail "PowerDNS logged no denial for 127.0.0.22"; }
[ "$(grep -c 'denied: client IP has no permission' "$PDNS_LOG")" -gt "$n0" ] || fail "no new denial in PowerDNS's log"
ok "PowerDNS: $(grep "client '127.0.0.22:[0-9]*', denied" "$PDNS_LOG" | tail -n 1 | cut -d' ' -f4-)"
# The header carries the client's own source port: PowerDNS logs the denial
# for 127.0.0.22 with the port of the client's TLS connection.
pol --port "$P" --ca "$XOT_CA" --source 127.0.0.22 q:pp.test/AXFR >"$T/via-22-py.txt" 2>&1
[ "$(stream_field "$T/via-22-py.txt" rcode)" = NOTAUTH ] || { cat "$T/via-22-py.txt"; fail "python client from 127.0.0.22: not NOTAUTH"; }
port22=$(sed -n 's/.*connected from 127\.0\.0\.22#\([0-9]*\),.*/\1/p' "$T/via-22-py.txt")
[ -n "$port22" ] || fail "no source port in the python client's output"
wait_until 10 grep -q "AXFR-out zone 'pp.test', client '127.0.0.22:$port22', denied" "$PDNS_LOG" ||
	{ grep "127.0.0.22:" "$PDNS_LOG" | tail -n 3; fail "PowerDNS did not log the denial for 127.0.0.22:$port22 (the client's port)"; }
ok "the header carries the client's address and port: PowerDNS denied 127.0.0.22:$port22"
kdp 127.0.0.22 +edns pp.test SOA >"$T/via-22-soa.txt" 2>&1
assert_answer "$T/via-22-soa.txt" "127.0.0.22 SOA through xotproxy (PowerDNS answers it)" NOERROR
wait_until 10 grep -q "127.0.0.1(127.0.0.22) wants 'pp.test|SOA'" "$PDNS_LOG" ||
	{ grep wants "$PDNS_LOG" | tail -n 3; fail "PowerDNS did not see the SOA as from 127.0.0.22"; }
ok "PowerDNS saw the SOA from 127.0.0.1(127.0.0.22)"
# The same session for a denied and an allowed client address is not a
# thing (one address per session), but one session carries several queries:
# each backend connection gets its header.
pol --port "$P" --ca "$XOT_CA" --source 127.0.0.21 q:pp.test/SOA q:pp.test/AXFR q:small.test/AXFR >"$T/via-21-py.txt" 2>&1 ||
	{ cat "$T/via-21-py.txt"; fail "three queries on one session from 127.0.0.21"; }
[ "$(stream_field "$T/via-21-py.txt" records 2)" = $((ZN + 1)) ] && [ "$(stream_field "$T/via-21-py.txt" records 3)" = $((XOT_ZONE_SMALL_N + 1)) ] ||
	{ cat "$T/via-21-py.txt"; fail "one session from 127.0.0.21: transfers incomplete"; }
ok "one session from 127.0.0.21: SOA, AXFR pp.test, AXFR small.test"
alive "$PROXY_PID" || fail "proxy died"
stop_pid "$PROXY_PID" TERM 10 || fail "proxy exited with status $? on SIGTERM"

# --- control: the same proxy without proxy-protocol gets nothing from it.
P=$(free_port) || fail "no free port"
sed "s/^listen = .*/listen = 127.0.0.1:$P/; /^proxy-protocol/d" "$T/pp.ini" >"$T/nopp.ini"
start_policy_proxy proxy-nopp "$T/nopp.ini" "$P"
kdp 127.0.0.21 pp.test AXFR >"$T/nopp.txt" 2>&1 && fail "AXFR without the PROXY header succeeded"
[ -z "$(xfr_records "$T/nopp.txt")" ] || [ "$(xfr_records "$T/nopp.txt")" = 0 ] || fail "records arrived without the header"
ok "without proxy-protocol: no transfer ($(grep -E "ERROR|error" "$T/nopp.txt" | head -n 1))"
alive "$PROXY_PID" || fail "proxy (no header) died"
alive "$PDNS_PID" || fail "PowerDNS died"
pass
