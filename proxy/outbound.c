/* outbound.c - the outbound direction: per [outbound NAME] group, TCP and
 * UDP listeners for the local secondary, and one relay per local
 * connection (or UDP query) whose upstream is a pooled TLS session to the
 * group's primaries. This file holds only what is outbound: the local
 * allow list, the query filter, the pool hand-over, and UDP. */
#include "outbound.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ep_tcp.h"
#include "ep_tls.h"
#include "ep_udp.h"
#include "listener.h"
#include "proxy/lib/log.h"
#include "metrics.h"
#include "policy.h"
#include "pool.h"
#include "relay.h"
#include "tls/tls_client.h"

#define UDP_MSG_MAX 4096
/* Receive buffer asked for each UDP listener: a burst of SOA polls (many
 * secondaries after a NOTIFY, or while a reload builds a TLS context) must
 * wait in the kernel, not be dropped: the default (about 200 KiB) holds
 * some 250 small datagrams (t93: 300 at once lost 26-44). The kernel caps
 * it at net.core.rmem_max. */
#define UDP_RCVBUF (1024 * 1024)

struct ob_group {
	struct outbound *ob;
	char label[80];                 /* "outbound NAME" */
	char name[CONF_OUTBOUND_NAME_MAX];
	struct cidr allow[CONF_MAX_ALLOW];
	size_t n_allow;
	unsigned connect_timeout, idle_timeout, n_primary;
	unsigned backend_timeout, transfer_timeout, queue_timeout;
	unsigned max_clients, max_udp_queries;     /* local TCP connections, UDP queries */
	struct pool *pool;
	struct pool *staged;            /* a reload's new pool, until commit or abort */
	bool restaged;                  /* a reload staged this group (staged may be NULL: kept) */
	struct listener_set tcp, udp;   /* the same addresses, TCP and UDP */
	int *udp_retired;               /* removed UDP sockets that queries in flight */
	size_t n_udp_retired;           /* still answer through (closed after them) */
	unsigned n_tcp, n_udp;          /* relays in flight */
};

struct outbound {
	struct runtime *rt;
	struct ob_group *groups;
	size_t n_groups;
	struct fifo conns;              /* every live relay of every group */
	bool stopping;
};

struct ob_conn {
	struct relay relay;             /* its owner pointer is this connection */
	struct ob_group *g;
	struct endpoint no_up;          /* r->up while no session is held (fd -1) */
	struct pool_session *sess;
	struct pool_episode tries;      /* the primaries its unanswered queries tried */
	bool udp;
	union {
		struct endpoint tcp;
		struct ep_udp udp;
	} cli;
};

static void group_reap_udp(struct ob_group *g);

static struct ob_conn *
of(const struct relay *r)
{
	return r->owner;
}

/* ---- relay hooks ------------------------------------------------------- */

static bool
client_ready(struct relay *r)
{
	return true;
}

/* Only SOA, AXFR and IXFR go to the primary; AXFR over UDP gets TC. A UDP
 * query signed with a key the proxy holds (verified in udp_tsig) has every
 * local answer the relay makes for it signed (RFC 8945 §5.3; t92: the
 * SERVFAIL when no primary answers). */
static struct verdict
judge(struct relay *r, const struct dns_query *q, const uint8_t *msg, size_t len)
{
	const struct ob_conn *c = of(r);
	struct verdict v = policy_filter(q);
	v.sign = c->udp && ep_udp_signed(&c->cli.udp);
	return v;
}

/* The relay's own answer to a query whose verdict said sign. */
static int
sign_answer(struct relay *r, void *token, uint8_t *msg, size_t len, size_t cap)
{
	const struct ob_conn *c = of(r);
	return c->udp ? ep_udp_sign(&c->cli.udp, msg, len, cap) : -1;
}

static enum reason
upstream_open(struct relay *r, char *why, size_t len)
{
	struct ob_conn *c = of(r);
	if (c->g->pool == NULL) {
		snprintf(why, len, "shutting down");
		return RSN_UP_CONNECT;
	}
	uint32_t skip = pool_episode_open(&c->tries, c->g->pool);
	c->sess = pool_take_skip(c->g->pool, skip, relay_on_event, r, why, len);
	if (c->sess == NULL)
		return RSN_UP_CONNECT;
	r->up = pool_session_endpoint(c->sess);
	return RSN_NONE;
}

static void
upstream_release(struct relay *r, bool clean)
{
	struct ob_conn *c = of(r);
	if (pool_session_answered(c->sess))
		pool_episode_answered(&c->tries);
	pool_put(c->sess, clean);
	c->sess = NULL;
	r->up = &c->no_up;
}

/* Item 3 of issue 13: the session's primary failed the queries in flight
 * before any octet of their answer (stalled past backend-timeout, broke
 * the framing, closed, or refused our certificate): the pool backs it off,
 * and the relay tries the next primary, at most once per primary for these
 * queries, while one that is not backing off remains. A reused idle session
 * that the primary had closed is not its fault: one new session is tried.
 * The bound is per episode (pool_episode): when this says no, the queries
 * get their SERVFAIL, and the next query on the connection starts afresh
 * (t90: one failed query no longer fails every later one at once). */
static bool
upstream_retry(struct relay *r, enum reason code, const char *why)
{
	struct ob_conn *c = of(r);
	if (c->sess == NULL || c->g->pool == NULL || !pool_session_retryable(c->sess))
		return false;
	size_t idx;
	bool at_fault = pool_session_failed(c->sess, code, why, &idx);
	/* by address: the pool in force may have replaced the session's (t97) */
	return pool_episode_retry(&c->tries, c->g->pool,
	                          at_fault ? pool_session_primary(c->sess) : NULL);
}

/* The relay measures its upstream deadline from up_since (set-up began, or
 * the first query owed since). While the session is being set up it may
 * wait for a slot (queue-timeout) and try every primary in turn, each for
 * connect-timeout (the pool's own timer fails over): that sum bounds the
 * set-up. Once established, the primary has backend-timeout for the first
 * octet of an answer, counted from when this attempt's session became
 * ready, not from when the set-up began. */
static void
limits(const struct relay *r, struct relay_limits *out)
{
	const struct ob_conn *c = of(r);
	const struct ob_group *g = c->g;
	out->handshake = g->connect_timeout;
	out->idle = g->idle_timeout;
	out->transfer = g->transfer_timeout;
	out->upstream = g->queue_timeout + g->connect_timeout * g->n_primary;
	if (c->sess != NULL && endpoint_established(r->up)) {
		double ready = pool_session_ready_at(c->sess) - r->up_since;
		out->upstream = g->backend_timeout + (ready > 0 ? (unsigned)(ready + 0.999) : 0);
	}
}

static void
closed(struct relay *r)
{
	struct ob_conn *c = of(r);
	struct outbound *ob = c->g->ob;
	fifo_remove(&ob->conns, &r->link);
	if (c->udp) {
		c->g->n_udp--;
		ep_udp_cleanup(&c->cli.udp);
		group_reap_udp(c->g);
	} else {
		c->g->n_tcp--;
		metrics_conn_closed(MX_OUTBOUND);
	}
	free(c);
	ob->rt->conn_gone(ob->rt->owner);
}

static const struct relay_hooks outbound_hooks = {
	.direction = XP_OUTBOUND,
	.client_ready = client_ready,
	.judge = judge,
	.sign_answer = sign_answer,
	.upstream_open = upstream_open,
	.upstream_release = upstream_release,
	.upstream_retry = upstream_retry,
	.limits = limits,
	.closed = closed,
	.upstream_fail_ede = DNS_EDE_NO_REACHABLE_AUTHORITY,    /* EDE 22 */
	.upstream_fail_text = "no reachable primary",
	.release_idle_upstream = true,  /* issue 13 item 9: a session only while in use */
};

/* ---- local connections ------------------------------------------------- */

static struct ob_conn *
conn_new(struct ob_group *g)
{
	struct ob_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	struct outbound *ob = g->ob;
	c->g = g;
	c->no_up.fd = -1;
	c->relay.up = &c->no_up;
	fifo_push(&ob->conns, &c->relay.link);
	return c;
}

static bool
allowed(const struct ob_group *g, const struct sockaddr *sa)
{
	for (size_t i = 0; i < g->n_allow; i++)
		if (cidr_match(&g->allow[i], sa))
			return true;
	return false;
}

/* A local secondary's TCP connection (listener hook). */
static int
tcp_accepted(struct listener *l, int fd, const struct sockaddr *peer, socklen_t len)
{
	struct ob_group *g = l->set->ctx;
	if (!allowed(g, peer) || g->n_tcp >= g->max_clients) {
		bool cap = g->n_tcp >= g->max_clients;
		if (cap)
			metrics_limit_hit(MX_LIM_OUTBOUND_CONNS);
		else
			metrics_refusal(MX_OUTBOUND, RSN_NOT_ALLOWED);
		char text[NETADDR_TEXT_MAX];
		netaddr_format(peer, text);
		log_event(XP_LOG_INFO, "refusal", (struct log_field[]){
				LF_S("direction", "outbound"), LF_S("group", g->name), LF_S("client", text),
				LF_S("outcome", "connection refused"),
				LF_S("reason", cap ? "connection limit" : "not in allow") }, 5,
		          "%s, local %s, connection refused (%s)", g->label, text,
		          cap ? "connection limit" : "not in allow");
		close(fd);
		return 0;
	}
	struct ob_conn *c = conn_new(g);
	if (c == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	g->n_tcp++;
	metrics_conn_accepted(MX_OUTBOUND, &l->addr);
	ep_tcp_accepted(&c->cli.tcp, g->ob->rt->loop, fd, relay_on_event, &c->relay);
	c->relay.cli = &c->cli.tcp;
	relay_start(&c->relay, g->ob->rt->loop, ++g->ob->rt->next_conn_id, peer, len,
	            &outbound_hooks, c);
	return 0;
}

/* Answers a datagram that cannot go upstream: AXFR gets TC (use TCP);
 * malformed or over-limit queries get FORMERR/SERVFAIL. Signed with req
 * when not NULL (the query's verified TSIG). */
static void
udp_answer_locally(int fd, const struct udp_addr *a, const struct dns_query *q,
                   enum dns_rcode rcode, int ede, const char *text, bool tc,
                   const struct tsig_request *req)
{
	uint8_t out[DNS_ERROR_MAX];
	int n = dnsmsg_build_error(q, rcode, ede, text, out, sizeof(out));
	if (n <= 0)
		return;
	if (tc) {
		out[2] |= 0x02;
		out[3] &= 0xF0;                 /* NOERROR: no answer, retry over TCP */
	}
	if (req != NULL) {
		int m = tsig_sign_answer(out, (size_t)n, sizeof(out), req, (uint64_t)time(NULL),
		                         TSIG_ERR_NONE);
		if (m > 0)
			n = m;
	}
	udp_send(fd, a, out, (size_t)n);
}

/* A signed query whose key this proxy also holds (a [key] section with a
 * secret, under the configuration in force): once verified, the proxy's
 * own answers to it (TC, SERVFAIL, the relay's) are signed, as RFC 8945
 * §5.3 asks and BIND 9.18 requires of a TC answer (issue 13, A11; t67,
 * t92). True with req set (its key points into the configuration: copy it
 * to keep it, ep_udp_set_tsig). */
static bool
udp_tsig(const struct ob_group *g, const uint8_t *msg, size_t len, const struct dns_query *q,
         struct tsig_request *req)
{
	struct policy_tsig ts;
	policy_tsig_check(g->ob->rt->conf, q, msg, len, (uint64_t)time(NULL), &ts);
	if (!policy_tsig_authenticated(&ts))
		return false;
	*req = ts.req;
	return true;
}

/* One datagram from the local secondary: an SOA poll (or IXFR) becomes a
 * relay with a UDP client endpoint; AXFR gets TC at once. */
static void
udp_query(struct ob_group *g, int fd, const uint8_t *msg, size_t len, const struct udp_addr *a)
{
	struct dns_query q;
	const char *why;
	enum dns_parse_result res = dnsmsg_parse_query(msg, len, &q, &why);
	if (res == DNS_PARSE_SHORT)
		return;                         /* no ID to answer with */
	if (res == DNS_PARSE_FORMERR) {
		q.has_opt = false;
		udp_answer_locally(fd, a, &q, DNS_RCODE_FORMERR, DNS_EDE_NONE, NULL, false, NULL);
		return;
	}
	struct tsig_request req;
	const struct tsig_request *signer = udp_tsig(g, msg, len, &q, &req) ? &req : NULL;
	if (q.qtype == DNS_TYPE_AXFR) {         /* RFC 5936 §4.2: TCP only */
		udp_answer_locally(fd, a, &q, DNS_RCODE_NOERROR, DNS_EDE_NONE, NULL, true, signer);
		return;
	}
	if (g->n_udp >= g->max_udp_queries || g->ob->stopping) {
		if (!g->ob->stopping)
			metrics_limit_hit(MX_LIM_OUTBOUND_UDP);
		udp_answer_locally(fd, a, &q, DNS_RCODE_SERVFAIL, DNS_EDE_OTHER,
		                   reason_text(RSN_TRANSFER_LIMIT), false, signer);
		return;
	}
	struct ob_conn *c = conn_new(g);
	size_t max = q.has_opt && q.edns_udp_size > 512 ? q.edns_udp_size : 512;
	if (c == NULL || ep_udp_init(&c->cli.udp, fd, a, msg, len, q.qtype, max, q.has_opt,
	                             relay_on_event, &c->relay) < 0) {
		udp_answer_locally(fd, a, &q, DNS_RCODE_SERVFAIL, DNS_EDE_OTHER,
		                   reason_text(RSN_NO_MEMORY), false, signer);
		if (c != NULL) {
			c->udp = true;
			g->n_udp++;
			closed(&c->relay);
		}
		return;
	}
	if (signer != NULL)
		ep_udp_set_tsig(&c->cli.udp, signer);
	c->udp = true;
	g->n_udp++;
	c->relay.cli = &c->cli.udp.ep;
	relay_start(&c->relay, g->ob->rt->loop, ++g->ob->rt->next_conn_id,
	            (const struct sockaddr *)&a->peer, a->peer_len, &outbound_hooks, c);
}

/* A UDP listener is readable (listener hook). */
static void
udp_readable(struct listener *l)
{
	struct ob_group *g = l->set->ctx;
	uint8_t buf[UDP_MSG_MAX + 1];
	for (int i = 0; i < 64; i++) {          /* bounded batch per wake-up */
		struct udp_addr a;
		ssize_t n = udp_recv(l->fd, buf, sizeof(buf), &a);
		if (n < 0)
			return;
		if (!allowed(g, (struct sockaddr *)&a.peer) || n > UDP_MSG_MAX)
			continue;                   /* no answers to strangers (reflection) */
		udp_query(g, l->fd, buf, (size_t)n, &a);
	}
}

/* ---- groups ------------------------------------------------------------- */

/* A new pool for settings st from section cf: its TLS client context
 * first. NULL on failure, with the reason in err ("outbound NAME: ..."). */
static struct pool *
group_pool_new(struct ob_group *g, struct ev_loop *loop, const struct conf_outbound *cf,
               const struct pool_settings *st, char *err, size_t len)
{
	char why[TLS_ERR_MAX];
	WOLFSSL_CTX *ctx = ep_tls_client_ctx_new(cf, why);
	if (ctx == NULL) {
		snprintf(err, len, "%s: %s", g->label, why);
		return NULL;
	}
	struct connector *conn = ep_tls_connector_new(ctx, st->n_primary);
	struct pool *pool = conn != NULL ? pool_new(loop, g->label, st, conn) : NULL;
	if (pool == NULL) {
		if (conn != NULL)
			conn->ops->free(conn);
		snprintf(err, len, "%s: out of memory", g->label);
	}
	return pool;
}

/* The pool g needs for section cf: *pool is a new one when the primaries
 * or TLS settings changed (or g has none yet), NULL when g's pool is kept.
 * Returns 0, or -1 with the reason in err (the new pool cannot be built). */
static int
group_pool_for(struct ob_group *g, struct ev_loop *loop, const struct conf_outbound *cf,
               struct pool **pool, char *err, size_t len)
{
	struct pool_settings st;
	*pool = NULL;
	if (pool_settings_of(cf, &st) < 0)
		log_debug("%s: a TLS file cannot be read; the pool is rebuilt", g->label);
	if (g->pool != NULL && pool_settings_equal(&g->pool->settings, &st))
		return 0;
	*pool = group_pool_new(g, loop, cf, &st, err, len);
	return *pool != NULL ? 0 : -1;
}

/* The settings a group takes from its section (at start, and at a reload's
 * commit), with pool from group_pool_for: a pool whose settings did not
 * change (pool NULL) is kept with its idle sessions, tickets and backoff
 * (issue 13 item 8); a changed one is replaced: the old pool drains, its
 * waiting queries move to the new one. Nothing here points into cf
 * afterwards (everything is copied). Cannot fail. */
static void
group_apply(struct ob_group *g, const struct conf_outbound *cf, struct pool *pool)
{
	if (pool != NULL) {
		if (g->pool != NULL) {
			log_info("%s: primaries or TLS settings changed: new sessions, %u queries waiting "
			         "moved, %u sessions in use finish", g->label, g->pool->waiting.n,
			         pool_open_sessions(g->pool));
			pool_retire(g->pool, pool);
		}
		g->pool = pool;
	} else {
		log_debug("%s: primaries and TLS settings unchanged: sessions, tickets and backoff kept",
		          g->label);
	}
	memcpy(g->allow, cf->allow, sizeof(g->allow));
	g->n_allow = cf->n_allow;
	g->connect_timeout = cf->connect_timeout;
	g->idle_timeout = cf->idle_timeout;
	g->n_primary = (unsigned)cf->n_primary;
	g->backend_timeout = cf->backend_timeout;
	g->transfer_timeout = cf->transfer_timeout;
	g->queue_timeout = cf->queue_timeout;
	g->max_clients = cf->max_clients;
	g->max_udp_queries = cf->max_udp_queries;
}

/* A UDP socket was just bound for g (listener hook). */
static void
udp_bound(struct listener *l)
{
	struct ob_group *g = l->set->ctx;
	/* a wildcard address answers from the address each query was sent to */
	if (udp_pktinfo_enable(l->fd) < 0)
		log_warning("%s: UDP listener without IP_PKTINFO (%s): answers leave from the "
		            "kernel's choice of address", g->label, strerror(errno));
	int rcvbuf = UDP_RCVBUF;
	if (setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
		log_debug("%s: UDP receive buffer: %s", g->label, strerror(errno));
}

static void udp_release(struct listener_set *set, int fd);
static int udp_reclaim(struct listener_set *set, const struct netaddr *addr);

static const struct listener_ops tcp_listener_ops = { .accepted = tcp_accepted };
static const struct listener_ops udp_listener_ops = {
	.readable = udp_readable, .bound = udp_bound, .release = udp_release,
	.reclaim = udp_reclaim,
};

static int
group_open(struct ob_group *g, struct outbound *ob, const struct conf_outbound *cf)
{
	g->ob = ob;
	snprintf(g->name, sizeof(g->name), "%s", cf->name);
	outbound_label(cf->name, g->label, sizeof(g->label));
	listener_set_init(&g->tcp, ob->rt->loop, g->label, SOCK_STREAM, &tcp_listener_ops, g);
	listener_set_init(&g->udp, ob->rt->loop, g->label, SOCK_DGRAM, &udp_listener_ops, g);
	char err[TLS_ERR_MAX + 96];
	struct pool *pool;
	if (group_pool_for(g, ob->rt->loop, cf, &pool, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	group_apply(g, cf, pool);
	if (listener_set_open(&g->tcp, cf->listen, cf->n_listen) < 0 ||
	    listener_set_open(&g->udp, cf->listen, cf->n_listen) < 0)
		return -1;
	return 0;
}

/* Is UDP socket fd the one some query in flight of g answers through? */
static bool
udp_in_use(const struct ob_group *g, int fd)
{
	for (struct fifo_node *n = g->ob->conns.head; n != NULL; n = n->next) {
		const struct ob_conn *c = relay_of(n)->owner;
		if (c->g == g && c->udp && c->cli.udp.sock == fd)
			return true;
	}
	return false;
}

/* A UDP listener is gone (listener hook): its socket closes now, or
 * after the last query answering through it (a closed descriptor's number
 * could be reused by a socket to a primary before that answer is sent). */
static void
udp_release(struct listener_set *set, int fd)
{
	struct ob_group *g = set->ctx;
	if (udp_in_use(g, fd)) {
		int *p = realloc(g->udp_retired, (g->n_udp_retired + 1) * sizeof(*p));
		if (p != NULL) {
			g->udp_retired = p;
			g->udp_retired[g->n_udp_retired++] = fd;
			return;
		}
		log_error("%s: out of memory; closing a UDP socket with queries in flight", g->label);
	}
	close(fd);
}

/* A reload lists addr again while the UDP socket removed from it still
 * answers a query (listener hook): that socket listens again (binding a
 * new one would fail: the address is in use). */
static int
udp_reclaim(struct listener_set *set, const struct netaddr *addr)
{
	struct ob_group *g = set->ctx;
	char want[NETADDR_TEXT_MAX], have[NETADDR_TEXT_MAX];
	netaddr_format((const struct sockaddr *)&addr->ss, want);
	for (size_t i = 0; i < g->n_udp_retired; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = g->udp_retired[i];
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			continue;
		netaddr_format((const struct sockaddr *)&ss, have);
		if (strcmp(want, have) == 0) {
			g->udp_retired[i] = g->udp_retired[--g->n_udp_retired];
			return fd;
		}
	}
	return -1;
}

/* A UDP query has ended: closes the retired sockets nobody answers through. */
static void
group_reap_udp(struct ob_group *g)
{
	for (size_t i = 0; i < g->n_udp_retired;) {
		if (udp_in_use(g, g->udp_retired[i])) {
			i++;
			continue;
		}
		close(g->udp_retired[i]);
		g->udp_retired[i] = g->udp_retired[--g->n_udp_retired];
	}
}

static void
group_close_listeners(struct ob_group *g)
{
	listener_set_close(&g->tcp);
	listener_set_close(&g->udp);
}

void
outbound_label(const char *name, char *out, size_t len)
{
	snprintf(out, len, name[0] ? "outbound %s" : "outbound%s", name);
}

/* ---- the direction (direction.h) ------------------------------------------- */

static void ob_free(void *d);

/* Builds the groups of rt->conf (TLS client contexts, pools) and binds
 * their TCP and UDP listeners (before privileges are dropped). */
static void *
ob_open(struct runtime *rt, bool *failed)
{
	const struct conf *conf = rt->conf;
	*failed = false;
	if (conf->n_outbound == 0)
		return NULL;
	struct outbound *ob = calloc(1, sizeof(*ob));
	if (ob != NULL)
		ob->groups = calloc(conf->n_outbound, sizeof(*ob->groups));
	if (ob == NULL || ob->groups == NULL) {
		free(ob);
		log_error("outbound: out of memory");
		*failed = true;
		return NULL;
	}
	ob->rt = rt;
	for (size_t i = 0; i < conf->n_outbound; i++) {
		ob->n_groups = i + 1;
		if (group_open(&ob->groups[i], ob, &conf->outbound[i]) < 0) {
			ob_free(ob);
			*failed = true;
			return NULL;
		}
		log_info("%s: %zu primaries, first %s", ob->groups[i].label,
		         conf->outbound[i].n_primary, ob->groups[i].pool->primaries[0].text);
	}
	return ob;
}

/* Starts accepting (TCP) and reading (UDP); each group's TCP listeners
 * pause only for their own EMFILE backoff, never for inbound's max-clients. */
static void
ob_start(void *d)
{
	struct outbound *ob = d;
	for (size_t i = 0; i < ob->n_groups; i++) {
		listener_set_start(&ob->groups[i].tcp);
		listener_set_start(&ob->groups[i].udp);
	}
}

/* The section of conf with g's name, or NULL. */
static const struct conf_outbound *
section_of(const struct ob_group *g, const struct conf *conf)
{
	for (size_t j = 0; j < conf->n_outbound; j++)
		if (strcmp(conf->outbound[j].name, g->name) == 0)
			return &conf->outbound[j];
	return NULL;
}

static void
ob_reload_abort(void *d)
{
	struct outbound *ob = d;
	for (size_t i = 0; i < ob->n_groups; i++) {
		struct ob_group *g = &ob->groups[i];
		listener_set_abort(&g->tcp);
		listener_set_abort(&g->udp);
		if (g->staged != NULL)
			pool_retire(g->staged, NULL);      /* never used: freed now */
		g->staged = NULL;
		g->restaged = false;
	}
}

/* SIGHUP, the groups still named in conf: builds the new pool (TLS
 * client context) of each group whose primaries or TLS settings changed,
 * and binds the new listen addresses (TCP and UDP), before anything
 * changes; unchanged addresses keep their sockets. A group that cannot be
 * staged fails the whole reload: no group changes. */
static int
ob_reload_stage(void *d, const struct conf *conf, char *err, size_t len)
{
	struct outbound *ob = d;
	char why[160];
	ob_reload_abort(ob);
	for (size_t i = 0; i < ob->n_groups; i++) {
		struct ob_group *g = &ob->groups[i];
		const struct conf_outbound *cf = section_of(g, conf);
		if (cf == NULL)
			continue;
		if (group_pool_for(g, ob->rt->loop, cf, &g->staged, err, len) < 0) {
			ob_reload_abort(ob);
			return -1;
		}
		g->restaged = true;
		if (listener_set_stage(&g->tcp, cf->listen, cf->n_listen, why, sizeof(why)) < 0 ||
		    listener_set_stage(&g->udp, cf->listen, cf->n_listen, why, sizeof(why)) < 0) {
			snprintf(err, len, "%s: %s", g->label, why);
			ob_reload_abort(ob);
			return -1;
		}
	}
	return 0;
}

/* SIGHUP, second step: new allow lists, timeouts and TLS settings for the
 * groups still named in conf (sessions in use finish on what they started
 * with), then the staged listeners: a removed address first takes what is
 * queued on it (connections and datagrams sent before the reload); its TCP
 * socket then closes, its UDP socket once the queries in flight through it
 * are answered (udp_release). */
static void
ob_reload_commit(void *d, const struct conf *conf)
{
	struct outbound *ob = d;
	if (ob->n_groups != conf->n_outbound)
		log_warning("reload: [outbound] sections added or removed; that needs a restart");
	for (size_t i = 0; i < ob->n_groups; i++) {
		struct ob_group *g = &ob->groups[i];
		const struct conf_outbound *cf = section_of(g, conf);
		if (cf != NULL && g->restaged)
			group_apply(g, cf, g->staged);
		g->staged = NULL;
		g->restaged = false;
	}
	for (size_t i = 0; i < ob->n_groups; i++) {
		listener_set_commit(&ob->groups[i].tcp);
		listener_set_commit(&ob->groups[i].udp);
	}
}

/* Shutdown: listeners close, sessions answer what they read, then close. */
static void
ob_stop(void *d)
{
	struct outbound *ob = d;
	ob->stopping = true;
	for (size_t i = 0; i < ob->n_groups; i++) {
		struct ob_group *g = &ob->groups[i];
		group_close_listeners(g);
		if (g->pool != NULL)
			pool_retire(g->pool, NULL); /* idle sessions close now */
		g->pool = NULL;
	}
	relay_list_stop(&ob->conns);
}

static void
ob_kill(void *d)
{
	struct outbound *ob = d;
	relay_list_kill(&ob->conns, RSN_SHUTDOWN);
}

/* Open local connections and UDP queries in flight. */
static unsigned
ob_count(const void *d)
{
	const struct outbound *ob = d;
	return ob->conns.n;
}

static void
ob_free(void *d)
{
	struct outbound *ob = d;
	if (ob == NULL)
		return;
	ob_kill(ob);
	for (size_t i = 0; i < ob->n_groups; i++) {
		struct ob_group *g = &ob->groups[i];
		group_close_listeners(g);
		if (g->pool != NULL)
			pool_retire(g->pool, NULL);
		for (size_t j = 0; j < g->n_udp_retired; j++)
			close(g->udp_retired[j]);
		free(g->udp_retired);
	}
	free(ob->groups);
	free(ob);
}

const struct direction_ops outbound_direction = {
	.name = "outbound",
	.open = ob_open,
	.start = ob_start,
	.reload_stage = ob_reload_stage,
	.reload_commit = ob_reload_commit,
	.reload_abort = ob_reload_abort,
	.stop = ob_stop,
	.kill = ob_kill,
	.count = ob_count,
	.free = ob_free,
};
