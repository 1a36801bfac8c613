/* tls.h - wolfSSL server context and per-connection sessions for XoT:
 * TLS 1.3 only, ALPN "dot", session tickets, no early data (RFC 9103 §7.1-7.3,
 * RFC 8310 §9, RFC 8446 App. E.5). */
#ifndef XP_TLS_H
#define XP_TLS_H

#include <stdbool.h>
#include <stddef.h>

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
 * Returns NULL with a reason in err. */
WOLFSSL_CTX *tls_server_ctx_new(const char *cert, const char *key, char err[TLS_ERR_MAX]);

/* A server session on a connected non-blocking socket, ALPN "dot" required
 * when offered (a list without it fails with no_application_protocol). */
WOLFSSL *tls_session_new(WOLFSSL_CTX *ctx, int fd);

/* Maps a wolfSSL return value (<= 0) to an I/O result; on TLS_IO_ERR a
 * description goes to err (if not NULL). */
enum tls_io tls_io_result(WOLFSSL *ssl, int ret, char err[TLS_ERR_MAX]);

/* True if the handshake negotiated ALPN "dot" (XOT-01). */
bool tls_alpn_is_dot(WOLFSSL *ssl);

/* Copies the session-ticket keys so tickets issued by `from` still resume
 * on `to` after a reload. Returns 0 or -1. */
int tls_copy_ticket_keys(WOLFSSL_CTX *from, WOLFSSL_CTX *to);

/* "TLSv1.3 TLS13-AES128-GCM-SHA256" for logs. */
void tls_describe(WOLFSSL *ssl, char *out, size_t len);

#endif
