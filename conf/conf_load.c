/* conf_load.c - the configuration: loaded from an INI file (inih), immutable once loaded.
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
 * Keys belong to a section kind: conf_schema.c's table is looked up by
 * (section, name), so [inbound] idle-timeout and [outbound] idle-timeout are
 * different keys; its rows say how each is parsed, its default and where
 * it is stored. A repeatable section ([zone ...], [outbound ...]) forgets the key
 * lines of its kind when it opens, so duplicates are caught per section.
 *
 * [key] and [acl] sections live in conf_acl.c; [zone] sections, the
 * zones-file and the zone hash in conf_zone.c; -t in conf_print.c; this
 * file has the reader, the sections, the checks at the end, load and free. */
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
#include "conf_schema.h"

#define CONF_MAX_FILE (1024 * 1024)

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

const char *
conf_outbound_label(const struct conf_outbound *ob, char buf[LABEL_MAX])
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
		return conf_outbound_label(&c->outbound[c->n_outbound - 1], buf);
	default:
		return "(no section)";
	}
}

/* The struct the keys of the current section are stored in (conf_schema.h);
 * NULL for [zone], [key], [acl], whose setters find their instance. */
static void *
section_obj(struct parse_state *ps)
{
	struct conf *c = ps->conf;
	switch (ps->sec) {
	case SEC_GLOBAL: return c;
	case SEC_INBOUND: return &c->inbound;
	case SEC_OUTBOUND: return &c->outbound[c->n_outbound - 1];
	default: return NULL;
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
	const struct conf_keydef *d = conf_key_find(ps->sec, name);
	if (d != NULL) {
		int *line = &ps->key_line[d - conf_keys];
		if (*line != 0) {
			conf_fail(ps, ps->lineno, "duplicate key %s in %s (first on line %d)",
			     d->name, section_label(ps, label), *line);
			return 0;
		}
		*line = ps->lineno;
		return conf_key_set(ps, d, section_obj(ps), value) < 0 ? 0 : 1;
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
	for (size_t k = 0; k < conf_n_keys; k++)
		if (conf_keys[k].sec == sec)
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
		     "(%s on line %d)", conf_outbound_label(&c->outbound[0], label), ps->ob_lines[0].header);
		return -1;
	}
	for (size_t i = 0; i < c->n_outbound; i++) {
		if (strcasecmp(c->outbound[i].name, name) == 0) {
			conf_fail(ps, ps->lineno, "duplicate %s section (first on line %d)",
			     conf_outbound_label(&c->outbound[i], label), ps->ob_lines[i].header);
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
	ps->ob_lines[c->n_outbound] = (struct outbound_lines){ .header = ps->lineno };
	c->n_outbound++;
	return conf_key_defaults(ps, SEC_OUTBOUND, ob, false);
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

/* Strict authentication only (RFC 8310, DOT-06): the primary is checked
 * against a CA and a name, or against SPKI pins; never "encrypt only". */
static int
check_outbound(struct parse_state *ps, const struct conf_outbound *ob, int line)
{
	char label[LABEL_MAX];
	const char *l = conf_outbound_label(ob, label);
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
	     conf_outbound_label(&ps->conf->outbound[ob], label), abuf, other, bbuf, where);
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
					               conf_key_line(ps, SEC_INBOUND, "listen"));
					return -1;
				}
			}
			for (size_t j = 0; j < i; j++) {
				const struct conf_outbound *other = &c->outbound[j];
				for (size_t b = 0; b < other->n_listen; b++) {
					if (listen_overlap(&ob->listen[a], &other->listen[b])) {
						fail_collision(ps, i, &ob->listen[a],
						               conf_outbound_label(other, label),
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
	if (conf_key_line(ps, SEC_INBOUND, "listen") == 0) {
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
	int rc = 0;
	configure_inih();
	if (conf_key_defaults(&ps, SEC_GLOBAL, ps.conf, false) == 0 &&
	    conf_key_defaults(&ps, SEC_INBOUND, &ps.conf->inbound, false) == 0)
		rc = ini_parse_stream(read_line, &ps, handle_pair, &ps);
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

/* The CK_RELATIVE paths of section sec in obj, against the config file's directory. */
static int
resolve_paths(enum section sec, void *obj, const char *conf_path)
{
	for (size_t i = 0; i < conf_n_keys; i++) {
		const struct conf_keydef *d = &conf_keys[i];
		char **field = CONF_FIELD(obj, d);
		if (d->sec != sec || !(d->flags & CK_RELATIVE) || *field == NULL)
			continue;
		char *r = conf_resolve_path(conf_path, *field);
		if (r == NULL)
			return -1;
		free(*field);
		*field = r;
	}
	return 0;
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
	bool ok = resolve_paths(SEC_INBOUND, &c->inbound, path) == 0;
	for (size_t i = 0; ok && i < c->n_outbound; i++)
		ok = resolve_paths(SEC_OUTBOUND, &c->outbound[i], path) == 0;
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

