/* endpoint.h - one side of a relay: a socket behind a small vtable (after
 * Redis's ConnectionType). The relay core reads, writes and closes through
 * it and never sees whether there is TLS underneath.
 *
 * Each endpoint has an explicit state (after Redis's ConnectionState), the
 * only thing its owners read to know what it can do:
 *
 *   CLOSED --open--> CONNECTING --connected--> HANDSHAKING --done--> OPEN
 *      ^               |  (an accepted socket starts HANDSHAKING or OPEN)   |
 *      +---- CLOSING <-+---------- endpoint_close, from any state ---------+
 *
 * endpoint_handshake steps CONNECTING and HANDSHAKING; its IO_OK makes the
 * endpoint OPEN. CLOSING lasts while endpoint_close runs the transport's
 * close (a close_notify), so nothing started from there reopens it.
 *
 * Endpoints are layers, not subtypes (after HAProxy's per-layer xprt_ctx):
 * a TLS endpoint holds the TCP endpoint it runs on (lower), and a pool
 * session holds the TLS endpoint it lends out. The outermost endpoint, the
 * one its owner drives, owns the one ev_io; the descriptor it watches is
 * that of the lowest layer (endpoint_fd). An operation that cannot go on
 * records the event it waits for in hs_blk, rd_blk or wr_blk (EV_READ or
 * EV_WRITE: a TLS read may wait for writability); 0 means runnable. The
 * watcher clears the blocks its revents satisfy and calls the owner back;
 * the owner then runs its steps and hands the endpoint what it wants next
 * (endpoint_watch), from which the mask is derived. */
#ifndef XP_ENDPOINT_H
#define XP_ENDPOINT_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "proxy/lib/netaddr.h"
#include "proxy/lib/reason.h"

enum io_result {
	IO_OK = 0,       /* progress (bytes moved, or the handshake is done) */
	IO_AGAIN,        /* blocked: the *_blk field says on what */
	IO_EOF,          /* the peer closed (close_notify or TCP FIN) */
	IO_ERR,          /* broken; endpoint.err says why */
};

#define ENDPOINT_ERR_MAX 256

enum endpoint_state {
	EP_CLOSED = 0,      /* no transport: not opened yet, or closed (a zeroed endpoint) */
	EP_CONNECTING,      /* its transport is being set up: a TCP connect, a pool
	                     * session waiting for a slot or connecting */
	EP_HANDSHAKING,     /* the transport is up, its own set-up runs (TLS) */
	EP_OPEN,            /* reads and writes */
	EP_CLOSING,         /* endpoint_close is releasing it */
};

struct endpoint;

struct endpoint_ops {
	const char *kind;                          /* "tcp", "tls-server", ... for logs */
	/* The endpoint takes whole answer messages only (a UDP requester gets one
	 * datagram): the relay hands it no octet of a frame before the whole
	 * frame is there, so a frame cut by the upstream can still be replaced
	 * by a SERVFAIL. */
	bool whole_messages;
	/* The largest write the transport takes in one piece (a TLS record's
	 * plaintext: more would be cut into several records); 0: any. */
	size_t write_max;
	/* One step of connection set-up (TCP connect, TLS handshake). */
	enum io_result (*handshake)(struct endpoint *ep);
	/* Reads into up to two spans; *got set on IO_OK. */
	enum io_result (*readv)(struct endpoint *ep, const struct iovec *iov, int cnt, size_t *got);
	/* Writes; *put set on IO_OK. After IO_AGAIN the caller retries with the
	 * same pointer and length (what TLS requires). */
	enum io_result (*write)(struct endpoint *ep, const uint8_t *buf, size_t len, size_t *put);
	/* Octets already decrypted and waiting inside the transport. */
	size_t (*pending)(const struct endpoint *ep);
	/* Releases the transport and the descriptor (called by endpoint_close,
	 * which has stopped the watcher); graceful (only ever for an OPEN
	 * endpoint) sends close_notify, one non-blocking attempt, where there
	 * is one. */
	void (*close)(struct endpoint *ep, bool graceful);
};

struct endpoint {
	const struct endpoint_ops *ops;
	struct ev_loop *loop;            /* NULL: never watched (a lower layer, a shared socket) */
	enum endpoint_state state;
	int fd;                          /* its own descriptor; -1 for none (a layer, closed) */
	struct endpoint *lower;          /* the endpoint this layer runs on, or NULL */
	ev_io io;
	int hs_blk, rd_blk, wr_blk;      /* EV_READ/EV_WRITE an operation waits for */
	void (*on_event)(void *owner);   /* called after a watcher event */
	void *owner;
	char err[ENDPOINT_ERR_MAX];      /* why the last IO_ERR happened */
	enum reason err_code;            /* ... as a code, where the transport knows one */
};

/* Sets up the common part in state `state` around descriptor fd (-1: none
 * of its own); the watcher is idle. */
void endpoint_init(struct endpoint *ep, const struct endpoint_ops *ops, struct ev_loop *loop,
                   int fd, enum endpoint_state state, void (*on_event)(void *), void *owner);

/* Derives the watcher mask from what the owner wants now and what each
 * operation is blocked on; touches libev only when the mask or the
 * descriptor changes. */
void endpoint_watch(struct endpoint *ep, bool want_read, bool want_write);

/* Stops the watcher: before a lower layer's descriptor is closed. */
void endpoint_unwatch(struct endpoint *ep);

/* Not CLOSED: it holds a transport (or is about to get one) and must be
 * closed. */
static inline bool endpoint_open(const struct endpoint *ep) { return ep->state != EP_CLOSED; }

/* Its set-up is done: reads and writes may run. */
static inline bool endpoint_established(const struct endpoint *ep) { return ep->state == EP_OPEN; }

/* The descriptor the endpoint's I/O happens on: that of its lowest layer. */
static inline int
endpoint_fd(const struct endpoint *ep)
{
	while (ep->lower != NULL)
		ep = ep->lower;
	return ep->fd;
}

/* One step of its set-up; IO_OK makes it OPEN. */
static inline enum io_result
endpoint_handshake(struct endpoint *ep)
{
	enum io_result r = ep->ops->handshake(ep);
	if (r == IO_OK)
		ep->state = EP_OPEN;
	return r;
}

/* Stops the watcher and releases the transport (graceful: close_notify if
 * it is OPEN); CLOSED afterwards. Nothing happens if it is closed or
 * closing already. */
void endpoint_close(struct endpoint *ep, bool graceful);

/* A layer's operation that adds nothing runs on the endpoint it holds: that
 * one runs as its own watcher had fired, and what it then waits for is what
 * the layer waits for (its reason, too). The set-up step leaves the layer's
 * state to the layer. */
enum io_result endpoint_lower_handshake(struct endpoint *ep);
enum io_result endpoint_lower_readv(struct endpoint *ep, const struct iovec *iov, int cnt,
                                    size_t *got);
enum io_result endpoint_lower_write(struct endpoint *ep, const uint8_t *buf, size_t len,
                                    size_t *put);

/* errno after a failed socket call -> IO_AGAIN (with blk set to ev),
 * IO_EOF or IO_ERR (reason in ep->err). Shared by socket transports. */
enum io_result endpoint_errno(struct endpoint *ep, int err, int *blk, int ev, const char *what);

/* Opens client endpoints toward remote servers: the seam through which a
 * pool makes its sessions (TLS over TCP: ep_tls_connector_new; in memory:
 * tests/fuzz/fuzz_pool.c). It keeps what outlives one session: the TLS
 * context, each server's resumption ticket. */
struct connector;

struct connector_ops {
	/* A client endpoint toward server number `server` at `to`, resuming its
	 * ticket: CONNECTING, never watched (the caller layers it). NULL, with
	 * the reason in err, when it cannot even start. */
	struct endpoint *(*open)(struct connector *c, size_t server, const struct netaddr *to,
	                         char *err, size_t len);
	/* Keeps the resumption ticket of ep (OPEN) for the next open to server. */
	void (*keep_ticket)(struct connector *c, size_t server, struct endpoint *ep);
	/* Did ep's handshake resume a session? */
	bool (*resumed)(const struct endpoint *ep);
	/* Did ep's peer end it with an alert? */
	bool (*peer_alert)(const struct endpoint *ep);
	/* endpoint_close(ep, graceful), then frees it. */
	void (*release)(struct endpoint *ep, bool graceful);
	/* Frees the connector (its endpoints are released already). */
	void (*free)(struct connector *c);
};

struct connector {
	const struct connector_ops *ops;
};

#endif
