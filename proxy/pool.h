/* pool.h - the TLS sessions of one outbound group toward its remote XoT
 * primaries: the failover order, per-primary backoff, ticket cache and idle
 * sessions kept for reuse (XOT-08), under max-sessions per primary.
 *
 * A session taken from the pool is an endpoint the relay drives like any
 * other; its handshake step is the failover: TCP connect, verified TLS
 * handshake, and on failure the next primary that is not backing off
 * (only before any answer byte, since nothing is relayed before the
 * handshake succeeds). */
#ifndef XP_POOL_H
#define XP_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "ep_tls.h"

struct pool_session;

struct primary {
	struct netaddr addr;
	char text[NETADDR_TEXT_MAX];
	double backoff;                  /* current step in seconds, 0 when healthy */
	double retry_at;                 /* not tried again before this time */
	WOLFSSL_SESSION *ticket;         /* resumes the next connection */
	struct pool_session *idle;       /* established sessions waiting for reuse */
	unsigned n_sessions;             /* open: in use, idle or connecting */
};

struct pool {
	unsigned refs;                   /* the outbound group, and each open session */
	bool retired;                    /* replaced by a reload: keeps nothing idle */
	struct ev_loop *loop;
	char label[80];                  /* "outbound NAME" for logs */
	WOLFSSL_CTX *ctx;                /* tls_client_ctx_new */
	struct primary primaries[CONF_MAX_PRIMARIES];
	size_t n_primaries;
	unsigned connect_timeout, idle_timeout, max_sessions;
	uint64_t full_handshakes, resumed_handshakes;
	struct pool_session *wait_head; /* queries waiting for a slot, oldest first */
	unsigned n_waiting;
	ev_timer wake;                   /* serves the waiters outside any relay step */
};

/* A pool for an outbound section; ctx is taken over. NULL on ENOMEM. */
struct pool *pool_new(struct ev_loop *loop, const struct conf_outbound *ob, WOLFSSL_CTX *ctx);

/* The group lets go (reload or stop): idle sessions are closed now, the
 * ones in use when they are put back; the pool is freed after the last. */
void pool_retire(struct pool *p);

/* A session toward the first primary that is not backing off: an idle one
 * when there is one, else a new connection (nothing is sent before its
 * handshake has verified the primary); at max-sessions, one that waits
 * (still "in its handshake" to the relay) until a session is put back or
 * closed. Its events go to on_event(owner). NULL, with a reason in why,
 * when every primary is backing off or too many queries already wait. */
struct pool_session *pool_take(struct pool *p, void (*on_event)(void *), void *owner,
                               char *why, size_t len);

/* The endpoint the relay drives. */
struct endpoint *pool_session_endpoint(struct pool_session *s);

/* Gives a session back: kept for reuse until idle-timeout when clean
 * (established, nothing owed, at a message boundary), closed otherwise. */
void pool_put(struct pool_session *s, bool clean);

/* Sessions open toward all primaries (for tests and logs). */
unsigned pool_open_sessions(const struct pool *p);

#endif
