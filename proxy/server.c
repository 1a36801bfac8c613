/* server.c - listening sockets, accept with max-clients and EMFILE backoff,
 * signals and graceful stop. */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inbound.h"
#include "outbound.h"
#include "log.h"

#define ACCEPT_BACKOFF 1.0     /* seconds to pause accepting after EMFILE/ENFILE */

int
server_socket(const struct netaddr *a, int type)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	const char *proto = type == SOCK_DGRAM ? "UDP" : "TCP";
	char text[NETADDR_TEXT_MAX];
	netaddr_format(sa, text);
	int fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("listen %s %s: socket: %s", proto, text, strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, sa, a->len) < 0 || (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
		log_error("listen %s %s: %s", proto, text, strerror(errno));
		close(fd);
		return -1;
	}
	log_info("listening on %s (%s)", text, proto);
	return fd;
}

static int
listen_one(struct listener *l)
{
	l->fd = server_socket(&l->addr, SOCK_STREAM);
	return l->fd < 0 ? -1 : 0;
}

int
server_listen(struct server *srv)
{
	for (size_t i = 0; i < srv->conf->n_listen; i++) {
		struct listener *l = &srv->listeners[i];
		l->addr = srv->conf->listen[i];
		l->srv = srv;
		if (listen_one(l) < 0) {
			srv->n_listeners = i;
			server_close_listeners(srv);
			return -1;
		}
		srv->n_listeners = i + 1;
	}
	return 0;
}

void
server_close_listeners(struct server *srv)
{
	for (size_t i = 0; i < srv->n_listeners; i++) {
		ev_io_stop(srv->loop, &srv->listeners[i].io);
		close(srv->listeners[i].fd);
	}
	srv->n_listeners = 0;
	ev_timer_stop(srv->loop, &srv->accept_backoff);
}

static void
accept_enable(struct server *srv, bool on)
{
	srv->accept_paused = !on;
	for (size_t i = 0; i < srv->n_listeners; i++) {
		if (on)
			ev_io_start(srv->loop, &srv->listeners[i].io);
		else
			ev_io_stop(srv->loop, &srv->listeners[i].io);
	}
	outbound_accept_enable(srv->outbound, on);
}

static bool
out_of_resources(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* Out of descriptors or memory: stop accepting for a while. Without the
 * pause, a pending connection we cannot take would wake us at 100% CPU
 * (libev manual, "accept()ing when you can't"). */
static void
accept_backoff(struct server *srv, const char *what)
{
	log_warning("%s: %s; pausing accepts for %.0f s", what, strerror(errno), ACCEPT_BACKOFF);
	accept_enable(srv, false);
	ev_timer_set(&srv->accept_backoff, ACCEPT_BACKOFF, 0);
	ev_timer_start(srv->loop, &srv->accept_backoff);
}

/* Logs a tally's count since its last line, if any. */
static void
tally_flush(struct refusal_tally *t, double now)
{
	if (t->count == 0)
		return;
	log_info("remote %s, %s (%u since the last report)", t->last, t->what, t->count);
	t->count = 0;
	t->logged = now;
}

/* Counts one accept-time refusal; logs at most once a second, naming the
 * latest address and how many were refused since the last line. What is
 * held back is written by the tally timer a second later. */
static void
tally_refusal(struct server *srv, struct refusal_tally *t, const struct sockaddr *peer,
              const char *what)
{
	t->count++;
	netaddr_format(peer, t->last);
	snprintf(t->what, sizeof(t->what), "%s", what);
	double now = ev_now(srv->loop);
	if (now - t->logged >= 1.0)
		tally_flush(t, now);
	else if (!ev_is_active(&srv->tally_timer))
		ev_timer_start(srv->loop, &srv->tally_timer);
}

static void
tally_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *srv = w->data;
	double now = ev_now(loop);
	tally_flush(&srv->acl_refused, now);
	tally_flush(&srv->cap_refused, now);
	tally_flush(&srv->hs_evicted, now);
}

/* Decides at accept, before any TLS work, whether a connection may go on:
 * its address must be in some zone's allow list, its client key under the
 * per-IP cap (TCP-04); at max-handshakes the oldest pending handshake goes,
 * so a flood of silent handshakes cannot lock out a real secondary. */
static bool
admit(struct server *srv, const struct sockaddr *peer, struct sockaddr_storage *group)
{
	const struct conf *conf = srv->conf;
	if (!conf_address_allowed(conf, peer)) {
		tally_refusal(srv, &srv->acl_refused, peer,
		              "connection refused: address in no zone's allow list");
		return false;
	}
	netaddr_group(peer, conf->ipv6_prefix, group);
	if (!ipcount_take(&srv->per_ip, (struct sockaddr *)group, conf->max_clients_per_ip)) {
		char what[96];
		snprintf(what, sizeof(what), "connection refused: max-clients-per-ip (%u) reached",
		         conf->max_clients_per_ip);
		tally_refusal(srv, &srv->cap_refused, peer, what);
		return false;
	}
	while (srv->n_handshakes >= conf->max_handshakes && srv->hs_head != NULL) {
		tally_refusal(srv, &srv->hs_evicted, peer,
		              "max-handshakes reached: closed the oldest pending handshake");
		inbound_evict_handshake(srv);
	}
	return true;
}

void
server_accept_loop(struct server *srv, int lfd,
                   int (*accepted)(void *ctx, int fd, const struct sockaddr *peer, socklen_t len),
                   void *ctx)
{
	/* Bounded batch per wake-up so one listener cannot starve the loop. */
	for (int i = 0; i < 64 && !srv->accept_paused; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (out_of_resources(errno))
				accept_backoff(srv, "accept");
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			         errno != ECONNABORTED)
				log_warning("accept: %s", strerror(errno));
			return;
		}
		if (accepted(ctx, fd, (struct sockaddr *)&peer, len) < 0) {
			if (out_of_resources(errno)) {
				accept_backoff(srv, "new connection");
				return;
			}
			log_error("new connection: %s", strerror(errno));
		}
	}
}

/* An inbound connection: admitted before any TLS work, then a session. */
static int
inbound_accepted(void *ctx, int fd, const struct sockaddr *peer, socklen_t len)
{
	struct server *srv = ctx;
	struct sockaddr_storage group;
	if (!admit(srv, peer, &group)) {
		close(fd);
		return 0;
	}
	if (inbound_accept(srv, fd, peer, len, &group) < 0) {
		int err = errno;
		ipcount_release(&srv->per_ip, (struct sockaddr *)&group);
		errno = err;
		return -1;
	}
	if (srv->n_conns >= srv->conf->max_clients) {
		log_warning("max-clients (%u) reached; pausing accepts", srv->conf->max_clients);
		accept_enable(srv, false);
	}
	return 0;
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = w->data;
	server_accept_loop(l->srv, l->fd, inbound_accepted, l->srv);
}

static void
backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *srv = w->data;
	if (!srv->stopping && srv->n_conns < srv->conf->max_clients)
		accept_enable(srv, true);
}

/* Shutdown ends when the last connection of either direction has gone. */
static void
stop_if_done(struct server *srv)
{
	if (srv->n_conns == 0 && outbound_count(srv->outbound) == 0)
		ev_break(srv->loop, EVBREAK_ALL);
}

void
server_conn_gone_other(struct server *srv)
{
	if (srv->stopping)
		stop_if_done(srv);
}

void
server_conn_gone(struct server *srv, const struct sockaddr *group)
{
	srv->n_conns--;
	ipcount_release(&srv->per_ip, group);
	if (srv->stopping) {
		stop_if_done(srv);
		return;
	}
	if (srv->accept_paused && srv->n_conns < srv->conf->max_clients &&
	    !ev_is_active(&srv->accept_backoff))
		accept_enable(srv, true);
}

static void
stop_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *srv = w->data;
	log_info("stop: %u connections still open after %u s, closing them",
	         srv->n_conns + outbound_count(srv->outbound), srv->conf->shutdown_timeout);
	while (srv->conns != NULL)
		inbound_kill(srv->conns);
	outbound_kill(srv->outbound);
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *srv = w->data;
	if (srv->stopping) {
		log_info("second signal %d: closing all connections now", w->signum);
		stop_deadline_cb(loop, &srv->stop_deadline, 0);
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	log_info("signal %d: stopping; %u connections open", w->signum,
	         srv->n_conns + outbound_count(srv->outbound));
	srv->stopping = true;
	server_close_listeners(srv);
	outbound_stop(srv->outbound);
	ev_timer_stop(loop, &srv->tally_timer);
	tally_timer_cb(loop, &srv->tally_timer, 0);    /* refusal counts held back */
	ev_timer_set(&srv->stop_deadline, srv->conf->shutdown_timeout, 0);
	ev_timer_start(loop, &srv->stop_deadline);
	ev_unref(loop);                   /* the deadline alone must not keep us running */
	struct inbound_conn *c = srv->conns;
	while (c != NULL) {
		struct inbound_conn *next = inbound_next(c);
		inbound_stop(c);              /* may free c */
		c = next;
	}
	stop_if_done(srv);
}

static bool
same_listeners(const struct conf *a, const struct conf *b)
{
	if (a->n_listen != b->n_listen)
		return false;
	for (size_t i = 0; i < a->n_listen; i++)
		if (a->listen[i].len != b->listen[i].len ||
		    memcmp(&a->listen[i].ss, &b->listen[i].ss, a->listen[i].len) != 0)
			return false;
	return true;
}

/* SIGHUP: re-read the configuration, certificate and key. New connections
 * use them; established ones finish on what they started with (both are
 * reference counted). Any error keeps the running configuration. */
static void
reload(struct server *srv)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = conf_load(srv->conf->path, err);
	if (conf == NULL) {
		log_error("reload failed, keeping the running configuration: %s", err);
		return;
	}
	if (conf->has_inbound != srv->conf->has_inbound) {
		log_error("reload failed, keeping the running configuration: adding or removing "
		          "[inbound] needs a restart");
		conf_unref(conf);
		return;
	}
	WOLFSSL_CTX *tls = NULL;
	if (conf->has_inbound) {
		char terr[TLS_ERR_MAX];
		tls = tls_server_ctx_new(conf->cert, conf->key, NULL, terr);
		if (tls == NULL) {
			log_error("reload failed, keeping the running configuration: %s", terr);
			conf_unref(conf);
			return;
		}
		if (tls_copy_ticket_keys(srv->tls, tls) < 0)
			log_warning("reload: session tickets issued before the reload will not resume");
	}
	if (outbound_reload(srv->outbound, conf) < 0) {
		log_error("reload: outbound settings not applied (see above)");
	}
	if (!same_listeners(srv->conf, conf))
		log_warning("reload: listen addresses changed; this needs a restart (still listening on the old ones)");
	if (tls != NULL) {
		wolfSSL_CTX_free(srv->tls);      /* live sessions keep their own reference */
		srv->tls = tls;
	}
	conf_unref(srv->conf);
	srv->conf = conf;
	log_threshold = (enum log_level)conf->log_level;
	log_info("reloaded %s: %zu zones, max-clients %u", conf->path, conf->n_zones, conf->max_clients);
	if (srv->accept_paused && srv->n_conns < conf->max_clients && !ev_is_active(&srv->accept_backoff))
		accept_enable(srv, true);
}

static void
hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *srv = w->data;
	if (!srv->stopping)
		reload(srv);
}

void
server_start(struct server *srv)
{
	ev_signal_init(&srv->sig_int, signal_cb, SIGINT);
	ev_signal_init(&srv->sig_term, signal_cb, SIGTERM);
	ev_signal_init(&srv->sig_hup, hup_cb, SIGHUP);
	srv->sig_int.data = srv->sig_term.data = srv->sig_hup.data = srv;
	ev_signal_start(srv->loop, &srv->sig_int);
	ev_signal_start(srv->loop, &srv->sig_term);
	ev_signal_start(srv->loop, &srv->sig_hup);
	ev_unref(srv->loop);                  /* signals alone keep nothing running */
	ev_unref(srv->loop);
	ev_unref(srv->loop);
	ev_init(&srv->accept_backoff, backoff_cb);
	srv->accept_backoff.data = srv;
	ev_init(&srv->stop_deadline, stop_deadline_cb);
	srv->stop_deadline.data = srv;
	ev_timer_init(&srv->tally_timer, tally_timer_cb, 1.0, 0);
	srv->tally_timer.data = srv;
	for (size_t i = 0; i < srv->n_listeners; i++) {
		ev_io_init(&srv->listeners[i].io, accept_cb, srv->listeners[i].fd, EV_READ);
		srv->listeners[i].io.data = &srv->listeners[i];
	}
	accept_enable(srv, true);
}
