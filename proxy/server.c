/* server.c - the process's parts run through one table each: start, the
 * reload sequence (every part stages, then every part commits, or those
 * staged abort), signals and graceful stop. Listening sockets are in
 * listener.c; what each direction does with its connections is in
 * inbound.c, outbound.c and metrics_http.c. */
#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inbound.h"
#include "metrics_http.h"
#include "outbound.h"
#include "proxy/lib/log.h"

/* The parts, in the order they open, start, stage and commit. */
static const struct direction_ops *const parts[SERVER_PARTS] = {
	&inbound_direction, &outbound_direction, &metrics_direction,
};

/* Connections (and UDP queries) open in every part. */
static unsigned
open_count(const struct server *srv)
{
	unsigned n = 0;
	for (size_t i = 0; i < SERVER_PARTS; i++)
		if (srv->part[i] != NULL && parts[i]->count != NULL)
			n += parts[i]->count(srv->part[i]);
	return n;
}

/* Shutdown ends when the last connection of every part has gone. */
static void
conn_gone(void *owner)
{
	struct server *srv = owner;
	if (srv->rt.stopping && open_count(srv) == 0)
		ev_break(srv->rt.loop, EVBREAK_ALL);
}

int
server_open(struct server *srv, struct ev_loop *loop, struct conf *conf, WOLFSSL_CTX *tls)
{
	memset(srv, 0, sizeof(*srv));
	srv->rt.loop = loop;
	srv->rt.conf = conf;
	srv->rt.tls = tls;
	srv->rt.conn_gone = conn_gone;
	srv->rt.owner = srv;
	for (size_t i = 0; i < SERVER_PARTS; i++) {
		bool failed = false;
		srv->part[i] = parts[i]->open(&srv->rt, &failed);
		if (failed)
			return -1;
	}
	return 0;
}

void
server_free(struct server *srv)
{
	for (size_t i = SERVER_PARTS; i-- > 0;) {
		if (srv->part[i] != NULL)
			parts[i]->free(srv->part[i]);
		srv->part[i] = NULL;
	}
	wolfSSL_CTX_free(srv->rt.tls);
	srv->rt.tls = NULL;
	conf_unref(srv->rt.conf);
	srv->rt.conf = NULL;
}

static void
stop_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *srv = w->data;
	unsigned open = open_count(srv);
	log_event(XP_LOG_INFO, "stop_deadline", (struct log_field[]){ LF_U("connections", open),
	          LF_U("shutdown_timeout", srv->rt.conf->shutdown_timeout) }, 2,
	          "stop: %u connections still open after %u s, closing them", open,
	          srv->rt.conf->shutdown_timeout);
	for (size_t i = 0; i < SERVER_PARTS; i++)
		if (srv->part[i] != NULL && parts[i]->kill != NULL)
			parts[i]->kill(srv->part[i]);
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *srv = w->data;
	if (srv->rt.stopping) {
		log_info("second signal %d: closing all connections now", w->signum);
		stop_deadline_cb(loop, &srv->stop_deadline, 0);
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	unsigned open = open_count(srv);
	log_event(XP_LOG_INFO, "stopping", (struct log_field[]){ LF_I("signal", w->signum),
	          LF_U("connections", open) }, 2, "signal %d: stopping; %u connections open",
	          w->signum, open);
	srv->rt.stopping = true;
	ev_timer_set(&srv->stop_deadline, srv->rt.conf->shutdown_timeout, 0);
	ev_timer_start(loop, &srv->stop_deadline);
	ev_unref(loop);                   /* the deadline alone must not keep us running */
	for (size_t i = 0; i < SERVER_PARTS; i++)
		if (srv->part[i] != NULL && parts[i]->stop != NULL)
			parts[i]->stop(srv->part[i]);
	conn_gone(srv);
}

/* SIGHUP, first step: every part binds its new listen addresses before
 * anything changes. If one cannot, those that staged abort: the reload
 * fails as a whole and the running listeners stay. Returns 0, or -1 with
 * the reason in err. */
static int
reload_stage(struct server *srv, const struct conf *conf, char *err, size_t len)
{
	for (size_t i = 0; i < SERVER_PARTS; i++) {
		if (srv->part[i] == NULL || parts[i]->reload_stage == NULL)
			continue;
		if (parts[i]->reload_stage(srv->part[i], conf, err, len) < 0) {
			while (i-- > 0)
				if (srv->part[i] != NULL && parts[i]->reload_abort != NULL)
					parts[i]->reload_abort(srv->part[i]);
			return -1;
		}
	}
	return 0;
}

/* The checks and the TLS context a reload needs before it stages; NULL
 * conf (logged) when the running configuration stays. */
static struct conf *
reload_load(struct server *srv, WOLFSSL_CTX **tls)
{
	char err[CONF_ERR_MAX];
	const struct conf *cur = srv->rt.conf;
	*tls = NULL;
	struct conf *conf = conf_load(cur->path, err);
	if (conf == NULL) {
		log_error("reload failed, keeping the running configuration: %s", err);
		return NULL;
	}
	if (conf->inbound.client_table_size != cur->inbound.client_table_size)
		log_warning("reload: client-table-size changes need a restart (keeping %u entries)",
		            cur->inbound.client_table_size);
	if (conf->has_inbound != cur->has_inbound) {
		log_error("reload failed, keeping the running configuration: adding or removing "
		          "[inbound] needs a restart");
		conf_unref(conf);
		return NULL;
	}
	if (conf->has_inbound) {
		char terr[TLS_ERR_MAX];
		*tls = tls_server_ctx_new(conf->inbound.cert, conf->inbound.key, conf->inbound.client_ca,
		                          terr);
		if (*tls == NULL) {
			log_error("reload failed, keeping the running configuration: %s", terr);
			conf_unref(conf);
			return NULL;
		}
	}
	return conf;
}

/* The new configuration and TLS context take over: new connections use
 * them, established ones finish on what they started with (both are
 * reference counted). */
static void
reload_swap(struct server *srv, struct conf *conf, WOLFSSL_CTX *tls)
{
	if (tls != NULL && tls_copy_ticket_keys(srv->rt.tls, tls) < 0)
		log_warning("reload: session tickets issued before the reload will not resume");
	if (tls != NULL) {
		wolfSSL_CTX_free(srv->rt.tls);   /* live sessions keep their own reference */
		srv->rt.tls = tls;
	}
	conf_unref(srv->rt.conf);
	srv->rt.conf = conf;
	srv->rt.conf_gen++;                  /* sessions re-check their certificate (B15) */
	log_threshold = (enum log_level)conf->log_level;
	if (log_configure((enum log_format)conf->log_format, (enum log_target)conf->log_target,
	                  getenv("XOTPROXY_SYSLOG_SOCKET")) < 0)
		log_warning("reload: log-target %s: %s; logging goes on as before",
		            log_target_name((enum log_target)conf->log_target), strerror(errno));
	conf_log_warnings(conf);
}

/* SIGHUP: re-read the configuration, certificate and key. Listen
 * addresses added are bound, removed ones closed, unchanged ones kept
 * open. Any error (a file that does not load, an address that cannot be
 * bound) keeps the running configuration. */
static void
reload(struct server *srv)
{
	WOLFSSL_CTX *tls;
	struct conf *conf = reload_load(srv, &tls);
	if (conf == NULL)
		return;
	char err[CONF_ERR_MAX];
	if (reload_stage(srv, conf, err, sizeof(err)) < 0) {
		log_error("reload failed, keeping the running configuration: %s", err);
		wolfSSL_CTX_free(tls);
		conf_unref(conf);
		return;
	}
	reload_swap(srv, conf, tls);
	for (size_t i = 0; i < SERVER_PARTS; i++)
		if (srv->part[i] != NULL && parts[i]->reload_commit != NULL)
			parts[i]->reload_commit(srv->part[i], conf);
	log_event(XP_LOG_INFO, "reload", (struct log_field[]){ LF_S("path", conf->path),
	          LF_U("zones", conf->n_zones), LF_U("max_clients", conf->inbound.max_clients) }, 3,
	          "reloaded %s: %zu zones, max-clients %u", conf->path, conf->n_zones,
	          conf->inbound.max_clients);
}

static void
hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *srv = w->data;
	if (!srv->rt.stopping)
		reload(srv);
}

void
server_start(struct server *srv)
{
	struct ev_loop *loop = srv->rt.loop;
	ev_signal_init(&srv->sig_int, signal_cb, SIGINT);
	ev_signal_init(&srv->sig_term, signal_cb, SIGTERM);
	ev_signal_init(&srv->sig_hup, hup_cb, SIGHUP);
	srv->sig_int.data = srv->sig_term.data = srv->sig_hup.data = srv;
	ev_signal_start(loop, &srv->sig_int);
	ev_signal_start(loop, &srv->sig_term);
	ev_signal_start(loop, &srv->sig_hup);
	ev_unref(loop);                       /* signals alone keep nothing running */
	ev_unref(loop);
	ev_unref(loop);
	ev_init(&srv->stop_deadline, stop_deadline_cb);
	srv->stop_deadline.data = srv;
	for (size_t i = 0; i < SERVER_PARTS; i++)
		if (srv->part[i] != NULL && parts[i]->start != NULL)
			parts[i]->start(srv->part[i]);
}
