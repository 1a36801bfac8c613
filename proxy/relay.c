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
 * upstream retired (relay_held_octets, drop_frame; issue 13).
 *
 * Readiness: each endpoint operation records the event it is blocked on.
 * relay_on_event runs every runnable step until none makes progress
 * (relay_pump), then derives both watcher masks and the one timer. */
#include "relay.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/lib/log.h"
#include "logrl.h"
#include "metrics.h"

#define RELAY_MAGIC 0x72656c79u
#define TLS_RECORD_MAX 16384        /* at most one TLS record per client write */

static void relay_pump(struct relay *r);
static void lone_finish(struct relay *r);
static bool idle(const struct relay *r);
static void up_broken(struct relay *r, const char *what, int kind);

/* ---- logging ---------------------------------------------------------- */

static enum mx_dir
dir_of(const struct relay *r)
{
	return r->hooks->direction[0] == 'o' ? MX_OUTBOUND : MX_INBOUND;
}

/* An upstream failure for the metrics. Outbound, the pool counts each
 * primary's failures itself (with the primary it was), so the relay counts
 * only inbound's: one failure, one count. */
static void
count_upstream_failure(const struct relay *r, enum mx_upstream_fail kind)
{
	if (dir_of(r) == MX_INBOUND)
		metrics_upstream_failed(MX_INBOUND, kind);
}

/* The fields every event about this relay starts with: direction, conn,
 * client address and port (split from peer_text, "addr#port"), and the
 * client certificate's identity when there is one. */
size_t
relay_log_fields(const struct relay *r, struct log_field *f)
{
	const char *hash = strrchr(r->peer_text, '#');
	size_t alen = hash != NULL ? (size_t)(hash - r->peer_text) : strlen(r->peer_text);
	f[0] = LF_S("direction", r->hooks->direction);
	f[1] = LF_U("conn", r->id);
	f[2] = LF_SN("client", r->peer_text, alen);
	f[3] = LF_U("client_port", hash != NULL ? strtoul(hash + 1, NULL, 10) : 0);
	f[4] = LF_S("client_identity", r->identity);
	return 5;
}

/* The outcome as the text line has always put it. */
static void
outcome_text(const struct inflight *f, enum mx_outcome outcome, const char *detail, char *out,
             size_t len)
{
	switch (outcome) {
	case MX_OK:
		if (detail != NULL)
			snprintf(out, len, "ok (%s)", detail);
		else
			snprintf(out, len, "ok");
		break;
	case MX_ABORTED:
		snprintf(out, len < 96 ? len : 96, "aborted (%s)", detail);
		break;
	case MX_ERROR:
		snprintf(out, len, "error (%s from upstream)", dns_rcode_name(f->xfr.rcode));
		break;
	default:
		snprintf(out, len, "failed (%s), SERVFAIL sent", detail);
		break;
	}
}

/* The end of one answer stream: its metrics, and its one summary line (an
 * SOA answered normally only at debug). ok [(detail)], aborted (detail),
 * error (RCODE from upstream), failed (detail), SERVFAIL sent. */
static void
xfr_end(struct relay *r, const struct inflight *f, enum mx_outcome outcome, const char *detail,
        double end)
{
	uint8_t lower[DNAME_MAXLEN];
	memcpy(lower, f->echo.qname, f->echo.qname_len);
	dname_lower(lower, f->echo.qname_len);
	metrics_transfer_end(dir_of(r), lower, f->echo.qname_len, f->xfr.qtype, outcome);
	enum log_level level = f->xfr.qtype == DNS_TYPE_SOA && outcome == MX_OK && detail == NULL
	                       ? XP_LOG_DEBUG : XP_LOG_INFO;
	if (level > log_threshold)
		return;
	char type[16], zone[DNAME_TEXT_MAX], tsig[DNAME_TEXT_MAX], text[160];
	dns_type_name(f->xfr.qtype, type);
	dname_to_text(lower, zone);
	outcome_text(f, outcome, detail, text, sizeof(text));
	static const char *const outcomes[] = { "ok", "aborted", "error", "failed" };
	const char *rcode = outcome == MX_FAILED ? "SERVFAIL"
	                    : outcome != MX_ABORTED || f->xfr.messages > 0 ? dns_rcode_name(f->xfr.rcode)
	                    : NULL;
	struct log_field fl[16];
	size_t n = relay_log_fields(r, fl);
	if (f->echo.has_tsig && f->echo.tsig_len > 0) {
		dname_to_text(f->echo.qname + f->echo.qname_len, tsig);
		fl[n++] = LF_S("tsig_key", tsig);
	}
	fl[n++] = LF_S("zone", zone);
	fl[n++] = LF_S("qtype", type);
	if (f->xfr.soa_seen > 0)
		fl[n++] = LF_U("serial", f->xfr.first_serial);
	fl[n++] = LF_S("outcome", outcomes[outcome]);
	fl[n++] = LF_S("detail", outcome == MX_ERROR ? NULL : detail);
	fl[n++] = LF_S("rcode", rcode);
	fl[n++] = LF_U("messages", f->xfr.messages);
	fl[n++] = LF_U("bytes", f->xfr.bytes);
	fl[n++] = LF_D("duration", end - f->xfr.start, 3);
	log_event(level, "transfer", fl, n,
	          "conn %llu, remote %s, zone %s, %s, %s, %u messages, %llu bytes, %.3f s",
	          (unsigned long long)r->id, r->peer_text, zone, type, text,
	          f->xfr.messages, (unsigned long long)f->xfr.bytes, end - f->xfr.start);
}

/* Refusal and handshake-failure lines are rate-limited per client address
 * (XOT-16): a client that retries forever must not flood the log. Lines
 * over the limit still appear at log-level debug. */
static void log_limited(struct relay *r, const char *event, const struct log_field *f, size_t n,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
log_limited(struct relay *r, const char *event, const struct log_field *f, size_t n,
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

/* A TLS handshake with the client failed (reason: the endpoint's error). */
static void
log_handshake_failed(struct relay *r, const char *reason)
{
	metrics_handshake_failed(dir_of(r), reason);
	struct log_field fl[6];
	size_t n = relay_log_fields(r, fl);
	fl[n++] = LF_S("reason", reason);
	log_limited(r, "handshake_failed", fl, n, "conn %llu, remote %s, TLS handshake failed (%s)",
	            (unsigned long long)r->id, r->peer_text, reason);
}

static void
log_refusal(struct relay *r, const struct dns_query *q, const char *what, const char *reason)
{
	metrics_refusal(dir_of(r), strcmp(what, "formerr") == 0 ? "formerr" : reason);
	if (log_threshold < XP_LOG_INFO)
		return;
	char zone[DNAME_TEXT_MAX] = "-", type[16] = "-";
	if (q->has_question) {
		dname_to_text(q->qname_lower, zone);
		dns_type_name(q->qtype, type);
	}
	struct log_field fl[10];
	size_t n = relay_log_fields(r, fl);
	fl[n++] = LF_S("zone", q->has_question ? zone : NULL);
	fl[n++] = LF_S("qtype", q->has_question ? type : NULL);
	fl[n++] = LF_S("outcome", what);
	fl[n++] = LF_S("reason", reason);
	log_limited(r, "refusal", fl, n, "conn %llu, remote %s, zone %s, %s, %s (%s)",
	            (unsigned long long)r->id, r->peer_text, zone, type, what, reason);
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
static void
up_release(struct relay *r, bool broken)
{
	if (!r->up_held)
		return;
	bool clean = !broken && relay_upstream_reusable(r);
	r->hooks->upstream_release(r, clean);
	lone_finish(r);
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
static void
inflight_done(struct relay *r, struct inflight *f)
{
	if (f->token != NULL && r->hooks->xfr_done != NULL)
		r->hooks->xfr_done(r, f->token);
	f->token = NULL;
}

static void
abort_inflight(struct relay *r, const char *reason)
{
	for (unsigned i = 0; i < r->n_inflight; i++) {
		xfr_end(r, &r->inflight[i], MX_ABORTED, reason, ev_now(r->loop));
		inflight_done(r, &r->inflight[i]);
	}
	r->n_inflight = 0;
	r->cur = NULL;
}

/* Closes both sides. notify: close_notify first (graceful close with
 * nothing owed); without it the client sees an abrupt end, which is what a
 * broken transfer must look like (DOT-13, AXFR-05). */
static void
relay_close(struct relay *r, bool notify, const char *abort_reason)
{
	if (r->state == RELAY_CLOSED)
		return;
	up_release(r, false);           /* clean only if it owes nothing: before the abort */
	if (r->n_inflight > 0)
		abort_inflight(r, abort_reason != NULL ? abort_reason : "connection closed");
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

/* ---- answer stream tracking (respscan callbacks) ------------------------ */

/* The in-flight table exists only while something is in flight. */
static int
ensure_inflight(struct relay *r)
{
	if (r->inflight == NULL)
		r->inflight = malloc(RELAY_MAX_INFLIGHT * sizeof(*r->inflight));
	return r->inflight != NULL ? 0 : -1;
}

/* Some query in flight has had a whole message of its answer relayed. */
static bool
answer_begun(const struct relay *r)
{
	for (unsigned i = 0; i < r->n_inflight; i++)
		if (r->inflight[i].xfr.messages > 0)
			return true;
	return false;
}

static struct inflight *
find_inflight(const struct relay *r, uint16_t id)
{
	for (unsigned i = 0; i < r->n_inflight; i++)
		if (r->inflight[i].xfr.id == id)
			return (struct inflight *)&r->inflight[i];
	return NULL;
}

static void
remove_inflight(struct relay *r, struct inflight *f)
{
	inflight_done(r, f);
	unsigned i = (unsigned)(f - r->inflight);
	assert(i < r->n_inflight);
	r->n_inflight--;
	if (i != r->n_inflight)
		r->inflight[i] = r->inflight[r->n_inflight];
}

/* The lone-SOA IXFR answer is over for sure (another answer began, or the
 * upstream or the session closed): its one summary line. */
static void
lone_finish(struct relay *r)
{
	if (!r->has_lone)
		return;
	r->has_lone = false;
	xfr_end(r, &r->lone, MX_OK, "lone SOA", r->lone_end);
}

/* A frame with the ID of the last lone-SOA IXFR answer: that SOA was the
 * first message of an AXFR-style answer, which goes on (IXFR-02). */
static struct inflight *
resume_lone(struct relay *r, uint16_t id)
{
	if (!r->has_lone || r->lone.xfr.id != id || r->n_inflight == RELAY_MAX_INFLIGHT ||
	    ensure_inflight(r) < 0)
		return NULL;
	r->has_lone = false;
	struct inflight *f = &r->inflight[r->n_inflight++];
	*f = r->lone;
	xfr_resume(&f->xfr);
	log_debug("conn %llu, remote %s, IXFR id %u goes on after its lone SOA (AXFR-style)",
	          (unsigned long long)r->id, r->peer_text, id);
	return f;
}

/* A frame no requester on this upstream waits for (TCP-07): up_read takes
 * its octets back out of the ring before the client can see them
 * (drop_frame). The scan stops here: whatever follows on this upstream is
 * not read. */
static void
reject_frame(struct relay *r, uint16_t id, size_t seen)
{
	r->drop_pending = true;
	r->drop_id = id;
	r->drop_len = seen;
	respscan_stop(&r->scan);
}

static void
on_frame_begin(void *ctx, const uint8_t hdr[12])
{
	struct relay *r = ctx;
	r->cur = find_inflight(r, rd16(hdr));
	if (r->cur == NULL)
		r->cur = resume_lone(r, rd16(hdr));
	if (r->cur == NULL) {
		reject_frame(r, rd16(hdr), 2 + DNS_HDR_LEN);
		return;
	}
	lone_finish(r);                 /* another answer began: the lone one is over */
	xfr_frame_begin(&r->cur->xfr, hdr);
}

static void
on_soa(void *ctx, uint32_t serial)
{
	struct relay *r = ctx;
	if (r->cur != NULL)
		xfr_soa(&r->cur->xfr, serial);
}

static void
on_frame_end(void *ctx, size_t frame_len, bool malformed)
{
	struct relay *r = ctx;
	if (r->drop_pending)
		return;
	if (frame_len < DNS_HDR_LEN) {      /* no header, no ID: nobody's answer */
		reject_frame(r, 0, 2 + frame_len);
		return;
	}
	r->last_active = ev_now(r->loop);   /* progress: a complete message (TCP-05) */
	r->up_since = r->last_active;       /* queries still owed: counted from here */
	if (malformed)
		log_debug("conn %llu, remote %s, malformed answer of %zu octets relayed",
		          (unsigned long long)r->id, r->peer_text, frame_len);
	struct inflight *f = r->cur;
	r->cur = NULL;
	if (f == NULL || !xfr_frame_end(&f->xfr, frame_len))
		return;
	if (f->xfr.rcode != 0) {
		xfr_end(r, f, MX_ERROR, NULL, ev_now(r->loop));
	} else if (xfr_lone_may_continue(&f->xfr)) {
		lone_finish(r);
		r->lone = *f;               /* logged once it is known to be over */
		r->lone.token = NULL;       /* released below with f */
		r->has_lone = true;
		r->lone_end = ev_now(r->loop);
	} else {
		xfr_end(r, f, MX_OK, NULL, ev_now(r->loop));
	}
	remove_inflight(r, f);
}

static const struct respscan_ops scan_ops = { on_frame_begin, on_soa, on_frame_end };

/* ---- local answers ------------------------------------------------------ */

static int
ensure_ring(struct relay *r)
{
	if (ring_allocated(&r->u2c))
		return 0;
	if (r->state == RELAY_CLOSED)
		return -1;                          /* nothing may be allocated after close */
	return ring_init(&r->u2c, RELAY_RING_SIZE);
}

/* Builds a local answer (no length prefix) into buf; signed with a TSIG
 * by the direction when asked. Returns its length. */
static size_t
build_answer(struct relay *r, const struct dns_query *q, enum dns_rcode rcode, int ede,
             const char *text, bool sign, void *token, uint8_t *buf, size_t cap)
{
	int n = dnsmsg_build_error(q, rcode, ede, text, buf, cap);
	assert(n > 0);
	if (sign && r->hooks->sign_answer != NULL) {
		int m = r->hooks->sign_answer(r, token, buf, (size_t)n, cap);
		if (m > 0)
			n = m;
	}
	return (size_t)n;
}

/* Builds a framed local answer into `local`. */
static void
queue_answer(struct relay *r, const struct dns_query *q, enum dns_rcode rcode, int ede,
             const char *text, bool sign, void *token)
{
	assert(r->local_len == 0);
	size_t n = build_answer(r, q, rcode, ede, text, sign, token, r->local + 2,
	                        sizeof(r->local) - 2);
	wr16(r->local, (uint16_t)n);
	r->local_len = n + 2;
}

/* Moves the local answer into the output ring at an answer frame boundary. */
static bool
flush_local(struct relay *r)
{
	if (r->state != RELAY_OPEN || r->local_len == 0 || !respscan_at_boundary(&r->scan))
		return false;
	if (ensure_ring(r) < 0 || ring_room(&r->u2c) < r->local_len)
		return false;
	ring_append(&r->u2c, r->local, r->local_len);
	r->local_len = 0;
	return true;
}

/* ---- upstream ----------------------------------------------------------- */

size_t
relay_held_octets(const struct relay *r)
{
	size_t partial = respscan_partial(&r->scan);
	if (r->drop_pending)
		return r->drop_len;
	/* a frame of 65535 octets does not fit the ring whole: only its header
	 * is held then */
	if (r->cli->ops->whole_messages && partial > 0 &&
	    (partial < 2 || 2 + r->scan.frame_len <= RELAY_RING_SIZE))
		return partial;
	return respscan_unvetted(&r->scan);
}

/* Octets of the ring the client may take now. */
static size_t
visible_octets(const struct relay *r)
{
	return ring_allocated(&r->u2c) ? ring_len(&r->u2c) - relay_held_octets(r) : 0;
}

/* An upstream that fails inside a frame no octet of which reached the
 * client: that frame is taken back, as if it had never come. True if the
 * answer stream is at a frame boundary now. */
static bool
unsend_partial_frame(struct relay *r)
{
	if (respscan_at_boundary(&r->scan))
		return true;
	size_t partial = respscan_partial(&r->scan);
	if (!ring_allocated(&r->u2c) || relay_held_octets(r) != partial)
		return false;
	ring_unwrite(&r->u2c, partial);
	respscan_init(&r->scan, r->scan.ops, r);
	r->cur = NULL;
	return true;
}

/* True if no answer octet for the queries in flight reached the client:
 * the SERVFAIL (or another upstream) may still stand in for the answers. */
static bool
nothing_relayed(struct relay *r)
{
	if (!unsend_partial_frame(r))
		return false;
	return !answer_begun(r);
}

/* The query frames kept for a retry, without those no longer waiting for
 * the first message of their answer. */
static void
rs_compact(struct relay *r)
{
	size_t rd = 0, wr = 0;
	while (rd + 4 <= r->rs_len) {
		size_t flen = 2 + (size_t)rd16(r->rs + rd);
		const struct inflight *f = find_inflight(r, rd16(r->rs + rd + 2));
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
	up_release(r, true);
	for (unsigned i = 0; i < r->n_inflight; i++) {
		struct xfr *x = &r->inflight[i].xfr;
		xfr_init(x, x->id, x->qtype, x->has_client_serial, x->client_serial, x->start);
	}
	r->in_sent = 0;
	r->rs_sent = 0;
	r->up_since = ev_now(r->loop);
}

/* Upstream unreachable, silent, or gone before sending anything for the
 * queries in flight: another upstream when the direction has one
 * (upstream_retry), else those get SERVFAIL with the direction's EDE; the
 * session stays usable. Returns false when answers were already under way
 * (the caller must abort). */
static bool
upstream_failed(struct relay *r, const char *why)
{
	if (!nothing_relayed(r))
		return false;
	if (r->hooks->upstream_retry != NULL && !r->no_retry && r->n_inflight > 0 &&
	    rs_covers_inflight(r) &&
	    r->hooks->upstream_retry(r, why)) {
		retry_upstream(r);
		return true;
	}
	if (ensure_ring(r) < 0 ||
	    ring_room(&r->u2c) < r->n_inflight * RELAY_LOCAL_SIZE + r->local_len)
		return false;
	flush_local(r);
	for (unsigned i = 0; i < r->n_inflight; i++) {
		struct inflight *f = &r->inflight[i];
		struct dns_query q = { .id = f->xfr.id, .rd = f->echo.rd, .has_question = true,
		                       .qname_len = f->echo.qname_len, .qtype = f->xfr.qtype,
		                       .qclass = DNS_CLASS_IN, .has_opt = f->echo.has_opt,
		                       .has_padding = f->echo.has_padding };
		memcpy(q.qname, f->echo.qname, f->echo.qname_len);
		uint8_t buf[RELAY_LOCAL_SIZE];
		size_t n = build_answer(r, &q, DNS_RCODE_SERVFAIL, r->hooks->upstream_fail_ede,
		                        r->hooks->upstream_fail_text, f->echo.sign, f->token, buf + 2,
		                        sizeof(buf) - 2);
		wr16(buf, (uint16_t)n);
		ring_append(&r->u2c, buf, n + 2);
		xfr_end(r, f, MX_FAILED, why, ev_now(r->loop));
		inflight_done(r, f);
	}
	r->n_inflight = 0;
	r->rs_len = r->rs_sent = 0;
	r->rs_lost = false;
	if (r->in_fwd > 0) {                /* the allowed frame not yet sent */
		memmove(r->in, r->in + r->in_fwd, r->in_len - r->in_fwd);
		r->in_len -= r->in_fwd;
		r->in_fwd = r->in_sent = 0;
	}
	up_release(r, true);
	return true;
}

/* The upstream broke: answer SERVFAIL if nothing was relayed yet, else
 * abort the session (never a fabricated end of zone, AXFR-05). */
static void
up_broken(struct relay *r, const char *what, int kind)
{
	char why[ENDPOINT_ERR_MAX + 32];
	snprintf(why, sizeof(why), "%s %s", r->hooks->upstream_label, what);
	if (r->n_inflight == 0 && r->in_fwd == 0 && respscan_at_boundary(&r->scan)) {
		log_debug("conn %llu, remote %s, upstream closed while idle (%s)",
		          (unsigned long long)r->id, r->peer_text, why);
		up_release(r, true);
		return;
	}
	if (kind >= 0)
		count_upstream_failure(r, (enum mx_upstream_fail)kind);
	if (!upstream_failed(r, why)) {
		up_release(r, true);            /* broken: never handed back as clean */
		relay_close(r, false, why);
	}
}

/* Opens the upstream at the first allowed query (not before, so a refused
 * client never costs an upstream socket). */
/* Something must go upstream: a query frame, or the frames to send again. */
static bool
up_wanted(const struct relay *r)
{
	return r->in_fwd > 0 || r->rs_sent < r->rs_len;
}

static bool
up_ensure(struct relay *r)
{
	if (!up_wanted(r) || r->up_held)
		return false;
	if (ensure_ring(r) < 0) {
		relay_close(r, false, "out of memory");
		return true;
	}
	char why[ENDPOINT_ERR_MAX];
	r->up_since = ev_now(r->loop);
	if (r->hooks->upstream_open(r, why, sizeof(why)) < 0) {
		count_upstream_failure(r, metrics_upstream_reason(why));
		if (!upstream_failed(r, why))
			relay_close(r, false, why);
		return true;
	}
	r->up_held = true;
	return true;
}
static bool
up_handshake(struct relay *r)
{
	if (!endpoint_open(r->up) || endpoint_established(r->up) || r->up->hs_blk)
		return false;
	enum io_result res = endpoint_handshake(r->up);
	if (res == IO_AGAIN)
		return false;
	if (res != IO_OK)                   /* outbound: the pool counted each primary */
		up_broken(r, r->up->err, dir_of(r) == MX_INBOUND ? MX_UP_CONNECT : -1);
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
		up_broken(r, r->up->err, MX_UP_CLOSED);
		return 0;
	}
	return res == IO_OK ? put : 0;
}

/* Sends the direction's preamble (a PROXY v2 header) first on a new
 * upstream connection, then the allowed query frame at the head of `in`. */
static bool
up_write(struct relay *r)
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
		metrics_bytes(dir_of(r), false, put);
		return done;
	}
	size_t put = up_send(r, r->in + r->in_sent, r->in_fwd - r->in_sent, &done);
	if (put == 0)
		return done;
	metrics_bytes(dir_of(r), false, put);
	r->in_sent += put;
	if (r->in_sent == r->in_fwd) {
		rs_keep(r, r->in, r->in_fwd);
		memmove(r->in, r->in + r->in_fwd, r->in_len - r->in_fwd);
		r->in_len -= r->in_fwd;
		r->in_fwd = r->in_sent = 0;
	}
	return true;
}

/* How much may be read from upstream now: ring room, and no further than
 * the end of the current frame while a local answer waits for a boundary. */
static size_t
up_read_limit(const struct relay *r)
{
	size_t room = ring_allocated(&r->u2c) ? ring_room(&r->u2c) : RELAY_RING_SIZE;
	if (r->local_len == 0)
		return room;
	if (respscan_at_boundary(&r->scan))
		return 0;                   /* the local answer goes first */
	size_t to_boundary = respscan_to_boundary(&r->scan);
	return to_boundary < room ? to_boundary : room;
}

/* A frame with an unknown ID (or no header) came: its octets leave the
 * ring unseen, it is logged once, and the upstream is retired (never
 * reused: it may send more of whatever that was). The queries in flight
 * on it fail as on any upstream failure. */
static void
drop_frame(struct relay *r)
{
	ring_unwrite(&r->u2c, r->drop_len);
	r->drop_pending = false;
	respscan_init(&r->scan, r->scan.ops, r);
	r->cur = NULL;
	char what[64];
	if (r->drop_len < 2 + DNS_HDR_LEN)
		snprintf(what, sizeof(what), "sent a frame of %zu octets", r->drop_len - 2);
	else
		snprintf(what, sizeof(what), "sent an answer with unknown id %u", r->drop_id);
	log_warning("conn %llu, remote %s, %s %s: dropped, connection retired",
	            (unsigned long long)r->id, r->peer_text, r->hooks->upstream_label, what);
	count_upstream_failure(r, MX_UP_CLOSED);     /* counted also when idle */
	up_broken(r, what, -1);
}

static bool
up_read(struct relay *r)
{
	if (!endpoint_established(r->up) || r->up->rd_blk)
		return false;
	size_t limit = up_read_limit(r);
	if (limit == 0)
		return false;
	if (ensure_ring(r) < 0) {
		relay_close(r, false, "out of memory");
		return true;
	}
	struct iovec iov[2];
	int cnt = ring_write_iov(&r->u2c, iov);
	if (iov[0].iov_len >= limit) {
		iov[0].iov_len = limit;
		cnt = 1;
	} else if (cnt == 2 && iov[0].iov_len + iov[1].iov_len > limit) {
		iov[1].iov_len = limit - iov[0].iov_len;
	}
	size_t n = 0;
	enum io_result res = r->up->ops->readv(r->up, iov, cnt, &n);
	if (res == IO_AGAIN)
		return false;
	if (res != IO_OK) {
		up_broken(r, res == IO_EOF ? "closed" : r->up->err, MX_UP_CLOSED);
		return true;
	}
	metrics_bytes(dir_of(r), true, n);
	size_t got = n, fed = 0;
	for (int i = 0; i < cnt && got > 0 && !r->drop_pending; i++) {
		size_t part = got < iov[i].iov_len ? got : iov[i].iov_len;
		fed += respscan_feed(&r->scan, iov[i].iov_base, part);
		got -= part;
	}
	ring_commit_write(&r->u2c, fed);    /* after a rejected frame: nothing more */
	if (r->drop_pending)
		drop_frame(r);
	return true;
}

/* ---- queries ------------------------------------------------------------ */

static unsigned
count_transfers(const struct relay *r)
{
	unsigned n = 0;
	for (unsigned i = 0; i < r->n_inflight; i++)
		n += r->inflight[i].xfr.qtype != DNS_TYPE_SOA;
	return n;
}

const char *
relay_cap_check(unsigned n_inflight, unsigned n_transfers, bool is_soa)
{
	if (n_inflight >= RELAY_MAX_INFLIGHT)
		return "query limit";
	if (!is_soa && n_transfers >= RELAY_MAX_XFR)
		return "transfer limit";
	return NULL;
}

/* Over the per-session caps a query is answered SERVFAIL at once (XOT-10),
 * so pipelined queries never wait unread; an SOA still passes while the
 * transfer cap is reached. */
static struct verdict
apply_caps(struct relay *r, const struct dns_query *q, struct verdict v)
{
	if (!v.forward)
		return v;
	if (find_inflight(r, q->id) != NULL) {
		/* TCP-02: an ID already in flight would make answers ambiguous. */
		v.forward = false;
		v.rcode = DNS_RCODE_FORMERR;
		v.ede = DNS_EDE_NONE;
		v.reason = "id already in flight";
	} else if (ensure_inflight(r) < 0) {
		v.forward = false;
		v.rcode = DNS_RCODE_SERVFAIL;
		v.ede = DNS_EDE_OTHER;
		v.reason = "out of memory";
	} else {
		const char *why = relay_cap_check(r->n_inflight, count_transfers(r),
		                                  q->qtype == DNS_TYPE_SOA);
		if (why != NULL) {
			v.forward = false;
			v.rcode = DNS_RCODE_SERVFAIL;
			v.ede = DNS_EDE_OTHER;
			v.reason = why;
		}
	}
	return v;
}

/* Decides one complete query frame at the head of `in` through the
 * direction's judge: an allowed one is marked for forwarding (in_fwd),
 * anything else gets a local answer. */
static void
handle_query(struct relay *r, const uint8_t *msg, size_t len)
{
	struct dns_query q;
	const char *why;
	enum dns_parse_result res = dnsmsg_parse_query(msg, len, &q, &why);
	r->last_active = ev_now(r->loop);

	if (res == DNS_PARSE_FORMERR) {
		log_refusal(r, &q, "formerr", why);
		q.has_opt = false;                  /* OPT may be the defect itself */
		queue_answer(r, &q, DNS_RCODE_FORMERR, DNS_EDE_NONE, NULL, false, NULL);
		return;
	}
	struct verdict v = apply_caps(r, &q, r->hooks->judge(r, &q, msg, len));
	if (!v.forward) {
		log_refusal(r, &q, v.rcode == DNS_RCODE_REFUSED ? "refused" : dns_rcode_name(v.rcode),
		            v.reason);
		queue_answer(r, &q, v.rcode, v.ede, v.rcode == DNS_RCODE_SERVFAIL ? v.reason : NULL,
		             v.sign, v.token);
		if (v.token != NULL && r->hooks->xfr_done != NULL)
			r->hooks->xfr_done(r, v.token);     /* a refusal's token: signing, or a
			                                     * slot admitted then over a session cap */
		return;
	}
	if (r->n_inflight == 0)
		r->up_since = r->last_active;       /* the upstream owes an answer from now */
	struct inflight *f = &r->inflight[r->n_inflight++];
	xfr_init(&f->xfr, q.id, q.qtype, q.has_ixfr_serial, q.ixfr_serial, r->last_active);
	memcpy(f->echo.qname, q.qname, q.qname_len);
	f->echo.qname_len = q.qname_len;
	f->echo.rd = q.rd;
	f->echo.has_opt = q.has_opt;
	f->echo.has_padding = q.has_padding;
	f->echo.has_tsig = q.has_tsig;
	f->echo.sign = v.sign;
	f->token = v.token;
	f->echo.tsig_len = 0;
	if (q.has_tsig && q.qname_len + q.tsig_key_len <= sizeof(f->echo.qname)) {
		memcpy(f->echo.qname + q.qname_len, q.tsig_key, q.tsig_key_len);
		f->echo.tsig_len = (uint8_t)q.tsig_key_len;
	}
	metrics_transfer_start(dir_of(r));
	r->in_fwd = len + 2;
	r->in_sent = 0;
}

/* A frame longer than RELAY_IN_SIZE: answered FORMERR (with whatever of
 * its header and question fits in the buffer) and its octets discarded as
 * they arrive, so the session goes on. */
static void
skip_oversized(struct relay *r, size_t flen)
{
	struct dns_query q;
	const char *why;
	dnsmsg_parse_query(r->in + 2, r->in_len - 2, &q, &why);
	q.has_opt = false;
	log_refusal(r, &q, "formerr", "query frame over 4094 octets");
	queue_answer(r, &q, DNS_RCODE_FORMERR, DNS_EDE_NONE, NULL, false, NULL);
	r->in_skip = flen + 2 - r->in_len;
	r->in_len = 0;
}

/* Takes complete frames from `in` while there is room to act on them. */
static bool
process_queries(struct relay *r)
{
	bool progress = false;
	while (r->state == RELAY_OPEN && r->in_fwd == 0 && r->local_len == 0 && r->in_len >= 2) {
		size_t flen = rd16(r->in);
		if (flen < DNS_HDR_LEN) {
			log_info("conn %llu, remote %s, closed: query frame of %zu octets",
			         (unsigned long long)r->id, r->peer_text, flen);
			relay_close(r, idle(r), "bad query frame");    /* no close_notify over a cut answer */
			return true;
		}
		if (flen + 2 > RELAY_IN_SIZE) {
			if (r->in_len < RELAY_IN_SIZE)
				break;              /* the header and question, as far as they fit */
			skip_oversized(r, flen);
			return true;
		}
		if (r->in_len < flen + 2)
			break;
		handle_query(r, r->in + 2, flen);
		if (r->in_fwd == 0) {               /* answered locally: drop the frame */
			memmove(r->in, r->in + flen + 2, r->in_len - flen - 2);
			r->in_len -= flen + 2;
		}
		progress = true;
	}
	return progress;
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
		if (strncmp(r->cli->ops->kind, "tls", 3) == 0)
			log_handshake_failed(r, r->cli->err);
		else                        /* a reset before the first query: not TLS */
			log_debug("conn %llu, remote %s, client connection failed (%s)",
			          (unsigned long long)r->id, r->peer_text, r->cli->err);
		relay_close(r, false, NULL);
		return true;
	}
	r->state = RELAY_OPEN;
	r->last_active = ev_now(r->loop);
	if (!r->hooks->client_ready(r))
		relay_close(r, true, NULL);
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
				relay_close(r, false, "out of memory");
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
		relay_close(r, idle(r), "client closed");
	} else {
		log_debug("conn %llu, remote %s, client read: %s", (unsigned long long)r->id,
		          r->peer_text, r->cli->err);
		relay_close(r, false, "client error");
	}
	return true;
}

/* Writes at most one TLS record's worth of the visible part of the ring.
 * After IO_AGAIN the same bytes and length are retried: the ring head does
 * not move until then (held octets only ever become visible, or leave the
 * tail unseen). Writes are not progress (TCP-05): only complete messages
 * move last_active. */
static bool
cli_write(struct relay *r)
{
	if (r->state != RELAY_OPEN || r->cli->wr_blk || !ring_allocated(&r->u2c))
		return false;
	size_t len, visible = visible_octets(r);
	const uint8_t *p = ring_read_ptr(&r->u2c, visible < TLS_RECORD_MAX ? visible : TLS_RECORD_MAX,
	                                 &len);
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
	relay_close(r, false, "client gone");
	return true;
}

/* ---- pump, events, timer ---------------------------------------------- */

static bool
idle(const struct relay *r)
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
	if (ring_allocated(&r->u2c) && idle(r) && r->cli_wr_len == 0 &&
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
	bool out = r->cli_wr_len > 0 || visible_octets(r) > 0;
	endpoint_watch(r->cli, r->in_len < RELAY_IN_SIZE && !r->stopping, out);
	if (endpoint_open(r->up))
		endpoint_watch(r->up, up_read_limit(r) > 0,
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
	return !answer_begun(r);
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
	if (idle(r)) {
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
		progress |= process_queries(r);
		progress |= up_ensure(r);
		if (r->state != RELAY_OPEN)
			break;
		progress |= up_handshake(r);
		progress |= up_write(r);
		progress |= up_read(r);
		progress |= flush_local(r);
		progress |= cli_write(r);
		/* decrypted query bytes wait inside TLS: the fd will not wake us */
		if (!progress && !r->cli->rd_blk && r->cli->ops->pending(r->cli) > 0 &&
		    r->in_len < RELAY_IN_SIZE && !r->stopping)
			progress = cli_read(r);
	} while (progress && r->state == RELAY_OPEN);

	if (r->state == RELAY_OPEN && relay_idle_action(r) != IDLE_KEEP)
		up_release(r, relay_idle_action(r) == IDLE_CLOSE);  /* a session only while in use */
	if (r->state == RELAY_OPEN && r->stopping && idle(r) && !has_complete_query(r))
		relay_close(r, true, NULL);
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
		log_handshake_failed(r, "timeout");
		relay_close(r, false, NULL);
	} else if (kind == DL_UPSTREAM) {
		count_upstream_failure(r, MX_UP_TIMEOUT);
		/* XoT error table, "backend fails before answering": SERVFAIL + EDE */
		if (upstream_failed(r, "upstream timeout"))
			relay_pump(r);
		else
			relay_close(r, false, "upstream timeout");
	} else if (kind == DL_TRANSFER) {
		/* Nothing of an answer reached the client yet: as DL_UPSTREAM,
		 * SERVFAIL with the direction's EDE, and the session goes on. */
		if (r->n_inflight > 0 && upstream_failed(r, "transfer timeout")) {
			count_upstream_failure(r, MX_UP_TIMEOUT);
			relay_pump(r);
		} else {
			if (r->n_inflight == 0)
				log_info("conn %llu, remote %s, closed: client stopped reading (transfer timeout)",
				         (unsigned long long)r->id, r->peer_text);
			relay_close(r, false, "transfer timeout");   /* an abort: no close_notify */
		}
	} else {
		log_debug("conn %llu, remote %s, closed: idle", (unsigned long long)r->id, r->peer_text);
		relay_close(r, true, NULL);   /* DOT-04: close_notify on idle close */
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
	respscan_init(&r->scan, &scan_ops, r);
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
	up_release(r, true);
	return true;
}

void
relay_stop(struct relay *r)
{
	r->stopping = true;
	if (r->state == RELAY_HANDSHAKE)
		relay_close(r, false, NULL);
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
relay_list_kill(struct fifo *list, const char *why)
{
	while (list->head != NULL)
		relay_kill(relay_of(list->head), false, why);
}

/* Closes both sides at once. A client endpoint that takes whole messages
 * (UDP) and has nothing of its answer yet gets its SERVFAIL first (issue 13,
 * item 7: every UDP query gets one answer): its writes never block. */
void
relay_kill(struct relay *r, bool notify, const char *why)
{
	if (r->state == RELAY_OPEN && r->cli->ops->whole_messages && r->n_inflight > 0) {
		r->no_retry = true;
		if (upstream_failed(r, why))
			while (r->state == RELAY_OPEN && cli_write(r))
				;
	}
	relay_close(r, notify, why);
	relay_after_event(r);
}
