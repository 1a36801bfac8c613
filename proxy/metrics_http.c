/* metrics_http.c - GET /metrics over HTTP/1.0 and 1.1 on the event loop.
 *
 * One connection is one scrape:
 *
 *   accept --> READ (head up to MX_HTTP_REQ_MAX) --> WRITE (response) --> LINGER --> closed
 *                 |  EOF, error                         |  error                  |
 *                 '-----------> closed <----------------'  EOF or the deadline ---'
 *
 * The listener is non-blocking; at most MX_HTTP_MAX_CLIENTS connections
 * are open (accepting pauses at the cap, the kernel backlog holds the
 * rest); each has MX_HTTP_TIMEOUT seconds in all. At accept, a peer
 * outside metrics-allow is closed, and so is one more connection from an
 * address that holds metrics-max-conns-per-ip already, so one host cannot
 * take every slot (issue 13 item 17). A head that does not
 * fit gets 400, a path other than /metrics 404, a method other than GET
 * or HEAD 405. The response is built whole into one buffer and written
 * non-blocking; then the write side is shut and what the client still
 * sends is read and discarded until it closes (so it sees the response,
 * not a reset). */
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics_http.h"

#include "conf/conf.h"
#include "proxy/lib/log.h"
#include "listener.h"
#include "logrl.h"
#include "metrics.h"

enum hc_state { HC_FREE, HC_READ, HC_WRITE, HC_LINGER };

struct http_client {
	enum hc_state state;
	int fd;
	ev_io io;
	ev_timer timer;
	char req[MX_HTTP_REQ_MAX];
	size_t req_len;
	char *resp;                     /* malloc'd: head and body */
	size_t resp_len, resp_off;
	struct sockaddr_storage peer;   /* the address alone (netaddr_group), for the cap */
};

static struct {
	struct ev_loop *loop;
	struct listener_set lis;        /* one address; paused at MX_HTTP_MAX_CLIENTS */
	struct http_client *clients;    /* MX_HTTP_MAX_CLIENTS, while listening */
	unsigned n_open;
	struct cidr allow[CONF_MAX_ALLOW];   /* metrics-allow (a copy) */
	size_t n_allow;
	unsigned per_ip;                /* metrics-max-conns-per-ip */
} http = { .per_ip = MX_HTTP_MAX_CLIENTS };

static void
client_close(struct http_client *c)
{
	ev_io_stop(http.loop, &c->io);
	ev_timer_stop(http.loop, &c->timer);
	close(c->fd);
	free(c->resp);
	c->resp = NULL;
	c->state = HC_FREE;
	if (http.n_open-- == MX_HTTP_MAX_CLIENTS)
		listener_set_pause(&http.lis, false);  /* below the cap again */
}

/* Switches the connection's watcher to events ev. */
static void
client_watch(struct http_client *c, int ev)
{
	ev_io_stop(http.loop, &c->io);
	ev_io_set(&c->io, c->fd, ev);
	ev_io_start(http.loop, &c->io);
}

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	default: return "Internal Server Error";
	}
}

/* Builds the response to a status (and the exposition for a 200). */
static void
respond(struct http_client *c, int status, const char *version, bool head_only)
{
	size_t body_len = 0;
	char *body = NULL;
	if (status == 200 && (body = metrics_render(&body_len)) == NULL)
		status = 500;
	if (body == NULL) {
		const char *text = status_text(status);
		body_len = strlen(text) + 1;
		body = malloc(body_len + 1);
		if (body != NULL)
			snprintf(body, body_len + 1, "%s\n", text);
	}
	char head[256];
	int h = snprintf(head, sizeof(head),
	                 "%s %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	                 "Connection: close\r\n\r\n", version, status, status_text(status),
	                 status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
	                               : "text/plain; charset=utf-8",
	                 body_len, status == 405 ? "Allow: GET, HEAD\r\n" : "");
	size_t send_body = head_only || body == NULL ? 0 : body_len;
	c->resp = malloc((size_t)h + send_body);
	if (c->resp == NULL) {
		free(body);
		client_close(c);
		return;
	}
	memcpy(c->resp, head, (size_t)h);
	if (send_body > 0)
		memcpy(c->resp + h, body, send_body);
	free(body);
	c->resp_len = (size_t)h + send_body;
	c->resp_off = 0;
	c->state = HC_WRITE;
	client_watch(c, EV_WRITE);
}

/* The request head is complete (or full): judges its first line. */
static void
handle_request(struct http_client *c, bool complete)
{
	if (!complete) {
		respond(c, 400, "HTTP/1.1", false);
		return;
	}
	char method[16], target[512], version[16];
	c->req[c->req_len < sizeof(c->req) ? c->req_len : sizeof(c->req) - 1] = '\0';
	if (sscanf(c->req, "%15s %511s %15[^\r\n]", method, target, version) != 3 ||
	    (strcmp(version, "HTTP/1.0") != 0 && strcmp(version, "HTTP/1.1") != 0)) {
		respond(c, 400, "HTTP/1.1", false);
		return;
	}
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		respond(c, 405, version, false);
		return;
	}
	size_t plen = strcspn(target, "?");
	bool metrics = plen == strlen("/metrics") && strncmp(target, "/metrics", plen) == 0;
	respond(c, metrics ? 200 : 404, version, head);
}

/* True when req holds a whole head (up to an empty line). */
static bool
head_complete(const struct http_client *c)
{
	for (size_t i = 0; i + 1 < c->req_len; i++) {
		if (c->req[i] != '\n')
			continue;
		if (c->req[i + 1] == '\n' ||
		    (c->req[i + 1] == '\r' && i + 2 < c->req_len && c->req[i + 2] == '\n'))
			return true;
	}
	return false;
}

static void
on_read(struct http_client *c)
{
	char discard[4096];
	bool linger = c->state == HC_LINGER;
	char *p = linger ? discard : c->req + c->req_len;
	size_t room = linger ? sizeof(discard) : sizeof(c->req) - c->req_len;
	ssize_t n = recv(c->fd, p, room, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0 || linger) {
		if (n <= 0)
			client_close(c);              /* EOF or error; in LINGER: done */
		return;
	}
	c->req_len += (size_t)n;
	if (head_complete(c))
		handle_request(c, true);
	else if (c->req_len == sizeof(c->req))
		handle_request(c, false);         /* oversized: 400, then close */
}

static void
on_write(struct http_client *c)
{
	while (c->resp_off < c->resp_len) {
		ssize_t n = send(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			client_close(c);
			return;
		}
		c->resp_off += (size_t)n;
	}
	free(c->resp);
	c->resp = NULL;
	shutdown(c->fd, SHUT_WR);
	c->state = HC_LINGER;
	client_watch(c, EV_READ);
}

/* libev: the scrape connection is readable or writable. */
static void
client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_client *c = w->data;
	if (c->state == HC_WRITE)
		on_write(c);
	else
		on_read(c);
}

/* libev: the connection's MX_HTTP_TIMEOUT is over, whatever its state. */
static void
client_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	client_close(w->data);
}

static struct http_client *
free_client(void)
{
	for (unsigned i = 0; i < MX_HTTP_MAX_CLIENTS; i++)
		if (http.clients[i].state == HC_FREE)
			return &http.clients[i];
	return NULL;
}

/* Who may scrape: a connection from outside allow[0..n) is closed at
 * accept, and so is one from an address that already holds per_ip
 * connections (counted as limit hits, logged rate-limited per address).
 * Copied; set at start, and again on reload. */
static void
configure(const struct cidr *allow, size_t n, unsigned per_ip)
{
	http.n_allow = n < CONF_MAX_ALLOW ? n : CONF_MAX_ALLOW;
	memcpy(http.allow, allow, http.n_allow * sizeof(*allow));
	http.per_ip = per_ip;
}

static bool
peer_allowed(const struct sockaddr *peer)
{
	for (size_t i = 0; i < http.n_allow; i++)
		if (cidr_match(&http.allow[i], peer))
			return true;
	return false;
}

/* Open connections from the address `who` (netaddr_group form). */
static unsigned
conns_from(const struct sockaddr_storage *who)
{
	unsigned n = 0;
	for (unsigned i = 0; i < MX_HTTP_MAX_CLIENTS; i++)
		if (http.clients[i].state != HC_FREE &&
		    memcmp(&http.clients[i].peer, who, sizeof(*who)) == 0)
			n++;
	return n;
}

/* The accept-time verdict on a scraper: true to serve it. A refusal is
 * counted and logged (at most LOGRL_BURST lines per address per window). */
static bool
admit(const struct sockaddr *peer, const struct sockaddr_storage *who)
{
	char text[NETADDR_TEXT_MAX];
	if (!peer_allowed(peer)) {
		metrics_limit_hit(MX_LIM_METRICS_ALLOW);
		netaddr_format(peer, text);
		log_info_rl(peer, "metrics: remote %s, connection refused: not in metrics-allow", text);
		return false;
	}
	if (conns_from(who) >= http.per_ip) {
		metrics_limit_hit(MX_LIM_METRICS_PER_IP);
		netaddr_format(peer, text);
		log_info_rl(peer, "metrics: remote %s, connection refused: metrics-max-conns-per-ip "
		            "(%u) reached", text, http.per_ip);
		return false;
	}
	return true;
}

/* A connection accepted on the listener (listener hook): served up to the
 * cap, where the listener pauses (the backlog holds the rest). */
static int
accepted(struct listener *l, int fd, const struct sockaddr *peer, socklen_t len)
{
	struct http_client *c = free_client();
	if (c == NULL) {                         /* not while paused at the cap */
		close(fd);
		return 0;
	}
	netaddr_group(peer, 128, &c->peer);
	if (!admit(peer, &c->peer)) {
		close(fd);
		return 0;
	}
	c->fd = fd;
	c->state = HC_READ;
	c->req_len = 0;
	http.n_open++;
	ev_io_init(&c->io, client_cb, fd, EV_READ);
	c->io.data = c;
	ev_io_start(http.loop, &c->io);
	ev_timer_init(&c->timer, client_timer_cb, MX_HTTP_TIMEOUT, 0);
	c->timer.data = c;
	ev_timer_start(http.loop, &c->timer);
	if (http.n_open == MX_HTTP_MAX_CLIENTS)
		listener_set_pause(&http.lis, true);
	return 0;
}

static const struct listener_ops http_listener_ops = { .accepted = accepted };

/* ---- the part (direction.h) ----------------------------------------------- */

static void http_free(void *d);

/* metrics = ADDRESS:PORT: the counters' zone table, and the listener
 * (logged: "metrics: listening on ..."). NULL without metrics. */
static void *
http_open(struct runtime *rt, bool *failed)
{
	const struct conf *conf = rt->conf;
	*failed = false;
	if (!conf->has_metrics)
		return NULL;
	*failed = true;
	if (metrics_init(conf->metrics_max_zones) < 0) {
		log_error("metrics: out of memory");
		return NULL;
	}
	http.loop = rt->loop;
	listener_set_init(&http.lis, rt->loop, "metrics", SOCK_STREAM, &http_listener_ops, &http);
	http.lis.service = "HTTP, /metrics";
	http.lis.backlog = 64;
	http.clients = calloc(MX_HTTP_MAX_CLIENTS, sizeof(*http.clients));
	if (http.clients == NULL) {
		log_error("metrics: out of memory");
		http_free(&http);
		return NULL;
	}
	if (listener_set_open(&http.lis, &conf->metrics, 1) < 0) {
		http_free(&http);
		return NULL;
	}
	configure(conf->metrics_allow, conf->n_metrics_allow, conf->metrics_max_conns_per_ip);
	*failed = false;
	return &http;
}

static void
http_start(void *d)
{
	listener_set_start(&http.lis);
}

/* Who may scrape follows the file; the address needs a restart. */
static void
http_reload_commit(void *d, const struct conf *conf)
{
	configure(conf->metrics_allow, conf->n_metrics_allow, conf->metrics_max_conns_per_ip);
}

/* Closes the listener and every scrape connection. */
static void
http_free(void *d)
{
	if (http.clients != NULL)
		for (unsigned i = 0; i < MX_HTTP_MAX_CLIENTS; i++)
			if (http.clients[i].state != HC_FREE)
				client_close(&http.clients[i]);
	listener_set_close(&http.lis);
	free(http.clients);
	http.clients = NULL;
	http.n_open = 0;
	http.loop = NULL;
	metrics_reset();
}

/* A stop signal leaves /metrics up while connections drain. */
const struct direction_ops metrics_direction = {
	.name = "metrics",
	.open = http_open,
	.start = http_start,
	.reload_commit = http_reload_commit,
	.free = http_free,
};
