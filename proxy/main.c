/* main.c - command line, configuration check, start-up and the event loop. */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "logrl.h"
#include "metrics.h"
#include "privdrop.h"
#include "outbound.h"
#include "server.h"
#include "tls_client.h"
#include "tls.h"
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

/* The outbound sections' CA, client certificate and key must load (the
 * same check -t does), so a start never fails on them later. */
static int
check_outbound_tls(const struct conf *conf)
{
	for (size_t i = 0; i < conf->n_outbound; i++) {
		const struct conf_outbound *ob = &conf->outbound[i];
		struct tls_client_auth auth = {
			.ca = ob->ca, .auth_name = ob->auth_name,
			.pins = (const uint8_t (*)[32])ob->pins, .n_pins = ob->n_pins,
			.client_cert = ob->client_cert, .client_key = ob->client_key,
		};
		char err[TLS_ERR_MAX];
		WOLFSSL_CTX *ctx = tls_client_ctx_new(&auth, err);
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
	if (conf->has_inbound && (tls = tls_server_ctx_new(conf->cert, conf->key, conf->client_ca, terr)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, terr);
		conf_free(conf);
		tls_cleanup();
		return 1;
	}
	char perr[PRIVDROP_ERR_MAX];
	if (conf->user != NULL && privdrop_check_user(conf->user, perr) < 0) {
		fprintf(stderr, "%s: %s\n", path, perr);
		wolfSSL_CTX_free(tls);
		conf_free(conf);
		tls_cleanup();
		return 1;
	}
	if (conf->has_inbound &&
	    !netaddr_is_loopback((const struct sockaddr *)&conf->backend.ss))   /* PRX-06 */
		log_warning("backend is not a loopback address: zone data and TSIG-signed messages "
		            "travel in plaintext to it");
	if (conf->has_inbound)
		warn_key_mode(conf->key);
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
	srv.clients = clienttab_new(conf->client_table_size);
	if (srv.clients == NULL) {
		log_error("cannot allocate the client table (%u entries)", conf->client_table_size);
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
	if (conf->user != NULL) {
		bool kept_bind;
		char note[PRIVDROP_ERR_MAX];
		if (privdrop_to(conf->user, &kept_bind, note, perr) < 0) {
			log_error("%s; refusing to run as root", perr);
			goto out;
		}
		if (kept_bind)
			log_info("running as user %s, keeping only CAP_NET_BIND_SERVICE (a reload may "
			         "add listen ports below 1024)", conf->user);
		else if (note[0] != '\0')
			log_info("running as user %s, no capabilities kept (CAP_NET_BIND_SERVICE: %s); "
			         "a reload cannot add listen ports below 1024", conf->user, note);
		else
			log_info("running as user %s", conf->user);
	}
	if (conf->has_inbound) {
		char backend[NETADDR_TEXT_MAX];
		netaddr_format((const struct sockaddr *)&conf->backend.ss, backend);
		log_event(XP_LOG_INFO, "start", (struct log_field[]){
				LF_S("version", XOTPROXY_VERSION), LF_S("wolfssl", wolfSSL_lib_version()),
				LF_S("backend", backend), LF_U("zones", conf->n_zones),
				LF_U("max_clients", conf->max_clients),
				LF_U("outbound_groups", conf->n_outbound) }, 6,
		          "xotproxy %s started: inbound backend %s, %zu zones, max-clients %u; "
		          "%zu outbound groups", XOTPROXY_VERSION, backend, conf->n_zones,
		          conf->max_clients, conf->n_outbound);
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
