/* main.c - command line, configuration check, start-up and the event loop. */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "ep_tls.h"
#include "proxy/lib/log.h"
#include "logrl.h"
#include "metrics.h"
#include "privdrop.h"
#include "outbound.h"
#include "server.h"
#include "tls/tls_client.h"
#include "tls/tls.h"
#include "version.h"

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: xotproxy -c FILE [-t] [-f]\n"
	        "  DNS zone transfers over TLS (RFC 9103): a TLS 1.3 front for legacy primaries.\n"
	        "  -c, --config FILE  configuration file (INI)\n"
	        "  -t, --test         check the configuration, print the effective settings, exit\n"
	        "  -f, --foreground   run in the foreground (the default; logs go to stderr)\n"
	        "  -V, --version      print the version\n"
	        "  -h, --help         this help\n");
}

static void
warn_key_mode(const char *key)
{
	unsigned mode;
	if (file_mode_too_open(key, &mode) == 1)
		log_warning("private key %s is accessible by group or others (mode %04o); chmod 600 it",
		            key, mode);
}

/* Item 16 (issue 13): an inline TSIG secret in a configuration file more
 * than the service can read lets anyone who reads it sign as a secondary
 * (a secret-file with such a mode is refused outright, conf_acl.c). Warned
 * by -t and at start; the line is the first inline secret. */
static void
warn_inline_secret(const struct conf *conf)
{
	gid_t gid;
	unsigned mode;
	if (conf->n_inline_secrets == 0 || privdrop_service_gid(conf->user, &gid) < 0)
		return;
	enum file_readers r = file_readers(conf->path, gid, &mode);
	if (r != FILE_READERS_GROUP && r != FILE_READERS_OTHERS)
		return;
	log_warning("%s:%d: TSIG secret inline in a file readable by %s (mode %04o): anyone who "
	            "can read it can sign transfers as a secondary; use secret-file (mode 600), or "
	            "make the file 0640 with the service's own group%s", conf->path,
	            conf->inline_secret_line, r == FILE_READERS_OTHERS ? "others" : "a shared group",
	            mode, conf->n_inline_secrets > 1 ? " (and the file's other inline secrets)" : "");
}

/* user = NAME: it must exist and not be root by another name (uid 0). */
static int
check_user(const struct conf *conf)
{
	char perr[PRIVDROP_ERR_MAX];
	if (conf->user == NULL || privdrop_check_user(conf->user, perr) == 0)
		return 0;
	fprintf(stderr, "%s:%d: %s\n", conf->path, conf->user_line, perr);
	return -1;
}

/* After the listeners are bound: switch to `user` (with the bounding set
 * cleared and no_new_privs), or, without one, no_new_privs and a warning
 * when that leaves the proxy running as root. Returns 0 or -1 (logged). */
static int
drop_privileges(const struct conf *conf)
{
	char note[PRIVDROP_ERR_MAX], perr[PRIVDROP_ERR_MAX];
	if (conf->user == NULL) {
		if (geteuid() == 0)
			log_warning("running as root: set user = NAME in [global] (%s) to drop root after "
			            "binding, or start xotproxy as an unprivileged user with "
			            "CAP_NET_BIND_SERVICE (the shipped systemd unit does)", conf->path);
		if (privdrop_harden(note, perr) < 0) {
			log_error("%s", perr);
			return -1;
		}
		if (note[0] != '\0')
			log_debug("%s", note);
		return 0;
	}
	struct privdrop_outcome out;
	if (privdrop_to(conf->user, &out, perr) < 0) {
		log_error("%s; refusing to run as root", perr);
		return -1;
	}
	if (out.kept_bind)
		log_info("running as user %s, keeping only CAP_NET_BIND_SERVICE (a reload may "
		         "add listen ports below 1024); no_new_privs set", conf->user);
	else if (out.bind_note[0] != '\0')
		log_info("running as user %s, no capabilities kept (CAP_NET_BIND_SERVICE: %s); "
		         "a reload cannot add listen ports below 1024; no_new_privs set", conf->user,
		         out.bind_note);
	else
		log_info("running as user %s; no_new_privs set", conf->user);
	if (out.bounding_note[0] != '\0')
		log_warning("user %s: %s", conf->user, out.bounding_note);
	return 0;
}

/* The outbound sections' CA, client certificate and key must load (the
 * same check -t does), so a start never fails on them later. */
static int
check_outbound_tls(const struct conf *conf)
{
	for (size_t i = 0; i < conf->n_outbound; i++) {
		const struct conf_outbound *ob = &conf->outbound[i];
		char err[TLS_ERR_MAX];
		WOLFSSL_CTX *ctx = ep_tls_client_ctx_new(ob, err);
		if (ctx == NULL) {
			fprintf(stderr, "%s: [outbound%s%s]: %s\n", conf->path, ob->name[0] ? " " : "",
			        ob->name, err);
			return -1;
		}
		wolfSSL_CTX_free(ctx);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	bool check = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "c:tfVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 't': check = true; break;
		case 'f': break;
		case 'V':
			printf("xotproxy %s (wolfSSL %s, libev %d.%d)\n", XOTPROXY_VERSION,
			       wolfSSL_lib_version(), ev_version_major(), ev_version_minor());
			return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}

	char err[CONF_ERR_MAX];
	struct conf *conf = conf_load(path, err);
	if (conf == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	log_threshold = (enum log_level)conf->log_level;
	/* XOTPROXY_SYSLOG_SOCKET: another socket than /dev/log, for tests only */
	if (!check && log_configure((enum log_format)conf->log_format,
	                            (enum log_target)conf->log_target,
	                            getenv("XOTPROXY_SYSLOG_SOCKET")) < 0) {
		fprintf(stderr, "%s: log-target %s: %s\n", path,
		        log_target_name((enum log_target)conf->log_target), strerror(errno));
		conf_free(conf);
		return 1;
	}
	conf_log_warnings(conf);              /* RFC 9103 §7.5: zones open to addresses alone */
	if (tls_init() < 0) {
		fprintf(stderr, "cannot initialise wolfSSL\n");
		conf_free(conf);
		return 1;
	}
	char terr[TLS_ERR_MAX];
	WOLFSSL_CTX *tls = NULL;              /* the inbound server context; none without [inbound] */
	if (conf->has_inbound && (tls = tls_server_ctx_new(conf->inbound.cert, conf->inbound.key, conf->inbound.client_ca, terr)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, terr);
		conf_free(conf);
		tls_cleanup();
		return 1;
	}
	if (check_user(conf) < 0) {
		wolfSSL_CTX_free(tls);
		conf_free(conf);
		tls_cleanup();
		return 1;
	}
	if (conf->has_inbound &&
	    !netaddr_is_loopback((const struct sockaddr *)&conf->inbound.backend.ss))   /* PRX-06 */
		log_warning("backend is not a loopback address: zone data and TSIG-signed messages "
		            "travel in plaintext to it");
	warn_inline_secret(conf);
	if (conf->has_inbound)
		warn_key_mode(conf->inbound.key);
	for (size_t i = 0; i < conf->n_outbound; i++)
		if (conf->outbound[i].client_key != NULL)
			warn_key_mode(conf->outbound[i].client_key);
	if (check_outbound_tls(conf) < 0) {
		wolfSSL_CTX_free(tls);
		conf_free(conf);
		tls_cleanup();
		return 1;
	}
	if (check) {
		conf_print(conf, stdout);
		printf("; configuration OK\n");
		wolfSSL_CTX_free(tls);
		conf_free(conf);
		tls_cleanup();
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	struct server srv;
	memset(&srv, 0, sizeof(srv));
	srv.loop = ev_default_loop(EVFLAG_AUTO);
	srv.conf = conf;
	srv.tls = tls;
	int rc = 1;
	/* per-client transfer slots and rates: one table for the process's life
	 * (a reload keeps it, so slots held by running transfers stay valid) */
	srv.clients = clienttab_new(conf->inbound.client_table_size);
	if (srv.clients == NULL) {
		log_error("cannot allocate the client table (%u entries)", conf->inbound.client_table_size);
		goto out;
	}
	if (server_listen(&srv) < 0)
		goto out;
	bool ob_failed;
	srv.outbound = outbound_open(&srv, &ob_failed);     /* binds before dropping root */
	if (ob_failed)
		goto out;
	if (conf->has_metrics &&
	    (metrics_init(conf->metrics_max_zones) < 0 || metrics_http_listen(&conf->metrics) < 0))
		goto out;
	metrics_http_configure(conf->metrics_allow, conf->n_metrics_allow,
	                       conf->metrics_max_conns_per_ip);
	if (drop_privileges(conf) < 0)
		goto out;
	if (conf->has_inbound) {
		char backend[NETADDR_TEXT_MAX];
		netaddr_format((const struct sockaddr *)&conf->inbound.backend.ss, backend);
		log_event(XP_LOG_INFO, "start", (struct log_field[]){
				LF_S("version", XOTPROXY_VERSION), LF_S("wolfssl", wolfSSL_lib_version()),
				LF_S("backend", backend), LF_U("zones", conf->n_zones),
				LF_U("max_clients", conf->inbound.max_clients),
				LF_U("outbound_groups", conf->n_outbound) }, 6,
		          "xotproxy %s started: inbound backend %s, %zu zones, max-clients %u; "
		          "%zu outbound groups", XOTPROXY_VERSION, backend, conf->n_zones,
		          conf->inbound.max_clients, conf->n_outbound);
	} else {
		log_event(XP_LOG_INFO, "start", (struct log_field[]){
				LF_S("version", XOTPROXY_VERSION), LF_S("wolfssl", wolfSSL_lib_version()),
				LF_U("outbound_groups", conf->n_outbound) }, 3,
		          "xotproxy %s started: %zu outbound groups", XOTPROXY_VERSION, conf->n_outbound);
	}
	server_start(&srv);
	metrics_http_start(srv.loop);
	log_sink_start(srv.loop);             /* from here on logging never blocks */
	logrl_start(srv.loop);
	ev_run(srv.loop, 0);
	logrl_stop();
	metrics_http_stop();
	log_event(XP_LOG_INFO, "stop", NULL, 0, "stopped");
	log_sink_stop();
	rc = 0;
out:
	metrics_http_stop();
	metrics_reset();
	log_reset();
	outbound_free(srv.outbound);
	server_close_listeners(&srv);
	ipcount_clear(&srv.per_ip);
	ipcount_clear(&srv.hs_per_ip);
	clienttab_free(srv.clients);
	wolfSSL_CTX_free(srv.tls);            /* the current ones: a reload may have swapped them */
	conf_unref(srv.conf);
	tls_cleanup();
	ev_loop_destroy(srv.loop);
	return rc;
}
