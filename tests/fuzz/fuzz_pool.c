/* fuzz_pool.c - libFuzzer target: the outbound pool (proxy/pool.c) driven
 * through its connector seam with in-memory connections, like fuzz_relay's
 * endpoints: no socket, no TLS, and the loop never runs. Up to FZ_HOLDERS
 * "relays" (holders) take sessions, drive their set-up, send queries, read
 * answers and give sessions back, as outbound.c does; every event is a
 * direct call: a watcher's callback after clearing the blocks the input
 * says became ready, or ev_invoke of a pool timer (stopped first, as libev
 * stops a one-shot timer before calling it). White-box: it includes pool.c
 * to reach the sessions' timers and check its lists after every step (the
 * pool.o of libxotd.a is then not linked).
 *
 * Input layout:
 *   s0 s1 s2         settings: s0 & 3: primaries - 1; (s0 >> 2) & 3:
 *                    max-sessions - 1; s0 & 0x10: idle-timeout 0 (nothing
 *                    kept idle); s1: the pools' primaries, 2 bits each (which
 *                    of 4 addresses), s2 the same for the pool after a reload
 *   u16 n, n octets  connection script: the k-th connection any pool opens
 *                    takes octet k % n (none: all good): bits 0-1 handshake
 *                    steps that say IO_AGAIN, 2 the handshake fails, 3 the
 *                    connect fails at once, 4 resumed (when a ticket was
 *                    kept), 5 a break is an alert, 6 the primary closes it
 *                    after its first answer (a stale idle session)
 *   rest             control ops, one octet each: op = c & 15, arg = c >> 4
 *     0 holder arg%8 takes a session (skip mask of its episode)
 *     1 its connection becomes ready (the watcher fires), then a set-up step
 *     2 its connect-timeout fires        3 it sends a query
 *     4 the primary answers (arg: octets) and the holder reads
 *     5 the primary closes the session; the holder reads
 *     6 it gives the session back: clean if nothing is owed, else aborted
 *     7 the first-octet deadline: pool_session_failed, episode retry, back
 *     8 an idle session (arg) gets data or a close from its primary
 *     9 an idle session's idle-timeout fires
 *    10 each pool's wake timer fires (if started)
 *    11 time passes: every backoff is over
 *    12 a reload that changes the group: the pool is retired into a new one
 *    13 a reload with the same settings (nothing happens to the pool)
 *    14 a holder gives back unclean whatever it holds (an aborted answer)
 *    15 everything ready: every holder's pending event, then a wake
 *
 * Invariants, checked after every step (and the callbacks as they come):
 *  (a) every session is in exactly one place: held by one holder (and, if
 *      waiting, in its pool's wait queue), or in one primary's idle list;
 *      an idle session is OPEN over an OPEN connection and held by no one;
 *  (b) a session's state matches its connection: waiting = CONNECTING with
 *      no connection; OPEN only over an OPEN connection; ep.lower is conn;
 *  (c) each primary's n_sessions is the number of its pool's connections
 *      that are open (opened, not released); each connection belongs to
 *      exactly one session; a connection is released once, through its
 *      own connector;
 *  (d) a session handed out from the idle list owes nothing: OPEN, no
 *      unread octet, its primary has not closed it;
 *  (e) waiters are served FIFO (a waiter leaves its queue only after
 *      everyone queued before it in the same pool, except one that is
 *      queued again at the back after a refused connect) and bounded
 *      (MAX_WAITING); a holder is never called back while its session is
 *      still queued; a wait ends with one callback (none is lost: (f));
 *  (f) no idle session sits at the primary the first waiter would take
 *      without a wake being scheduled (unless a backoff began or ended
 *      since the pool's last wake: that wakes nobody);
 *  (g) no session outlives its pool: a pool's connector is freed only when
 *      none of its connections is open and no holder holds one of its
 *      sessions; at the end every connector is freed, every connection
 *      released (and LeakSanitizer sees nothing).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/pool.c"             /* white-box: see above */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_HOLDERS 8
#define FZ_MAX_POOLS 16             /* pools one input may create (reloads) */
#define FZ_MAX_CONNS 512

#define FZ_NOCOV __attribute__((no_sanitize("coverage")))

#define FZ_CHECK(cond, ...)                                                   \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz_pool: invariant: " __VA_ARGS__); \
			fputc('\n', stderr);                                  \
			__builtin_trap();                                     \
		}                                                             \
	} while (0)

/* conn script bits */
#define CS_AGAIN   0x03
#define CS_HS_FAIL 0x04
#define CS_OPEN_FAIL 0x08
#define CS_RESUMED 0x10
#define CS_ALERT   0x20
#define CS_STALE   0x40

struct fz_connector;

/* One in-memory connection to a primary. */
struct fz_conn {
	struct endpoint ep;
	struct fz_connector *owner;
	size_t server;
	unsigned hs_again;
	bool hs_fail, resumed, alert, stale;
	size_t unread;                  /* answer octets waiting */
	bool eof;                       /* the primary closed it */
	unsigned answers;               /* answers it gave */
	unsigned owners;                /* sessions holding it (check_conns) */
};

struct fz_connector {
	struct connector c;
	bool freed;
	unsigned live[CONF_MAX_PRIMARIES];   /* open connections per server */
	bool ticket[CONF_MAX_PRIMARIES];
	struct pool *pool;
};

struct fz_holder {
	struct pool_session *s;
	struct pool_episode tries;
	bool sent;                      /* a query is owed an answer */
	bool broke;                     /* a read or write failed */
	bool waiting;                   /* its session was queued after the last step */
	unsigned wait_pos;              /* ... at this position of its pool's queue */
	struct pool *wait_pool;
	bool woken;                     /* the callback that ended its wait came */
};

static struct fz {
	const uint8_t *script;
	size_t script_len, n_opened;
	uint8_t s0, s1, s2;
	struct fz_holder h[FZ_HOLDERS];
	struct fz_connector *conns_of[FZ_MAX_POOLS];
	struct pool *pools[FZ_MAX_POOLS];    /* every pool made, for the checks */
	bool clock_moved[FZ_MAX_POOLS];
	size_t n_pools;
	struct pool *cur;
	struct fz_conn *conns[FZ_MAX_CONNS]; /* open connections */
	size_t n_conns;
	unsigned refused_in_step;
	double retry_at[FZ_MAX_POOLS][CONF_MAX_PRIMARIES];  /* before the step */
} H;

static struct ev_loop *loop;

/* ---- the in-memory connection -------------------------------------------- */

static struct fz_conn *
fz_conn_of(struct endpoint *ep)
{
	return (struct fz_conn *)(void *)((char *)ep - offsetof(struct fz_conn, ep));
}

static const struct fz_conn *
fz_conn_of_const(const struct endpoint *ep)
{
	return (const struct fz_conn *)(const void *)((const char *)ep - offsetof(struct fz_conn, ep));
}

static enum io_result
fc_handshake(struct endpoint *ep)
{
	struct fz_conn *c = fz_conn_of(ep);
	FZ_CHECK(ep->state == EP_CONNECTING || ep->state == EP_HANDSHAKING,
	         "set-up step of a connection in state %d", ep->state);
	FZ_CHECK(ep->hs_blk == 0, "set-up step of a connection that waits");
	if (ep->state == EP_CONNECTING)
		ep->state = EP_HANDSHAKING;     /* the TCP connect completed */
	if (c->hs_again > 0) {
		c->hs_again--;
		ep->hs_blk = EV_READ;
		return IO_AGAIN;
	}
	if (c->hs_fail) {
		snprintf(ep->err, sizeof(ep->err), "fuzz: certificate verification failed");
		return IO_ERR;
	}
	return IO_OK;
}

static enum io_result
fc_readv(struct endpoint *ep, const struct iovec *iov, int cnt, size_t *got)
{
	struct fz_conn *c = fz_conn_of(ep);
	FZ_CHECK(ep->state == EP_OPEN, "read on a connection in state %d", ep->state);
	FZ_CHECK(cnt >= 1 && iov[0].iov_len > 0, "read of nothing");
	if (c->unread == 0 && c->eof) {
		snprintf(ep->err, sizeof(ep->err), c->alert ? "fuzz: alert" : "peer closed");
		return c->alert ? IO_ERR : IO_EOF;
	}
	if (c->unread == 0) {
		ep->rd_blk = EV_READ;
		return IO_AGAIN;
	}
	size_t n = c->unread < iov[0].iov_len ? c->unread : iov[0].iov_len;
	memset(iov[0].iov_base, 0, n);
	c->unread -= n;
	*got = n;
	return IO_OK;
}

static enum io_result
fc_write(struct endpoint *ep, const uint8_t *buf, size_t len, size_t *put)
{
	struct fz_conn *c = fz_conn_of(ep);
	FZ_CHECK(ep->state == EP_OPEN, "write on a connection in state %d", ep->state);
	if (c->eof) {
		snprintf(ep->err, sizeof(ep->err), "send: broken pipe");
		return IO_EOF;
	}
	*put = len;
	return IO_OK;
}

static size_t
fc_pending(const struct endpoint *ep)
{
	return 0;
}

static void
fc_close(struct endpoint *ep, bool graceful)
{
	FZ_CHECK(ep->state == EP_CLOSING, "close op outside endpoint_close");
}

static const struct endpoint_ops fz_conn_ops = {
	.kind = "fuzz-primary", .handshake = fc_handshake, .readv = fc_readv, .write = fc_write,
	.pending = fc_pending, .close = fc_close,
};

/* ---- the connector ------------------------------------------------------- */

static struct fz_connector *
fz_connector_of(struct connector *c)
{
	return (struct fz_connector *)(void *)((char *)c - offsetof(struct fz_connector, c));
}

static struct endpoint *
fzc_open(struct connector *cn, size_t server, const struct netaddr *to, char *err, size_t len)
{
	struct fz_connector *fc = fz_connector_of(cn);
	FZ_CHECK(!fc->freed, "open through a freed connector");
	FZ_CHECK(server < CONF_MAX_PRIMARIES, "open to server %zu", server);
	uint8_t b = H.script_len > 0 ? H.script[H.n_opened % H.script_len] : 0;
	H.n_opened++;
	if ((b & CS_OPEN_FAIL) || H.n_conns == FZ_MAX_CONNS) {
		H.refused_in_step++;
		snprintf(err, len, "fuzz: connect refused");
		return NULL;
	}
	struct fz_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		abort();
	endpoint_init(&c->ep, &fz_conn_ops, NULL, -1, EP_CONNECTING, NULL, NULL);
	c->ep.hs_blk = EV_WRITE;        /* the connect is under way */
	c->owner = fc;
	c->server = server;
	c->hs_again = b & CS_AGAIN;
	c->hs_fail = b & CS_HS_FAIL;
	c->resumed = (b & CS_RESUMED) && fc->ticket[server];
	c->alert = b & CS_ALERT;
	c->stale = b & CS_STALE;
	fc->live[server]++;
	H.conns[H.n_conns++] = c;
	return &c->ep;
}

static void
fzc_keep_ticket(struct connector *cn, size_t server, struct endpoint *ep)
{
	struct fz_connector *fc = fz_connector_of(cn);
	struct fz_conn *c = fz_conn_of(ep);
	FZ_CHECK(c->owner == fc && c->server == server && ep->state == EP_OPEN,
	         "ticket of a connection that is not this server's or not open");
	fc->ticket[server] = true;
}

static bool
fzc_resumed(const struct endpoint *ep)
{
	return fz_conn_of_const(ep)->resumed;
}

static bool
fzc_peer_alert(const struct endpoint *ep)
{
	const struct fz_conn *c = fz_conn_of_const(ep);
	return c->alert && c->eof;
}

static void
fzc_release(struct endpoint *ep, bool graceful)
{
	struct fz_conn *c = fz_conn_of(ep);
	size_t i = 0;
	while (i < H.n_conns && H.conns[i] != c)
		i++;
	FZ_CHECK(i < H.n_conns, "release of a connection that is not open");
	FZ_CHECK(!c->owner->freed, "release after its connector was freed");
	H.conns[i] = H.conns[--H.n_conns];
	endpoint_close(ep, graceful);
	FZ_CHECK(ep->state == EP_CLOSED, "closed connection in state %d", ep->state);
	c->owner->live[c->server]--;
	free(c);
}

static FZ_NOCOV void
fzc_free(struct connector *cn)
{
	struct fz_connector *fc = fz_connector_of(cn);
	FZ_CHECK(!fc->freed, "connector freed twice");
	for (size_t i = 0; i < CONF_MAX_PRIMARIES; i++)
		FZ_CHECK(fc->live[i] == 0, "pool freed with %u connections open to primary %zu",
		         fc->live[i], i);
	for (size_t k = 0; k < FZ_HOLDERS; k++)
		FZ_CHECK(H.h[k].s == NULL || H.h[k].s->pool != fc->pool,
		         "pool freed while holder %zu holds one of its sessions", k);
	fc->freed = true;
	for (size_t k = 0; k < H.n_pools; k++)
		if (H.pools[k] == fc->pool)
			H.pools[k] = NULL;      /* gone: no more checks on it */
}

static const struct connector_ops fz_connector_ops = {
	.open = fzc_open, .keep_ticket = fzc_keep_ticket, .resumed = fzc_resumed,
	.peer_alert = fzc_peer_alert, .release = fzc_release, .free = fzc_free,
};

/* ---- pools --------------------------------------------------------------- */

static void
settings(uint8_t pick, struct pool_settings *st)
{
	memset(st, 0, sizeof(*st));
	st->n_primary = (H.s0 & 3) + 1;
	for (size_t i = 0; i < st->n_primary; i++) {
		char text[32];
		snprintf(text, sizeof(text), "127.0.0.%u:853", 1 + ((pick >> (2 * i)) & 3));
		if (netaddr_parse(text, 853, &st->primary[i]) != 0)
			abort();
	}
	st->connect_timeout = 5;
	st->idle_timeout = (H.s0 & 0x10) ? 0 : 30;
	st->max_sessions = ((H.s0 >> 2) & 3) + 1;
}

static struct pool *
make_pool(uint8_t pick)
{
	if (H.n_pools == FZ_MAX_POOLS)
		return NULL;
	struct fz_connector *fc = calloc(1, sizeof(*fc));
	if (fc == NULL)
		abort();
	fc->c.ops = &fz_connector_ops;
	struct pool_settings st;
	settings(pick, &st);
	struct pool *p = pool_new(loop, "outbound fuzz", &st, &fc->c);
	if (p == NULL)
		abort();
	fc->pool = p;
	H.conns_of[H.n_pools] = fc;
	H.pools[H.n_pools++] = p;
	return p;
}

/* ---- invariants ---------------------------------------------------------- */

static FZ_NOCOV int
holder_of(const struct pool_session *s)
{
	int found = -1;
	for (int k = 0; k < FZ_HOLDERS; k++) {
		if (H.h[k].s == s) {
			FZ_CHECK(found < 0, "a session held by holders %d and %d", found, k);
			found = k;
		}
	}
	return found;
}

static FZ_NOCOV void
check_session_state(const struct pool_session *s)
{
	FZ_CHECK(s->ep.lower == s->conn, "session layered over another endpoint than its conn");
	if (s->waiting)
		FZ_CHECK(s->conn == NULL && s->ep.state == EP_CONNECTING && s->ep.hs_blk != 0,
		         "a waiting session with a connection or not CONNECTING");
	if (s->ep.state == EP_OPEN)
		FZ_CHECK(s->conn != NULL && s->conn->state == EP_OPEN,
		         "an OPEN session over no open connection");
	if (s->conn != NULL) {
		struct fz_conn *c = fz_conn_of(s->conn);
		FZ_CHECK(c->owner->pool == s->pool && c->server == s->idx,
		         "a session's connection is another pool's or primary's");
	}
}

/* (a), (b), (c), (e) bound, (f) */
static FZ_NOCOV void
check_pool(size_t pk)
{
	struct pool *p = H.pools[pk];
	struct fz_connector *fc = H.conns_of[pk];
	FZ_CHECK(p->waiting.n <= MAX_WAITING, "%u waiting", p->waiting.n);
	unsigned n = 0;
	for (struct fifo_node *x = p->waiting.head; x != NULL; x = x->next, n++) {
		struct pool_session *s = session_of_link(x);
		FZ_CHECK(s->waiting && !s->idle && s->pool == p, "a queued session not waiting here");
		FZ_CHECK(holder_of(s) >= 0, "a queued session no holder holds");
		check_session_state(s);
	}
	FZ_CHECK(n == p->waiting.n, "wait queue counts %u, holds %u", p->waiting.n, n);
	for (size_t i = 0; i < p->n_primaries; i++) {
		struct primary *pr = &p->primaries[i];
		unsigned m = 0;
		for (struct fifo_node *x = pr->idle.head; x != NULL; x = x->next, m++) {
			struct pool_session *s = session_of_link(x);
			FZ_CHECK(s->idle && !s->waiting && s->idx == i && s->pool == p,
			         "an idle session in the wrong list");
			FZ_CHECK(holder_of(s) < 0, "an idle session is held");
			FZ_CHECK(s->ep.state == EP_OPEN, "an idle session not OPEN");
			check_session_state(s);
		}
		FZ_CHECK(m == pr->idle.n, "idle list counts %u, holds %u", pr->idle.n, m);
		FZ_CHECK(pr->n_sessions == fc->live[i], "primary %zu counts %u sessions, %u open", i,
		         pr->n_sessions, fc->live[i]);
	}
	if (p->waiting.n > 0 && !H.clock_moved[pk]) {
		struct pool_session *w = session_of_link(p->waiting.head);
		long i = pick_primary(p, 0, w->skip);
		FZ_CHECK(i < 0 || p->primaries[i].idle.n == 0 || ev_is_active(&p->wake),
		         "a waiter is queued beside an idle session with no wake scheduled");
	}
}

/* Each open connection belongs to exactly one session (held or idle). */
static FZ_NOCOV void
check_conns(void)
{
	for (size_t j = 0; j < H.n_conns; j++)
		H.conns[j]->owners = 0;
	for (int k = 0; k < FZ_HOLDERS; k++)
		if (H.h[k].s != NULL && H.h[k].s->conn != NULL)
			fz_conn_of(H.h[k].s->conn)->owners++;
	for (size_t pk = 0; pk < H.n_pools; pk++) {
		struct pool *p = H.pools[pk];
		for (size_t i = 0; p != NULL && i < p->n_primaries; i++)
			for (struct fifo_node *x = p->primaries[i].idle.head; x != NULL; x = x->next)
				fz_conn_of(session_of_link(x)->conn)->owners++;
	}
	for (size_t j = 0; j < H.n_conns; j++)
		FZ_CHECK(H.conns[j]->owners == 1, "an open connection belongs to %u sessions",
		         H.conns[j]->owners);
}

static FZ_NOCOV void
check_all(void)
{
	for (size_t pk = 0; pk < H.n_pools; pk++)
		if (H.pools[pk] != NULL)
			check_pool(pk);
	for (int k = 0; k < FZ_HOLDERS; k++) {
		struct fz_holder *h = &H.h[k];
		if (h->s == NULL)
			continue;
		check_session_state(h->s);
		FZ_CHECK(!h->s->idle, "holder %d holds an idle session", k);
		FZ_CHECK(!h->s->waiting || h->s->link.linked, "a waiting session not queued");
	}
	check_conns();
}

/* A backoff that began or ended wakes nobody: (f) holds again only after
 * the pool's next wake. */
static FZ_NOCOV void
note_backoff(bool after)
{
	for (size_t pk = 0; pk < H.n_pools; pk++) {
		struct pool *p = H.pools[pk];
		for (size_t i = 0; p != NULL && i < p->n_primaries; i++) {
			if (after && H.retry_at[pk][i] != p->primaries[i].retry_at)
				H.clock_moved[pk] = true;
			H.retry_at[pk][i] = p->primaries[i].retry_at;
		}
	}
}

/* Remembers where each waiter stands, for (e). */
static FZ_NOCOV void
note_waiters(void)
{
	H.refused_in_step = 0;
	for (int k = 0; k < FZ_HOLDERS; k++) {
		struct fz_holder *h = &H.h[k];
		h->waiting = h->s != NULL && h->s->waiting;
		if (!h->waiting)
			continue;
		unsigned pos = 0;
		for (struct fifo_node *x = h->s->pool->waiting.head; x != &h->s->link; x = x->next)
			pos++;
		h->wait_pos = pos;
		h->wait_pool = h->s->pool;
		h->woken = false;
	}
}

/* (d): what pool_take or a wake hands out from the idle list. */
static FZ_NOCOV void
check_handed_out(const struct pool_session *s)
{
	if (!s->reused)
		return;
	const struct fz_conn *c = fz_conn_of_const(s->conn);
	FZ_CHECK(s->ep.state == EP_OPEN && c->ep.state == EP_OPEN && c->unread == 0 && !c->eof,
	         "a reused session owes something (unread %zu, closed %d)", c->unread, c->eof);
}

/* ---- the holders (what relay.c and outbound.c do) ------------------------ */

static FZ_NOCOV void
holder_event(void *owner)
{
	struct fz_holder *h = owner;
	FZ_CHECK(h->s != NULL, "a callback to a holder that holds nothing");
	FZ_CHECK(!h->s->waiting, "a callback while the session is still queued");
	if (!h->waiting || h->woken)
		return;
	h->woken = true;
	/* a waiter whose failover met a full primary after a refused connect
	 * is queued again at the back: strict order only when none was refused */
	for (int k = 0; k < FZ_HOLDERS && H.refused_in_step == 0; k++) {
		struct fz_holder *g = &H.h[k];
		FZ_CHECK(g == h || !g->waiting || g->wait_pool != h->wait_pool ||
		         g->wait_pos > h->wait_pos || g->s == NULL || !g->s->waiting,
		         "waiter %d served before waiter %d queued ahead of it", (int)(h - H.h), k);
	}
	if (endpoint_established(&h->s->ep))
		check_handed_out(h->s);
}

static void
holder_release(struct fz_holder *h, bool clean)
{
	if (h->s == NULL)
		return;
	struct pool_session *s = h->s;
	if (pool_session_answered(s))
		pool_episode_answered(&h->tries);
	h->s = NULL;                        /* before: the pool may go with it */
	h->sent = h->broke = h->waiting = false;
	pool_put(s, clean);
}

static void
holder_take(struct fz_holder *h)
{
	if (h->s != NULL || H.cur == NULL)
		return;
	char why[256];
	uint32_t skip = pool_episode_open(&h->tries, H.cur);
	h->s = pool_take_skip(H.cur, skip, holder_event, h, why, sizeof(why));
	if (h->s != NULL && endpoint_established(&h->s->ep))
		check_handed_out(h->s);
}

/* outbound.c's upstream_retry, then the release. */
static void
holder_failed(struct fz_holder *h, enum reason code, const char *why)
{
	if (h->s == NULL)
		return;
	if (pool_session_retryable(h->s)) {
		size_t idx;
		bool at_fault = pool_session_failed(h->s, code, why, &idx);
		if (H.cur != NULL)
			(void)pool_episode_retry(&h->tries, H.cur,
			                         at_fault ? pool_session_primary(h->s) : NULL);
	}
	holder_release(h, false);
}

/* The relay's set-up step (up_handshake). */
static void
holder_step(struct fz_holder *h)
{
	struct pool_session *s = h->s;
	if (s == NULL || endpoint_established(&s->ep) || s->ep.hs_blk)
		return;
	enum io_result r = endpoint_handshake(&s->ep);
	if (r == IO_OK)
		FZ_CHECK(s->conn != NULL && s->conn->state == EP_OPEN, "OPEN over no open connection");
	else if (r != IO_AGAIN)
		holder_failed(h, s->ep.err_code, s->ep.err);
}

/* The watcher of the holder's session fires: what it waited for is ready. */
static void
holder_ready(struct fz_holder *h)
{
	struct pool_session *s = h->s;
	if (s == NULL || s->waiting)
		return;
	s->ep.hs_blk = s->ep.rd_blk = s->ep.wr_blk = 0;
	holder_step(h);
}

static void
holder_send(struct fz_holder *h)
{
	struct pool_session *s = h->s;
	if (s == NULL || !endpoint_established(&s->ep) || h->broke || h->sent)
		return;
	static const uint8_t query[32];
	size_t put = 0;
	s->ep.wr_blk = 0;
	enum io_result r = s->ep.ops->write(&s->ep, query, sizeof(query), &put);
	if (r == IO_OK)
		h->sent = true;
	else if (r != IO_AGAIN)
		h->broke = true;
}

/* Reads until blocked, as the relay's up_read does. */
static void
holder_read(struct fz_holder *h)
{
	struct pool_session *s = h->s;
	if (s == NULL || !endpoint_established(&s->ep) || h->broke)
		return;
	uint8_t buf[1024];
	for (;;) {
		struct iovec iov = { buf, sizeof(buf) };
		size_t got = 0;
		s->ep.rd_blk = 0;
		enum io_result r = s->ep.ops->readv(&s->ep, &iov, 1, &got);
		if (r == IO_AGAIN)
			return;
		if (r != IO_OK) {
			h->broke = true;
			return;
		}
		h->sent = false;            /* the answer began */
	}
}

static void
holder_answer(struct fz_holder *h, unsigned arg)
{
	if (h->s == NULL || h->s->conn == NULL || !h->sent)
		return;
	struct fz_conn *c = fz_conn_of(h->s->conn);
	c->unread += 1 + arg * 37;
	if (c->stale && c->answers++ > 0)
		c->eof = true;
	holder_read(h);
}

static void
holder_closed_by_primary(struct fz_holder *h)
{
	if (h->s == NULL || h->s->conn == NULL)
		return;
	fz_conn_of(h->s->conn)->eof = true;
	holder_read(h);
}

/* Given back: clean when nothing is owed and nothing broke (the relay's
 * relay_upstream_reusable), else aborted. */
static void
holder_give_back(struct fz_holder *h)
{
	if (h->s == NULL)
		return;
	const struct pool_session *s = h->s;
	bool clean = endpoint_established(&s->ep) && !h->broke && !h->sent &&
	             fz_conn_of(s->conn)->unread == 0;
	holder_release(h, clean);
}

static void
holder_timer(struct fz_holder *h)
{
	struct pool_session *s = h->s;
	if (s == NULL || !ev_is_active(&s->timer))
		return;
	ev_timer_stop(loop, &s->timer);
	ev_invoke(loop, &s->timer, EV_TIMER);
	holder_step(h);
}

/* ---- idle sessions and pool timers --------------------------------------- */

static struct pool_session *
idle_pick(unsigned arg)
{
	unsigned n = 0;
	for (size_t pk = 0; pk < H.n_pools; pk++) {
		struct pool *p = H.pools[pk];
		if (p == NULL)
			continue;
		for (size_t i = 0; i < p->n_primaries; i++)
			for (struct fifo_node *x = p->primaries[i].idle.head; x != NULL; x = x->next)
				if (n++ == arg)
					return session_of_link(x);
	}
	return NULL;
}

static void
idle_poke(unsigned arg)
{
	struct pool_session *s = idle_pick(arg >> 1);
	if (s == NULL)
		return;
	struct fz_conn *c = fz_conn_of(s->conn);
	if (arg & 1)
		c->eof = true;
	else
		c->unread++;
	s->ep.rd_blk = 0;
	s->ep.on_event(s->ep.owner);    /* endpoint_cb: may free s */
}

static void
idle_expire(unsigned arg)
{
	struct pool_session *s = idle_pick(arg);
	if (s == NULL)
		return;
	ev_timer_stop(loop, &s->timer);
	ev_invoke(loop, &s->timer, EV_TIMER);
}

static void
wake_all(void)
{
	for (size_t pk = 0; pk < H.n_pools; pk++) {
		struct pool *p = H.pools[pk];
		if (p == NULL || !ev_is_active(&p->wake))
			continue;
		H.clock_moved[pk] = false;
		ev_timer_stop(loop, &p->wake);
		ev_invoke(loop, &p->wake, EV_TIMER);
	}
}

static void
time_passes(void)
{
	for (size_t pk = 0; pk < H.n_pools; pk++) {
		struct pool *p = H.pools[pk];
		if (p == NULL)
			continue;
		for (size_t i = 0; i < p->n_primaries; i++)
			p->primaries[i].retry_at = 0;
		H.clock_moved[pk] = true;
	}
}

static void
reload(void)
{
	if (H.cur == NULL)
		return;
	struct pool *next = make_pool(H.n_pools & 1 ? H.s1 : H.s2);
	if (next == NULL)
		return;
	struct pool *old = H.cur;
	H.cur = next;
	pool_retire(old, next);
}

/* ---- driving ------------------------------------------------------------- */

static void
step(uint8_t c)
{
	unsigned arg = c >> 4;
	struct fz_holder *h = &H.h[arg % FZ_HOLDERS];
	switch (c & 15) {
	case 0: holder_take(h); break;
	case 1: holder_ready(h); break;
	case 2: holder_timer(h); break;
	case 3: holder_send(h); break;
	case 4: holder_answer(h, arg); break;
	case 5: holder_closed_by_primary(h); break;
	case 6: holder_give_back(h); break;
	case 7: holder_failed(h, RSN_UP_TIMEOUT, "no answer within backend-timeout"); break;
	case 8: idle_poke(arg); break;
	case 9: idle_expire(arg); break;
	case 10: wake_all(); break;
	case 11: time_passes(); break;
	case 12: reload(); break;
	case 13: break;                 /* same settings: the pool is kept as it is */
	case 14: holder_release(h, false); break;
	default:
		for (int k = 0; k < FZ_HOLDERS; k++)
			holder_ready(&H.h[k]);
		wake_all();
		break;
	}
}

static void
init_once(void)
{
	if (loop != NULL)
		return;
	loop = ev_loop_new(EVFLAG_AUTO);
	bool trace = getenv("FUZZ_POOL_TRACE") != NULL;
	int fd = trace ? dup(STDERR_FILENO) : open("/dev/null", O_WRONLY);
	if (loop == NULL || fd < 0 || log_sink_start_fd(loop, fd) < 0)
		abort();
	log_threshold = trace ? XP_LOG_DEBUG : XP_LOG_WARNING;
}

/* The end: every holder lets go, the group stops; nothing may be left. */
static FZ_NOCOV void
finish(void)
{
	for (int k = 0; k < FZ_HOLDERS; k++)
		holder_release(&H.h[k], false);
	check_all();
	if (H.cur != NULL)
		pool_retire(H.cur, NULL);
	H.cur = NULL;
	for (size_t pk = 0; pk < H.n_pools; pk++) {
		struct fz_connector *fc = H.conns_of[pk];
		FZ_CHECK(fc->freed, "pool %zu outlived the end (its group stopped, nothing held)", pk);
		free(fc);
	}
	FZ_CHECK(H.n_conns == 0, "%zu connections open at the end", H.n_conns);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	init_once();
	memset(&H, 0, sizeof(H));
	H.s0 = data[0];
	H.s1 = data[1];
	H.s2 = data[2];
	size_t n = (size_t)data[3] << 8 | data[4];
	data += 5;
	size -= 5;
	if (n > size)
		n = size;
	H.script = data;
	H.script_len = n;
	data += n;
	size -= n;
	H.cur = make_pool(H.s1);
	check_all();
	for (size_t i = 0; i < size; i++) {
		note_waiters();
		note_backoff(false);
		step(data[i]);
		note_backoff(true);
		check_all();
	}
	finish();
	return 0;
}
