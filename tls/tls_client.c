/* tls_client.c - non-blocking wolfSSL client for XoT towards a remote primary,
 * RFC 8310 strict profile: the CA chain, the DNS-ID (SAN only) and the SPKI
 * pins are all judged in one verify callback on the leaf, so a failure aborts
 * the handshake itself (with an alert) and the reason names what was expected
 * and what the primary presented.
 *
 * Where the state lives. The local wolfSSL build has no HAVE_EX_DATA (no
 * ex_data/app_data on any object), so:
 *   - the auth settings: an immutable copy, interned in a process-wide list
 *     (identical settings share one), reached by the callback as the CTX's
 *     verify-callback context (store->userCtx);
 *   - the caller's err buffer: a thread-local pointer, set only while
 *     tls_client_handshake runs wolfSSL_connect (the callback runs there;
 *     called anywhere else, the callback refuses);
 *   - "verified": a handshake can only finish if the leaf callback accepted
 *     (it returns 0 otherwise, and outside tls_client_handshake), so
 *     wolfSSL_is_init_finished + ALPN "dot" is the whole "done" state;
 *   - resumption under the same settings only: the session id context is the
 *     interned copy's identity; wolfSSL refuses to resume a session stored
 *     under another context. */
#include "tls_client.h"
#include "tls_x509.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/sha256.h>

/* The leaf callback must run on success too: it is where the name, pins and
 * dates are checked (without it, only wolfSSL's chain check would run). */
#ifndef WOLFSSL_ALWAYS_VERIFY_CB
#error "tls_client.c needs WOLFSSL_ALWAYS_VERIFY_CB (set by --enable-opensslextra)"
#endif

#define AUTH_MAGIC 0x584f5443u            /* "XOTC" */

struct auth {
	uint32_t magic;
	struct auth *next;
	char *ca;                       /* path (for messages), or NULL */
	char *name;                     /* authentication domain name, or NULL */
	int ip_len;                     /* 4 or 16 when name is an IP literal */
	uint8_t ip[16];
	size_t n_pins;
	uint8_t (*pins)[TLS_PIN_LEN];
};

/* Lives on tls_client_handshake's stack for one wolfSSL_connect call. */
struct vcall {
	WOLFSSL *ssl;
	char *err;
	enum reason why;                /* the failure as a code (RF_HANDSHAKE) */
	bool failed;                    /* err holds a verification failure */
	int chain_err;                  /* first error at depth > 0 (CA mode) */
	int chain_depth;
};

static pthread_mutex_t auth_lock = PTHREAD_MUTEX_INITIALIZER;
static struct auth *auth_list;

static _Thread_local struct vcall *cur_call;

static enum reason alert_reason(int code);

/* Of two handshake failure codes, the one that says more: a timeout, then
 * the protocol version, ALPN, the certificate, a close; "other" last. */
static enum reason
stronger(enum reason a, enum reason b)
{
	static const enum reason order[] = { RSN_HS_TIMEOUT, RSN_HS_VERSION, RSN_HS_ALPN,
	                                     RSN_HS_CERTIFICATE, RSN_HS_CLOSED };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (a == order[i] || b == order[i])
			return order[i];
	return RSN_HS_OTHER;
}

/* ---- small text helpers ---------------------------------------------------- */

struct text {
	char *p;
	size_t cap, len;
};

static void __attribute__((format(printf, 2, 3)))
text_add(struct text *t, const char *fmt, ...)
{
	if (t->len >= t->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len = (size_t)n >= t->cap - t->len ? t->cap - 1 : t->len + (size_t)n;
}

static bool
str_same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* ---- the interned auth settings --------------------------------------------- */

static bool
auth_equal(const struct auth *a, const struct tls_client_auth *in)
{
	return str_same(a->ca, in->ca) && str_same(a->name, in->auth_name) &&
	       a->n_pins == in->n_pins &&
	       (in->n_pins == 0 || memcmp(a->pins, in->pins, in->n_pins * TLS_PIN_LEN) == 0);
}

static struct auth *
auth_copy(const struct tls_client_auth *in)
{
	struct auth *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->ca = in->ca ? strdup(in->ca) : NULL;
	a->name = in->auth_name ? strdup(in->auth_name) : NULL;
	a->pins = in->n_pins ? malloc(in->n_pins * TLS_PIN_LEN) : NULL;
	if ((in->ca && !a->ca) || (in->auth_name && !a->name) || (in->n_pins && !a->pins)) {
		free(a->ca);
		free(a->name);
		free(a->pins);
		free(a);
		return NULL;
	}
	if (in->n_pins)
		memcpy(a->pins, in->pins, in->n_pins * TLS_PIN_LEN);
	a->n_pins = in->n_pins;
	a->magic = AUTH_MAGIC;
	if (a->name && inet_pton(AF_INET, a->name, a->ip) == 1)
		a->ip_len = 4;
	else if (a->name && inet_pton(AF_INET6, a->name, a->ip) == 1)
		a->ip_len = 16;
	return a;
}

/* Returns the shared immutable copy of `in` (never freed: CTXs, sessions and
 * tickets may outlive any caller; identical settings share one entry). */
static const struct auth *
auth_intern(const struct tls_client_auth *in)
{
	pthread_mutex_lock(&auth_lock);
	struct auth *a;
	for (a = auth_list; a != NULL; a = a->next)
		if (auth_equal(a, in))
			break;
	if (a == NULL && (a = auth_copy(in)) != NULL) {
		a->next = auth_list;
		auth_list = a;
	}
	pthread_mutex_unlock(&auth_lock);
	return a;
}

/* ---- what the leaf presents ------------------------------------------------- */

/* san_check's state while the leaf's SANs are walked. */
struct san_walk {
	const struct auth *a;
	struct text t;
	bool match, cut;
	int shown;
};

static void
san_one(void *arg, int type, const char *data, size_t len)
{
	struct san_walk *w = arg;
	const struct auth *a = w->a;
	char one[INET6_ADDRSTRLEN > 64 ? INET6_ADDRSTRLEN : 64];
	if (type == ASN_DNS_TYPE) {
		w->match = w->match || (a->name != NULL && a->ip_len == 0 && tls_x509_dns_id_match(data, len, a->name));
		tls_x509_printable(one, sizeof(one), data, len);
	} else {
		w->match = w->match || (a->ip_len != 0 && len == (size_t)a->ip_len && memcmp(data, a->ip, len) == 0);
		if ((len != 4 && len != 16) || !inet_ntop(len == 4 ? AF_INET : AF_INET6, data, one, sizeof(one)))
			snprintf(one, sizeof(one), "(bad IP SAN)");
	}
	if (!w->cut && w->t.len + strlen(one) + 8 < w->t.cap) {
		text_add(&w->t, "%s%s", w->shown++ ? ", " : "", one);
	} else if (!w->cut) {
		text_add(&w->t, "%s...", w->shown ? ", " : "");
		w->cut = true;
	}
}

/* Checks a's name against the leaf's DNS SANs (IP SANs for an IP literal) and
 * lists those SANs as "[a, b]" into sans (truncated with "..."). */
static bool
san_check(WOLFSSL_X509 *x, const struct auth *a, char *sans, size_t cap)
{
	struct san_walk w = { .a = a, .t = { sans, cap, 0 } };
	text_add(&w.t, "[");
	tls_x509_each_san(x, san_one, &w);
	text_add(&w.t, "]");
	return w.match;
}

static bool
pin_check(const struct auth *a, const uint8_t raw[TLS_PIN_LEN])
{
	for (size_t i = 0; i < a->n_pins; i++)
		if (memcmp(a->pins[i], raw, TLS_PIN_LEN) == 0)
			return true;
	return false;
}

static void
time_text(const WOLFSSL_ASN1_TIME *t, char *out, size_t cap)
{
	struct tm tm;
	if (t == NULL || wolfSSL_ASN1_TIME_to_tm(t, &tm) != WOLFSSL_SUCCESS ||
	    strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, cap, "unreadable");
}

/* The leaf's validity window against the clock; a problem goes to t. Dates
 * are checked in every mode, pin-only included (wolfSSL reports only "no
 * signer" there). */
static bool
dates_check(WOLFSSL_X509 *x, struct text *t)
{
	char when[40];
	const WOLFSSL_ASN1_TIME *nb = wolfSSL_X509_get_notBefore(x);
	const WOLFSSL_ASN1_TIME *na = wolfSSL_X509_get_notAfter(x);
	int before = nb ? wolfSSL_X509_cmp_current_time(nb) : 0;   /* 1: in the future */
	int after = na ? wolfSSL_X509_cmp_current_time(na) : 0;    /* -1: in the past */
	if (after == -1) {
		time_text(na, when, sizeof(when));
		text_add(t, "certificate expired (notAfter %s); ", when);
	} else if (before == 1) {
		time_text(nb, when, sizeof(when));
		text_add(t, "certificate not yet valid (notBefore %s); ", when);
	} else if (after == 0 || before == 0) {
		text_add(t, "certificate validity dates unreadable; ");
	} else {
		return true;
	}
	return false;
}

static void
alpn_text(WOLFSSL *ssl, char *out, size_t cap)
{
	char *p = NULL;
	unsigned short n = 0;
	if (wolfSSL_ALPN_GetProtocol(ssl, &p, &n) == WOLFSSL_SUCCESS && p != NULL && n > 0)
		tls_x509_printable(out, cap, p, n);
	else
		snprintf(out, cap, "none");
}

/* ---- verification ------------------------------------------------------------- */

/* Error codes arrive as wolfSSL's (< 0) or, in builds with
 * OPENSSL_COMPATIBLE_DEFAULTS (Debian's), as X509_V_ERR_* (> 0). */
static bool
err_is_no_signer(int e)
{
	return e == ASN_NO_SIGNER_E || e == ASN_SELF_SIGNED_E ||
	       e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	       e == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
}

static bool
err_is_date(int e)
{
	return e == ASN_AFTER_DATE_E || e == ASN_BEFORE_DATE_E ||
	       e == X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD ||
	       e == X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD;
}

static void
chain_problem(struct text *t, const struct auth *a, int e, int depth)
{
	char buf[WOLFSSL_MAX_ERROR_SZ];
	if (depth > 0)
		text_add(t, "chain certificate %d: ", depth);
	if (err_is_no_signer(e)) {
		text_add(t, "issuer not trusted by CA file %s; ", a->ca);
		return;
	}
	if (e > 0)
		snprintf(buf, sizeof(buf), "%s", wolfSSL_X509_verify_cert_error_string(e));
	else
		wolfSSL_ERR_error_string((unsigned long)e, buf);
	text_add(t, "%s check failed: %s (%d); ", depth > 0 || a->ca ? "chain" : "certificate", buf, e);
}

/* A certificate above the leaf. With a CA, its chain error fails the
 * handshake here: returning 1 would make wolfSSL add this unverified CA
 * certificate to the context's trust store. The leaf callback may not run
 * after this, so the reason is complete here. Pin-only: accepted, only the
 * leaf's pin counts (wolfSSL then does add such a CA certificate to the
 * store; harmless, as pin-only contexts never trust the store). */
static int
chain_verdict(const struct auth *a, struct vcall *vc, WOLFSSL_X509 *x, int depth, int error)
{
	char subject[100], issuer[100], alpn[40];
	if (a->ca == NULL || error == 0)
		return 1;
	if (vc->chain_err == 0) {
		vc->chain_err = error;
		vc->chain_depth = depth;
		tls_x509_name_text(x ? wolfSSL_X509_get_subject_name(x) : NULL, subject, sizeof(subject));
		tls_x509_name_text(x ? wolfSSL_X509_get_issuer_name(x) : NULL, issuer, sizeof(issuer));
		alpn_text(vc->ssl, alpn, sizeof(alpn));
		struct text t = { vc->err, TLS_ERR_MAX, 0 };
		text_add(&t, "certificate verification failed: ");
		chain_problem(&t, a, error, depth);
		text_add(&t, "subject %s; issuer %s; ALPN %s", subject, issuer, alpn);
		vc->failed = true;
	}
	return 0;
}

/* The leaf: every configured check, then one reason naming what was expected
 * and what was presented. Returns 1 to accept. */
static int
leaf_verdict(WOLFSSL *ssl, const struct auth *a, struct vcall *vc, WOLFSSL_X509 *x, int error)
{
	char sans[120], issuer[120], pin[64], alpn[40];
	uint8_t raw[TLS_PIN_LEN];
	struct text t = { vc->err, TLS_ERR_MAX, 0 };

	text_add(&t, "certificate verification failed: ");
	if (x == NULL) {
		text_add(&t, "no certificate");
		vc->failed = true;
		return 0;
	}
	int chain = vc->chain_err ? vc->chain_err : error;
	bool dates_ok = dates_check(x, &t);
	bool ok = dates_ok;
	/* Pin-only: "who signed it" is replaced by the pin; anything else counts. */
	if (chain != 0 && (a->ca != NULL || !err_is_no_signer(chain)) && (dates_ok || !err_is_date(chain))) {
		chain_problem(&t, a, chain, vc->chain_err ? vc->chain_depth : 0);
		ok = false;
	}
	bool name_ok = san_check(x, a, sans, sizeof(sans)) || a->name == NULL;
	if (!name_ok) {
		text_add(&t, "name %s not in SANs %s; ", a->name, sans);
		ok = false;
	}
	bool pin_ok = tls_x509_spki_pin(x, raw, pin) == 0 && (a->n_pins == 0 || pin_check(a, raw));
	if (!pin_ok) {
		text_add(&t, "pin sha256:%s not among the configured [", pin);
		for (size_t i = 0; i < a->n_pins; i++) {
			char want[64];
			word32 n = sizeof(want);
			if (Base64_Encode_NoNl(a->pins[i], TLS_PIN_LEN, (byte *)want, &n) != 0 || n >= sizeof(want))
				n = 0;
			want[n] = '\0';
			text_add(&t, "%ssha256:%s", i > 0 ? ", " : "", want);
		}
		text_add(&t, "]; ");
		ok = false;
	}
	if (ok) {
		vc->err[0] = '\0';
		return 1;
	}
	tls_x509_name_text(wolfSSL_X509_get_issuer_name(x), issuer, sizeof(issuer));
	alpn_text(ssl, alpn, sizeof(alpn));
	if (name_ok)
		text_add(&t, "SANs %s; ", sans);
	text_add(&t, "issuer %s; ", issuer);
	if (pin_ok)
		text_add(&t, "pin sha256:%s; ", pin);
	text_add(&t, "ALPN %s", alpn);
	vc->failed = true;
	return 0;
}

/* Runs inside wolfSSL_connect for each certificate the primary sent (leaf
 * last, depth 0), on success and failure alike (WOLFSSL_ALWAYS_VERIFY_CB and
 * WOLFSSL_VERIFY_CB_ALL_CERTS). Returning 0 aborts the handshake with an
 * alert; returning 1 overrides wolfSSL's own verdict, so the leaf verdict
 * judges every error itself. */
static int
verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *st)
{
	struct vcall *vc = cur_call;
	const struct auth *a = st->userCtx;     /* the CTX's: see tls_client_ctx_new */
	if (vc == NULL || a == NULL || a->magic != AUTH_MAGIC)
		return 0;                       /* outside tls_client_handshake: refuse */
	int depth = wolfSSL_X509_STORE_CTX_get_error_depth(st);
	int error = preverify ? 0 : wolfSSL_X509_STORE_CTX_get_error(st);
	if (error == 0 && !preverify)
		error = VERIFY_CERT_ERROR;
	if (depth > 0)
		return chain_verdict(a, vc, wolfSSL_X509_STORE_CTX_get_current_cert(st), depth, error);
	return leaf_verdict(vc->ssl, a, vc, wolfSSL_X509_STORE_CTX_get_current_cert(st), error);
}

/* ---- API ---------------------------------------------------------------------- */

static int
auth_check(const struct tls_client_auth *auth, char err[TLS_ERR_MAX])
{
	if (auth == NULL)
		snprintf(err, TLS_ERR_MAX, "no authentication settings for the primary");
	else if ((auth->ca && !*auth->ca) || (auth->auth_name && !*auth->auth_name))
		snprintf(err, TLS_ERR_MAX, "empty CA file or authentication name");
	else if (auth->auth_name && strlen(auth->auth_name) > 254)
		snprintf(err, TLS_ERR_MAX, "authentication name longer than 254 characters");
	else if (auth->n_pins > 0 && auth->pins == NULL)
		snprintf(err, TLS_ERR_MAX, "pin count given without pins");
	else if (!(auth->ca && auth->auth_name) && auth->n_pins == 0)
		snprintf(err, TLS_ERR_MAX, "strict authentication of the primary needs a CA file and "
		         "an authentication name, or at least one SPKI pin (RFC 8310, DOT-06)");
	else if ((auth->client_cert == NULL) != (auth->client_key == NULL))
		snprintf(err, TLS_ERR_MAX, "mutual TLS needs both a client certificate and its key");
	else
		return 0;
	return -1;
}

static int
load_client_cert(WOLFSSL_CTX *ctx, const struct tls_client_auth *auth, char err[TLS_ERR_MAX])
{
	if (wolfSSL_CTX_use_certificate_chain_file(ctx, auth->client_cert) != WOLFSSL_SUCCESS) {
		tls_load_error(err, "cannot load client certificate", auth->client_cert);
		return -1;
	}
	if (wolfSSL_CTX_use_PrivateKey_file(ctx, auth->client_key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
		tls_load_error(err, "cannot load client key", auth->client_key);
		return -1;
	}
	if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS) {
		snprintf(err, TLS_ERR_MAX, "client key %s does not match client certificate %s",
		         auth->client_key, auth->client_cert);
		return -1;
	}
	return 0;
}

WOLFSSL_CTX *
tls_client_ctx_new(const struct tls_client_auth *auth, char err[TLS_ERR_MAX])
{
	if (auth_check(auth, err) != 0)
		return NULL;
	const struct auth *a = auth_intern(auth);
	if (a == NULL) {
		snprintf(err, TLS_ERR_MAX, "out of memory");
		return NULL;
	}
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());   /* XOT-02 */
	if (ctx == NULL) {
		snprintf(err, TLS_ERR_MAX, "cannot create TLS context");
		return NULL;
	}
	if (auth->ca && wolfSSL_CTX_load_verify_locations(ctx, auth->ca, NULL) != WOLFSSL_SUCCESS) {
		tls_load_error(err, "cannot load CA file", auth->ca);
		goto fail;
	}
	if (auth->client_cert && load_client_cert(ctx, auth, err) != 0)
		goto fail;
	/* SNI carries host names only (RFC 6066 §3: no IP literals); sessions
	 * inherit it. The session id context is the settings' identity. TLS 1.3
	 * tickets need no switch on the client (wolfSSL_CTX_UseSessionTicket is
	 * the TLS 1.2 extension). */
	if ((a->name != NULL && a->ip_len == 0 &&
	     wolfSSL_CTX_UseSNI(ctx, WOLFSSL_SNI_HOST_NAME, a->name,
	                        (unsigned short)strlen(a->name)) != WOLFSSL_SUCCESS) ||
	    wolfSSL_CTX_set_session_id_context(ctx, (const unsigned char *)&a, sizeof(a)) != WOLFSSL_SUCCESS) {
		snprintf(err, TLS_ERR_MAX, "cannot set up the TLS client context");
		goto fail;
	}
	wolfSSL_CTX_SetCertCbCtx(ctx, (void *)a);
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, verify_cb);
	tls_ctx_set_io(ctx);
	return ctx;
fail:
	wolfSSL_CTX_free(ctx);
	return NULL;
}

WOLFSSL *
tls_client_session_new(WOLFSSL_CTX *ctx, int fd, WOLFSSL_SESSION *resume)
{
	WOLFSSL *ssl = ctx ? wolfSSL_new(ctx) : NULL;
	if (ssl == NULL)
		return NULL;
	char alpn[] = "dot";               /* wolfSSL wants a writable list */
	if (wolfSSL_UseALPN(ssl, alpn, 3, WOLFSSL_ALPN_FAILED_ON_MISMATCH) != WOLFSSL_SUCCESS ||
	    wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS) {
		wolfSSL_free(ssl);
		return NULL;
	}
	/* Refused (full handshake instead) when expired or stored under another
	 * session id context, i.e. other authentication settings. */
	if (resume != NULL)
		(void)wolfSSL_set_session(ssl, resume);
	return ssl;
}

/* A failed or unfinished wolfSSL_connect; a verification failure already
 * wrote its reason and always ends the handshake. */
static enum tls_io
handshake_error(WOLFSSL *ssl, int ret, struct vcall *vc)
{
	vc->why = RSN_HS_CERTIFICATE;
	if (vc->failed)
		return TLS_IO_ERR;
	enum tls_io r = tls_io_result(ssl, ret, vc->err);
	if (r == TLS_IO_WANT_READ || r == TLS_IO_WANT_WRITE)
		return r;
	vc->why = r == TLS_IO_EOF ? RSN_HS_CLOSED : tls_io_reason(ssl, ret);
	if (r == TLS_IO_EOF)
		snprintf(vc->err, TLS_ERR_MAX, "connection closed by the primary during the TLS handshake");
	WOLFSSL_ALERT_HISTORY h;
	if (wolfSSL_get_alert_history(ssl, &h) == WOLFSSL_SUCCESS && h.last_rx.code >= 0) {
		size_t len = strlen(vc->err);
		char words[64];
		tls_client_alert_text(h.last_rx.code, words, sizeof(words));
		snprintf(vc->err + len, TLS_ERR_MAX - len, "; alert from the primary: %s", words);
		vc->why = stronger(vc->why, alert_reason(h.last_rx.code));
	}
	return TLS_IO_ERR;
}

enum tls_io
tls_client_handshake(WOLFSSL *ssl, char err[TLS_ERR_MAX])
{
	enum reason why;
	return tls_client_handshake_why(ssl, err, &why);
}

enum tls_io
tls_client_handshake_why(WOLFSSL *ssl, char err[TLS_ERR_MAX], enum reason *why)
{
	struct vcall vc = { .ssl = ssl, .err = err, .why = RSN_NONE };
	err[0] = '\0';
	*why = RSN_NONE;
	cur_call = &vc;
	int ret = wolfSSL_connect(ssl);
	cur_call = NULL;
	if (ret != WOLFSSL_SUCCESS) {
		enum tls_io r = handshake_error(ssl, ret, &vc);
		if (r == TLS_IO_ERR)
			*why = vc.why;
		return r;
	}
	/* Finished means verified: the leaf callback accepted (a resumed
	 * session sends no certificate; its ticket came from a verified
	 * handshake under the same settings, see tls_client_session_get). */
	if (!tls_alpn_is_dot(ssl)) {                                       /* XOT-01 */
		char alpn[40];
		alpn_text(ssl, alpn, sizeof(alpn));
		snprintf(err, TLS_ERR_MAX, "the primary did not select ALPN \"dot\" (selected: %s)", alpn);
		*why = RSN_HS_ALPN;
		return TLS_IO_ERR;
	}
	return TLS_IO_OK;
}

/* RFC 8446 section 6 alert names that this wolfSSL build has no text for,
 * and the common ones, in words. */
static const char *
alert_words(int code)
{
	switch (code) {
	case 40: return "handshake failure";
	case 42: return "bad certificate";
	case 43: return "unsupported certificate";
	case 44: return "certificate revoked";
	case 45: return "certificate expired";
	case 46: return "certificate unknown";
	case 48: return "unknown CA";
	case 49: return "access denied";
	case 50: return "decode error";
	case 51: return "decrypt error";
	case 70: return "protocol version";
	case 80: return "internal error";
	case 109: return "missing extension";
	case 112: return "unrecognized name";
	case 116: return "certificate required";
	case 120: return "no application protocol";
	default: return NULL;
	}
}

int
tls_client_alert_text(int code, char *out, size_t len)
{
	const char *w = alert_words(code);
	if (w == NULL)
		w = wolfSSL_alert_desc_string_long(code);
	if (w == NULL)
		return snprintf(out, len, "alert %d", code);
	int n = snprintf(out, len, "%s (%d)", w, code);
	for (char *c = out; *c != '\0'; c++)
		if (*c == '_')
			*c = ' ';
	return n;
}

/* A fatal alert as a handshake failure code. */
static enum reason
alert_reason(int code)
{
	switch (code) {
	case 42: case 43: case 44: case 45: case 46:    /* bad ... unknown certificate */
	case 111: case 113: case 114: case 116:         /* ... certificate required */
		return RSN_HS_CERTIFICATE;
	case 70:                                        /* protocol version */
		return RSN_HS_VERSION;
	case 120:                                       /* no application protocol */
		return RSN_HS_ALPN;
	default:
		return RSN_HS_OTHER;
	}
}

enum reason
tls_client_alert_reason(WOLFSSL *ssl)
{
	WOLFSSL_ALERT_HISTORY h;
	memset(&h, 0, sizeof(h));
	if (ssl == NULL || wolfSSL_get_alert_history(ssl, &h) != WOLFSSL_SUCCESS)
		return RSN_NONE;
	if (h.last_rx.level != 2 || h.last_rx.code == 0)
		return RSN_NONE;
	return alert_reason(h.last_rx.code);
}

bool
tls_client_peer_alert(WOLFSSL *ssl, char *out, size_t len)
{
	WOLFSSL_ALERT_HISTORY h;
	memset(&h, 0, sizeof(h));
	if (ssl == NULL || wolfSSL_get_alert_history(ssl, &h) != WOLFSSL_SUCCESS)
		return false;
	if (h.last_rx.level != 2 || h.last_rx.code == 0)   /* fatal, not close_notify */
		return false;
	char words[64];
	tls_client_alert_text(h.last_rx.code, words, sizeof(words));
	snprintf(out, len, "the primary sent alert %s", words);
	return true;
}

int
tls_client_file_digest(const char *path, uint8_t out[32], char err[TLS_ERR_MAX])
{
	memset(out, 0, 32);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, TLS_ERR_MAX, "cannot read %s", path);
		return -1;
	}
	wc_Sha256 sha;
	uint8_t buf[4096];
	size_t n;
	int rc = wc_InitSha256(&sha);
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		rc = wc_Sha256Update(&sha, buf, (word32)n);
	if (rc == 0 && ferror(f))
		rc = -1;
	if (rc == 0)
		rc = wc_Sha256Final(&sha, out);
	wc_Sha256Free(&sha);
	fclose(f);
	if (rc != 0) {
		snprintf(err, TLS_ERR_MAX, "cannot read %s", path);
		return -1;
	}
	return 0;
}

WOLFSSL_SESSION *
tls_client_session_get(WOLFSSL *ssl)
{
	/* Same test as tls_client_handshake's TLS_IO_OK. */
	if (!wolfSSL_is_init_finished(ssl) || !tls_alpn_is_dot(ssl))
		return NULL;
	WOLFSSL_SESSION *s = wolfSSL_get1_session(ssl);
	if (s != NULL && !wolfSSL_SESSION_has_ticket(s)) {
		wolfSSL_SESSION_free(s);
		s = NULL;
	}
	return s;
}

int
tls_pin_of_cert_file(const char *path, char out[64], char err[TLS_ERR_MAX])
{
	uint8_t raw[TLS_PIN_LEN];
	WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_file(path, WOLFSSL_FILETYPE_PEM);
	if (x == NULL)
		x = wolfSSL_X509_load_certificate_file(path, WOLFSSL_FILETYPE_ASN1);
	if (x == NULL) {
		tls_load_error(err, "cannot load certificate", path);
		return -1;
	}
	int r = tls_x509_spki_pin(x, raw, out);
	wolfSSL_X509_free(x);
	if (r != 0)
		snprintf(err, TLS_ERR_MAX, "cannot read the public key of %s", path);
	return r;
}
