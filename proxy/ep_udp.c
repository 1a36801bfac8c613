/* ep_udp.c - a UDP query as a relay endpoint (outbound SOA polls and IXFR
 * over UDP): one datagram in, exactly one datagram out. */
#include "proxy/lib/container.h"
#include "ep_udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/lib/dnsmsg.h"
#include "proxy/lib/log.h"
#include "proxy/lib/netaddr.h"
#include "proxy/lib/respscan.h"
#include "proxy/lib/xfr.h"

#define UDP_PAYLOAD 1232                /* the size our OPT advertises (DNS flag day 2020) */

/* ---- addresses: answer from the address the query was sent to ----------- */

/* Room for one pktinfo of either family. */
union pktinfo_ctl {
	struct cmsghdr align;
	uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
};

int
udp_pktinfo_enable(int sock)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;
	if (getsockname(sock, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return setsockopt(sock, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	return setsockopt(sock, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
}

/* Takes the destination address out of one control message, if it is one. */
static void
take_pktinfo(const struct cmsghdr *c, struct udp_addr *a)
{
	if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
		struct in_pktinfo pi;
		memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->local;
		sin->sin_family = AF_INET;
		sin->sin_addr = pi.ipi_addr;
		a->ifindex = (unsigned)pi.ipi_ifindex;
	} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
		struct in6_pktinfo pi;
		memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->local;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = pi.ipi6_addr;
		a->ifindex = pi.ipi6_ifindex;
	}
}

ssize_t
udp_recv(int sock, uint8_t *buf, size_t cap, struct udp_addr *a)
{
	union pktinfo_ctl ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr m = {
		.msg_name = &a->peer, .msg_namelen = sizeof(a->peer),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n = recvmsg(sock, &m, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return -1;
	a->peer_len = m.msg_namelen;
	memset(&a->local, 0, sizeof(a->local));         /* AF_UNSPEC until a pktinfo says */
	a->ifindex = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
		take_pktinfo(c, a);
	return n;
}

int
udp_send(int sock, const struct udp_addr *a, const uint8_t *msg, size_t len)
{
	union pktinfo_ctl ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr m = {
		.msg_name = (void *)&a->peer, .msg_namelen = a->peer_len,
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	if (a->local.ss_family == AF_INET) {
		/* source = the query's destination; ifindex 0: the route picks */
		struct in_pktinfo pi = {
			.ipi_spec_dst = ((const struct sockaddr_in *)&a->local)->sin_addr,
		};
		m.msg_control = ctl.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(pi));
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else if (a->local.ss_family == AF_INET6) {
		struct in6_pktinfo pi = {
			.ipi6_addr = ((const struct sockaddr_in6 *)&a->local)->sin6_addr,
			.ipi6_ifindex = a->ifindex,     /* needed for link-local sources */
		};
		m.msg_control = ctl.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(pi));
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	return sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* ---- what goes back ------------------------------------------------------- */

/* ep_udp_whole's scan of one frame, through the relay's own rules. */
struct whole_scan {
	struct xfr x;
	bool ended;                     /* the frame ended the answer stream */
};

static void
ws_begin(void *ctx, const uint8_t hdr[12])
{
	xfr_frame_begin(&((struct whole_scan *)ctx)->x, hdr);
}

static void
ws_soa(void *ctx, uint32_t serial)
{
	xfr_soa(&((struct whole_scan *)ctx)->x, serial);
}

static void
ws_end(void *ctx, size_t frame_len, bool malformed)
{
	struct whole_scan *w = ctx;
	w->ended = !malformed && xfr_frame_end(&w->x, frame_len);
}

static const struct respscan_ops whole_ops = { ws_begin, ws_soa, ws_end };

bool
ep_udp_whole(uint16_t qtype, const uint8_t *frame, size_t frame_len)
{
	struct whole_scan w = { .ended = false };
	xfr_init(&w.x, 0, qtype, false, 0, 0);
	struct respscan s;
	respscan_init(&s, &whole_ops, &w);
	respscan_feed(&s, frame, frame_len);
	return w.ended && respscan_at_boundary(&s);
}

/* What BIND 9.18.49 and NSD 4.6.1 secondaries do with an UNSIGNED TC answer
 * to a TSIG-signed query (issue 13, A11; seen with t67_udp_tsig_truncated
 * minus its [key]):
 *  - BIND (SOA poll over UDP) rejects it and never falls back to TCP:
 *      "zone tc11.test/IN: refresh: failure trying primary 127.0.0.1#PORT
 *       (source 0.0.0.0#0): expected a TSIG or SIG(0)"
 *    and retries the same way: the zone never loads.
 *  - NSD sends no UDP query by default (IXFR/AXFR over TCP). With
 *    "request-xfr: UDP" it sends IXFR over UDP and rejects it too:
 *      "xfrd: zone tc11.test, from 127.0.0.1@PORT: no tsig in first packet
 *       of reply", "bad transfer", and stays on its old serial.
 * RFC 8945 §5.3 wants a truncated answer signed with the request's key.
 * The proxy relays TSIG untouched and holds no key of its own, so the TC
 * answer is signed when a [key] section with that name and secret exists
 * (ep_udp_set_tsig); then BIND logs "refresh: truncated UDP answer,
 * initiating TCP zone xfer" and both load the zone. Without that [key] the
 * TC goes unsigned (nothing better can be made). */
size_t
ep_udp_truncate(const uint8_t *msg, size_t len, bool edns, uint8_t *out, size_t cap)
{
	if (len < DNS_HDR_LEN || rd16(msg + 4) != 1)
		return 0;
	size_t pos = DNS_HDR_LEN;
	uint8_t name[DNAME_MAXLEN];
	if (dnsmsg_read_name(msg, len, &pos, name) < 0 || len - pos < 4 || pos + 4 > cap ||
	    pos + 4 > 512)
		return 0;
	pos += 4;
	memcpy(out, msg, pos);
	out[2] |= 0x02;                         /* TC */
	memset(out + 6, 0, 6);                  /* no answer, authority, additional */
	if (edns && pos + 11 <= cap) {
		/* RFC 6891 §7: an OPT in the answer to a query that had one */
		static const uint8_t opt[11] = { 0, 0, 41, UDP_PAYLOAD >> 8, UDP_PAYLOAD & 0xff,
		                                 0, 0, 0, 0, 0, 0 };
		memcpy(out + pos, opt, sizeof(opt));
		pos += sizeof(opt);
		out[11] = 1;                        /* ARCOUNT */
	}
	return pos;
}

size_t
ep_udp_servfail(const uint8_t *msg, size_t len, int ede, const char *text, uint8_t *out,
                size_t cap)
{
	struct dns_query q;
	const char *why;
	enum dns_parse_result res = dnsmsg_parse_query(msg, len, &q, &why);
	if (res == DNS_PARSE_SHORT)
		return 0;
	if (res == DNS_PARSE_FORMERR)
		q.has_opt = false;                  /* the OPT may be the defect */
	int n = dnsmsg_build_error(&q, DNS_RCODE_SERVFAIL, ede, text, out, cap);
	return n > 0 ? (size_t)n : 0;
}

void
ep_udp_set_tsig(struct ep_udp *u, const struct tsig_request *req)
{
	if (u->tsig == NULL && (u->tsig = malloc(sizeof(*u->tsig))) == NULL)
		return;
	u->tsig->key = *req->key;
	u->tsig->req = *req;
	u->tsig->req.key = &u->tsig->key;
}

int
ep_udp_sign(const struct ep_udp *u, uint8_t *msg, size_t len, size_t cap)
{
	if (u->tsig == NULL || len == 0)
		return -1;
	return tsig_sign_answer(msg, len, cap, &u->tsig->req, (uint64_t)time(NULL), TSIG_ERR_NONE);
}

/* An answer this endpoint made (TC, SERVFAIL), signed when the query was:
 * the new length, or len (unsigned) when it cannot be. */
static size_t
sign_own(const struct ep_udp *u, uint8_t *msg, size_t len, size_t cap)
{
	int n = ep_udp_sign(u, msg, len, cap);
	return n > 0 ? (size_t)n : len;
}

/* The one datagram of this query; nothing is sent after it. */
static void
reply(struct ep_udp *u, const uint8_t *msg, size_t len)
{
	if (!u->done && len > 0)
		udp_send(u->sock, &u->addr, msg, len);
	u->done = true;
	u->ep.rd_blk = 0;                       /* the next read reports EOF */
}

/* No answer will come (the relay is closing): SERVFAIL with the query's ID. */
static void
reply_servfail(struct ep_udp *u, int ede, const char *text)
{
	uint8_t out[DNS_ERROR_MAX];
	size_t n = u->query != NULL ? ep_udp_servfail(u->query + 2, u->query_len - 2, ede, text,
	                                              out, sizeof(out)) : 0;
	reply(u, out, sign_own(u, out, n, sizeof(out)));
}

static void
log_tc(const struct ep_udp *u, size_t len, bool whole)
{
	if (log_threshold < XP_LOG_DEBUG)
		return;
	char peer[NETADDR_TEXT_MAX];
	netaddr_format((const struct sockaddr *)&u->addr.peer, peer);
	log_debug("UDP %s, id %u: TC sent%s: the first answer message (%zu octets) %s", peer,
	          rd16(u->answer + 2), u->tsig != NULL ? " with TSIG" : "", len,
	          whole ? "is over the requester's size" : "is not the whole answer");
}

/* Sends the collected answer frame back: whole when it is the whole answer
 * and fits the requester's size, else TC (retry over TCP). */
static void
send_answer(struct ep_udp *u)
{
	const uint8_t *msg = u->answer + 2;
	size_t len = u->answer_len - 2;
	uint8_t tc[DNS_ERROR_MAX];
	bool whole = ep_udp_whole(u->qtype, u->answer, u->answer_len);
	if (len > u->max_size || !whole) {
		size_t n = ep_udp_truncate(msg, len, u->edns, tc, 512);
		log_tc(u, len, whole);
		len = sign_own(u, tc, n, sizeof(tc));
		msg = tc;
	}
	if (len == 0)
		reply_servfail(u, DNS_EDE_NETWORK_ERROR, "malformed answer from primary");
	else
		reply(u, msg, len);
}

static struct ep_udp *
ep_udp_of(struct endpoint *ep)
{
	return container_of(ep, struct ep_udp, ep);
}

static enum io_result
udp_handshake(struct endpoint *ep)
{
	return IO_OK;
}

static enum io_result
udp_readv(struct endpoint *ep, const struct iovec *iov, int cnt, size_t *got)
{
	struct ep_udp *u = ep_udp_of(ep);
	if (u->query_off < u->query_len) {
		size_t n = u->query_len - u->query_off;
		if (n > iov[0].iov_len)
			n = iov[0].iov_len;
		memcpy(iov[0].iov_base, u->query + u->query_off, n);
		u->query_off += n;
		*got = n;
		return IO_OK;
	}
	if (u->done) {
		snprintf(ep->err, sizeof(ep->err), "answered");
		return IO_EOF;
	}
	ep->rd_blk = EV_READ;                   /* nothing more: the answer ends it */
	return IO_AGAIN;
}

/* Takes everything; only the first answer frame is kept and sent. */
static enum io_result
udp_write(struct endpoint *ep, const uint8_t *buf, size_t len, size_t *put)
{
	struct ep_udp *u = ep_udp_of(ep);
	*put = len;
	for (size_t i = 0; i < len && !u->done; i++) {
		if (u->answer_len == u->answer_cap) {
			size_t cap = u->answer_len < 2 ? 2 : 2 + (size_t)rd16(u->answer);
			if (cap <= u->answer_cap) {
				send_answer(u);
				break;
			}
			uint8_t *p = realloc(u->answer, cap);
			if (p == NULL) {
				snprintf(ep->err, sizeof(ep->err), "out of memory");
				return IO_ERR;
			}
			u->answer = p;
			u->answer_cap = cap;
		}
		u->answer[u->answer_len++] = buf[i];
		if (u->answer_len >= 2 && u->answer_len == 2 + (size_t)rd16(u->answer))
			send_answer(u);
	}
	return IO_OK;
}

static size_t
udp_pending(const struct endpoint *ep)
{
	return 0;
}

/* The relay is done with this query. If nothing went back yet (the
 * primary broke mid-message, the shutdown deadline, any error), the
 * requester gets SERVFAIL now rather than silence (issue 13, A7): EDE 23
 * when part of an answer had arrived, else EDE 22. */
static void
udp_close(struct endpoint *ep, bool graceful)
{
	struct ep_udp *u = ep_udp_of(ep);
	if (!u->done) {
		if (u->answer_len > 0)
			reply_servfail(u, DNS_EDE_NETWORK_ERROR, "answer from primary cut short");
		else
			reply_servfail(u, DNS_EDE_NO_REACHABLE_AUTHORITY, "no answer from primary");
	}
}

static const struct endpoint_ops ep_udp_ops = {
	.kind = "udp",
	.whole_messages = true,
	.handshake = udp_handshake,
	.readv = udp_readv,
	.write = udp_write,
	.pending = udp_pending,
	.close = udp_close,
};

int
ep_udp_init(struct ep_udp *u, int sock, const struct udp_addr *a, const uint8_t *msg,
            size_t len, uint16_t qtype, size_t max_size, bool edns,
            void (*on_event)(void *), void *owner)
{
	memset(u, 0, sizeof(*u));
	/* no loop and no descriptor of its own: the socket is the listener's */
	endpoint_init(&u->ep, &ep_udp_ops, NULL, -1, EP_HANDSHAKING, on_event, owner);
	u->sock = sock;
	u->addr = *a;
	u->qtype = qtype;
	u->max_size = max_size;
	u->edns = edns;
	u->query = malloc(len + 2);
	if (u->query == NULL) {
		u->done = true;                     /* the caller answers for itself */
		return -1;
	}
	wr16(u->query, (uint16_t)len);
	memcpy(u->query + 2, msg, len);
	u->query_len = len + 2;
	return 0;
}

void
ep_udp_cleanup(struct ep_udp *u)
{
	free(u->query);
	free(u->answer);
	free(u->tsig);
	u->query = u->answer = NULL;
	u->tsig = NULL;
}
