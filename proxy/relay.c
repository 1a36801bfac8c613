/* relay.c - the relay core: queries from the client endpoint, judged one
 * whole frame at a time, go byte for byte to the upstream endpoint; answers
 * stream back through one ring, untouched.
 *
 *   start --> HANDSHAKE --client ready--> OPEN --EOF/idle/stop/error--> CLOSED
 *                 |  fail, timeout, refused       |
 *                 '------------> CLOSED <---------'
 *
 * In OPEN, an allowed query opens the upstream (lazily, through the
 * direction's hook) and is forwarded; anything else gets a local answer,
 * which enters the ring only at a frame boundary of the answer stream, so
 * frames never interleave mid-message. `scan` watches the relayed bytes to
 * count messages and find where each answer stream ends (xfr.c). The
 * client sees no octet of an answer frame before its 12-octet header names
 * a query waiting on this upstream (a UDP client: before the whole frame is
 * there); any other frame is taken back out of the ring unseen and its
 * upstream retired (relay_held_octets, drop_frame in relay_answer.c; issue 13).
 *
 * This file holds the lifecycle, the teardown, the client side, the pump
 * and the timer; relay_query.c admits queries, relay_upstream.c opens,
 * writes and fails over the upstream, relay_answer.c follows the answer
 * stream (relay_int.h is what they share).
 *
 * Readiness: each endpoint operation records the event it is blocked on.
 * relay_on_event runs every runnable step until none makes progress
 * (relay_pump), then derives both watcher masks and the one timer. */
#include "relay.h"
#include "relay_int.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/lib/log.h"
#include "logrl.h"
#include "metrics.h"

#define RELAY_MAGIC 0x72656c79u

static void relay_pump(struct relay *r);

/* ---- logging ------------------------------------------------------------ */

enum mx_dir
relay_dir(const struct relay *r)
{
	return (enum mx_dir)r->hooks->direction;
}

/* An upstream failure for the metrics. Outbound, the pool counts each
 * primary's failures itself (with the primary it was), so the relay counts
 * only inbound's: one failure, one count. */
void
relay_count_upstream_failure(const struct relay *r, enum reason code)
{
	if (relay_dir(r) == MX_INBOUND)
		metrics_upstream_failed(MX_INBOUND, code);
}

/* The fields every event about this relay starts with: direction, conn,
 * client address and port (split from peer_text, "addr#port"), and the
 * client certificate's identity when there is one. */
size_t
relay_log_fields(const struct relay *r, struct log_field *f)
{
	const char *hash = strrchr(r->peer_text, '#');
	size_t alen = hash != NULL ? (size_t)(hash - r->peer_text) : strlen(r->peer_text);
	f[0] = LF_S("direction", dir_text(r->hooks->direction));
	f[1] = LF_U("conn", r->id);
	f[2] = LF_SN("client", r->peer_text, alen);
	f[3] = LF_U("client_port", hash != NULL ? strtoul(hash + 1, NULL, 10) : 0);
	f[4] = LF_S("client_identity", r->identity);
	return RELAY_LOG_FIELDS;
}
/* Refusal and handshake-failure lines are rate-limited per client address
 * (XOT-16): a client that retries forever must not flood the log. Lines
 * over the limit still appear at log-level debug. */
void
relay_log_limited(struct relay *r, const char *event, const struct log_field *f, size_t n,
            const char *fmt, ...)
{
	if (log_threshold < XP_LOG_INFO)
		return;
	enum log_level level = logrl_allow((const struct sockaddr *)&r->peer, logrl_now())
	                       ? XP_LOG_INFO : XP_LOG_DEBUG;
	if (level > log_threshold)
		return;
	char line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_event(level, event, f, n, "%s", line);
}

/* A TLS handshake with the client failed: code, and the endpoint's error
 * in words when there is one (else the code's text). */
static void
log_handshake_failed(struct relay *r, enum reason code, const char *detail)
{
	const char *reason = detail != NULL ? detail : reason_text(code);
	metrics_handshake_failed(relay_dir(r), code);
	struct log_field fl[6];
	size_t n = relay_log_fields(r, fl);
	fl[n++] = LF_S("reason", reason);
	relay_log_limited(r, "handshake_failed", fl, n, "conn %llu, remote %s, TLS handshake failed (%s)",
	            (unsigned long long)r->id, r->peer_text, reason);
}
/* ---- teardown ----------------------------------------------------------- */

/* The upstream has no query in flight or being sent and sits at a frame
 * boundary (a lone-SOA answer that may go on aside). */
static bool
up_quiet(const struct relay *r)
{
	return r->up_held && endpoint_established(r->up) && r->n_inflight == 0 &&
	       r->in_fwd == 0 && r->up_wr_len == 0 && r->rs_sent == r->rs_len &&
	       respscan_at_boundary(&r->scan) && !r->drop_pending;
}

bool
relay_upstream_reusable(const struct relay *r)
{
	return up_quiet(r) && !r->has_lone;
}

/* release_idle_upstream: what to do with a held upstream once the pump is
 * done. A quiet one that owes nothing goes back clean; a quiet one whose
 * only debt is a lone newer SOA that may go on (AXFR-style, IXFR-02) is
 * never reused, and an idle client must not hold it either (t95, t98): it
 * is closed (released as broken), and the lone answer is over for the
 * client. Anything else is still in use. */
enum idle_action
relay_idle_action(const struct relay *r)
{
	if (!r->hooks->release_idle_upstream || !up_quiet(r))
		return IDLE_KEEP;
	return r->has_lone ? IDLE_CLOSE : IDLE_RELEASE;
}

/* Gives the upstream back to the direction: clean (reusable) only when it
 * did not break and owes nothing (relay_upstream_reusable; item 1 of issue
 * 13: a lone-SOA IXFR answer that may go on makes it owe octets). */
void
relay_up_release(struct relay *r, bool broken)
{
	if (!r->up_held)
		return;
	bool clean = !broken && relay_upstream_reusable(r);
	r->hooks->upstream_release(r, clean);
	relay_lone_finish(r);
	assert(!endpoint_open(r->up));
	r->up_held = false;
	r->up_wr_len = 0;
	r->up_pre = NULL;
	r->up_pre_len = r->up_pre_sent = 0;
	r->cur = NULL;
	r->drop_pending = false;
	respscan_init(&r->scan, r->scan.ops, r);
}

/* A forwarded query leaves the table: its token goes back to the direction. */
void
relay_inflight_done(struct relay *r, struct inflight *f)
{
	if (f->token != NULL && r->hooks->xfr_done != NULL)
		r->hooks->xfr_done(r, f->token);
	f->token = NULL;
}

static void
abort_inflight(struct relay *r, const char *reason)
{
	for (unsigned i = 0; i < r->n_inflight; i++) {
		relay_xfr_end(r, &r->inflight[i], MX_ABORTED, reason, ev_now(r->loop));
		relay_inflight_done(r, &r->inflight[i]);
	}
	r->n_inflight = 0;
	r->cur = NULL;
}

/* Closes both sides. notify: close_notify first (graceful close with
 * nothing owed); without it the client sees an abrupt end, which is what a
 * broken transfer must look like (DOT-13, AXFR-05). */
void
relay_close(struct relay *r, bool notify, enum reason code, const char *detail)
{
	if (r->state == RELAY_CLOSED)
		return;
	relay_up_release(r, false);           /* clean only if it owes nothing: before the abort */
	if (r->n_inflight > 0)
		abort_inflight(r, detail != NULL ? detail
		                  : reason_text(code != RSN_NONE ? code : RSN_CONN_CLOSED));
	ev_timer_stop(r->loop, &r->timer);
	endpoint_close(r->cli, notify && r->state == RELAY_OPEN);
	ring_cleanup(&r->u2c);
	free(r->in);
	r->in = NULL;
	free(r->inflight);
	r->inflight = NULL;
	free(r->rs);
	r->rs = NULL;
	r->rs_len = r->rs_sent = 0;
	r->in_len = r->in_fwd = r->in_sent = 0;
	r->state = RELAY_CLOSED;
}

/* Every entry point ends here: hands a relay that closed back to its owner. */
static void
relay_after_event(struct relay *r)
{
	if (r->state == RELAY_CLOSED) {
		r->magic = 0;
		r->hooks->closed(r);
	}
}
/* ---- client side ---------------------------------------------------------- */

static bool
cli_handshake(struct relay *r)
{
	if (r->state != RELAY_HANDSHAKE || r->cli->hs_blk)
		return false;
	enum io_result res = endpoint_handshake(r->cli);
	if (res == IO_AGAIN)
		return false;
	if (res != IO_OK) {
		if (reason_family(r->cli->err_code) == RF_HANDSHAKE)   /* a TLS endpoint's */
			log_handshake_failed(r, r->cli->err_code, r->cli->err);
		else                        /* a reset before the first query: not TLS */
			log_debug("conn %llu, remote %s, client connection failed (%s)",
			          (unsigned long long)r->id, r->peer_text, r->cli->err);
		relay_close(r, false, RSN_NONE, NULL);
		return true;
	}
	r->state = RELAY_OPEN;
	r->last_active = ev_now(r->loop);
	if (!r->hooks->client_ready(r))
		relay_close(r, true, RSN_NONE, NULL);
	return true;
}

/* Discards the first octets of `in` that belong to an oversized frame. */
static void
drop_skipped(struct relay *r)
{
	size_t n = r->in_skip < r->in_len ? r->in_skip : r->in_len;
	memmove(r->in, r->in + n, r->in_len - n);
	r->in_len -= n;
	r->in_skip -= n;
}

/* Reads query bytes. An idle session holds no query buffer: the first read
 * goes to the stack and the buffer is allocated only if it returned data. */
static bool
cli_read(struct relay *r)
{
	if (r->state != RELAY_OPEN || r->cli->rd_blk || r->stopping || r->in_len == RELAY_IN_SIZE)
		return false;
	uint8_t probe[512];
	struct iovec iov = {
		.iov_base = r->in != NULL ? r->in + r->in_len : probe,
		.iov_len = r->in != NULL ? RELAY_IN_SIZE - r->in_len : sizeof(probe),
	};
	size_t got = 0;
	enum io_result res = r->cli->ops->readv(r->cli, &iov, 1, &got);
	if (res == IO_OK) {
		if (r->in == NULL) {
			r->in = malloc(RELAY_IN_SIZE);
			if (r->in == NULL) {
				relay_close(r, false, RSN_NO_MEMORY, NULL);
				return true;
			}
			memcpy(r->in, probe, got);
		}
		r->in_len += got;
		if (r->in_skip > 0)
			drop_skipped(r);
		return true;
	}
	if (res == IO_AGAIN)
		return false;
	if (res == IO_EOF) {
		/* RFC 7766 §6.2.4: nothing more is sent once the client has closed. */
		log_debug("conn %llu, remote %s, client closed", (unsigned long long)r->id, r->peer_text);
		relay_close(r, relay_idle(r), RSN_CLIENT_CLOSED, NULL);
	} else {
		log_debug("conn %llu, remote %s, client read: %s", (unsigned long long)r->id,
		          r->peer_text, r->cli->err);
		relay_close(r, false, RSN_CLIENT_ERROR, NULL);
	}
	return true;
}

/* Writes the visible part of the ring, at most what the client endpoint
 * takes in one piece (ops->write_max: a TLS endpoint, one record's worth).
 * After IO_AGAIN the same bytes and length are retried: the ring head does
 * not move until then (held octets only ever become visible, or leave the
 * tail unseen). Writes are not progress (TCP-05): only complete messages
 * move last_active. */
static bool
cli_write(struct relay *r)
{
	if (r->state != RELAY_OPEN || r->cli->wr_blk || !ring_allocated(&r->u2c))
		return false;
	size_t len, visible = relay_visible_octets(r), max = r->cli->ops->write_max;
	const uint8_t *p = ring_read_ptr(&r->u2c, max != 0 && max < visible ? max : visible, &len);
	if (r->cli_wr_len != 0) {
		assert(len >= r->cli_wr_len);
		len = r->cli_wr_len;
	}
	if (len == 0)
		return false;
	size_t put = 0;
	enum io_result res = r->cli->ops->write(r->cli, p, len, &put);
	if (res == IO_OK) {
		ring_consume(&r->u2c, put);
		r->cli_wr_len = 0;
		return true;
	}
	r->cli_wr_len = len;
	if (res == IO_AGAIN)
		return false;
	log_debug("conn %llu, remote %s, client write: %s", (unsigned long long)r->id, r->peer_text,
	          r->cli->err);
	relay_close(r, false, RSN_CLIENT_GONE, NULL);
	return true;
}
/* ---- pump, events, timer ---------------------------------------------- */

bool
relay_idle(const struct relay *r)
{
	return r->n_inflight == 0 && r->in_fwd == 0 && r->local_len == 0 &&
	       (!ring_allocated(&r->u2c) || ring_len(&r->u2c) == 0) &&
	       respscan_at_boundary(&r->scan);      /* no answer frame half relayed */
}

/* An idle session keeps only its transport and this struct: the query
 * buffer and the answer ring are given back until they are needed again. */
static void
release_idle_buffers(struct relay *r)
{
	if (r->in != NULL && r->in_len == 0) {
		free(r->in);
		r->in = NULL;
	}
	if (ring_allocated(&r->u2c) && relay_idle(r) && r->cli_wr_len == 0 &&
	    respscan_at_boundary(&r->scan))
		ring_cleanup(&r->u2c);
	if (r->inflight != NULL && r->n_inflight == 0 && r->cur == NULL) {
		free(r->inflight);
		r->inflight = NULL;
	}
	if (r->rs != NULL && r->n_inflight == 0) {
		free(r->rs);
		r->rs = NULL;
		r->rs_len = r->rs_sent = 0;
		r->rs_lost = false;
	}
}

static void
update_events(struct relay *r)
{
	bool out = r->cli_wr_len > 0 || relay_visible_octets(r) > 0;
	endpoint_watch(r->cli, r->in_len < RELAY_IN_SIZE && !r->stopping, out);
	if (endpoint_open(r->up))
		endpoint_watch(r->up, relay_up_read_limit(r) > 0,
		               r->in_fwd > r->in_sent || r->rs_sent < r->rs_len);
}

/* The upstream owes the first octet of an answer that the client can see:
 * it is still being set up, or queries are in flight, none of their
 * answers has a complete message, and no octet of the frame begun (if any)
 * reached the client: a frame whose header is not complete, or, for a
 * whole-message (UDP) client, any frame that fits the ring. So a primary
 * that sends the start of a frame and stalls fails over after the upstream
 * limit for a UDP client (t97); a TCP client has the octets already, and
 * the transfer limit aborts it. */
bool
relay_upstream_owes_first_octet(const struct relay *r)
{
	if (endpoint_open(r->up) && !endpoint_established(r->up))
		return true;
	if (r->n_inflight == 0 || r->drop_pending ||
	    relay_held_octets(r) != respscan_partial(&r->scan))
		return false;
	return !relay_answer_begun(r);
}

enum deadline { DL_HANDSHAKE, DL_UPSTREAM, DL_TRANSFER, DL_IDLE };

/* When the relay's current state runs out of time, and which limit that
 * is: the handshake deadline; the upstream limit while the upstream owes
 * the first octet of an answer; the progress deadline while answers are
 * owed; or the idle deadline. TCP-05: only complete messages count as
 * activity, so progress (last_active) is a complete query from the client
 * or a complete answer message from upstream, never a single octet either
 * way. A client that stops reading stops the upstream's messages from
 * completing once the ring is full, so the progress deadline covers it
 * too. Always the limits in force now. */
static double
relay_deadline(const struct relay *r, enum deadline *kind)
{
	struct relay_limits lim;
	r->hooks->limits(r, &lim);
	if (r->state == RELAY_HANDSHAKE) {
		*kind = DL_HANDSHAKE;
		return r->accepted + lim.handshake;
	}
	if (relay_idle(r)) {
		*kind = DL_IDLE;
		return r->last_active + lim.idle;
	}
	*kind = DL_TRANSFER;
	double t = r->last_active + lim.transfer;
	if (relay_upstream_owes_first_octet(r) && r->up_since + lim.upstream < t) {
		*kind = DL_UPSTREAM;
		t = r->up_since + lim.upstream;
	}
	return t;
}

/* Activity only moves the deadline later, and the timer handles that
 * lazily when it fires; but a state change can bring it earlier (a short
 * idle timeout after the handshake, or after a transfer ends), and then
 * the timer must be re-armed now. */
static void
rearm_timer(struct relay *r)
{
	enum deadline kind;
	double left = relay_deadline(r, &kind) - ev_now(r->loop);
	if (left < 0)
		left = 0;
	if (!ev_is_active(&r->timer) || ev_timer_remaining(r->loop, &r->timer) > left + 0.001) {
		r->timer.repeat = left > 0 ? left : 0.001;
		ev_timer_again(r->loop, &r->timer);
	}
}

/* True if `in` holds a whole frame not yet acted on. */
static bool
has_complete_query(const struct relay *r)
{
	return r->in_len >= 2 && r->in_len >= (size_t)rd16(r->in) + 2;
}

static void
relay_pump(struct relay *r)
{
	bool progress;
	do {
		progress = cli_handshake(r);
		if (r->state != RELAY_OPEN)
			break;
		progress |= cli_read(r);
		progress |= relay_process_queries(r);
		progress |= relay_up_ensure(r);
		if (r->state != RELAY_OPEN)
			break;
		progress |= relay_up_handshake(r);
		progress |= relay_up_write(r);
		progress |= relay_up_read(r);
		progress |= relay_flush_local(r);
		progress |= cli_write(r);
		/* decrypted query bytes wait inside TLS: the fd will not wake us */
		if (!progress && !r->cli->rd_blk && r->cli->ops->pending(r->cli) > 0 &&
		    r->in_len < RELAY_IN_SIZE && !r->stopping)
			progress = cli_read(r);
	} while (progress && r->state == RELAY_OPEN);

	if (r->state == RELAY_OPEN && relay_idle_action(r) != IDLE_KEEP)
		relay_up_release(r, relay_idle_action(r) == IDLE_CLOSE);  /* a session only while in use */
	if (r->state == RELAY_OPEN && r->stopping && relay_idle(r) && !has_complete_query(r))
		relay_close(r, true, RSN_NONE, NULL);
	if (r->state != RELAY_CLOSED) {
		release_idle_buffers(r);
		update_events(r);
		rearm_timer(r);
	}
}

void
relay_on_event(void *relay)
{
	struct relay *r = relay;
	assert(r->magic == RELAY_MAGIC);
	relay_pump(r);
	relay_after_event(r);
}

/* The relay's one timer: on expiry it recomputes the deadline for the
 * current state and acts only if it has really passed. */
static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct relay *r = w->data;
	assert(r->magic == RELAY_MAGIC);
	enum deadline kind;
	double now = ev_now(loop), deadline = relay_deadline(r, &kind);
	if (now < deadline) {
		w->repeat = deadline - now;
		ev_timer_again(loop, w);
		return;
	}
	if (kind == DL_HANDSHAKE) {
		log_handshake_failed(r, RSN_HS_TIMEOUT, NULL);
		relay_close(r, false, RSN_NONE, NULL);
	} else if (kind == DL_UPSTREAM) {
		relay_count_upstream_failure(r, RSN_UP_TIMEOUT);
		/* XoT error table, "backend fails before answering": SERVFAIL + EDE */
		if (relay_upstream_failed(r, RSN_UP_TIMEOUT, NULL))
			relay_pump(r);
		else
			relay_close(r, false, RSN_UP_TIMEOUT, NULL);
	} else if (kind == DL_TRANSFER) {
		/* Nothing of an answer reached the client yet: as DL_UPSTREAM,
		 * SERVFAIL with the direction's EDE, and the session goes on. */
		if (r->n_inflight > 0 &&
		    relay_upstream_failed(r, RSN_UP_TIMEOUT, reason_text(RSN_TRANSFER_TIMEOUT))) {
			relay_count_upstream_failure(r, RSN_UP_TIMEOUT);
			relay_pump(r);
		} else {
			if (r->n_inflight == 0)
				log_info("conn %llu, remote %s, closed: client stopped reading (transfer timeout)",
				         (unsigned long long)r->id, r->peer_text);
			relay_close(r, false, RSN_TRANSFER_TIMEOUT, NULL);   /* an abort: no close_notify */
		}
	} else {
		log_debug("conn %llu, remote %s, closed: idle", (unsigned long long)r->id, r->peer_text);
		relay_close(r, true, RSN_NONE, NULL);   /* DOT-04: close_notify on idle close */
	}
	relay_after_event(r);
}

/* ---- lifecycle ---------------------------------------------------------- */

void
relay_start(struct relay *r, struct ev_loop *loop, uint64_t id, const struct sockaddr *peer,
            socklen_t peer_len, const struct relay_hooks *hooks, void *owner)
{
	r->magic = RELAY_MAGIC;
	r->state = RELAY_HANDSHAKE;
	r->id = id;
	r->loop = loop;
	r->hooks = hooks;
	r->owner = owner;
	memcpy(&r->peer, peer, peer_len < sizeof(r->peer) ? peer_len : sizeof(r->peer));
	netaddr_format(peer, r->peer_text);
	respscan_init(&r->scan, &relay_scan_ops, r);
	r->accepted = r->last_active = ev_now(loop);
	ev_init(&r->timer, timer_cb);
	r->timer.data = r;
	relay_pump(r);                  /* the ClientHello may already be there */
	relay_after_event(r);
}

bool
relay_release_idle_upstream(struct relay *r)
{
	if (!r->up_held)
		return true;
	if (r->n_inflight > 0 || r->in_fwd > 0 || r->up_wr_len > 0 || !respscan_at_boundary(&r->scan))
		return false;
	relay_up_release(r, true);
	return true;
}

void
relay_stop(struct relay *r)
{
	r->stopping = true;
	if (r->state == RELAY_HANDSHAKE)
		relay_close(r, false, RSN_NONE, NULL);
	else
		relay_pump(r);
	relay_after_event(r);
}

void
relay_list_stop(struct fifo *list)
{
	struct fifo_node *n = list->head;
	while (n != NULL) {
		struct fifo_node *next = n->next;
		relay_stop(relay_of(n));        /* may close and free it */
		n = next;
	}
}

void
relay_list_kill(struct fifo *list, enum reason why)
{
	while (list->head != NULL)
		relay_kill(relay_of(list->head), false, why);
}

/* Closes both sides at once. A client endpoint that takes whole messages
 * (UDP) and has nothing of its answer yet gets its SERVFAIL first (issue 13,
 * item 7: every UDP query gets one answer): its writes never block. */
void
relay_kill(struct relay *r, bool notify, enum reason why)
{
	if (why == RSN_NONE)
		why = RSN_CONN_CLOSED;
	if (r->state == RELAY_OPEN && r->cli->ops->whole_messages && r->n_inflight > 0) {
		r->no_retry = true;
		if (relay_upstream_failed(r, why, NULL))
			while (r->state == RELAY_OPEN && cli_write(r))
				;
	}
	relay_close(r, notify, why, NULL);
	relay_after_event(r);
}
