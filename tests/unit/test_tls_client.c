/* test_tls_client.c - the XoT client (tls/tls_client.c) against the real
 * server side (tls/tls.c) over a socketpair, both stepped non-blocking in one
 * thread. Certificates are made at suite start with openssl in a mkdtemp
 * directory: a CA and a second CA, server certs (SAN DNS:xot.test +
 * IP:127.0.0.1; expired; not yet valid; CN only; wildcard; RSA; one under
 * an intermediate CA), a client cert, and the pins openssl computes.
 * Requirement IDs: DOT-05..08, DOT-10, XOT-01, XOT-02 (docs/requirements.md). */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls/tls_client.h"
#include "certfix.h"
#include "unit.h"

static char dir[64];
static WOLFSSL_CTX *srv_ctx;            /* srv.pem: the good server */
static uint8_t pin_srv[32], pin_exp[32], pin_rsa[32], pin_isrv[32], pin_bad[32];
static char pin_srv_b64[64], pin_rsa_b64[64];

/* Writes the fixtures into the current directory. */
static const char gen_script[] =
	"set -e\n"
	"cat >x.cnf <<'EOF'\n"
	"[req]\n"
	"distinguished_name = dn\n"
	"[dn]\n"
	"[ca_ext]\n"
	"basicConstraints = critical, CA:TRUE\n"
	"keyUsage = critical, keyCertSign, cRLSign\n"
	"subjectKeyIdentifier = hash\n"
	"[srv]\n"
	"basicConstraints = CA:FALSE\n"
	"keyUsage = critical, digitalSignature, keyEncipherment\n"
	"extendedKeyUsage = serverAuth\n"
	"subjectAltName = DNS:xot.test, IP:127.0.0.1\n"
	"[wild]\n"
	"basicConstraints = CA:FALSE\n"
	"extendedKeyUsage = serverAuth\n"
	"subjectAltName = DNS:*.xot.test, DNS:*.test\n"
	"[cnonly]\n"
	"basicConstraints = CA:FALSE\n"
	"extendedKeyUsage = serverAuth\n"
	"[cli]\n"
	"basicConstraints = CA:FALSE\n"
	"keyUsage = critical, digitalSignature\n"
	"extendedKeyUsage = clientAuth\n"
	CERTFIX_CA_CNF
	"EOF\n"
	CERTFIX_FUNCS
	"pin() { openssl x509 -in $1.pem -pubkey -noout | openssl pkey -pubin -outform der |\n"
	"  openssl dgst -sha256 -binary | base64 >$1.pin; }\n"
	"mkca ca 'Test CA'\n"
	"mkca ca2 'Other CA'\n"
	"for n in srv exp future cn wild cli int isrv; do ec $n.key; done\n"
	"openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key\n"
	"leaf srv ca xot.test srv -days 30\n"
	"leaf exp ca xot.test srv -startdate 20200101000000Z -enddate 20200201000000Z\n"
	"leaf future ca xot.test srv -startdate 20990101000000Z -enddate 20991231000000Z\n"
	"leaf cn ca xot.test cnonly -days 30\n"
	"leaf wild ca wild.xot.test wild -days 30\n"
	"leaf rsa ca xot.test srv -days 30\n"
	"leaf cli ca secondary1 cli -days 30\n"
	"leaf int ca 'Test Intermediate' ca_ext -days 30\n"
	"leaf isrv int xot.test srv -days 30\n"
	"cat isrv.pem int.pem >ichain.pem && cp isrv.key ichain.key\n"
	"openssl x509 -in srv.pem -outform der -out srv.der\n"
	"for n in srv exp rsa isrv; do pin $n; done\n";

static const char *
fx(const char *name)
{
	static char bufs[16][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 16];
	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

static int
read_pin(const char *name, uint8_t out[32], char *b64)
{
	char line[128] = "";
	FILE *f = fopen(fx(name), "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (b64 != NULL)
		snprintf(b64, 64, "%.63s", line);
	return tls_pin_parse(line, out);
}

static int
suite_init(void)
{
	char cmd[PATH_MAX + 128], err[TLS_ERR_MAX];
	snprintf(dir, sizeof(dir), "/tmp/xot-tlsclient.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	FILE *f = fopen(fx("gen.sh"), "w");
	if (f == NULL || fputs(gen_script, f) < 0 || fclose(f) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "cd %s && sh gen.sh >gen.log 2>&1", dir);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "cat %s/gen.log %s/openssl.log >&2", dir, dir);
		(void)system(cmd);
		return -1;
	}
	if (tls_init() != 0 || read_pin("srv.pin", pin_srv, pin_srv_b64) != 0 ||
	    read_pin("exp.pin", pin_exp, NULL) != 0 || read_pin("rsa.pin", pin_rsa, pin_rsa_b64) != 0 ||
	    read_pin("isrv.pin", pin_isrv, NULL) != 0)
		return -1;
	memset(pin_bad, 0x5a, sizeof(pin_bad));
	srv_ctx = tls_server_ctx_new(fx("srv.pem"), fx("srv.key"), NULL, err);
	if (srv_ctx == NULL) {
		fprintf(stderr, "server ctx: %s\n", err);
		return -1;
	}
	return 0;
}

static int
suite_clean(void)
{
	char cmd[PATH_MAX + 16];
	wolfSSL_CTX_free(srv_ctx);
	srv_ctx = NULL;
	tls_cleanup();
	if (dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)system(cmd);
	}
	return 0;
}

/* ---- one handshake over a socketpair ---------------------------------------- */

/* The server side: tls.c's session (ALPN "dot"), that session also
 * recording SNI "xot.test", no ALPN at all, or ALPN "h2" only. */
enum srv_kind { SRV_DOT, SRV_DOT_SNI, SRV_NONE, SRV_H2 };

struct hs {
	int fd[2];
	WOLFSSL *srv, *cli;
	enum tls_io cres, sres;
	char cerr[TLS_ERR_MAX], serr[TLS_ERR_MAX];
	enum reason cwhy;               /* the client's failure as a code */
};

static WOLFSSL *
server_session(WOLFSSL_CTX *sctx, int fd, enum srv_kind alpn)
{
	if (alpn == SRV_DOT || alpn == SRV_DOT_SNI) {
		WOLFSSL *ssl = tls_session_new(sctx, fd);
		/* wolfSSL's server keeps the client's SNI only when it has one too */
		if (ssl != NULL && alpn == SRV_DOT_SNI &&
		    wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, "xot.test", 8) != WOLFSSL_SUCCESS) {
			wolfSSL_free(ssl);
			return NULL;
		}
		return ssl;
	}
	WOLFSSL *ssl = wolfSSL_new(sctx);
	char h2[] = "h2";
	if (ssl == NULL || wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS ||
	    (alpn == SRV_H2 && wolfSSL_UseALPN(ssl, h2, 2, WOLFSSL_ALPN_FAILED_ON_MISMATCH) != WOLFSSL_SUCCESS)) {
		wolfSSL_free(ssl);
		return NULL;
	}
	return ssl;
}

static bool
hs_open(struct hs *h, WOLFSSL_CTX *sctx, enum srv_kind alpn, WOLFSSL_CTX *cctx, WOLFSSL_SESSION *resume)
{
	memset(h, 0, sizeof(*h));
	h->cres = h->sres = TLS_IO_WANT_READ;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, h->fd) != 0)
		return false;
	h->srv = server_session(sctx, h->fd[0], alpn);
	h->cli = tls_client_session_new(cctx, h->fd[1], resume);
	return h->srv != NULL && h->cli != NULL;
}

static bool
finished(enum tls_io r)
{
	return r == TLS_IO_OK || r == TLS_IO_ERR || r == TLS_IO_EOF;
}

/* Steps both sides until both finished (bounded). */
static void
hs_step(struct hs *h)
{
	for (int i = 0; i < 200 && !(finished(h->cres) && finished(h->sres)); i++) {
		if (!finished(h->cres))
			h->cres = tls_client_handshake_why(h->cli, h->cerr, &h->cwhy);
		if (!finished(h->sres)) {
			int r = wolfSSL_accept(h->srv);
			h->sres = r == WOLFSSL_SUCCESS ? TLS_IO_OK : tls_io_result(h->srv, r, h->serr);
		}
	}
}

static void
hs_close(struct hs *h)
{
	wolfSSL_free(h->cli);
	wolfSSL_free(h->srv);
	close(h->fd[0]);
	close(h->fd[1]);
}

/* Runs a handshake with the given auth against a server context; returns
 * the client result, reason in h (open: caller closes). */
static enum tls_io
hs_run(struct hs *h, WOLFSSL_CTX *sctx, enum srv_kind alpn, const struct tls_client_auth *auth)
{
	char err[TLS_ERR_MAX];
	WOLFSSL_CTX *cctx = tls_client_ctx_new(auth, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cctx);
	CU_ASSERT_FATAL(hs_open(h, sctx, alpn, cctx, NULL));
	wolfSSL_CTX_free(cctx);                 /* the sessions keep a reference */
	hs_step(h);
	return h->cres;
}

static WOLFSSL_CTX *
server_ctx(const char *name)
{
	char cert[PATH_MAX], key[PATH_MAX], err[TLS_ERR_MAX];
	snprintf(cert, sizeof(cert), "%s/%s.pem", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	WOLFSSL_CTX *ctx = tls_server_ctx_new(cert, key, NULL, err);
	CU_ASSERT_PTR_NOT_NULL(ctx);
	return ctx;
}

/* Application data goes through both ways (the session really works). */
static void
assert_data_flows(struct hs *h)
{
	char buf[16];
	CU_ASSERT_EQUAL(wolfSSL_write(h->cli, "ping", 4), 4);
	CU_ASSERT_EQUAL(wolfSSL_read(h->srv, buf, sizeof(buf)), 4);
	CU_ASSERT_EQUAL(memcmp(buf, "ping", 4), 0);
	CU_ASSERT_EQUAL(wolfSSL_write(h->srv, "pong", 4), 4);
	int n = -1;
	for (int i = 0; i < 4 && n <= 0; i++)       /* the ticket may come first */
		n = wolfSSL_read(h->cli, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, 4);
}

/* A refused handshake: the client reports ERR, the server never completes
 * (it got an alert) and no application byte reached it. */
static void
assert_refused(struct hs *h)
{
	char buf[16];
	CU_ASSERT_EQUAL(h->cres, TLS_IO_ERR);
	CU_ASSERT_NOT_EQUAL(h->sres, TLS_IO_OK);
	CU_ASSERT(wolfSSL_read(h->srv, buf, sizeof(buf)) <= 0);
	CU_ASSERT_PTR_NULL(tls_client_session_get(h->cli));
}

#define HAS(s, sub) CU_ASSERT_PTR_NOT_NULL(strstr((s), (sub)))

/* ---- cases -------------------------------------------------------------------- */

/* CA + name: verified, ALPN dot, SNI = name (DOT-06/07/10, XOT-01/02). */
static void
test_ca_name_ok(void)
{
	struct hs h;
	struct tls_client_auth a = { .ca = fx("ca.pem"), .auth_name = "xot.test" };
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT_SNI, &a), TLS_IO_OK);
	CU_ASSERT_STRING_EQUAL(h.cerr, "");
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT(tls_alpn_is_dot(h.cli));
	CU_ASSERT_STRING_EQUAL(wolfSSL_get_version(h.cli), "TLSv1.3");
	CU_ASSERT_EQUAL(wolfSSL_session_reused(h.cli), 0);
	void *sni = NULL;
	CU_ASSERT_EQUAL(wolfSSL_SNI_GetRequest(h.srv, WOLFSSL_SNI_HOST_NAME, &sni), 8);
	CU_ASSERT(sni != NULL && memcmp(sni, "xot.test", 8) == 0);
	assert_data_flows(&h);
	hs_close(&h);
}

/* An IP literal matches an IP SAN only and is not sent as SNI. */
static void
test_ip_name(void)
{
	struct hs h;
	struct tls_client_auth a = { .ca = fx("ca.pem"), .auth_name = "127.0.0.1" };
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT_SNI, &a), TLS_IO_OK);
	void *sni = NULL;
	CU_ASSERT_EQUAL(wolfSSL_SNI_GetRequest(h.srv, WOLFSSL_SNI_HOST_NAME, &sni), 0);
	hs_close(&h);

	a.auth_name = "127.0.0.2";
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT, &a), TLS_IO_ERR);
	HAS(h.cerr, "name 127.0.0.2 not in SANs [xot.test, 127.0.0.1]");
	assert_refused(&h);
	hs_close(&h);
}

/* Chain from another CA: refused, the reason names the CA file and issuer. */
static void
test_wrong_ca(void)
{
	struct hs h;
	struct tls_client_auth a = { .ca = fx("ca2.pem"), .auth_name = "xot.test" };
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT, &a), TLS_IO_ERR);
	HAS(h.cerr, "certificate verification failed: ");
	CU_ASSERT_EQUAL(h.cwhy, RSN_HS_CERTIFICATE);        /* the text names ALPN too */
	HAS(h.cerr, "issuer not trusted by CA file ");
	HAS(h.cerr, "ca2.pem");
	HAS(h.cerr, "issuer CN=Test CA");
	HAS(h.cerr, "SANs [xot.test, 127.0.0.1]");
	CU_ASSERT_PTR_NULL(strstr(h.cerr, "not in SANs"));
	assert_refused(&h);
	hs_close(&h);
}

/* Wrong name: the reason names the expected name and everything presented. */
static void
test_wrong_name(void)
{
	struct hs h;
	char want[TLS_ERR_MAX];
	struct tls_client_auth a = { .ca = fx("ca.pem"), .auth_name = "ns1.example.net" };
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT, &a), TLS_IO_ERR);
	snprintf(want, sizeof(want), "certificate verification failed: name ns1.example.net not in "
	         "SANs [xot.test, 127.0.0.1]; issuer CN=Test CA; pin sha256:%s; ALPN dot", pin_srv_b64);
	CU_ASSERT_STRING_EQUAL(h.cerr, want);
	CU_ASSERT_PTR_NULL(strchr(h.cerr, '\n'));
	assert_refused(&h);
	hs_close(&h);

	const char *near[] = { "xot.test.evil", "xot.tes", "xxot.test" };   /* no prefix/suffix match */
	for (size_t i = 0; i < 3; i++) {
		a.auth_name = near[i];
		CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT, &a), TLS_IO_ERR);
		hs_close(&h);
	}
}

/* DOT-07: CN=xot.test without any SAN is not a DNS-ID. */
static void
test_cn_only_rejected(void)
{
	struct hs h;
	WOLFSSL_CTX *sctx = server_ctx("cn");
	struct tls_client_auth a = { .ca = fx("ca.pem"), .auth_name = "xot.test" };
	CU_ASSERT_EQUAL(hs_run(&h, sctx, SRV_DOT, &a), TLS_IO_ERR);
	HAS(h.cerr, "name xot.test not in SANs []");
	assert_refused(&h);
	hs_close(&h);
	wolfSSL_CTX_free(sctx);
}

/* *.xot.test matches exactly one label; *.test (too broad) matches nothing. */
static void
test_wildcard(void)
{
	static const struct {
		const char *name;
		enum tls_io want;
	} cases[] = {
		{ "ns1.xot.test", TLS_IO_OK }, { "NS1.Xot.Test.", TLS_IO_OK },
		{ "xot.test", TLS_IO_ERR }, { "a.b.xot.test", TLS_IO_ERR }, { "ns1.xot.testx", TLS_IO_ERR },
		{ "foo.test", TLS_IO_ERR }, { ".xot.test", TLS_IO_ERR },
	};
	WOLFSSL_CTX *sctx = server_ctx("wild");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hs h;
		struct tls_client_auth a = { .ca = fx("ca.pem"), .auth_name = cases[i].name };
		CU_ASSERT_EQUAL(hs_run(&h, sctx, SRV_DOT, &a), cases[i].want);
		if (cases[i].want == TLS_IO_ERR)
			HAS(h.cerr, "not in SANs [*.xot.test, *.test]");
		hs_close(&h);
	}
	wolfSSL_CTX_free(sctx);
}

/* DOT-05: pin-only, a pin set with a backup; the chain is not checked. */
static void
test_pin_ok(void)
{
	struct hs h;
	uint8_t pins[2][32];
	memcpy(pins[0], pin_bad, 32);
	memcpy(pins[1], pin_srv, 32);
	struct tls_client_auth a = { .pins = (const uint8_t (*)[32])pins, .n_pins = 2 };
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT, &a), TLS_IO_OK);
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	assert_data_flows(&h);
	hs_close(&h);

	/* pins + a CA that did not sign the chain: both must hold */
	a.ca = fx("ca2.pem");
	a.auth_name = "xot.test";
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT, &a), TLS_IO_ERR);
	HAS(h.cerr, "issuer not trusted");
	hs_close(&h);
}

/* Pin-only forgives "no trusted issuer" and nothing else: a leaf whose
 * extended key usage is clientAuth only is still refused. */
static void
test_pin_only_keeps_other_checks(void)
{
	struct hs h;
	char b64[64], err[TLS_ERR_MAX];
	uint8_t pin[32];
	CU_ASSERT_EQUAL_FATAL(tls_pin_of_cert_file(fx("cli.pem"), b64, err), 0);
	CU_ASSERT_EQUAL_FATAL(tls_pin_parse(b64, pin), 0);
	WOLFSSL_CTX *sctx = server_ctx("cli");
	struct tls_client_auth a = { .pins = (const uint8_t (*)[32])pin, .n_pins = 1 };
	CU_ASSERT_EQUAL(hs_run(&h, sctx, SRV_DOT, &a), TLS_IO_ERR);
	HAS(h.cerr, "certificate check failed: ");
	CU_ASSERT_PTR_NULL(strstr(h.cerr, "not among"));
	assert_refused(&h);
	hs_close(&h);
	wolfSSL_CTX_free(sctx);
}

static void
test_wrong_pin(void)
{
	struct hs h;
	char want[TLS_ERR_MAX];
	const uint8_t (*pins)[32] = (const uint8_t (*)[32])pin_bad;
	struct tls_client_auth a = { .pins = pins, .n_pins = 1 };
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT, &a), TLS_IO_ERR);
	/* presented and expected (pin_bad: 32 octets of 0x5a) */
	snprintf(want, sizeof(want), "pin sha256:%s not among the configured [sha256:%s]", pin_srv_b64,
	         "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=");
	HAS(h.cerr, want);
	HAS(h.cerr, "SANs [xot.test, 127.0.0.1]; issuer CN=Test CA");
	assert_refused(&h);
	hs_close(&h);
}

/* DOT-08: CA + name + pins, every one must match. */
static void
test_pin_and_name(void)
{
	struct hs h;
	const uint8_t (*good)[32] = (const uint8_t (*)[32])pin_srv;
	const uint8_t (*bad)[32] = (const uint8_t (*)[32])pin_bad;
	struct tls_client_auth a = { .ca = fx("ca.pem"), .auth_name = "ns1.example.net", .pins = good, .n_pins = 1 };
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT, &a), TLS_IO_ERR);       /* pin ok, name wrong */
	HAS(h.cerr, "name ns1.example.net not in SANs");
	CU_ASSERT_PTR_NULL(strstr(h.cerr, "not among"));
	assert_refused(&h);
	hs_close(&h);

	a.auth_name = "xot.test";
	a.pins = bad;
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT, &a), TLS_IO_ERR);       /* name ok, pin wrong */
	HAS(h.cerr, "not among the configured [sha256:WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=]");
	CU_ASSERT_PTR_NULL(strstr(h.cerr, "not in SANs"));
	hs_close(&h);

	a.pins = good;
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT, &a), TLS_IO_OK);        /* all three */
	hs_close(&h);

	a.ca = NULL;                              /* a name without a CA is still checked */
	a.auth_name = "ns1.example.net";
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_DOT, &a), TLS_IO_ERR);
	HAS(h.cerr, "name ns1.example.net not in SANs");
	hs_close(&h);
}

/* An expired certificate: no transfer, "expired" in the reason, with a CA
 * and with a pin alone (the documented choice). A future one likewise. */
static void
test_expired(void)
{
	struct hs h;
	WOLFSSL_CTX *sctx = server_ctx("exp");
	struct tls_client_auth a = { .ca = fx("ca.pem"), .auth_name = "xot.test" };
	CU_ASSERT_EQUAL(hs_run(&h, sctx, SRV_DOT, &a), TLS_IO_ERR);
	HAS(h.cerr, "certificate expired (notAfter 2020-02-01 00:00:00 UTC)");
	HAS(h.cerr, "issuer CN=Test CA");
	assert_refused(&h);
	hs_close(&h);

	const uint8_t (*pins)[32] = (const uint8_t (*)[32])pin_exp;
	struct tls_client_auth p = { .pins = pins, .n_pins = 1 };
	CU_ASSERT_EQUAL(hs_run(&h, sctx, SRV_DOT, &p), TLS_IO_ERR);
	HAS(h.cerr, "expired");
	CU_ASSERT_PTR_NULL(strstr(h.cerr, "not among"));
	hs_close(&h);
	wolfSSL_CTX_free(sctx);

	sctx = server_ctx("future");
	CU_ASSERT_EQUAL(hs_run(&h, sctx, SRV_DOT, &a), TLS_IO_ERR);
	HAS(h.cerr, "not yet valid (notBefore 2099-01-01 00:00:00 UTC)");
	hs_close(&h);
	wolfSSL_CTX_free(sctx);
}

/* RSA: the pin covers the whole SPKI (not bare PKCS#1) and matches openssl's. */
static void
test_rsa_pin(void)
{
	struct hs h;
	char b64[64], err[TLS_ERR_MAX];
	CU_ASSERT_EQUAL(tls_pin_of_cert_file(fx("rsa.pem"), b64, err), 0);
	CU_ASSERT_STRING_EQUAL(b64, pin_rsa_b64);
	WOLFSSL_CTX *sctx = server_ctx("rsa");
	const uint8_t (*pins)[32] = (const uint8_t (*)[32])pin_rsa;
	struct tls_client_auth a = { .pins = pins, .n_pins = 1 };
	CU_ASSERT_EQUAL(hs_run(&h, sctx, SRV_DOT, &a), TLS_IO_OK);
	hs_close(&h);
	wolfSSL_CTX_free(sctx);
}

/* A chain leaf + intermediate under Test CA: accepted with the root as CA,
 * refused under another CA (the reason names the chain certificate), and
 * pin-only judges the leaf's pin alone. */
static void
test_chain(void)
{
	struct hs h;
	WOLFSSL_CTX *sctx = server_ctx("ichain");
	struct tls_client_auth a = { .ca = fx("ca.pem"), .auth_name = "xot.test" };
	CU_ASSERT_EQUAL(hs_run(&h, sctx, SRV_DOT, &a), TLS_IO_OK);
	hs_close(&h);

	a.ca = fx("ca2.pem");
	CU_ASSERT_EQUAL(hs_run(&h, sctx, SRV_DOT, &a), TLS_IO_ERR);
	HAS(h.cerr, "issuer not trusted by CA file");
#ifdef XOT_LOCAL_WOLFSSL
	/* Debian's build (WOLFSSL_ALT_CERT_CHAINS) lets the intermediate pass
	 * and refuses at the leaf instead ("... issuer CN=Test Intermediate") */
	HAS(h.cerr, "chain certificate 1: issuer not trusted by CA file");
	HAS(h.cerr, "ca2.pem; subject CN=Test Intermediate; issuer CN=Test CA; ALPN dot");
#endif
	assert_refused(&h);
	hs_close(&h);
	/* the rejected intermediate did not become trusted: same context again */
	char err[TLS_ERR_MAX];
	WOLFSSL_CTX *cctx = tls_client_ctx_new(&a, err);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(hs_open(&h, sctx, SRV_DOT, cctx, NULL));
		hs_step(&h);
		CU_ASSERT_EQUAL(h.cres, TLS_IO_ERR);
		hs_close(&h);
	}
	wolfSSL_CTX_free(cctx);

	const uint8_t (*pins)[32] = (const uint8_t (*)[32])pin_isrv;
	struct tls_client_auth p = { .pins = pins, .n_pins = 1 };
	CU_ASSERT_EQUAL(hs_run(&h, sctx, SRV_DOT, &p), TLS_IO_OK);
	hs_close(&h);
	p.pins = (const uint8_t (*)[32])pin_srv;
	CU_ASSERT_EQUAL(hs_run(&h, sctx, SRV_DOT, &p), TLS_IO_ERR);
	HAS(h.cerr, "issuer CN=Test Intermediate");
	hs_close(&h);
	wolfSSL_CTX_free(sctx);
}

/* XOT-01: a primary that selects no ALPN, or only offers h2. */
static void
test_alpn(void)
{
	struct hs h;
	char buf[8];
	struct tls_client_auth a = { .ca = fx("ca.pem"), .auth_name = "xot.test" };
	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_NONE, &a), TLS_IO_ERR);
	CU_ASSERT_STRING_EQUAL(h.cerr, "the primary did not select ALPN \"dot\" (selected: none)");
	CU_ASSERT_EQUAL(h.cwhy, RSN_HS_ALPN);
	CU_ASSERT_EQUAL(wolfSSL_read(h.srv, buf, sizeof(buf)), -1);    /* nothing was sent */
	CU_ASSERT_EQUAL(wolfSSL_get_error(h.srv, -1), WOLFSSL_ERROR_WANT_READ);
	CU_ASSERT_EQUAL(wolfSSL_read(h.cli, buf, sizeof(buf)), -1);   /* takes the ticket */
	WOLFSSL_SESSION *sess = wolfSSL_get1_session(h.cli);
	CU_ASSERT(sess != NULL && wolfSSL_SESSION_has_ticket(sess));
	wolfSSL_SESSION_free(sess);
	CU_ASSERT_PTR_NULL(tls_client_session_get(h.cli));            /* not for reuse */
	hs_close(&h);

	CU_ASSERT_EQUAL(hs_run(&h, srv_ctx, SRV_H2, &a), TLS_IO_ERR);
	HAS(h.cerr, "alert from the primary");
	CU_ASSERT_EQUAL(reason_family(h.cwhy), RF_HANDSHAKE);
	CU_ASSERT_NOT_EQUAL(h.sres, TLS_IO_OK);
	hs_close(&h);
}

/* Mutual TLS: tls.c's server does not ask for client certificates, so this
 * server context is set up here to require one from Test CA. */
static void
test_mtls(void)
{
	struct hs h;
	char name[64] = "";
	WOLFSSL_CTX *sctx = server_ctx("srv");
	CU_ASSERT_EQUAL_FATAL(wolfSSL_CTX_load_verify_locations(sctx, fx("ca.pem"), NULL), WOLFSSL_SUCCESS);
	wolfSSL_CTX_set_verify(sctx, WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	struct tls_client_auth a = { .ca = fx("ca.pem"), .auth_name = "xot.test",
	                             .client_cert = fx("cli.pem"), .client_key = fx("cli.key") };
	CU_ASSERT_EQUAL(hs_run(&h, sctx, SRV_DOT, &a), TLS_IO_OK);
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	WOLFSSL_X509 *peer = wolfSSL_get_peer_certificate(h.srv);
	CU_ASSERT_PTR_NOT_NULL(peer);
	if (peer != NULL) {
		wolfSSL_X509_NAME_get_text_by_NID(wolfSSL_X509_get_subject_name(peer), NID_commonName,
		                                  name, sizeof(name));
		wolfSSL_X509_free(peer);
	}
	CU_ASSERT_STRING_EQUAL(name, "secondary1");
	assert_data_flows(&h);
	hs_close(&h);

	/* Without a client certificate the server refuses (TLS 1.3: the client's
	 * handshake has already returned; the refusal shows on its first read). */
	a.client_cert = a.client_key = NULL;
	hs_run(&h, sctx, SRV_DOT, &a);
	CU_ASSERT_EQUAL(h.sres, TLS_IO_ERR);
	/* issue 13 item 2: the first read shows the alert, named in words */
	char buf[8], why[TLS_ERR_MAX] = "";
	CU_ASSERT_EQUAL(h.cres, TLS_IO_OK);
	if (h.cres == TLS_IO_OK) {
		CU_ASSERT(wolfSSL_read(h.cli, buf, sizeof(buf)) <= 0);
		CU_ASSERT_TRUE(tls_client_peer_alert(h.cli, why, sizeof(why)));
		HAS(why, "the primary sent alert certificate required (116)");
		CU_ASSERT_EQUAL(tls_client_alert_reason(h.cli), RSN_HS_CERTIFICATE);
	}
	hs_close(&h);
	wolfSSL_CTX_free(sctx);
}

/* Alert codes in words (RFC 8446 section 6), for the primary's refusals. */
static void
test_alert_text(void)
{
	char t[64];
	tls_client_alert_text(116, t, sizeof(t));
	CU_ASSERT_STRING_EQUAL(t, "certificate required (116)");
	tls_client_alert_text(42, t, sizeof(t));
	CU_ASSERT_STRING_EQUAL(t, "bad certificate (42)");
	tls_client_alert_text(48, t, sizeof(t));
	CU_ASSERT_STRING_EQUAL(t, "unknown CA (48)");
	tls_client_alert_text(47, t, sizeof(t));     /* wolfSSL's text, '_' as ' ' */
	CU_ASSERT_STRING_EQUAL(t, "illegal parameter (47)");
	tls_client_alert_text(250, t, sizeof(t));
	CU_ASSERT_STRING_EQUAL(t, "alert 250");
	CU_ASSERT_FALSE(tls_client_peer_alert(NULL, t, sizeof(t)));
	CU_ASSERT_EQUAL(tls_client_alert_reason(NULL), RSN_NONE);
	/* wolfSSL's errors by kind, without reading their text */
	CU_ASSERT_EQUAL(tls_error_reason(VERSION_ERROR), RSN_HS_VERSION);
	CU_ASSERT_EQUAL(tls_error_reason(VERIFY_CERT_ERROR), RSN_HS_CERTIFICATE);
	CU_ASSERT_EQUAL(tls_error_reason(WC_TIMEOUT_E), RSN_HS_TIMEOUT);
	CU_ASSERT_EQUAL(tls_error_reason(SOCKET_ERROR_E), RSN_HS_OTHER);
	CU_ASSERT_EQUAL(tls_error_reason(UNKNOWN_ALPN_PROTOCOL_NAME_E), RSN_HS_OTHER);
}

/* A reload compares CA and client certificate files by content. */
static void
test_file_digest(void)
{
	char path[PATH_MAX], err[TLS_ERR_MAX];
	uint8_t d[32], d2[32];
	static const uint8_t abc[32] = {           /* SHA-256("abc"), FIPS 180-2 */
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
		0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
		0xf2, 0x00, 0x15, 0xad,
	};
	snprintf(path, sizeof(path), "%s/digest.txt", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("abc", f);
	fclose(f);
	CU_ASSERT_EQUAL(tls_client_file_digest(path, d, err), 0);
	CU_ASSERT_EQUAL(memcmp(d, abc, 32), 0);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("abd", f);
	fclose(f);
	CU_ASSERT_EQUAL(tls_client_file_digest(path, d2, err), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(d, d2, 32), 0);
	unlink(path);
	CU_ASSERT_EQUAL(tls_client_file_digest(path, d2, err), -1);
	HAS(err, "cannot read");
}

/* Resumption: the ticket arrives after the handshake (read once), then the
 * next connection resumes it; not under other authentication settings. */
static void
test_resumption(void)
{
	struct hs h;
	char buf[8], err[TLS_ERR_MAX];
	struct tls_client_auth a = { .ca = fx("ca.pem"), .auth_name = "xot.test" };
	WOLFSSL_CTX *cctx = tls_client_ctx_new(&a, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cctx);
	CU_ASSERT_FATAL(hs_open(&h, srv_ctx, SRV_DOT, cctx, NULL));
	hs_step(&h);
	CU_ASSERT_EQUAL(h.cres, TLS_IO_OK);
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_PTR_NULL(tls_client_session_get(h.cli));                  /* no ticket yet */
	CU_ASSERT_EQUAL(wolfSSL_read(h.cli, buf, sizeof(buf)), -1);         /* takes the ticket */
	CU_ASSERT_EQUAL(wolfSSL_get_error(h.cli, -1), WOLFSSL_ERROR_WANT_READ);
	WOLFSSL_SESSION *sess = tls_client_session_get(h.cli);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sess);
	hs_close(&h);

	CU_ASSERT_FATAL(hs_open(&h, srv_ctx, SRV_DOT, cctx, sess));
	hs_step(&h);
	CU_ASSERT_EQUAL(h.cres, TLS_IO_OK);
	CU_ASSERT_EQUAL(wolfSSL_session_reused(h.cli), 1);
	CU_ASSERT(tls_alpn_is_dot(h.cli));
	assert_data_flows(&h);
	hs_close(&h);

	/* Same settings in a new context (a reload): still resumes. */
	WOLFSSL_CTX *same = tls_client_ctx_new(&a, err);
	CU_ASSERT_FATAL(hs_open(&h, srv_ctx, SRV_DOT, same, sess));
	hs_step(&h);
	CU_ASSERT_EQUAL(h.cres, TLS_IO_OK);
	CU_ASSERT_EQUAL(wolfSSL_session_reused(h.cli), 1);
	hs_close(&h);
	wolfSSL_CTX_free(same);

	/* Other settings: the ticket is not offered, a full handshake runs. */
	const uint8_t (*pins)[32] = (const uint8_t (*)[32])pin_srv;
	struct tls_client_auth b = a;
	b.pins = pins;
	b.n_pins = 1;
	WOLFSSL_CTX *other = tls_client_ctx_new(&b, err);
	CU_ASSERT_FATAL(hs_open(&h, srv_ctx, SRV_DOT, other, sess));
	hs_step(&h);
	CU_ASSERT_EQUAL(h.cres, TLS_IO_OK);
	CU_ASSERT_EQUAL(wolfSSL_session_reused(h.cli), 0);
	hs_close(&h);
	wolfSSL_CTX_free(other);

	wolfSSL_SESSION_free(sess);
	wolfSSL_CTX_free(cctx);
}

/* The verify callback refuses when the handshake is driven around
 * tls_client_handshake (fail closed). */
static void
test_connect_bypass_refused(void)
{
	struct hs h;
	char err[TLS_ERR_MAX];
	struct tls_client_auth a = { .ca = fx("ca.pem"), .auth_name = "xot.test" };
	WOLFSSL_CTX *cctx = tls_client_ctx_new(&a, err);
	CU_ASSERT_FATAL(hs_open(&h, srv_ctx, SRV_DOT, cctx, NULL));
	int cret = 0;
	for (int i = 0; i < 200; i++) {
		cret = wolfSSL_connect(h.cli);
		int e = wolfSSL_get_error(h.cli, cret);
		if (cret == WOLFSSL_SUCCESS || (e != WOLFSSL_ERROR_WANT_READ && e != WOLFSSL_ERROR_WANT_WRITE))
			break;
		(void)wolfSSL_accept(h.srv);
	}
	CU_ASSERT_NOT_EQUAL(cret, WOLFSSL_SUCCESS);
	CU_ASSERT_PTR_NULL(tls_client_session_get(h.cli));
	hs_close(&h);
	wolfSSL_CTX_free(cctx);
}

static void
test_ctx_new_errors(void)
{
	char err[TLS_ERR_MAX];
	const uint8_t (*pins)[32] = (const uint8_t (*)[32])pin_srv;
	struct tls_client_auth a = { .ca = fx("ca.pem") };
	CU_ASSERT_PTR_NULL(tls_client_ctx_new(NULL, err));
	CU_ASSERT_PTR_NULL(tls_client_ctx_new(&a, err));                      /* CA, no name */
	HAS(err, "RFC 8310");
	a = (struct tls_client_auth){ .auth_name = "xot.test" };               /* name only */
	CU_ASSERT_PTR_NULL(tls_client_ctx_new(&a, err));
	HAS(err, "SPKI pin");
	a = (struct tls_client_auth){ .ca = fx("nonexistent.pem"), .auth_name = "xot.test" };
	CU_ASSERT_PTR_NULL(tls_client_ctx_new(&a, err));
	HAS(err, "cannot load CA file");
	HAS(err, "nonexistent.pem: No such file or directory");
	a = (struct tls_client_auth){ .ca = fx("srv.key"), .auth_name = "xot.test" };
	CU_ASSERT_PTR_NULL(tls_client_ctx_new(&a, err));
	HAS(err, "cannot load CA file");
	a = (struct tls_client_auth){ .pins = pins, .n_pins = 1, .client_cert = fx("cli.pem") };
	CU_ASSERT_PTR_NULL(tls_client_ctx_new(&a, err));
	HAS(err, "both a client certificate and its key");
#ifdef XOT_LOCAL_WOLFSSL
	/* Debian's build (crypto callbacks) skips wolfSSL_CTX_check_private_key's test */
	a.client_key = fx("srv.key");
	CU_ASSERT_PTR_NULL(tls_client_ctx_new(&a, err));
	HAS(err, "does not match");
#endif
	a.client_key = fx("cli.key");
	WOLFSSL_CTX *ctx = tls_client_ctx_new(&a, err);                       /* mTLS, pin only */
	CU_ASSERT_PTR_NOT_NULL(ctx);
	wolfSSL_CTX_free(ctx);
}

static void
test_pin_parse(void)
{
	uint8_t out[32], again[32];
	char err[TLS_ERR_MAX], b64[64];
	CU_ASSERT_EQUAL(tls_pin_parse(pin_srv_b64, out), 0);
	CU_ASSERT_EQUAL(memcmp(out, pin_srv, 32), 0);
	CU_ASSERT_EQUAL(tls_pin_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", out), 0);
	CU_ASSERT_EQUAL(out[0], 0);
	CU_ASSERT_EQUAL(tls_pin_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", again), -1);   /* not canonical */
	CU_ASSERT_EQUAL(tls_pin_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", again), -1);    /* 43 */
	CU_ASSERT_EQUAL(tls_pin_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", again), -1);  /* 45 */
	CU_ASSERT_EQUAL(tls_pin_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-=", again), -1);   /* url alphabet */
	CU_ASSERT_EQUAL(tls_pin_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA A", again), -1);
	CU_ASSERT_EQUAL(tls_pin_parse("", again), -1);
	CU_ASSERT_EQUAL(tls_pin_parse(NULL, again), -1);

	CU_ASSERT_EQUAL(tls_pin_of_cert_file(fx("srv.pem"), b64, err), 0);
	CU_ASSERT_STRING_EQUAL(b64, pin_srv_b64);
	CU_ASSERT_EQUAL(tls_pin_of_cert_file(fx("srv.der"), b64, err), 0);
	CU_ASSERT_STRING_EQUAL(b64, pin_srv_b64);
	CU_ASSERT_EQUAL(tls_pin_of_cert_file(fx("nonexistent.pem"), b64, err), -1);
	HAS(err, "No such file or directory");
	CU_ASSERT_EQUAL(tls_pin_of_cert_file(fx("srv.key"), b64, err), -1);
	HAS(err, "cannot load certificate");
}

int
test_tls_client_register(void)
{
	CU_pSuite s = CU_add_suite("tls_client", suite_init, suite_clean);
	if (s == NULL)
		return -1;
	TEST(test_ca_name_ok);
	TEST(test_ip_name);
	TEST(test_wrong_ca);
	TEST(test_wrong_name);
	TEST(test_cn_only_rejected);
	TEST(test_wildcard);
	TEST(test_pin_ok);
	TEST(test_pin_only_keeps_other_checks);
	TEST(test_wrong_pin);
	TEST(test_pin_and_name);
	TEST(test_expired);
	TEST(test_rsa_pin);
	TEST(test_chain);
	TEST(test_alpn);
	TEST(test_mtls);
	TEST(test_alert_text);
	TEST(test_file_digest);
	TEST(test_resumption);
	TEST(test_connect_bypass_refused);
	TEST(test_ctx_new_errors);
	TEST(test_pin_parse);
	return 0;
}
