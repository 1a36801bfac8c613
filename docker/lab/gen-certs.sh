#!/bin/sh
# gen-certs.sh [DIR] - throwaway lab credentials for docker/compose.yml, in DIR (default
# docker/lab/tls/, which compose.yml mounts read-only; another DIR: set XOT_LAB_TLS to it):
# the CA certificate (ca.pem), the inbound proxy's ECDSA P-256 certificate for DNS:xot.test
# (server.pem, server.key) and the TSIG key both named and kdig share (tsig.key). The CA's
# private key is deleted once the certificate is signed: run this again for new ones. Lab only.
set -eu
dir=${1:-$(dirname "$0")/tls}
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
	-subj "/CN=xot lab CA" -keyout ca.key -out ca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-subj "/CN=xot.test" -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName = DNS:xot.test\nextendedKeyUsage = serverAuth\n' >ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile ext.cnf -out server.pem 2>/dev/null
rm -f server.csr ext.cnf ca.srl ca.key
printf 'key "xfr-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' \
	"$(openssl rand -base64 32)" >tsig.key
# named runs as user bind (its uid depends on the image): the TSIG key is readable by all
# inside this lab. The proxies run as uid 10853: as root (rootful podman), the server key
# goes to that uid with mode 0600; otherwise it is readable by all too (the proxy warns).
chmod 0755 .
chmod 0644 ca.pem server.pem server.key tsig.key
if [ "$(id -u)" = 0 ]; then
	chown 10853:10853 server.key
	chmod 0600 server.key
fi
echo "written: $(pwd)/{ca.pem,server.pem,server.key,tsig.key}"
