/* server.c - listening sockets, accept with max-clients and EMFILE backoff,
 * signals and graceful stop. */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inbound.h"
#include "outbound.h"
#include "relay.h"
#include "proxy/lib/log.h"
#include "metrics.h"

#define ACCEPT_BACKOFF 1.0     /* seconds to pause accepting after EMFILE/ENFILE */

/* A non-blocking socket of the given type bound to a (listening, for
 * SOCK_STREAM); the fd, or -1 with the reason in err. Nothing is logged. */
static int
open_socket(const struct netaddr *a, int type, char *err, size_t len)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	const char *proto = type == SOCK_DGRAM ? "UDP" : "TCP";
	char text[NETADDR_TEXT_MAX];
	netaddr_format(sa, text);
	int fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, len, "listen %s %s: socket: %s", proto, text, strerror(errno));
		return -1;
	}
	int one = 1;
	/* TCP only: a UDP socket with SO_REUSEADDR could share its address
	 * with another process's, and each would get some of the queries. */
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, sa, a->len) < 0 || (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
		snprintf(err, len, "listen %s %s: %s", proto, text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void
log_listening(const struct netaddr *a, int type, bool on)
{
	char text[NETADDR_TEXT_MAX];
	netaddr_format((const struct sockaddr *)&a->ss, text);
	const char *proto = type == SOCK_DGRAM ? "UDP" : "TCP";
	struct log_field fl[] = { LF_S("address", text), LF_S("transport", proto) };
	if (on)
		log_event(XP_LOG_INFO, "listening", fl, 2, "listening on %s (%s)", text, proto);
	else
		log_event(XP_LOG_INFO, "stopped_listening", fl, 2, "stopped listening on %s (%s)%s",
		          text, proto, type == SOCK_DGRAM ? "" : "; connections accepted on it go on");
}

int
server_socket(const struct netaddr *a, int type)
{
	char err[160];
	int fd = open_socket(a, type, err, sizeof(err));
	if (fd < 0)
		log_error("%s", err);
	else
		log_listening(a, type, true);
	return fd;
}

static bool
same_addr(const struct netaddr *a, const struct netaddr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

int
server_stage_open(struct listen_stage *st, const struct netaddr *want, size_t n_want,
                  const struct netaddr *have, size_t n_have, int type, char *err, size_t len)
{
	st->n = 0;
	for (size_t i = 0; i < n_want; i++) {
		st->keep[i] = -1;
		st->fd[i] = -1;
		for (size_t j = 0; j < n_have && st->keep[i] < 0; j++)
			if (same_addr(&want[i], &have[j]))
				st->keep[i] = (int)j;
		st->n = i + 1;
		if (st->keep[i] < 0 && (st->fd[i] = open_socket(&want[i], type, err, len)) < 0) {
			server_stage_abort(st);
			return -1;
		}
	}
	return 0;
}

void
server_stage_abort(struct listen_stage *st)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->fd[i] >= 0)
			close(st->fd[i]);
	st->n = 0;
}

bool
server_stage_keeps(const struct listen_stage *st, size_t have_index)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->keep[i] == (int)have_index)
			return true;
	return false;
}

void
server_stage_log(const struct listen_stage *st, const struct netaddr *want,
                 const struct netaddr *have, size_t n_have, int type)
{
	for (size_t i = 0; i < n_have; i++)
		if (!server_stage_keeps(st, i))
			log_listening(&have[i], type, false);
	for (size_t i = 0; i < st->n; i++)
		if (st->keep[i] < 0)
			log_listening(&want[i], type, true);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents);

/* Puts socket fd, bound to a, in slot i of the inbound listeners (not
 * started: accept_enable does that). */
static void
listener_set(struct server *srv, size_t i, const struct netaddr *a, int fd)
{
	struct listener *l = &srv->listeners[i];
	l->addr = *a;
	l->fd = fd;
	l->srv = srv;
	ev_io_init(&l->io, accept_cb, fd, EV_READ);
	l->io.data = l;
}

int
server_listen(struct server *srv)
{
	for (size_t i = 0; i < srv->conf->inbound.n_listen; i++) {
		int fd = server_socket(&srv->conf->inbound.listen[i], SOCK_STREAM);
		if (fd < 0) {
			server_close_listeners(srv);
			return -1;
		}
		listener_set(srv, i, &srv->conf->inbound.listen[i], fd);
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
	tally_flush(&srv->hs_cap_refused, now);
	tally_flush(&srv->idle_evicted, now);
}

/* Decides at accept, before any TLS work, whether a connection may go on:
 * its address must be in some zone's allow list, its client key under the
 * per-IP cap (TCP-04); at max-handshakes a pending handshake goes to make
 * room, so a flood of silent handshakes cannot lock out a real secondary.
 * Issue 13, B14: so that one host cannot push other clients' handshakes out
 * that way, at max-handshakes an address already holding
 * max-handshakes-per-ip pending handshakes gets no more (closed at accept),
 * and the handshake closed is the oldest of such an address before the
 * oldest of all (inbound_evict_handshake). Below max-handshakes a burst
 * from one address is not limited. On success the connection holds one
 * count in per_ip and one in hs_per_ip. */
static bool
admit(struct server *srv, const struct sockaddr *peer, struct sockaddr_storage *group)
{
	const struct conf *conf = srv->conf;
	if (!conf_address_allowed(conf, peer)) {
		metrics_limit_hit(MX_LIM_ACCEPT_ALLOW);
		tally_refusal(srv, &srv->acl_refused, peer,
		              "connection refused: address in no zone's allow list");
		return false;
	}
	netaddr_group(peer, conf->inbound.ipv6_prefix, group);
	if (!ipcount_take(&srv->per_ip, (struct sockaddr *)group, conf->inbound.max_clients_per_ip)) {
		char what[96];
		snprintf(what, sizeof(what), "connection refused: max-clients-per-ip (%u) reached",
		         conf->inbound.max_clients_per_ip);
		metrics_limit_hit(MX_LIM_PER_IP);
		tally_refusal(srv, &srv->cap_refused, peer, what);
		return false;
	}
	unsigned over = fifo_over(&srv->handshakes, conf->inbound.max_handshakes);
	bool at_share = conf->inbound.max_handshakes_per_ip != 0 &&
	                ipcount_get(&srv->hs_per_ip, (struct sockaddr *)group) >= conf->inbound.max_handshakes_per_ip;
	if ((over > 0 && at_share) || !ipcount_take(&srv->hs_per_ip, (struct sockaddr *)group, 0)) {
		char what[112];
		snprintf(what, sizeof(what), "connection refused: max-handshakes reached and this "
		         "address holds max-handshakes-per-ip (%u)", conf->inbound.max_handshakes_per_ip);
		metrics_limit_hit(MX_LIM_MAX_HANDSHAKES);
		tally_refusal(srv, &srv->hs_cap_refused, peer, what);
		ipcount_release(&srv->per_ip, (struct sockaddr *)group);
		return false;
	}
	for (unsigned n = over; n > 0; n--) {
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
	if (srv->n_conns >= srv->conf->inbound.max_clients && inbound_evict_unadmitted(srv)) {
		metrics_limit_hit(MX_LIM_MAX_CLIENTS);
		tally_refusal(srv, &srv->idle_evicted, peer, "max-clients reached: closed the oldest "
		              "session that never had a query admitted");
	}
	if (inbound_accept(srv, fd, peer, len, &group) < 0) {
		int err = errno;
		ipcount_release(&srv->per_ip, (struct sockaddr *)&group);
		ipcount_release(&srv->hs_per_ip, (struct sockaddr *)&group);
		errno = err;
		return -1;
	}
	server_update_accept(srv);
	return 0;
}

void
server_update_accept(struct server *srv)
{
	if (srv->stopping || ev_is_active(&srv->accept_backoff))
		return;
	bool room = srv->n_conns < srv->conf->inbound.max_clients || srv->unadmitted.n > 0;
	if (room && srv->accept_paused) {
		accept_enable(srv, true);
	} else if (!room && !srv->accept_paused) {
		metrics_limit_hit(MX_LIM_MAX_CLIENTS);
		log_warning("max-clients (%u) reached; pausing accepts", srv->conf->inbound.max_clients);
		accept_enable(srv, false);
	}
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
	if (!srv->stopping && (srv->n_conns < srv->conf->inbound.max_clients || srv->unadmitted.n > 0))
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
	server_update_accept(srv);
}

static void
stop_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *srv = w->data;
	unsigned open = srv->n_conns + outbound_count(srv->outbound);
	log_event(XP_LOG_INFO, "stop_deadline", (struct log_field[]){ LF_U("connections", open),
	          LF_U("shutdown_timeout", srv->conf->shutdown_timeout) }, 2,
	          "stop: %u connections still open after %u s, closing them", open,
	          srv->conf->shutdown_timeout);
	relay_list_kill(&srv->conns, RSN_SHUTDOWN);
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
	unsigned open = srv->n_conns + outbound_count(srv->outbound);
	log_event(XP_LOG_INFO, "stopping", (struct log_field[]){ LF_I("signal", w->signum),
	          LF_U("connections", open) }, 2, "signal %d: stopping; %u connections open",
	          w->signum, open);
	srv->stopping = true;
	server_close_listeners(srv);
	outbound_stop(srv->outbound);
	ev_timer_stop(loop, &srv->tally_timer);
	tally_timer_cb(loop, &srv->tally_timer, 0);    /* refusal counts held back */
	ev_timer_set(&srv->stop_deadline, srv->conf->shutdown_timeout, 0);
	ev_timer_start(loop, &srv->stop_deadline);
	ev_unref(loop);                   /* the deadline alone must not keep us running */
	relay_list_stop(&srv->conns);
	stop_if_done(srv);
}

/* The addresses the inbound listeners are bound to, in slot order. */
static void
listener_addrs(const struct server *srv, struct netaddr out[CONF_MAX_LISTEN])
{
	for (size_t i = 0; i < srv->n_listeners; i++)
		out[i] = srv->listeners[i].addr;
}

/* Swaps the inbound listeners for the staged set: kept sockets stay open
 * with their queues, fresh ones join, and removed ones first take what is
 * already queued on them (those clients connected before the reload),
 * then close. Connections accepted earlier are not touched. */
static void
listeners_commit(struct server *srv, const struct conf *conf, struct listen_stage *st)
{
	struct netaddr have[CONF_MAX_LISTEN];
	int old_fd[CONF_MAX_LISTEN];
	size_t n_old = srv->n_listeners;
	listener_addrs(srv, have);
	server_stage_log(st, conf->inbound.listen, have, n_old, SOCK_STREAM);
	for (size_t i = 0; i < n_old; i++)
		if (!server_stage_keeps(st, i))
			server_accept_loop(srv, srv->listeners[i].fd, inbound_accepted, srv);
	for (size_t i = 0; i < n_old; i++) {
		ev_io_stop(srv->loop, &srv->listeners[i].io);
		old_fd[i] = srv->listeners[i].fd;
	}
	for (size_t i = 0; i < st->n; i++)
		listener_set(srv, i, &conf->inbound.listen[i], st->keep[i] >= 0 ? old_fd[st->keep[i]] : st->fd[i]);
	srv->n_listeners = st->n;
	for (size_t i = 0; i < n_old; i++)
		if (!server_stage_keeps(st, i))
			close(old_fd[i]);
	st->n = 0;                            /* the sockets are the listeners' now */
	for (size_t i = 0; i < srv->n_listeners && !srv->accept_paused; i++)
		ev_io_start(srv->loop, &srv->listeners[i].io);
}

/* Binds every listen address (inbound and outbound) that is new in conf,
 * before anything changes: if one cannot be bound the reload fails as a
 * whole. Returns 0, or -1 with the reason in err and nothing left open. */
static int
listeners_prepare(struct server *srv, const struct conf *conf, struct listen_stage *st,
                  char *err, size_t len)
{
	struct netaddr have[CONF_MAX_LISTEN];
	listener_addrs(srv, have);
	if (server_stage_open(st, conf->inbound.listen, conf->inbound.n_listen, have, srv->n_listeners,
	                      SOCK_STREAM, err, len) < 0)
		return -1;
	if (outbound_listen_prepare(srv->outbound, conf, err, len) < 0) {
		server_stage_abort(st);
		return -1;
	}
	return 0;
}

/* SIGHUP: re-read the configuration, certificate and key. New connections
 * use them; established ones finish on what they started with (both are
 * reference counted). Listen addresses added are bound, removed ones
 * closed, unchanged ones kept open. Any error (a file that does not load,
 * an address that cannot be bound) keeps the running configuration. */
static void
reload(struct server *srv)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = conf_load(srv->conf->path, err);
	if (conf == NULL) {
		log_error("reload failed, keeping the running configuration: %s", err);
		return;
	}
	if (conf->inbound.client_table_size != srv->conf->inbound.client_table_size)
		log_warning("reload: client-table-size changes need a restart (keeping %u entries)",
		            srv->conf->inbound.client_table_size);
	if (conf->has_inbound != srv->conf->has_inbound) {
		log_error("reload failed, keeping the running configuration: adding or removing "
		          "[inbound] needs a restart");
		conf_unref(conf);
		return;
	}
	WOLFSSL_CTX *tls = NULL;
	if (conf->has_inbound) {
		char terr[TLS_ERR_MAX];
		tls = tls_server_ctx_new(conf->inbound.cert, conf->inbound.key, conf->inbound.client_ca, terr);
		if (tls == NULL) {
			log_error("reload failed, keeping the running configuration: %s", terr);
			conf_unref(conf);
			return;
		}
	}
	struct listen_stage st;
	if (listeners_prepare(srv, conf, &st, err, sizeof(err)) < 0) {
		log_error("reload failed, keeping the running configuration: %s", err);
		wolfSSL_CTX_free(tls);
		conf_unref(conf);
		return;
	}
	if (tls != NULL && tls_copy_ticket_keys(srv->tls, tls) < 0)
		log_warning("reload: session tickets issued before the reload will not resume");
	if (outbound_reload(srv->outbound, conf) < 0) {
		log_error("reload: outbound settings not applied (see above)");
	}
	outbound_listen_commit(srv->outbound);
	if (tls != NULL) {
		wolfSSL_CTX_free(srv->tls);      /* live sessions keep their own reference */
		srv->tls = tls;
	}
	conf_unref(srv->conf);
	srv->conf = conf;
	srv->conf_gen++;                     /* sessions re-check their certificate (B15) */
	log_threshold = (enum log_level)conf->log_level;
	if (log_configure((enum log_format)conf->log_format, (enum log_target)conf->log_target,
	                  getenv("XOTPROXY_SYSLOG_SOCKET")) < 0)
		log_warning("reload: log-target %s: %s; logging goes on as before",
		            log_target_name((enum log_target)conf->log_target), strerror(errno));
	conf_log_warnings(conf);
	metrics_http_configure(conf->metrics_allow, conf->n_metrics_allow,
	                       conf->metrics_max_conns_per_ip);     /* who may scrape: follows the file */
	listeners_commit(srv, conf, &st);
	log_event(XP_LOG_INFO, "reload", (struct log_field[]){ LF_S("path", conf->path),
	          LF_U("zones", conf->n_zones), LF_U("max_clients", conf->inbound.max_clients) }, 3,
	          "reloaded %s: %zu zones, max-clients %u", conf->path, conf->n_zones,
	          conf->inbound.max_clients);
	server_update_accept(srv);
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
	accept_enable(srv, true);
}
