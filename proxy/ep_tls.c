/* ep_tls.c - the endpoint vtable over a wolfSSL session: handshake steps,
 * record-sized reads and writes, close_notify on graceful close. */
#include "ep_tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ep_tcp.h"
#include "tls/tls_client.h"

#define TLS_RECORD_PLAINTEXT 16384  /* RFC 8446 section 5.1: 2^14 octets */

/* Maps a wolfSSL result to an endpoint result, recording what it waits on. */
static enum io_result
tls_result(struct ep_tls *t, int ret, int *blk)
{
	char err[TLS_ERR_MAX] = "peer closed";
	enum tls_io res = tls_io_result(t->ssl, ret, err);
	if (res == TLS_IO_WANT_READ) {
		*blk = EV_READ;
		return IO_AGAIN;
	}
	if (res == TLS_IO_WANT_WRITE) {
		*blk = EV_WRITE;
		return IO_AGAIN;
	}
	/* a primary's alert (our client certificate refused after our side of
	 * a TLS 1.3 handshake ended) is named in words, not as a wolfSSL code */
	if (t->client && tls_client_peer_alert(t->ssl, t->ep.err, sizeof(t->ep.err))) {
		t->ep.err_code = tls_client_alert_reason(t->ssl);
		return IO_ERR;
	}
	switch (res) {
	case TLS_IO_EOF:
		snprintf(t->ep.err, sizeof(t->ep.err), "peer closed");
		t->ep.err_code = RSN_HS_CLOSED;
		return IO_EOF;
	default:
		snprintf(t->ep.err, sizeof(t->ep.err), "%s", err);
		t->ep.err_code = tls_io_reason(t->ssl, ret);
		return IO_ERR;
	}
}

static enum io_result
tls_handshake(struct endpoint *ep)
{
	struct ep_tls *t = ep_tls_of(ep);
	int ret = wolfSSL_accept(t->ssl);
	if (ret == WOLFSSL_SUCCESS)
		return IO_OK;
	return tls_result(t, ret, &ep->hs_blk);
}

static enum io_result
tls_readv(struct endpoint *ep, const struct iovec *iov, int cnt, size_t *got)
{
	struct ep_tls *t = ep_tls_of(ep);
	int ret = wolfSSL_read(t->ssl, iov[0].iov_base, (int)iov[0].iov_len);
	if (ret > 0) {
		*got = (size_t)ret;
		return IO_OK;
	}
	return tls_result(t, ret, &ep->rd_blk);
}

static enum io_result
tls_write(struct endpoint *ep, const uint8_t *buf, size_t len, size_t *put)
{
	struct ep_tls *t = ep_tls_of(ep);
	int ret = wolfSSL_write(t->ssl, buf, (int)len);
	if (ret > 0) {
		*put = (size_t)ret;
		return IO_OK;
	}
	return tls_result(t, ret, &ep->wr_blk);
}

static size_t
tls_pending(const struct endpoint *ep)
{
	const struct ep_tls *t = (const struct ep_tls *)ep;
	int n = wolfSSL_pending(t->ssl);
	return n > 0 ? (size_t)n : 0;
}

/* Reads away what the peer already sent: close() with unread data makes
 * the kernel send a reset, which can overtake our last alert or
 * close_notify (a TLS 1.3 client whose certificate was refused has usually
 * sent its first query by then). Bounded: at most 64 KiB. */
static void
drain_input(int fd)
{
	uint8_t buf[4096];
	for (int i = 0; i < 16; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			return;
}

static void
tls_close(struct endpoint *ep, bool graceful)
{
	struct ep_tls *t = ep_tls_of(ep);
	if (graceful && ep->established)
		wolfSSL_shutdown(t->ssl);           /* one non-blocking attempt */
	endpoint_unwatch(ep);
	wolfSSL_free(t->ssl);
	t->ssl = NULL;
	drain_input(ep->fd);
	close(ep->fd);
	ep->fd = -1;
}

static const struct endpoint_ops ep_tls_server_ops = {
	.kind = "tls-server",
	.write_max = TLS_RECORD_PLAINTEXT,
	.handshake = tls_handshake,
	.readv = tls_readv,
	.write = tls_write,
	.pending = tls_pending,
	.close = tls_close,
};

/* Client: first the TCP connect completes, then the verified handshake
 * (tls_client_handshake: nothing is sent before the primary is proven). */
static enum io_result
tls_client_step(struct endpoint *ep)
{
	struct ep_tls *t = ep_tls_of(ep);
	if (!t->tcp_connected) {
		enum io_result r = ep_tcp_ops.handshake(ep);
		if (r != IO_OK) {
			ep->err_code = RSN_UP_CONNECT;
			return r;
		}
		t->tcp_connected = true;
	}
	char err[TLS_ERR_MAX] = "";
	enum reason why;
	switch (tls_client_handshake_why(t->ssl, err, &why)) {
	case TLS_IO_OK:
		return IO_OK;
	case TLS_IO_WANT_READ:
		ep->hs_blk = EV_READ;
		return IO_AGAIN;
	case TLS_IO_WANT_WRITE:
		ep->hs_blk = EV_WRITE;
		return IO_AGAIN;
	default:
		snprintf(ep->err, sizeof(ep->err), "%s", err[0] != '\0' ? err : "TLS handshake failed");
		ep->err_code = why != RSN_NONE ? why : RSN_HS_OTHER;
		return IO_ERR;
	}
}

const struct endpoint_ops ep_tls_client_ops = {
	.kind = "tls-client",
	.write_max = TLS_RECORD_PLAINTEXT,
	.handshake = tls_client_step,
	.readv = tls_readv,
	.write = tls_write,
	.pending = tls_pending,
	.close = tls_close,
};

int
ep_tls_client_init(struct ep_tls *t, struct ev_loop *loop, WOLFSSL_CTX *ctx,
                   const struct netaddr *to, WOLFSSL_SESSION *resume,
                   void (*on_event)(void *), void *owner)
{
	if (ep_tcp_connect(&t->ep, loop, to, NULL, on_event, owner) < 0) {
		t->ep.err_code = RSN_UP_CONNECT;
		return -1;
	}
	t->ep.ops = &ep_tls_client_ops;
	t->client = true;
	t->tcp_connected = false;
	t->ssl = tls_client_session_new(ctx, t->ep.fd, resume);
	if (t->ssl == NULL) {
		snprintf(t->ep.err, sizeof(t->ep.err), "cannot create a TLS session");
		t->ep.err_code = RSN_HS_OTHER;
		close(t->ep.fd);
		t->ep.fd = -1;
		return -1;
	}
	return 0;
}

int
ep_tls_server_init(struct ep_tls *t, struct ev_loop *loop, int fd, WOLFSSL_CTX *ctx,
                   void (*on_event)(void *), void *owner)
{
	endpoint_init(&t->ep, &ep_tls_server_ops, loop, fd, on_event, owner);
	ep_tcp_nodelay(fd);
	errno = 0;
	t->ssl = tls_session_new(ctx, fd);
	if (t->ssl == NULL) {
		if (errno == 0)
			errno = ENOMEM;             /* wolfSSL may need a descriptor to seed */
		t->ep.fd = -1;
		return -1;
	}
	t->client = false;
	return 0;
}
