/* listener.c - sets of listening sockets: bind, reload (stage, commit,
 * abort), the accept loop with its EMFILE backoff, and pause/resume per
 * set. See listener.h. */
#include "listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proxy/lib/log.h"

#define ACCEPT_BATCH 64         /* accepts per wake-up: one set cannot starve the loop */

static const char *
proto_name(int type)
{
	return type == SOCK_DGRAM ? "UDP" : "TCP";
}

/* A non-blocking socket of set's type bound to a (listening, for
 * SOCK_STREAM, with the set's backlog); the fd, or -1 with the reason in
 * err ("listen TCP ADDR: ..."; a set with a service, which the caller
 * names, says "listen ADDR: ..."). Nothing is logged. */
static int
listener_socket(const struct listener_set *set, const struct netaddr *a, char *err, size_t len)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	int type = set->type;
	const char *proto = set->service != NULL ? "" : proto_name(type);
	const char *sep = set->service != NULL ? "" : " ";
	char text[NETADDR_TEXT_MAX];
	netaddr_format(sa, text);
	int fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, len, "listen %s%s%s: socket: %s", proto, sep, text, strerror(errno));
		return -1;
	}
	int one = 1;
	/* TCP only: a UDP socket with SO_REUSEADDR could share its address
	 * with another process's, and each would get some of the queries. */
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, sa, a->len) < 0 || (type == SOCK_STREAM && listen(fd, set->backlog) < 0)) {
		snprintf(err, len, "listen %s%s%s: %s", proto, sep, text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* "listening on ADDR (TCP)" / "stopped listening on ..."; a set with a
 * service names itself: "metrics: listening on ADDR (HTTP, /metrics)". */
static void
log_listening(const struct listener_set *set, const struct netaddr *a, bool on)
{
	char text[NETADDR_TEXT_MAX];
	netaddr_format((const struct sockaddr *)&a->ss, text);
	const char *proto = proto_name(set->type);
	if (set->service != NULL) {
		struct log_field fl[] = { LF_S("address", text), LF_S("protocol", "HTTP"),
		                          LF_S("service", set->label) };
		log_event(XP_LOG_INFO, on ? "listening" : "stopped_listening", fl, 3,
		          "%s: %slistening on %s (%s)", set->label, on ? "" : "stopped ", text,
		          set->service);
		return;
	}
	struct log_field fl[] = { LF_S("address", text), LF_S("transport", proto) };
	if (on)
		log_event(XP_LOG_INFO, "listening", fl, 2, "listening on %s (%s)", text, proto);
	else
		log_event(XP_LOG_INFO, "stopped_listening", fl, 2, "stopped listening on %s (%s)%s",
		          text, proto, set->type == SOCK_DGRAM ? "" : "; connections accepted on it go on");
}

static void
release_fd(struct listener_set *set, int fd)
{
	if (fd < 0)
		return;
	if (set->ops->release != NULL)
		set->ops->release(set, fd);
	else
		close(fd);
}

/* ---- running, paused, backing off ----------------------------------------- */

bool
listener_set_running(const struct listener_set *set)
{
	return set->started && !set->paused && !ev_is_active(&set->backoff);
}

/* Starts or stops every socket's watcher to match listener_set_running. */
static void
watch(struct listener_set *set)
{
	bool on = listener_set_running(set);
	for (size_t i = 0; i < set->n; i++) {
		if (on)
			ev_io_start(set->loop, &set->lis[i].io);
		else
			ev_io_stop(set->loop, &set->lis[i].io);
	}
}

static void
backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	watch(w->data);
}

static bool
out_of_resources(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* Out of descriptors or memory: this set stops accepting for a while.
 * Without the pause, a pending connection we cannot take would wake us at
 * 100% CPU (libev manual, "accept()ing when you can't"). */
static void
backoff(struct listener_set *set, const char *what)
{
	log_warning("%s: %s; pausing accepts for %.0f s", what, strerror(errno), LISTENER_BACKOFF);
	ev_timer_set(&set->backoff, LISTENER_BACKOFF, 0);
	ev_timer_start(set->loop, &set->backoff);
	watch(set);
}

void
listener_set_pause(struct listener_set *set, bool paused)
{
	set->paused = paused;
	watch(set);
}

void
listener_set_start(struct listener_set *set)
{
	set->started = true;
	watch(set);
}

/* ---- accepting ---------------------------------------------------------------- */

void
listener_accept(struct listener *l)
{
	struct listener_set *set = l->set;
	for (int i = 0; i < ACCEPT_BATCH && listener_set_running(set); i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (out_of_resources(errno))
				backoff(set, "accept");
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			         errno != ECONNABORTED)
				log_warning("%s: accept: %s", set->label, strerror(errno));
			return;
		}
		if (set->ops->accepted(l, fd, (struct sockaddr *)&peer, len) < 0) {
			if (out_of_resources(errno)) {
				backoff(set, "new connection");
				return;
			}
			log_error("%s: new connection: %s", set->label, strerror(errno));
		}
	}
}

/* Takes what is queued on l now: a batch of connections, or of datagrams
 * (the owner reads them). Also run on a listener about to go at a reload,
 * for the peers that came before it. */
static void
drain(struct listener *l)
{
	if (l->set->type == SOCK_DGRAM)
		l->set->ops->readable(l);
	else
		listener_accept(l);
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	drain(w->data);
}

/* ---- binding ------------------------------------------------------------------ */

void
listener_set_init(struct listener_set *set, struct ev_loop *loop, const char *label, int type,
                  const struct listener_ops *ops, void *ctx)
{
	memset(set, 0, sizeof(*set));
	snprintf(set->label, sizeof(set->label), "%s", label);
	set->type = type;
	set->backlog = 1024;
	set->ops = ops;
	set->ctx = ctx;
	set->loop = loop;
	ev_init(&set->backoff, backoff_cb);
	set->backoff.data = set;
}

/* Puts socket fd, bound to a, in slot i (watched by watch()). */
static void
fill(struct listener_set *set, size_t i, const struct netaddr *a, int fd, bool fresh)
{
	struct listener *l = &set->lis[i];
	l->addr = *a;
	l->fd = fd;
	l->set = set;
	ev_io_init(&l->io, io_cb, fd, EV_READ);
	l->io.data = l;
	if (fresh && set->ops->bound != NULL)
		set->ops->bound(l);
}

int
listener_set_open(struct listener_set *set, const struct netaddr *addrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char err[160];
		int fd = listener_socket(set, &addrs[i], err, sizeof(err));
		if (fd < 0) {
			if (set->service != NULL)
				log_error("%s: %s", set->label, err);
			else
				log_error("%s", err);
			listener_set_close(set);
			return -1;
		}
		log_listening(set, &addrs[i], true);
		fill(set, i, &addrs[i], fd, true);
		set->n = i + 1;
	}
	return 0;
}

void
listener_set_close(struct listener_set *set)
{
	listener_set_abort(set);
	for (size_t i = 0; i < set->n; i++) {
		ev_io_stop(set->loop, &set->lis[i].io);
		release_fd(set, set->lis[i].fd);
	}
	set->n = 0;
	set->started = false;
	ev_timer_stop(set->loop, &set->backoff);
}

/* ---- reload ---------------------------------------------------------------------- */

static bool
same_addr(const struct netaddr *a, const struct netaddr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* Does the stage keep the running listener at index i? */
static bool
stage_keeps(const struct listen_stage *st, size_t i)
{
	for (size_t k = 0; k < st->n; k++)
		if (st->keep[k] == (int)i)
			return true;
	return false;
}

int
listener_set_stage(struct listener_set *set, const struct netaddr *want, size_t n, char *err,
                   size_t len)
{
	struct listen_stage *st = &set->stage;
	listener_set_abort(set);
	st->staged = true;
	for (size_t i = 0; i < n && i < CONF_MAX_LISTEN; i++) {
		st->want[i] = want[i];
		st->keep[i] = -1;
		st->fd[i] = -1;
		for (size_t j = 0; j < set->n && st->keep[i] < 0; j++)
			if (same_addr(&want[i], &set->lis[j].addr))
				st->keep[i] = (int)j;
		st->n = i + 1;
		if (st->keep[i] >= 0)
			continue;
		if (set->ops->reclaim != NULL)
			st->fd[i] = set->ops->reclaim(set, &want[i]);
		if (st->fd[i] < 0 && (st->fd[i] = listener_socket(set, &want[i], err, len)) < 0) {
			listener_set_abort(set);
			return -1;
		}
	}
	return 0;
}

void
listener_set_abort(struct listener_set *set)
{
	struct listen_stage *st = &set->stage;
	for (size_t i = 0; i < st->n; i++)
		release_fd(set, st->fd[i]);    /* a reclaimed socket goes back to its owner */
	st->n = 0;
	st->staged = false;
}

void
listener_set_commit(struct listener_set *set)
{
	struct listen_stage *st = &set->stage;
	if (!st->staged)
		return;
	size_t n_old = set->n;
	int old_fd[CONF_MAX_LISTEN];
	for (size_t i = 0; i < n_old; i++)
		if (!stage_keeps(st, i))
			log_listening(set, &set->lis[i].addr, false);
	for (size_t i = 0; i < st->n; i++)
		if (st->keep[i] < 0)
			log_listening(set, &st->want[i], true);
	for (size_t i = 0; i < n_old; i++)
		if (!stage_keeps(st, i))
			drain(&set->lis[i]);
	for (size_t i = 0; i < n_old; i++) {
		ev_io_stop(set->loop, &set->lis[i].io);
		old_fd[i] = set->lis[i].fd;
	}
	for (size_t i = 0; i < st->n; i++) {
		bool kept = st->keep[i] >= 0;
		fill(set, i, &st->want[i], kept ? old_fd[st->keep[i]] : st->fd[i], !kept);
	}
	set->n = st->n;
	for (size_t i = 0; i < n_old; i++)
		if (!stage_keeps(st, i))
			release_fd(set, old_fd[i]);
	st->n = 0;                            /* the sockets are the listeners' now */
	st->staged = false;
	watch(set);
}
