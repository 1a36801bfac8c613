/* server.h - the process-wide context: event loop, configuration, TLS
 * context, listening sockets, accept throttling and the connection list. */
#ifndef XP_SERVER_H
#define XP_SERVER_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "ipcount.h"
#include "netaddr.h"
#include "tls.h"

struct conn;

struct listener {
	int fd;
	ev_io io;
	struct netaddr addr;
	struct server *srv;
};

struct server {
	struct ev_loop *loop;
	struct conf *conf;
	WOLFSSL_CTX *tls;

	struct listener listeners[CONF_MAX_LISTEN];
	size_t n_listeners;
	bool accept_paused;           /* at max-clients, or backing off after EMFILE */
	ev_timer accept_backoff;

	struct conn *conns;           /* all live connections */
	unsigned n_conns;
	struct ipcount per_ip;        /* live connections per client address */
	unsigned cap_refused;         /* refused at max-clients-per-ip, not yet logged */
	double cap_logged;            /* when that was last logged */
	uint64_t next_conn_id;

	bool stopping;
	ev_signal sig_int, sig_term, sig_hup;
	ev_timer stop_deadline;
};

/* Binds every [inbound] listen address; returns 0 or -1 (logged). */
int server_listen(struct server *srv);
/* Installs signal watchers and starts accepting. */
void server_start(struct server *srv);
/* Called by the connection code whenever a connection is freed. */
void server_conn_gone(struct server *srv, const struct sockaddr *peer);
void server_close_listeners(struct server *srv);

#endif
