/* conn.c - the inbound connection state machine.
 *
 *   accept --> HANDSHAKE --ok, ALPN dot--> OPEN --close_notify/idle/stop--> CLOSED
 *                 |  fail, timeout, no ALPN         |  client EOF, backend EOF mid-answer,
 *                 '------------------> CLOSED <-----'  write error, transfer timeout
 *
 * In OPEN, queries are read from TLS into `in`, checked one whole frame at a
 * time, and either forwarded byte for byte to the backend (connected lazily at
 * the first allowed query) or answered locally. Backend bytes stream through
 * the ring `u2c` to TLS untouched; `scan` watches them to count messages and
 * find where each answer stream ends. Local answers enter the ring only at a
 * frame boundary of the backend stream, so frames never interleave mid-message.
 *
 * Readiness: each operation (handshake, TLS read, TLS write, backend read,
 * backend write) records the event it is blocked on (0 = runnable). Callbacks
 * clear the blocks their revents satisfy and call conn_pump(), which runs every
 * runnable step until none makes progress, then derives the watcher masks. */
#include "conn.h"

#include <assert.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsmsg.h"
#include "log.h"
#include "netaddr.h"
#include "policy.h"
#include "respscan.h"
#include "ring.h"
#include "server.h"
#include "tls.h"
#include "xfr.h"

#define CONN_MAGIC 0x786f7463u
#define IN_BUF_SIZE 4096            /* largest query frame accepted, prefix included */
#define LOCAL_BUF_SIZE (DNS_ERROR_MAX + 2)
#define RING_SIZE 65536
#define MAX_INFLIGHT 16             /* pipelined queries awaiting answers */
#define MAX_XFR_INFLIGHT 8          /* of which AXFR/IXFR; more get SERVFAIL (XOT-10) */
#define TLS_RECORD_MAX 16384

enum conn_state { CONN_HANDSHAKE, CONN_OPEN, CONN_CLOSED };

/* One query forwarded to the backend. It keeps no reference to the
 * configuration: the verdict was taken when it arrived (issue 7). */
struct inflight {
	struct xfr xfr;
	struct dns_query_echo {         /* what a locally made answer must echo */
		uint8_t qname[DNAME_MAXLEN];
		size_t qname_len;
		bool rd, has_opt, has_padding;
	} echo;
};

struct conn {
	uint32_t magic;
	enum conn_state state;
	uint64_t id;
	struct server *srv;             /* srv->conf judges every query as it arrives */
	struct conn *prev, *next;
	struct conn *hs_prev, *hs_next; /* pending handshakes, oldest first */
	struct sockaddr_storage peer;
	struct sockaddr_storage peer_group;   /* key for per-client caps (IPv6 by prefix) */
	char peer_text[NETADDR_TEXT_MAX];

	/* client side: TLS */
	int cli_fd;
	WOLFSSL *ssl;
	ev_io cli_io;
	int hs_blk, rd_blk, wr_blk;     /* EV_READ/EV_WRITE an operation waits for */
	bool stopping;                  /* server shutdown: answer what was read, read no more */
	size_t wr_len;                  /* length passed to the pending wolfSSL_write */

	/* queries from the client (IN_BUF_SIZE octets, allocated while query
	 * bytes are buffered); the first in_fwd octets are a frame already
	 * allowed, of which in_sent have gone to the backend */
	uint8_t *in;
	size_t in_len, in_fwd, in_sent;
	size_t in_skip;                 /* octets of an oversized frame still to discard */

	/* one local answer waiting for a frame boundary */
	uint8_t local[LOCAL_BUF_SIZE];
	size_t local_len;

	/* backend side: plaintext TCP */
	int up_fd;
	ev_io up_io;
	bool up_connecting;
	int up_rd_blk, up_wr_blk;
	struct ring u2c;
	struct respscan scan;
	struct inflight *cur;           /* query the current answer frame belongs to */
	struct inflight inflight[MAX_INFLIGHT];
	unsigned n_inflight;
	struct inflight lone;           /* last IXFR ended by a lone SOA, in case more follows */
	bool has_lone;
	double lone_end;                /* when its SOA message ended */

	ev_timer timer;
	double accepted, last_active;
	double up_since;                /* backend connect started, or last backend byte,
	                                 * or first query owed since then */
};

static void conn_pump(struct conn *c);
static void lone_finish(struct conn *c);

struct conn *
conn_next(struct conn *c)
{
	return c->next;
}

/* ---- logging ---------------------------------------------------------- */

static void
log_xfr_at(struct conn *c, const struct inflight *f, const char *outcome, double end)
{
	char type[16], zone[DNAME_TEXT_MAX];
	dns_type_name(f->xfr.qtype, type);
	double secs = end - f->xfr.start;
	enum log_level level = f->xfr.qtype == DNS_TYPE_SOA && strcmp(outcome, "ok") == 0
	                       ? XP_LOG_DEBUG : XP_LOG_INFO;
	if (level > log_threshold)
		return;
	uint8_t lower[DNAME_MAXLEN];
	memcpy(lower, f->echo.qname, f->echo.qname_len);
	dname_lower(lower, f->echo.qname_len);
	dname_to_text(lower, zone);
	xp_log(level, "conn %llu, remote %s, zone %s, %s, %s, %u messages, %llu bytes, %.3f s",
	       (unsigned long long)c->id, c->peer_text, zone, type, outcome,
	       f->xfr.messages, (unsigned long long)f->xfr.bytes, secs);
}

static void
log_xfr(struct conn *c, const struct inflight *f, const char *outcome)
{
	log_xfr_at(c, f, outcome, ev_now(c->srv->loop));
}

static void
log_refusal(struct conn *c, const struct dns_query *q, const char *what, const char *reason)
{
	if (log_threshold < XP_LOG_INFO)
		return;
	char zone[DNAME_TEXT_MAX] = "-", type[16] = "-";
	if (q->has_question) {
		dname_to_text(q->qname_lower, zone);
		dns_type_name(q->qtype, type);
	}
	xp_log(XP_LOG_INFO, "conn %llu, remote %s, zone %s, %s, %s (%s)",
	       (unsigned long long)c->id, c->peer_text, zone, type, what, reason);
}

/* ---- pending handshakes, oldest first (max-handshakes) ------------------ */

static void
hs_link(struct conn *c)
{
	struct server *srv = c->srv;
	c->hs_prev = srv->hs_tail;
	c->hs_next = NULL;
	if (srv->hs_tail != NULL)
		srv->hs_tail->hs_next = c;
	else
		srv->hs_head = c;
	srv->hs_tail = c;
	srv->n_handshakes++;
}

/* Leaves the list when the handshake ends, whichever way. */
static void
hs_unlink(struct conn *c)
{
	struct server *srv = c->srv;
	if (c->state != CONN_HANDSHAKE)
		return;
	if (c->hs_prev != NULL)
		c->hs_prev->hs_next = c->hs_next;
	else
		srv->hs_head = c->hs_next;
	if (c->hs_next != NULL)
		c->hs_next->hs_prev = c->hs_prev;
	else
		srv->hs_tail = c->hs_prev;
	c->hs_prev = c->hs_next = NULL;
	srv->n_handshakes--;
}

/* ---- teardown ----------------------------------------------------------- */

static void
set_io(struct ev_loop *loop, ev_io *w, int fd, int events)
{
	if (ev_is_active(w) && (w->events & (EV_READ | EV_WRITE)) == events)
		return;
	ev_io_stop(loop, w);
	if (events != 0) {
		ev_io_set(w, fd, events);
		ev_io_start(loop, w);
	}
}

static void
up_close(struct conn *c)
{
	if (c->up_fd < 0)
		return;
	lone_finish(c);
	ev_io_stop(c->srv->loop, &c->up_io);
	close(c->up_fd);
	c->up_fd = -1;
	c->up_connecting = false;
	c->cur = NULL;
	respscan_init(&c->scan, c->scan.ops, c);
}

static void
abort_inflight(struct conn *c, const char *reason)
{
	char outcome[96];
	snprintf(outcome, sizeof(outcome), "aborted (%s)", reason);
	for (unsigned i = 0; i < c->n_inflight; i++)
		log_xfr(c, &c->inflight[i], outcome);
	c->n_inflight = 0;
	c->cur = NULL;
}

/* Closes both sides. notify: send close_notify first (graceful close with
 * nothing owed); without it the client sees an abrupt end, which is what a
 * broken transfer must look like (DOT-13, AXFR-05). */
static void
conn_close(struct conn *c, bool notify, const char *abort_reason)
{
	if (c->state == CONN_CLOSED)
		return;
	if (c->n_inflight > 0)
		abort_inflight(c, abort_reason != NULL ? abort_reason : "connection closed");
	if (notify && c->state == CONN_OPEN)
		wolfSSL_shutdown(c->ssl);           /* one non-blocking attempt */
	hs_unlink(c);
	ev_io_stop(c->srv->loop, &c->cli_io);
	ev_timer_stop(c->srv->loop, &c->timer);
	up_close(c);
	wolfSSL_free(c->ssl);
	c->ssl = NULL;
	close(c->cli_fd);
	c->cli_fd = -1;
	ring_cleanup(&c->u2c);
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_fwd = c->in_sent = 0;
	c->state = CONN_CLOSED;
}

static void
conn_free(struct conn *c)
{
	assert(c->state == CONN_CLOSED);
	struct server *srv = c->srv;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->magic = 0;
	struct sockaddr_storage group = c->peer_group;
	free(c);
	server_conn_gone(srv, (const struct sockaddr *)&group);
}

/* Every callback ends here: frees a connection that closed during it. */
static void
conn_after_event(struct conn *c)
{
	if (c->state == CONN_CLOSED)
		conn_free(c);
}

/* ---- answer stream tracking (respscan callbacks) ------------------------ */

static struct inflight *
find_inflight(const struct conn *c, uint16_t id)
{
	for (unsigned i = 0; i < c->n_inflight; i++)
		if (c->inflight[i].xfr.id == id)
			return (struct inflight *)&c->inflight[i];
	return NULL;
}

static void
remove_inflight(struct conn *c, struct inflight *f)
{
	unsigned i = (unsigned)(f - c->inflight);
	assert(i < c->n_inflight);
	c->n_inflight--;
	if (i != c->n_inflight)
		c->inflight[i] = c->inflight[c->n_inflight];
}

/* The lone-SOA IXFR answer is over for sure (another answer began, or the
 * backend or the session closed): its one summary line. */
static void
lone_finish(struct conn *c)
{
	if (!c->has_lone)
		return;
	c->has_lone = false;
	log_xfr_at(c, &c->lone, "ok (lone SOA)", c->lone_end);
}

/* A frame with the ID of the last lone-SOA IXFR answer: that SOA was the
 * first message of an AXFR-style answer, which goes on (issue 7, IXFR-02). */
static struct inflight *
resume_lone(struct conn *c, uint16_t id)
{
	if (!c->has_lone || c->lone.xfr.id != id || c->n_inflight == MAX_INFLIGHT)
		return NULL;
	c->has_lone = false;
	struct inflight *f = &c->inflight[c->n_inflight++];
	*f = c->lone;
	xfr_resume(&f->xfr);
	log_debug("conn %llu, remote %s, IXFR id %u goes on after its lone SOA (AXFR-style)",
	          (unsigned long long)c->id, c->peer_text, id);
	return f;
}

static void
on_frame_begin(void *ctx, const uint8_t hdr[12])
{
	struct conn *c = ctx;
	c->cur = find_inflight(c, rd16(hdr));
	if (c->cur == NULL)
		c->cur = resume_lone(c, rd16(hdr));
	lone_finish(c);                 /* another answer began: the lone one is over */
	if (c->cur != NULL)
		xfr_frame_begin(&c->cur->xfr, hdr);
	else
		log_debug("conn %llu, remote %s, backend answer with unknown id %u relayed",
		          (unsigned long long)c->id, c->peer_text, rd16(hdr));
}

static void
on_soa(void *ctx, uint32_t serial)
{
	struct conn *c = ctx;
	if (c->cur != NULL)
		xfr_soa(&c->cur->xfr, serial);
}

static void
on_frame_end(void *ctx, size_t frame_len, bool malformed)
{
	struct conn *c = ctx;
	c->last_active = ev_now(c->srv->loop);
	if (malformed)
		log_debug("conn %llu, remote %s, malformed backend message of %zu octets relayed",
		          (unsigned long long)c->id, c->peer_text, frame_len);
	struct inflight *f = c->cur;
	c->cur = NULL;
	if (f == NULL || !xfr_frame_end(&f->xfr, frame_len))
		return;
	if (f->xfr.rcode != 0) {
		char outcome[48];
		snprintf(outcome, sizeof(outcome), "error (%s from backend)", dns_rcode_name(f->xfr.rcode));
		log_xfr(c, f, outcome);
	} else if (f->xfr.lone_soa) {
		lone_finish(c);
		c->lone = *f;               /* logged once it is known to be over */
		c->has_lone = true;
		c->lone_end = ev_now(c->srv->loop);
	} else {
		log_xfr(c, f, "ok");
	}
	remove_inflight(c, f);
}

static const struct respscan_ops scan_ops = { on_frame_begin, on_soa, on_frame_end };

/* ---- local answers ------------------------------------------------------ */

static int
ensure_ring(struct conn *c)
{
	if (ring_allocated(&c->u2c))
		return 0;
	return ring_init(&c->u2c, RING_SIZE);
}

/* Builds a framed local answer into `local`. */
static void
queue_answer(struct conn *c, const struct dns_query *q, enum dns_rcode rcode, int ede,
             const char *text)
{
	assert(c->local_len == 0);
	int n = dnsmsg_build_error(q, rcode, ede, text, c->local + 2, sizeof(c->local) - 2);
	assert(n > 0);
	wr16(c->local, (uint16_t)n);
	c->local_len = (size_t)n + 2;
}

/* Moves the local answer into the output ring at a backend frame boundary. */
static bool
flush_local(struct conn *c)
{
	if (c->local_len == 0 || !respscan_at_boundary(&c->scan))
		return false;
	if (ensure_ring(c) < 0 || ring_room(&c->u2c) < c->local_len)
		return false;
	ring_append(&c->u2c, c->local, c->local_len);
	c->local_len = 0;
	return true;
}

/* ---- backend connection ------------------------------------------------- */

static void up_cb(struct ev_loop *loop, ev_io *w, int revents);

/* Backend unreachable, or gone before sending anything for the queries in
 * flight: those get SERVFAIL with EDE 23 and the session stays usable.
 * Returns false when answers were already under way (caller must abort). */
static bool
backend_failed(struct conn *c, const char *why, const char *ede_text)
{
	if (!respscan_at_boundary(&c->scan))
		return false;
	for (unsigned i = 0; i < c->n_inflight; i++)
		if (c->inflight[i].xfr.messages > 0)
			return false;
	if (ensure_ring(c) < 0 || ring_room(&c->u2c) < c->n_inflight * LOCAL_BUF_SIZE + c->local_len)
		return false;
	flush_local(c);
	for (unsigned i = 0; i < c->n_inflight; i++) {
		struct inflight *f = &c->inflight[i];
		struct dns_query q = { .id = f->xfr.id, .rd = f->echo.rd, .has_question = true,
		                       .qname_len = f->echo.qname_len, .qtype = f->xfr.qtype,
		                       .qclass = DNS_CLASS_IN, .has_opt = f->echo.has_opt,
		                       .has_padding = f->echo.has_padding };
		memcpy(q.qname, f->echo.qname, f->echo.qname_len);
		uint8_t buf[LOCAL_BUF_SIZE];
		int n = dnsmsg_build_error(&q, DNS_RCODE_SERVFAIL, DNS_EDE_NETWORK_ERROR, ede_text,
		                           buf + 2, sizeof(buf) - 2);
		assert(n > 0);
		wr16(buf, (uint16_t)n);
		ring_append(&c->u2c, buf, (size_t)n + 2);
		char outcome[160];
		snprintf(outcome, sizeof(outcome), "failed (%s), SERVFAIL sent", why);
		log_xfr(c, f, outcome);
	}
	c->n_inflight = 0;
	if (c->in_fwd > 0) {                /* the allowed frame not yet sent */
		memmove(c->in, c->in + c->in_fwd, c->in_len - c->in_fwd);
		c->in_len -= c->in_fwd;
		c->in_fwd = c->in_sent = 0;
	}
	up_close(c);
	return true;
}

static void
up_connect(struct conn *c)
{
	const struct netaddr *be = &c->srv->conf->backend;
	c->up_since = ev_now(c->srv->loop);
	int fd = socket(be->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		char why[96];
		snprintf(why, sizeof(why), "backend socket: %s", strerror(errno));
		if (!backend_failed(c, why, "backend unreachable"))
			conn_close(c, false, why);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->up_fd = fd;
	ev_io_init(&c->up_io, up_cb, fd, 0);
	c->up_io.data = c;
	c->up_rd_blk = c->up_wr_blk = 0;
	if (connect(fd, (const struct sockaddr *)&be->ss, be->len) == 0)
		return;
	if (errno == EINPROGRESS) {
		c->up_connecting = true;
		return;
	}
	char why[96];
	snprintf(why, sizeof(why), "backend connect: %s", strerror(errno));
	if (!backend_failed(c, why, "backend unreachable"))
		conn_close(c, false, why);
}

static bool
up_connect_done(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(c->up_fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return false;
	c->up_connecting = false;
	if (err == 0)
		return true;
	char why[96];
	snprintf(why, sizeof(why), "backend connect: %s", strerror(err));
	if (!backend_failed(c, why, "backend unreachable"))
		conn_close(c, false, why);
	return true;
}

/* Sends the allowed query frame at the head of `in` to the backend. */
static bool
up_write(struct conn *c)
{
	if (c->in_fwd == 0 || c->up_fd < 0 || c->up_connecting || c->up_wr_blk)
		return false;
	ssize_t n = send(c->up_fd, c->in + c->in_sent, c->in_fwd - c->in_sent, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->up_wr_blk = EV_WRITE;
			return false;
		}
		if (errno == EINTR)
			return true;
		char why[96];
		snprintf(why, sizeof(why), "backend send: %s", strerror(errno));
		if (!backend_failed(c, why, "backend unreachable"))
			conn_close(c, false, why);
		return true;
	}
	c->in_sent += (size_t)n;
	if (c->in_sent == c->in_fwd) {
		memmove(c->in, c->in + c->in_fwd, c->in_len - c->in_fwd);
		c->in_len -= c->in_fwd;
		c->in_fwd = c->in_sent = 0;
	}
	return true;
}

/* How much may be read from the backend now: ring room, and no further than
 * the end of the current frame while a local answer waits for a boundary. */
static size_t
up_read_limit(struct conn *c)
{
	size_t room = ring_allocated(&c->u2c) ? ring_room(&c->u2c) : RING_SIZE;
	if (c->local_len == 0)
		return room;
	if (respscan_at_boundary(&c->scan))
		return 0;                   /* the local answer goes first */
	size_t to_boundary = respscan_to_boundary(&c->scan);
	return to_boundary < room ? to_boundary : room;
}

static void
up_eof(struct conn *c, const char *why)
{
	if (c->n_inflight == 0 && respscan_at_boundary(&c->scan)) {
		log_debug("conn %llu, remote %s, backend closed idle connection",
		          (unsigned long long)c->id, c->peer_text);
		up_close(c);
		return;
	}
	if (!backend_failed(c, why, "backend unreachable"))
		conn_close(c, false, why);   /* never a fabricated end of zone (AXFR-05) */
}

static bool
up_read(struct conn *c)
{
	if (c->up_fd < 0 || c->up_connecting || c->up_rd_blk)
		return false;
	size_t limit = up_read_limit(c);
	if (limit == 0)
		return false;
	if (ensure_ring(c) < 0) {
		conn_close(c, false, "out of memory");
		return true;
	}
	struct iovec iov[2];
	int cnt = ring_write_iov(&c->u2c, iov);
	if (iov[0].iov_len >= limit) {
		iov[0].iov_len = limit;
		cnt = 1;
	} else if (cnt == 2 && iov[0].iov_len + iov[1].iov_len > limit) {
		iov[1].iov_len = limit - iov[0].iov_len;
	}
	size_t want = iov[0].iov_len + (cnt == 2 ? iov[1].iov_len : 0);
	ssize_t n = readv(c->up_fd, iov, cnt);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->up_rd_blk = EV_READ;
			return false;
		}
		if (errno == EINTR)
			return true;
		char why[96];
		snprintf(why, sizeof(why), "backend: %s", strerror(errno));
		up_eof(c, why);
		return true;
	}
	if (n == 0) {
		up_eof(c, "backend closed");
		return true;
	}
	c->up_since = ev_now(c->srv->loop);         /* the backend is answering */
	size_t got = (size_t)n;
	for (int i = 0; i < cnt && got > 0; i++) {
		size_t part = got < iov[i].iov_len ? got : iov[i].iov_len;
		respscan_feed(&c->scan, iov[i].iov_base, part);
		got -= part;
	}
	ring_commit_write(&c->u2c, (size_t)n);
	/* A short read drained the socket: wait for readiness instead of paying
	 * for a readv that would only say EAGAIN. */
	if ((size_t)n < want)
		c->up_rd_blk = EV_READ;
	return true;
}

/* ---- queries ------------------------------------------------------------ */

static unsigned
count_transfers(const struct conn *c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->n_inflight; i++)
		n += c->inflight[i].xfr.qtype != DNS_TYPE_SOA;
	return n;
}

/* Over the per-session caps a query is answered SERVFAIL at once (XOT-10),
 * so pipelined queries never wait unread; an SOA still passes while the
 * transfer cap is reached. Returns the verdict to use. */
static struct verdict
apply_caps(const struct conn *c, const struct dns_query *q, struct verdict v)
{
	if (!v.forward)
		return v;
	if (find_inflight(c, q->id) != NULL) {
		/* TCP-02: an ID already in flight would make answers ambiguous. */
		v.forward = false;
		v.rcode = DNS_RCODE_FORMERR;
		v.ede = DNS_EDE_NONE;
		v.reason = "id already in flight";
	} else if (c->n_inflight == MAX_INFLIGHT ||
	           (q->qtype != DNS_TYPE_SOA && count_transfers(c) >= MAX_XFR_INFLIGHT)) {
		v.forward = false;
		v.rcode = DNS_RCODE_SERVFAIL;
		v.ede = DNS_EDE_OTHER;
		v.reason = "transfer limit";
	}
	return v;
}

/* Decides one complete query frame at the head of `in` against the
 * configuration in force now: an allowed one is marked for forwarding
 * (in_fwd), anything else gets a local answer. */
static void
handle_query(struct conn *c, const uint8_t *msg, size_t len)
{
	struct dns_query q;
	const char *why;
	enum dns_parse_result r = dnsmsg_parse_query(msg, len, &q, &why);
	c->last_active = ev_now(c->srv->loop);

	if (r == DNS_PARSE_FORMERR) {
		log_refusal(c, &q, "formerr", why);
		q.has_opt = false;                  /* OPT may be the defect itself */
		queue_answer(c, &q, DNS_RCODE_FORMERR, DNS_EDE_NONE, NULL);
		return;
	}
	struct verdict v = policy_check(c->srv->conf, &q, (const struct sockaddr *)&c->peer);
	v = apply_caps(c, &q, v);
	if (!v.forward) {
		log_refusal(c, &q, v.rcode == DNS_RCODE_REFUSED ? "refused" : dns_rcode_name(v.rcode),
		            v.reason);
		queue_answer(c, &q, v.rcode, v.ede, v.rcode == DNS_RCODE_SERVFAIL ? v.reason : NULL);
		return;
	}
	if (c->n_inflight == 0)
		c->up_since = c->last_active;       /* the backend owes an answer from now */
	struct inflight *f = &c->inflight[c->n_inflight++];
	xfr_init(&f->xfr, q.id, q.qtype, q.has_ixfr_serial, q.ixfr_serial, ev_now(c->srv->loop));
	memcpy(f->echo.qname, q.qname, q.qname_len);
	f->echo.qname_len = q.qname_len;
	f->echo.rd = q.rd;
	f->echo.has_opt = q.has_opt;
	f->echo.has_padding = q.has_padding;
	c->in_fwd = len + 2;
	c->in_sent = 0;
}

/* A frame longer than IN_BUF_SIZE: answered FORMERR (with whatever of its
 * header and question fits in the buffer) and its octets discarded as
 * they arrive, so the session goes on (issue 7). */
static void
skip_oversized(struct conn *c, size_t flen)
{
	struct dns_query q;
	const char *why;
	dnsmsg_parse_query(c->in + 2, c->in_len - 2, &q, &why);
	q.has_opt = false;
	log_refusal(c, &q, "formerr", "query frame over 4094 octets");
	queue_answer(c, &q, DNS_RCODE_FORMERR, DNS_EDE_NONE, NULL);
	c->in_skip = flen + 2 - c->in_len;
	c->in_len = 0;
}

/* Takes complete frames from `in` while there is room to act on them. */
static bool
process_queries(struct conn *c)
{
	bool progress = false;
	while (c->state == CONN_OPEN && c->in_fwd == 0 && c->local_len == 0 && c->in_len >= 2) {
		size_t flen = rd16(c->in);
		if (flen < DNS_HDR_LEN) {
			log_info("conn %llu, remote %s, closed: query frame of %zu octets",
			         (unsigned long long)c->id, c->peer_text, flen);
			conn_close(c, true, "bad query frame");
			return true;
		}
		if (flen + 2 > IN_BUF_SIZE) {
			if (c->in_len < IN_BUF_SIZE)
				break;              /* the header and question, as far as they fit */
			skip_oversized(c, flen);
			return true;
		}
		if (c->in_len < flen + 2)
			break;
		handle_query(c, c->in + 2, flen);
		if (c->in_fwd == 0) {               /* answered locally: drop the frame */
			memmove(c->in, c->in + flen + 2, c->in_len - flen - 2);
			c->in_len -= flen + 2;
		}
		progress = true;
	}
	return progress;
}

/* Opens the backend connection at the first allowed query (not before, so a
 * refused client never costs a backend socket). */
static bool
up_ensure(struct conn *c)
{
	if (c->in_fwd == 0 || c->up_fd >= 0)
		return false;
	if (ensure_ring(c) < 0) {
		conn_close(c, false, "out of memory");
		return true;
	}
	up_connect(c);
	return true;
}

/* ---- client side: TLS ----------------------------------------------------- */

static bool
cli_handshake(struct conn *c)
{
	if (c->state != CONN_HANDSHAKE || c->hs_blk)
		return false;
	int ret = wolfSSL_accept(c->ssl);
	if (ret == WOLFSSL_SUCCESS) {
		hs_unlink(c);
		if (!tls_alpn_is_dot(c->ssl)) {     /* XOT-01: no DNS without ALPN dot */
			log_info("conn %llu, remote %s, closed: ALPN dot not negotiated",
			         (unsigned long long)c->id, c->peer_text);
			c->state = CONN_OPEN;
			conn_close(c, true, NULL);
			return true;
		}
		c->state = CONN_OPEN;
		c->last_active = ev_now(c->srv->loop);
		if (log_threshold >= XP_LOG_DEBUG) {
			char desc[96];
			tls_describe(c->ssl, desc, sizeof(desc));
			log_debug("conn %llu, remote %s, TLS established, %s, ALPN dot%s",
			          (unsigned long long)c->id, c->peer_text, desc,
			          wolfSSL_session_reused(c->ssl) ? ", resumed" : "");
		}
		return true;
	}
	char err[TLS_ERR_MAX] = "peer closed";
	switch (tls_io_result(c->ssl, ret, err)) {
	case TLS_IO_WANT_READ:
		c->hs_blk = EV_READ;
		return false;
	case TLS_IO_WANT_WRITE:
		c->hs_blk = EV_WRITE;
		return false;
	default:
		log_info("conn %llu, remote %s, TLS handshake failed (%s)",
		         (unsigned long long)c->id, c->peer_text, err);
		conn_close(c, false, NULL);
		return true;
	}
}

/* Reads decrypted query bytes. An idle connection holds no query buffer: the
 * first read goes to the stack and the buffer is allocated only if it
 * returned data. */
/* Discards the first octets of `in` that belong to an oversized frame. */
static void
drop_skipped(struct conn *c)
{
	size_t n = c->in_skip < c->in_len ? c->in_skip : c->in_len;
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
	c->in_skip -= n;
}

static bool
cli_read(struct conn *c)
{
	if (c->state != CONN_OPEN || c->rd_blk || c->stopping || c->in_len == IN_BUF_SIZE)
		return false;
	uint8_t probe[512];
	uint8_t *dst = c->in != NULL ? c->in + c->in_len : probe;
	int room = c->in != NULL ? (int)(IN_BUF_SIZE - c->in_len) : (int)sizeof(probe);
	int ret = wolfSSL_read(c->ssl, dst, room);
	if (ret > 0) {
		if (c->in == NULL) {
			c->in = malloc(IN_BUF_SIZE);
			if (c->in == NULL) {
				conn_close(c, false, "out of memory");
				return true;
			}
			memcpy(c->in, probe, (size_t)ret);
		}
		c->in_len += (size_t)ret;
		if (c->in_skip > 0)
			drop_skipped(c);
		return true;
	}
	char err[TLS_ERR_MAX];
	switch (tls_io_result(c->ssl, ret, err)) {
	case TLS_IO_WANT_READ:
		c->rd_blk = EV_READ;
		return false;
	case TLS_IO_WANT_WRITE:
		c->rd_blk = EV_WRITE;
		return false;
	case TLS_IO_EOF:
		/* RFC 7766 §6.2.4: nothing more is sent once the client has closed. */
		log_debug("conn %llu, remote %s, client closed", (unsigned long long)c->id, c->peer_text);
		conn_close(c, c->n_inflight == 0, "client closed");
		return true;
	default:
		log_debug("conn %llu, remote %s, TLS read: %s", (unsigned long long)c->id, c->peer_text, err);
		conn_close(c, false, "client TLS error");
		return true;
	}
}

/* Writes at most one TLS record from the ring. After WANT_WRITE the same
 * bytes and length are retried: the ring head does not move until then. */
static bool
cli_write(struct conn *c)
{
	if (c->state != CONN_OPEN || c->wr_blk || !ring_allocated(&c->u2c))
		return false;
	size_t len;
	const uint8_t *p = ring_read_ptr(&c->u2c, TLS_RECORD_MAX, &len);
	if (c->wr_len != 0) {
		assert(len >= c->wr_len);
		len = c->wr_len;
	}
	if (len == 0)
		return false;
	int ret = wolfSSL_write(c->ssl, p, (int)len);
	if (ret > 0) {
		ring_consume(&c->u2c, (size_t)ret);
		c->wr_len = 0;
		c->last_active = ev_now(c->srv->loop);
		return true;
	}
	c->wr_len = len;
	char err[TLS_ERR_MAX];
	switch (tls_io_result(c->ssl, ret, err)) {
	case TLS_IO_WANT_WRITE:
		c->wr_blk = EV_WRITE;
		return false;
	case TLS_IO_WANT_READ:
		c->wr_blk = EV_READ;
		return false;
	default:
		log_debug("conn %llu, remote %s, TLS write: %s", (unsigned long long)c->id, c->peer_text,
		          c->state == CONN_OPEN ? err : "closed");
		conn_close(c, false, "client gone");
		return true;
	}
}

/* ---- pump, events, timer ---------------------------------------------- */

static bool
idle(const struct conn *c)
{
	return c->n_inflight == 0 && c->in_fwd == 0 && c->local_len == 0 &&
	       (!ring_allocated(&c->u2c) || ring_len(&c->u2c) == 0);
}

/* An idle connection keeps only its TLS session and this struct: the query
 * buffer and the relay ring are given back until they are needed again. */
static void
release_idle_buffers(struct conn *c)
{
	if (c->in != NULL && c->in_len == 0) {
		free(c->in);
		c->in = NULL;
	}
	if (ring_allocated(&c->u2c) && idle(c) && c->wr_len == 0 && respscan_at_boundary(&c->scan))
		ring_cleanup(&c->u2c);
}

static void
update_events(struct conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	int cev = 0;
	if (c->state == CONN_HANDSHAKE) {
		cev = c->hs_blk;
	} else {
		if (c->in_len < IN_BUF_SIZE)
			cev |= c->rd_blk;
		if (c->wr_len > 0 || (ring_allocated(&c->u2c) && ring_len(&c->u2c) > 0))
			cev |= c->wr_blk;
	}
	set_io(loop, &c->cli_io, c->cli_fd, cev);
	if (c->up_fd >= 0) {
		int uev = 0;
		if (c->up_connecting) {
			uev = EV_WRITE;
		} else {
			if (c->in_fwd > c->in_sent)
				uev |= c->up_wr_blk;
			if (up_read_limit(c) > 0)
				uev |= c->up_rd_blk;
		}
		set_io(loop, &c->up_io, c->up_fd, uev);
	}
}

/* The backend owes the first octet of an answer: it is still connecting,
 * or queries are in flight and none of their answers has begun. */
static bool
backend_owes_first_byte(const struct conn *c)
{
	if (c->up_connecting)
		return true;
	if (c->n_inflight == 0 || !respscan_at_boundary(&c->scan))
		return false;
	for (unsigned i = 0; i < c->n_inflight; i++)
		if (c->inflight[i].xfr.messages > 0)
			return false;
	return true;
}

enum deadline { DL_HANDSHAKE, DL_BACKEND, DL_TRANSFER, DL_IDLE };

/* When the connection's current state runs out of time, and which limit
 * that is: the handshake deadline; backend-timeout while the backend owes
 * the first octet of an answer; the progress deadline while answers are
 * owed (a query in flight, or output not yet taken by the client; progress
 * is a complete message from the backend or a whole TLS record taken by
 * the client); or the idle deadline (TCP-05: only complete messages count
 * as activity). Always the configuration in force now. */
static double
conn_deadline(const struct conn *c, enum deadline *kind)
{
	const struct conf *conf = c->srv->conf;
	if (c->state == CONN_HANDSHAKE) {
		*kind = DL_HANDSHAKE;
		return c->accepted + conf->handshake_timeout;
	}
	if (idle(c)) {
		*kind = DL_IDLE;
		return c->last_active + conf->idle_timeout;
	}
	*kind = DL_TRANSFER;
	double t = c->last_active + conf->transfer_timeout;
	if (backend_owes_first_byte(c) && c->up_since + conf->backend_timeout < t) {
		*kind = DL_BACKEND;
		t = c->up_since + conf->backend_timeout;
	}
	return t;
}

/* Activity only moves the deadline later, and the timer handles that
 * lazily when it fires; but a state change can bring it earlier (a short
 * idle timeout after the handshake, or after a transfer ends), and then the
 * timer must be re-armed now. */
static void
conn_rearm_timer(struct conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	enum deadline kind;
	double left = conn_deadline(c, &kind) - ev_now(loop);
	if (left < 0)
		left = 0;
	if (!ev_is_active(&c->timer) || ev_timer_remaining(loop, &c->timer) > left + 0.001) {
		c->timer.repeat = left > 0 ? left : 0.001;
		ev_timer_again(loop, &c->timer);
	}
}

static void
conn_pump(struct conn *c)
{
	bool progress;
	do {
		progress = cli_handshake(c);
		if (c->state != CONN_OPEN)
			break;
		progress |= cli_read(c);
		progress |= process_queries(c);
		progress |= up_ensure(c);
		if (c->state != CONN_OPEN)
			break;
		progress |= up_write(c);
		progress |= up_read(c);
		progress |= flush_local(c);
		progress |= cli_write(c);
	} while (progress && c->state == CONN_OPEN);

	if (c->state == CONN_OPEN && c->stopping && idle(c))
		conn_close(c, true, NULL);
	if (c->state != CONN_CLOSED) {
		release_idle_buffers(c);
		update_events(c);
		conn_rearm_timer(c);
	}
}

static void
cli_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	assert(c->magic == CONN_MAGIC);
	if (c->hs_blk & revents)
		c->hs_blk = 0;
	if (c->rd_blk & revents)
		c->rd_blk = 0;
	if (c->wr_blk & revents)
		c->wr_blk = 0;
	conn_pump(c);
	conn_after_event(c);
}

static void
up_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	assert(c->magic == CONN_MAGIC);
	if (c->up_connecting) {
		if (!(revents & EV_WRITE) || !up_connect_done(c)) {
			conn_pump(c);
			conn_after_event(c);
			return;
		}
	}
	if (c->up_rd_blk & revents)
		c->up_rd_blk = 0;
	if (c->up_wr_blk & revents)
		c->up_wr_blk = 0;
	conn_pump(c);
	conn_after_event(c);
}

/* The connection's one timer: on expiry it recomputes the deadline for the
 * current state and acts only if it has really passed. */
static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;
	assert(c->magic == CONN_MAGIC);
	enum deadline kind;
	double now = ev_now(loop), deadline = conn_deadline(c, &kind);
	if (now < deadline) {
		w->repeat = deadline - now;
		ev_timer_again(loop, w);
		return;
	}
	if (kind == DL_HANDSHAKE) {
		log_info("conn %llu, remote %s, TLS handshake failed (timeout)",
		         (unsigned long long)c->id, c->peer_text);
		conn_close(c, false, NULL);
	} else if (kind == DL_BACKEND) {
		/* XoT error table, "backend fails before answering": SERVFAIL + EDE 23 */
		if (backend_failed(c, "backend timeout", "backend timeout"))
			conn_pump(c);
		else
			conn_close(c, false, "backend timeout");
	} else if (kind == DL_TRANSFER) {
		if (c->n_inflight == 0)
			log_info("conn %llu, remote %s, closed: client stopped reading (transfer timeout)",
			         (unsigned long long)c->id, c->peer_text);
		conn_close(c, false, "transfer timeout");   /* an abort: no close_notify */
	} else {
		log_debug("conn %llu, remote %s, closed: idle", (unsigned long long)c->id, c->peer_text);
		conn_close(c, true, NULL);   /* DOT-04: close_notify on idle close */
	}
	conn_after_event(c);
}

/* ---- lifecycle ---------------------------------------------------------- */

int
conn_accept(struct server *srv, int fd, const struct sockaddr *peer, socklen_t peer_len,
            const struct sockaddr_storage *group)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	errno = 0;
	c->ssl = tls_session_new(srv->tls, fd);
	if (c->ssl == NULL) {
		int err = errno != 0 ? errno : ENOMEM;   /* wolfSSL may need a descriptor to seed */
		close(fd);
		free(c);
		errno = err;
		return -1;
	}
	c->magic = CONN_MAGIC;
	c->state = CONN_HANDSHAKE;
	c->id = ++srv->next_conn_id;
	c->srv = srv;
	c->cli_fd = fd;
	c->up_fd = -1;
	memcpy(&c->peer, peer, peer_len < sizeof(c->peer) ? peer_len : sizeof(c->peer));
	c->peer_group = *group;
	netaddr_format(peer, c->peer_text);
	respscan_init(&c->scan, &scan_ops, c);
	c->accepted = c->last_active = ev_now(srv->loop);

	ev_io_init(&c->cli_io, cli_cb, fd, 0);
	c->cli_io.data = c;
	ev_init(&c->timer, timer_cb);
	c->timer.data = c;
	c->timer.repeat = srv->conf->handshake_timeout;
	ev_timer_again(srv->loop, &c->timer);

	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
	hs_link(c);
	log_debug("conn %llu, remote %s, accepted", (unsigned long long)c->id, c->peer_text);

	conn_pump(c);                      /* the ClientHello may already be there */
	conn_after_event(c);
	return 0;
}

void
conn_stop(struct conn *c)
{
	c->stopping = true;
	if (c->state == CONN_HANDSHAKE) {
		conn_close(c, false, NULL);
	} else {
		conn_pump(c);
	}
	conn_after_event(c);
}

void
conn_evict_handshake(struct server *srv)
{
	struct conn *c = srv->hs_head;
	if (c == NULL)
		return;
	log_debug("conn %llu, remote %s, closed: oldest pending handshake, max-handshakes (%u) reached",
	          (unsigned long long)c->id, c->peer_text, srv->conf->max_handshakes);
	conn_close(c, false, NULL);
	conn_after_event(c);
}

void
conn_kill(struct conn *c)
{
	conn_close(c, false, "shutdown");
	conn_after_event(c);
}
