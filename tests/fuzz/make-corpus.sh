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
