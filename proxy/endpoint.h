/* endpoint.h - one side of a relay: a socket behind a small vtable (after
 * Redis's ConnectionType). The relay core reads, writes and closes through
 * it and never sees whether there is TLS underneath.
 *
 * Each endpoint owns its descriptor, its transport state and its one ev_io.
 * An operation that cannot go on records the event it waits for in hs_blk,
 * rd_blk or wr_blk (EV_READ or EV_WRITE: a TLS read may wait for writability);
 * 0 means runnable. The watcher clears the blocks its revents satisfy and
 * calls the owner back; the owner then runs its steps and hands the
 * endpoint what it wants next (endpoint_watch), from which the mask is
 * derived. */
#ifndef XP_ENDPOINT_H
#define XP_ENDPOINT_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "proxy/lib/reason.h"

enum io_result {
	IO_OK = 0,       /* progress (bytes moved, or the handshake is done) */
	IO_AGAIN,        /* blocked: the *_blk field says on what */
	IO_EOF,          /* the peer closed (close_notify or TCP FIN) */
	IO_ERR,          /* broken; endpoint.err says why */
};

#define ENDPOINT_ERR_MAX 256

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
	/* Releases the transport and the descriptor; graceful sends close_notify
	 * (one non-blocking attempt) where there is one. */
	void (*close)(struct endpoint *ep, bool graceful);
};

struct endpoint {
	const struct endpoint_ops *ops;
	struct ev_loop *loop;
	int fd;                          /* -1 when closed */
	ev_io io;
	int hs_blk, rd_blk, wr_blk;      /* EV_READ/EV_WRITE an operation waits for */
	bool established;                /* handshake done */
	void (*on_event)(void *owner);   /* called after a watcher event */
	void *owner;
	char err[ENDPOINT_ERR_MAX];      /* why the last IO_ERR happened */
	enum reason err_code;            /* ... as a code, where the transport knows one */
};

/* Sets up the common part around an open descriptor (the watcher is idle). */
void endpoint_init(struct endpoint *ep, const struct endpoint_ops *ops, struct ev_loop *loop,
                   int fd, void (*on_event)(void *), void *owner);

/* Derives the watcher mask from what the owner wants now and what each
 * operation is blocked on; touches libev only when the mask changes. */
void endpoint_watch(struct endpoint *ep, bool want_read, bool want_write);

/* Stops the watcher (the transport's close calls it). */
void endpoint_unwatch(struct endpoint *ep);

static inline bool endpoint_open(const struct endpoint *ep) { return ep->fd >= 0; }

/* Convenience wrappers. */
static inline enum io_result
endpoint_handshake(struct endpoint *ep)
{
	enum io_result r = ep->ops->handshake(ep);
	if (r == IO_OK)
		ep->established = true;
	return r;
}

static inline void
endpoint_close(struct endpoint *ep, bool graceful)
{
	if (ep->fd >= 0)
		ep->ops->close(ep, graceful);
}

/* errno after a failed socket call -> IO_AGAIN (with blk set to ev),
 * IO_EOF or IO_ERR (reason in ep->err). Shared by socket transports. */
enum io_result endpoint_errno(struct endpoint *ep, int err, int *blk, int ev, const char *what);

#endif
