/* fuzz_relay.c - libFuzzer target: the relay core (proxy/relay.c) between two
 * in-memory endpoints. The client sends arbitrary query frames and the
 * backend an arbitrary byte stream, each in pieces the input chooses; the
 * input also chooses the verdicts, short writes, blocked operations, errors,
 * timer expiries and a server stop. The loop is never run: every "event" is
 * a direct relay_on_event (or ev_invoke of the relay's timer) after
 * clearing the blocks the input says became ready.
 *
 * Input layout (big-endian lengths):
 *   f0 f1 f2 v0 v1 v2 v3   flags (below) and the verdicts of queries k%4
 *   u16 n, n octets        the client's byte stream (query frames)
 *   u16 m, m octets        the backend's byte stream (answer frames)
 *   rest                   control ops, one octet each: op = c & 7, arg = c >> 3
 *     0 client data arrives (arg: chunk size; 31: the client closes after
 *       what arrived)   1 backend data arrives (idem, 31: this upstream
 *       connection ends; the next one goes on with the rest of the stream)
 *     2 client writable (arg: budget; 31: the next write fails)
 *     3 upstream writable (idem)   4 handshakes may go on   5 timer fires
 *     (arg & 3: 0 the limits as they are, 1 all 0, 2 upstream 0, 3 handshake
 *     and idle 0; the clock never moves, so a 0 limit has passed)
 *     6 arg even: relay_stop; arg odd: a configuration reload (the harness
 *       drops its reference to the current snapshot and makes a new one)
 *     7 everything ready
 *   A peer whose stream is not chunked sends it all at once and then closes;
 *   a chunked one sends what the ops say and closes only when told.
 *
 * Invariants (issue 13 added the first two and the last two):
 *  (a) every message the client receives carries the ID of a query it sent
 *      that is still owed: a backend frame reaches the client only if its ID
 *      is that of a query written on the same upstream connection
 *      (never another requester's, never one that already got its local
 *      answer on an earlier connection); a frame shorter than a header
 *      never does; a frame not relayed retires its connection (no later
 *      frame of that connection is relayed); a client endpoint that takes
 *      whole messages (UDP) never gets part of a frame;
 *  (b) an upstream released clean owes no octets: nothing in flight, no
 *      lone-SOA IXFR answer that may go on, at a frame boundary both ways
 *      (and the older rules below);
 *  (c) configuration snapshots are refcounted heap objects; each verdict
 *      token holds a reference (the relay keeps nothing else of them), the
 *      harness holds one to the current snapshot, a reload drops it and
 *      makes a new one; sign_answer and xfr_done read the token's snapshot,
 *      so ASan reports any use after the last reference went;
 *  (d) with upstream_retry (F2_RETRY, at most 3 tries) the queries sent
 *      again on a new connection arrive whole and in client order;
 *  (e) the outbound direction (F2_OUTBOUND) releases idle upstreams, as the
 *      real one does: after every event an open relay holds no quiet
 *      upstream (relay_idle_action is IDLE_KEEP: one owing nothing went
 *      back clean, one whose only debt is a lone newer SOA was closed);
 *  (f) the first-octet deadline (upstream limit 0, op 5 arg 2) acts while a
 *      whole-message client has nothing of the answers in flight (no
 *      complete message, its output at a frame boundary), even with the
 *      start of a frame held: the relay closes, answers the queries in
 *      flight, or tries another upstream; it never leaves them waiting
 *      (queries judged during that event may be in flight afterwards).
 * Checked once the relay has closed (by itself, or through relay_kill at
 * the end of the input; the kill writes nothing, except the SERVFAIL
 * owed to a whole-message client that got nothing of its answer):
 *  - the client output is a sequence of whole frames; only an abort (no
 *    close_notify, or our own kill) may leave a truncated last frame;
 *  - each frame is either the next backend frame, byte for byte and in
 *    order, or a local answer: QR=1, the ID, opcode, RD and question of a
 *    query the client sent, no records but one OPT at most, RCODE
 *    FORMERR/SERVFAIL/NOTIMP/REFUSED (BADVERS through the OPT), never more
 *    local answers for an ID than queries with it; a local answer inside a
 *    backend frame breaks the framing and fails the first rule;
 *  - what goes upstream is the preamble (PROXY v2, when set) and then whole
 *    client query frames, untouched, in order;
 *  - after IO_AGAIN a write is retried with the same pointer, length and
 *    octets; no operation on a closed endpoint, no zero-length read/write;
 *  - an upstream released "clean" saw no error, ends at a frame boundary
 *    both ways, and owes no answer to a query written on it;
 *  - every verdict token comes back exactly once (xfr_done); only local
 *    answers are given to sign_answer;
 *  - closed is called exactly once, with both endpoints closed; buffers
 *    are freed (LeakSanitizer).
 *
 * It found three faults in relay.c, now fixed and checked here: close_notify
 * after a cut answer frame; an upstream released "clean" after an error or
 * while it still owed answers; the answer ring allocated again after close. */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/lib/log.h"
#include "proxy/policy.h"
#include "proxy/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_WRITE_MAX 16384          /* relay.c writes at most one TLS record */
#define FZ_MAX_SEG 64               /* upstream connections remembered */
#define FZ_MAX_Q (65536 / 14 + 1)   /* client frames: the most a u16-long stream holds */

/* f0 */
#define F0_CLI_CHUNKED   0x01       /* client bytes arrive by op 0 (else all at once) */
#define F0_BE_CHUNKED    0x02       /* backend bytes arrive by op 1 */
#define F0_CLI_THROTTLED 0x04       /* client writes limited by op 2 budgets */
#define F0_UP_THROTTLED  0x08       /* upstream writes limited by op 3 budgets */
#define F0_CLI_END_ERR   0x10       /* the client stream ends in IO_ERR, not IO_EOF */
#define F0_BE_END_ERR    0x20       /* idem, the backend */
#define F0_KILL_NOTIFY   0x40       /* relay_kill(notify) at the end */
#define F0_IPV6          0x80
/* f1 */
#define F1_CLI_HS_AGAIN  0x03       /* IO_AGAIN count of the client handshake */
#define F1_CLI_HS_FAIL   0x04
#define F1_NOT_READY     0x08       /* client_ready says no */
#define F1_UP_HS_AGAIN   0x30
#define F1_UP_HS_FAIL    0x40       /* the first upstream handshake fails */
#define F1_OPEN_FAIL     0x80       /* the first upstream_open fails */
/* f2 */
#define F2_OUTBOUND      0x01       /* the outbound direction's SERVFAIL EDE */
#define F2_DEBUG         0x02       /* log at debug (to /dev/null), else warnings only */
#define F2_OPEN_FAIL_ALL 0x04       /* every upstream_open after the first fails too */
#define F2_PREAMBLE      0x08       /* a PROXY v2 header goes first on each upstream */
#define F2_WHOLE         0x10       /* the client endpoint takes whole messages (UDP) */
#define F2_RETRY         0x20       /* upstream_retry says yes, up to 3 times */
#define FZ_MAX_RETRY 3

/* What inbound's backend-source sends before any query (PROXY v2, TCP over
 * IPv4, 192.0.2.1:53000 -> 192.0.2.53:53). */
static const uint8_t preamble[28] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
	192, 0, 2, 1, 192, 0, 2, 53, 0xcf, 0x08, 0x00, 0x35,
};

struct obuf {
	uint8_t *p;
	size_t len, cap;
};

/* One in-memory endpoint: reads come from a script, writes go to a sink. */
struct fz_ep {
	struct endpoint ep;             /* first: the relay holds &ep */
	int blk_hs;                     /* what the handshake waits for */
	/* read side */
	const uint8_t *src;
	size_t src_len, off;            /* off: octets delivered so far */
	size_t avail;                   /* arrived, not yet read; SIZE_MAX: not chunked */
	bool end_err, eof_now;
	/* write side */
	bool throttled, fail_write;
	size_t budget;
	struct obuf *sink;
	bool again;                     /* the last write said IO_AGAIN */
	const uint8_t *again_p;
	size_t again_len;
	uint8_t *again_copy;            /* FZ_WRITE_MAX octets */
	/* set-up and close */
	unsigned hs_again;
	bool hs_fail;
	bool saw_error;                 /* an operation returned IO_EOF or IO_ERR */
	bool read_end;                  /* a read returned IO_EOF or IO_ERR */
	int closes;
	bool graceful;
};

struct fz_query {                   /* one client frame, as the relay parses it */
	size_t start, flen;             /* offset in the client stream; message length */
	bool complete;                  /* all of it delivered */
	bool answered;                  /* a local answer was matched to it */
	uint16_t id, qtype, qclass;
	uint8_t opcode;
	bool rd, has_question;
	size_t qname_len;
	uint8_t qname[DNAME_MAXLEN];
};

static struct fz {
	struct relay relay;
	struct fz_ep cli, up;
	uint8_t f0, f1, f2, verdict[4];
	const uint8_t *ctl;
	size_t ctl_len, ctl_off;
	struct obuf out, upq;           /* octets the client got; octets sent upstream */
	size_t upq_seg[FZ_MAX_SEG], be_seg[FZ_MAX_SEG];  /* each connection's start */
	bool seg_retry[FZ_MAX_SEG];     /* opened after upstream_retry said yes */
	unsigned n_conns, n_open_calls, n_retries;
	bool retry_pending;
	struct fz_fwd { uint16_t id; unsigned conn; } fwd[FZ_MAX_Q];   /* forward verdicts */
	size_t n_fwd;
	unsigned judged, closed_calls;
	unsigned expire;                /* which limits are 0 while the timer fires */
	bool killed, stopped, idle_fired;
	bool bad_frame;                 /* the client sent a frame shorter than a header */
	size_t n_qs;
} H;

static struct fz_query qs[FZ_MAX_Q];          /* H.n_qs of them */

/* A configuration snapshot: the verdicts in force. Refcounted; freed at
 * the last reference, so ASan catches a use after that. */
struct fz_snap {
	unsigned refs;
	uint8_t verdict[4];
	unsigned gen;
};
static struct fz_snap *cur_snap;                /* the harness's reference */

static struct fz_snap *
snap_new(const uint8_t verdict[4], unsigned gen)
{
	struct fz_snap *s = malloc(sizeof(*s));
	if (s == NULL)
		abort();
	s->refs = 1;
	memcpy(s->verdict, verdict, 4);
	s->gen = gen;
	return s;
}

static struct fz_snap *
snap_ref(struct fz_snap *s)
{
	s->refs++;
	return s;
}

static void
snap_put(struct fz_snap *s)
{
	if (--s->refs == 0)
		free(s);
}

struct fz_token {                             /* the k-th verdict's, if it had one */
	bool issued;
	unsigned returned;
	struct fz_snap *snap;                     /* a reference while issued */
};
static struct fz_token tokens[FZ_MAX_Q];      /* H.judged of them */
static uint8_t again_copy[2][FZ_WRITE_MAX];

static struct ev_loop *loop;

/* The checking code stays out of the coverage feedback: its loops would
 * flood libFuzzer with features that say nothing about the relay. */
#define FZ_NOCOV __attribute__((no_sanitize("coverage")))

#define FZ_CHECK(cond, ...)                                                    \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_relay: invariant: " __VA_ARGS__); \
			fputc('\n', stderr);                                   \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

static FZ_NOCOV void
obuf_add(struct obuf *b, const uint8_t *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (b->p == NULL)
			abort();
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static size_t
chunk_size(unsigned arg)
{
	static const size_t sizes[32] = { 1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 14, 16, 17, 31, 32, 64,
		100, 127, 128, 255, 256, 511, 512, 1000, 1024, 2047, 2048, 4095, 4096, 4097, 16384,
		65535 };
	return sizes[arg & 31];
}

static struct fz_ep *
fz_of(struct endpoint *ep)
{
	FZ_CHECK(ep == &H.cli.ep || ep == &H.up.ep, "unknown endpoint %p", (void *)ep);
	FZ_CHECK(endpoint_open(ep), "operation on a closed %s endpoint", ep->ops->kind);
	return (struct fz_ep *)ep;
}

/* ---- endpoint ops ------------------------------------------------------- */

static enum io_result
fz_handshake(struct endpoint *ep)
{
	struct fz_ep *e = fz_of(ep);
	FZ_CHECK(!endpoint_established(ep), "handshake on an established %s endpoint", ep->ops->kind);
	if (e->hs_again > 0) {
		e->hs_again--;
		ep->hs_blk = e->blk_hs;
		return IO_AGAIN;
	}
	if (e->hs_fail) {
		e->saw_error = true;
		snprintf(ep->err, sizeof(ep->err), "fuzz: handshake failed");
		return IO_ERR;
	}
	return IO_OK;
}

static enum io_result
fz_readv(struct endpoint *ep, const struct iovec *iov, int cnt, size_t *got)
{
	struct fz_ep *e = fz_of(ep);
	FZ_CHECK(endpoint_established(ep) && ep->rd_blk == 0, "%s read while not runnable", ep->ops->kind);
	size_t room = 0;
	for (int i = 0; i < cnt; i++)
		room += iov[i].iov_len;
	FZ_CHECK(cnt >= 1 && cnt <= 2 && room > 0, "%s read of %zu octets in %d spans",
	         ep->ops->kind, room, cnt);
	size_t left = e->src_len - e->off;
	size_t n = e->avail < left ? e->avail : left;
	bool chunked = e->avail != SIZE_MAX;
	if (n == 0 || (e->eof_now && !chunked)) {
		/* a chunked peer closes when told; the other when it has sent all */
		if (e->eof_now || !chunked) {
			e->saw_error = e->read_end = true;
			snprintf(ep->err, sizeof(ep->err), "fuzz: stream ends");
			return e->end_err ? IO_ERR : IO_EOF;
		}
		ep->rd_blk = EV_READ;
		return IO_AGAIN;
	}
	if (n > room)
		n = room;
	size_t done = 0;
	for (int i = 0; i < cnt && done < n; i++) {
		size_t part = n - done < iov[i].iov_len ? n - done : iov[i].iov_len;
		memcpy(iov[i].iov_base, e->src + e->off + done, part);
		done += part;
	}
	e->off += n;
	if (e->avail != SIZE_MAX)
		e->avail -= n;
	*got = n;
	return IO_OK;
}

static enum io_result
fz_write(struct endpoint *ep, const uint8_t *buf, size_t len, size_t *put)
{
	struct fz_ep *e = fz_of(ep);
	FZ_CHECK(endpoint_established(ep) && ep->wr_blk == 0, "%s write while not runnable", ep->ops->kind);
	FZ_CHECK(len > 0 && len <= FZ_WRITE_MAX, "%s write of %zu octets", ep->ops->kind, len);
	if (e->again) {
		FZ_CHECK(buf == e->again_p && len == e->again_len &&
		         memcmp(buf, e->again_copy, len) == 0,
		         "%s write after IO_AGAIN not retried with the same octets (%zu, was %zu)",
		         ep->ops->kind, len, e->again_len);
		e->again = false;
	}
	if (e->fail_write) {
		e->saw_error = true;
		snprintf(ep->err, sizeof(ep->err), "fuzz: write failed");
		return IO_ERR;
	}
	size_t n = e->throttled && e->budget < len ? e->budget : len;
	if (n == 0) {
		e->again = true;
		e->again_p = buf;
		e->again_len = len;
		memcpy(e->again_copy, buf, len);
		ep->wr_blk = EV_WRITE;
		return IO_AGAIN;
	}
	if (e->throttled)
		e->budget -= n;
	obuf_add(e->sink, buf, n);
	*put = n;
	return IO_OK;
}

static size_t
fz_pending(const struct endpoint *ep)
{
	const struct fz_ep *e = (const struct fz_ep *)ep;
	size_t left = e->src_len - e->off;
	return e->avail < left ? e->avail : left;   /* "decrypted and waiting" */
}

static void
fz_close(struct endpoint *ep, bool graceful)
{
	struct fz_ep *e = fz_of(ep);
	e->closes++;
	e->graceful = graceful;
	e->again = false;
	ep->fd = -1;
}

static const struct endpoint_ops cli_ops = {
	.kind = "fuzz-client", .write_max = 16384, .handshake = fz_handshake, .readv = fz_readv, .write = fz_write,
	.pending = fz_pending, .close = fz_close,
};

static const struct endpoint_ops cli_whole_ops = {
	.kind = "fuzz-udp-client", .whole_messages = true, .handshake = fz_handshake,
	.readv = fz_readv, .write = fz_write, .pending = fz_pending, .close = fz_close,
};

static const struct endpoint_ops up_ops = {
	.kind = "fuzz-upstream", .handshake = fz_handshake, .readv = fz_readv, .write = fz_write,
	.pending = fz_pending, .close = fz_close,
};

/* ---- frames ------------------------------------------------------------- */

struct fz_frame {
	size_t start, len;              /* prefix included */
	bool complete;
	unsigned conn;                  /* upstream connection (backend frames) */
};

/* Splits p[0..n) into length-prefixed frames (the last one may be cut);
 * appends them to *v (grown as needed). */
static FZ_NOCOV void
split_frames(const uint8_t *p, size_t n, size_t base, struct fz_frame **v, size_t *cnt, size_t *cap)
{
	size_t pos = 0;
	while (pos < n) {
		if (*cnt == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*v = realloc(*v, *cap * sizeof(**v));
			if (*v == NULL)
				abort();
		}
		size_t flen = n - pos >= 2 ? 2 + (size_t)rd16(p + pos) : SIZE_MAX;
		bool complete = flen <= n - pos;
		(*v)[(*cnt)++] = (struct fz_frame){ base + pos, complete ? flen : n - pos, complete, 0 };
		pos += complete ? flen : n - pos;
	}
}

static FZ_NOCOV size_t
seg_end(const size_t *seg, unsigned k, size_t total)
{
	return k + 1 < H.n_conns ? seg[k + 1] : total;
}

/* The frames of upstream connection k in one direction. Queries come
 * after the whole preamble, if there is one. */
static FZ_NOCOV size_t
conn_frames(unsigned k, bool queries, struct fz_frame **v)
{
	const uint8_t *p = queries ? H.upq.p : H.up.src;
	const size_t *seg = queries ? H.upq_seg : H.be_seg;
	size_t start = seg[k], end = seg_end(seg, k, queries ? H.upq.len : H.up.off), cnt = 0, cap = 0;
	if (queries && (H.f2 & F2_PREAMBLE) && end > start) {
		size_t n = end - start < sizeof(preamble) ? end - start : sizeof(preamble);
		FZ_CHECK(memcmp(p + start, preamble, n) == 0, "upstream %u: preamble not sent first", k);
		start += n;
	}
	*v = NULL;
	if (end > start)                /* (p is NULL while nothing was written) */
		split_frames(p + start, end - start, start, v, &cnt, &cap);
	return cnt;
}

/* The client's frames as far as they were delivered, each parsed on what
 * the relay would parse (at most RELAY_IN_SIZE - 2 octets of it). */
static FZ_NOCOV void
scan_client_frames(void)
{
	const uint8_t *p = H.cli.src;
	size_t n = H.cli.off, pos = 0;
	H.n_qs = 0;
	while (pos + 2 <= n && H.n_qs < FZ_MAX_Q) {
		size_t flen = rd16(p + pos), have = n - pos - 2;
		if (flen < DNS_HDR_LEN) {
			H.bad_frame = true;     /* the relay closes there */
			break;
		}
		if (have < 2)
			break;                  /* no ID yet */
		if (have > flen)
			have = flen;
		struct fz_query *c = &qs[H.n_qs++];
		struct dns_query q;
		const char *why;
		dnsmsg_parse_query(p + pos + 2, have < RELAY_IN_SIZE - 2 ? have : RELAY_IN_SIZE - 2, &q,
		                   &why);
		*c = (struct fz_query){ .start = pos, .flen = flen, .complete = have == flen,
		                        .id = rd16(p + pos + 2), .qtype = q.qtype, .qclass = q.qclass,
		                        .opcode = q.opcode, .rd = q.rd, .has_question = q.has_question,
		                        .qname_len = q.qname_len };
		memcpy(c->qname, q.qname, q.qname_len);
		pos += 2 + flen;
	}
}

/* ---- local answers ------------------------------------------------------ */

struct fz_answer {
	uint16_t id, qtype, qclass;
	uint8_t opcode;
	bool rd, has_question;
	size_t qname_len;
	uint8_t qname[DNAME_MAXLEN];
	unsigned rcode;                 /* extended through the OPT */
};

/* Parses m[0..n) as the proxy's own answer; false if it is not shaped like
 * one (header, the question at most, an OPT, our fake TSIG last). */
static FZ_NOCOV bool
parse_local(const uint8_t *m, size_t n, struct fz_answer *a)
{
	if (n < DNS_HDR_LEN || n > DNS_ERROR_MAX || !(m[2] & 0x80) || (m[2] & 0x06) != 0 ||
	    (m[3] & 0xF0) != 0 || rd16(m + 4) > 1 || rd16(m + 6) != 0 || rd16(m + 8) != 0 ||
	    rd16(m + 10) > 2)
		return false;
	memset(a, 0, sizeof(*a));
	a->id = rd16(m);
	a->opcode = (m[2] >> 3) & 0x0F;
	a->rd = m[2] & 0x01;
	a->rcode = m[3] & 0x0F;
	size_t pos = DNS_HDR_LEN;
	if (rd16(m + 4) == 1) {
		int len = dnsmsg_read_name(m, n, &pos, a->qname);
		if (len < 0 || n - pos < 4)
			return false;
		a->has_question = true;
		a->qname_len = (size_t)len;
		a->qtype = rd16(m + pos);
		a->qclass = rd16(m + pos + 2);
		pos += 4;
	}
	for (unsigned i = 0; i < rd16(m + 10); i++) {   /* OPT, then a TSIG if signed */
		if (n - pos < 11 || m[pos] != 0)
			return false;
		uint16_t type = rd16(m + pos + 1);
		if (type == DNS_TYPE_OPT && i == 0 && m[pos + 6] == 0)
			a->rcode |= (unsigned)m[pos + 5] << 4;
		else if (type != DNS_TYPE_TSIG || i + 1 != rd16(m + 10))
			return false;
		pos += 11 + rd16(m + pos + 9);
		if (pos > n)
			return false;
	}
	if (pos != n)
		return false;
	return a->rcode == DNS_RCODE_FORMERR || a->rcode == DNS_RCODE_SERVFAIL ||
	       a->rcode == DNS_RCODE_NOTIMP || a->rcode == DNS_RCODE_REFUSED ||
	       a->rcode == DNS_RCODE_BADVERS;
}

/* True if the frame (prefix included) is a local answer to a client query
 * not yet answered locally; marks that query. */
static FZ_NOCOV bool
is_local_answer(const uint8_t *f, size_t len)
{
	struct fz_answer a;
	if (!parse_local(f + 2, len - 2, &a))
		return false;
	for (size_t i = 0; i < H.n_qs; i++) {
		struct fz_query *c = &qs[i];
		if (c->answered || c->id != a.id || c->opcode != a.opcode || c->rd != a.rd ||
		    c->has_question != a.has_question)
			continue;
		if (a.has_question && (c->qtype != a.qtype || c->qclass != a.qclass ||
		                       c->qname_len != a.qname_len ||
		                       memcmp(c->qname, a.qname, a.qname_len) != 0))
			continue;
		c->answered = true;
		return true;
	}
	return false;
}

/* Like is_local_answer, without marking the query. */
static FZ_NOCOV bool
is_local_answer_peek(const uint8_t *f, size_t len)
{
	struct fz_answer a;
	if (!parse_local(f + 2, len - 2, &a))
		return false;
	for (size_t i = 0; i < H.n_qs; i++) {
		const struct fz_query *c = &qs[i];
		if (!c->answered && c->id == a.id && c->opcode == a.opcode && c->rd == a.rd &&
		    c->has_question == a.has_question &&
		    (!a.has_question || (c->qtype == a.qtype && c->qclass == a.qclass &&
		                         c->qname_len == a.qname_len &&
		                         memcmp(c->qname, a.qname, a.qname_len) == 0)))
			return true;
	}
	return false;
}

/* A cut local answer: its ID is a client's and QR is set, as far as seen. */
static FZ_NOCOV bool
is_local_prefix(const uint8_t *f, size_t len)
{
	if (len >= 4) {
		bool known = false;
		for (size_t i = 0; i < H.n_qs && !known; i++)
			known = qs[i].id == rd16(f + 2);
		if (!known)
			return false;
	}
	return len < 5 || (f[4] & 0x80);
}

/* ---- the invariants ----------------------------------------------------- */

/* True if a query with this ID is owed an answer on connection k: it was
 * written there (at least its ID: the scripted backend may answer before
 * the rest went out), or allowed while k was the upstream in use (or the
 * next one), or, on a connection opened for a retry, allowed earlier. */
static FZ_NOCOV bool
sent_on(unsigned k, uint16_t id)
{
	for (size_t i = 0; i < H.n_fwd; i++)
		if (H.fwd[i].id == id && (H.fwd[i].conn == k || (H.seg_retry[k] && H.fwd[i].conn < k)))
			return true;
	struct fz_frame *q;
	size_t nq = conn_frames(k, true, &q);
	bool found = false;
	for (size_t i = 0; i < nq && !found; i++)
		found = q[i].len >= 4 && rd16(H.upq.p + q[i].start + 2) == id;
	free(q);
	return found;
}

/* The first backend frame at or after bi that f[0..len) is (or, cut, a
 * prefix of); n_be if none. */
static FZ_NOCOV size_t
find_backend(const struct fz_frame *be, size_t n_be, size_t bi, const uint8_t *f, size_t len,
             bool whole)
{
	for (size_t j = bi; j < n_be; j++)
		if (len <= be[j].len && (!whole || (be[j].complete && len == be[j].len)) &&
		    memcmp(f, H.up.src + be[j].start, len) == 0)
			return j;
	return n_be;
}

/* Invariant (a) for backend frame j, relayed after be[bi..j) were not:
 * its ID was asked on its connection, and no frame of that connection
 * was withheld before it. */
static FZ_NOCOV void
check_relayed(const struct fz_frame *be, size_t bi, size_t j, size_t len)
{
	FZ_CHECK(be[j].len >= 2 + DNS_HDR_LEN, "client got %zu octets of backend frame %zu, "
	         "which is shorter than a header", len, j);
	uint16_t id = rd16(H.up.src + be[j].start + 2);
	FZ_CHECK(sent_on(be[j].conn, id), "backend frame %zu (id %u, connection %u) relayed: no "
	         "query with that ID was written on that connection", j, id, be[j].conn);
	for (size_t k = bi; k < j; k++)
		FZ_CHECK(be[k].conn != be[j].conn, "backend frame %zu withheld but frame %zu of the "
		         "same connection %u relayed after it", k, j, be[j].conn);
}

/* True if be[j] may be relayed after be[bi..j) were not: none of those is
 * on its connection, and its ID was asked there. */
static FZ_NOCOV bool
may_skip_to(const struct fz_frame *be, size_t bi, size_t j)
{
	for (size_t k = bi; k < j; k++)
		if (be[k].conn == be[j].conn)
			return false;
	return be[j].len >= 2 + DNS_HDR_LEN && sent_on(be[j].conn, rd16(H.up.src + be[j].start + 2));
}

/* Every octet the client got: backend frames in order, untouched, with
 * whole local answers between them; withheld frames retire their
 * connection. */
static FZ_NOCOV void
check_client_output(bool cut_ok, bool cut_backend_ok)
{
	struct fz_frame *be = NULL, *out = NULL;
	size_t n_be = 0, cap_be = 0, n_out = 0, cap_out = 0;
	for (unsigned k = 0; k < H.n_conns; k++) {
		size_t end = seg_end(H.be_seg, k, H.up.off), from = n_be;
		split_frames(H.up.src + H.be_seg[k], end - H.be_seg[k], H.be_seg[k], &be, &n_be, &cap_be);
		for (size_t i = from; i < n_be; i++)
			be[i].conn = k;
	}
	if (H.out.len > 0)
		split_frames(H.out.p, H.out.len, 0, &out, &n_out, &cap_out);
	bool whole = H.f2 & F2_WHOLE, big = false;
	for (size_t j = 0; j < n_be; j++)   /* does not fit the ring whole: streamed */
		big |= be[j].len >= 2 && rd16(H.up.src + be[j].start) == 65535;
	size_t bi = 0;
	for (size_t i = 0; i < n_out; i++) {
		const uint8_t *f = H.out.p + out[i].start;
		size_t len = out[i].len;
		if (!out[i].complete) {
			size_t j = find_backend(be, n_be, bi, f, len, false);
			FZ_CHECK(!whole || big, "a client that takes whole messages got a cut frame "
			         "(%zu octets at %zu)", len, out[i].start);
			FZ_CHECK(cut_ok || (cut_backend_ok && j < n_be),
			         "client got a cut frame (%zu octets at %zu) and close_notify",
			         len, out[i].start);
			FZ_CHECK(j < n_be || is_local_prefix(f, len),
			         "cut last frame at %zu is neither a backend frame from %zu on nor a local "
			         "answer", out[i].start, bi);
			if (j < n_be && !is_local_prefix(f, len))
				check_relayed(be, bi, j, len);
			break;
		}
		size_t j = find_backend(be, n_be, bi, f, len, true);
		/* a local answer that equals a backend frame is taken as the
		 * local answer (skipping backend frames is the rare case), unless
		 * that backend frame may be relayed there (every frame skipped is
		 * on another connection, its ID was asked on its own): a backend
		 * may answer with the very SERVFAIL the relay would make (seeds
		 * servfail-like-local, formerr-like-backend), and a frame the
		 * relay dropped (an unknown ID) may equal the FORMERR it makes
		 * later for a query with that ID (seed formerr-like-dropped) */
		if (j < n_be && (!is_local_answer_peek(f, len) || may_skip_to(be, bi, j))) {
			check_relayed(be, bi, j, len);
			bi = j + 1;
			continue;
		}
		FZ_CHECK(is_local_answer(f, len),
		         "client frame %zu (%zu octets at %zu) is neither a backend frame from %zu on "
		         "nor a local answer", i, len, out[i].start, bi);
	}
	free(be);
	free(out);
}

/* Index of the first complete client frame at or after *ci equal to (or,
 * cut, starting with) f; advances *ci past it. */
static FZ_NOCOV void
match_query(const uint8_t *f, size_t len, bool complete, size_t *ci)
{
	for (size_t j = *ci; j < H.n_qs; j++) {
		const struct fz_query *c = &qs[j];
		if (!c->complete || c->flen + 2 > RELAY_IN_SIZE || len > c->flen + 2 ||
		    (complete && len != c->flen + 2) || memcmp(f, H.cli.src + c->start, len) != 0)
			continue;
		*ci = j + 1;
		return;
	}
	FZ_CHECK(0, "upstream got %s%zu octets that are no later client query", complete ? "" : "cut ",
	         len);
}

/* Queries upstream: whole client frames of at most RELAY_IN_SIZE, in order. */
static FZ_NOCOV void
check_upstream_queries(void)
{
	size_t ci = 0;
	for (unsigned k = 0; k < H.n_conns; k++) {
		struct fz_frame *v;
		size_t n = conn_frames(k, true, &v);
		if (H.seg_retry[k])
			ci = 0;                 /* (d): the unanswered ones again, in order */
		for (size_t i = 0; i < n; i++)
			match_query(H.upq.p + v[i].start, v[i].len, v[i].complete, &ci);
		free(v);
	}
}

/* Frames of v[0..n) (from stream p) with this ID. */
static FZ_NOCOV unsigned
count_id(const uint8_t *p, const struct fz_frame *v, size_t n, uint16_t id)
{
	unsigned c = 0;
	for (size_t i = 0; i < n; i++)
		c += v[i].len >= 4 && rd16(p + v[i].start + 2) == id;
	return c;
}

/* An upstream given back as reusable: no error, whole frames both ways,
 * and at least one answer frame for every query written on it. */
static FZ_NOCOV void
check_clean_release(void)
{
	unsigned k = H.n_conns - 1;
	struct fz_frame *q, *a;
	size_t nq = conn_frames(k, true, &q), na = conn_frames(k, false, &a);
	FZ_CHECK(nq == 0 || q[nq - 1].complete, "upstream %u released clean inside a query", k);
	FZ_CHECK(na == 0 || a[na - 1].complete, "upstream %u released clean inside an answer", k);
	FZ_CHECK(!H.up.saw_error, "upstream %u released clean after an error", k);
	FZ_CHECK(!H.relay.has_lone, "upstream %u released clean while a lone-SOA IXFR answer on "
	         "it may go on", k);
	FZ_CHECK(H.relay.n_inflight == 0 && H.relay.in_fwd == 0,
	         "upstream %u released clean with %u queries in flight", k, H.relay.n_inflight);
	for (size_t i = 0; i < nq; i++) {
		uint16_t id = rd16(H.upq.p + q[i].start + 2);
		FZ_CHECK(count_id(H.upq.p, q, nq, id) <= count_id(H.up.src, a, na, id),
		         "upstream %u released clean while it owes an answer to id %u", k, id);
	}
	free(q);
	free(a);
}

/* ---- hooks -------------------------------------------------------------- */

static bool
hk_client_ready(struct relay *r)
{
	return !(H.f1 & F1_NOT_READY);
}

static struct verdict
refuse(enum dns_rcode rcode, int ede, enum reason reason)
{
	return (struct verdict){ .forward = false, .rcode = rcode, .ede = ede, .reason = reason };
}

/* The k-th verdict comes from v[k % 4]: bits 0-2 the verdict (forwarding
 * always goes through policy_filter, as in both directions), bit 3 a token
 * (which must come back once through xfr_done), bit 4 signed answers. */
static struct verdict
judge(const struct dns_query *q)
{
	unsigned k = H.judged++, v = cur_snap->verdict[k % 4];
	struct verdict out;
	switch (v & 7) {
	case 2: out = refuse(DNS_RCODE_REFUSED, DNS_EDE_PROHIBITED, RSN_ACL); break;
	case 3: out = refuse(DNS_RCODE_FORMERR, DNS_EDE_NONE, RSN_TSIG_MALFORMED); break;
	case 4: out = refuse(DNS_RCODE_NOTIMP, DNS_EDE_NOT_SUPPORTED, RSN_OPCODE); break;
	case 5: out = refuse(DNS_RCODE_SERVFAIL, DNS_EDE_NOT_READY, RSN_BACKEND_BUSY); break;
	case 6:
		out = q->has_opt ? refuse(DNS_RCODE_BADVERS, DNS_EDE_NONE, RSN_EDNS_VERSION)
		                 : refuse(DNS_RCODE_REFUSED, DNS_EDE_NONE, RSN_CLASS);
		break;
	default: out = policy_filter(q); break;
	}
	if ((v & 8) && k < FZ_MAX_Q) {
		tokens[k] = (struct fz_token){ .issued = true, .snap = snap_ref(cur_snap) };
		out.token = &tokens[k];
	}
	out.sign = v & 16;
	if (out.forward && H.n_fwd < FZ_MAX_Q) /* on the upstream held now, or the next one */
		H.fwd[H.n_fwd++] = (struct fz_fwd){ q->id, endpoint_open(&H.up.ep) ? H.n_conns - 1
		                                                                   : H.n_conns };
	return out;
}

static void
hk_xfr_done(struct relay *r, void *token)
{
	struct fz_token *t = token;
	FZ_CHECK(t >= tokens && t < tokens + H.judged && t < tokens + FZ_MAX_Q && t->issued,
	         "xfr_done with a token never given");
	t->returned++;
	FZ_CHECK(t->returned == 1, "token of query %zu given back twice", (size_t)(t - tokens));
	FZ_CHECK(t->snap->refs > 0 && t->snap->gen <= 255, "token's snapshot is gone");
	snap_put(t->snap);
}

/* "Signs" a local answer: appends an empty TSIG RR (owner root, class ANY). */
static int
hk_sign_answer(struct relay *r, void *token, uint8_t *msg, size_t len, size_t cap)
{
	struct fz_answer a;
	FZ_CHECK(parse_local(msg, len, &a), "asked to sign something that is no local answer");
	if (token != NULL) {            /* signing reads the token's snapshot (its key) */
		const struct fz_token *t = token;
		FZ_CHECK(t->snap->refs > 0 && t->returned == 0, "signing with a token given back");
	}
	if (cap - len < 11)
		return -1;
	static const uint8_t tsig[11] = { 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0 };
	memcpy(msg + len, tsig, sizeof(tsig));
	wr16(msg + 10, (uint16_t)(rd16(msg + 10) + 1));
	return (int)(len + sizeof(tsig));
}

/* After the close: every token given came back exactly once. */
static FZ_NOCOV void
check_tokens(void)
{
	for (unsigned k = 0; k < H.judged && k < FZ_MAX_Q; k++)
		FZ_CHECK(!tokens[k].issued || tokens[k].returned == 1,
		         "token of query %u came back %u times", k, tokens[k].returned);
}

static struct verdict
hk_judge(struct relay *r, const struct dns_query *q, const uint8_t *msg, size_t len)
{
	return judge(q);
}

static enum reason
hk_upstream_open(struct relay *r, char *why, size_t len)
{
	FZ_CHECK(r->up == &H.up.ep && !endpoint_open(r->up), "upstream opened twice");
	unsigned n = H.n_open_calls++;
	if ((n == 0 && (H.f1 & F1_OPEN_FAIL)) || (n > 0 && (H.f2 & F2_OPEN_FAIL_ALL)) ||
	    H.n_conns == FZ_MAX_SEG) {
		snprintf(why, len, "fuzz: connect refused");
		return RSN_UP_CONNECT;
	}
	struct fz_ep *e = &H.up;
	endpoint_init(&e->ep, &up_ops, NULL, -1, EP_CONNECTING, relay_on_event, r);
	e->hs_again = (H.f1 & F1_UP_HS_AGAIN) >> 4;
	e->hs_fail = H.n_conns == 0 && (H.f1 & F1_UP_HS_FAIL);
	e->avail = (H.f0 & F0_BE_CHUNKED) ? 0 : SIZE_MAX;
	e->budget = 0;
	e->eof_now = e->fail_write = e->again = e->saw_error = e->read_end = false;
	H.upq_seg[H.n_conns] = H.upq.len;
	H.be_seg[H.n_conns] = e->off;
	H.seg_retry[H.n_conns] = H.retry_pending;
	H.retry_pending = false;
	H.n_conns++;
	if (H.f2 & F2_PREAMBLE) {
		r->up_pre = preamble;
		r->up_pre_len = sizeof(preamble);
	}
	return RSN_NONE;
}

static bool
hk_upstream_retry(struct relay *r, enum reason code, const char *why)
{
	if (H.n_retries >= FZ_MAX_RETRY)
		return false;
	H.n_retries++;
	H.retry_pending = true;
	return true;
}

static void
hk_upstream_release(struct relay *r, bool clean)
{
	FZ_CHECK(r->up == &H.up.ep && endpoint_open(r->up), "release of no upstream");
	if (clean)
		check_clean_release();
	endpoint_close(r->up, false);
}

static void
hk_limits(const struct relay *r, struct relay_limits *out)
{
	/* The clock never moves: a limit of 0 is a deadline that has passed. */
	*out = (struct relay_limits){ .handshake = 10, .idle = 30, .transfer = 60, .upstream = 20 };
	if (H.expire == 1)
		*out = (struct relay_limits){ 0, 0, 0, 0 };
	else if (H.expire == 2)
		out->upstream = 0;
	else if (H.expire == 3)
		out->handshake = out->idle = 0;
}

static void
hk_closed(struct relay *r)
{
	H.closed_calls++;
	FZ_CHECK(H.closed_calls == 1, "closed called %u times", H.closed_calls);
	FZ_CHECK(!endpoint_open(&H.cli.ep) && !endpoint_open(&H.up.ep) && H.cli.closes == 1,
	         "closed with an endpoint open");
	FZ_CHECK(r->in == NULL && !ring_allocated(&r->u2c), "closed with buffers held (%s%s)",
	         r->in != NULL ? "query buffer " : "", ring_allocated(&r->u2c) ? "answer ring" : "");
}

static const struct relay_hooks hooks_in_tpl = {
	.direction = XP_INBOUND, .client_ready = hk_client_ready,
	.judge = hk_judge, .xfr_done = hk_xfr_done, .sign_answer = hk_sign_answer,
	.upstream_open = hk_upstream_open,
	.upstream_release = hk_upstream_release, .limits = hk_limits, .closed = hk_closed,
	.upstream_fail_ede = DNS_EDE_NETWORK_ERROR, .upstream_fail_text = "backend unreachable",
};

static const struct relay_hooks hooks_out_tpl = {
	.direction = XP_OUTBOUND, .client_ready = hk_client_ready,
	.judge = hk_judge, .xfr_done = hk_xfr_done, .sign_answer = hk_sign_answer,
	.upstream_open = hk_upstream_open,
	.upstream_release = hk_upstream_release, .limits = hk_limits, .closed = hk_closed,
	.upstream_fail_ede = DNS_EDE_NO_REACHABLE_AUTHORITY,
	.upstream_fail_text = "no primary answered",
	.release_idle_upstream = true,  /* as outbound.c: a session only while in use */
};

/* ---- driving ------------------------------------------------------------ */

/* (f), seen from outside: a whole-message client whose output ends at a
 * frame boundary (the 65535-octet exception streams part of a frame) has
 * nothing of the answers to the queries in flight, none of which has a
 * complete message yet. */
static FZ_NOCOV bool
first_octet_owed(void)
{
	if (!(H.f2 & F2_WHOLE) || H.closed_calls > 0 || H.relay.state != RELAY_OPEN ||
	    H.relay.n_inflight == 0)
		return false;
	for (unsigned i = 0; i < H.relay.n_inflight; i++)
		if (H.relay.inflight[i].xfr.messages > 0)
			return false;
	size_t pos = 0;
	while (pos + 2 <= H.out.len && pos + 2 + rd16(H.out.p + pos) <= H.out.len)
		pos += 2 + rd16(H.out.p + pos);
	return pos == H.out.len;
}

/* (e): after an event, an open relay that releases idle upstreams holds
 * none that is quiet (the relay may have closed and been freed by then:
 * H.closed_calls says so; H.relay itself is the harness's storage). */
static FZ_NOCOV void
check_idle_upstream(void)
{
	if (H.closed_calls > 0 || H.relay.state != RELAY_OPEN)
		return;
	FZ_CHECK(relay_idle_action(&H.relay) == IDLE_KEEP,
	         "a quiet upstream is still held after the event (%s)",
	         relay_idle_action(&H.relay) == IDLE_CLOSE ? "lone SOA" : "owes nothing");
}

/* More octets arrived (arg 31: the peer closes once they are read). */
static void
add_avail(struct fz_ep *e, unsigned arg)
{
	if (arg == 31)
		e->eof_now = true;
	else if (e->avail != SIZE_MAX)
		e->avail += chunk_size(arg);
	e->ep.rd_blk = 0;
}

static void
add_budget(struct fz_ep *e, unsigned arg)
{
	if (arg == 31)
		e->fail_write = true;
	else
		e->budget += chunk_size(arg);
	e->ep.wr_blk = 0;
}

/* One control octet: what became ready, then the relay's turn. */
static void
step(uint8_t c)
{
	unsigned arg = c >> 3;
	switch (c & 7) {
	case 0: add_avail(&H.cli, arg); break;
	case 1: add_avail(&H.up, arg); break;
	case 2: add_budget(&H.cli, arg); break;
	case 3: add_budget(&H.up, arg); break;
	case 4: H.cli.ep.hs_blk = H.up.ep.hs_blk = 0; break;
	case 5: {
		H.expire = arg & 3;
		H.idle_fired |= H.expire == 1 || H.expire == 3;
		bool owed = first_octet_owed();
		unsigned retries = H.n_retries, judged = H.judged;
		ev_invoke(loop, &H.relay.timer, EV_TIMER);
		/* after a SERVFAIL the pump may forward queries read since: only
		 * those may be in flight now */
		FZ_CHECK(!(owed && H.expire == 2) || H.closed_calls > 0 || H.n_retries > retries ||
		         H.relay.n_inflight <= H.judged - judged,
		         "first-octet deadline passed, %u queries left waiting", H.relay.n_inflight);
		H.expire = 0;
		check_idle_upstream();
		return;
	}
	case 6:
		if (arg & 1) {          /* reload: only the tokens keep the old snapshot */
			uint8_t v[4];
			for (int i = 0; i < 4; i++)
				v[i] = (uint8_t)(cur_snap->verdict[i] + arg);
			unsigned gen = cur_snap->gen + 1;
			snap_put(cur_snap);
			cur_snap = snap_new(v, gen);
			break;
		}
		H.stopped = true;
		relay_stop(&H.relay);
		check_idle_upstream();
		return;
	default:
		H.cli.ep.hs_blk = H.cli.ep.rd_blk = H.cli.ep.wr_blk = 0;
		H.up.ep.hs_blk = H.up.ep.rd_blk = H.up.ep.wr_blk = 0;
		break;
	}
	relay_on_event(&H.relay);
	check_idle_upstream();
}

static void
setup_client(const uint8_t *src, size_t len)
{
	struct fz_ep *e = &H.cli;
	endpoint_init(&e->ep, (H.f2 & F2_WHOLE) ? &cli_whole_ops : &cli_ops, NULL, -1,
	              EP_HANDSHAKING, relay_on_event, &H.relay);
	e->blk_hs = EV_READ;
	e->src = src;
	e->src_len = len;
	e->avail = (H.f0 & F0_CLI_CHUNKED) ? 0 : SIZE_MAX;
	e->end_err = H.f0 & F0_CLI_END_ERR;
	e->throttled = (H.f0 & F0_CLI_THROTTLED) && !(H.f2 & F2_WHOLE);  /* UDP takes all */
	e->sink = &H.out;
	e->again_copy = again_copy[0];
	e->hs_again = H.f1 & F1_CLI_HS_AGAIN;
	e->hs_fail = H.f1 & F1_CLI_HS_FAIL;
	H.relay.cli = &e->ep;
}

static void
setup_upstream(const uint8_t *src, size_t len)
{
	struct fz_ep *e = &H.up;
	endpoint_init(&e->ep, &up_ops, NULL, -1, EP_CLOSED, relay_on_event, &H.relay);
	e->blk_hs = EV_WRITE;           /* a TCP connect */
	e->src = src;
	e->src_len = len;
	e->end_err = H.f0 & F0_BE_END_ERR;
	e->throttled = H.f0 & F0_UP_THROTTLED;
	e->sink = &H.upq;
	e->again_copy = again_copy[1];
	H.relay.up = &e->ep;
}

/* Takes a u16-prefixed field from the input. */
static const uint8_t *
take(const uint8_t **data, size_t *size, size_t *len)
{
	size_t n = *size >= 2 ? rd16(*data) : 0;
	*data += *size >= 2 ? 2 : *size;
	*size -= *size >= 2 ? 2 : *size;
	if (n > *size)
		n = *size;
	const uint8_t *p = *data;
	*data += n;
	*size -= n;
	*len = n;
	return p;
}

/* FUZZ_RELAY_TRACE=1: the relay's debug log on stderr and a summary of
 * each input (to read a reproducer); otherwise log lines are formatted,
 * then dropped. */
static bool trace;

static void
init_once(void)
{
	if (loop != NULL)
		return;
	loop = ev_loop_new(EVFLAG_AUTO);
	trace = getenv("FUZZ_RELAY_TRACE") != NULL;
	int fd = trace ? dup(STDERR_FILENO) : open("/dev/null", O_WRONLY);
	if (loop == NULL || fd < 0 || log_sink_start_fd(loop, fd) < 0)
		abort();
}

static FZ_NOCOV void
trace_summary(void)
{
	fprintf(stderr, "fuzz_relay: client sent %zu of %zu octets, got %zu; %s%s; "
	        "%u upstream connection(s), %zu query octets sent, %zu of %zu backend octets read\n",
	        H.cli.off, H.cli.src_len, H.out.len, H.killed ? "killed" : "closed by the relay",
	        H.cli.graceful ? " with close_notify" : " without close_notify", H.n_conns,
	        H.upq.len, H.up.off, H.up.src_len);
	for (size_t pos = 0; pos + 2 <= H.out.len; pos += 2 + rd16(H.out.p + pos))
		fprintf(stderr, "fuzz_relay:   client frame at %zu: %u octets, id %u, flags %02x%02x\n",
		        pos, rd16(H.out.p + pos), pos + 4 <= H.out.len ? rd16(H.out.p + pos + 2) : 0,
		        pos + 5 <= H.out.len ? H.out.p[pos + 4] : 0,
		        pos + 6 <= H.out.len ? H.out.p[pos + 5] : 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 7)
		return 0;
	init_once();
	memset(&H, 0, sizeof(H));
	H.f0 = data[0];
	H.f1 = data[1];
	H.f2 = data[2];
	memcpy(H.verdict, data + 3, 4);
	data += 7;
	size -= 7;
	size_t cli_len, be_len;
	const uint8_t *cli_src = take(&data, &size, &cli_len);
	const uint8_t *be_src = take(&data, &size, &be_len);
	H.ctl = data;
	H.ctl_len = size;
	log_threshold = (H.f2 & F2_DEBUG) || trace ? XP_LOG_DEBUG : XP_LOG_WARNING;
	cur_snap = snap_new(H.verdict, 0);
	static struct relay_hooks hooks;
	hooks = (H.f2 & F2_OUTBOUND) ? hooks_out_tpl : hooks_in_tpl;
	hooks.upstream_retry = (H.f2 & F2_RETRY) ? hk_upstream_retry : NULL;
	setup_client(cli_src, cli_len);
	setup_upstream(be_src, be_len);

	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53000),
	                           .sin_addr.s_addr = htonl(0xC0000201) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(53000),
	                             .sin6_addr.s6_addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } };
	bool v6 = H.f0 & F0_IPV6;
	relay_start(&H.relay, loop, 1, v6 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin,
	            v6 ? sizeof(sin6) : sizeof(sin), &hooks, &H);
	while (H.closed_calls == 0 && H.ctl_off < H.ctl_len)
		step(H.ctl[H.ctl_off++]);
	if (H.closed_calls == 0) {
		H.killed = true;
		relay_kill(&H.relay, H.f0 & F0_KILL_NOTIFY, RSN_SHUTDOWN);
		FZ_CHECK(H.closed_calls == 1, "relay_kill did not close");
	}

	if (trace)
		trace_summary();
	scan_client_frames();
	bool cut_ok = H.killed || !H.cli.graceful, cut_backend_ok = false;
	check_client_output(cut_ok, cut_backend_ok);
	check_upstream_queries();
	check_tokens();
	snap_put(cur_snap);             /* the tokens' references are all back */
	cur_snap = NULL;
	free(H.out.p);
	free(H.upq.p);
	/* Anything the relay still points to after its close is lost now, so
	 * LeakSanitizer's check after this input reports it. */
	memset(&H.relay, 0, sizeof(H.relay));
	return 0;
}
