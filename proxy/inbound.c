/* inbound.c - the inbound direction's connection: a TLS server endpoint
 * toward the secondary, a TCP endpoint toward the legacy primary, and the
 * relay between them. This file holds only what is inbound: the ALPN check,
 * the zone policy, the lazy backend connect, the pending-handshake list
 * (max-handshakes) and the server's connection list. */
#include "inbound.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ep_tcp.h"
#include "ep_tls.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "relay.h"
#include "server.h"

struct inbound_conn {
	struct relay relay;             /* first: hooks get &relay */
	struct server *srv;             /* srv->conf judges every query as it arrives */
	struct inbound_conn *prev, *next;        /* all inbound connections */
	struct inbound_conn *hs_prev, *hs_next;  /* pending handshakes, oldest first */
	bool in_hs;
	struct ep_tls cli;
	struct endpoint up;
	struct sockaddr_storage group;  /* key for per-client caps (IPv6 by prefix) */
};

static struct inbound_conn *
of(const struct relay *r)
{
	return r->owner;
}

struct inbound_conn *
inbound_next(struct inbound_conn *c)
{
	return c->next;
}

/* ---- pending handshakes, oldest first (max-handshakes) ------------------ */

static void
hs_link(struct inbound_conn *c)
{
	struct server *srv = c->srv;
	c->hs_prev = srv->hs_tail;
	c->hs_next = NULL;
	if (srv->hs_tail != NULL)
		srv->hs_tail->hs_next = c;
	else
		srv->hs_head = c;
	srv->hs_tail = c;
	srv->n_handshakes++;
	c->in_hs = true;
}

/* Leaves the list when the handshake ends, whichever way. */
static void
hs_unlink(struct inbound_conn *c)
{
	struct server *srv = c->srv;
	if (!c->in_hs)
		return;
	if (c->hs_prev != NULL)
		c->hs_prev->hs_next = c->hs_next;
	else
		srv->hs_head = c->hs_next;
	if (c->hs_next != NULL)
		c->hs_next->hs_prev = c->hs_prev;
	else
		srv->hs_tail = c->hs_prev;
	c->hs_prev = c->hs_next = NULL;
	srv->n_handshakes--;
	c->in_hs = false;
}

/* ---- relay hooks ------------------------------------------------------- */

static bool
client_ready(struct relay *r)
{
	struct inbound_conn *c = of(r);
	hs_unlink(c);
	bool resumed = wolfSSL_session_reused(c->cli.ssl);
	metrics_handshake_ok(MX_INBOUND, resumed);
	if (!tls_alpn_is_dot(c->cli.ssl)) {     /* XOT-01: no DNS without ALPN dot */
		metrics_refusal(MX_INBOUND, "alpn");
		struct log_field fl[6];
		size_t n = relay_log_fields(r, fl);
		fl[n++] = LF_S("outcome", "closed");
		fl[n++] = LF_S("reason", "ALPN dot not negotiated");
		log_event(XP_LOG_INFO, "refusal", fl, n, "conn %llu, remote %s, closed: ALPN dot not negotiated",
		          (unsigned long long)r->id, r->peer_text);
		return false;
	}
	if (log_threshold >= XP_LOG_DEBUG) {
		char desc[96];
		tls_describe(c->cli.ssl, desc, sizeof(desc));
		log_debug("conn %llu, remote %s, TLS established, %s, ALPN dot%s",
		          (unsigned long long)r->id, r->peer_text, desc, resumed ? ", resumed" : "");
	}
	return true;
}

static struct verdict
judge(struct relay *r, const struct dns_query *q, const uint8_t *msg, size_t len)
{
	struct inbound_conn *c = of(r);
	return policy_check(c->srv->conf, q, (const struct sockaddr *)&r->peer);
}

static int
upstream_open(struct relay *r, char *why, size_t len)
{
	struct inbound_conn *c = of(r);
	if (ep_tcp_connect(&c->up, r->loop, &c->srv->conf->backend, NULL, relay_on_event, r) < 0) {
		snprintf(why, len, "backend %s", c->up.err);
		return -1;
	}
	return 0;
}

/* The legacy primary's connection is never shared: closed when done. */
static void
upstream_release(struct relay *r, bool clean)
{
	endpoint_close(&of(r)->up, false);
}

static void
limits(const struct relay *r, struct relay_limits *out)
{
	const struct conf *conf = of(r)->srv->conf;
	out->handshake = conf->handshake_timeout;
	out->idle = conf->idle_timeout;
	out->transfer = conf->transfer_timeout;
	out->upstream = conf->backend_timeout;
}

static void
closed(struct relay *r)
{
	struct inbound_conn *c = of(r);
	struct server *srv = c->srv;
	hs_unlink(c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	struct sockaddr_storage group = c->group;
	free(c);
	metrics_conn_closed(MX_INBOUND);
	server_conn_gone(srv, (const struct sockaddr *)&group);
}

static const struct relay_hooks inbound_hooks = {
	.direction = "inbound",
	.upstream_label = "backend",
	.client_ready = client_ready,
	.judge = judge,
	.upstream_open = upstream_open,
	.upstream_release = upstream_release,
	.limits = limits,
	.closed = closed,
	.upstream_fail_ede = DNS_EDE_NETWORK_ERROR,     /* XoT error table: EDE 23 */
	.upstream_fail_text = "backend unreachable",
};

/* ---- lifecycle ---------------------------------------------------------- */

int
inbound_accept(struct server *srv, int fd, const struct sockaddr *peer, socklen_t peer_len,
               const struct sockaddr_storage *group)
{
	struct inbound_conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	if (ep_tls_server_init(&c->cli, srv->loop, fd, srv->tls, relay_on_event, &c->relay) < 0) {
		int err = errno;
		close(fd);
		free(c);
		errno = err;
		return -1;
	}
	metrics_conn_accepted(MX_INBOUND, fd);
	c->srv = srv;
	c->group = *group;
	c->up.fd = -1;
	c->relay.cli = &c->cli.ep;
	c->relay.up = &c->up;

	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
	hs_link(c);

	uint64_t id = ++srv->next_conn_id;
	relay_start(&c->relay, srv->loop, id, peer, peer_len, &inbound_hooks, c);   /* may free c */
	return 0;
}

void
inbound_stop(struct inbound_conn *c)
{
	relay_stop(&c->relay);
}

void
inbound_kill(struct inbound_conn *c)
{
	relay_kill(&c->relay, false, "shutdown");
}

void
inbound_evict_handshake(struct server *srv)
{
	struct inbound_conn *c = srv->hs_head;
	if (c == NULL)
		return;
	metrics_limit_hit(MX_LIM_MAX_HANDSHAKES);
	log_debug("conn %llu, remote %s, closed: oldest pending handshake, max-handshakes (%u) reached",
	          (unsigned long long)c->relay.id, c->relay.peer_text, srv->conf->max_handshakes);
	relay_kill(&c->relay, false, NULL);
}
