#!/bin/sh
# make-corpus.sh - writes the small seed corpora for the fuzz targets from
# hand-built DNS messages (printf only: no captured traffic, no tools).
set -eu
d=$(dirname "$0")/corpus
mkdir -p "$d/dnsmsg" "$d/respscan"
q='\0\1\0\0\0\1\0\0\0\0\0\0\7example\4test\0'
printf "$q"'\0\374\0\1' > "$d/dnsmsg/axfr"
printf "$q"'\0\6\0\1' > "$d/dnsmsg/soa"
printf '\0\2\0\0\0\1\0\0\0\1\0\1\7example\4test\0\0\373\0\1\300\14\0\6\0\1\0\0\0\0\0\30\300\14\300\14\0\0\0\5\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\51\4\320\0\0\0\0\0\4\0\14\0\0' > "$d/dnsmsg/ixfr-edns-pad"
printf '\0\3\0\0\0\1\0\0\0\0\0\1\1a\0\0\374\0\1\3key\0\0\372\0\377\0\0\0\0\0\10\0\0\0\0\0\0\0\0' > "$d/dnsmsg/tsig"
printf '\0\4\0\0\0\1\0\0\0\0\0\0\300\14\0\6\0\1' > "$d/dnsmsg/loop"
# respscan: a chunk-size byte, then framed answers (SOA; A; SOA).
soa='\7example\4test\0\0\6\0\1\0\0\1\54\0\30\300\14\300\14\0\0\0\7\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
printf '\3\0\76\0\1\204\0\0\0\0\1\0\0\0\0'"$soa" > "$d/respscan/soa"
printf '\1\0\12\0\0\0\0\0\0\0\0\0\0\0\0\0\5abcde' > "$d/respscan/short-frames"
# conf: a full file, a minimal one, comments with CRLF, errors, and the
# regression seed for the one bug the fuzzer found (a value starting with '#'
# did not survive conf_print's round trip).
mkdir -p "$d/conf"
printf '[global]\nlog-level = debug\nuser = nobody\n\n[inbound]\nlisten = 127.0.0.1:8853 [::1]:8853\ncert = server.pem\nkey = server.key\nbackend = 127.0.0.1:53\nhandshake-timeout = 10\nidle-timeout = 30\nmax-clients = 1024\nmax-clients-per-ip = 64\n\n[zone example.com]\nallow = 127.0.0.0/8 ::1\n' > "$d/conf/full.ini"
printf '[inbound]\ncert = a.pem\nkey = a.key\n' > "$d/conf/minimal.ini"
printf '[inbound] # comment\r\ncert = a.pem ; chain\r\nkey = a.key\r\n[zone Example.COM.]\r\nallow = ::ffff:10.0.0.0/104 2001:db8::/32 # acl\r\n[zone b\\.c.test]\r\n' > "$d/conf/comments_crlf.ini"
printf '[inbound]\ncert = a\nkey = b\nidle-timeout = 10s\n[zone a]\n[zone A.]\n' > "$d/conf/errors.ini"
printf '[inbound]\ncert =#x\nkey = k\n' > "$d/conf/regression-hash-value.ini"
# relay: flags f0 f1 f2, verdicts v0-v3 (0: policy_filter), then the client
# stream and the backend stream (each after a 2-octet length), then control
# ops (op | arg << 3); see tests/fuzz/fuzz_relay.c. Queries for example.test:
# SOA id 1, AXFR id 2, A id 3 (refused by the filter); answers: SOA for id 1,
# AXFR for id 2 in two messages (SOA+A, SOA).
mkdir -p "$d/relay"
qn='\7example\4test\0'
soa_rr='\300\14\0\6\0\1\0\0\1\54\0\30\300\14\300\14\0\0\0\7\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
q_soa='\0\36\0\1\0\0\0\1\0\0\0\0\0\0'"$qn"'\0\6\0\1'
q_axfr='\0\36\0\2\0\0\0\1\0\0\0\0\0\0'"$qn"'\0\374\0\1'
q_a='\0\36\0\3\0\0\0\1\0\0\0\0\0\0'"$qn"'\0\1\0\1'
a_soa='\0\102\0\1\204\0\0\1\0\1\0\0\0\0'"$qn"'\0\6\0\1'"$soa_rr"
a_axfr1='\0\126\0\2\204\0\0\1\0\2\0\0\0\0'"$qn"'\0\374\0\1'"$soa_rr"'\3www\300\14\0\1\0\1\0\0\1\54\0\4\300\0\2\1'
a_axfr2='\0\74\0\2\204\0\0\0\0\1\0\0\0\0'"$qn"'\0\6\0\1\0\0\1\54\0\30\300\14\300\14\0\0\0\7\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
# SOA query and its answer, all at once.
printf '\1\0\0\0\0\0\0\0\40'"$q_soa"'\0\104'"$a_soa"'\360\7\370' > "$d/relay/soa"
# The same in small pieces, short writes both ways, then the client closes.
printf '\17\0\2\0\0\0\0\0\40'"$q_soa"'\0\104'"$a_soa"'\40\40\40\40\40\40\40\103\103\103\101\101\101\101\101\101\102\102\102\102\102\102\7\370' > "$d/relay/soa-chunked"
# AXFR answered in two messages, read 12 octets at a time.
printf '\3\0\2\0\0\0\0\0\40'"$q_axfr"'\0\226'"$a_axfr1$a_axfr2"'\360\101\101\101\101\101\101\101\101\101\101\101\101\101\101\7\370' > "$d/relay/axfr-two"
# Pipelined: SOA, AXFR and a refused A query, then the answers; the client
# takes 12 octets a write.
printf '\7\0\2\0\0\0\0\0\140'"$q_soa$q_axfr$q_a"'\0\332'"$a_soa$a_axfr1$a_axfr2"'\360\361\102\102\102\102\102\102\102\102\102\102\102\102\102\102\102\102\102\102\102\102\102\102\102\102\370' > "$d/relay/pipelined"
# A 5000-octet query frame (FORMERR, skipped), then an SOA query.
{ printf '\1\0\0\0\0\0\0\23\252\23\210\0\4\0\0\0\1\0\0\0\0\0\0'"$qn"'\0\6\0\1'
  i=0; while [ $i -lt 497 ]; do printf '\0\0\0\0\0\0\0\0\0\0'; i=$((i + 1)); done
  printf "$q_soa"'\0\104'"$a_soa"'\360\7\370'; } > "$d/relay/oversized"
# The backend never answers: the timer fires early, then the upstream
# deadline passes (SERVFAIL, EDE), then the idle one (close_notify).
printf '\3\0\2\0\0\0\0\0\40'"$q_axfr"'\0\0\360\7\5\25\7\35' > "$d/relay/upstream-timeout"
# The upstream cannot be opened (outbound: SERVFAIL, EDE 22).
printf '\1\200\3\0\0\0\0\0\40'"$q_soa"'\0\0\360\370' > "$d/relay/upstream-open-fails"
# Server stop in the middle of an AXFR: the rest is still relayed.
printf '\3\0\2\0\0\0\0\0\40'"$q_axfr"'\0\226'"$a_axfr1$a_axfr2"'\360\171\6\361\7' > "$d/relay/stop-mid-axfr"
# Over the session caps: 10 AXFR (ids 1-10) and 9 SOA (ids 11-19) pipelined:
# the 9th and 10th AXFR get SERVFAIL (transfer limit), the 9th SOA too (query
# limit); verdicts carry tokens (and ask for signed answers every 4th query).
{ printf '\3\0\2\10\30\0\10\2\140'
  for i in 1 2 3 4 5 6 7 10 11 12; do printf '\0\36\0\'"$i"'\0\0\0\1\0\0\0\0\0\0'"$qn"'\0\374\0\1'; done
  for i in 13 14 15 16 17 20 21 22 23; do printf '\0\36\0\'"$i"'\0\0\0\1\0\0\0\0\0\0'"$qn"'\0\6\0\1'; done
  printf '\0\0\360\7'; } > "$d/relay/caps"

# Issue 13. An answer with an unknown ID (9) before the SOA answer: withheld,
# the upstream retired, SERVFAIL for id 1.
a_soa9='\0\102\0\11\204\0\0\1\0\1\0\0\0\0'"$qn"'\0\6\0\1'"$soa_rr"
printf '\1\0\0\0\0\0\0\0\40'"$q_soa"'\0\210'"$a_soa9$a_soa"'\360\7\370' > "$d/relay/unknown-id"
# The same with the upstream_retry hook, the backend in pieces of 64, 4 and
# 100 octets: the unknown frame is rejected in the first (the rest of that
# read is discarded), the second connection starts with its last 4 octets
# (a frame of 0 octets: retired too), the third gets the real answer; the
# SOA is sent again on each.
printf '\3\0\40\0\0\0\0\0\40'"$q_soa"'\0\210'"$a_soa9$a_soa"'\360\7\171\31\201\7\370' > "$d/relay/unknown-id-retry"
# IXFR id 4 answered with a lone SOA, then the client closes: the upstream
# is not clean (the answer may go on). Then a variant where it does go on.
q_ixfr='\0\102\0\4\0\0\0\1\0\0\0\1\0\0'"$qn"'\0\373\0\1\300\14\0\6\0\1\0\0\0\0\0\30\300\14\300\14\0\0\0\5\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
a_lone='\0\102\0\4\204\0\0\1\0\1\0\0\0\0'"$qn"'\0\373\0\1'"$soa_rr"
a_more='\0\55\0\4\204\0\0\0\0\1\0\0\0\0\3www\300\14\0\1\0\1\0\0\1\54\0\4\300\0\2\1\300\14\0\1\0\1\0\0\1\54\0\4\300\0\2\2'
printf '\3\0\0\0\0\0\0\0\104'"$q_ixfr"'\0\104'"$a_lone"'\360\7\171\31\7\370' > "$d/relay/lone-soa-close"
printf '\1\0\0\0\0\0\0\0\104'"$q_ixfr"'\0\163'"$a_lone$a_more"'\360\7\7\370' > "$d/relay/lone-soa-more"
# Retry: the first upstream_open fails, then one after an EOF before any
# answer octet; the SOA goes out again each time and is answered.
printf '\1\200\40\0\0\0\0\0\40'"$q_soa"'\0\104'"$a_soa"'\360\7\7\370' > "$d/relay/retry-open"
printf '\3\0\40\0\0\0\0\0\40'"$q_soa"'\0\104'"$a_soa"'\360\7\371\7\361\7\370' > "$d/relay/retry-eof"
# A verdict with a token and signed answers, a reload, then the backend
# fails: the SERVFAIL is signed with the token's (old) snapshot.
printf '\3\0\0\30\30\30\30\0\40'"$q_soa"'\0\0\360\16\371\7\370' > "$d/relay/reload-servfail"
# A UDP-like client (whole messages): the backend cuts the answer in the
# middle of the frame and closes: SERVFAIL, never the part.
printf '\1\0\20\0\0\0\0\0\40'"$q_soa"'\0\50'"$a_soa"'\360\7\370' | head -c 82 > "$d/relay/whole-cut"
printf '\0\0\360\7\370' >> "$d/relay/whole-cut"
# t98: the lone-SOA-close case on the outbound direction (which releases
# idle upstreams): the lone newer SOA leaves a quiet upstream that must be
# closed, not held (invariant e).
printf '\3\0\1\0\0\0\0\0\104'"$q_ixfr"'\0\104'"$a_lone"'\360\7\171\31\7\370' > "$d/relay/lone-newer-idle-outbound"
# t97: a whole-message client, the backend sends 22 octets of a frame of
# 1000 whose header carries the query's ID and stalls; the upstream limit
# passes (op 5 arg 2): the first-octet deadline still applies (invariant f).
a_long='\3\350\0\1\204\0\0\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
printf '\3\0\21\0\0\0\0\0\40'"$q_soa"'\0\26'"$a_long"'\360\7\161\7\25\7\370' > "$d/relay/whole-longframe-timeout"

# tsig: the signed requests of the unit-test vectors (dnspython- and
# kdig-made; tests/unit/tsig_vectors), as raw messages.
mkdir -p "$d/tsig"
for f in "$(dirname "$0")"/../unit/tsig_vectors/*.txt; do
	sed -n 's/^request //p' "$f" | python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))' \
		>"$d/tsig/$(basename "$f" .txt)"
done
