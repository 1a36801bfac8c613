/* tls.h - wolfSSL server context and per-connection sessions for XoT:
 * TLS 1.3 only, ALPN "dot", session tickets, no early data (RFC 9103 §7.1-7.3,
 * RFC 8310 §9, RFC 8446 App. E.5); optionally mutual TLS, with the client's
 * certificate identity (DNS SANs, SPKI pin) for the ACL (RFC 9103 §7.5,
 * XOT-04, DOT-14). */
#ifndef XP_TLS_H
#define XP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/lib/reason.h"
#include "tls_lib.h"

#define TLS_ERR_MAX 256

enum tls_io {
	TLS_IO_OK = 0,
	TLS_IO_WANT_READ,
	TLS_IO_WANT_WRITE,
	TLS_IO_EOF,          /* close_notify or transport closed */
	TLS_IO_ERR,
};

int tls_init(void);
void tls_cleanup(void);

/* Shared with tls_client.c: our socket I/O callbacks (recv/send with
 * MSG_NOSIGNAL, errno mapped to wolfSSL's codes) on a context, and the reason
 * a PEM file did not load ("WHAT PATH: why") into err. */
void tls_ctx_set_io(WOLFSSL_CTX *ctx);
void tls_load_error(char err[TLS_ERR_MAX], const char *what, const char *path);

/* Loads a PEM chain and key (ECDSA or RSA) into a TLS 1.3 server context.
 * client_ca NULL: no client certificate is requested (tickets issued).
 * client_ca a PEM file: every client must present a certificate that chains
 * to a CA in that file and nothing else (never the system store), within its
 * validity dates, with no extended key usage or one allowing clientAuth;
 * otherwise the handshake fails with an alert: certificate_required (none
 * sent), unknown_ca (another CA), certificate_expired, bad_certificate.
 * Such a context issues no session tickets and resumes none (see
 * tls_copy_ticket_keys): the local wolfSSL keeps no client certificate
 * across a resumption (no SESSION_CERTS, and its tickets carry no identity),
 * so a resumed session could not be bound to an ACL identity. Every
 * connection therefore makes a full handshake (a documented deviation from
 * RFC 7858 §3.4 / RFC 8310 §9's resumption SHOULD/MUST, under mTLS only).
 * Returns NULL with a reason in err. */
WOLFSSL_CTX *tls_server_ctx_new(const char *cert, const char *key, const char *client_ca,
                                char err[TLS_ERR_MAX]);

/* A server session on a connected non-blocking socket, ALPN "dot" required
 * when offered (a list without it fails with no_application_protocol). */
WOLFSSL *tls_session_new(WOLFSSL_CTX *ctx, int fd);

/* Maps a wolfSSL return value (<= 0) to an I/O result; on TLS_IO_ERR a
 * description goes to err (if not NULL). */
enum tls_io tls_io_result(WOLFSSL *ssl, int ret, char err[TLS_ERR_MAX]);

/* The kind of failure (an RF_HANDSHAKE code of reason.h) of a wolfSSL call
 * that returned ret (<= 0, not a WANT_READ/WRITE), by its wolfSSL error
 * code; tls_error_reason for the error code itself. */
enum reason tls_io_reason(WOLFSSL *ssl, int ret);
enum reason tls_error_reason(int wolfssl_error);

/* True if the handshake negotiated ALPN "dot" (XOT-01). */
bool tls_alpn_is_dot(WOLFSSL *ssl);

/* Copies the session-ticket keys so tickets issued by `from` still resume
 * on `to` after a reload. Returns 0 or -1. When either context was made with
 * a client CA, nothing is copied and 0 is returned: `to` must not resume a
 * ticket of other settings (wolfSSL would accept it without any client
 * certificate), and `from` issued no tickets. */
int tls_copy_ticket_keys(WOLFSSL_CTX *from, WOLFSSL_CTX *to);

/* ---- the client's certificate identity (mutual TLS) ---------------------- */

#define TLS_ID_NAMES 8
#define TLS_ID_NAME_MAX 256

struct tls_identity {
	char names[TLS_ID_NAMES][TLS_ID_NAME_MAX];   /* DNS SANs of the leaf, lowercase */
	size_t n_names;
	uint8_t pin[32];                 /* SHA-256 of the leaf's SubjectPublicKeyInfo */
	bool has_cert;                   /* false: no client certificate, the rest empty */
	char subject[256];               /* "CN=..." (else the whole name), printable: for logs */
};

/* The verified client certificate of a finished handshake, into out.
 * names: the leaf's DNS SANs in certificate order, lowercased; the first
 * TLS_ID_NAMES kept, those of TLS_ID_NAME_MAX bytes or more, or holding a
 * byte outside 0x21-0x7e, skipped (IP SANs and the subject CN are never
 * names). Returns true with has_cert false when no certificate was asked for
 * or none is kept. Returns false (out cleared) when the handshake has not
 * finished, when the certificate cannot be read, or when the context was
 * made with a client CA and no certificate is available (only a resumed
 * session could do that, and these contexts resume none: fail closed). */
bool tls_peer_identity(WOLFSSL *ssl, struct tls_identity *out);

/* True if id has a certificate and pattern names it: either "sha256:BASE64"
 * (the SPKI pin of the leaf, as tls_pin_parse reads it; the prefix in any
 * case), or a DNS name matched against each of id's names: case-insensitive,
 * one trailing dot ignored, a leading "*." matching exactly one label and
 * only under at least two more labels ("*.example.net" matches
 * sec1.example.net, not example.net nor a.b.example.net; "*.net" matches
 * nothing). A '*' in a certificate's SAN is not expanded: the SAN
 * "*.example.net" is matched only by the pattern "*.example.net". */
bool tls_identity_matches(const struct tls_identity *id, const char *pattern);

/* NULL if pattern is a usable tls_identity_matches pattern (for the config
 * parser), else why not, e.g. "sha256: pin is not 44 characters of base64"
 * (a static string). */
const char *tls_identity_pattern_error(const char *pattern);

/* ---- re-verifying a session's client certificate (issue 13, B15) --------- */

#define TLS_CHAIN_MAX 8

/* The certificates a client presented in its handshake, DER, leaf first:
 * kept so that each query can check they still verify under the client-ca
 * in force after a reload. Owned by the session's owner. */
struct tls_peer_chain {
	uint8_t *der[TLS_CHAIN_MAX];
	size_t len[TLS_CHAIN_MAX];
	size_t n;
};

/* Records into chain, during ssl's handshake under a client-CA context,
 * the certificates the client presents once wolfSSL has verified them
 * (nothing is recorded for a certificate it refused; the verdict and alert
 * stay wolfSSL's). chain must stay valid until the handshake ends. */
void tls_session_keep_chain(WOLFSSL *ssl, struct tls_peer_chain *chain);

/* After the handshake: if nothing was recorded but the session has a peer
 * certificate, keeps that leaf alone. Returns 0, or -1 (out of memory, or
 * a certificate that cannot be read). */
int tls_peer_chain_complete(WOLFSSL *ssl, struct tls_peer_chain *chain);

void tls_peer_chain_free(struct tls_peer_chain *chain);

/* True if chain still verifies under ctx's client CAs: its top certificate
 * against them, each other one against the certificate above it, each
 * within its validity dates. False for a context without client-ca, or an
 * empty chain. */
bool tls_peer_chain_trusted(WOLFSSL_CTX *ctx, const struct tls_peer_chain *chain);

/* "TLSv1.3 TLS13-AES128-GCM-SHA256" for logs. */
void tls_describe(WOLFSSL *ssl, char *out, size_t len);

#endif
