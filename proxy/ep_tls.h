/* ep_tls.h - TLS endpoints over wolfSSL: the server side of an inbound
 * session (the secondary's TLS) and, for the outbound direction, the client
 * side toward a remote primary. The relay core sees only struct endpoint.
 *
 * A TLS endpoint is a layer: it holds the TCP endpoint it runs on (tcp,
 * its lower layer, which owns the descriptor and, for a client, does the
 * connect) instead of being one. */
#ifndef XP_EP_TLS_H
#define XP_EP_TLS_H

#include <stddef.h>

#include "conf/conf.h"
#include "endpoint.h"
#include "proxy/lib/netaddr.h"
#include "tls/tls.h"

struct ep_tls {
	struct endpoint ep;              /* the TLS layer: what the owner drives */
	struct endpoint tcp;             /* the transport it holds */
	WOLFSSL *ssl;
	bool client;
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

/* The client context of an [outbound] section: what its primaries must
 * prove (CA and name, pins) and its client certificate. The one place a
 * section becomes a tls_client_auth. NULL with the reason in err. */
WOLFSSL_CTX *ep_tls_client_ctx_new(const struct conf_outbound *ob, char err[TLS_ERR_MAX]);

/* The connector of TLS client endpoints over TCP for a pool of n_servers
 * primaries: it takes ctx over (freed on failure too) and keeps each
 * primary's newest session ticket. NULL on ENOMEM. */
struct connector *ep_tls_connector_new(WOLFSSL_CTX *ctx, size_t n_servers);

static inline struct ep_tls *
ep_tls_of(struct endpoint *ep)
{
	return (struct ep_tls *)(void *)((char *)ep - offsetof(struct ep_tls, ep));
}

#endif
