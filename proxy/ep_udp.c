/* ep_udp.c - a UDP query as a relay endpoint (outbound SOA polls). */
#include "ep_udp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"

#define UDP_PAYLOAD 1232                /* the size our OPT advertises (DNS flag day 2020) */

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

static enum io_result
udp_handshake(struct endpoint *ep)
{
	return IO_OK;
}

static enum io_result
udp_readv(struct endpoint *ep, const struct iovec *iov, int cnt, size_t *got)
{
	struct ep_udp *u = (struct ep_udp *)ep;
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

/* Sends the collected answer frame back, truncated if it is too large. */
static void
send_answer(struct ep_udp *u)
{
	const uint8_t *msg = u->answer + 2;
	size_t len = u->answer_len - 2;
	uint8_t tc[512];
	if (len > u->max_size) {
		len = ep_udp_truncate(msg, len, u->edns, tc, sizeof(tc));
		msg = tc;
	}
	if (len > 0)
		sendto(u->sock, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&u->peer,
		       u->peer_len);
	u->done = true;
	u->ep.rd_blk = 0;                       /* the next read reports EOF */
}

/* Takes everything; only the first answer frame is kept and sent. */
static enum io_result
udp_write(struct endpoint *ep, const uint8_t *buf, size_t len, size_t *put)
{
	struct ep_udp *u = (struct ep_udp *)ep;
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

static void
udp_close(struct endpoint *ep, bool graceful)
{
	ep->fd = -1;                            /* the socket is the listener's */
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
ep_udp_init(struct ep_udp *u, int sock, const struct sockaddr *peer, socklen_t peer_len,
            const uint8_t *msg, size_t len, size_t max_size, bool edns,
            void (*on_event)(void *), void *owner)
{
	memset(u, 0, sizeof(*u));
	/* no loop: the endpoint never watches the shared socket */
	endpoint_init(&u->ep, &ep_udp_ops, NULL, sock, on_event, owner);
	u->sock = sock;
	memcpy(&u->peer, peer, peer_len < sizeof(u->peer) ? peer_len : sizeof(u->peer));
	u->peer_len = peer_len;
	u->max_size = max_size;
	u->edns = edns;
	u->query = malloc(len + 2);
	if (u->query == NULL)
		return -1;
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
	u->query = u->answer = NULL;
}
