/* endpoint.c - the part every endpoint shares: its watcher, the mask derived
 * from the blocked operations, and errno mapping for socket transports. */
#include "endpoint.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void
endpoint_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct endpoint *ep = w->data;
	if (ep->hs_blk & revents)
		ep->hs_blk = 0;
	if (ep->rd_blk & revents)
		ep->rd_blk = 0;
	if (ep->wr_blk & revents)
		ep->wr_blk = 0;
	ep->on_event(ep->owner);
}

void
endpoint_init(struct endpoint *ep, const struct endpoint_ops *ops, struct ev_loop *loop, int fd,
              enum endpoint_state state, void (*on_event)(void *), void *owner)
{
	memset(ep, 0, sizeof(*ep));
	ep->ops = ops;
	ep->loop = loop;
	ep->state = state;
	ep->fd = fd;
	ep->on_event = on_event;
	ep->owner = owner;
	ev_io_init(&ep->io, endpoint_cb, fd, 0);
	ep->io.data = ep;
}

void
endpoint_watch(struct endpoint *ep, bool want_read, bool want_write)
{
	if (ep->loop == NULL)
		return;
	int fd = endpoint_fd(ep);
	int events = 0;
	if (fd < 0)
		events = 0;                          /* nothing to watch (a session waiting for a slot) */
	else if (ep->state == EP_OPEN)
		events = (want_read ? ep->rd_blk : 0) | (want_write ? ep->wr_blk : 0);
	else if (ep->state == EP_CONNECTING || ep->state == EP_HANDSHAKING)
		events = ep->hs_blk;
	ev_io *w = &ep->io;
	if (ev_is_active(w) && w->fd == fd && (w->events & (EV_READ | EV_WRITE)) == events)
		return;
	ev_io_stop(ep->loop, w);
	if (events != 0) {
		ev_io_set(w, fd, events);
		ev_io_start(ep->loop, w);
	}
}

void
endpoint_unwatch(struct endpoint *ep)
{
	if (ep->loop != NULL)
		ev_io_stop(ep->loop, &ep->io);
}

void
endpoint_close(struct endpoint *ep, bool graceful)
{
	if (ep->state == EP_CLOSED || ep->state == EP_CLOSING)
		return;
	bool open = ep->state == EP_OPEN;
	ep->state = EP_CLOSING;
	endpoint_unwatch(ep);
	ep->ops->close(ep, graceful && open);
	ep->fd = -1;
	ep->state = EP_CLOSED;
}

/* A lower layer's operation ended in r: a failure is the layer's too, with
 * the lower one's reason (text and code). */
static enum io_result
lower_result(struct endpoint *ep, const struct endpoint *lo, enum io_result r)
{
	if (r == IO_EOF || r == IO_ERR) {
		memcpy(ep->err, lo->err, sizeof(ep->err));
		ep->err_code = lo->err_code;
	}
	return r;
}

enum io_result
endpoint_lower_handshake(struct endpoint *ep)
{
	struct endpoint *lo = ep->lower;
	lo->hs_blk = 0;
	enum io_result r = endpoint_handshake(lo);
	ep->hs_blk = lo->hs_blk;
	return lower_result(ep, lo, r);
}

enum io_result
endpoint_lower_readv(struct endpoint *ep, const struct iovec *iov, int cnt, size_t *got)
{
	struct endpoint *lo = ep->lower;
	lo->rd_blk = 0;
	enum io_result r = lo->ops->readv(lo, iov, cnt, got);
	ep->rd_blk = lo->rd_blk;
	return lower_result(ep, lo, r);
}

enum io_result
endpoint_lower_write(struct endpoint *ep, const uint8_t *buf, size_t len, size_t *put)
{
	struct endpoint *lo = ep->lower;
	lo->wr_blk = 0;
	enum io_result r = lo->ops->write(lo, buf, len, put);
	ep->wr_blk = lo->wr_blk;
	return lower_result(ep, lo, r);
}

enum io_result
endpoint_errno(struct endpoint *ep, int err, int *blk, int ev, const char *what)
{
	if (err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS) {
		*blk = ev;
		return IO_AGAIN;
	}
	if (err == ECONNRESET || err == EPIPE) {
		snprintf(ep->err, sizeof(ep->err), "%s: %s", what, strerror(err));
		return IO_EOF;
	}
	snprintf(ep->err, sizeof(ep->err), "%s: %s", what, strerror(err));
	return IO_ERR;
}
