/* listener.h - one set of listening sockets of one kind (TCP or UDP) for
 * one user (the inbound direction, an [outbound NAME] group's TCP or UDP,
 * the /metrics endpoint), named by its label ("inbound", "outbound NAME",
 * "metrics"). The set binds its addresses, stages a reload's addresses and
 * then commits or rolls them back, accepts in bounded batches with an
 * EMFILE/ENFILE backoff, and pauses when its owner asks (max-clients).
 * Each set pauses and backs off on its own: one set's pause never stops
 * another's.
 *
 * A reload is two steps, so that it fails as a whole before anything
 * changes: listener_set_stage binds every address that is new (an address
 * already listened on keeps its socket and its queue of pending
 * connections), then listener_set_commit swaps the sets in, or
 * listener_set_abort closes what the stage bound.
 *
 *   closed --open--> running <--pause/resume, backoff--> paused
 *                      |  stage --> staged --commit--> running
 *                      |                  '--abort---> running (unchanged)
 *                      '--close--> closed
 *
 * Model: HAProxy's listener.c (one listener type for every proxy), Knot's
 * iface_t reused across server_reconfigure. */
#ifndef XP_LISTENER_H
#define XP_LISTENER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "proxy/lib/netaddr.h"

struct listener;
struct listener_set;

/* What the owner of a set does with it. Every hook gets the listener; the
 * owner's context is l->set->ctx. */
struct listener_ops {
	/* SOCK_STREAM: a connection accepted on l, fd non-blocking and owned by
	 * the hook. Returns 0, or -1 with errno: out of descriptors or memory
	 * pauses this set for a while (backoff), anything else is logged. */
	int (*accepted)(struct listener *l, int fd, const struct sockaddr *peer, socklen_t len);
	/* SOCK_DGRAM: l's socket is readable (the hook reads a bounded batch). */
	void (*readable)(struct listener *l);
	/* Optional: a socket was just bound to l->addr (socket options). */
	void (*bound)(struct listener *l);
	/* Optional: a socket that is no longer listened on (removed by a
	 * reload, or at close); the hook closes it now or later. Without it
	 * the set closes it. */
	void (*release)(struct listener_set *set, int fd);
	/* Optional: a reload wants addr, which the set no longer listens on;
	 * a socket still bound to it that release kept (UDP, a query in
	 * flight), handed back to the set, or -1 (a new one is bound). A
	 * staged socket that is not committed goes back through release. */
	int (*reclaim)(struct listener_set *set, const struct netaddr *addr);
};

struct listener {
	struct netaddr addr;          /* the address bound (the metrics label) */
	int fd;
	ev_io io;
	struct listener_set *set;
};

/* A reload's sockets: every address of want either keeps the running
 * socket bound to it, or got a fresh one bound before anything changes. */
struct listen_stage {
	struct netaddr want[CONF_MAX_LISTEN];
	int fd[CONF_MAX_LISTEN];      /* fresh socket for want[i], or -1 where kept */
	int keep[CONF_MAX_LISTEN];    /* index of the running listener kept, or -1 */
	size_t n;                     /* addresses staged (n_want once complete) */
	bool staged;                  /* a stage waits for commit or abort */
};

struct listener_set {
	char label[80];               /* "inbound", "outbound NAME", "metrics" */
	const char *service;          /* NULL, or how the log names the service
	                               * ("HTTP, /metrics": "metrics: listening on ...") */
	int type;                     /* SOCK_STREAM or SOCK_DGRAM */
	int backlog;                  /* listen(2) backlog (SOCK_STREAM) */
	const struct listener_ops *ops;
	void *ctx;                    /* the owner's */
	struct ev_loop *loop;

	struct listener lis[CONF_MAX_LISTEN];
	size_t n;
	bool started;                 /* listener_set_start ran, close did not */
	bool paused;                  /* by its owner (listener_set_pause) */
	ev_timer backoff;             /* active: out of descriptors, accepting paused */
	struct listen_stage stage;
};

/* Seconds a set stops accepting after EMFILE/ENFILE/ENOBUFS/ENOMEM. */
#define LISTENER_BACKOFF 1.0

/* Prepares an empty set (nothing bound). label is copied. */
void listener_set_init(struct listener_set *set, struct ev_loop *loop, const char *label,
                       int type, const struct listener_ops *ops, void *ctx);

/* Binds addrs[0..n) (logged: "listening on ADDR (TCP)"). Returns 0, or -1
 * (logged) with nothing left bound. Accepting starts at listener_set_start. */
int listener_set_open(struct listener_set *set, const struct netaddr *addrs, size_t n);

/* Starts watching the sockets (unless paused or backing off). */
void listener_set_start(struct listener_set *set);

/* The owner's pause (max-clients, a cap of connections): true stops
 * accepting on this set only, false resumes it (unless backing off). */
void listener_set_pause(struct listener_set *set, bool paused);

/* True while the set accepts: started, not paused, not backing off. */
bool listener_set_running(const struct listener_set *set);

/* A reload's first step: binds the addresses of want[0..n) this set does
 * not listen on yet. Returns 0, or -1 with the reason in err ("listen TCP
 * 192.0.2.1#853: Address already in use") and nothing left open. After a 0,
 * call listener_set_commit or listener_set_abort. */
int listener_set_stage(struct listener_set *set, const struct netaddr *want, size_t n,
                       char *err, size_t len);

/* Swaps the staged addresses in: kept sockets stay open with their queues,
 * fresh ones join, removed ones first take what is already queued on them
 * (peers that came before the reload), then go (ops->release). Logged.
 * Connections accepted earlier are not touched. No stage: nothing. */
void listener_set_commit(struct listener_set *set);

/* Closes the sockets a stage bound (a reload that failed). No stage: nothing. */
void listener_set_abort(struct listener_set *set);

/* Stops accepting and lets every socket go (ops->release); the set is
 * empty afterwards. A stage is aborted. */
void listener_set_close(struct listener_set *set);

/* Accepts what is queued on l now, in one bounded batch (SOCK_STREAM). */
void listener_accept(struct listener *l);

#endif
