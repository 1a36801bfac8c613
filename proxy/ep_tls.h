/* ep_tls.h - TLS endpoints over wolfSSL: the server side of an inbound
 * session (the secondary's TLS) and, for the outbound direction, the client
 * side toward a remote primary. The relay core sees only struct endpoint. */
#ifndef XP_EP_TLS_H
#define XP_EP_TLS_H

#include "endpoint.h"
#include "proxy/lib/netaddr.h"
#include "tls/tls.h"

struct ep_tls {
	struct endpoint ep;              /* first: the relay holds &ep */
	WOLFSSL *ssl;
	bool client;
	bool tcp_connected;              /* client: the TCP connect has completed */
};

/* A server session on an accepted socket (ALPN "dot" required when offered).
 * Returns 0, or -1 with errno (ENOMEM, EMFILE...) and fd left open. */
int ep_tls_server_init(struct ep_tls *t, struct ev_loop *loop, int fd, WOLFSSL_CTX *ctx,
                       void (*on_event)(void *), void *owner);

/* The client side toward a remote primary: a non-blocking connect to `to`,
 * then the verified handshake of tls_client.h (the context must come from
 * tls_client_ctx_new), resuming `resume` when given. Returns 0, or -1 with
 * the reason in t->ep.err. */
int ep_tls_client_init(struct ep_tls *t, struct ev_loop *loop, WOLFSSL_CTX *ctx,
                       const struct netaddr *to, WOLFSSL_SESSION *resume,
                       void (*on_event)(void *), void *owner);

extern const struct endpoint_ops ep_tls_client_ops;

static inline struct ep_tls *ep_tls_of(struct endpoint *ep) { return (struct ep_tls *)ep; }

#endif
