#!/bin/sh
# gen-certs.sh - throwaway lab credentials in docker/lab/tls/ for docker/compose.yml:
# a CA (ca.pem), the inbound proxy's ECDSA P-256 certificate for DNS:xot.test
# (server.pem, server.key) and the TSIG key both named share (tsig.key). Lab only.
set -eu
cd "$(dirname "$0")"
mkdir -p tls
cd tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
	-subj "/CN=xot lab CA" -keyout ca.key -out ca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-subj "/CN=xot.test" -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName = DNS:xot.test\nextendedKeyUsage = serverAuth\n' >ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile ext.cnf -out server.pem 2>/dev/null
rm -f server.csr ext.cnf ca.srl
printf 'key "xfr-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' \
	"$(openssl rand -base64 32)" >tsig.key
# The proxies run as uid 10853, named as user bind: readable by all inside this lab.
chmod 0644 server.key tsig.key
chmod 0600 ca.key
echo "written: $(pwd)/{ca.pem,server.pem,server.key,tsig.key}"
