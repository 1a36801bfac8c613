/* test_tls_server_auth.c - mutual TLS on the server side (tls/tls.c with a
 * client CA): real handshakes over a socketpair between tls.c's server
 * session and tls_client.c's client, both stepped non-blocking in one thread.
 * Certificates are made at suite start with openssl in a mkdtemp directory:
 * a server CA and server cert, a clients CA with client certs (two DNS SANs
 * and an IP SAN; ten SANs; CN only; no extended key usage; serverAuth only;
 * expired; one under an intermediate), a client cert from another CA, and
 * the client pin computed by openssl.
 * Requirement IDs: XOT-04, DOT-14, DOT-05 (client pins), DOT-09/DOT-04
 * (resumption) in docs/requirements.md. */
#include <CUnit/CUnit.h>
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
static WOLFSSL_CTX *mtls_ctx;           /* srv.pem, client CA cca.pem */
static WOLFSSL_CTX *plain_ctx;          /* srv.pem, no client certificates */
static char cli_pin_b64[64];
static uint8_t cli_pin[32];

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
	"extendedKeyUsage = serverAuth\n"
	"subjectAltName = DNS:xot.test\n"
	"[cli]\n"
	"basicConstraints = CA:FALSE\n"
	"keyUsage = critical, digitalSignature\n"
	"extendedKeyUsage = clientAuth\n"
	"subjectAltName = DNS:sec1.example.net, IP:192.0.2.1, DNS:Sec2.Example.NET\n"
	"[many]\n"
	"basicConstraints = CA:FALSE\n"
	"extendedKeyUsage = clientAuth\n"
	"subjectAltName = DNS:n1.example.net, DNS:n2.example.net, DNS:n3.example.net, "
	"DNS:n4.example.net, DNS:n5.example.net, DNS:n6.example.net, DNS:n7.example.net, "
	"DNS:n8.example.net, DNS:n9.example.net, DNS:n10.example.net\n"
	"[cnonly]\n"
	"basicConstraints = CA:FALSE\n"
	"extendedKeyUsage = clientAuth\n"
	"[noeku]\n"
	"basicConstraints = CA:FALSE\n"
	"subjectAltName = DNS:noeku.example.net\n"
	"[srvonly]\n"
	"basicConstraints = CA:FALSE\n"
	"extendedKeyUsage = serverAuth\n"
	"subjectAltName = DNS:sec1.example.net\n"
	CERTFIX_CA_CNF
	"EOF\n"
	CERTFIX_FUNCS
	"mkca sca 'Server CA'\n"
	"mkca cca 'Clients CA'\n"
	"mkca oca 'Other CA'\n"
	"for n in srv cli many cn noeku srvonly cexp other cint cleaf; do ec $n.key; done\n"
	"leaf srv sca xot.test srv -days 30\n"
	"leaf cli cca secondary1 cli -days 30\n"
		"leaf many cca many many -days 30\n"
	"leaf cn cca sec1.example.net cnonly -days 30\n"
	"leaf noeku cca noeku noeku -days 30\n"
	"leaf srvonly cca srvonly srvonly -days 30\n"
	"leaf cexp cca secondary1 cli -startdate 20200101000000Z -enddate 20200201000000Z\n"
	"leaf other oca secondary1 cli -days 30\n"
	"leaf cint cca 'Clients Intermediate' ca_ext -days 30\n"
	"leaf cleaf cint chained cli -days 30\n"
	"cat cleaf.pem cint.pem >cchain.pem && cp cleaf.key cchain.key\n"
	"openssl x509 -pubkey -noout -in cli.pem | openssl pkey -pubin -outform der |\n"
	"  openssl dgst -sha256 -binary | base64 >cli.pin\n";

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
suite_init(void)
{
	char cmd[PATH_MAX + 128], err[TLS_ERR_MAX], line[128] = "";
	snprintf(dir, sizeof(dir), "/tmp/xot-tlssrvauth.XXXXXX");
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
	f = fopen(fx("cli.pin"), "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	snprintf(cli_pin_b64, sizeof(cli_pin_b64), "%.63s", line);
	if (tls_init() != 0 || tls_pin_parse(cli_pin_b64, cli_pin) != 0)
		return -1;
	mtls_ctx = tls_server_ctx_new(fx("srv.pem"), fx("srv.key"), fx("cca.pem"), err);
	plain_ctx = tls_server_ctx_new(fx("srv.pem"), fx("srv.key"), NULL, err);
	if (mtls_ctx == NULL || plain_ctx == NULL) {
		fprintf(stderr, "server ctx: %s\n", err);
		return -1;
	}
	return 0;
}

static int
suite_clean(void)
{
	char cmd[PATH_MAX + 16];
	wolfSSL_CTX_free(mtls_ctx);
	wolfSSL_CTX_free(plain_ctx);
	mtls_ctx = plain_ctx = NULL;
	tls_cleanup();
	if (dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)system(cmd);
	}
	return 0;
}

/* ---- one handshake over a socketpair ---------------------------------------- */

struct hs {
	int fd[2];
	WOLFSSL *srv, *cli;
	enum tls_io cres, sres;
	char cerr[TLS_ERR_MAX], serr[TLS_ERR_MAX];
};

/* A client that verifies the server (Server CA, xot.test) and presents
 * NAME.pem/NAME.key, or no certificate when name is NULL. */
static WOLFSSL_CTX *
client_ctx(const char *name)
{
	char cert[PATH_MAX], key[PATH_MAX], err[TLS_ERR_MAX];
	struct tls_client_auth a = { .ca = fx("sca.pem"), .auth_name = "xot.test" };
	if (name != NULL) {
		snprintf(cert, sizeof(cert), "%s/%s.pem", dir, name);
		snprintf(key, sizeof(key), "%s/%s.key", dir, name);
		a.client_cert = cert;
		a.client_key = key;
	}
	WOLFSSL_CTX *ctx = tls_client_ctx_new(&a, err);
	if (ctx == NULL)
		fprintf(stderr, "client ctx: %s\n", err);
	return ctx;
}

static bool
finished(enum tls_io r)
{
	return r == TLS_IO_OK || r == TLS_IO_ERR || r == TLS_IO_EOF;
}

static struct tls_peer_chain *hs_chain;     /* set: the server session records into it */

/* Opens both sessions and steps them until both finished (bounded). */
static bool
hs_run_ctx(struct hs *h, WOLFSSL_CTX *sctx, WOLFSSL_CTX *cctx, WOLFSSL_SESSION *resume)
{
	memset(h, 0, sizeof(*h));
	h->cres = h->sres = TLS_IO_WANT_READ;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, h->fd) != 0)
		return false;
	h->srv = tls_session_new(sctx, h->fd[0]);
	h->cli = tls_client_session_new(cctx, h->fd[1], resume);
	if (h->srv == NULL || h->cli == NULL)
		return false;
	if (hs_chain != NULL)
		tls_session_keep_chain(h->srv, hs_chain);
	for (int i = 0; i < 200 && !(finished(h->cres) && finished(h->sres)); i++) {
		if (!finished(h->cres))
			h->cres = tls_client_handshake(h->cli, h->cerr);
		if (!finished(h->sres)) {
			int r = wolfSSL_accept(h->srv);
			h->sres = r == WOLFSSL_SUCCESS ? TLS_IO_OK : tls_io_result(h->srv, r, h->serr);
		}
	}
	return true;
}

/* Same, with a fresh client context presenting `name`. */
static void
hs_run(struct hs *h, WOLFSSL_CTX *sctx, const char *name)
{
	WOLFSSL_CTX *cctx = client_ctx(name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cctx);
	CU_ASSERT_FATAL(hs_run_ctx(h, sctx, cctx, NULL));
	wolfSSL_CTX_free(cctx);                 /* the session keeps a reference */
}

static void
hs_close(struct hs *h)
{
	wolfSSL_free(h->cli);
	wolfSSL_free(h->srv);
	close(h->fd[0]);
	close(h->fd[1]);
}

/* Application data both ways, then the client reads once more (a ticket,
 * if one was sent, is taken there). */
static void
assert_data_flows(struct hs *h)
{
	char buf[16];
	CU_ASSERT_EQUAL(wolfSSL_write(h->cli, "ping", 4), 4);
	CU_ASSERT_EQUAL(wolfSSL_read(h->srv, buf, sizeof(buf)), 4);
	CU_ASSERT_EQUAL(wolfSSL_write(h->srv, "pong", 4), 4);
	int n = -1;
	for (int i = 0; i < 4 && n <= 0; i++)       /* the ticket may come first */
		n = wolfSSL_read(h->cli, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(wolfSSL_read(h->cli, buf, sizeof(buf)), -1);
}

/* The server refused the client in the handshake: it never finished, no
 * application byte got through, and the client's first read meets the
 * server's alert (TLS 1.3: the client's own handshake had already
 * returned). Returns that alert's code. */
static int
refused_alert(struct hs *h)
{
	char buf[16];
	WOLFSSL_ALERT_HISTORY ah;
	CU_ASSERT_EQUAL(h->sres, TLS_IO_ERR);
	CU_ASSERT_NOT_EQUAL(h->serr[0], '\0');
	CU_ASSERT_FALSE(wolfSSL_is_init_finished(h->srv));
	struct tls_identity id;
	CU_ASSERT_FALSE(tls_peer_identity(h->srv, &id));
	CU_ASSERT_FALSE(id.has_cert);
	if (h->cres == TLS_IO_OK) {
		(void)wolfSSL_write(h->cli, "ping", 4);
		CU_ASSERT(wolfSSL_read(h->cli, buf, sizeof(buf)) <= 0);
	}
	CU_ASSERT(wolfSSL_read(h->srv, buf, sizeof(buf)) <= 0);
	if (wolfSSL_get_alert_history(h->cli, &ah) != WOLFSSL_SUCCESS)
		return -1;
	return ah.last_rx.code;
}

#define HAS(s, sub) CU_ASSERT_PTR_NOT_NULL(strstr((s), (sub)))

/* ---- cases -------------------------------------------------------------------- */

/* A client certificate from the clients CA: accepted; the identity has the
 * DNS SANs lowercased in certificate order (not the IP SAN, not the CN), the
 * pin openssl computes, the subject; data flows. */
static void
test_good_cert(void)
{
	struct hs h;
	struct tls_identity id;
	char pat[80];
	hs_run(&h, mtls_ctx, "cli");
	CU_ASSERT_EQUAL(h.cres, TLS_IO_OK);
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_STRING_EQUAL(h.serr, "");
	CU_ASSERT(tls_alpn_is_dot(h.srv));
	CU_ASSERT_TRUE(tls_peer_identity(h.srv, &id));
	CU_ASSERT_TRUE(id.has_cert);
	CU_ASSERT_EQUAL(id.n_names, 2);
	CU_ASSERT_STRING_EQUAL(id.names[0], "sec1.example.net");
	CU_ASSERT_STRING_EQUAL(id.names[1], "sec2.example.net");
	CU_ASSERT_STRING_EQUAL(id.subject, "CN=secondary1");
	CU_ASSERT_EQUAL(memcmp(id.pin, cli_pin, 32), 0);            /* openssl's pin */
	snprintf(pat, sizeof(pat), "sha256:%s", cli_pin_b64);
	CU_ASSERT_TRUE(tls_identity_matches(&id, pat));
	CU_ASSERT_TRUE(tls_identity_matches(&id, "sec2.example.net"));
	CU_ASSERT_TRUE(tls_identity_matches(&id, "*.example.net"));
	CU_ASSERT_FALSE(tls_identity_matches(&id, "secondary1"));      /* the CN is no name */
	CU_ASSERT_FALSE(tls_identity_matches(&id, "192.0.2.1"));       /* nor an IP SAN */
	assert_data_flows(&h);
	hs_close(&h);
}

/* XOT-04 / DOT-14: no client certificate: certificate_required (116). */
static void
test_no_cert(void)
{
	struct hs h;
	hs_run(&h, mtls_ctx, NULL);
	CU_ASSERT_EQUAL(refused_alert(&h), certificate_required);
	hs_close(&h);
}

/* A certificate from another CA: unknown_ca (48). The server's own CA (which
 * signed srv.pem) is not trusted for clients either: only cca.pem is. */
static void
test_other_ca(void)
{
	struct hs h;
	hs_run(&h, mtls_ctx, "other");
	CU_ASSERT_EQUAL(refused_alert(&h), unknown_ca);
	hs_close(&h);
}

/* Expired (right CA): certificate_expired (45). */
static void
test_expired(void)
{
	struct hs h;
	hs_run(&h, mtls_ctx, "cexp");
	CU_ASSERT_EQUAL(refused_alert(&h), certificate_expired);
	HAS(h.serr, "date");
	hs_close(&h);
}

/* A leaf whose extended key usage is serverAuth only is no client
 * certificate (bad_certificate); one without the extension is accepted. */
static void
test_key_usage(void)
{
	struct hs h;
	struct tls_identity id;
	hs_run(&h, mtls_ctx, "srvonly");
	CU_ASSERT_EQUAL(refused_alert(&h), bad_certificate);
	hs_close(&h);

	hs_run(&h, mtls_ctx, "noeku");
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_TRUE(tls_peer_identity(h.srv, &id));
	CU_ASSERT_TRUE(tls_identity_matches(&id, "noeku.example.net"));
	hs_close(&h);
}

/* A leaf + intermediate chain under the clients CA: accepted, the identity
 * is the leaf's. */
static void
test_chain(void)
{
	struct hs h;
	struct tls_identity id;
	hs_run(&h, mtls_ctx, "cchain");
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_TRUE(tls_peer_identity(h.srv, &id));
	CU_ASSERT_STRING_EQUAL(id.subject, "CN=chained");
	CU_ASSERT_EQUAL(id.n_names, 2);
	hs_close(&h);
}

/* Issue 13 B15: the chain a client presented is kept and re-verified
 * against the client CAs of another context (a reload): trusted under the
 * same CA (also a fresh context loaded from the same file), not under
 * another CA nor without client-ca; a leaf + intermediate chain the same
 * way, and not without its intermediate; a refused certificate records
 * nothing. */
static void
test_chain_reverify(void)
{
	char err[TLS_ERR_MAX];
	WOLFSSL_CTX *other = tls_server_ctx_new(fx("srv.pem"), fx("srv.key"), fx("oca.pem"), err);
	WOLFSSL_CTX *again = tls_server_ctx_new(fx("srv.pem"), fx("srv.key"), fx("cca.pem"), err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	CU_ASSERT_PTR_NOT_NULL_FATAL(again);
	struct tls_peer_chain chain = { .n = 0 };
	struct hs h;

	hs_chain = &chain;
	hs_run(&h, mtls_ctx, "cli");
	hs_chain = NULL;
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_EQUAL(tls_peer_chain_complete(h.srv, &chain), 0);
	CU_ASSERT_EQUAL(chain.n, 1);
	CU_ASSERT_TRUE(tls_peer_chain_trusted(mtls_ctx, &chain));
	CU_ASSERT_TRUE(tls_peer_chain_trusted(again, &chain));
	CU_ASSERT_FALSE(tls_peer_chain_trusted(other, &chain));
	CU_ASSERT_FALSE(tls_peer_chain_trusted(plain_ctx, &chain));
	hs_close(&h);
	tls_peer_chain_free(&chain);
	CU_ASSERT_EQUAL(chain.n, 0);
	CU_ASSERT_FALSE(tls_peer_chain_trusted(mtls_ctx, &chain));

	hs_chain = &chain;
	hs_run(&h, mtls_ctx, "cchain");
	hs_chain = NULL;
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_EQUAL(tls_peer_chain_complete(h.srv, &chain), 0);
	CU_ASSERT_EQUAL(chain.n, 2);
	CU_ASSERT_TRUE(tls_peer_chain_trusted(again, &chain));
	CU_ASSERT_FALSE(tls_peer_chain_trusted(other, &chain));
	chain.n = 1;                            /* the leaf alone: its issuer is not a CA of cca.pem */
	CU_ASSERT_FALSE(tls_peer_chain_trusted(again, &chain));
	chain.n = 2;
	hs_close(&h);
	tls_peer_chain_free(&chain);

	hs_chain = &chain;
	hs_run(&h, mtls_ctx, "other");
	hs_chain = NULL;
	CU_ASSERT_EQUAL(h.sres, TLS_IO_ERR);
	CU_ASSERT_EQUAL(chain.n, 0);
	hs_close(&h);
	tls_peer_chain_free(&chain);
	wolfSSL_CTX_free(other);
	wolfSSL_CTX_free(again);
}

/* CN only: accepted by the CA, but no names (the CN never counts): only a
 * pin can name it. Ten SANs: the first eight kept, in order. */
static void
test_names_edge(void)
{
	struct hs h;
	struct tls_identity id;
	char want[48];
	hs_run(&h, mtls_ctx, "cn");
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_TRUE(tls_peer_identity(h.srv, &id));
	CU_ASSERT_TRUE(id.has_cert);
	CU_ASSERT_EQUAL(id.n_names, 0);
	CU_ASSERT_STRING_EQUAL(id.subject, "CN=sec1.example.net");
	CU_ASSERT_FALSE(tls_identity_matches(&id, "sec1.example.net"));
	hs_close(&h);

	hs_run(&h, mtls_ctx, "many");
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_TRUE(tls_peer_identity(h.srv, &id));
	CU_ASSERT_EQUAL(id.n_names, TLS_ID_NAMES);
	for (size_t i = 0; i < id.n_names; i++) {
		snprintf(want, sizeof(want), "n%u.example.net", (unsigned)(i + 1));
		CU_ASSERT_STRING_EQUAL(id.names[i], want);
	}
	CU_ASSERT_TRUE(tls_identity_matches(&id, "n8.example.net"));
	CU_ASSERT_FALSE(tls_identity_matches(&id, "n9.example.net"));
	hs_close(&h);
}

/* Without a client CA nothing is requested: a client holding a certificate
 * does not send it (has_cert false, nothing matches) and tickets are still
 * issued and resumed as before. */
static void
test_plain_unchanged(void)
{
	struct hs h;
	struct tls_identity id;
	char pat[80];
	WOLFSSL_CTX *cctx = client_ctx("cli");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cctx);
	CU_ASSERT_FATAL(hs_run_ctx(&h, plain_ctx, cctx, NULL));
	CU_ASSERT_EQUAL(h.cres, TLS_IO_OK);
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_EQUAL(wolfSSL_CTX_get_options(plain_ctx) & WOLFSSL_OP_NO_TICKET, 0);
	CU_ASSERT_TRUE(tls_peer_identity(h.srv, &id));
	CU_ASSERT_FALSE(id.has_cert);
	CU_ASSERT_EQUAL(id.n_names, 0);
	snprintf(pat, sizeof(pat), "sha256:%s", cli_pin_b64);
	CU_ASSERT_FALSE(tls_identity_matches(&id, pat));
	CU_ASSERT_FALSE(tls_identity_matches(&id, "sec1.example.net"));
	assert_data_flows(&h);
	WOLFSSL_SESSION *sess = tls_client_session_get(h.cli);
	CU_ASSERT_PTR_NOT_NULL(sess);
	hs_close(&h);

	CU_ASSERT_FATAL(hs_run_ctx(&h, plain_ctx, cctx, sess));
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_EQUAL(wolfSSL_session_reused(h.srv), 1);
	CU_ASSERT_TRUE(tls_peer_identity(h.srv, &id));
	CU_ASSERT_FALSE(id.has_cert);
	hs_close(&h);

	/* a reload between plain contexts still carries tickets over */
	char err[TLS_ERR_MAX];
	WOLFSSL_CTX *next = tls_server_ctx_new(fx("srv.pem"), fx("srv.key"), NULL, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(next);
	CU_ASSERT_EQUAL(tls_copy_ticket_keys(plain_ctx, next), 0);
	CU_ASSERT_FATAL(hs_run_ctx(&h, next, cctx, sess));
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_EQUAL(wolfSSL_session_reused(h.srv), 1);
	hs_close(&h);
	wolfSSL_CTX_free(next);
	wolfSSL_SESSION_free(sess);
	wolfSSL_CTX_free(cctx);
}

/* Resumption under mTLS: no ticket is issued, so every connection is a full
 * handshake that yields the identity again. */
static void
test_no_tickets_under_mtls(void)
{
	struct hs h;
	struct tls_identity id;
	WOLFSSL_SESSION *sess = NULL;
	WOLFSSL_CTX *cctx = client_ctx("cli");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cctx);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(hs_run_ctx(&h, mtls_ctx, cctx, sess));  /* 2nd: would resume */
		CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
		CU_ASSERT_EQUAL(wolfSSL_session_reused(h.srv), 0);
		CU_ASSERT_TRUE(tls_peer_identity(h.srv, &id));
		CU_ASSERT_TRUE(id.has_cert);
		CU_ASSERT_EQUAL(memcmp(id.pin, cli_pin, 32), 0);
		assert_data_flows(&h);                          /* a ticket would be read here */
		if (sess == NULL)
			sess = tls_client_session_get(h.cli);
		CU_ASSERT_PTR_NULL(sess);
		hs_close(&h);
	}
	if (sess != NULL)
		wolfSSL_SESSION_free(sess);
	wolfSSL_CTX_free(cctx);
}

/* A reload that turns mTLS on: tickets of the plain context are not carried
 * over (tls_copy_ticket_keys copies nothing), so the old ticket leads to a
 * full handshake: with the certificate the identity is there, without it
 * the client is refused (a ticket is no way around the certificate). */
static void
test_reload_to_mtls(void)
{
	struct hs h;
	struct tls_identity id;
	char err[TLS_ERR_MAX];
	WOLFSSL_CTX *with = client_ctx("cli"), *without = client_ctx(NULL);
	CU_ASSERT_FATAL(with != NULL && without != NULL);
	WOLFSSL_SESSION *sess[2] = { NULL, NULL };
	WOLFSSL_CTX *cctx[2] = { with, without };
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(hs_run_ctx(&h, plain_ctx, cctx[i], NULL));
		assert_data_flows(&h);
		sess[i] = tls_client_session_get(h.cli);
		CU_ASSERT_PTR_NOT_NULL_FATAL(sess[i]);
		hs_close(&h);
	}
	WOLFSSL_CTX *m = tls_server_ctx_new(fx("srv.pem"), fx("srv.key"), fx("cca.pem"), err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(tls_copy_ticket_keys(plain_ctx, m), 0);

	CU_ASSERT_FATAL(hs_run_ctx(&h, m, with, sess[0]));
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_EQUAL(wolfSSL_session_reused(h.srv), 0);
	CU_ASSERT_TRUE(tls_peer_identity(h.srv, &id));
	CU_ASSERT_TRUE(id.has_cert);
	CU_ASSERT_TRUE(tls_identity_matches(&id, "sec1.example.net"));
	hs_close(&h);

	CU_ASSERT_FATAL(hs_run_ctx(&h, m, without, sess[1]));
	CU_ASSERT_EQUAL(refused_alert(&h), certificate_required);
	hs_close(&h);

	/* back to plain: nothing copied from the mTLS context either */
	CU_ASSERT_EQUAL(tls_copy_ticket_keys(m, plain_ctx), 0);
	CU_ASSERT_FATAL(hs_run_ctx(&h, plain_ctx, without, sess[1]));
	CU_ASSERT_EQUAL(wolfSSL_session_reused(h.srv), 1);
	hs_close(&h);

	wolfSSL_CTX_free(m);
	wolfSSL_SESSION_free(sess[0]);
	wolfSSL_SESSION_free(sess[1]);
	wolfSSL_CTX_free(with);
	wolfSSL_CTX_free(without);
}

/* Why mTLS contexts issue no tickets: a context set up by hand to require
 * client certificates but keep wolfSSL's default tickets resumes a session
 * without any certificate (this wolfSSL keeps none across resumption): the
 * identity has no certificate, and on a session marked as mTLS
 * tls_peer_identity fails closed. */
static void
test_resumed_session_has_no_cert(void)
{
	struct hs h;
	struct tls_identity id;
	char err[TLS_ERR_MAX];
	WOLFSSL_CTX *t = tls_server_ctx_new(fx("srv.pem"), fx("srv.key"), NULL, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL_FATAL(wolfSSL_CTX_load_verify_locations(t, fx("cca.pem"), NULL), WOLFSSL_SUCCESS);
	wolfSSL_CTX_set_verify(t, WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	WOLFSSL_CTX *cctx = client_ctx("cli");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cctx);
	CU_ASSERT_FATAL(hs_run_ctx(&h, t, cctx, NULL));
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_TRUE(tls_peer_identity(h.srv, &id));
	CU_ASSERT_TRUE(id.has_cert);
	assert_data_flows(&h);
	WOLFSSL_SESSION *sess = tls_client_session_get(h.cli);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sess);
	hs_close(&h);

	CU_ASSERT_FATAL(hs_run_ctx(&h, t, cctx, sess));
	CU_ASSERT_EQUAL(h.sres, TLS_IO_OK);
	CU_ASSERT_EQUAL(wolfSSL_session_reused(h.srv), 1);
	WOLFSSL_X509 *peer = wolfSSL_get_peer_certificate(h.srv);
#ifdef XOT_LOCAL_WOLFSSL
	CU_ASSERT_PTR_NULL(peer);
#endif
	if (peer == NULL) {
		CU_ASSERT_TRUE(tls_peer_identity(h.srv, &id));          /* not made by tls.c */
		CU_ASSERT_FALSE(id.has_cert);
		CU_ASSERT_FALSE(tls_identity_matches(&id, "sec1.example.net"));
		wolfSSL_set_options(h.srv, WOLFSSL_OP_NO_TICKET);       /* as tls.c's mTLS sessions */
		CU_ASSERT_FALSE(tls_peer_identity(h.srv, &id));
		CU_ASSERT_FALSE(id.has_cert);
	}
	wolfSSL_X509_free(peer);
	hs_close(&h);

	/* and the copy guard: tickets of t never reach an mTLS context */
	CU_ASSERT_EQUAL(tls_copy_ticket_keys(t, mtls_ctx), 0);
	CU_ASSERT_FATAL(hs_run_ctx(&h, mtls_ctx, cctx, sess));
	CU_ASSERT_EQUAL(wolfSSL_session_reused(h.srv), 0);
	CU_ASSERT_TRUE(tls_peer_identity(h.srv, &id));
	CU_ASSERT_TRUE(id.has_cert);
	hs_close(&h);

	wolfSSL_SESSION_free(sess);
	wolfSSL_CTX_free(cctx);
	wolfSSL_CTX_free(t);
}

/* tls_peer_identity before the handshake finished, and on NULL. */
static void
test_identity_unfinished(void)
{
	struct tls_identity id;
	int fd[2];
	CU_ASSERT_FALSE(tls_peer_identity(NULL, &id));
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd) == 0);
	WOLFSSL *ssl = tls_session_new(mtls_ctx, fd[0]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ssl);
	memset(&id, 0x55, sizeof(id));
	CU_ASSERT_FALSE(tls_peer_identity(ssl, &id));
	CU_ASSERT_FALSE(id.has_cert);
	CU_ASSERT_EQUAL(id.n_names, 0);
	wolfSSL_free(ssl);
	close(fd[0]);
	close(fd[1]);
}

/* Pattern matching on a made-up identity: names, wildcards, pins. */
static void
test_matches(void)
{
	struct tls_identity id;
	char pat[80];
	memset(&id, 0, sizeof(id));
	snprintf(id.names[0], sizeof(id.names[0]), "sec1.example.net");
	snprintf(id.names[1], sizeof(id.names[1]), "*.wild.example.net");
	id.n_names = 2;
	memcpy(id.pin, cli_pin, 32);
	snprintf(pat, sizeof(pat), "sha256:%s", cli_pin_b64);
	CU_ASSERT_FALSE(tls_identity_matches(&id, "sec1.example.net"));     /* no cert: nothing */
	CU_ASSERT_FALSE(tls_identity_matches(&id, pat));
	id.has_cert = true;

	static const struct {
		const char *pattern;
		bool want;
	} cases[] = {
		{ "sec1.example.net", true }, { "SEC1.Example.NET", true }, { "sec1.example.net.", true },
		{ "*.example.net", true }, { "*.EXAMPLE.net.", true },
		{ "ec1.example.net", false }, { "sec1.example.ne", false }, { "sec1.example.net.x", false },
		{ "xsec1.example.net", false }, { "example.net", false }, { "*.net", false },
		{ "*.sec1.example.net", false }, { "*.com", false }, { "sec*.example.net", false },
		{ "*", false }, { "", false }, { ".", false }, { "*.", false },
		/* a SAN wildcard is not expanded: it is matched only as written */
		{ "a.wild.example.net", false }, { "*.wild.example.net", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (tls_identity_matches(&id, cases[i].pattern) != cases[i].want)
			fprintf(stderr, "\n  pattern %s: want %d\n", cases[i].pattern, cases[i].want);
		CU_ASSERT_EQUAL(tls_identity_matches(&id, cases[i].pattern), cases[i].want);
	}
	CU_ASSERT_TRUE(tls_identity_matches(&id, pat));
	pat[0] = 'S', pat[1] = 'H', pat[2] = 'A';
	CU_ASSERT_TRUE(tls_identity_matches(&id, pat));                      /* prefix in any case */
	CU_ASSERT_FALSE(tls_identity_matches(&id, cli_pin_b64));             /* a bare pin is a name */
	CU_ASSERT_FALSE(tls_identity_matches(&id, "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	CU_ASSERT_FALSE(tls_identity_matches(&id, "sha256:"));
	CU_ASSERT_FALSE(tls_identity_matches(&id, "sha256:not-base64"));
	CU_ASSERT_FALSE(tls_identity_matches(&id, NULL));
	CU_ASSERT_FALSE(tls_identity_matches(NULL, "sec1.example.net"));
	id.pin[0] ^= 1;
	CU_ASSERT_FALSE(tls_identity_matches(&id, pat));
}

static void
test_pattern_error(void)
{
	char pat[80];
	snprintf(pat, sizeof(pat), "sha256:%s", cli_pin_b64);
	static const char *const good[] = {
		"sec1.example.net", "SEC1.example.net.", "*.example.net", "a-b_c.example", "localhost",
	};
	static const char *const bad[] = {
		NULL, "", ".", "*", "*.", "*.net", "sec*.example.net", "a.*.example.net", "a..b",
		"a b.example", "a.example..", "sha256:", "sha256:AAAA", "sha256:not-base64",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CU_ASSERT_PTR_NULL(tls_identity_pattern_error(good[i]));
	CU_ASSERT_PTR_NULL(tls_identity_pattern_error(pat));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_PTR_NOT_NULL(tls_identity_pattern_error(bad[i]));
	HAS(tls_identity_pattern_error("*.net"), "at least two labels");
	HAS(tls_identity_pattern_error("sec*.example.net"), "leftmost label");
	HAS(tls_identity_pattern_error("sha256:AAAA"), "SHA-256");
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT_PTR_NOT_NULL(tls_identity_pattern_error(longname));
}

static void
test_ctx_errors(void)
{
	char err[TLS_ERR_MAX];
	CU_ASSERT_PTR_NULL(tls_server_ctx_new(fx("srv.pem"), fx("srv.key"), fx("nonexistent.pem"), err));
	HAS(err, "cannot load client CA file");
	HAS(err, "nonexistent.pem: No such file or directory");
	CU_ASSERT_PTR_NULL(tls_server_ctx_new(fx("srv.pem"), fx("srv.key"), fx("cca.key"), err));
	HAS(err, "cannot load client CA file");
	CU_ASSERT_PTR_NULL(tls_server_ctx_new(fx("srv.pem"), fx("srv.key"), "", err));
	HAS(err, "empty client CA file name");
	WOLFSSL_CTX *ctx = tls_server_ctx_new(fx("srv.pem"), fx("srv.key"), fx("cca.pem"), err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_NOT_EQUAL(wolfSSL_CTX_get_options(ctx) & WOLFSSL_OP_NO_TICKET, 0);   /* the mTLS mark */
	wolfSSL_CTX_free(ctx);
}

int
test_tls_server_auth_register(void)
{
	CU_pSuite s = CU_add_suite("tls_server_auth", suite_init, suite_clean);
	if (s == NULL)
		return -1;
	TEST(test_good_cert);
	TEST(test_no_cert);
	TEST(test_other_ca);
	TEST(test_expired);
	TEST(test_key_usage);
	TEST(test_chain);
	TEST(test_chain_reverify);
	TEST(test_names_edge);
	TEST(test_plain_unchanged);
	TEST(test_no_tickets_under_mtls);
	TEST(test_reload_to_mtls);
	TEST(test_resumed_session_has_no_cert);
	TEST(test_identity_unfinished);
	TEST(test_matches);
	TEST(test_pattern_error);
	TEST(test_ctx_errors);
	return 0;
}
