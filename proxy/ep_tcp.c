/* ep_tcp.c - the plain TCP endpoint: an accepted socket, or a non-blocking
 * connect whose completion is its handshake step. */
#include "ep_tcp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static enum io_result
tcp_handshake(struct endpoint *ep)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(ep->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0)
		return IO_OK;
	if (err == EINPROGRESS || err == EALREADY) {
		ep->hs_blk = EV_WRITE;
		return IO_AGAIN;
	}
	snprintf(ep->err, sizeof(ep->err), "connect: %s", strerror(err));
	ep->err_code = RSN_UP_CONNECT;
	return IO_ERR;
}

/* A short read means the socket is drained: wait for readiness rather than
 * pay for a readv that would only say EAGAIN. */
static enum io_result
tcp_readv(struct endpoint *ep, const struct iovec *iov, int cnt, size_t *got)
{
	size_t want = 0;
	for (int i = 0; i < cnt; i++)
		want += iov[i].iov_len;
	ssize_t n;
	do
		n = readv(ep->fd, iov, cnt);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return endpoint_errno(ep, errno, &ep->rd_blk, EV_READ, "read");
	if (n == 0) {
		snprintf(ep->err, sizeof(ep->err), "peer closed");
		return IO_EOF;
	}
	*got = (size_t)n;
	if ((size_t)n < want)
		ep->rd_blk = EV_READ;
	return IO_OK;
}

static enum io_result
tcp_write(struct endpoint *ep, const uint8_t *buf, size_t len, size_t *put)
{
	ssize_t n;
	do
		n = send(ep->fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return endpoint_errno(ep, errno, &ep->wr_blk, EV_WRITE, "send");
	*put = (size_t)n;
	return IO_OK;
}

static size_t
tcp_pending(const struct endpoint *ep)
{
	return 0;
}

static void
tcp_close(struct endpoint *ep, bool graceful)
{
	close(ep->fd);
}

const struct endpoint_ops ep_tcp_ops = {
	.kind = "tcp",
	.handshake = tcp_handshake,
	.readv = tcp_readv,
	.write = tcp_write,
	.pending = tcp_pending,
	.close = tcp_close,
};

void
ep_tcp_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int
ep_tcp_connect(struct endpoint *ep, struct ev_loop *loop, const struct netaddr *to,
               const struct netaddr *source, void (*on_event)(void *), void *owner)
{
	int fd = socket(to->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	endpoint_init(ep, &ep_tcp_ops, loop, fd, fd >= 0 ? EP_CONNECTING : EP_CLOSED, on_event,
	              owner);
	if (fd < 0) {
		snprintf(ep->err, sizeof(ep->err), "socket: %s", strerror(errno));
		ep->err_code = RSN_UP_CONNECT;
		return -1;
	}
	ep_tcp_nodelay(fd);
	if (source != NULL && bind(fd, (const struct sockaddr *)&source->ss, source->len) < 0) {
		snprintf(ep->err, sizeof(ep->err), "bind to the source address: %s", strerror(errno));
		ep->err_code = RSN_UP_CONNECT;
		endpoint_close(ep, false);
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&to->ss, to->len) == 0)
		return 0;
	if (errno == EINPROGRESS) {
		ep->hs_blk = EV_WRITE;
		return 0;
	}
	snprintf(ep->err, sizeof(ep->err), "connect: %s", strerror(errno));
	ep->err_code = RSN_UP_CONNECT;
	endpoint_close(ep, false);
	return -1;
}

void
ep_tcp_accepted(struct endpoint *ep, struct ev_loop *loop, int fd, void (*on_event)(void *),
                void *owner)
{
	endpoint_init(ep, &ep_tcp_ops, loop, fd, EP_OPEN, on_event, owner);
	ep_tcp_nodelay(fd);
}
