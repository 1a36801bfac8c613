/* server.h - the process-wide context: event loop, configuration, TLS
 * context, listening sockets, accept throttling and the connection list. */
#ifndef XP_SERVER_H
#define XP_SERVER_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "proxy/lib/fifo.h"
#include "clienttab.h"
#include "ipcount.h"
#include "proxy/lib/netaddr.h"
#include "tls/tls.h"

struct inbound_conn;
struct outbound;

/* Accept-time refusals, logged at most once a second with a count. */
struct refusal_tally {
	unsigned count;               /* since the last log line */
	double logged;                /* when that line was written */
	char last[NETADDR_TEXT_MAX];  /* the latest address refused */
	char what[96];
};

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
	unsigned conf_gen;            /* +1 at each reload that swaps conf and tls */

	struct listener listeners[CONF_MAX_LISTEN];
	size_t n_listeners;
	bool accept_paused;           /* at max-clients, or backing off after EMFILE */
	ev_timer accept_backoff;
	ev_timer tally_timer;         /* writes refusal counts held back */

	struct fifo conns;            /* all live inbound relays */
	struct outbound *outbound;    /* the [outbound] groups, or NULL */
	unsigned n_conns;
	struct fifo handshakes;       /* inbound connections in their TLS handshake, oldest first */
	struct fifo unadmitted;       /* inbound sessions past their handshake that never had a
	                               * query admitted, oldest first: closed first at max-clients */
	struct ipcount per_ip;        /* live connections per client address */
	struct ipcount hs_per_ip;     /* pending handshakes per client address
	                               * (max-handshakes-per-ip), released when the handshake ends */
	struct clienttab *clients;    /* per-client transfer slots and rates (made at start) */
	unsigned n_transfers;         /* inbound AXFR/IXFR in flight (max-transfers) */
	struct refusal_tally cap_refused;    /* at max-clients-per-ip */
	struct refusal_tally acl_refused;    /* address in no zone's allow */
	struct refusal_tally hs_evicted;     /* oldest handshake closed at max-handshakes */
	struct refusal_tally hs_cap_refused; /* at max-handshakes-per-ip */
	struct refusal_tally idle_evicted;   /* never-admitted session closed at max-clients */
	uint64_t next_conn_id;

	bool stopping;
	ev_signal sig_int, sig_term, sig_hup;
	ev_timer stop_deadline;
};

/* A non-blocking socket bound to a (and listening, for SOCK_STREAM);
 * the fd, or -1 (logged). */
int server_socket(const struct netaddr *a, int type);

/* A reload's sockets for one list of listen addresses. Every address either
 * keeps the running socket bound to it, or gets a fresh one bound before
 * anything changes, so that a reload which cannot bind them all fails as a
 * whole and the running listeners stay. */
struct listen_stage {
	int fd[CONF_MAX_LISTEN];      /* fresh socket for want[i], or -1 where kept */
	int keep[CONF_MAX_LISTEN];    /* index in `have` of the socket kept, or -1 */
	size_t n;                     /* addresses staged (n_want once complete) */
};

/* Stages want[0..n_want) against the running sockets' addresses
 * have[0..n_have), binding sockets of type for the new ones. Returns 0, or
 * -1 with the reason in err ("listen TCP 192.0.2.1#853: Address already in
 * use") and nothing left open. */
int server_stage_open(struct listen_stage *st, const struct netaddr *want, size_t n_want,
                      const struct netaddr *have, size_t n_have, int type, char *err, size_t len);
/* Closes the fresh sockets of a stage that is not committed. */
void server_stage_abort(struct listen_stage *st);
/* Does the stage keep the running socket at index have_index? */
bool server_stage_keeps(const struct listen_stage *st, size_t have_index);
/* At commit: logs the addresses no longer listened on and the new ones. */
void server_stage_log(const struct listen_stage *st, const struct netaddr *want,
                      const struct netaddr *have, size_t n_have, int type);

/* Accepts a bounded batch on listening socket lfd, handing each new fd to
 * accepted (which returns -1 with errno when out of resources: accepting
 * then pauses for a while, EMFILE backoff). */
void server_accept_loop(struct server *srv, int lfd,
                        int (*accepted)(void *ctx, int fd, const struct sockaddr *peer, socklen_t len),
                        void *ctx);

/* An outbound relay has gone (shutdown completes when none is left). */
void server_conn_gone_other(struct server *srv);

/* Binds every [inbound] listen address; returns 0 or -1 (logged). A
 * reload (SIGHUP) binds added addresses and closes removed ones. */
int server_listen(struct server *srv);
/* Installs signal watchers and starts accepting. */
void server_start(struct server *srv);
/* Called by the connection code whenever a connection is freed, with the
 * key it was counted under (see netaddr_group). */
void server_conn_gone(struct server *srv, const struct sockaddr *group);

/* Accepting runs while there is room for one more inbound connection:
 * fewer than max-clients, or a never-admitted session (srv->unadmitted) to
 * close for it; otherwise it pauses (logged). Called whenever either
 * changes. Does nothing while stopping or backing off after EMFILE. */
void server_update_accept(struct server *srv);
void server_close_listeners(struct server *srv);

#endif
