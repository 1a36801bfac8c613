/* certfix.h - the openssl test-CA parts the TLS unit tests share: the
 * `openssl ca` sections of their x.cnf, and the shell functions (ec, mkca,
 * leaf) their fixture scripts use to make CAs and certificates. */
#ifndef XP_CERTFIX_H
#define XP_CERTFIX_H

#define CERTFIX_CA_CNF \
	"[ca]\n" \
	"default_ca = tca\n" \
	"[tca]\n" \
	"database = db/index.txt\n" \
	"new_certs_dir = db\n" \
	"rand_serial = yes\n" \
	"default_md = sha256\n" \
	"policy = pol\n" \
	"unique_subject = no\n" \
	"[pol]\n" \
	"commonName = supplied\n"

/* leaf NAME CA CN EXT [openssl ca date options]: the key NAME.key must exist */
#define CERTFIX_FUNCS \
	"mkdir db && : >db/index.txt\n" \
	"ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\"; }\n" \
	"mkca() {\n" \
	"  ec $1.key\n" \
	"  openssl req -x509 -new -key $1.key -subj \"/CN=$2\" -days 30 -config x.cnf -extensions ca_ext -out $1.pem\n" \
	"}\n" \
	"leaf() {\n" \
	"  n=$1 ca=$2 cn=$3 ext=$4; shift 4\n" \
	"  openssl req -new -key $n.key -subj \"/CN=$cn\" -config x.cnf -out $n.csr\n" \
	"  openssl ca -batch -notext -config x.cnf -cert $ca.pem -keyfile $ca.key -extensions $ext \\\n" \
	"    -in $n.csr -out $n.pem \"$@\" 2>>openssl.log\n" \
	"}\n"

#endif
