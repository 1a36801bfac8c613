/* relay_upstream.c - the upstream side of the relay core: opened at the
 * first allowed query, the direction's preamble and the query frames
 * written to it, and what happens when it fails before answering:
 * another upstream (hooks->upstream_retry, with the query frames kept for
 * it), or SERVFAIL with the direction's EDE, or an abort once answers are
 * under way. */
#include "relay.h"
#include "relay_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/lib/log.h"

/* ---- failover ------------------------------------------------------------ */

/* The query frames kept for a retry, without those no longer waiting for
 * the first message of their answer. */
static void
rs_compact(struct relay *r)
{
	size_t rd = 0, wr = 0;
	while (rd + 4 <= r->rs_len) {
		size_t flen = 2 + (size_t)rd16(r->rs + rd);
		const struct inflight *f = relay_find_inflight(r, rd16(r->rs + rd + 2));
		if (f != NULL && f->xfr.messages == 0) {
			memmove(r->rs + wr, r->rs + rd, flen);
			wr += flen;
		}
		rd += flen;
	}
	r->rs_len = r->rs_sent = wr;
	if (r->n_inflight == 0)
		r->rs_lost = false;
}

/* A query frame went out whole: kept until its answer begins, for
 * hooks->upstream_retry. A frame that does not fit RELAY_IN_SIZE with the
 * others is simply not kept; a retry is then not possible (upstream_failed
 * answers SERVFAIL as without the hook). */
static void
rs_keep(struct relay *r, const uint8_t *frame, size_t len)
{
	if (r->hooks->upstream_retry == NULL)
		return;
	rs_compact(r);
	if (r->rs == NULL && (r->rs = malloc(RELAY_IN_SIZE)) == NULL)
		return;
	if (r->rs_len + len > RELAY_IN_SIZE) {
		r->rs_len = r->rs_sent = 0;      /* one is missing: no retry for any */
		r->rs_lost = true;
		return;
	}
	memcpy(r->rs + r->rs_len, frame, len);
	r->rs_len += len;
	r->rs_sent = r->rs_len;
}

/* Every query in flight has its frame kept (or is the one still in `in`). */
static bool
rs_covers_inflight(struct relay *r)
{
	rs_compact(r);
	unsigned kept = 0;
	for (size_t pos = 0; pos + 4 <= r->rs_len; pos += 2 + (size_t)rd16(r->rs + pos))
		kept++;
	return !r->rs_lost && kept + (r->in_fwd > 0) == r->n_inflight;
}

/* hooks->upstream_retry said yes: this upstream goes (broken), the queries
 * in flight go again, in order, on the next one (up_ensure, up_write). */
static void
retry_upstream(struct relay *r)
{
	relay_up_release(r, true);
	for (unsigned i = 0; i < r->n_inflight; i++) {
		struct xfr *x = &r->inflight[i].xfr;
		xfr_init(x, x->id, x->qtype, x->has_client_serial, x->client_serial, x->start);
	}
	r->in_sent = 0;
	r->rs_sent = 0;
	r->up_since = ev_now(r->loop);
}

/* Upstream unreachable, silent, or gone before sending anything for the
 * queries in flight (code; why: in words, NULL for the code's text):
 * another upstream when the direction has one (upstream_retry), else those
 * get SERVFAIL with the direction's EDE; the session stays usable. Returns
 * false when answers were already under way (the caller must abort). */
bool
relay_upstream_failed(struct relay *r, enum reason code, const char *why)
{
	if (why == NULL)
		why = reason_text(code);
	if (!relay_nothing_relayed(r))
		return false;
	if (r->hooks->upstream_retry != NULL && !r->no_retry && r->n_inflight > 0 &&
	    rs_covers_inflight(r) &&
	    r->hooks->upstream_retry(r, code, why)) {
		retry_upstream(r);
		return true;
	}
	if (relay_ensure_ring(r) < 0 ||
	    ring_room(&r->u2c) < r->n_inflight * RELAY_LOCAL_SIZE + r->local_len)
		return false;
	relay_flush_local(r);
	for (unsigned i = 0; i < r->n_inflight; i++) {
		struct inflight *f = &r->inflight[i];
		struct dns_query q = { .id = f->xfr.id, .rd = f->echo.rd, .has_question = true,
		                       .qname_len = f->echo.qname_len, .qtype = f->xfr.qtype,
		                       .qclass = DNS_CLASS_IN, .has_opt = f->echo.has_opt,
		                       .has_padding = f->echo.has_padding };
		memcpy(q.qname, f->echo.qname, f->echo.qname_len);
		uint8_t buf[RELAY_LOCAL_SIZE];
		size_t n = relay_build_answer(r, &q, DNS_RCODE_SERVFAIL, r->hooks->upstream_fail_ede,
		                        r->hooks->upstream_fail_text, f->echo.sign, f->token, buf + 2,
		                        sizeof(buf) - 2);
		wr16(buf, (uint16_t)n);
		ring_append(&r->u2c, buf, n + 2);
		relay_xfr_end(r, f, MX_FAILED, why, ev_now(r->loop));
		relay_inflight_done(r, f);
	}
	r->n_inflight = 0;
	r->rs_len = r->rs_sent = 0;
	r->rs_lost = false;
	if (r->in_fwd > 0) {                /* the allowed frame not yet sent */
		memmove(r->in, r->in + r->in_fwd, r->in_len - r->in_fwd);
		r->in_len -= r->in_fwd;
		r->in_fwd = r->in_sent = 0;
	}
	relay_up_release(r, true);
	return true;
}

/* The upstream broke (code; what: in words, NULL for the code's text;
 * count: for the metrics): answer SERVFAIL if nothing was relayed yet, else
 * abort the session (never a fabricated end of zone, AXFR-05). */
void
relay_up_broken(struct relay *r, enum reason code, const char *what, bool count)
{
	char why[ENDPOINT_ERR_MAX + 32];
	snprintf(why, sizeof(why), "%s %s", dir_upstream_label(r->hooks->direction),
	         what != NULL ? what : reason_text(code));
	if (r->n_inflight == 0 && r->in_fwd == 0 && respscan_at_boundary(&r->scan)) {
		log_debug("conn %llu, remote %s, upstream closed while idle (%s)",
		          (unsigned long long)r->id, r->peer_text, why);
		relay_up_release(r, true);
		return;
	}
	if (count)
		relay_count_upstream_failure(r, code);
	if (!relay_upstream_failed(r, code, why)) {
		relay_up_release(r, true);            /* broken: never handed back as clean */
		relay_close(r, false, code, why);
	}
}

/* Something must go upstream: a query frame, or the frames to send again. */
static bool
up_wanted(const struct relay *r)
{
	return r->in_fwd > 0 || r->rs_sent < r->rs_len;
}

/* Opens the upstream at the first allowed query (not before, so a refused
 * client never costs an upstream socket). */
bool
relay_up_ensure(struct relay *r)
{
	if (!up_wanted(r) || r->up_held)
		return false;
	if (relay_ensure_ring(r) < 0) {
		relay_close(r, false, RSN_NO_MEMORY, NULL);
		return true;
	}
	char why[ENDPOINT_ERR_MAX];
	r->up_since = ev_now(r->loop);
	enum reason code = r->hooks->upstream_open(r, why, sizeof(why));
	if (code != RSN_NONE) {
		relay_count_upstream_failure(r, code);
		if (!relay_upstream_failed(r, code, why))
			relay_close(r, false, code, why);
		return true;
	}
	r->up_held = true;
	return true;
}

/* One step of the upstream's set-up (connect, TLS handshake). */
bool
relay_up_handshake(struct relay *r)
{
	if (!endpoint_open(r->up) || endpoint_established(r->up) || r->up->hs_blk)
		return false;
	enum io_result res = endpoint_handshake(r->up);
	if (res == IO_AGAIN)
		return false;
	if (res != IO_OK)                   /* outbound: the pool counted each primary */
		relay_up_broken(r, RSN_UP_CONNECT, r->up->err, relay_dir(r) == MX_INBOUND);
	return true;
}

/* One upstream write from p (rest octets left): after IO_AGAIN the same
 * length is retried (up_wr_len). Returns the octets written, 0 when
 * blocked or broken (*done set: the step made progress). */
static size_t
up_send(struct relay *r, const uint8_t *p, size_t rest, bool *done)
{
	size_t len = r->up_wr_len != 0 ? r->up_wr_len : rest, put = 0;
	enum io_result res = r->up->ops->write(r->up, p, len, &put);
	*done = res != IO_AGAIN;
	r->up_wr_len = res == IO_AGAIN ? len : 0;
	if (res != IO_OK && res != IO_AGAIN) {
		relay_up_broken(r, RSN_UP_CLOSED, r->up->err, true);
		return 0;
	}
	return res == IO_OK ? put : 0;
}

/* Sends the direction's preamble (a PROXY v2 header) first on a new
 * upstream connection, then the allowed query frame at the head of `in`. */
bool
relay_up_write(struct relay *r)
{
	if (!up_wanted(r) || !endpoint_established(r->up) || r->up->wr_blk)
		return false;
	bool done;
	if (r->up_pre_sent < r->up_pre_len) {
		r->up_pre_sent += up_send(r, r->up_pre + r->up_pre_sent, r->up_pre_len - r->up_pre_sent,
		                          &done);
		return done;
	}
	if (r->rs_sent < r->rs_len) {       /* a retry: the unanswered queries again */
		size_t put = up_send(r, r->rs + r->rs_sent, r->rs_len - r->rs_sent, &done);
		r->rs_sent += put;
		metrics_bytes(relay_dir(r), false, put);
		return done;
	}
	size_t put = up_send(r, r->in + r->in_sent, r->in_fwd - r->in_sent, &done);
	if (put == 0)
		return done;
	metrics_bytes(relay_dir(r), false, put);
	r->in_sent += put;
	if (r->in_sent == r->in_fwd) {
		rs_keep(r, r->in, r->in_fwd);
		memmove(r->in, r->in + r->in_fwd, r->in_len - r->in_fwd);
		r->in_len -= r->in_fwd;
		r->in_fwd = r->in_sent = 0;
	}
	return true;
}
