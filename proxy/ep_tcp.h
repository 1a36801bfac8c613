/* ep_tcp.h - the plain TCP endpoint (the legacy side of either direction). */
#ifndef XP_EP_TCP_H
#define XP_EP_TCP_H

#include "endpoint.h"
#include "proxy/lib/netaddr.h"

extern const struct endpoint_ops ep_tcp_ops;

/* Starts a non-blocking connect to `to`, from `source` when not NULL (its
 * port 0: any); the handshake step completes it. Returns 0, or -1 with the
 * reason in ep->err and ep->err_code RSN_UP_CONNECT (ep->fd is then -1);
 * a connect that fails later does the same in the handshake step. */
int ep_tcp_connect(struct endpoint *ep, struct ev_loop *loop, const struct netaddr *to,
                   const struct netaddr *source, void (*on_event)(void *), void *owner);

/* Wraps an accepted socket; it is established at once. */
void ep_tcp_accepted(struct endpoint *ep, struct ev_loop *loop, int fd,
                     void (*on_event)(void *), void *owner);

/* TCP_NODELAY: answers must not wait for the peer's delayed ACK. */
void ep_tcp_nodelay(int fd);

#endif
