/* tls_client.h - the client side of XoT (outbound: a local legacy secondary's
 * queries carried over TLS 1.3 to a remote XoT primary), RFC 8310 strict
 * profile only (DOT-05..08, DOT-10, XOT-01, XOT-02).
 *
 * What the primary must prove, checked inside the handshake by a verify
 * callback (a failure aborts the handshake with an alert, so no application
 * byte is ever sent to an unauthenticated peer, DOT-06):
 *   - ca:        the chain validates to this CA file (PKIX path, dates).
 *   - auth_name: a DNS SAN of the leaf matches it (RFC 6125 DNS-ID, a whole
 *                leftmost '*' label at most), or an IP SAN when it is an IP
 *                literal. The subject CN is never consulted (DOT-07). Also sent
 *                as SNI unless it is an IP literal (DOT-10).
 *   - pins:      the SHA-256 of the leaf's SubjectPublicKeyInfo is one of them
 *                (DOT-05; pins are matched against the leaf only).
 * Every configured check must pass (CA + name + pins: all three, DOT-08).
 * With pins and no CA, the chain check is replaced by the pin check; the
 * leaf's validity dates are still enforced (an expired or not-yet-valid leaf
 * always fails, with or without a CA: deliberately stricter than RFC 7469
 * pinning, which ignores dates). A name given without a CA is still checked.
 * After the handshake the server must have selected ALPN "dot" (XOT-01).
 * TLS 1.3 only (XOT-02); session tickets are accepted for resumption.
 * With mutual TLS, a primary that refuses the client certificate does so
 * after the client's handshake has completed (TLS 1.3): it shows as an error
 * (alert certificate_required or bad_certificate) on the first read. */
#ifndef XP_TLS_CLIENT_H
#define XP_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"
#include "tls_x509.h"


struct tls_client_auth {            /* what the primary must prove */
	const char *ca;                 /* PEM CA file, or NULL */
	const char *auth_name;          /* name the cert must carry (DNS SAN), also sent as SNI; or NULL */
	const uint8_t (*pins)[32];      /* SHA-256 of the SubjectPublicKeyInfo (RFC 7469), n_pins of them */
	size_t n_pins;
	const char *client_cert, *client_key;   /* mutual TLS, or NULL */
};

/* TLS 1.3 only, ALPN "dot" offered, session tickets enabled, client cert if
 * given. Fails (NULL, reason in err) when ca/cert/key cannot be loaded, or
 * when neither ca+auth_name nor a pin is given (strict only: DOT-06). The auth
 * struct is copied. Free with wolfSSL_CTX_free.
 * The copy is kept in a process-wide table of distinct settings, never freed
 * (the CTX and its sessions may outlive the caller's config, and the local
 * wolfSSL build has no ex_data to hang it on); identical settings share one
 * entry, so reloads with unchanged settings do not grow it. */
WOLFSSL_CTX *tls_client_ctx_new(const struct tls_client_auth *auth, char err[TLS_ERR_MAX]);

/* A client session on a connected (or connecting) non-blocking socket; SNI =
 * auth_name when set (and not an IP literal); resumes `resume` (may be NULL)
 * if it came from tls_client_session_get on a context with the same
 * authentication settings, otherwise it is ignored (full handshake).
 * ctx must come from tls_client_ctx_new. Returns NULL on failure.
 * Free with wolfSSL_free. Drive the handshake only with
 * tls_client_handshake: called from anywhere else (wolfSSL_connect, or a
 * wolfSSL_read/write before it), the verification refuses the primary. */
WOLFSSL *tls_client_session_new(WOLFSSL_CTX *ctx, int fd, WOLFSSL_SESSION *resume);

/* One non-blocking handshake step: TLS_IO_OK when done AND verified (or
 * resumed from a verified session) AND ALPN "dot" was selected;
 * TLS_IO_WANT_READ/WRITE; TLS_IO_ERR with a one-line reason in err naming what
 * was expected and what was presented: the leaf's DNS and IP SANs, its
 * issuer, its SPKI pin (base64 sha256) and the negotiated ALPN, e.g.
 * "certificate verification failed: name ns1.example.net not in SANs
 * [xot.test, 127.0.0.1]; issuer CN=Test CA; pin sha256:AbC...=; ALPN dot".
 * A connection closed by the primary during the handshake is TLS_IO_ERR too.
 * On TLS_IO_ERR the caller closes the session (nothing was sent but alerts). */
enum tls_io tls_client_handshake(WOLFSSL *ssl, char err[TLS_ERR_MAX]);
/* The same, and on TLS_IO_ERR the failure as a code in *why: RSN_HS_CERTIFICATE
 * (verification), RSN_HS_ALPN, RSN_HS_CLOSED, or what wolfSSL's error and the
 * primary's alert say (tls_io_reason); RSN_NONE otherwise. */
enum tls_io tls_client_handshake_why(WOLFSSL *ssl, char err[TLS_ERR_MAX], enum reason *why);

/* For reuse: a session (ticket) to resume the next connection to the same
 * primary, or NULL (no verified handshake, or no ticket yet: TLS 1.3 tickets
 * arrive after the handshake and are processed by wolfSSL_read, so read at
 * least once first). Caller frees with wolfSSL_SESSION_free. */
WOLFSSL_SESSION *tls_client_session_get(WOLFSSL *ssl);

/* A TLS alert description in words, e.g. 116 -> "certificate required
 * (116)"; unknown codes as "alert N". Returns what snprintf returns. */
int tls_client_alert_text(int code, char *out, size_t len);

/* After a failed read or write: true, with "the primary sent alert
 * certificate required (116)" in out, if the primary sent a fatal alert
 * (in TLS 1.3 a primary refuses our client certificate this way, after our
 * side of the handshake has completed). */
bool tls_client_peer_alert(WOLFSSL *ssl, char *out, size_t len);
/* The same fatal alert as a handshake failure code, or RSN_NONE. */
enum reason tls_client_alert_reason(WOLFSSL *ssl);

/* SHA-256 of a file's content (CA, client certificate or key), so a reload
 * can tell whether the file changed. Returns 0, or -1 (out zeroed) with a
 * reason in err. */
int tls_client_file_digest(const char *path, uint8_t out[32], char err[TLS_ERR_MAX]);

/* SPKI pin of a DER/PEM cert file, base64 (for tests and docs, and `-t`
 * printing). Returns 0, or -1 with a reason in err. */
int tls_pin_of_cert_file(const char *path, char out[64], char err[TLS_ERR_MAX]);

#endif
