/* tls.c - wolfSSL setup and non-blocking session I/O through our own socket
 * callbacks (MSG_NOSIGNAL, errno mapped in one place); the server's optional
 * client-certificate check and the identity it yields for the ACL. */
#include "tls.h"

#include "proxy/lib/certpat.h"
#include "tls_x509.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Server cipher order. Without AES-NI (Debian's build) ChaCha20 is 2.5x
 * cheaper than AES-GCM, so it goes first there. */
#ifdef WOLFSSL_AESNI
#define XP_CIPHERS "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256"
#else
#define XP_CIPHERS "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384"
#endif

static int
io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	int fd = *(int *)ctx;
	ssize_t n = recv(fd, buf, (size_t)sz, 0);
	if (n > 0)
		return (int)n;
	if (n == 0)
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	if (errno == EINTR)
		return WOLFSSL_CBIO_ERR_ISR;
	if (errno == ECONNRESET)
		return WOLFSSL_CBIO_ERR_CONN_RST;
	return WOLFSSL_CBIO_ERR_GENERAL;
}

static int
io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	int fd = *(int *)ctx;
	ssize_t n = send(fd, buf, (size_t)sz, MSG_NOSIGNAL);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return WOLFSSL_CBIO_ERR_WANT_WRITE;
	if (errno == EINTR)
		return WOLFSSL_CBIO_ERR_ISR;
	if (errno == EPIPE)
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	if (errno == ECONNRESET)
		return WOLFSSL_CBIO_ERR_CONN_RST;
	return WOLFSSL_CBIO_ERR_GENERAL;
}

void
tls_ctx_set_io(WOLFSSL_CTX *ctx)
{
	wolfSSL_CTX_SetIORecv(ctx, io_recv);
	wolfSSL_CTX_SetIOSend(ctx, io_send);
}

int
tls_init(void)
{
	return wolfSSL_Init() == WOLFSSL_SUCCESS ? 0 : -1;
}

void
tls_cleanup(void)
{
	wolfSSL_Cleanup();
}

/* Why loading a PEM file failed: the file itself (errno), else wolfSSL's
 * queued error code (the load functions return only 0 or a generic value). */
void
tls_load_error(char err[TLS_ERR_MAX], const char *what, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, TLS_ERR_MAX, "%s %s: %s", what, path, strerror(errno));
		return;
	}
	fclose(f);
	unsigned long code = wolfSSL_ERR_get_error();
	if (code == 0) {
		snprintf(err, TLS_ERR_MAX, "%s %s: not a valid PEM file of the expected kind", what, path);
		return;
	}
	char buf[WOLFSSL_MAX_ERROR_SZ];
	wolfSSL_ERR_error_string(code, buf);
	snprintf(err, TLS_ERR_MAX, "%s %s: %s", what, path, buf);
}

static void
chain_clear(struct tls_peer_chain *chain)
{
	for (size_t i = 0; i < chain->n; i++) {
		free(chain->der[i]);
		chain->der[i] = NULL;
	}
	chain->n = 0;
}

static int
chain_add(struct tls_peer_chain *chain, const uint8_t *der, size_t len)
{
	if (chain->n >= TLS_CHAIN_MAX || len == 0 || (chain->der[chain->n] = malloc(len)) == NULL)
		return -1;
	memcpy(chain->der[chain->n], der, len);
	chain->len[chain->n++] = len;
	return 0;
}

/* wolfSSL calls this for every certificate of the client's chain, the leaf
 * (depth 0) last (WOLFSSL_ALWAYS_VERIFY_CB). It never changes the verdict:
 * it returns wolfSSL's own. At the leaf, verified, it copies the whole
 * chain as presented into the session's tls_peer_chain, if one was given. */
static int
keep_chain_cb(int preverify, WOLFSSL_X509_STORE_CTX *st)
{
	struct tls_peer_chain *chain = st != NULL ? st->userCtx : NULL;
	if (!preverify || chain == NULL || st->error_depth != 0 || st->certs == NULL)
		return preverify;
	chain_clear(chain);
	for (int i = 0; i < st->totalCerts && i < TLS_CHAIN_MAX; i++)
		if (chain_add(chain, st->certs[i].buffer, st->certs[i].length) < 0) {
			chain_clear(chain);     /* tls_peer_chain_complete falls back to the leaf */
			break;
		}
	return preverify;
}

/* Mutual TLS: a certificate is required and verified by wolfSSL against
 * client_ca alone (the verify callback only records the chain: wolfSSL's
 * verdict and alert stand).
 * No tickets: see tls.h. The stateful cache is off too, so no path resumes.
 * WOLFSSL_OP_NO_TICKET marks such a context (and, copied by wolfSSL_new, its
 * sessions) for tls_copy_ticket_keys and tls_peer_identity: the local build
 * has no ex_data and no verify-mode getter (that needs OPENSSL_ALL). For
 * TLS 1.3 the option itself changes nothing (it only stops TLS 1.2 tickets;
 * wolfSSL_CTX_no_ticket_TLSv13 is what stops TLS 1.3 ones). */
static int
require_client_cert(WOLFSSL_CTX *ctx, const char *client_ca, char err[TLS_ERR_MAX])
{
	if (*client_ca == '\0') {
		snprintf(err, TLS_ERR_MAX, "empty client CA file name");
		return -1;
	}
	if (wolfSSL_CTX_load_verify_locations(ctx, client_ca, NULL) != WOLFSSL_SUCCESS) {
		tls_load_error(err, "cannot load client CA file", client_ca);
		return -1;
	}
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	                       keep_chain_cb);
	wolfSSL_CTX_set_options(ctx, WOLFSSL_OP_NO_TICKET);
	if (wolfSSL_CTX_no_ticket_TLSv13(ctx) != 0) {
		snprintf(err, TLS_ERR_MAX, "cannot turn session tickets off for mutual TLS");
		return -1;
	}
	wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);
	return 0;
}

WOLFSSL_CTX *
tls_server_ctx_new(const char *cert, const char *key, const char *client_ca, char err[TLS_ERR_MAX])
{
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());   /* XOT-02 */
	if (ctx == NULL) {
		snprintf(err, TLS_ERR_MAX, "cannot create TLS context");
		return NULL;
	}
	if (wolfSSL_CTX_use_certificate_chain_file(ctx, cert) != WOLFSSL_SUCCESS) {
		tls_load_error(err, "cannot load certificate chain", cert);
		goto fail;
	}
	if (wolfSSL_CTX_use_PrivateKey_file(ctx, key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
		tls_load_error(err, "cannot load private key", key);
		goto fail;
	}
	if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS) {
		snprintf(err, TLS_ERR_MAX, "private key %s does not match certificate %s", key, cert);
		goto fail;
	}
	if (wolfSSL_CTX_set_cipher_list(ctx, XP_CIPHERS) != WOLFSSL_SUCCESS) {
		snprintf(err, TLS_ERR_MAX, "cannot set TLS 1.3 cipher suites");
		goto fail;
	}
	if (client_ca != NULL && require_client_cert(ctx, client_ca, err) != 0)
		goto fail;
	tls_ctx_set_io(ctx);
	/* Session tickets are on by default for TLS 1.3 (DOT-09), except under
	 * mutual TLS; early data is not compiled into the library (DOT-12). */
	return ctx;
fail:
	wolfSSL_CTX_free(ctx);
	return NULL;
}

WOLFSSL *
tls_session_new(WOLFSSL_CTX *ctx, int fd)
{
	WOLFSSL *ssl = wolfSSL_new(ctx);
	if (ssl == NULL)
		return NULL;
	char alpn[] = "dot";               /* wolfSSL wants a writable list */
	if (wolfSSL_UseALPN(ssl, alpn, 3, WOLFSSL_ALPN_FAILED_ON_MISMATCH) != WOLFSSL_SUCCESS ||
	    wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS) {
		wolfSSL_free(ssl);
		return NULL;
	}
	/* set_fd points the I/O contexts at the SSL's own copy of the fd. */
	return ssl;
}

enum tls_io
tls_io_result(WOLFSSL *ssl, int ret, char err[TLS_ERR_MAX])
{
	int e = wolfSSL_get_error(ssl, ret);
	switch (e) {
	case WOLFSSL_ERROR_WANT_READ:
		return TLS_IO_WANT_READ;
	case WOLFSSL_ERROR_WANT_WRITE:
		return TLS_IO_WANT_WRITE;
	case WOLFSSL_ERROR_ZERO_RETURN:
	case SOCKET_PEER_CLOSED_E:
		return TLS_IO_EOF;
	default:
		if (err != NULL) {
			char buf[WOLFSSL_MAX_ERROR_SZ];
			wolfSSL_ERR_error_string((unsigned long)e, buf);
			snprintf(err, TLS_ERR_MAX, "%s (%d)", buf, e);
		}
		return TLS_IO_ERR;
	}
}

/* wolfSSL's error codes (error-ssl.h, error-crypt.h) by the kind of
 * handshake failure their descriptions name (a timeout, a version, a
 * certificate or a verification, a close), which is how the metrics sorted
 * them when they read the text; the rest are RSN_HS_OTHER. */
enum reason
tls_error_reason(int e)
{
	switch (e) {
	case WC_TIMEOUT_E:                  /* Timeout error */
		return RSN_HS_TIMEOUT;
	case ASN_VERSION_E:                 /* ASN version error, invalid number */
	case VERSION_ERROR:                 /* record layer version error */
	case SNI_UNSUPPORTED:               /* Protocol version does not support SNI Error */
	case DTLS_EXPORT_VER_E:             /* Version needs updated after code change or ... */
	case UNSUPPORTED_PROTO_VERSION:     /* bad/unsupported protocol version */
		return RSN_HS_VERSION;
	case -20:                           /* unable to get local issuer certificate */
	case ALGO_ID_E:                     /* Setting Cert AlgoID error */
	case PUBLIC_KEY_E:                  /* Setting Cert Public Key error */
	case DATE_E:                        /* Setting Cert Date validity error */
	case SUBJECT_E:                     /* Setting Cert Subject name error */
	case ISSUER_E:                      /* Setting Cert Issuer name error */
	case ASN_NO_SIGNER_E:               /* certificate verify failed */
	case REQ_ATTRIBUTE_E:               /* Setting cert request attributes error */
	case SRP_VERIFY_E:                  /* SRP proof verification error */
	case CERTPOLICIES_E:                /* Setting Certificate Policies error */
	case SIG_VERIFY_E:                  /* Signature verify error */
	case PKCS7_SIGNEEDS_CHECK:          /* Signature found but no certificate to verify */
	case ASN_SELF_SIGNED_E:             /* ASN self-signed certificate error */
	case SAKKE_VERIFY_FAIL_E:           /* SAKKE derivation verification error */
	case VERIFY_FINISHED_ERROR:         /* verify problem on finished */
	case VERIFY_MAC_ERROR:              /* verify mac problem */
	case VERIFY_CERT_ERROR:             /* verify problem on certificate */
	case VERIFY_SIGN_ERROR:             /* verify problem based on signature */
	case NO_PEER_CERT:                  /* peer did not return a certificate */
	case BAD_CERT_MANAGER_ERROR:        /* Bad Cert Manager error */
	case OCSP_CERT_REVOKED:             /* OCSP Cert revoked */
	case CRL_CERT_REVOKED:              /* CRL Cert revoked */
	case OCSP_CERT_UNKNOWN:             /* OCSP Cert unknown */
	case NO_PEER_VERIFY:                /* Need peer certificate verify Error */
	case BAD_CERTIFICATE_STATUS_ERROR:  /* Bad Certificate Status Message Error */
	case INVALID_CERT_CTX_E:            /* Certificate context does not match request or not empty */
	case BAD_BINDER:                    /* binder does not verify */
	case CLIENT_CERT_CB_ERROR:          /* Error importing client cert or key from callback */
	case NO_CERT_ERROR:                 /* TLS1.3 No Certificate Set Error */
		return RSN_HS_CERTIFICATE;
	case SOCKET_PEER_CLOSED_E:          /* Peer closed underlying transport Error */
		return RSN_HS_CLOSED;
	default:
		return RSN_HS_OTHER;
	}
}

enum reason
tls_io_reason(WOLFSSL *ssl, int ret)
{
	int e = wolfSSL_get_error(ssl, ret);
	if (e == WOLFSSL_ERROR_ZERO_RETURN || e == SOCKET_PEER_CLOSED_E)
		return RSN_HS_CLOSED;
	return tls_error_reason(e);
}

bool
tls_alpn_is_dot(WOLFSSL *ssl)
{
	char *p = NULL;
	unsigned short n = 0;
	return wolfSSL_ALPN_GetProtocol(ssl, &p, &n) == WOLFSSL_SUCCESS && n == 3 &&
	       memcmp(p, "dot", 3) == 0;
}

/* Made by tls_server_ctx_new with a client CA (see require_client_cert). */
static bool
is_mtls_ctx(WOLFSSL_CTX *ctx)
{
	long opts = wolfSSL_CTX_get_options(ctx);
	return opts > 0 && (opts & WOLFSSL_OP_NO_TICKET) != 0;
}

int
tls_copy_ticket_keys(WOLFSSL_CTX *from, WOLFSSL_CTX *to)
{
	unsigned char keys[WOLFSSL_TICKET_KEYS_SZ];
	/* A ticket carries no client identity and wolfSSL resumes it without
	 * asking for a certificate: never let `to` take tickets of `from`. */
	if (from != NULL && to != NULL && (is_mtls_ctx(from) || is_mtls_ctx(to)))
		return 0;
	if (wolfSSL_CTX_get_tlsext_ticket_keys(from, keys, sizeof(keys)) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_tlsext_ticket_keys(to, keys, sizeof(keys)) != WOLFSSL_SUCCESS)
		return -1;
	return 0;
}

void
tls_session_keep_chain(WOLFSSL *ssl, struct tls_peer_chain *chain)
{
	wolfSSL_SetCertCbCtx(ssl, chain);
}

int
tls_peer_chain_complete(WOLFSSL *ssl, struct tls_peer_chain *chain)
{
	wolfSSL_SetCertCbCtx(ssl, NULL);
	if (chain->n > 0)
		return 0;
	WOLFSSL_X509 *x = wolfSSL_get_peer_certificate(ssl);
	if (x == NULL)
		return 0;
	int len = 0;
	const unsigned char *der = wolfSSL_X509_get_der(x, &len);
	int rc = der != NULL && len > 0 ? chain_add(chain, der, (size_t)len) : -1;
	wolfSSL_X509_free(x);
	return rc;
}

void
tls_peer_chain_free(struct tls_peer_chain *chain)
{
	chain_clear(chain);
}

/* True if der verifies against the CAs of cm (signature and dates). */
static bool
verifies(WOLFSSL_CERT_MANAGER *cm, const uint8_t *der, size_t len)
{
	return wolfSSL_CertManagerVerifyBuffer(cm, der, (long)len, WOLFSSL_FILETYPE_ASN1) ==
	       WOLFSSL_SUCCESS;
}

/* True if der verifies with issuer (a CA certificate, DER) as its only CA. */
static bool
verifies_under(const uint8_t *der, size_t len, const uint8_t *issuer, size_t ilen)
{
	WOLFSSL_CERT_MANAGER *cm = wolfSSL_CertManagerNew();
	bool ok = cm != NULL &&
	          wolfSSL_CertManagerLoadCABuffer(cm, issuer, (long)ilen, WOLFSSL_FILETYPE_ASN1) ==
	          WOLFSSL_SUCCESS && verifies(cm, der, len);
	wolfSSL_CertManagerFree(cm);
	return ok;
}

bool
tls_peer_chain_trusted(WOLFSSL_CTX *ctx, const struct tls_peer_chain *chain)
{
	if (ctx == NULL || chain->n == 0 || !is_mtls_ctx(ctx))
		return false;
	WOLFSSL_CERT_MANAGER *cas = wolfSSL_CTX_GetCertManager(ctx);
	size_t top = chain->n - 1;
	if (cas == NULL || !verifies(cas, chain->der[top], chain->len[top]))
		return false;
	for (size_t i = top; i-- > 0;)
		if (!verifies_under(chain->der[i], chain->len[i], chain->der[i + 1], chain->len[i + 1]))
			return false;
	return true;
}

void
tls_describe(WOLFSSL *ssl, char *out, size_t len)
{
	snprintf(out, len, "%s %s", wolfSSL_get_version(ssl), wolfSSL_get_cipher_name(ssl));
}

/* ---- the client's certificate identity ------------------------------------ */

/* tls_x509_each_san callback: keeps a DNS SAN, lowercased, if it fits and is
 * all visible ASCII (no NUL, space or control byte to confuse a match). */
static void
identity_add_name(void *arg, int type, const char *data, size_t len)
{
	struct tls_identity *id = arg;
	if (type != ASN_DNS_TYPE || id->n_names >= TLS_ID_NAMES || len >= TLS_ID_NAME_MAX)
		return;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)data[i] < 0x21 || (unsigned char)data[i] > 0x7e)
			return;
	char *name = id->names[id->n_names++];
	for (size_t i = 0; i < len; i++)
		name[i] = (char)tolower((unsigned char)data[i]);
	name[len] = '\0';
}

bool
tls_peer_identity(WOLFSSL *ssl, struct tls_identity *out)
{
	char b64[64];
	memset(out, 0, sizeof(*out));
	if (ssl == NULL || !wolfSSL_is_init_finished(ssl))
		return false;
	WOLFSSL_X509 *x = wolfSSL_get_peer_certificate(ssl);
	if (x == NULL)          /* on an mTLS session only after a resumption: fail closed */
		return (wolfSSL_get_options(ssl) & WOLFSSL_OP_NO_TICKET) == 0;
	bool ok = tls_x509_spki_pin(x, out->pin, b64) == 0;
	if (ok) {
		tls_x509_each_san(x, identity_add_name, out);
		tls_x509_name_text(wolfSSL_X509_get_subject_name(x), out->subject, sizeof(out->subject));
		out->has_cert = true;
	} else {
		memset(out, 0, sizeof(*out));
	}
	wolfSSL_X509_free(x);
	return ok;
}

bool
tls_identity_matches(const struct tls_identity *id, const char *pattern)
{
	uint8_t pin[TLS_PIN_LEN];
	if (id == NULL || pattern == NULL || !id->has_cert)
		return false;
	if (certpat_is_pin(pattern))
		return tls_pin_parse(pattern + 7, pin) == 0 && memcmp(pin, id->pin, TLS_PIN_LEN) == 0;
	size_t plen = strlen(pattern);
	for (size_t i = 0; i < id->n_names && i < TLS_ID_NAMES; i++)
		if (tls_x509_dns_id_match(pattern, plen, id->names[i]))
			return true;
	return false;
}

const char *
tls_identity_pattern_error(const char *pattern)
{
	return certpat_error(pattern);
}
