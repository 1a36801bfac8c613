/* direction.h - what server.c shares with the parts it runs (inbound,
 * outbound, the /metrics endpoint), and the one table of functions it
 * calls each of them through. The parts include this header, never
 * server.h: server.c calls down into them, they call back only through
 * rt->conn_gone.
 *
 * A reload is sequenced by server.c (Knot's server_reconfigure): every
 * part stages (binds its new listen addresses; nothing changes yet); if
 * one fails, those staged abort and the running configuration stays;
 * otherwise server.c swaps the configuration and every part commits. */
#ifndef XP_DIRECTION_H
#define XP_DIRECTION_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "tls/tls.h"

/* The process-wide state every part reads; owned by server.c. */
struct runtime {
	struct ev_loop *loop;
	struct conf *conf;            /* in force: swapped by a reload */
	WOLFSSL_CTX *tls;             /* the inbound server context, or NULL */
	unsigned conf_gen;            /* +1 at each reload that swaps conf and tls */
	uint64_t next_conn_id;        /* ids of relays, across all parts */
	bool stopping;                /* a stop signal came: no new work */
	/* A part's connection (or UDP query) has gone: a stopping server
	 * ends once no part has any left. Called with owner. */
	void (*conn_gone)(void *owner);
	void *owner;                  /* the server */
};

/* One part of the server. Every function may be NULL (nothing to do). */
struct direction_ops {
	const char *name;
	/* At start, before privileges are dropped: builds the part and binds
	 * its listeners. NULL with nothing to do (*failed false), or on
	 * failure (logged; *failed true). */
	void *(*open)(struct runtime *rt, bool *failed);
	/* Starts accepting. */
	void (*start)(void *d);
	/* SIGHUP, first step: binds the listen addresses of conf that are new;
	 * nothing else changes. Returns 0, or -1 with the reason in err and
	 * nothing left open. */
	int (*reload_stage)(void *d, const struct conf *conf, char *err, size_t len);
	/* SIGHUP, second step (rt->conf is conf now): new settings, and the
	 * staged listeners swapped in. */
	void (*reload_commit)(void *d, const struct conf *conf);
	/* SIGHUP failed after this part staged: closes what it bound. */
	void (*reload_abort)(void *d);
	/* Stop signal: listeners close, connections finish what they started. */
	void (*stop)(void *d);
	/* Shutdown deadline: every connection closes now. */
	void (*kill)(void *d);
	/* Connections (and UDP queries) open. */
	unsigned (*count)(const void *d);
	void (*free)(void *d);
};

#endif
