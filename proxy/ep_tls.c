/* ep_tls.c - the endpoint vtable over a wolfSSL session: handshake steps,
 * record-sized reads and writes, close_notify on graceful close; the layer
 * holds its TCP endpoint (t->tcp), whose descriptor wolfSSL reads and
 * writes. Also the connector a pool opens its sessions through. */
#include "proxy/lib/container.h"
#include "ep_tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ep_tcp.h"
#include "tls/tls_client.h"

#define TLS_RECORD_PLAINTEXT 16384  /* RFC 8446 section 5.1: 2^14 octets */

static const struct ep_tls *
ep_tls_of_const(const struct endpoint *ep)
{
	return container_of(ep, const struct ep_tls, ep);
}

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
	int n = wolfSSL_pending(ep_tls_of_const(ep)->ssl);
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
	if (graceful)
		wolfSSL_shutdown(t->ssl);           /* one non-blocking attempt */
	wolfSSL_free(t->ssl);
	t->ssl = NULL;
	if (t->tcp.fd >= 0)
		drain_input(t->tcp.fd);
	endpoint_close(&t->tcp, false);
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
	if (ep->state == EP_CONNECTING) {           /* the transport's connect: its wait is ours */
		enum io_result r = endpoint_lower_handshake(ep);
		if (r != IO_OK)
			return r;
		ep->state = EP_HANDSHAKING;
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

static const struct endpoint_ops ep_tls_client_ops = {
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
	endpoint_init(&t->ep, &ep_tls_client_ops, loop, -1, EP_CLOSED, on_event, owner);
	t->ep.lower = &t->tcp;
	t->client = true;
	t->ssl = NULL;
	if (ep_tcp_connect(&t->tcp, NULL, to, NULL, NULL, NULL) < 0) {
		memcpy(t->ep.err, t->tcp.err, sizeof(t->ep.err));
		t->ep.err_code = t->tcp.err_code;
		return -1;
	}
	t->ssl = tls_client_session_new(ctx, t->tcp.fd, resume);
	if (t->ssl == NULL) {
		snprintf(t->ep.err, sizeof(t->ep.err), "cannot create a TLS session");
		t->ep.err_code = RSN_HS_OTHER;
		endpoint_close(&t->tcp, false);
		return -1;
	}
	t->ep.state = EP_CONNECTING;
	t->ep.hs_blk = t->tcp.hs_blk;
	return 0;
}

int
ep_tls_server_init(struct ep_tls *t, struct ev_loop *loop, int fd, WOLFSSL_CTX *ctx,
                   void (*on_event)(void *), void *owner)
{
	endpoint_init(&t->ep, &ep_tls_server_ops, loop, -1, EP_CLOSED, on_event, owner);
	endpoint_init(&t->tcp, &ep_tcp_ops, NULL, -1, EP_CLOSED, NULL, NULL);
	t->ep.lower = &t->tcp;
	t->client = false;
	ep_tcp_nodelay(fd);
	errno = 0;
	t->ssl = tls_session_new(ctx, fd);
	if (t->ssl == NULL) {
		if (errno == 0)
			errno = ENOMEM;             /* wolfSSL may need a descriptor to seed */
		return -1;
	}
	t->tcp.fd = fd;
	t->tcp.state = EP_OPEN;                 /* accepted */
	t->ep.state = EP_HANDSHAKING;
	return 0;
}

WOLFSSL_CTX *
ep_tls_client_ctx_new(const struct conf_outbound *ob, char err[TLS_ERR_MAX])
{
	struct tls_client_auth auth = {
		.ca = ob->ca, .auth_name = ob->auth_name,
		.pins = (const uint8_t (*)[32])ob->pins, .n_pins = ob->n_pins,
		.client_cert = ob->client_cert, .client_key = ob->client_key,
	};
	return tls_client_ctx_new(&auth, err);
}

/* ---- the connector a pool opens its sessions through ------------------- */

struct tls_connector {
	struct connector c;
	WOLFSSL_CTX *ctx;
	size_t n;
	WOLFSSL_SESSION *ticket[];       /* per server: resumes its next connection */
};

static struct tls_connector *
tls_connector_of(struct connector *c)
{
	return container_of(c, struct tls_connector, c);
}

static struct endpoint *
tc_open(struct connector *c, size_t server, const struct netaddr *to, char *err, size_t len)
{
	struct tls_connector *tc = tls_connector_of(c);
	struct ep_tls *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	if (ep_tls_client_init(t, NULL, tc->ctx, to, server < tc->n ? tc->ticket[server] : NULL,
	                       NULL, NULL) < 0) {
		snprintf(err, len, "%s", t->ep.err);
		free(t);
		return NULL;
	}
	return &t->ep;
}

static void
tc_keep_ticket(struct connector *c, size_t server, struct endpoint *ep)
{
	struct tls_connector *tc = tls_connector_of(c);
	WOLFSSL_SESSION *s = server < tc->n ? tls_client_session_get(ep_tls_of(ep)->ssl) : NULL;
	if (s == NULL)
		return;
	if (tc->ticket[server] != NULL)
		wolfSSL_SESSION_free(tc->ticket[server]);
	tc->ticket[server] = s;
}

static bool
tc_resumed(const struct endpoint *ep)
{
	return wolfSSL_session_reused(ep_tls_of_const(ep)->ssl);
}

static bool
tc_peer_alert(const struct endpoint *ep)
{
	const struct ep_tls *t = ep_tls_of_const(ep);
	return t->ssl != NULL && tls_client_peer_alert(t->ssl, NULL, 0);
}

static void
tc_release(struct endpoint *ep, bool graceful)
{
	endpoint_close(ep, graceful);
	free(ep_tls_of(ep));
}

static void
tc_free(struct connector *c)
{
	struct tls_connector *tc = tls_connector_of(c);
	for (size_t i = 0; i < tc->n; i++)
		if (tc->ticket[i] != NULL)
			wolfSSL_SESSION_free(tc->ticket[i]);
	wolfSSL_CTX_free(tc->ctx);
	free(tc);
}

static const struct connector_ops tls_connector_ops = {
	.open = tc_open,
	.keep_ticket = tc_keep_ticket,
	.resumed = tc_resumed,
	.peer_alert = tc_peer_alert,
	.release = tc_release,
	.free = tc_free,
};

struct connector *
ep_tls_connector_new(WOLFSSL_CTX *ctx, size_t n_servers)
{
	struct tls_connector *tc = calloc(1, sizeof(*tc) + n_servers * sizeof(tc->ticket[0]));
	if (tc == NULL) {
		wolfSSL_CTX_free(ctx);
		return NULL;
	}
	tc->c.ops = &tls_connector_ops;
	tc->ctx = ctx;
	tc->n = n_servers;
	return &tc->c;
}
