/* inbound.c - the inbound direction: its listeners, the accept-time
 * admission (allow lists, per-IP caps, max-handshakes, max-clients), and
 * each connection: a TLS server endpoint toward the secondary, a TCP
 * endpoint toward the legacy primary, and the relay between them. This
 * file holds only what is inbound: the ALPN check, the client certificate,
 * the zone policy with its transfer caps and TSIG signing of local
 * answers, the lazy backend connect (backend-source, PROXY v2), the
 * pending-handshake list (max-handshakes) and the connection list. */
#include "inbound.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ep_tcp.h"
#include "ep_tls.h"

#include <wolfssl/wolfcrypt/coding.h>
#include "proxy/lib/fifo.h"
#include "proxy/lib/log.h"
#include "proxy/lib/netaddr.h"
#include "metrics.h"
#include "clienttab.h"
#include "ipcount.h"
#include "listener.h"
#include "policy.h"
#include "proxy/lib/proxyv2.h"
#include "relay.h"

/* Accept-time refusals, logged at most once a second with a count. */
struct refusal_tally {
	unsigned count;               /* since the last log line */
	double logged;                /* when that line was written */
	char last[NETADDR_TEXT_MAX];  /* the latest address refused */
	char what[112];
};

struct inbound {
	struct runtime *rt;           /* rt->conf judges every query as it arrives */
	struct listener_set lis;      /* paused at max-clients */
	struct fifo conns;            /* all live inbound relays */
	struct fifo handshakes;       /* connections in their TLS handshake, oldest first */
	struct fifo unadmitted;       /* sessions past their handshake that never had a query
	                               * admitted, oldest first: closed first at max-clients */
	struct ipcount per_ip;        /* live connections per client address */
	struct ipcount hs_per_ip;     /* pending handshakes per client address
	                               * (max-handshakes-per-ip), released when the handshake ends */
	struct clienttab *clients;    /* per-client transfer slots and rates (made at open) */
	unsigned n_transfers;         /* AXFR/IXFR in flight (max-transfers) */
	ev_timer tally_timer;         /* writes refusal counts held back */
	struct refusal_tally cap_refused;    /* at max-clients-per-ip */
	struct refusal_tally acl_refused;    /* address in no zone's allow */
	struct refusal_tally hs_evicted;     /* oldest handshake closed at max-handshakes */
	struct refusal_tally hs_cap_refused; /* at max-handshakes-per-ip */
	struct refusal_tally idle_evicted;   /* never-admitted session closed at max-clients */
};

static void update_accept(struct inbound *in);
static void conn_gone(struct inbound *in, const struct sockaddr *group);

struct inbound_conn {
	struct relay relay;             /* its owner pointer is this connection */
	struct inbound *in;
	struct fifo_node hs;            /* in in->handshakes while the TLS handshake runs */
	struct fifo_node fresh;         /* in in->unadmitted from the handshake's end to the
	                                 * first admitted query (B14) */
	double active;                  /* last admitted activity (B14, see idle_limit) */
	bool serving;                   /* an admitted query is being served: `active` follows
	                                 * the relay's last_active until it is idle again */
	struct ep_tls cli;
	struct endpoint up;
	struct sockaddr_storage group;  /* key for per-client caps (IPv6 by prefix) */
	struct tls_identity *id;        /* the verified client certificate, or NULL */
	char *id_text;                  /* its first DNS name, or "sha256:" + its pin, for logs */
	struct tls_peer_chain chain;    /* the certificates it presented (B15: re-verified) */
	unsigned cert_gen;              /* rt->conf_gen the chain was last checked under */
	bool cert_trusted;              /* it verified then: the identity counts */
	bool want_has_src, up_has_src;  /* backend-source: wanted for the next backend */
	struct netaddr want_src, up_src;     /* connection, and of the one held */
	uint8_t *pre;                   /* PROXY v2 header of the backend connection, or NULL */
};

#define PRE_MAX (PROXYV2_V6_LEN + 320)

/* A query's admission: the transfer slot it holds (caps) and its verified
 * TSIG, for signing the proxy's own answer to it (at once, or a SERVFAIL
 * later). Allocated only for transfers and verified signed queries.
 *
 * The token lives until the answer has ended (xfr_done), across any number
 * of reloads, so it follows the rule written at struct conf (conf.h): it
 * holds no pointer into the configuration it was judged under. The [key]
 * it signs with is a copy (policy_signer); the ACL and zone of the verdict
 * are used only inside judge. Its other pointer, entry, is into the client
 * table, which lives as long as the server. */
struct inbound_token {
	struct client_entry *entry;     /* per-client slot, or NULL */
	bool counted;                   /* holds one of max-transfers */
	struct policy_signer signer;    /* copy of the verified key, for later answers */
};

static struct inbound_conn *
of(const struct relay *r)
{
	return r->owner;
}

/* ---- pending handshakes, oldest first (max-handshakes) ------------------ */

static void
hs_link(struct inbound_conn *c)
{
	fifo_push(&c->in->handshakes, &c->hs);
}

/* Leaves the list when the handshake ends, whichever way, giving back the
 * address's count of pending handshakes (max-handshakes-per-ip). */
static void
hs_unlink(struct inbound_conn *c)
{
	if (!c->hs.linked)
		return;
	fifo_remove(&c->in->handshakes, &c->hs);
	ipcount_release(&c->in->hs_per_ip, (const struct sockaddr *)&c->group);
}

/* ---- sessions never admitted (B14) -------------------------------------- */

/* Past the handshake and no query admitted yet: the first to go at
 * max-clients. */
static void
fresh_link(struct inbound_conn *c)
{
	fifo_push(&c->in->unadmitted, &c->fresh);
	update_accept(c->in);       /* paused at max-clients? there is room now */
}

/* A query was admitted (or the session closes): no longer evictable. */
static void
fresh_unlink(struct inbound_conn *c)
{
	if (!c->fresh.linked)
		return;
	fifo_remove(&c->in->unadmitted, &c->fresh);
	update_accept(c->in);
}

/* ---- relay hooks ------------------------------------------------------- */

/* The client certificate as logs name it: its first DNS name, else its pin. */
static const char *
identity_text(struct inbound_conn *c)
{
	if (c->id->n_names > 0)
		return c->id->names[0];
	char b64[64];
	word32 n = sizeof(b64);
	if (Base64_Encode_NoNl(c->id->pin, sizeof(c->id->pin), (byte *)b64, &n) != 0 || n >= sizeof(b64))
		return NULL;
	b64[n] = '\0';
	if ((c->id_text = malloc(n + 8)) != NULL)
		snprintf(c->id_text, n + 8, "sha256:%s", b64);
	return c->id_text;
}

static bool
client_ready(struct relay *r)
{
	struct inbound_conn *c = of(r);
	hs_unlink(c);
	bool resumed = wolfSSL_session_reused(c->cli.ssl);
	metrics_handshake_ok(MX_INBOUND, resumed);
	if (!tls_alpn_is_dot(c->cli.ssl)) {     /* XOT-01: no DNS without ALPN dot */
		metrics_refusal(MX_INBOUND, RSN_ALPN);
		struct log_field fl[8];
		size_t n = relay_log_fields(r, fl);
		fl[n++] = LF_S("outcome", "closed");
		fl[n++] = LF_S("reason", reason_json(RSN_ALPN));
		log_event(XP_LOG_INFO, "refusal", fl, n, "conn %llu, remote %s, closed: ALPN dot not negotiated",
		          (unsigned long long)r->id, r->peer_text);
		return false;
	}
	struct tls_identity id;
	if (!tls_peer_identity(c->cli.ssl, &id)) {   /* client-ca, yet no certificate */
		log_info("conn %llu, remote %s, closed: no verified client certificate",
		         (unsigned long long)r->id, r->peer_text);
		return false;
	}
	if (id.has_cert && tls_peer_chain_complete(c->cli.ssl, &c->chain) < 0) {
		log_info("conn %llu, remote %s, closed: client certificate chain not kept (out of memory)",
		         (unsigned long long)r->id, r->peer_text);
		return false;
	}
	if (id.has_cert && (c->id = malloc(sizeof(*c->id))) != NULL) {
		*c->id = id;
		c->cert_trusted = true;     /* verified in the handshake, under cert_gen's client-ca */
		r->identity = identity_text(c);
	}
	if (log_threshold >= XP_LOG_DEBUG) {
		char desc[96];
		tls_describe(c->cli.ssl, desc, sizeof(desc));
		log_debug("conn %llu, remote %s, TLS established, %s, ALPN dot%s",
		          (unsigned long long)r->id, r->peer_text, desc, resumed ? ", resumed" : "");
	}
	c->active = ev_now(r->loop);
	fresh_link(c);
	return true;
}

/* B15: the client certificate is an identity only while the chain it
 * presented verifies under the client-ca in force. Checked again whenever
 * the configuration has been reloaded since the last check (once per
 * generation: a hot session does not re-verify every query). NULL when
 * there is no certificate, or it no longer verifies. */
static const struct tls_identity *
current_identity(struct inbound_conn *c)
{
	if (c->id == NULL)
		return NULL;
	if (c->cert_gen != c->in->rt->conf_gen) {
		bool was = c->cert_trusted;
		c->cert_trusted = tls_peer_chain_trusted(c->in->rt->tls, &c->chain);
		c->cert_gen = c->in->rt->conf_gen;
		if (was != c->cert_trusted)
			log_info("conn %llu, remote %s, client certificate %s %s under the client-ca in force",
			         (unsigned long long)c->relay.id, c->relay.peer_text, c->id->subject,
			         c->cert_trusted ? "verifies again" : "no longer verifies (it names nobody now)");
	}
	return c->cert_trusted ? c->id : NULL;
}

static bool
cert_matches(const void *identity, const char *pattern)
{
	return tls_identity_matches(identity, pattern);
}

/* The client key for caps and rates (policy_client_key): the certificate
 * identity, else a TSIG key name the proxy verified, else the address. */
static void
client_key(const struct inbound_conn *c, const struct tls_identity *id, const struct dns_query *q,
           const struct policy_tsig *ts, struct clientkey *k)
{
	const void *cert = NULL;
	size_t cert_len = 0;
	if (id != NULL && id->n_names > 0) {
		cert = id->names[0];
		cert_len = strlen(id->names[0]);
	} else if (id != NULL) {
		cert = id->pin;
		cert_len = sizeof(id->pin);
	}
	policy_client_key(k, cert, cert_len, q, ts, (const struct sockaddr *)&c->relay.peer,
	                  c->in->rt->conf->inbound.ipv6_prefix);
}

static struct verdict
over_cap(struct verdict v, enum reason why)
{
	v.forward = false;
	v.rcode = DNS_RCODE_SERVFAIL;
	v.ede = DNS_EDE_OTHER;
	v.reason = why;
	return v;
}

/* XOT-10: max-transfers, then max-transfers-per-client and transfer-rate
 * per client key; an admitted transfer holds its slots in the token. */
static struct verdict
admit_transfer(struct inbound_conn *c, const struct tls_identity *id, const struct dns_query *q,
               const struct policy_tsig *ts, struct verdict v, struct inbound_token *t)
{
	struct inbound *in = c->in;
	const struct conf *conf = in->rt->conf;
	if (conf->inbound.max_transfers != 0 && in->n_transfers >= conf->inbound.max_transfers)
		return over_cap(v, RSN_TRANSFER_LIMIT);
	struct clientkey k;
	client_key(c, id, q, ts, &k);
	enum client_admit a = clienttab_admit(in->clients, k.b, k.len, conf->inbound.max_transfers_per_client,
	                                      conf->inbound.rate_n, conf->inbound.rate_per, ev_now(in->rt->loop),
	                                      &t->entry);
	if (a != CLIENT_ADMIT_OK)
		return over_cap(v, a == CLIENT_OVER_RATE ? RSN_TRANSFER_RATE : RSN_TRANSFER_LIMIT);
	t->counted = true;
	in->n_transfers++;
	return v;
}

static void
token_free(struct inbound_conn *c, struct inbound_token *t)
{
	if (t->entry != NULL)
		clienttab_transfer_end(c->in->clients, t->entry, ev_now(c->in->rt->loop));
	if (t->counted)
		c->in->n_transfers--;
	policy_signer_wipe(&t->signer);
	free(t);
}

static bool
same_source(bool a_has, const struct netaddr *a, bool b_has, const struct netaddr *b)
{
	if (a_has != b_has)
		return false;
	return !a_has || (a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0);
}

/* backend-source: the backend connection must come from the admitting
 * ACL's address, so the legacy primary's own ACLs see each identity apart.
 * A held connection from another source is closed when idle; while it is
 * busy the query gets SERVFAIL (transient: the secondary retries). */
static struct verdict
choose_source(struct inbound_conn *c, struct verdict v)
{
	bool has = v.acl != NULL && v.acl->has_source;
	const struct netaddr *want = has ? &v.acl->source : NULL;
	if (c->relay.up_held && !same_source(c->up_has_src, &c->up_src, has, want) &&
	    !relay_release_idle_upstream(&c->relay))
		return over_cap(v, RSN_BACKEND_BUSY);
	c->want_has_src = has;
	if (has)
		c->want_src = *want;
	return v;
}

static struct verdict
judge(struct relay *r, const struct dns_query *q, const uint8_t *msg, size_t len)
{
	struct inbound_conn *c = of(r);
	const struct tls_identity *id = current_identity(c);
	struct policy_client who = { (const struct sockaddr *)&r->peer, id, cert_matches };
	struct policy_tsig ts;
	struct verdict v = policy_check(c->in->rt->conf, q, msg, len, &who, (uint64_t)time(NULL), &ts);
	if (!v.forward && c->id != NULL && id == NULL && v.ede == DNS_EDE_PROHIBITED)
		v.reason = RSN_ACL_CERT_STALE;
	bool xfr = v.forward && (q->qtype == DNS_TYPE_AXFR || q->qtype == DNS_TYPE_IXFR);
	if (v.forward) {
		c->serving = true;              /* B14: admitted work is activity */
		fresh_unlink(c);
		v = choose_source(c, v);
	}
	if (!xfr && !v.sign)
		return v;
	struct inbound_token *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		v.sign = false;
		return v.forward ? over_cap(v, RSN_NO_MEMORY) : v;
	}
	policy_signer_keep(&t->signer, &ts);
	v.token = t;
	if (xfr)
		v = admit_transfer(c, id, q, &ts, v, t);    /* refused: the relay frees the token */
	return v;
}

static void
xfr_done(struct relay *r, void *token)
{
	token_free(of(r), token);
}

/* RFC 8945 §5.3: the proxy's own answer to a signed query carries a TSIG
 * (unsigned for BADSIG/BADKEY, §5.3.2). */
static int
sign_answer(struct relay *r, void *token, uint8_t *msg, size_t len, size_t cap)
{
	const struct inbound_token *t = token;
	if (t == NULL)
		return -1;
	return policy_signer_sign(&t->signer, msg, len, cap, (uint64_t)time(NULL));
}

/* PROXY v2 (PRX-05): the client's address and the TLS facts, first on the
 * backend connection. */
static void
proxy_header(struct inbound_conn *c)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	if (getsockname(endpoint_fd(&c->cli.ep), (struct sockaddr *)&local, &llen) < 0)
		return;
	if (c->pre == NULL && (c->pre = malloc(PRE_MAX)) == NULL)
		return;
	int n = proxyv2_build(c->pre, PRE_MAX, (const struct sockaddr *)&c->relay.peer,
	                      (const struct sockaddr *)&local, NULL, wolfSSL_get_version(c->cli.ssl),
	                      c->id != NULL && c->cert_trusted);   /* B15 */
	if (n > 0) {
		c->relay.up_pre = c->pre;
		c->relay.up_pre_len = (size_t)n;
	}
}

static enum reason
upstream_open(struct relay *r, char *why, size_t len)
{
	struct inbound_conn *c = of(r);
	const struct netaddr *src = c->want_has_src ? &c->want_src : NULL;
	c->up_has_src = c->want_has_src;
	c->up_src = c->want_src;
	if (ep_tcp_connect(&c->up, r->loop, &c->in->rt->conf->inbound.backend, src, relay_on_event, r) < 0) {
		snprintf(why, len, "backend %s", c->up.err);
		return RSN_UP_CONNECT;
	}
	if (c->in->rt->conf->inbound.proxy_v2)
		proxy_header(c);
	return RSN_NONE;
}

/* The legacy primary's connection is never shared: closed when done. */
static void
upstream_release(struct relay *r, bool clean)
{
	endpoint_close(&of(r)->up, false);
}

/* True while the relay still serves admitted work: a query in flight or
 * not yet sent, or answer octets not yet taken by the client. */
static bool
relay_busy(const struct relay *r)
{
	return r->n_inflight > 0 || r->in_fwd > 0 ||
	       (ring_allocated(&r->u2c) && ring_len(&r->u2c) > 0);
}

/* B14: the relay closes an idle session at last_active + limits.idle, and
 * last_active moves with every parsed query, refused ones too, and with
 * every write to the client. Here only admitted work counts: `active`
 * follows last_active while an admitted query is served (from judge until
 * the relay is no longer busy) and stays put through refusals and their
 * answers. The idle limit handed to the relay is what is left of
 * idle-timeout after `active` (rounded up: at most a second late), so the
 * session closes at active + idle-timeout however often it is refused; a
 * session never admitted closes idle-timeout after its handshake. */
static unsigned
idle_limit(struct inbound_conn *c, unsigned idle_timeout)
{
	const struct relay *r = &c->relay;
	if (c->serving) {
		c->active = r->last_active;
		c->serving = relay_busy(r);
	}
	double left = c->active + idle_timeout - r->last_active;
	return left <= 0 ? 0 : (unsigned)ceil(left);
}

static void
limits(const struct relay *r, struct relay_limits *out)
{
	struct inbound_conn *c = of(r);
	const struct conf *conf = c->in->rt->conf;
	out->handshake = conf->inbound.handshake_timeout;
	out->idle = idle_limit(c, conf->inbound.idle_timeout);
	out->transfer = conf->inbound.transfer_timeout;
	out->upstream = conf->inbound.backend_timeout;
}

static void
closed(struct relay *r)
{
	struct inbound_conn *c = of(r);
	struct inbound *in = c->in;
	hs_unlink(c);
	fifo_remove(&in->unadmitted, &c->fresh);    /* conn_gone updates accepting */
	fifo_remove(&in->conns, &r->link);
	struct sockaddr_storage group = c->group;
	free(c->id);
	free(c->id_text);
	tls_peer_chain_free(&c->chain);
	free(c->pre);
	free(c);
	metrics_conn_closed(MX_INBOUND);
	conn_gone(in, (const struct sockaddr *)&group);
}

static const struct relay_hooks inbound_hooks = {
	.direction = XP_INBOUND,
	.client_ready = client_ready,
	.judge = judge,
	.xfr_done = xfr_done,
	.sign_answer = sign_answer,
	.upstream_open = upstream_open,
	.upstream_release = upstream_release,
	.limits = limits,
	.closed = closed,
	.upstream_fail_ede = DNS_EDE_NETWORK_ERROR,     /* XoT error table: EDE 23 */
	.upstream_fail_text = "backend unreachable",
};

/* ---- accept-time refusals, counted and logged at most once a second ----- */

/* Logs a tally's count since its last line, if any. */
static void
tally_flush(struct refusal_tally *t, double now)
{
	if (t->count == 0)
		return;
	log_info("remote %s, %s (%u since the last report)", t->last, t->what, t->count);
	t->count = 0;
	t->logged = now;
}

/* Counts one accept-time refusal; logs at most once a second, naming the
 * latest address and how many were refused since the last line. What is
 * held back is written by the tally timer a second later. */
static void
tally_refusal(struct inbound *in, struct refusal_tally *t, const struct sockaddr *peer,
              const char *what)
{
	t->count++;
	netaddr_format(peer, t->last);
	snprintf(t->what, sizeof(t->what), "%s", what);
	double now = ev_now(in->rt->loop);
	if (now - t->logged >= 1.0)
		tally_flush(t, now);
	else if (!ev_is_active(&in->tally_timer))
		ev_timer_start(in->rt->loop, &in->tally_timer);
}

static void
tally_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct inbound *in = w->data;
	double now = ev_now(loop);
	tally_flush(&in->acl_refused, now);
	tally_flush(&in->cap_refused, now);
	tally_flush(&in->hs_evicted, now);
	tally_flush(&in->hs_cap_refused, now);
	tally_flush(&in->idle_evicted, now);
}

/* ---- eviction at max-handshakes and max-clients --------------------------- */

static struct inbound_conn *
of_hs(struct fifo_node *n)
{
	return container_of(n, struct inbound_conn, hs);
}

/* The pending handshake to close at max-handshakes: the oldest of an
 * address holding max-handshakes-per-ip or more (a flooding host churns
 * its own), else the oldest of all. */
static struct inbound_conn *
handshake_to_evict(struct inbound *in)
{
	unsigned share = in->rt->conf->inbound.max_handshakes_per_ip;
	for (struct fifo_node *n = fifo_oldest(&in->handshakes); share != 0 && n != NULL; n = n->next)
		if (ipcount_get(&in->hs_per_ip, (const struct sockaddr *)&of_hs(n)->group) >= share)
			return of_hs(n);
	struct fifo_node *oldest = fifo_oldest(&in->handshakes);
	return oldest != NULL ? of_hs(oldest) : NULL;
}

/* At max-handshakes: closes the oldest connection still in its TLS
 * handshake from an address holding max-handshakes-per-ip or more
 * pending, else the oldest of all. */
static void
evict_handshake(struct inbound *in)
{
	struct inbound_conn *c = handshake_to_evict(in);
	if (c == NULL)
		return;
	metrics_limit_hit(MX_LIM_MAX_HANDSHAKES);
	log_debug("conn %llu, remote %s, closed: oldest pending handshake, max-handshakes (%u) reached",
	          (unsigned long long)c->relay.id, c->relay.peer_text, in->rt->conf->inbound.max_handshakes);
	relay_kill(&c->relay, false, RSN_NONE);
}

/* At max-clients (issue 13, B14): closes the oldest session past its
 * handshake that never had a query admitted. True if there was one. */
static bool
evict_unadmitted(struct inbound *in)
{
	struct fifo_node *n = fifo_oldest(&in->unadmitted);
	if (n == NULL)
		return false;
	struct inbound_conn *c = container_of(n, struct inbound_conn, fresh);
	log_debug("conn %llu, remote %s, closed: no query admitted, oldest such session at "
	          "max-clients (%u)", (unsigned long long)c->relay.id, c->relay.peer_text,
	          in->rt->conf->inbound.max_clients);
	relay_kill(&c->relay, true, RSN_NONE);
	return true;
}

/* ---- accepting ------------------------------------------------------------ */

/* Decides at accept, before any TLS work, whether a connection may go on:
 * its address must be in some zone's allow list, its client key under the
 * per-IP cap (TCP-04); at max-handshakes a pending handshake goes to make
 * room, so a flood of silent handshakes cannot lock out a real secondary.
 * Issue 13, B14: so that one host cannot push other clients' handshakes out
 * that way, at max-handshakes an address already holding
 * max-handshakes-per-ip pending handshakes gets no more (closed at accept),
 * and the handshake closed is the oldest of such an address before the
 * oldest of all (evict_handshake). Below max-handshakes a burst from one
 * address is not limited. On success the connection holds one count in
 * per_ip and one in hs_per_ip. */
static bool
admit(struct inbound *in, const struct sockaddr *peer, struct sockaddr_storage *group)
{
	const struct conf *conf = in->rt->conf;
	if (!conf_address_allowed(conf, peer)) {
		metrics_limit_hit(MX_LIM_ACCEPT_ALLOW);
		tally_refusal(in, &in->acl_refused, peer,
		              "connection refused: address in no zone's allow list");
		return false;
	}
	netaddr_group(peer, conf->inbound.ipv6_prefix, group);
	if (!ipcount_take(&in->per_ip, (struct sockaddr *)group, conf->inbound.max_clients_per_ip)) {
		char what[96];
		snprintf(what, sizeof(what), "connection refused: max-clients-per-ip (%u) reached",
		         conf->inbound.max_clients_per_ip);
		metrics_limit_hit(MX_LIM_PER_IP);
		tally_refusal(in, &in->cap_refused, peer, what);
		return false;
	}
	unsigned over = fifo_over(&in->handshakes, conf->inbound.max_handshakes);
	bool at_share = conf->inbound.max_handshakes_per_ip != 0 &&
	                ipcount_get(&in->hs_per_ip, (struct sockaddr *)group) >= conf->inbound.max_handshakes_per_ip;
	if ((over > 0 && at_share) || !ipcount_take(&in->hs_per_ip, (struct sockaddr *)group, 0)) {
		char what[112];
		snprintf(what, sizeof(what), "connection refused: max-handshakes reached and this "
		         "address holds max-handshakes-per-ip (%u)", conf->inbound.max_handshakes_per_ip);
		metrics_limit_hit(MX_LIM_MAX_HANDSHAKES);
		tally_refusal(in, &in->hs_cap_refused, peer, what);
		ipcount_release(&in->per_ip, (struct sockaddr *)group);
		return false;
	}
	for (unsigned n = over; n > 0; n--) {
		tally_refusal(in, &in->hs_evicted, peer,
		              "max-handshakes reached: closed the oldest pending handshake");
		evict_handshake(in);
	}
	return true;
}

/* The session of an admitted connection (fd owned here: closed on
 * failure). Returns 0, or -1 with errno (ENOMEM, EMFILE...). */
static int
session_start(struct inbound *in, const struct listener *l, int fd, const struct sockaddr *peer,
              socklen_t peer_len, const struct sockaddr_storage *group)
{
	struct runtime *rt = in->rt;
	struct inbound_conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	if (ep_tls_server_init(&c->cli, rt->loop, fd, rt->tls, relay_on_event, &c->relay) < 0) {
		int err = errno;
		close(fd);
		free(c);
		errno = err;
		return -1;
	}
	metrics_conn_accepted(MX_INBOUND, &l->addr);
	tls_session_keep_chain(c->cli.ssl, &c->chain);
	c->cert_gen = rt->conf_gen;         /* the handshake verifies under this client-ca */
	c->in = in;
	c->group = *group;
	c->active = ev_now(rt->loop);
	c->up.fd = -1;
	c->relay.cli = &c->cli.ep;
	c->relay.up = &c->up;

	fifo_push(&in->conns, &c->relay.link);
	hs_link(c);

	uint64_t id = ++rt->next_conn_id;
	relay_start(&c->relay, rt->loop, id, peer, peer_len, &inbound_hooks, c);   /* may free c */
	return 0;
}

/* A connection accepted on one of the inbound listeners: admitted before
 * any TLS work, then a session. */
static int
accepted(struct listener *l, int fd, const struct sockaddr *peer, socklen_t len)
{
	struct inbound *in = l->set->ctx;
	struct sockaddr_storage group;
	if (!admit(in, peer, &group)) {
		close(fd);
		return 0;
	}
	if (in->conns.n >= in->rt->conf->inbound.max_clients && evict_unadmitted(in)) {
		metrics_limit_hit(MX_LIM_MAX_CLIENTS);
		tally_refusal(in, &in->idle_evicted, peer, "max-clients reached: closed the oldest "
		              "session that never had a query admitted");
	}
	if (session_start(in, l, fd, peer, len, &group) < 0) {
		int err = errno;
		ipcount_release(&in->per_ip, (struct sockaddr *)&group);
		ipcount_release(&in->hs_per_ip, (struct sockaddr *)&group);
		errno = err;
		return -1;
	}
	update_accept(in);
	return 0;
}

static const struct listener_ops inbound_listener_ops = { .accepted = accepted };

/* Accepting runs while there is room for one more connection: fewer than
 * max-clients, or a never-admitted session (in->unadmitted) to close for
 * it; otherwise this direction's listeners pause (logged; the outbound
 * ones go on). Called whenever either changes. */
static void
update_accept(struct inbound *in)
{
	if (in->rt->stopping)
		return;
	const struct conf *conf = in->rt->conf;
	bool room = in->conns.n < conf->inbound.max_clients || in->unadmitted.n > 0;
	if (room && in->lis.paused) {
		listener_set_pause(&in->lis, false);
	} else if (!room && !in->lis.paused) {
		metrics_limit_hit(MX_LIM_MAX_CLIENTS);
		log_warning("max-clients (%u) reached; pausing accepts", conf->inbound.max_clients);
		listener_set_pause(&in->lis, true);
	}
}

/* A connection was freed, with the key it was counted under. */
static void
conn_gone(struct inbound *in, const struct sockaddr *group)
{
	ipcount_release(&in->per_ip, group);
	update_accept(in);
	in->rt->conn_gone(in->rt->owner);
}

/* ---- the direction (direction.h) ------------------------------------------- */

static void inbound_free(void *d);

static void *
inbound_open(struct runtime *rt, bool *failed)
{
	const struct conf *conf = rt->conf;
	*failed = true;
	struct inbound *in = calloc(1, sizeof(*in));
	if (in == NULL) {
		log_error("inbound: out of memory");
		return NULL;
	}
	in->rt = rt;
	listener_set_init(&in->lis, rt->loop, "inbound", SOCK_STREAM, &inbound_listener_ops, in);
	ev_timer_init(&in->tally_timer, tally_timer_cb, 1.0, 0);
	in->tally_timer.data = in;
	/* per-client transfer slots and rates: one table for the process's life
	 * (a reload keeps it, so slots held by running transfers stay valid) */
	in->clients = clienttab_new(conf->inbound.client_table_size);
	if (in->clients == NULL) {
		log_error("cannot allocate the client table (%u entries)", conf->inbound.client_table_size);
		inbound_free(in);
		return NULL;
	}
	if (listener_set_open(&in->lis, conf->inbound.listen, conf->inbound.n_listen) < 0) {
		inbound_free(in);
		return NULL;
	}
	*failed = false;
	return in;
}

static void
inbound_start(void *d)
{
	struct inbound *in = d;
	listener_set_start(&in->lis);
	update_accept(in);
}

static int
inbound_reload_stage(void *d, const struct conf *conf, char *err, size_t len)
{
	struct inbound *in = d;
	return listener_set_stage(&in->lis, conf->inbound.listen, conf->inbound.n_listen, err, len);
}

/* Removed listeners first take what is already queued on them (those
 * clients connected before the reload), under the new configuration. */
static void
inbound_reload_commit(void *d, const struct conf *conf)
{
	struct inbound *in = d;
	listener_set_commit(&in->lis);
	update_accept(in);                  /* max-clients may have changed */
}

static void
inbound_reload_abort(void *d)
{
	struct inbound *in = d;
	listener_set_abort(&in->lis);
}

static void
inbound_stop(void *d)
{
	struct inbound *in = d;
	listener_set_close(&in->lis);
	ev_timer_stop(in->rt->loop, &in->tally_timer);
	tally_timer_cb(in->rt->loop, &in->tally_timer, 0);   /* refusal counts held back */
	relay_list_stop(&in->conns);
}

static void
inbound_kill(void *d)
{
	struct inbound *in = d;
	relay_list_kill(&in->conns, RSN_SHUTDOWN);
}

static unsigned
inbound_count(const void *d)
{
	const struct inbound *in = d;
	return in->conns.n;
}

static void
inbound_free(void *d)
{
	struct inbound *in = d;
	if (in == NULL)
		return;
	relay_list_kill(&in->conns, RSN_SHUTDOWN);
	listener_set_close(&in->lis);
	ev_timer_stop(in->rt->loop, &in->tally_timer);
	ipcount_clear(&in->per_ip);
	ipcount_clear(&in->hs_per_ip);
	clienttab_free(in->clients);
	free(in);
}

const struct direction_ops inbound_direction = {
	.name = "inbound",
	.open = inbound_open,
	.start = inbound_start,
	.reload_stage = inbound_reload_stage,
	.reload_commit = inbound_reload_commit,
	.reload_abort = inbound_reload_abort,
	.stop = inbound_stop,
	.kill = inbound_kill,
	.count = inbound_count,
	.free = inbound_free,
};
