#!/bin/sh
# gen-zone.sh ORIGIN N [SERIAL] (copy of tests/integ/gen-zone.sh, kept here so the bench
# does not change when the tests do) - write a zone file for ORIGIN to stdout that
# holds exactly N resource records (N >= 3), counting the SOA, the apex NS and
# the name server's A record. A full AXFR of it therefore carries N+1 records
# (the SOA is repeated at the end, RFC 5936 section 2.2).
# Only sh and awk: no other dependencies.
set -eu
if [ $# -lt 2 ]; then
	echo "usage: $0 ORIGIN N [SERIAL]" >&2
	exit 2
fi
origin=${1%.}.
n=$2
serial=${3:-1}
case $n in
	''|*[!0-9]*) echo "$0: N must be a number" >&2; exit 2 ;;
esac
if [ "$n" -lt 3 ]; then
	echo "$0: N must be at least 3" >&2
	exit 2
fi
awk -v origin="$origin" -v n="$n" -v serial="$serial" 'BEGIN {
	printf "$ORIGIN %s\n$TTL 3600\n", origin
	printf "@\tIN\tSOA\tns1 hostmaster %d 3600 600 86400 300\n", serial
	printf "@\tIN\tNS\tns1\n"
	printf "ns1\tIN\tA\t192.0.2.1\n"
	# Remaining records: a deterministic mix of types spread over names.
	for (i = 0; i < n - 3; i++) {
		h = "h" i
		t = i % 5
		if (t == 0)
			printf "%s\tIN\tA\t10.%d.%d.%d\n", h, int(i / 65536) % 256, int(i / 256) % 256, i % 256
		else if (t == 1)
			printf "%s\tIN\tAAAA\t2001:db8::%x:%x\n", h, int(i / 65536), i % 65536
		else if (t == 2)
			printf "%s\tIN\tTXT\t\"record %d of %d\"\n", h, i, n
		else if (t == 3)
			printf "%s\tIN\tMX\t10 h%d\n", h, i - 3
		else
			printf "%s\tIN\tCNAME\th%d\n", h, i - 4
	}
}'
