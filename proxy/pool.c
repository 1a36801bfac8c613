/* pool.c - TLS sessions toward the remote primaries of one outbound group:
 * failover in the handshake step, backoff, tickets and idle reuse.
 *
 * A session is a layer (session_ops) over the connection its pool's
 * connector opened (s->conn, its lower endpoint): the relay drives the
 * session, the session drives the connection. A session is in one place:
 *   waiting  in p->waiting, no connection, CONNECTING (hs_blk set: the relay
 *            waits) until wake_waiters gives it a slot or an idle connection;
 *   taken    held by a relay: CONNECTING/HANDSHAKING (its connection's
 *            state, through failover) or OPEN;
 *   idle     in its primary's idle list, OPEN, read by the pool (idle_poll).
 * A waiter given an idle session takes over its connection (adopt_idle):
 * a pointer moves, no TLS state. */
#include "proxy/lib/container.h"
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/lib/log.h"
#include "metrics.h"
#include "tls/tls_client.h"

#define BACKOFF_MIN 1.0
#define BACKOFF_MAX 60.0
#define MAX_WAITING 256             /* queries queued for a session slot, per group */

struct pool_session {
	struct endpoint ep;              /* what the relay drives: a layer over conn */
	struct endpoint *conn;           /* the connection to primary idx (the connector's), or NULL */
	struct pool *pool;
	size_t idx;                      /* the primary it is connected to */
	ev_timer timer;                  /* connect attempt, or idle, deadline */
	struct fifo_node link;           /* in p->waiting, or in its primary's idle list */
	bool idle;                       /* in its primary's idle list */
	bool expired;                    /* the connect attempt ran out of time */
	bool waiting;                    /* queued for a slot under max-sessions (p->waiting) */
	bool failed;                     /* woken without a session: no primary reachable */
	bool reused;                     /* taken from the idle list (not a new connection) */
	bool answered;                   /* an answer octet came since it was taken */
	bool broke;                      /* a read or write saw a close or an error */
	bool alerted;                    /* ... and that was a TLS alert from the primary */
	bool reported;                   /* its primary's failure is counted already */
	uint32_t skip;                   /* primaries not to try (bit i: primary i) */
	double ready_at;                 /* established for its current holder at */
};

static void pool_unref(struct pool *p);
static void drop_pred(struct pool *p);
static const struct endpoint_ops session_ops;

static struct pool_session *
session_of(struct endpoint *ep)
{
	return container_of(ep, struct pool_session, ep);
}

static struct pool_session *
session_of_link(struct fifo_node *n)
{
	return container_of(n, struct pool_session, link);
}

struct endpoint *
pool_session_endpoint(struct pool_session *s)
{
	return &s->ep;
}

unsigned
pool_open_sessions(const struct pool *p)
{
	unsigned n = 0;
	for (size_t i = 0; i < p->n_primaries; i++)
		n += p->primaries[i].n_sessions;
	return n;
}

/* ---- primaries' health ------------------------------------------------- */

/* A connect, handshake or verification failure, or (after the handshake)
 * a failure before the first answer: back off 1, 2, 4 ... 60 s. Logged
 * once per backoff step: sessions that were already trying when the
 * primary failed add nothing. Only a failure in the handshake counts as a
 * TLS handshake failure in the metrics. */
static void
primary_failed(struct pool *p, struct primary *pr, enum reason code, const char *why,
               bool in_handshake)
{
	metrics_upstream_failed(MX_OUTBOUND, code);
	if (reason_family(code) == RF_HANDSHAKE && in_handshake)
		metrics_handshake_failed(MX_OUTBOUND, code);
	double now = ev_now(p->loop);
	if (now < pr->retry_at)
		return;
	pr->backoff = pr->backoff == 0 ? BACKOFF_MIN : pr->backoff * 2;
	if (pr->backoff > BACKOFF_MAX)
		pr->backoff = BACKOFF_MAX;
	pr->retry_at = now + pr->backoff;
	log_event(XP_LOG_WARNING, "primary_failed", (struct log_field[]){
			LF_S("direction", "outbound"), LF_S("group", p->label), LF_S("primary", pr->text),
			LF_S("reason", why), LF_U("retry_in", (uint64_t)pr->backoff) }, 5,
	          "%s, primary %s, %s; not tried again for %.0f s", p->label, pr->text, why,
	          pr->backoff);
}

static void
primary_ok(struct primary *pr)
{
	pr->backoff = 0;
	pr->retry_at = 0;
}

/* The first primary at or after `from` that is not backing off and not in
 * skip, or -1. */
static long
pick_primary(const struct pool *p, size_t from, uint32_t skip)
{
	double now = ev_now(p->loop);
	for (size_t i = from; i < p->n_primaries; i++)
		if (p->primaries[i].retry_at <= now && !(skip & (1u << i)))
			return (long)i;
	return -1;
}

bool
pool_can_try(const struct pool *p, uint32_t skip)
{
	return pick_primary(p, 0, skip) >= 0;
}

/* Sessions open toward addr in the retired pools this one replaced. */
static unsigned
pred_sessions(const struct pool *p, const struct netaddr *addr)
{
	unsigned n = 0;
	for (const struct pool *q = p->pred; q != NULL; q = q->pred)
		for (size_t i = 0; i < q->n_primaries; i++)
			if (memcmp(&q->primaries[i].addr, addr, sizeof(*addr)) == 0)
				n += q->primaries[i].n_sessions;
	return n;
}

/* No slot for a new connection to primary i (max-sessions, counting the
 * sessions still open to it from before a reload). */
static bool
primary_full(const struct pool *p, size_t i)
{
	const struct primary *pr = &p->primaries[i];
	return pr->n_sessions + pred_sessions(p, &pr->addr) >= p->max_sessions;
}

/* A primary's backoff also holds in the pools that replaced this one
 * (a reload that changed the group must not retry it at once). */
static void
carry_backoff(const struct primary *from, struct pool *to)
{
	for (; to != NULL; to = to->succ) {
		for (size_t i = 0; i < to->n_primaries; i++) {
			struct primary *pr = &to->primaries[i];
			if (memcmp(&pr->addr, &from->addr, sizeof(pr->addr)) == 0 &&
			    pr->retry_at < from->retry_at) {
				pr->backoff = from->backoff;
				pr->retry_at = from->retry_at;
			}
		}
	}
}

/* The session's primary failed: counted and backed off once per session. */
static void
session_blame(struct pool_session *s, enum reason code, const char *why)
{
	if (s->reported)
		return;
	s->reported = true;
	/* an alert after our side of the handshake (the primary refused our
	 * certificate) ends the handshake from the primary's side */
	bool handshake = !endpoint_established(&s->ep) || s->alerted;
	primary_failed(s->pool, &s->pool->primaries[s->idx], code, why, handshake);
	carry_backoff(&s->pool->primaries[s->idx], s->pool->succ);
}

/* ---- one session -------------------------------------------------------- */

static void wake_later(struct pool *p);

/* Takes s out of the list it is in, if any. */
static void
session_unlink(struct pool_session *s)
{
	if (s->waiting)
		fifo_remove(&s->pool->waiting, &s->link);
	else if (s->idle)
		fifo_remove(&s->pool->primaries[s->idx].idle, &s->link);
	s->waiting = s->idle = false;
}

/* Lets go of s's connection: closed (close_notify when graceful and OPEN),
 * its slot no longer counted. */
static void
conn_drop(struct pool_session *s, bool graceful)
{
	struct pool *p = s->pool;
	endpoint_unwatch(&s->ep);               /* before its descriptor closes */
	p->connector->ops->release(s->conn, graceful);
	s->conn = s->ep.lower = NULL;
	p->primaries[s->idx].n_sessions--;
}

/* A session of retired pool p closed: the pools after it, which count its
 * sessions toward max-sessions, may have a slot; and retired pools with
 * nothing open at the old end of the chain are let go, oldest first (p
 * itself is not freed here: the closing session still holds it). */
static void
pred_session_closed(struct pool *p)
{
	for (struct pool *q = p->succ; q != NULL; q = q->succ)
		wake_later(q);
	struct pool *cur = p;
	while (cur->succ != NULL && cur->pred == NULL && pool_open_sessions(cur) == 0) {
		struct pool *next = cur->succ;
		drop_pred(next);                    /* cur may be freed (never p) */
		if (!next->retired)
			break;
		cur = next;                         /* alive: its successor holds it */
	}
}

/* The session ends (endpoint_close runs session_close: its connection
 * goes, with close_notify when OPEN). */
static void
session_free(struct pool_session *s)
{
	struct pool *p = s->pool;
	ev_timer_stop(p->loop, &s->timer);
	session_unlink(s);
	bool had_conn = s->conn != NULL;
	endpoint_close(&s->ep, true);
	if (had_conn) {
		wake_later(p);                      /* a slot is free */
		if (p->succ != NULL)
			pred_session_closed(p);
	}
	free(s);
	pool_unref(p);
}

/* Keeps the newest ticket of a primary for the next connection. */
static void
save_ticket(struct pool_session *s)
{
	if (endpoint_established(&s->ep))
		s->pool->connector->ops->keep_ticket(s->pool->connector, s->idx, s->conn);
}

static void
session_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pool_session *s = w->data;
	if (s->idle) {                          /* idle for idle-timeout: close_notify */
		log_debug("%s, primary %s, idle session closed", s->pool->label,
		          s->pool->primaries[s->idx].text);
		session_free(s);
		return;
	}
	s->expired = true;                      /* the relay's next step fails over */
	s->ep.hs_blk = 0;
	s->ep.on_event(s->ep.owner);
}

/* Connects to primary idx. Returns 0, or -1 with the reason in ep.err. */
static int
session_connect(struct pool_session *s, size_t idx)
{
	struct pool *p = s->pool;
	struct primary *pr = &p->primaries[idx];
	s->idx = idx;
	s->expired = false;
	s->reused = s->answered = s->broke = s->alerted = s->reported = false;
	s->ready_at = 0;
	s->conn = p->connector->ops->open(p->connector, idx, &pr->addr, s->ep.err, sizeof(s->ep.err));
	if (s->conn == NULL) {
		s->ep.err_code = RSN_UP_CONNECT;
		return -1;
	}
	s->ep.lower = s->conn;
	s->ep.state = s->conn->state;
	s->ep.hs_blk = s->conn->hs_blk;
	pr->n_sessions++;
	ev_timer_stop(p->loop, &s->timer);
	ev_timer_set(&s->timer, p->connect_timeout, 0);
	ev_timer_start(p->loop, &s->timer);
	return 0;
}

static void adopt_idle(struct pool_session *w, struct primary *pr, size_t i);
static struct pool_session *enqueue(struct pool_session *s);

/* Connects to the first usable primary from index `from` on, marking
 * those that fail at once. A primary with an idle session lends it (s is
 * established then); one at max-sessions makes s wait for a slot there
 * (s->waiting), as pool_take does: a failover never opens a session
 * beyond the cap nor beside an idle one. Returns 0, or -1 with the reason
 * in ep.err. */
static int
connect_from(struct pool_session *s, size_t from, enum reason code, const char *why)
{
	struct pool *p = s->pool;
	enum reason last_code = code;
	char last[ENDPOINT_ERR_MAX];
	snprintf(last, sizeof(last), "%s", why);
	for (long i = pick_primary(p, from, s->skip); i >= 0; i = pick_primary(p, (size_t)i + 1, s->skip)) {
		struct primary *pr = &p->primaries[i];
		if (pr->idle.n > 0) {
			adopt_idle(s, pr, (size_t)i);
			return 0;
		}
		if (primary_full(p, (size_t)i)) {
			enqueue(s);
			return 0;
		}
		if (session_connect(s, (size_t)i) == 0)
			return 0;
		snprintf(last, sizeof(last), "%s", s->ep.err);
		last_code = s->ep.err_code;
		primary_failed(p, &p->primaries[i], last_code, last, true);
	}
	/* the details went to the primary's warning line; the query's own line
	 * says only what kind of failure it was */
	const char *kind = last_code == RSN_HS_CERTIFICATE ? "the primary failed authentication" : last;
	snprintf(s->ep.err, sizeof(s->ep.err), "unreachable (last: %.200s)", kind);
	return -1;
}

/* The failover: one step of the current attempt; when it fails (connect,
 * handshake, verification, or connect-timeout), the next primary in order
 * that is not backing off. Nothing has been relayed yet, so this is safe. */
static enum io_result
session_handshake(struct endpoint *ep)
{
	struct pool_session *s = session_of(ep);
	struct pool *p = s->pool;
	if (s->waiting)
		return IO_AGAIN;                    /* woken by wake_waiters */
	if (s->failed) {
		snprintf(ep->err, sizeof(ep->err), "no primary reachable (all backing off)");
		return IO_ERR;
	}
	for (;;) {
		enum io_result r;
		if (s->expired) {
			snprintf(ep->err, sizeof(ep->err), "no TLS session within connect-timeout (%u s)",
			         p->connect_timeout);
			ep->err_code = RSN_UP_TIMEOUT;
			r = IO_ERR;
		} else {                            /* the connection's wait and state are ours */
			r = endpoint_lower_handshake(ep);
			ep->state = s->conn->state;
		}
		if (r == IO_AGAIN)
			return r;
		struct primary *pr = &p->primaries[s->idx];
		if (r == IO_OK) {
			/* not primary_ok yet: in TLS 1.3 the primary judges our client
			 * certificate after this; it is good at its first answer octet */
			ev_timer_stop(p->loop, &s->timer);
			s->ready_at = ev_now(p->loop);
			bool resumed = p->connector->ops->resumed(s->conn);
			metrics_handshake_ok(MX_OUTBOUND, resumed);
			if (resumed)
				p->resumed_handshakes++;
			else
				p->full_handshakes++;
			log_debug("%s, primary %s, TLS established%s", p->label, pr->text,
			          resumed ? ", resumed" : ", full handshake");
			return IO_OK;
		}
		char why[ENDPOINT_ERR_MAX];
		snprintf(why, sizeof(why), "%s", ep->err);
		enum reason code = ep->err_code;
		session_blame(s, code, why);
		conn_drop(s, false);
		ev_timer_stop(p->loop, &s->timer);
		if (connect_from(s, s->idx + 1, code, why) < 0)
			return IO_ERR;
		if (s->waiting)
			return IO_AGAIN;                /* woken by wake_waiters */
		if (endpoint_established(ep)) {     /* an idle session of the next primary */
			log_debug("%s, primary %s, idle session taken over", p->label,
			          p->primaries[s->idx].text);
			return IO_OK;
		}
	}
}

/* A read or write on a session in use ended in a close or an error. On a
 * new session before its first answer octet that is the primary's fault
 * (with mutual TLS a primary refuses our certificate this way, after our
 * side of the handshake: the alert is in ep->err, in words). */
static void
session_broke(struct pool_session *s, enum reason code, const char *why)
{
	s->broke = true;
	s->alerted = s->pool->connector->ops->peer_alert(s->conn);
	if (!s->answered && !s->reused)
		session_blame(s, code, why);
}

/* Octets from the primary: not yet proof that it is good (garbage is
 * octets too; the relay judges the frames and reports a broken one through
 * pool_session_failed). The primary is good once a session that answered
 * is given back without a failure (pool_put). */
static enum io_result
session_readv(struct endpoint *ep, const struct iovec *iov, int cnt, size_t *got)
{
	struct pool_session *s = session_of(ep);
	enum io_result r = endpoint_lower_readv(ep, iov, cnt, got);
	if (r == IO_OK) {
		s->answered = true;
	} else if (r == IO_EOF || r == IO_ERR) {
		session_broke(s, r == IO_EOF ? RSN_UP_CLOSED : ep->err_code,
		              r == IO_EOF ? "closed the session before answering" : ep->err);
	}
	return r;
}

static enum io_result
session_write(struct endpoint *ep, const uint8_t *buf, size_t len, size_t *put)
{
	struct pool_session *s = session_of(ep);
	enum io_result r = endpoint_lower_write(ep, buf, len, put);
	if (r == IO_EOF || r == IO_ERR)
		session_broke(s, r == IO_EOF ? RSN_UP_CLOSED : ep->err_code,
		              r == IO_EOF ? "closed the session before answering" : ep->err);
	return r;
}

bool
pool_session_failed(struct pool_session *s, enum reason code, const char *why, size_t *idx)
{
	*idx = s->idx;
	if (s->waiting || s->failed || (s->reused && s->broke && !s->answered))
		return false;
	session_blame(s, code, why);
	return true;
}

const struct netaddr *
pool_session_primary(const struct pool_session *s)
{
	return &s->pool->primaries[s->idx].addr;
}

bool
pool_session_retryable(const struct pool_session *s)
{
	return !s->waiting && !s->failed && endpoint_established(&s->ep);
}

double
pool_session_ready_at(const struct pool_session *s)
{
	return endpoint_established(&s->ep) ? s->ready_at : 0;
}

bool
pool_session_answered(const struct pool_session *s)
{
	return s->answered && !s->reported;
}

static size_t
session_pending(const struct endpoint *ep)
{
	return ep->lower != NULL ? ep->lower->ops->pending(ep->lower) : 0;
}

/* The relay never closes an upstream itself (it puts it back); a close
 * here is the pool's own (session_free). */
static void
session_close(struct endpoint *ep, bool graceful)
{
	struct pool_session *s = session_of(ep);
	if (s->conn != NULL)
		conn_drop(s, graceful);
}

static const struct endpoint_ops session_ops = {
	.kind = "tls-client",
	.handshake = session_handshake,
	.readv = session_readv,
	.write = session_write,
	.pending = session_pending,
	.close = session_close,
};

/* ---- idle sessions -------------------------------------------------------- */

/* Anything from an idle session's primary (close_notify, a reset, stray
 * data) ends it; session tickets are absorbed by wolfSSL. Returns false
 * when the session was freed. */
static bool
idle_poll(struct pool_session *s)
{
	uint8_t buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	size_t got;
	enum io_result r = endpoint_lower_readv(&s->ep, &iov, 1, &got);
	if (r == IO_AGAIN) {
		endpoint_watch(&s->ep, true, false);
		return true;
	}
	log_debug("%s, primary %s, idle session ended (%s)", s->pool->label,
	          s->pool->primaries[s->idx].text, r == IO_OK ? "unexpected data" : s->ep.err);
	session_free(s);
	return false;
}

static void
idle_event(void *arg)
{
	idle_poll(arg);
}

void
pool_put(struct pool_session *s, bool clean)
{
	struct pool *p = s->pool;
	if (s->answered && !s->reported)      /* it answered and nothing went wrong */
		primary_ok(&p->primaries[s->idx]);
	save_ticket(s);
	if (!clean || p->retired || p->idle_timeout == 0) {
		session_free(s);
		return;
	}
	s->ep.on_event = idle_event;
	s->ep.owner = s;
	fifo_push(&p->primaries[s->idx].idle, &s->link);
	s->idle = true;
	ev_timer_stop(p->loop, &s->timer);
	ev_timer_set(&s->timer, p->idle_timeout, 0);
	ev_timer_start(p->loop, &s->timer);
	s->ep.rd_blk = 0;
	if (idle_poll(s))
		wake_later(p);                      /* an idle session for a waiter */
}

/* ---- queries waiting for a session slot ---------------------------------- */

/* The idle session of a primary reused first: the one put back last. */
static struct pool_session *
idle_newest(const struct primary *pr)
{
	return session_of_link(pr->idle.tail);
}

/* A waiter (or a session failing over) gets an idle session of primary i:
 * it takes over that session's connection (the relay holds the waiter's
 * endpoint), and the emptied idle session goes. */
static void
adopt_idle(struct pool_session *w, struct primary *pr, size_t i)
{
	struct pool_session *s = idle_newest(pr);
	session_unlink(s);
	ev_timer_stop(w->pool->loop, &s->timer);
	endpoint_unwatch(&s->ep);
	w->conn = w->ep.lower = s->conn;
	s->conn = NULL;
	w->ep.state = EP_OPEN;
	w->ep.hs_blk = w->ep.rd_blk = w->ep.wr_blk = 0;
	w->idx = i;
	w->waiting = w->expired = false;
	w->reused = true;
	w->answered = w->broke = w->alerted = w->reported = false;
	w->ready_at = ev_now(w->pool->loop);
	struct pool *p = s->pool;
	free(s);                                /* its connection lives on in w */
	pool_unref(p);
}

/* Gives waiting queries, oldest first, what has become available: an idle
 * session, or a free slot to connect in; or fails them when every primary
 * is backing off. Runs from a zero timer, never inside a relay's step. */
static void
wake_waiters(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct pool *p = t->data;
	if (p->pred != NULL && pool_open_sessions(p->pred) == 0 && p->pred->pred == NULL)
		drop_pred(p);                       /* the sessions from before the reload are gone */
	while (fifo_oldest(&p->waiting) != NULL) {
		struct pool_session *w = session_of_link(fifo_oldest(&p->waiting));
		long i = pick_primary(p, 0, w->skip);
		struct primary *pr = i >= 0 ? &p->primaries[i] : NULL;
		if (pr != NULL && pr->idle.n == 0 && primary_full(p, (size_t)i))
			return;                         /* still full: the next free slot wakes us */
		session_unlink(w);
		if (pr != NULL && pr->idle.n > 0)
			adopt_idle(w, pr, (size_t)i);
		else if (pr == NULL || connect_from(w, (size_t)i, RSN_NONE, "all backing off") < 0)
			w->failed = true;               /* its next handshake step says so */
		else if (w->waiting)
			continue;                       /* failed over to a full primary: queued again */
		w->ep.hs_blk = 0;
		w->ep.on_event(w->ep.owner);        /* may free w */
	}
}

static void
wake_later(struct pool *p)
{
	if (p->waiting.n > 0 && !ev_is_active(&p->wake))
		ev_timer_start(p->loop, &p->wake);
}

/* A session that waits for a slot: the relay sees an upstream CONNECTING
 * that waits (hs_blk; no connection, nothing watched) until wake_waiters
 * moves it on. */
static struct pool_session *
enqueue(struct pool_session *s)
{
	s->ep.state = EP_CONNECTING;
	s->ep.hs_blk = EV_READ;
	s->waiting = true;
	s->expired = false;
	fifo_push(&s->pool->waiting, &s->link);
	return s;
}

/* ---- taking sessions ------------------------------------------------------ */

struct pool_session *
pool_take(struct pool *p, void (*on_event)(void *), void *owner, char *why, size_t len)
{
	return pool_take_skip(p, 0, on_event, owner, why, len);
}

struct pool_session *
pool_take_skip(struct pool *p, uint32_t skip, void (*on_event)(void *), void *owner, char *why,
               size_t len)
{
	long i = pick_primary(p, 0, skip);
	if (i < 0) {
		snprintf(why, len, skip != 0 ? "no other primary to try (the rest backing off)"
		                              : "no primary reachable (all backing off)");
		return NULL;
	}
	struct primary *pr = &p->primaries[i];
	if (pr->idle.n > 0) {
		struct pool_session *s = idle_newest(pr);
		session_unlink(s);
		ev_timer_stop(p->loop, &s->timer);
		s->ep.on_event = on_event;
		s->ep.owner = owner;
		s->skip = skip;
		s->reused = true;
		s->answered = s->broke = s->alerted = s->reported = false;
		s->ready_at = ev_now(p->loop);
		endpoint_watch(&s->ep, false, false);
		return s;
	}
	bool full = primary_full(p, (size_t)i);
	if (full && p->waiting.n >= MAX_WAITING) {
		metrics_limit_hit(MX_LIM_MAX_SESSIONS);
		snprintf(why, len, "max-sessions (%u) reached toward primary %s, %u queries waiting",
		         p->max_sessions, pr->text, p->waiting.n);
		return NULL;
	}
	struct pool_session *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	s->pool = p;
	p->refs++;
	endpoint_init(&s->ep, &session_ops, p->loop, -1, EP_CONNECTING, on_event, owner);
	s->skip = skip;
	ev_init(&s->timer, session_timer_cb);
	s->timer.data = s;
	if (full)
		return enqueue(s);                  /* served when a session frees up */
	if (connect_from(s, (size_t)i, RSN_NONE, "all backing off") < 0) {
		snprintf(why, len, "%s", s->ep.err);
		session_free(s);
		return NULL;
	}
	return s;
}

/* ---- settings ------------------------------------------------------------ */

static int
digest_of(const char *path, uint8_t out[32])
{
	char err[TLS_ERR_MAX];
	return tls_client_file_digest(path, out, err);
}

int
pool_settings_of(const struct conf_outbound *ob, struct pool_settings *out)
{
	memset(out, 0, sizeof(*out));
	out->n_primary = ob->n_primary;
	memcpy(out->primary, ob->primary, ob->n_primary * sizeof(ob->primary[0]));
	if (ob->auth_name != NULL)
		snprintf(out->auth_name, sizeof(out->auth_name), "%s", ob->auth_name);
	out->n_pins = ob->n_pins;
	memcpy(out->pins, ob->pins, ob->n_pins * sizeof(ob->pins[0]));
	out->connect_timeout = ob->connect_timeout;
	out->idle_timeout = ob->idle_timeout;
	out->max_sessions = ob->max_sessions;
	int rc = 0;
	if (ob->ca != NULL) {
		out->has_ca = true;
		rc |= digest_of(ob->ca, out->ca_digest);
	}
	if (ob->client_cert != NULL) {
		out->has_client_cert = true;
		rc |= digest_of(ob->client_cert, out->cert_digest);
		rc |= digest_of(ob->client_key, out->key_digest);
	}
	return rc < 0 ? -1 : 0;
}

bool
pool_settings_equal(const struct pool_settings *a, const struct pool_settings *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;       /* zeroed, then filled: no stray octets */
}

/* ---- the pool ------------------------------------------------------------- */

struct pool *
pool_new(struct ev_loop *loop, const char *label, const struct pool_settings *st,
         struct connector *conn)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->refs = 1;
	p->loop = loop;
	p->connector = conn;
	p->settings = *st;
	ev_timer_init(&p->wake, wake_waiters, 0, 0);
	p->wake.data = p;
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->n_primaries = st->n_primary;
	for (size_t i = 0; i < st->n_primary; i++) {
		p->primaries[i].addr = st->primary[i];
		netaddr_format((const struct sockaddr *)&st->primary[i].ss, p->primaries[i].text);
	}
	p->connect_timeout = st->connect_timeout;
	p->idle_timeout = st->idle_timeout;
	p->max_sessions = st->max_sessions;
	return p;
}

/* This pool no longer counts its predecessor's sessions. */
static void
drop_pred(struct pool *p)
{
	struct pool *q = p->pred;
	p->pred = NULL;
	q->succ = NULL;
	pool_unref(q);
}

static void
pool_unref(struct pool *p)
{
	if (--p->refs > 0)
		return;
	if (p->pred != NULL)
		drop_pred(p);
	if (p->succ != NULL)
		p->succ->pred = NULL;           /* cannot happen: the successor holds a ref */
	ev_timer_stop(p->loop, &p->wake);
	p->connector->ops->free(p->connector);
	free(p);
}

/* The queries waiting in `from` go to the end of `to`'s queue, in order:
 * each waiting session object changes pool (and reference). */
static void
move_waiters(struct pool *from, struct pool *to)
{
	while (fifo_oldest(&from->waiting) != NULL) {
		struct pool_session *w = session_of_link(fifo_oldest(&from->waiting));
		fifo_remove(&from->waiting, &w->link);
		fifo_push(&to->waiting, &w->link);
		w->pool = to;
		w->skip = 0;                      /* indexes of the old pool's primaries */
		to->refs++;
		from->refs--;                     /* never the last: the caller holds one */
	}
	wake_later(to);
}

void
pool_retire(struct pool *p, struct pool *successor)
{
	p->retired = true;
	p->refs++;                            /* hold it while the idle ones go */
	for (size_t i = 0; i < p->n_primaries; i++)
		while (p->primaries[i].idle.n > 0)
			session_free(session_of_link(fifo_oldest(&p->primaries[i].idle)));
	if (successor != NULL) {
		for (size_t i = 0; i < p->n_primaries; i++)
			carry_backoff(&p->primaries[i], successor);
		move_waiters(p, successor);
		/* its sessions, and those of the pools before it, count toward the
		 * successor's cap while any is open */
		if (pool_open_sessions(p) > 0 || p->pred != NULL) {
			successor->pred = p;
			p->succ = successor;
			p->refs++;
		}
	}
	p->refs--;
	pool_unref(p);
}
