/* conf.c - the configuration: loaded from an INI file (inih), immutable once loaded.
 *
 * inih (Debian's build) gives the handler no line numbers and never calls it
 * for a section header, so an empty "[zone x]" would be invisible to it. We
 * therefore feed inih through our own line reader (ini_parse_stream): the
 * reader counts lines, hands inih one whole line per call, and handles
 * "[section]" lines itself (inih then sees a blank line). The handler sees
 * only key = value pairs, with ps->lineno the line being parsed.
 *
 * Every error stores a reason naming the key and the offending value; the
 * message is "FILE:LINE: reason", or "FILE: reason" when no line applies.
 *
 * Keys belong to a section kind: the table below is looked up by (section,
 * name), so [inbound] idle-timeout and [outbound] idle-timeout are different
 * keys. A repeatable section ([zone ...], [outbound ...]) forgets the key
 * lines of its kind when it opens, so duplicates are caught per section.
 *
 * [key] and [acl] sections live in conf_acl.c; [zone] sections, the
 * zones-file and the zone hash in conf_zone.c; this file has the reader,
 * the other sections, load and print. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "conf_int.h"
#include "proxy/lib/log.h"

#define CONF_MAX_FILE (1024 * 1024)

#define DEFAULT_LISTEN_PORT 853         /* XOT-03 */
#define DEFAULT_BACKEND_PORT 53
#define DEFAULT_OUT_LISTEN_PORT 53      /* [outbound] listen: plain DNS for the secondary */
#define DEFAULT_PRIMARY_PORT 853        /* [outbound] primary: XoT */
#define DEFAULT_METRICS_PORT 9853       /* [global] metrics */

struct key_def {
	enum section sec;
	const char *name;
	unsigned min, max;                  /* integer keys only */
};

static const struct key_def keys[K_COUNT] = {
	[K_LOG_LEVEL] = { SEC_GLOBAL, "log-level", 0, 0 },
	[K_USER] = { SEC_GLOBAL, "user", 0, 0 },
	[K_LISTEN] = { SEC_INBOUND, "listen", 0, 0 },
	[K_CERT] = { SEC_INBOUND, "cert", 0, 0 },
	[K_KEY] = { SEC_INBOUND, "key", 0, 0 },
	[K_BACKEND] = { SEC_INBOUND, "backend", 0, 0 },
	[K_HANDSHAKE_TIMEOUT] = { SEC_INBOUND, "handshake-timeout", 1, 3600 },
	[K_IDLE_TIMEOUT] = { SEC_INBOUND, "idle-timeout", 1, 86400 },
	[K_TRANSFER_TIMEOUT] = { SEC_INBOUND, "transfer-timeout", 1, 86400 },
	[K_MAX_CLIENTS] = { SEC_INBOUND, "max-clients", 1, 1000000 },
	[K_MAX_CLIENTS_PER_IP] = { SEC_INBOUND, "max-clients-per-ip", 0, 1000000 },
	[K_BACKEND_TIMEOUT] = { SEC_INBOUND, "backend-timeout", 1, 3600 },
	[K_IPV6_PREFIX] = { SEC_INBOUND, "ipv6-prefix", 0, 128 },
	[K_MAX_HANDSHAKES] = { SEC_INBOUND, "max-handshakes", 1, 1000000 },
	[K_MAX_HANDSHAKES_PER_IP] = { SEC_INBOUND, "max-handshakes-per-ip", 0, 1000000 },
	[K_SHUTDOWN_TIMEOUT] = { SEC_GLOBAL, "shutdown-timeout", 0, 3600 },
	[K_LOG_FORMAT] = { SEC_GLOBAL, "log-format", 0, 0 },
	[K_LOG_TARGET] = { SEC_GLOBAL, "log-target", 0, 0 },
	[K_METRICS] = { SEC_GLOBAL, "metrics", 0, 0 },
	[K_METRICS_MAX_ZONES] = { SEC_GLOBAL, "metrics-max-zones", 1, 100000 },
	[K_METRICS_ALLOW] = { SEC_GLOBAL, "metrics-allow", 0, 0 },
	[K_METRICS_MAX_CONNS_PER_IP] = { SEC_GLOBAL, "metrics-max-conns-per-ip", 1, 16 },
	[K_TSIG_MAX_FUDGE] = { SEC_GLOBAL, "tsig-max-fudge", 0, 65535 },
	[K_CLIENT_CA] = { SEC_INBOUND, "client-ca", 0, 0 },
	[K_MAX_TRANSFERS] = { SEC_INBOUND, "max-transfers", 0, 1000000 },
	[K_MAX_TRANSFERS_PER_CLIENT] = { SEC_INBOUND, "max-transfers-per-client", 0, 1000000 },
	[K_TRANSFER_RATE] = { SEC_INBOUND, "transfer-rate", 0, 0 },
	[K_PROXY_PROTOCOL] = { SEC_INBOUND, "proxy-protocol", 0, 0 },
	[K_CLIENT_TABLE_SIZE] = { SEC_INBOUND, "client-table-size", 1, 1048576 },
	[K_ZONES_FILE] = { SEC_INBOUND, "zones-file", 0, 0 },
	[K_ZONE_ALLOW] = { SEC_ZONE, "allow", 0, 0 },
	[K_ZONE_ACL] = { SEC_ZONE, "acl", 0, 0 },
	[K_KEY_ALGORITHM] = { SEC_KEY, "algorithm", 0, 0 },
	[K_KEY_SECRET] = { SEC_KEY, "secret", 0, 0 },
	[K_KEY_SECRET_FILE] = { SEC_KEY, "secret-file", 0, 0 },
	[K_ACL_ADDRESS] = { SEC_ACL, "address", 0, 0 },
	[K_ACL_CLIENT_CERT] = { SEC_ACL, "client-cert", 0, 0 },
	[K_ACL_TSIG_KEY] = { SEC_ACL, "tsig-key", 0, 0 },
	[K_ACL_BACKEND_SOURCE] = { SEC_ACL, "backend-source", 0, 0 },
	[K_OUT_LISTEN] = { SEC_OUTBOUND, "listen", 0, 0 },
	[K_OUT_ALLOW] = { SEC_OUTBOUND, "allow", 0, 0 },
	[K_OUT_PRIMARY] = { SEC_OUTBOUND, "primary", 0, 0 },
	[K_OUT_AUTH_NAME] = { SEC_OUTBOUND, "auth-name", 0, 0 },
	[K_OUT_CA] = { SEC_OUTBOUND, "ca", 0, 0 },
	[K_OUT_PIN] = { SEC_OUTBOUND, "pin-sha256", 0, 0 },
	[K_OUT_CLIENT_CERT] = { SEC_OUTBOUND, "client-cert", 0, 0 },
	[K_OUT_CLIENT_KEY] = { SEC_OUTBOUND, "client-key", 0, 0 },
	[K_OUT_CONNECT_TIMEOUT] = { SEC_OUTBOUND, "connect-timeout", 1, 3600 },
	[K_OUT_IDLE_TIMEOUT] = { SEC_OUTBOUND, "idle-timeout", 1, 86400 },
	[K_OUT_MAX_SESSIONS] = { SEC_OUTBOUND, "max-sessions", 1, 1024 },
	[K_OUT_BACKEND_TIMEOUT] = { SEC_OUTBOUND, "backend-timeout", 1, 3600 },
	[K_OUT_TRANSFER_TIMEOUT] = { SEC_OUTBOUND, "transfer-timeout", 1, 86400 },
	[K_OUT_QUEUE_TIMEOUT] = { SEC_OUTBOUND, "queue-timeout", 1, 3600 },
	[K_OUT_MAX_CLIENTS] = { SEC_OUTBOUND, "max-clients", 1, 1000000 },
	[K_OUT_MAX_UDP_QUERIES] = { SEC_OUTBOUND, "max-udp-queries", 1, 1000000 },
};

static void
vfail(struct parse_state *ps, const char *file, int line, const char *fmt, va_list ap)
{
	if (ps->failed)
		return;
	ps->failed = true;
	ps->err_file = file;
	ps->err_line = line;
	vsnprintf(ps->reason, sizeof(ps->reason), fmt, ap);
}

void
conf_fail(struct parse_state *ps, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(ps, NULL, line, fmt, ap);
	va_end(ap);
}

void
conf_fail_file(struct parse_state *ps, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(ps, file, line, fmt, ap);
	va_end(ap);
}

static void set_err(char err[CONF_ERR_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_err(char err[CONF_ERR_MAX], const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, CONF_ERR_MAX, fmt, ap);
	va_end(ap);
}

/* "[outbound NAME]", or "[outbound]" when unnamed. */
static const char *
outbound_label(const struct conf_outbound *ob, char buf[LABEL_MAX])
{
	if (ob->name[0] == '\0')
		return "[outbound]";
	snprintf(buf, LABEL_MAX, "[outbound %s]", ob->name);
	return buf;
}

static const char *
section_label(const struct parse_state *ps, char buf[LABEL_MAX])
{
	const struct conf *c = ps->conf;
	switch (ps->sec) {
	case SEC_GLOBAL:
		return "[global]";
	case SEC_INBOUND:
		return "[inbound]";
	case SEC_ZONE:
		return conf_zone_section_label(ps, buf);
	case SEC_KEY:
	case SEC_ACL:
		return conf_acl_section_label(ps, buf);
	case SEC_OUTBOUND:
		return outbound_label(&c->outbound[c->n_outbound - 1], buf);
	default:
		return "(no section)";
	}
}

/* The section being parsed, when it is an [outbound]. */
static struct conf_outbound *
cur_outbound(struct parse_state *ps)
{
	return &ps->conf->outbound[ps->conf->n_outbound - 1];
}

/* --- values ------------------------------------------------------------ */

/* Decimal integer in [min, max]: digits only, no sign, no suffix. */
static int
parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v = 0;
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static bool
netaddr_equal(const struct netaddr *a, const struct netaddr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* A list of address[:port] into list/n (replaced, not appended): at least
 * one, at most max, none twice. Used for listen and primary. */
static int
set_addr_list(struct parse_state *ps, const char *key, const char *value, uint16_t default_port,
              struct netaddr *list, size_t *n, size_t max)
{
	char tok[TOKEN_MAX], q[QUOTE_MAX];
	const char *p = value;
	*n = 0;
	while (conf_next_token(&p, tok) > 0) {
		struct netaddr na;
		if (netaddr_parse(tok, default_port, &na) < 0) {
			conf_fail(ps, ps->lineno, "%s: %s is not an address or address:port", key,
			     conf_quote(tok, q));
			return -1;
		}
		for (size_t i = 0; i < *n; i++) {
			if (netaddr_equal(&list[i], &na)) {
				conf_fail(ps, ps->lineno, "%s: %s is listed twice", key, conf_quote(tok, q));
				return -1;
			}
		}
		if (*n == max) {
			conf_fail(ps, ps->lineno, "%s: more than %zu addresses", key, max);
			return -1;
		}
		list[(*n)++] = na;
	}
	if (*n == 0) {
		conf_fail(ps, ps->lineno, "%s: needs at least one address", key);
		return -1;
	}
	return 0;
}

/* AXFR-08: for a zone, the allow list is the only way in; empty means nobody. */
int
conf_set_cidrs(struct parse_state *ps, const char *key, const char *value, struct cidr *list,
               size_t *n)
{
	char tok[TOKEN_MAX], q[QUOTE_MAX];
	const char *p = value;
	while (conf_next_token(&p, tok) > 0) {
		struct cidr c;
		if (cidr_parse(tok, &c) < 0) {
			conf_fail(ps, ps->lineno,
			          "%s: %s is not an address or a CIDR prefix with zero host bits", key,
			          conf_quote(tok, q));
			return -1;
		}
		if (*n == CONF_MAX_ALLOW) {
			conf_fail(ps, ps->lineno, "%s: more than %d entries", key, CONF_MAX_ALLOW);
			return -1;
		}
		list[(*n)++] = c;
	}
	return 0;
}

int
conf_set_path(struct parse_state *ps, const char *key, const char *value, char **dst)
{
	if (*value == '\0') {
		conf_fail(ps, ps->lineno, "%s: empty file name", key);
		return -1;
	}
	if (*value == '#' || *value == ';') {
		/* "cert =#x": not a comment to inih, but it would be after conf_print */
		char q[QUOTE_MAX];
		conf_fail(ps, ps->lineno, "%s: %s starts with a comment character", key, conf_quote(value, q));
		return -1;
	}
	char *copy = strdup(value);
	if (copy == NULL) {
		conf_fail(ps, ps->lineno, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = copy;
	return 0;
}

/* A POSIX-portable user name; whether it exists is checked at start-up. */
static int
set_user(struct parse_state *ps, const char *value)
{
	char q[QUOTE_MAX];
	size_t n = strlen(value);
	bool ok = n > 0 && n <= 32 && value[0] != '-';
	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)value[i]) || strchr("._-", value[i]) != NULL;
	if (!ok) {
		conf_fail(ps, ps->lineno, "user: %s is not a user name", conf_quote(value, q));
		return -1;
	}
	if (strcmp(value, "root") == 0 || strspn(value, "0") == n) {
		/* the switch would keep every privilege; other names with uid 0
		 * are refused when the user is looked up (privdrop_check_user) */
		conf_fail(ps, ps->lineno, "user: %s is root (uid 0): name an unprivileged user, or "
		          "leave user unset", conf_quote(value, q));
		return -1;
	}
	char *copy = strdup(value);
	if (copy == NULL) {
		conf_fail(ps, ps->lineno, "out of memory");
		return -1;
	}
	free(ps->conf->user);
	ps->conf->user = copy;
	ps->conf->user_line = ps->lineno;
	return 0;
}

/* --- [outbound] values ------------------------------------------------- */

/* RFC 7469 pins: base64 of a SHA-256 digest, space-separated. */
static int
set_pins(struct parse_state *ps, struct conf_outbound *ob, const char *value)
{
	char tok[TOKEN_MAX], q[QUOTE_MAX];
	uint8_t pin[TOKEN_MAX];
	const char *p = value;
	while (conf_next_token(&p, tok) > 0) {
		int n = conf_base64_decode(tok, pin, sizeof(pin));
		if (n < 0) {
			conf_fail(ps, ps->lineno, "pin-sha256: %s is not base64", conf_quote(tok, q));
			return -1;
		}
		if (n != CONF_PIN_LEN) {
			conf_fail(ps, ps->lineno,
			     "pin-sha256: %s decodes to %d bytes, not %d (a SHA-256 digest)",
			     conf_quote(tok, q), n, CONF_PIN_LEN);
			return -1;
		}
		for (size_t i = 0; i < ob->n_pins; i++) {
			if (memcmp(ob->pins[i], pin, CONF_PIN_LEN) == 0) {
				conf_fail(ps, ps->lineno, "pin-sha256: %s is listed twice", conf_quote(tok, q));
				return -1;
			}
		}
		if (ob->n_pins == CONF_MAX_PINS) {
			conf_fail(ps, ps->lineno, "pin-sha256: more than %d pins", CONF_MAX_PINS);
			return -1;
		}
		memcpy(ob->pins[ob->n_pins++], pin, CONF_PIN_LEN);
	}
	if (ob->n_pins == 0) {
		conf_fail(ps, ps->lineno, "pin-sha256: needs at least one pin");
		return -1;
	}
	return 0;
}

/* The name the primary's certificate must carry (and SNI): a host name,
 * stored lowercase without the trailing dot. An address is refused: SNI
 * carries names only (RFC 6066 section 3). */
static int
set_auth_name(struct parse_state *ps, struct conf_outbound *ob, const char *value)
{
	char q[QUOTE_MAX];
	size_t n = strlen(value), label = 0, last_digits = 0;
	if (n > 0 && value[n - 1] == '.')
		n--;
	bool ok = n > 0 && n <= 253;
	for (size_t i = 0; ok && i < n; i++) {
		unsigned char ch = (unsigned char)value[i];
		if (ch == '.') {
			ok = label > 0;
			label = last_digits = 0;
			continue;
		}
		ok = (isalnum(ch) || ch == '-' || ch == '_') && ++label <= 63;
		last_digits += isdigit(ch) != 0;
	}
	if (!ok || label == 0 || last_digits == label) {
		conf_fail(ps, ps->lineno, "auth-name: %s is not a host name", conf_quote(value, q));
		return -1;
	}
	char *copy = strndup(value, n);
	if (copy == NULL) {
		conf_fail(ps, ps->lineno, "out of memory");
		return -1;
	}
	for (char *c = copy; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	free(ob->auth_name);
	ob->auth_name = copy;
	return 0;
}

/* --- paths ---------------------------------------------------------------- */

static int
resolve_one(char **field, const char *conf_path)
{
	if (*field == NULL)
		return 0;
	char *r = conf_resolve_path(conf_path, *field);
	if (r == NULL)
		return -1;
	free(*field);
	*field = r;
	return 0;
}

/* transfer-rate: "N/S" (N starts per S seconds), or "0" / "off" for none. */
static int
set_rate(struct parse_state *ps, const char *value)
{
	struct conf *c = ps->conf;
	char q[QUOTE_MAX], num[16];
	if (strcmp(value, "off") == 0 || strcmp(value, "0") == 0) {
		c->inbound.rate_n = c->inbound.rate_per = 0;
		return 0;
	}
	const char *slash = strchr(value, '/');
	size_t n = slash != NULL ? (size_t)(slash - value) : 0;
	if (n > 0 && n < sizeof(num)) {
		memcpy(num, value, n);
		num[n] = '\0';
		if (parse_uint(num, 1, 1000000, &c->inbound.rate_n) == 0 &&
		    parse_uint(slash + 1, 1, 86400, &c->inbound.rate_per) == 0)
			return 0;
	}
	conf_fail(ps, ps->lineno, "transfer-rate: %s is not N/SECONDS (N transfer starts per "
	          "SECONDS per client, 1..1000000 / 1..86400, e.g. 30/60) or off",
	          conf_quote(value, q));
	return -1;
}

/* --- setting a key ------------------------------------------------------ */

/* The field an integer key sets; NULL for other keys. */
static unsigned *
uint_field(struct parse_state *ps, enum key_id k)
{
	struct conf *c = ps->conf;
	switch (k) {
	case K_SHUTDOWN_TIMEOUT: return &c->shutdown_timeout;
	case K_METRICS_MAX_ZONES: return &c->metrics_max_zones;
	case K_METRICS_MAX_CONNS_PER_IP: return &c->metrics_max_conns_per_ip;
	case K_TSIG_MAX_FUDGE: return &c->tsig_max_fudge;
	case K_HANDSHAKE_TIMEOUT: return &c->inbound.handshake_timeout;
	case K_IDLE_TIMEOUT: return &c->inbound.idle_timeout;
	case K_TRANSFER_TIMEOUT: return &c->inbound.transfer_timeout;
	case K_MAX_CLIENTS: return &c->inbound.max_clients;
	case K_MAX_CLIENTS_PER_IP: return &c->inbound.max_clients_per_ip;
	case K_BACKEND_TIMEOUT: return &c->inbound.backend_timeout;
	case K_IPV6_PREFIX: return &c->inbound.ipv6_prefix;
	case K_MAX_HANDSHAKES: return &c->inbound.max_handshakes;
	case K_MAX_HANDSHAKES_PER_IP: return &c->inbound.max_handshakes_per_ip;
	case K_MAX_TRANSFERS: return &c->inbound.max_transfers;
	case K_MAX_TRANSFERS_PER_CLIENT: return &c->inbound.max_transfers_per_client;
	case K_CLIENT_TABLE_SIZE: return &c->inbound.client_table_size;
	case K_OUT_CONNECT_TIMEOUT: return &cur_outbound(ps)->connect_timeout;
	case K_OUT_IDLE_TIMEOUT: return &cur_outbound(ps)->idle_timeout;
	case K_OUT_MAX_SESSIONS: return &cur_outbound(ps)->max_sessions;
	case K_OUT_BACKEND_TIMEOUT: return &cur_outbound(ps)->backend_timeout;
	case K_OUT_TRANSFER_TIMEOUT: return &cur_outbound(ps)->transfer_timeout;
	case K_OUT_QUEUE_TIMEOUT: return &cur_outbound(ps)->queue_timeout;
	case K_OUT_MAX_CLIENTS: return &cur_outbound(ps)->max_clients;
	case K_OUT_MAX_UDP_QUERIES: return &cur_outbound(ps)->max_udp_queries;
	default: return NULL;
	}
}

static int
set_uint(struct parse_state *ps, enum key_id k, const char *value)
{
	const struct key_def *d = &keys[k];
	unsigned *num = uint_field(ps, k);
	char q[QUOTE_MAX];
	if (num == NULL || parse_uint(value, d->min, d->max, num) < 0) {
		conf_fail(ps, ps->lineno, "%s: %s is not an integer in %u..%u", d->name, conf_quote(value, q),
		     d->min, d->max);
		return -1;
	}
	return 0;
}

static int
set_outbound_value(struct parse_state *ps, enum key_id k, const char *value)
{
	struct conf_outbound *ob = cur_outbound(ps);
	const char *key = keys[k].name;
	switch (k) {
	case K_OUT_LISTEN:
		ps->ob_lines[ps->conf->n_outbound - 1].listen = ps->lineno;
		return set_addr_list(ps, key, value, DEFAULT_OUT_LISTEN_PORT, ob->listen,
		                     &ob->n_listen, CONF_MAX_LISTEN);
	case K_OUT_ALLOW:
		ob->n_allow = 0;                /* replaces the loopback default */
		if (conf_set_cidrs(ps, key, value, ob->allow, &ob->n_allow) < 0)
			return -1;
		if (ob->n_allow == 0) {
			conf_fail(ps, ps->lineno, "allow: needs at least one address or prefix "
			     "(without the key: 127.0.0.0/8 ::1)");
			return -1;
		}
		return 0;
	case K_OUT_PRIMARY:
		return set_addr_list(ps, key, value, DEFAULT_PRIMARY_PORT, ob->primary,
		                     &ob->n_primary, CONF_MAX_PRIMARIES);
	case K_OUT_AUTH_NAME:
		return set_auth_name(ps, ob, value);
	case K_OUT_PIN:
		return set_pins(ps, ob, value);
	case K_OUT_CA:
		return conf_set_path(ps, key, value, &ob->ca);
	case K_OUT_CLIENT_CERT:
		return conf_set_path(ps, key, value, &ob->client_cert);
	case K_OUT_CLIENT_KEY:
		return conf_set_path(ps, key, value, &ob->client_key);
	default:
		return set_uint(ps, k, value);
	}
}

static int
set_value(struct parse_state *ps, enum key_id k, const char *value)
{
	struct conf *c = ps->conf;
	const struct key_def *d = &keys[k];
	char q[QUOTE_MAX];
	int lvl;

	if (d->sec == SEC_OUTBOUND)
		return set_outbound_value(ps, k, value);
	if (d->sec == SEC_ZONE)
		return conf_zone_set(ps, k, value);
	if (d->sec == SEC_KEY || d->sec == SEC_ACL)
		return conf_acl_set(ps, k, value);
	switch (k) {
	case K_LOG_LEVEL:
		lvl = log_level_parse(value);
		if (lvl < 0) {
			conf_fail(ps, ps->lineno, "log-level: %s is not one of error, warning, info, debug",
			     conf_quote(value, q));
			return -1;
		}
		c->log_level = lvl;
		return 0;
	case K_USER:
		return set_user(ps, value);
	case K_LOG_FORMAT:
		if ((c->log_format = log_format_parse(value)) < 0) {
			conf_fail(ps, ps->lineno, "log-format: %s is not one of text, json", conf_quote(value, q));
			return -1;
		}
		return 0;
	case K_LOG_TARGET:
		if ((c->log_target = log_target_parse(value)) < 0) {
			conf_fail(ps, ps->lineno, "log-target: %s is not one of stderr, syslog", conf_quote(value, q));
			return -1;
		}
		return 0;
	case K_METRICS:
		if (netaddr_parse(value, DEFAULT_METRICS_PORT, &c->metrics) < 0) {
			conf_fail(ps, ps->lineno, "metrics: %s is not an address or address:port",
			     conf_quote(value, q));
			return -1;
		}
		c->has_metrics = true;
		return 0;
	case K_METRICS_ALLOW:
		c->n_metrics_allow = 0;             /* replaces the loopback default */
		if (conf_set_cidrs(ps, d->name, value, c->metrics_allow, &c->n_metrics_allow) < 0)
			return -1;
		if (c->n_metrics_allow == 0) {
			conf_fail(ps, ps->lineno, "metrics-allow: needs at least one address or prefix "
			          "(without the key: 127.0.0.0/8 ::1)");
			return -1;
		}
		return 0;
	case K_LISTEN:
		return set_addr_list(ps, d->name, value, DEFAULT_LISTEN_PORT, c->inbound.listen, &c->inbound.n_listen,
		                     CONF_MAX_LISTEN);
	case K_CERT:
		return conf_set_path(ps, d->name, value, &c->inbound.cert);
	case K_KEY:
		return conf_set_path(ps, d->name, value, &c->inbound.key);
	case K_BACKEND:
		/* PRX-06: plaintext upstream; the default is loopback */
		if (netaddr_parse(value, DEFAULT_BACKEND_PORT, &c->inbound.backend) < 0) {
			conf_fail(ps, ps->lineno, "backend: %s is not an address or address:port",
			     conf_quote(value, q));
			return -1;
		}
		return 0;
	case K_CLIENT_CA:
		return conf_set_path(ps, d->name, value, &c->inbound.client_ca);
	case K_TRANSFER_RATE:
		return set_rate(ps, value);
	case K_PROXY_PROTOCOL:
		if (strcmp(value, "v2") != 0 && strcmp(value, "off") != 0) {
			conf_fail(ps, ps->lineno, "proxy-protocol: %s is not one of v2, off",
			          conf_quote(value, q));
			return -1;
		}
		c->inbound.proxy_v2 = value[0] == 'v';
		return 0;
	case K_ZONES_FILE:
		if (conf_set_path(ps, d->name, value, &c->inbound.zones_file) < 0)
			return -1;
		/* read at the end, once every [acl] is known: resolve it now */
		if (ps->base != NULL && resolve_one(&c->inbound.zones_file, ps->base) < 0) {
			conf_fail(ps, ps->lineno, "out of memory");
			return -1;
		}
		return 0;
	default:
		return set_uint(ps, k, value);
	}
}

/* inih handler: one key = value line. Returns 0 (error) or 1. */
static int
handle_pair(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *ps = user;
	char q[QUOTE_MAX], label[LABEL_MAX];
	(void)section;                      /* ours (ps->sec) is authoritative */

	if (ps->failed)
		return 0;
	if (value == NULL) {
		conf_fail(ps, ps->lineno, "%s: missing value", conf_quote(name, q));
		return 0;
	}
	if (ps->sec == SEC_NONE) {
		conf_fail(ps, ps->lineno, "key %s outside any section", conf_quote(name, q));
		return 0;
	}
	for (int k = 0; k < K_COUNT; k++) {
		if (keys[k].sec != ps->sec || strcmp(keys[k].name, name) != 0)
			continue;
		if (ps->key_line[k] != 0) {
			conf_fail(ps, ps->lineno, "duplicate key %s in %s (first on line %d)",
			     keys[k].name, section_label(ps, label), ps->key_line[k]);
			return 0;
		}
		ps->key_line[k] = ps->lineno;
		return set_value(ps, (enum key_id)k, value) < 0 ? 0 : 1;
	}
	conf_fail(ps, ps->lineno, "unknown key %s in %s", conf_quote(name, q),
	     section_label(ps, label));
	return 0;
}

/* --- sections ---------------------------------------------------------- */

/* A repeatable section starts with none of its keys seen. */
static void
reset_section_keys(struct parse_state *ps, enum section sec)
{
	for (int k = 0; k < K_COUNT; k++)
		if (keys[k].sec == sec)
			ps->key_line[k] = 0;
}

/* One name per section, unique (case-insensitively); an unnamed one only
 * when it is the only [outbound]. */
static int
check_outbound_name(struct parse_state *ps, const char *name)
{
	const struct conf *c = ps->conf;
	char q[QUOTE_MAX], label[LABEL_MAX];
	if (!conf_name_ok(name, true)) {
		conf_fail(ps, ps->lineno, "outbound name %s: use at most %d letters, digits, '-', '_', '.'",
		     conf_quote(name, q), CONF_OUTBOUND_NAME_MAX - 1);
		return -1;
	}
	if (c->n_outbound > 0 && (name[0] == '\0' || c->outbound[0].name[0] == '\0')) {
		conf_fail(ps, ps->lineno, "several [outbound] sections need a name each: [outbound NAME] "
		     "(%s on line %d)", outbound_label(&c->outbound[0], label), ps->ob_lines[0].header);
		return -1;
	}
	for (size_t i = 0; i < c->n_outbound; i++) {
		if (strcasecmp(c->outbound[i].name, name) == 0) {
			conf_fail(ps, ps->lineno, "duplicate %s section (first on line %d)",
			     outbound_label(&c->outbound[i], label), ps->ob_lines[i].header);
			return -1;
		}
	}
	if (c->n_outbound == CONF_MAX_OUTBOUND) {
		conf_fail(ps, ps->lineno, "more than %d [outbound] sections", CONF_MAX_OUTBOUND);
		return -1;
	}
	return 0;
}

static int
open_outbound(struct parse_state *ps, const char *name)
{
	struct conf *c = ps->conf;
	if (check_outbound_name(ps, name) < 0)
		return -1;
	if (c->n_outbound == ps->ob_cap) {
		size_t cap = ps->ob_cap ? ps->ob_cap * 2 : 2;
		struct conf_outbound *obs = realloc(c->outbound, cap * sizeof(*obs));
		if (obs == NULL)
			goto oom;
		c->outbound = obs;
		struct outbound_lines *lines = realloc(ps->ob_lines, cap * sizeof(*lines));
		if (lines == NULL)
			goto oom;
		ps->ob_lines = lines;
		ps->ob_cap = cap;
	}
	struct conf_outbound *ob = &c->outbound[c->n_outbound];
	memset(ob, 0, sizeof(*ob));
	strcpy(ob->name, name);             /* length checked above */
	cidr_parse("127.0.0.0/8", &ob->allow[0]);
	cidr_parse("::1", &ob->allow[1]);
	ob->n_allow = 2;
	ob->connect_timeout = 5;
	ob->idle_timeout = 30;
	ob->max_sessions = 4;
	ob->backend_timeout = 4;            /* below a legacy secondary's own timeout */
	ob->transfer_timeout = 120;
	ob->queue_timeout = 10;
	ob->max_clients = 1024;
	ob->max_udp_queries = 256;
	ps->ob_lines[c->n_outbound] = (struct outbound_lines){ .header = ps->lineno };
	c->n_outbound++;
	return 0;
oom:
	conf_fail(ps, ps->lineno, "out of memory");
	return -1;
}

static int
open_unique(struct parse_state *ps, enum section sec, int *seen_line, const char *label)
{
	if (*seen_line != 0) {
		conf_fail(ps, ps->lineno, "duplicate %s section (first on line %d)", label, *seen_line);
		return -1;
	}
	*seen_line = ps->lineno;
	ps->sec = sec;
	return 0;
}

/* If header is `kw` or `kw ARG`, returns ARG without surrounding blanks
 * ("" when absent); NULL for another section. Modifies header. */
static char *
section_arg(char *header, const char *kw)
{
	size_t n = strlen(kw);
	if (strncmp(header, kw, n) != 0 || (header[n] != '\0' && !isspace((unsigned char)header[n])))
		return NULL;
	char *a = header + n, *end;
	while (isspace((unsigned char)*a))
		a++;
	end = a + strlen(a);
	while (end > a && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return a;
}

/* A "[...]" line (leading blanks already skipped). Modifies line. */
static int
open_section(struct parse_state *ps, char *line)
{
	char q[QUOTE_MAX];
	char *name = line + 1;
	char *close = strchr(name, ']');
	if (close == NULL) {
		conf_fail(ps, ps->lineno, "syntax error: section header without ']'");
		return -1;
	}
	const char *rest = close + 1;
	while (isspace((unsigned char)*rest))
		rest++;
	if (*rest != '\0' && *rest != '#' && *rest != ';') {
		conf_fail(ps, ps->lineno, "syntax error: text after section header");
		return -1;
	}
	*close = '\0';
	if (strcmp(name, "global") == 0)
		return open_unique(ps, SEC_GLOBAL, &ps->global_line, "[global]");
	if (strcmp(name, "inbound") == 0)
		return open_unique(ps, SEC_INBOUND, &ps->inbound_line, "[inbound]");
	static const struct {
		const char *kw;
		enum section sec;
		int (*open)(struct parse_state *, const char *);
	} repeatable[] = {
		{ "zone", SEC_ZONE, conf_zone_open },
		{ "key", SEC_KEY, conf_key_open },
		{ "acl", SEC_ACL, conf_acl_open },
		{ "outbound", SEC_OUTBOUND, open_outbound },
	};
	for (size_t i = 0; i < sizeof(repeatable) / sizeof(repeatable[0]); i++) {
		char *arg = section_arg(name, repeatable[i].kw);
		if (arg == NULL)
			continue;
		if (repeatable[i].open(ps, arg) < 0)
			return -1;
		reset_section_keys(ps, repeatable[i].sec);
		ps->sec = repeatable[i].sec;
		return 0;
	}
	conf_fail(ps, ps->lineno, "unknown section [%s] (expected global, inbound, key NAME, "
	          "acl NAME, zone NAME or outbound [NAME])", conf_quote(name, q));
	return -1;
}

/* --- the line reader ---------------------------------------------------- */

/* ini_reader: hands inih the next whole line, always '\n'-terminated, so
 * inih's line count equals ours. Section lines are handled here and passed
 * on as blank lines. Returns NULL at the end or on an error. */
static char *
read_line(char *buf, int num, void *stream)
{
	struct parse_state *ps = stream;
	if (ps->failed || ps->pos >= ps->len)
		return NULL;
	const char *line = ps->text + ps->pos;
	const char *nl = memchr(line, '\n', ps->len - ps->pos);
	size_t n = nl != NULL ? (size_t)(nl - line) : ps->len - ps->pos;
	ps->pos += n + (nl != NULL);
	ps->lineno++;
	if (ps->lineno == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;                  /* UTF-8 byte order mark */
		n -= 3;
	}
	if (num < 3 || n > (size_t)num - 2) {
		conf_fail(ps, ps->lineno, "line too long (more than %d characters)", num - 2);
		return NULL;
	}
	if (memchr(line, '\0', n) != NULL) {
		conf_fail(ps, ps->lineno, "NUL byte in line");
		return NULL;
	}
	memcpy(buf, line, n);
	buf[n] = '\n';
	buf[n + 1] = '\0';

	char *start = buf;
	while (isspace((unsigned char)*start))
		start++;
	if (*start == '[') {
		buf[n] = '\0';
		if (open_section(ps, start) < 0)
			return NULL;
		buf[0] = '\n';
		buf[1] = '\0';
	}
	return buf;
}

/* --- load ----------------------------------------------------------------- */

static void
set_defaults(struct conf *c)
{
	c->log_level = XP_LOG_INFO;
	c->inbound.handshake_timeout = 10;
	c->inbound.idle_timeout = 30;
	c->inbound.transfer_timeout = 120;            /* progress, not total: big zones take long */
	c->inbound.max_clients = 1024;
	c->inbound.max_clients_per_ip = 64;           /* TCP-04: generous, NAT-friendly */
	c->inbound.backend_timeout = 10;
	c->inbound.ipv6_prefix = 64;                  /* one site's /64 counts as one client */
	c->inbound.max_handshakes = 256;
	c->inbound.max_handshakes_per_ip = 16;        /* one host cannot churn others out (issue 13) */
	c->shutdown_timeout = 10;
	c->metrics_max_zones = 1000;
	cidr_parse("127.0.0.0/8", &c->metrics_allow[0]);   /* metrics-allow: loopback */
	cidr_parse("::1", &c->metrics_allow[1]);
	c->n_metrics_allow = 2;
	c->metrics_max_conns_per_ip = 4;
	c->tsig_max_fudge = TSIG_MAX_FUDGE_DEFAULT;
	c->inbound.client_table_size = 65536;         /* CLIENTTAB_DEFAULT_SIZE: 19 MiB reserved */
	/* PRX-06: the plaintext backend defaults to loopback */
	netaddr_parse("127.0.0.1:53", 0, &c->inbound.backend);
}

/* Strict authentication only (RFC 8310, DOT-06): the primary is checked
 * against a CA and a name, or against SPKI pins; never "encrypt only". */
static int
check_outbound(struct parse_state *ps, const struct conf_outbound *ob, int line)
{
	char label[LABEL_MAX];
	const char *l = outbound_label(ob, label);
	if (ob->n_listen == 0)
		conf_fail(ps, line, "%s listen is required (address[:port] for the local secondary)", l);
	else if (ob->n_primary == 0)
		conf_fail(ps, line, "%s primary is required (address[:port] of a remote XoT primary)", l);
	else if (ob->n_pins == 0 && ob->ca != NULL && ob->auth_name == NULL)
		conf_fail(ps, line, "%s ca needs auth-name (the name the primary's certificate must "
		     "carry), or give pin-sha256", l);
	else if (ob->n_pins == 0 && ob->ca == NULL && ob->auth_name != NULL)
		conf_fail(ps, line, "%s auth-name needs ca (the CAs to check the primary's certificate "
		     "against), or give pin-sha256", l);
	else if (ob->n_pins == 0 && ob->ca == NULL)
		conf_fail(ps, line, "%s does not authenticate the primary: set ca and auth-name, or "
		     "pin-sha256 (strict privacy only, RFC 8310)", l);
	else if (ob->client_cert != NULL && ob->client_key == NULL)
		conf_fail(ps, line, "%s client-cert needs client-key", l);
	else if (ob->client_cert == NULL && ob->client_key != NULL)
		conf_fail(ps, line, "%s client-key needs client-cert", l);
	return ps->failed ? -1 : 0;
}

/* Could the two listeners not both be bound? The same address and port,
 * or the same port with a wildcard address in the same family (IPv6
 * sockets are IPV6_V6ONLY, so the families do not overlap). */
static bool
listen_overlap(const struct netaddr *a, const struct netaddr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;
		return x->sin_port == y->sin_port &&
		       (x->sin_addr.s_addr == y->sin_addr.s_addr ||
		        x->sin_addr.s_addr == htonl(INADDR_ANY) || y->sin_addr.s_addr == htonl(INADDR_ANY));
	}
	const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;
	return x->sin6_port == y->sin6_port &&
	       (IN6_ARE_ADDR_EQUAL(&x->sin6_addr, &y->sin6_addr) ||
	        IN6_IS_ADDR_UNSPECIFIED(&x->sin6_addr) || IN6_IS_ADDR_UNSPECIFIED(&y->sin6_addr));
}

/* Reports a collision of outbound ob's listen address a with b, which
 * belongs to `other` (listed on line other_line, 0: a default). */
static void
fail_collision(struct parse_state *ps, size_t ob, const struct netaddr *a, const char *other,
               const struct netaddr *b, int other_line)
{
	char label[LABEL_MAX], abuf[NETADDR_TEXT_MAX], bbuf[NETADDR_TEXT_MAX], where[32];
	netaddr_format_hostport((const struct sockaddr *)&a->ss, abuf);
	netaddr_format_hostport((const struct sockaddr *)&b->ss, bbuf);
	if (other_line > 0)
		snprintf(where, sizeof(where), "line %d", other_line);
	else
		snprintf(where, sizeof(where), "the default");
	conf_fail(ps, ps->ob_lines[ob].listen, "%s listen %s collides with %s listen %s (%s)",
	     outbound_label(&ps->conf->outbound[ob], label), abuf, other, bbuf, where);
}

/* Outbound listeners (TCP and UDP) must not collide with the inbound ones
 * (TCP) nor with another outbound section's. */
static int
check_listen_collisions(struct parse_state *ps)
{
	const struct conf *c = ps->conf;
	char label[LABEL_MAX];
	for (size_t i = 0; i < c->n_outbound; i++) {
		const struct conf_outbound *ob = &c->outbound[i];
		for (size_t a = 0; a < ob->n_listen; a++) {
			for (size_t b = 0; b < c->inbound.n_listen; b++) {
				if (listen_overlap(&ob->listen[a], &c->inbound.listen[b])) {
					fail_collision(ps, i, &ob->listen[a], "[inbound]", &c->inbound.listen[b],
					               ps->key_line[K_LISTEN]);
					return -1;
				}
			}
			for (size_t j = 0; j < i; j++) {
				const struct conf_outbound *other = &c->outbound[j];
				for (size_t b = 0; b < other->n_listen; b++) {
					if (listen_overlap(&ob->listen[a], &other->listen[b])) {
						fail_collision(ps, i, &ob->listen[a],
						               outbound_label(other, label),
						               &other->listen[b], ps->ob_lines[j].listen);
						return -1;
					}
				}
			}
		}
	}
	return 0;
}

static int
finish_inbound(struct parse_state *ps)
{
	struct conf *c = ps->conf;
	c->has_inbound = true;
	if (ps->key_line[K_LISTEN] == 0) {
		/* XOT-03: port 853 by default, all addresses */
		netaddr_parse("0.0.0.0:853", 0, &c->inbound.listen[0]);
		netaddr_parse("[::]:853", 0, &c->inbound.listen[1]);
		c->inbound.n_listen = 2;
	}
	if (c->inbound.cert == NULL) {
		conf_fail(ps, ps->inbound_line, "[inbound] cert is required");
		return -1;
	}
	if (c->inbound.key == NULL) {
		conf_fail(ps, ps->inbound_line, "[inbound] key is required");
		return -1;
	}
	if (conf_acl_finish(ps) < 0)
		return -1;
	return conf_zone_finish(ps);
}

static int
finish(struct parse_state *ps)
{
	struct conf *c = ps->conf;
	if (ps->inbound_line == 0 && c->n_outbound == 0) {
		conf_fail(ps, 0, "[inbound] section is required (with cert and key) unless there is "
		     "an [outbound] section");
		return -1;
	}
	if (ps->inbound_line != 0 && finish_inbound(ps) < 0)
		return -1;
	const char *what = "zone";
	int line = conf_zone_first_line(ps), aline = conf_acl_first_line(ps, &what);
	if (aline > 0 && (line == 0 || aline < line))
		line = aline;
	else
		what = "zone";
	if (ps->inbound_line == 0 && line > 0) {
		conf_fail(ps, line, "[%s] sections need an [inbound] section", what);
		return -1;
	}
	for (size_t i = 0; i < c->n_outbound; i++)
		if (check_outbound(ps, &c->outbound[i], ps->ob_lines[i].header) < 0)
			return -1;
	return check_listen_collisions(ps);
}

static void
configure_inih(void)
{
	ini_stop_on_first_error = true;
	ini_allow_multiline = false;
	ini_allow_bom = false;              /* read_line strips it */
	ini_allow_inline_comments = true;
	ini_inline_comment_prefixes = ";#";
	ini_start_comment_prefixes = ";#";
	ini_use_stack = false;
	ini_max_line = 4096;
	ini_allow_realloc = true;
	ini_initial_alloc = 4096;
	ini_allow_no_value = false;
}

/* base: the file relative paths resolve against (NULL: the current directory). */
static struct conf *
parse_text(const char *text, size_t len, const char *name, const char *base,
           char err[CONF_ERR_MAX])
{
	struct parse_state ps;
	memset(&ps, 0, sizeof(ps));
	ps.name = name;
	ps.base = base;
	ps.text = text;
	ps.len = len;
	ps.conf = calloc(1, sizeof(*ps.conf));
	if (ps.conf != NULL)
		ps.conf->refs = 1;
	if (ps.conf == NULL || (ps.conf->path = strdup(name)) == NULL) {
		set_err(err, "%s: out of memory", name);
		free(ps.conf);
		return NULL;
	}
	set_defaults(ps.conf);

	configure_inih();
	int rc = ini_parse_stream(read_line, &ps, handle_pair, &ps);
	if (!ps.failed) {
		if (rc == -2)
			conf_fail(&ps, 0, "out of memory");
		else if (rc > 0)
			conf_fail(&ps, rc, "syntax error (expected key = value, [section] or # comment)");
		else if (rc < 0)
			conf_fail(&ps, 0, "parse error");
		else
			finish(&ps);
	}
	conf_zone_parse_free(&ps);
	conf_acl_parse_free(&ps);
	free(ps.ob_lines);
	if (ps.failed) {
		const char *file = ps.err_file != NULL ? ps.err_file : name;
		if (ps.err_line > 0)
			set_err(err, "%s:%d: %s", file, ps.err_line, ps.reason);
		else
			set_err(err, "%s: %s", file, ps.reason);
		conf_free(ps.conf);
		return NULL;
	}
	return ps.conf;
}

struct conf *
conf_parse_string(const char *text, const char *name, char err[CONF_ERR_MAX])
{
	if (name == NULL)
		name = "(string)";
	return parse_text(text, strlen(text), name, NULL, err);
}

/* Reads the whole file; NULL with err set on failure. */
static char *
read_file(const char *path, size_t *len, char err[CONF_ERR_MAX])
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		set_err(err, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(CONF_MAX_FILE + 1);
	if (buf == NULL) {
		fclose(f);
		set_err(err, "%s: out of memory", path);
		return NULL;
	}
	size_t n = fread(buf, 1, CONF_MAX_FILE + 1, f);
	int read_error = ferror(f);
	int saved = errno;
	fclose(f);
	if (read_error) {
		free(buf);
		set_err(err, "%s: read error: %s", path, strerror(saved));
		return NULL;
	}
	if (n > CONF_MAX_FILE) {
		free(buf);
		set_err(err, "%s: file is too large (more than %d bytes)", path, CONF_MAX_FILE);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

struct conf *
conf_load(const char *path, char err[CONF_ERR_MAX])
{
	size_t len;
	char *text = read_file(path, &len, err);
	if (text == NULL)
		return NULL;
	struct conf *c = parse_text(text, len, path, path, err);
	free(text);
	if (c == NULL)
		return NULL;
	bool ok = resolve_one(&c->inbound.cert, path) == 0 && resolve_one(&c->inbound.key, path) == 0 &&
	          resolve_one(&c->inbound.client_ca, path) == 0;
	for (size_t i = 0; ok && i < c->n_outbound; i++) {
		struct conf_outbound *ob = &c->outbound[i];
		ok = resolve_one(&ob->ca, path) == 0 && resolve_one(&ob->client_cert, path) == 0 &&
		     resolve_one(&ob->client_key, path) == 0;
	}
	if (!ok) {
		set_err(err, "%s: out of memory", path);
		conf_free(c);
		return NULL;
	}
	return c;                           /* the caller logs conf_log_warnings once logging is set up */
}

void
conf_free(struct conf *conf)
{
	if (conf == NULL)
		return;
	free(conf->path);
	free(conf->user);
	free(conf->inbound.cert);
	free(conf->inbound.key);
	free(conf->inbound.client_ca);
	free(conf->inbound.zones_file);
	conf_zone_free(conf);
	conf_acl_free(conf);
	for (size_t i = 0; i < conf->n_outbound; i++) {
		struct conf_outbound *ob = &conf->outbound[i];
		free(ob->auth_name);
		free(ob->ca);
		free(ob->client_cert);
		free(ob->client_key);
	}
	free(conf->outbound);
	free(conf);
}

struct conf *
conf_ref(struct conf *conf)
{
	conf->refs++;
	return conf;
}

void
conf_unref(struct conf *conf)
{
	if (conf != NULL && --conf->refs == 0)
		conf_free(conf);
}

bool
conf_metrics_allowed(const struct conf *conf, const struct sockaddr *sa)
{
	for (size_t i = 0; i < conf->n_metrics_allow; i++)
		if (cidr_match(&conf->metrics_allow[i], sa))
			return true;
	return false;
}

bool
conf_outbound_allowed(const struct conf_outbound *ob, const struct sockaddr *sa)
{
	for (size_t i = 0; i < ob->n_allow; i++)
		if (cidr_match(&ob->allow[i], sa))
			return true;
	return false;
}

/* --- print ---------------------------------------------------------------- */

static void
print_addrs(const char *key, const struct netaddr *list, size_t n, FILE *out)
{
	char buf[NETADDR_TEXT_MAX];
	fprintf(out, "%s =", key);
	for (size_t i = 0; i < n; i++) {
		netaddr_format_hostport((const struct sockaddr *)&list[i].ss, buf);
		fprintf(out, " %s", buf);
	}
	fputc('\n', out);
}

static void
print_inbound(const struct conf *conf, FILE *out, unsigned flags)
{
	char buf[NETADDR_TEXT_MAX];
	fputs("\n[inbound]\n", out);
	print_addrs("listen", conf->inbound.listen, conf->inbound.n_listen, out);
	fprintf(out, "cert = %s\nkey = %s\n", conf->inbound.cert ? conf->inbound.cert : "",
	        conf->inbound.key ? conf->inbound.key : "");
	netaddr_format_hostport((const struct sockaddr *)&conf->inbound.backend.ss, buf);
	fprintf(out, "backend = %s\n", buf);
	fprintf(out, "handshake-timeout = %u\n", conf->inbound.handshake_timeout);
	fprintf(out, "idle-timeout = %u\n", conf->inbound.idle_timeout);
	fprintf(out, "transfer-timeout = %u\n", conf->inbound.transfer_timeout);
	fprintf(out, "max-clients = %u\n", conf->inbound.max_clients);
	fprintf(out, "max-clients-per-ip = %u\n", conf->inbound.max_clients_per_ip);
	fprintf(out, "max-handshakes = %u\n", conf->inbound.max_handshakes);
	fprintf(out, "max-handshakes-per-ip = %u\n", conf->inbound.max_handshakes_per_ip);
	fprintf(out, "ipv6-prefix = %u\n", conf->inbound.ipv6_prefix);
	fprintf(out, "backend-timeout = %u\n", conf->inbound.backend_timeout);
	if (conf->inbound.client_ca != NULL)
		fprintf(out, "client-ca = %s\n", conf->inbound.client_ca);
	fprintf(out, "max-transfers = %u\n", conf->inbound.max_transfers);
	fprintf(out, "max-transfers-per-client = %u\n", conf->inbound.max_transfers_per_client);
	if (conf->inbound.rate_n == 0)
		fputs("transfer-rate = off\n", out);
	else
		fprintf(out, "transfer-rate = %u/%u\n", conf->inbound.rate_n, conf->inbound.rate_per);
	fprintf(out, "proxy-protocol = %s\n", conf->inbound.proxy_v2 ? "v2" : "off");
	fprintf(out, "client-table-size = %u\n", conf->inbound.client_table_size);
	if (conf->inbound.zones_file != NULL)
		fprintf(out, "# %zu zones from the zones-file\nzones-file = %s\n",
		        conf->n_zones - conf->n_section_zones, conf->inbound.zones_file);
	conf_acl_print(conf, out, flags);
	conf_zone_print(conf, out);
}

static void
print_outbound(const struct conf_outbound *ob, FILE *out)
{
	char label[LABEL_MAX], pin[4 * ((CONF_PIN_LEN + 2) / 3) + 1];
	fprintf(out, "\n%s\n", outbound_label(ob, label));
	print_addrs("listen", ob->listen, ob->n_listen, out);
	conf_print_cidrs("allow", ob->allow, ob->n_allow, out);
	fputc('\n', out);
	print_addrs("primary", ob->primary, ob->n_primary, out);
	if (ob->auth_name != NULL)
		fprintf(out, "auth-name = %s\n", ob->auth_name);
	if (ob->ca != NULL)
		fprintf(out, "ca = %s\n", ob->ca);
	if (ob->n_pins > 0) {
		fputs("pin-sha256 =", out);
		for (size_t i = 0; i < ob->n_pins; i++) {
			conf_base64_encode(ob->pins[i], CONF_PIN_LEN, pin);
			fprintf(out, " %s", pin);
		}
		fputc('\n', out);
	}
	if (ob->client_cert != NULL)
		fprintf(out, "client-cert = %s\nclient-key = %s\n", ob->client_cert, ob->client_key);
	fprintf(out, "connect-timeout = %u\n", ob->connect_timeout);
	fprintf(out, "idle-timeout = %u\n", ob->idle_timeout);
	fprintf(out, "max-sessions = %u\n", ob->max_sessions);
	fprintf(out, "backend-timeout = %u\n", ob->backend_timeout);
	fprintf(out, "transfer-timeout = %u\n", ob->transfer_timeout);
	fprintf(out, "queue-timeout = %u\n", ob->queue_timeout);
	fprintf(out, "max-clients = %u\n", ob->max_clients);
	fprintf(out, "max-udp-queries = %u\n", ob->max_udp_queries);
}

void
conf_print(const struct conf *conf, FILE *out)
{
	conf_print_flags(conf, out, 0);
}

void
conf_print_flags(const struct conf *conf, FILE *out, unsigned flags)
{
	fputs("# xotproxy effective configuration, from ", out);
	for (const char *p = conf->path; p != NULL && *p != '\0'; p++)
		fputc(((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p, out);
	fputs("\n\n[global]\n", out);
	fprintf(out, "log-level = %s\n", log_level_name((enum log_level)conf->log_level));
	if (conf->user != NULL)
		fprintf(out, "user = %s\n", conf->user);
	fprintf(out, "shutdown-timeout = %u\n", conf->shutdown_timeout);
	fprintf(out, "log-format = %s\n", log_format_name((enum log_format)conf->log_format));
	fprintf(out, "log-target = %s\n", log_target_name((enum log_target)conf->log_target));
	if (conf->has_metrics) {
		char buf[NETADDR_TEXT_MAX];
		netaddr_format_hostport((const struct sockaddr *)&conf->metrics.ss, buf);
		fprintf(out, "metrics = %s\n", buf);
	}
	fprintf(out, "metrics-max-zones = %u\n", conf->metrics_max_zones);
	conf_print_cidrs("metrics-allow", conf->metrics_allow, conf->n_metrics_allow, out);
	fputc('\n', out);
	fprintf(out, "metrics-max-conns-per-ip = %u\n", conf->metrics_max_conns_per_ip);
	fprintf(out, "tsig-max-fudge = %u\n", conf->tsig_max_fudge);

	if (conf->has_inbound)
		print_inbound(conf, out, flags);
	for (size_t i = 0; i < conf->n_outbound; i++)
		print_outbound(&conf->outbound[i], out);
}
