/* relay_answer.c - the answer stream of the relay core: which query each
 * answer frame belongs to (respscan callbacks, the in-flight table, the
 * lone-SOA IXFR answer), the frames no query waits for (taken back out of
 * the ring unseen, issue 13), what the client may see of the ring, local
 * answers at frame boundaries, reading from the upstream, and the one
 * summary line per answer stream. */
#include "relay.h"
#include "relay_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/lib/log.h"

/* An abort's detail may be a long endpoint error: the text line cuts
 * "aborted (...)" to this many octets, NUL included (the JSON field has it
 * whole). */
#define ABORTED_TEXT_MAX 96

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
		snprintf(out, len < ABORTED_TEXT_MAX ? len : ABORTED_TEXT_MAX, "aborted (%s)", detail);
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
void
relay_xfr_end(struct relay *r, const struct inflight *f, enum mx_outcome outcome,
              const char *detail, double end)
{
	uint8_t lower[DNAME_MAXLEN];
	memcpy(lower, f->echo.qname, f->echo.qname_len);
	dname_lower(lower, f->echo.qname_len);
	metrics_transfer_end(relay_dir(r), lower, f->echo.qname_len, f->xfr.qtype, outcome);
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
/* ---- answer stream tracking (respscan callbacks) ------------------------ */

/* The in-flight table exists only while something is in flight. */
int
relay_ensure_inflight(struct relay *r)
{
	if (r->inflight == NULL)
		r->inflight = malloc(RELAY_MAX_INFLIGHT * sizeof(*r->inflight));
	return r->inflight != NULL ? 0 : -1;
}

/* Some query in flight has had a whole message of its answer relayed. */
bool
relay_answer_begun(const struct relay *r)
{
	for (unsigned i = 0; i < r->n_inflight; i++)
		if (r->inflight[i].xfr.messages > 0)
			return true;
	return false;
}

struct inflight *
relay_find_inflight(const struct relay *r, uint16_t id)
{
	for (unsigned i = 0; i < r->n_inflight; i++)
		if (r->inflight[i].xfr.id == id)
			return (struct inflight *)&r->inflight[i];
	return NULL;
}

static void
remove_inflight(struct relay *r, struct inflight *f)
{
	relay_inflight_done(r, f);
	unsigned i = (unsigned)(f - r->inflight);
	assert(i < r->n_inflight);
	r->n_inflight--;
	if (i != r->n_inflight)
		r->inflight[i] = r->inflight[r->n_inflight];
}

/* The lone-SOA IXFR answer is over for sure (another answer began, or the
 * upstream or the session closed): its one summary line. */
void
relay_lone_finish(struct relay *r)
{
	if (!r->has_lone)
		return;
	r->has_lone = false;
	relay_xfr_end(r, &r->lone, MX_OK, "lone SOA", r->lone_end);
}

/* A frame with the ID of the last lone-SOA IXFR answer: that SOA was the
 * first message of an AXFR-style answer, which goes on (IXFR-02). */
static struct inflight *
resume_lone(struct relay *r, uint16_t id)
{
	if (!r->has_lone || r->lone.xfr.id != id || r->n_inflight == RELAY_MAX_INFLIGHT ||
	    relay_ensure_inflight(r) < 0)
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
	r->cur = relay_find_inflight(r, rd16(hdr));
	if (r->cur == NULL)
		r->cur = resume_lone(r, rd16(hdr));
	if (r->cur == NULL) {
		reject_frame(r, rd16(hdr), 2 + DNS_HDR_LEN);
		return;
	}
	relay_lone_finish(r);                 /* another answer began: the lone one is over */
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
		relay_xfr_end(r, f, MX_ERROR, NULL, ev_now(r->loop));
	} else if (xfr_lone_may_continue(&f->xfr)) {
		relay_lone_finish(r);
		r->lone = *f;               /* logged once it is known to be over */
		r->lone.token = NULL;       /* released below with f */
		r->has_lone = true;
		r->lone_end = ev_now(r->loop);
	} else {
		relay_xfr_end(r, f, MX_OK, NULL, ev_now(r->loop));
	}
	remove_inflight(r, f);
}

const struct respscan_ops relay_scan_ops = { on_frame_begin, on_soa, on_frame_end };
/* ---- local answers ------------------------------------------------------ */

int
relay_ensure_ring(struct relay *r)
{
	if (ring_allocated(&r->u2c))
		return 0;
	if (r->state == RELAY_CLOSED)
		return -1;                          /* nothing may be allocated after close */
	return ring_init(&r->u2c, RELAY_RING_SIZE);
}

/* Builds a local answer (no length prefix) into buf; signed with a TSIG
 * by the direction when asked. Returns its length. */
size_t
relay_build_answer(struct relay *r, const struct dns_query *q, enum dns_rcode rcode, int ede,
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
void
relay_queue_answer(struct relay *r, const struct dns_query *q, enum dns_rcode rcode, int ede,
             const char *text, bool sign, void *token)
{
	assert(r->local_len == 0);
	size_t n = relay_build_answer(r, q, rcode, ede, text, sign, token, r->local + 2,
	                        sizeof(r->local) - 2);
	wr16(r->local, (uint16_t)n);
	r->local_len = n + 2;
}

/* Moves the local answer into the output ring at an answer frame boundary. */
bool
relay_flush_local(struct relay *r)
{
	if (r->state != RELAY_OPEN || r->local_len == 0 || !respscan_at_boundary(&r->scan))
		return false;
	if (relay_ensure_ring(r) < 0 || ring_room(&r->u2c) < r->local_len)
		return false;
	ring_append(&r->u2c, r->local, r->local_len);
	r->local_len = 0;
	return true;
}
/* ---- what the client may see ------------------------------------------- */

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
size_t
relay_visible_octets(const struct relay *r)
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
bool
relay_nothing_relayed(struct relay *r)
{
	if (!unsend_partial_frame(r))
		return false;
	return !relay_answer_begun(r);
}
/* ---- reading from the upstream ------------------------------------------ */

/* How much may be read from upstream now: ring room, and no further than
 * the end of the current frame while a local answer waits for a boundary. */
size_t
relay_up_read_limit(const struct relay *r)
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
	            (unsigned long long)r->id, r->peer_text, dir_upstream_label(r->hooks->direction),
	            what);
	relay_count_upstream_failure(r, RSN_UP_CLOSED);    /* counted also when idle */
	relay_up_broken(r, RSN_UP_CLOSED, what, false);
}

bool
relay_up_read(struct relay *r)
{
	if (!endpoint_established(r->up) || r->up->rd_blk)
		return false;
	size_t limit = relay_up_read_limit(r);
	if (limit == 0)
		return false;
	if (relay_ensure_ring(r) < 0) {
		relay_close(r, false, RSN_NO_MEMORY, NULL);
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
		relay_up_broken(r, RSN_UP_CLOSED, res == IO_EOF ? NULL : r->up->err, true);
		return true;
	}
	metrics_bytes(relay_dir(r), true, n);
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
