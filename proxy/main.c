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
	        "  -h, --help         this help\n"
	        "      --dump-keys    list every configuration key (section, name, type, default,\n"
	        "                     reload or restart, help), tab-separated\n");
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
		char err[TLS_ERR_MAX], label[80];
		WOLFSSL_CTX *ctx = ep_tls_client_ctx_new(ob, err);
		if (ctx == NULL) {
			outbound_label(ob->name, label, sizeof(label));
			fprintf(stderr, "%s: [%s]: %s\n", conf->path, label, err);
			return -1;
		}
		wolfSSL_CTX_free(ctx);
	}
	return 0;
}

/* What a start and -t both check: the log target (not for -t), the TLS
 * library, the inbound certificate and key (into *tls, NULL without
 * [inbound]), the user, the outbound TLS files; and the warnings. Returns
 * 0, or -1 (written to stderr). */
static int
check_conf(struct conf *conf, bool check, WOLFSSL_CTX **tls)
{
	*tls = NULL;
	log_threshold = (enum log_level)conf->log_level;
	/* XOTPROXY_SYSLOG_SOCKET: another socket than /dev/log, for tests only */
	if (!check && log_configure((enum log_format)conf->log_format,
	                            (enum log_target)conf->log_target,
	                            getenv("XOTPROXY_SYSLOG_SOCKET")) < 0) {
		fprintf(stderr, "%s: log-target %s: %s\n", conf->path,
		        log_target_name((enum log_target)conf->log_target), strerror(errno));
		return -1;
	}
	conf_log_warnings(conf);              /* RFC 9103 §7.5: zones open to addresses alone */
	char terr[TLS_ERR_MAX];
	if (conf->has_inbound && (*tls = tls_server_ctx_new(conf->inbound.cert, conf->inbound.key,
	                                                    conf->inbound.client_ca, terr)) == NULL) {
		fprintf(stderr, "%s: %s\n", conf->path, terr);
		return -1;
	}
	if (check_user(conf) < 0)
		return -1;
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
	return check_outbound_tls(conf);
}

static void
log_start(const struct conf *conf)
{
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
}

/* Runs the proxy until it stops; srv owns conf and tls from server_open
 * on, whatever happens. */
static int
serve(struct conf *conf, WOLFSSL_CTX *tls)
{
	int rc = 1;
	signal(SIGPIPE, SIG_IGN);
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct server srv;
	if (server_open(&srv, loop, conf, tls) == 0 && drop_privileges(conf) == 0) {
		log_start(conf);
		server_start(&srv);
		log_sink_start(loop);             /* from here on logging never blocks */
		logrl_start(loop);
		ev_run(loop, 0);
		logrl_stop();
		log_event(XP_LOG_INFO, "stop", NULL, 0, "stopped");
		log_sink_stop();
		rc = 0;
	}
	server_free(&srv);
	log_reset();
	ev_loop_destroy(loop);
	return rc;
}

/* Checks conf, then prints it (-t) or runs on it. Takes conf; the one
 * cleanup path. */
static int
start(struct conf *conf, bool check)
{
	int rc = 1;
	WOLFSSL_CTX *tls = NULL;
	bool tls_up = tls_init() == 0;
	if (!tls_up) {
		fprintf(stderr, "cannot initialise wolfSSL\n");
	} else if (check_conf(conf, check, &tls) == 0) {
		if (check) {
			conf_print(conf, stdout);
			printf("; configuration OK\n");
			rc = 0;
		} else {
			rc = serve(conf, tls);
			conf = NULL;                  /* the server freed them */
			tls = NULL;
		}
	}
	wolfSSL_CTX_free(tls);
	conf_free(conf);
	if (tls_up)
		tls_cleanup();
	return rc;
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
		{ "dump-keys", no_argument, NULL, 'K' },
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
		case 'K': conf_dump_keys(stdout); return 0;   /* the key table, for the install test */
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
	return start(conf, check);
}
