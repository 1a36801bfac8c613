/* conf_schema.c - the table of every configuration key, and the value
 * parsers its rows name (conf_schema.h says how a row reads).
 *
 * Rows are in -t order within each section. A row's default is text, as it
 * would be written in the file, and is applied through the row's own
 * setter, so the default obeys the same bounds as a value from the file
 * (test_confschema checks every one). */
#include "conf_schema.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>


#define DEFAULT_LISTEN_PORT 853         /* XOT-03 */
#define DEFAULT_BACKEND_PORT 53
#define DEFAULT_OUT_LISTEN_PORT 53      /* [outbound] listen: plain DNS for the secondary */
#define DEFAULT_PRIMARY_PORT 853        /* [outbound] primary: XoT */
#define DEFAULT_METRICS_PORT 9853       /* [global] metrics */

#define STR_(x) #x
#define STR(x) STR_(x)

/* Same order as proxy/lib/log.c's names: the index is the enum value. */
static const char *const level_words[] = { "error", "warning", "info", "debug", NULL };
static const char *const format_words[] = { "text", "json", NULL };
static const char *const target_words[] = { "stderr", "syslog", NULL };
static const char *const proxy_words[] = { "off", "v2", NULL };

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

static int
set_uint(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
{
	char q[QUOTE_MAX];
	if (parse_uint(value, d->min, d->max, CONF_FIELD(obj, d)) < 0) {
		conf_fail(ps, ps->lineno, "%s: %s is not an integer in %u..%u", d->name,
		          conf_quote(value, q), d->min, d->max);
		return -1;
	}
	return 0;
}

/* "one of a, b, c": the words in order, or (CT_BOOL) the true word first. */
static void
fail_words(struct parse_state *ps, const struct conf_keydef *d, const char *value)
{
	char q[QUOTE_MAX], list[128] = "";
	if (d->type == CT_BOOL) {
		snprintf(list, sizeof(list), "%s, %s", d->words[1], d->words[0]);
	} else {
		for (size_t i = 0; d->words[i] != NULL; i++) {
			size_t n = strlen(list);
			snprintf(list + n, sizeof(list) - n, "%s%s", i > 0 ? ", " : "", d->words[i]);
		}
	}
	conf_fail(ps, ps->lineno, "%s: %s is not one of %s", d->name, conf_quote(value, q), list);
}

static int
word_index(const struct conf_keydef *d, const char *value)
{
	for (int i = 0; d->words[i] != NULL; i++)
		if (strcmp(d->words[i], value) == 0)
			return i;
	return -1;
}

static int
set_enum(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
{
	int i = word_index(d, value);
	if (i < 0) {
		fail_words(ps, d, value);
		return -1;
	}
	if (d->type == CT_BOOL)
		*(bool *)CONF_FIELD(obj, d) = i == 1;
	else
		*(int *)CONF_FIELD(obj, d) = i;
	return 0;
}

static int
set_addr(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
{
	char q[QUOTE_MAX];
	if (netaddr_parse(value, (uint16_t)d->port, CONF_FIELD(obj, d)) < 0) {
		conf_fail(ps, ps->lineno, "%s: %s is not an address or address:port", d->name,
		          conf_quote(value, q));
		return -1;
	}
	return 0;
}

static bool
netaddr_equal(const struct netaddr *a, const struct netaddr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* A list of address[:port] (replaced, not appended): at least one, at most
 * d->max, none twice. */
static int
set_addr_list(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
{
	char tok[TOKEN_MAX], q[QUOTE_MAX];
	struct netaddr *list = CONF_FIELD(obj, d);
	size_t *n = (size_t *)((char *)obj + d->count_off);
	const char *p = value;
	*n = 0;
	while (conf_next_token(&p, tok) > 0) {
		struct netaddr na;
		if (netaddr_parse(tok, (uint16_t)d->port, &na) < 0) {
			conf_fail(ps, ps->lineno, "%s: %s is not an address or address:port", d->name,
			          conf_quote(tok, q));
			return -1;
		}
		for (size_t i = 0; i < *n; i++) {
			if (netaddr_equal(&list[i], &na)) {
				conf_fail(ps, ps->lineno, "%s: %s is listed twice", d->name, conf_quote(tok, q));
				return -1;
			}
		}
		if (*n == d->max) {
			conf_fail(ps, ps->lineno, "%s: more than %u addresses", d->name, d->max);
			return -1;
		}
		list[(*n)++] = na;
	}
	if (*n == 0) {
		conf_fail(ps, ps->lineno, "%s: needs at least one address", d->name);
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

/* A prefix list that replaces the default, which is what an empty one means. */
static int
set_cidr_list(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
{
	size_t *n = (size_t *)((char *)obj + d->count_off);
	*n = 0;
	if (conf_set_cidrs(ps, d->name, value, CONF_FIELD(obj, d), n) < 0)
		return -1;
	if (*n == 0) {
		conf_fail(ps, ps->lineno, "%s: needs at least one address or prefix (without the key: %s)",
		          d->name, d->def);
		return -1;
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

static int
set_path(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
{
	return conf_set_path(ps, d->name, value, CONF_FIELD(obj, d));
}

/* A copy of value (n octets, lowercased when lower) into *dst, freed first. */
static int
set_copy(struct parse_state *ps, char **dst, const char *value, size_t n, bool lower)
{
	char *copy = strndup(value, n);
	if (copy == NULL) {
		conf_fail(ps, ps->lineno, "out of memory");
		return -1;
	}
	for (char *c = copy; lower && *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	free(*dst);
	*dst = copy;
	return 0;
}

/* --- keys with a rule of their own --------------------------------------- */

/* A POSIX-portable user name; whether it exists is checked at start-up. */
static int
set_user(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
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
	if (set_copy(ps, CONF_FIELD(obj, d), value, n, false) < 0)
		return -1;
	ps->conf->user_line = ps->lineno;
	return 0;
}

static int
set_metrics(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
{
	if (set_addr(ps, d, obj, value) < 0)
		return -1;
	ps->conf->has_metrics = true;
	return 0;
}

/* transfer-rate: "N/S" (N starts per S seconds), or "0" / "off" for none. */
static int
set_rate(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
{
	struct conf_inbound *in = obj;
	char q[QUOTE_MAX], num[16];
	(void)d;
	if (strcmp(value, "off") == 0 || strcmp(value, "0") == 0) {
		in->rate_n = in->rate_per = 0;
		return 0;
	}
	const char *slash = strchr(value, '/');
	size_t n = slash != NULL ? (size_t)(slash - value) : 0;
	if (n > 0 && n < sizeof(num)) {
		memcpy(num, value, n);
		num[n] = '\0';
		if (parse_uint(num, 1, 1000000, &in->rate_n) == 0 &&
		    parse_uint(slash + 1, 1, 86400, &in->rate_per) == 0)
			return 0;
	}
	conf_fail(ps, ps->lineno, "transfer-rate: %s is not N/SECONDS (N transfer starts per "
	          "SECONDS per client, 1..1000000 / 1..86400, e.g. 30/60) or off",
	          conf_quote(value, q));
	return -1;
}

/* Read at the end, once every [acl] is known: resolved now. */
static int
set_zones_file(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
{
	char **field = CONF_FIELD(obj, d);
	if (set_path(ps, d, obj, value) < 0)
		return -1;
	if (ps->base == NULL)
		return 0;
	char *r = conf_resolve_path(ps->base, *field);
	if (r == NULL) {
		conf_fail(ps, ps->lineno, "out of memory");
		return -1;
	}
	free(*field);
	*field = r;
	return 0;
}

/* The line is kept for the listen collision checks at the end. */
static int
set_out_listen(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
{
	ps->ob_lines[ps->conf->n_outbound - 1].listen = ps->lineno;
	return set_addr_list(ps, d, obj, value);
}

/* RFC 7469 pins: base64 of a SHA-256 digest, space-separated. */
static int
set_pins(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
{
	struct conf_outbound *ob = obj;
	char tok[TOKEN_MAX], q[QUOTE_MAX];
	uint8_t pin[TOKEN_MAX];
	const char *p = value;
	(void)d;
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
set_auth_name(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
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
	return set_copy(ps, CONF_FIELD(obj, d), value, n, true);
}

/* --- the table ------------------------------------------------------------- */

#define G(f) offsetof(struct conf, f)
#define I(f) offsetof(struct conf_inbound, f)
#define O(f) offsetof(struct conf_outbound, f)

#define UINT(S, NAME, OFF, MIN, MAX, DEF, FL, HELP) \
	{ .sec = S, .name = NAME, .type = CT_UINT, .off = OFF, .min = MIN, .max = MAX, \
	  .def = DEF, .flags = FL, .help = HELP }

const struct conf_keydef conf_keys[] = {
	/* [global] */
	{ .sec = SEC_GLOBAL, .name = "log-level", .type = CT_ENUM, .words = level_words,
	  .def = "info", .off = G(log_level), .help = "lowest severity logged" },
	{ .sec = SEC_GLOBAL, .name = "user", .type = CT_NAME, .off = G(user), .set = set_user,
	  .flags = CK_RESTART, .help = "drop root to this user after binding (unset: no switch)" },
	UINT(SEC_GLOBAL, "shutdown-timeout", G(shutdown_timeout), 0, 3600, "10", 0,
	     "seconds in-flight answers get at SIGTERM"),
	{ .sec = SEC_GLOBAL, .name = "log-format", .type = CT_ENUM, .words = format_words,
	  .def = "text", .off = G(log_format), .help = "log lines as text or JSON" },
	{ .sec = SEC_GLOBAL, .name = "log-target", .type = CT_ENUM, .words = target_words,
	  .def = "stderr", .off = G(log_target), .help = "where log lines go" },
	{ .sec = SEC_GLOBAL, .name = "metrics", .type = CT_ADDR, .port = DEFAULT_METRICS_PORT,
	  .off = G(metrics), .set = set_metrics, .print = conf_print_metrics, .flags = CK_RESTART,
	  .help = "address[:port] of the Prometheus endpoint (unset: none)" },
	UINT(SEC_GLOBAL, "metrics-max-zones", G(metrics_max_zones), 1, 100000, "1000", CK_RESTART,
	     "zones with their own metric series; the rest count as _other"),
	{ .sec = SEC_GLOBAL, .name = "metrics-allow", .type = CT_CIDR_LIST, .def = "127.0.0.0/8 ::1",
	  .off = G(metrics_allow), .count_off = G(n_metrics_allow), .set = set_cidr_list,
	  .help = "prefixes that may connect to metrics" },
	UINT(SEC_GLOBAL, "metrics-max-conns-per-ip", G(metrics_max_conns_per_ip), 1, 16, "4", 0,
	     "open metrics connections per address"),
	UINT(SEC_GLOBAL, "tsig-max-fudge", G(tsig_max_fudge), 0, 65535, STR(TSIG_MAX_FUDGE_DEFAULT), 0,
	     "seconds: cap on a TSIG signature's time window (RFC 8945 section 5.2.3)"),

	/* [inbound] */
	{ .sec = SEC_INBOUND, .name = "listen", .type = CT_ADDR_LIST, .max = CONF_MAX_LISTEN,
	  .port = DEFAULT_LISTEN_PORT, .def = "0.0.0.0:853 [::]:853", .flags = CK_LATE_DEFAULT,
	  .off = I(listen), .count_off = I(n_listen), .help = "TLS listen addresses (XoT)" },
	{ .sec = SEC_INBOUND, .name = "cert", .type = CT_PATH, .off = I(cert), .flags = CK_RELATIVE,
	  .help = "server certificate chain, PEM (required)" },
	{ .sec = SEC_INBOUND, .name = "key", .type = CT_PATH, .off = I(key), .flags = CK_RELATIVE,
	  .help = "server private key, PEM (required)" },
	{ .sec = SEC_INBOUND, .name = "backend", .type = CT_ADDR, .port = DEFAULT_BACKEND_PORT,
	  .def = "127.0.0.1:53", .off = I(backend),   /* PRX-06: plaintext upstream, loopback */
	  .help = "address[:port] of the legacy primary (plain DNS over TCP)" },
	UINT(SEC_INBOUND, "handshake-timeout", I(handshake_timeout), 1, 3600, "10", 0,
	     "seconds to complete the TLS handshake"),
	UINT(SEC_INBOUND, "idle-timeout", I(idle_timeout), 1, 86400, "30", 0,
	     "seconds a session may stay without an admitted query"),
	UINT(SEC_INBOUND, "transfer-timeout", I(transfer_timeout), 1, 86400, "120", 0,
	     "seconds without a complete answer message while one is owed (progress, not total)"),
	UINT(SEC_INBOUND, "max-clients", I(max_clients), 1, 1000000, "1024", 0,
	     "TLS connections open at once"),
	UINT(SEC_INBOUND, "max-clients-per-ip", I(max_clients_per_ip), 0, 1000000, "64", 0,
	     "connections per client address or IPv6 prefix (TCP-04); 0: no cap"),
	UINT(SEC_INBOUND, "max-handshakes", I(max_handshakes), 1, 1000000, "256", 0,
	     "TLS handshakes pending at once; the oldest goes at the cap"),
	UINT(SEC_INBOUND, "max-handshakes-per-ip", I(max_handshakes_per_ip), 0, 1000000, "16", 0,
	     "an address's share of the pending handshakes; 0: no cap"),
	UINT(SEC_INBOUND, "ipv6-prefix", I(ipv6_prefix), 0, 128, "64", 0,
	     "IPv6 clients are counted per prefix of this length"),
	UINT(SEC_INBOUND, "backend-timeout", I(backend_timeout), 1, 3600, "10", 0,
	     "seconds for the backend connection and the first octet of each answer"),
	{ .sec = SEC_INBOUND, .name = "client-ca", .type = CT_PATH, .off = I(client_ca),
	  .flags = CK_RELATIVE, .help = "CA for client certificates (mutual TLS; unset: none asked)" },
	UINT(SEC_INBOUND, "max-transfers", I(max_transfers), 0, 1000000, "0", 0,
	     "AXFR/IXFR running at once; 0: no cap"),
	UINT(SEC_INBOUND, "max-transfers-per-client", I(max_transfers_per_client), 0, 1000000, "0", 0,
	     "transfers running at once per client; 0: no cap"),
	{ .sec = SEC_INBOUND, .name = "transfer-rate", .type = CT_RATE, .def = "off",
	  .off = I(rate_n), .set = set_rate, .print = conf_print_rate,    /* and rate_per */
	  .help = "N/SECONDS: transfer starts per client, or off" },
	{ .sec = SEC_INBOUND, .name = "proxy-protocol", .type = CT_BOOL, .words = proxy_words,
	  .def = "off", .off = I(proxy_v2), .help = "v2: a PROXY v2 header on each backend connection" },
	UINT(SEC_INBOUND, "client-table-size", I(client_table_size), 1, 1048576, "65536", CK_RESTART,
	     "entries of the per-client table (least recently used go)"),
	{ .sec = SEC_INBOUND, .name = "zones-file", .type = CT_PATH, .off = I(zones_file),
	  .set = set_zones_file, .print = conf_print_zones_file,
	  .help = "file of zones, one \"NAME ACL...\" a line (unset: none)" },

	/* [key NAME] */
	{ .sec = SEC_KEY, .name = "algorithm", .type = CT_ENUM, .set = conf_key_set_algorithm,
	  .help = "TSIG algorithm: hmac-sha256 (without the key), -sha384, -sha512 or -sha1" },
	{ .sec = SEC_KEY, .name = "secret", .type = CT_SECRET, .set = conf_key_set_secret,
	  .help = "the TSIG secret, base64 (unset: the key is checked by name only)" },
	{ .sec = SEC_KEY, .name = "secret-file", .type = CT_PATH, .set = conf_key_set_secret_file,
	  .help = "file holding the base64 secret alone (mode 0600)" },

	/* [acl NAME] */
	{ .sec = SEC_ACL, .name = "address", .type = CT_CIDR_LIST, .set = conf_acl_set_address,
	  .help = "client prefixes (unset: any address)" },
	{ .sec = SEC_ACL, .name = "client-cert", .type = CT_NAMES, .set = conf_acl_set_client_cert,
	  .help = "client certificate names or sha256:PIN (needs [inbound] client-ca)" },
	{ .sec = SEC_ACL, .name = "tsig-key", .type = CT_DNAME, .set = conf_acl_set_tsig_key,
	  .help = "the [key NAME] a query must be signed with" },
	{ .sec = SEC_ACL, .name = "backend-source", .type = CT_ADDR,
	  .set = conf_acl_set_backend_source,
	  .help = "source address of the backend connection for this ACL's clients" },

	/* [zone NAME] */
	{ .sec = SEC_ZONE, .name = "acl", .type = CT_NAMES, .set = conf_zone_set_acl,
	  .help = "[acl NAME] names; any one admits a client" },
	{ .sec = SEC_ZONE, .name = "allow", .type = CT_CIDR_LIST, .set = conf_zone_set_allow,
	  .help = "client prefixes admitted by address alone (AXFR-08)" },

	/* [outbound NAME] */
	{ .sec = SEC_OUTBOUND, .name = "listen", .type = CT_ADDR_LIST, .max = CONF_MAX_LISTEN,
	  .port = DEFAULT_OUT_LISTEN_PORT, .off = O(listen), .count_off = O(n_listen),
	  .set = set_out_listen, .help = "TCP and UDP addresses for the local secondary (required)" },
	{ .sec = SEC_OUTBOUND, .name = "allow", .type = CT_CIDR_LIST, .def = "127.0.0.0/8 ::1",
	  .off = O(allow), .count_off = O(n_allow), .set = set_cidr_list,
	  .help = "local client prefixes" },
	{ .sec = SEC_OUTBOUND, .name = "primary", .type = CT_ADDR_LIST, .max = CONF_MAX_PRIMARIES,
	  .port = DEFAULT_PRIMARY_PORT, .off = O(primary), .count_off = O(n_primary),
	  .help = "remote XoT primaries, tried in order (required)" },
	{ .sec = SEC_OUTBOUND, .name = "auth-name", .type = CT_NAME, .off = O(auth_name),
	  .set = set_auth_name, .help = "name the primary's certificate must carry; sent as SNI" },
	{ .sec = SEC_OUTBOUND, .name = "ca", .type = CT_PATH, .off = O(ca), .flags = CK_RELATIVE,
	  .help = "CAs to check the primary's certificate against" },
	{ .sec = SEC_OUTBOUND, .name = "pin-sha256", .type = CT_PINS, .off = O(pins),
	  .count_off = O(n_pins), .set = set_pins, .print = conf_print_pins,
	  .help = "SPKI SHA-256 pins of the primary (RFC 7469), base64" },
	{ .sec = SEC_OUTBOUND, .name = "client-cert", .type = CT_PATH, .off = O(client_cert),
	  .flags = CK_RELATIVE, .help = "certificate for mutual TLS (with client-key)" },
	{ .sec = SEC_OUTBOUND, .name = "client-key", .type = CT_PATH, .off = O(client_key),
	  .flags = CK_RELATIVE, .help = "private key for mutual TLS (with client-cert)" },
	UINT(SEC_OUTBOUND, "connect-timeout", O(connect_timeout), 1, 3600, "5", 0,
	     "seconds for TCP connect and TLS handshake, per primary"),
	UINT(SEC_OUTBOUND, "idle-timeout", O(idle_timeout), 1, 86400, "30", 0,
	     "seconds an unused TLS session stays open"),
	UINT(SEC_OUTBOUND, "max-sessions", O(max_sessions), 1, 1024, "4", 0,
	     "TLS sessions per primary"),
	UINT(SEC_OUTBOUND, "backend-timeout", O(backend_timeout), 1, 3600, "4", 0,
	     "seconds a primary has for the first octet of an answer; then the next"),
	UINT(SEC_OUTBOUND, "transfer-timeout", O(transfer_timeout), 1, 86400, "120", 0,
	     "seconds without a complete message while answers are owed"),
	UINT(SEC_OUTBOUND, "queue-timeout", O(queue_timeout), 1, 3600, "10", 0,
	     "seconds a query may wait for a session slot"),
	UINT(SEC_OUTBOUND, "max-clients", O(max_clients), 1, 1000000, "1024", 0,
	     "local TCP connections at once"),
	UINT(SEC_OUTBOUND, "max-udp-queries", O(max_udp_queries), 1, 1000000, "256", 0,
	     "local UDP queries in flight at once"),
};

const size_t conf_n_keys = sizeof(conf_keys) / sizeof(conf_keys[0]);

_Static_assert(sizeof(conf_keys) / sizeof(conf_keys[0]) <= CONF_KEYS_MAX,
               "CONF_KEYS_MAX (conf_int.h) is below the number of rows");

/* --- lookups --------------------------------------------------------------- */

const struct conf_keydef *
conf_key_find(enum section sec, const char *name)
{
	for (size_t i = 0; i < conf_n_keys; i++)
		if (conf_keys[i].sec == sec && strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

int
conf_key_line(const struct parse_state *ps, enum section sec, const char *name)
{
	const struct conf_keydef *d = conf_key_find(sec, name);
	return d != NULL ? ps->key_line[d - conf_keys] : 0;
}

int
conf_key_set(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value)
{
	if (d->set != NULL)
		return d->set(ps, d, obj, value);
	switch (d->type) {
	case CT_UINT: return set_uint(ps, d, obj, value);
	case CT_ENUM:
	case CT_BOOL: return set_enum(ps, d, obj, value);
	case CT_PATH: return set_path(ps, d, obj, value);
	case CT_ADDR: return set_addr(ps, d, obj, value);
	case CT_ADDR_LIST: return set_addr_list(ps, d, obj, value);
	default:
		conf_fail(ps, ps->lineno, "internal error: %s has no setter", d->name);
		return -1;
	}
}

int
conf_key_defaults(struct parse_state *ps, enum section sec, void *obj, bool late)
{
	for (size_t i = 0; i < conf_n_keys; i++) {
		const struct conf_keydef *d = &conf_keys[i];
		if (d->sec != sec || d->def == NULL || late != ((d->flags & CK_LATE_DEFAULT) != 0))
			continue;
		if (late && ps->key_line[i] != 0)
			continue;
		if (conf_key_set(ps, d, obj, d->def) < 0)
			return -1;
	}
	return 0;
}

const char *
conf_type_name(enum conf_type t)
{
	static const char *const names[CT_COUNT] = {
		[CT_UINT] = "uint", [CT_ENUM] = "enum", [CT_BOOL] = "bool", [CT_PATH] = "path",
		[CT_NAME] = "name", [CT_ADDR] = "address", [CT_ADDR_LIST] = "address-list",
		[CT_CIDR_LIST] = "prefix-list", [CT_RATE] = "rate", [CT_PINS] = "pin-list",
		[CT_DNAME] = "domain-name", [CT_NAMES] = "name-list", [CT_SECRET] = "base64",
	};
	return (unsigned)t < CT_COUNT ? names[t] : "?";
}

const char *
conf_section_name(enum section sec)
{
	switch (sec) {
	case SEC_GLOBAL: return "global";
	case SEC_INBOUND: return "inbound";
	case SEC_ZONE: return "zone";
	case SEC_OUTBOUND: return "outbound";
	case SEC_KEY: return "key";
	case SEC_ACL: return "acl";
	default: return "?";
	}
}
