/* inbound.c - the inbound direction's connection: a TLS server endpoint
 * toward the secondary, a TCP endpoint toward the legacy primary, and the
 * relay between them. This file holds only what is inbound: the ALPN check,
 * the client certificate, the zone policy with its transfer caps and TSIG
 * signing of local answers, the lazy backend connect (backend-source,
 * PROXY v2), the pending-handshake list (max-handshakes) and the server's
 * connection list. */
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
#include "proxy/lib/log.h"
#include "metrics.h"
#include "clienttab.h"
#include "policy.h"
#include "proxy/lib/proxyv2.h"
#include "relay.h"
#include "server.h"

struct inbound_conn {
	struct relay relay;             /* first: hooks get &relay */
	struct server *srv;             /* srv->conf judges every query as it arrives */
	struct fifo_node hs;            /* in srv->handshakes while the TLS handshake runs */
	struct fifo_node fresh;         /* in srv->unadmitted from the handshake's end to the
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
	unsigned cert_gen;              /* srv->conf_gen the chain was last checked under */
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
	fifo_push(&c->srv->handshakes, &c->hs);
}

/* Leaves the list when the handshake ends, whichever way, giving back the
 * address's count of pending handshakes (max-handshakes-per-ip). */
static void
hs_unlink(struct inbound_conn *c)
{
	if (!c->hs.linked)
		return;
	fifo_remove(&c->srv->handshakes, &c->hs);
	ipcount_release(&c->srv->hs_per_ip, (const struct sockaddr *)&c->group);
}

/* ---- sessions never admitted (B14) -------------------------------------- */

/* Past the handshake and no query admitted yet: the first to go at
 * max-clients. */
static void
fresh_link(struct inbound_conn *c)
{
	fifo_push(&c->srv->unadmitted, &c->fresh);
	server_update_accept(c->srv);       /* paused at max-clients? there is room now */
}

/* A query was admitted (or the session closes): no longer evictable. */
static void
fresh_unlink(struct inbound_conn *c)
{
	if (!c->fresh.linked)
		return;
	fifo_remove(&c->srv->unadmitted, &c->fresh);
	server_update_accept(c->srv);
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
		metrics_refusal(MX_INBOUND, "alpn");
		struct log_field fl[8];
		size_t n = relay_log_fields(r, fl);
		fl[n++] = LF_S("outcome", "closed");
		fl[n++] = LF_S("reason", "ALPN dot not negotiated");
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
	if (c->cert_gen != c->srv->conf_gen) {
		bool was = c->cert_trusted;
		c->cert_trusted = tls_peer_chain_trusted(c->srv->tls, &c->chain);
		c->cert_gen = c->srv->conf_gen;
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
	                  c->srv->conf->inbound.ipv6_prefix);
}

static struct verdict
over_cap(struct verdict v, const char *why)
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
	struct server *srv = c->srv;
	const struct conf *conf = srv->conf;
	if (conf->inbound.max_transfers != 0 && srv->n_transfers >= conf->inbound.max_transfers)
		return over_cap(v, "transfer limit");
	struct clientkey k;
	client_key(c, id, q, ts, &k);
	enum client_admit a = clienttab_admit(srv->clients, k.b, k.len, conf->inbound.max_transfers_per_client,
	                                      conf->inbound.rate_n, conf->inbound.rate_per, ev_now(srv->loop),
	                                      &t->entry);
	if (a != CLIENT_ADMIT_OK)
		return over_cap(v, a == CLIENT_OVER_RATE ? "transfer rate" : "transfer limit");
	t->counted = true;
	srv->n_transfers++;
	return v;
}

static void
token_free(struct inbound_conn *c, struct inbound_token *t)
{
	if (t->entry != NULL)
		clienttab_transfer_end(c->srv->clients, t->entry, ev_now(c->srv->loop));
	if (t->counted)
		c->srv->n_transfers--;
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
		return over_cap(v, "backend busy with another backend-source");
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
	struct verdict v = policy_check(c->srv->conf, q, msg, len, &who, (uint64_t)time(NULL), &ts);
	if (!v.forward && c->id != NULL && id == NULL && v.ede == DNS_EDE_PROHIBITED)
		v.reason = "acl, client certificate no longer verifies under client-ca";
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
		return v.forward ? over_cap(v, "out of memory") : v;
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

static int
upstream_open(struct relay *r, char *why, size_t len)
{
	struct inbound_conn *c = of(r);
	const struct netaddr *src = c->want_has_src ? &c->want_src : NULL;
	c->up_has_src = c->want_has_src;
	c->up_src = c->want_src;
	if (ep_tcp_connect(&c->up, r->loop, &c->srv->conf->inbound.backend, src, relay_on_event, r) < 0) {
		snprintf(why, len, "backend %s", c->up.err);
		return -1;
	}
	if (c->srv->conf->inbound.proxy_v2)
		proxy_header(c);
	return 0;
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
	const struct conf *conf = c->srv->conf;
	out->handshake = conf->inbound.handshake_timeout;
	out->idle = idle_limit(c, conf->inbound.idle_timeout);
	out->transfer = conf->inbound.transfer_timeout;
	out->upstream = conf->inbound.backend_timeout;
}

static void
closed(struct relay *r)
{
	struct inbound_conn *c = of(r);
	struct server *srv = c->srv;
	hs_unlink(c);
	fifo_remove(&srv->unadmitted, &c->fresh);   /* server_conn_gone updates accepting */
	fifo_remove(&srv->conns, &r->link);
	struct sockaddr_storage group = c->group;
	free(c->id);
	free(c->id_text);
	tls_peer_chain_free(&c->chain);
	free(c->pre);
	free(c);
	metrics_conn_closed(MX_INBOUND);
	server_conn_gone(srv, (const struct sockaddr *)&group);
}

static const struct relay_hooks inbound_hooks = {
	.direction = "inbound",
	.upstream_label = "backend",
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
	tls_session_keep_chain(c->cli.ssl, &c->chain);
	c->cert_gen = srv->conf_gen;        /* the handshake verifies under this client-ca */
	c->srv = srv;
	c->group = *group;
	c->active = ev_now(srv->loop);
	c->up.fd = -1;
	c->relay.cli = &c->cli.ep;
	c->relay.up = &c->up;

	fifo_push(&srv->conns, &c->relay.link);
	srv->n_conns++;
	hs_link(c);

	uint64_t id = ++srv->next_conn_id;
	relay_start(&c->relay, srv->loop, id, peer, peer_len, &inbound_hooks, c);   /* may free c */
	return 0;
}

static struct inbound_conn *
of_hs(struct fifo_node *n)
{
	return (struct inbound_conn *)((char *)n - offsetof(struct inbound_conn, hs));
}

/* The pending handshake to close at max-handshakes: the oldest of an
 * address holding max-handshakes-per-ip or more (a flooding host churns
 * its own), else the oldest of all. */
static struct inbound_conn *
handshake_to_evict(struct server *srv)
{
	unsigned share = srv->conf->inbound.max_handshakes_per_ip;
	for (struct fifo_node *n = fifo_oldest(&srv->handshakes); share != 0 && n != NULL; n = n->next)
		if (ipcount_get(&srv->hs_per_ip, (const struct sockaddr *)&of_hs(n)->group) >= share)
			return of_hs(n);
	struct fifo_node *oldest = fifo_oldest(&srv->handshakes);
	return oldest != NULL ? of_hs(oldest) : NULL;
}

void
inbound_evict_handshake(struct server *srv)
{
	struct inbound_conn *c = handshake_to_evict(srv);
	if (c == NULL)
		return;
	metrics_limit_hit(MX_LIM_MAX_HANDSHAKES);
	log_debug("conn %llu, remote %s, closed: oldest pending handshake, max-handshakes (%u) reached",
	          (unsigned long long)c->relay.id, c->relay.peer_text, srv->conf->inbound.max_handshakes);
	relay_kill(&c->relay, false, NULL);
}

bool
inbound_evict_unadmitted(struct server *srv)
{
	struct fifo_node *n = fifo_oldest(&srv->unadmitted);
	if (n == NULL)
		return false;
	struct inbound_conn *c = (struct inbound_conn *)((char *)n - offsetof(struct inbound_conn, fresh));
	log_debug("conn %llu, remote %s, closed: no query admitted, oldest such session at "
	          "max-clients (%u)", (unsigned long long)c->relay.id, c->relay.peer_text,
	          srv->conf->inbound.max_clients);
	relay_kill(&c->relay, true, NULL);
	return true;
}
