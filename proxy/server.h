/* server.h - the process: its parts (inbound, outbound, the /metrics
 * endpoint), run through one table of functions each (direction.h), the
 * signals, the reload sequence and the graceful stop. server.c calls down
 * into the parts; they reach back only through rt.conn_gone. */
#ifndef XP_SERVER_H
#define XP_SERVER_H

#include <ev.h>
#include <stdbool.h>

#include "conf/conf.h"
#include "direction.h"
#include "tls/tls.h"

enum { SERVER_PARTS = 3 };            /* inbound, outbound, metrics */

struct server {
	struct runtime rt;            /* loop, conf and TLS context in force */
	void *part[SERVER_PARTS];     /* each part's own state, or NULL (none) */
	ev_signal sig_int, sig_term, sig_hup;
	ev_timer stop_deadline;
};

/* Takes conf and tls (the inbound server context, or NULL), and opens
 * every part on loop: binds every listen address, before privileges are
 * dropped. Returns 0, or -1 (logged). Either way, server_free ends it. */
int server_open(struct server *srv, struct ev_loop *loop, struct conf *conf, WOLFSSL_CTX *tls);

/* Installs signal watchers and starts accepting. */
void server_start(struct server *srv);

/* Frees every part, and the configuration and TLS context in force (a
 * reload may have swapped them). */
void server_free(struct server *srv);

#endif
