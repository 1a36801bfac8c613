#!/bin/sh
# check-requirements.sh - every requirement ID cited in the tree (code, tests,
# docs, man pages) is defined in docs/requirements.md. Prints the missing IDs
# and exits 1 if there are any.
set -eu
cd "$(dirname "$0")/.."
re='\b(XOT|DOT|TCP|AXFR|IXFR|TSIG|NOTIFY|EDNS|PRX|SER|ROB)-[0-9]+\b'
used=$(grep -rhoE "$re" proxy tls conf tests README.md man dist docker scripts bench Makefile mk \
       --exclude=check-requirements.sh 2>/dev/null | sort -u)
defined=$(grep -oE '^\| [A-Z]+-[0-9]+ ' docs/requirements.md | cut -c3- | tr -d ' ' | sort -u)
missing=$(printf '%s\n' "$used" | grep -vxF -e "$defined" || true)
n_used=$(printf '%s\n' "$used" | grep -c . || true)
if [ -n "$missing" ]; then
	echo "requirement IDs cited but not defined in docs/requirements.md:"
	printf '  %s\n' $missing
	exit 1
fi
echo "requirements: all $n_used cited IDs are defined in docs/requirements.md"
