/* conf_zone.c - what may be transferred: [zone NAME] sections and the
 * zones-file (one zone per line: "NAME ACL..."), each zone with the ACLs
 * that admit a client (any one of them; none: nobody).
 *
 * Sizes: a zone is one arena allocation (its wire name and two pointers)
 * in an O(1) hash keyed by the lowercase wire name; zones naming the same
 * ACLs share one interned list, so 100,000 zones-file lines naming the same
 * ACLs cost about 5 MB. A [zone] may name an [acl] defined later: names are
 * resolved at the end, where the zones-file is read too (its errors are
 * "FILE:LINE: ..." with the zones-file's name). A zone's `allow =` makes an
 * implicit address-only ACL (name ""), one per distinct list.
 *
 * At the end it also builds conf_address_allowed's index (the sorted
 * addresses of every ACL some zone uses) and counts the zones open to
 * addresses alone (RFC 9103 section 7.5). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_int.h"
#include "conf_schema.h"
#include "proxy/lib/log.h"

#define ARENA_BLOCK (64 * 1024)
#define ZONES_LINE_MAX 65536            /* one zones-file line */
#define WARN_NAMES 5                    /* zones named in the section 7.5 warning */

/* ---- arena: zones and ACL lists live as long as the conf ---------------- */

struct conf_arena {
	struct conf_arena *next;
	size_t used, cap;
	max_align_t mem[];
};

static void *
arena_alloc(struct conf *c, size_t n)
{
	n = (n + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
	struct conf_arena *a = c->arena;
	if (a == NULL || a->cap - a->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		a = malloc(sizeof(*a) + cap);
		if (a == NULL)
			return NULL;
		a->next = c->arena;
		a->used = 0;
		a->cap = cap;
		c->arena = a;
	}
	void *p = (char *)a->mem + a->used;
	a->used += n;
	return p;
}

/* ---- parse-time state ---------------------------------------------------- */

struct zsec {                           /* a [zone] section, until the end */
	int acl_line;                       /* 0: no acl key */
	char *acl_names;                    /* its value */
	struct conf_acl *implicit;          /* from allow =, or NULL */
};

struct alist {                          /* an interned ACL list */
	size_t n;
	const struct conf_acl *acls[];
};

struct zparse {
	size_t zones_cap;                   /* of conf->zones */
	uint32_t *zline;                    /* line of conf->zones[i] (its own file's) */
	size_t zline_cap;
	struct zsec *secs;                  /* one per [zone] section */
	size_t secs_cap;
	struct conf_itab implicit;          /* implicit ACLs by address list */
	struct conf_itab lists;             /* struct alist by content */
	int first_line;                     /* first [zone] header */
};

static struct zparse *
zp_get(struct parse_state *ps)
{
	if (ps->zp == NULL && (ps->zp = calloc(1, sizeof(*ps->zp))) == NULL)
		conf_fail(ps, ps->lineno, "out of memory");
	return ps->zp;
}

/* ---- zones and their hash ------------------------------------------------ */

static uint32_t
zone_hash(const uint8_t *wire, size_t len)
{
	return conf_hash(CONF_HASH_INIT, wire, len);
}

static const struct conf_zone *
zone_lookup(const struct conf *conf, uint32_t h, const uint8_t *wire, size_t len)
{
	if (conf->zhash == NULL)
		return NULL;
	const struct conf_zone *z = conf->zhash[h & conf->zhash_mask];
	for (; z != NULL; z = z->hnext)
		if (z->wire_len == len && memcmp(z->wire, wire, len) == 0)
			return z;
	return NULL;
}

const struct conf_zone *
conf_zone_find(const struct conf *conf, const uint8_t *wire, size_t len)
{
	return zone_lookup(conf, zone_hash(wire, len), wire, len);
}

void
conf_zone_text(const struct conf_zone *z, char out[DNAME_TEXT_MAX])
{
	dname_to_text(z->wire, out);
}

/* Room for n zones with short chains (as many heads as zones). */
static int
zhash_reserve(struct conf *c, size_t n)
{
	if (c->zhash != NULL && n <= c->zhash_mask + 1)
		return 0;
	size_t size = c->zhash == NULL ? 64 : 2 * (c->zhash_mask + 1);
	struct conf_zone **h = calloc(size, sizeof(*h));
	if (h == NULL)
		return -1;
	for (size_t i = 0; i < c->n_zones; i++) {
		struct conf_zone *z = c->zones[i];
		size_t b = zone_hash(z->wire, z->wire_len) & (size - 1);
		z->hnext = h[b];
		h[b] = z;
	}
	free(c->zhash);
	c->zhash = h;
	c->zhash_mask = size - 1;
	return 0;
}

/* Where zone i was defined, for "first at FILE:LINE". */
static const char *
zone_file(const struct parse_state *ps, size_t i)
{
	return i < ps->conf->n_section_zones ? ps->name : ps->conf->inbound.zones_file;
}

/* A new zone (file: NULL for a [zone] section, else the zones-file), or
 * NULL with the error reported: a duplicate names its first definition. */
static struct conf_zone *
zone_add(struct parse_state *ps, const uint8_t *wire, size_t len, const char *file, int line)
{
	struct conf *c = ps->conf;
	struct zparse *zp = ps->zp;
	char text[DNAME_TEXT_MAX];
	uint32_t h = zone_hash(wire, len);
	const struct conf_zone *dup = zone_lookup(c, h, wire, len);
	if (dup != NULL) {
		size_t i = 0;
		while (c->zones[i] != dup)
			i++;                        /* an error: once, so O(n) is fine */
		dname_to_text(wire, text);
		conf_fail_file(ps, file, line, "duplicate zone %s (first at %s:%u)", text,
		               zone_file(ps, i), zp->zline[i]);
		return NULL;
	}
	if (c->n_zones == CONF_MAX_ZONES) {
		conf_fail_file(ps, file, line, "more than %d zones", CONF_MAX_ZONES);
		return NULL;
	}
	struct conf_zone **zones = conf_grow(c->zones, &zp->zones_cap, c->n_zones, sizeof(*zones));
	if (zones != NULL)
		c->zones = zones;
	uint32_t *zline = conf_grow(zp->zline, &zp->zline_cap, c->n_zones, sizeof(*zline));
	if (zline != NULL)
		zp->zline = zline;
	struct conf_zone *z = arena_alloc(c, offsetof(struct conf_zone, wire) + len);
	if (zones == NULL || zline == NULL || z == NULL || zhash_reserve(c, c->n_zones + 1) < 0) {
		conf_fail_file(ps, file, line, "out of memory");
		return NULL;
	}
	memset(z, 0, offsetof(struct conf_zone, wire));
	z->wire_len = (uint8_t)len;
	memcpy(z->wire, wire, len);
	size_t b = h & c->zhash_mask;
	z->hnext = c->zhash[b];
	c->zhash[b] = z;
	c->zones[c->n_zones] = z;
	zp->zline[c->n_zones++] = (uint32_t)line;
	return z;
}

/* A zone name: a valid domain name, not the root. Returns the wire length or -1. */
static int
zone_name(struct parse_state *ps, const char *file, int line, const char *name,
          uint8_t wire[DNAME_MAXLEN])
{
	char q[QUOTE_MAX];
	int len = -1;
	if (strpbrk(name, " \t\r\n\v\f") == NULL)
		len = dname_from_text(name, wire);
	if (len < 0)
		conf_fail_file(ps, file, line, "zone name %s is not a valid domain name",
		               conf_quote(name, q));
	else if (len == 1)
		conf_fail_file(ps, file, line, "zone name %s: the root zone cannot be proxied",
		               conf_quote(name, q));
	return len > 1 ? len : -1;
}

int
conf_zone_open(struct parse_state *ps, const char *arg)
{
	uint8_t wire[DNAME_MAXLEN];
	struct zparse *zp = zp_get(ps);
	if (zp == NULL)
		return -1;
	if (*arg == '\0') {
		conf_fail(ps, ps->lineno, "[zone] needs a zone name: [zone example.com]");
		return -1;
	}
	int len = zone_name(ps, NULL, ps->lineno, arg, wire);
	if (len < 0)
		return -1;
	if (ps->conf->n_zones != ps->conf->n_section_zones) {
		/* never: the zones-file is read after the last section */
		conf_fail(ps, ps->lineno, "internal error: zones out of order");
		return -1;
	}
	struct zsec *secs = conf_grow(zp->secs, &zp->secs_cap, ps->conf->n_section_zones,
	                              sizeof(*secs));
	if (secs == NULL) {
		conf_fail(ps, ps->lineno, "out of memory");
		return -1;
	}
	zp->secs = secs;
	if (zone_add(ps, wire, (size_t)len, NULL, ps->lineno) == NULL)
		return -1;
	zp->secs[ps->conf->n_section_zones++] = (struct zsec){ 0 };
	if (zp->first_line == 0)
		zp->first_line = ps->lineno;
	return 0;
}

/* ---- [zone NAME] keys ------------------------------------------------------ */

static int
cidr_cmp(const void *a, const void *b)
{
	const struct cidr *x = a, *y = b;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

struct cidr_key {
	const struct cidr *list;
	size_t n;
};

/* Field by field: struct cidr has padding. */
static uint32_t
cidr_list_hash(const struct cidr *list, size_t n)
{
	uint32_t h = CONF_HASH_INIT;
	for (size_t i = 0; i < n; i++) {
		uint8_t fp[2] = { (uint8_t)list[i].family, list[i].prefix };
		h = conf_hash(conf_hash(h, fp, 2), list[i].addr, sizeof(list[i].addr));
	}
	return h;
}

static bool
implicit_eq(const void *p, const void *key)
{
	const struct conf_acl *a = p;
	const struct cidr_key *k = key;
	if (a->n_addr != k->n)
		return false;
	for (size_t i = 0; i < k->n; i++)
		if (cidr_cmp(&a->addr[i], &k->list[i]) != 0)
			return false;
	return true;
}

/* allow = CIDR...: the zone's implicit ACL, shared by every zone with the same list. */
static int
zone_allow(struct parse_state *ps, struct zsec *zs, const char *value)
{
	struct zparse *zp = ps->zp;
	struct cidr list[CONF_MAX_ALLOW];
	size_t n = 0;
	if (conf_set_cidrs(ps, "allow", value, list, &n) < 0)
		return -1;
	if (n == 0)
		return 0;                       /* AXFR-08: nobody */
	struct cidr_key key = { list, n };
	uint32_t h = cidr_list_hash(list, n);
	struct conf_acl *a = conf_itab_find(&zp->implicit, h, &key, implicit_eq);
	if (a == NULL) {
		if ((a = conf_acl_new(ps)) == NULL)
			return -1;
		if ((a->addr = malloc(n * sizeof(*a->addr))) == NULL ||
		    conf_itab_add(&zp->implicit, h, a) < 0) {
			conf_fail(ps, ps->lineno, "out of memory");
			return -1;
		}
		memcpy(a->addr, list, n * sizeof(*a->addr));
		a->n_addr = n;
	}
	zs->implicit = a;
	return 0;
}

static int
zone_acl(struct parse_state *ps, struct zsec *zs, const char *value)
{
	char tok[TOKEN_MAX], q[QUOTE_MAX];
	const char *p = value;
	size_t n = 0;
	while (conf_next_token(&p, tok) > 0) {
		if (!conf_name_ok(tok, false)) {
			conf_fail(ps, ps->lineno, "acl: %s is not an ACL name", conf_quote(tok, q));
			return -1;
		}
		n++;
	}
	if (n == 0) {
		conf_fail(ps, ps->lineno, "acl: needs at least one [acl NAME] name (leave the key "
		          "out, and allow too, for nobody)");
		return -1;
	}
	zs->acl_line = ps->lineno;
	if ((zs->acl_names = strdup(value)) == NULL) {
		conf_fail(ps, ps->lineno, "out of memory");
		return -1;
	}
	return 0;
}

int
conf_zone_set_allow(struct parse_state *ps, const struct conf_keydef *d, void *obj,
                    const char *value)
{
	(void)d, (void)obj;
	return zone_allow(ps, &ps->zp->secs[ps->conf->n_section_zones - 1], value);
}

int
conf_zone_set_acl(struct parse_state *ps, const struct conf_keydef *d, void *obj,
                  const char *value)
{
	(void)d, (void)obj;
	return zone_acl(ps, &ps->zp->secs[ps->conf->n_section_zones - 1], value);
}

const char *
conf_zone_section_label(const struct parse_state *ps, char buf[LABEL_MAX])
{
	char text[DNAME_TEXT_MAX];
	conf_zone_text(ps->conf->zones[ps->conf->n_section_zones - 1], text);
	snprintf(buf, LABEL_MAX, "[zone %s]", text);
	return buf;
}

int
conf_zone_first_line(const struct parse_state *ps)
{
	return ps->zp != NULL ? ps->zp->first_line : 0;
}

/* ---- ACL lists ------------------------------------------------------------- */

struct list_key {
	const struct conf_acl *const *acls;
	size_t n;
};

static bool
list_eq(const void *p, const void *key)
{
	const struct alist *l = p;
	const struct list_key *k = key;
	return l->n == k->n && memcmp(l->acls, k->acls, k->n * sizeof(*k->acls)) == 0;
}

/* The interned copy of acls[0..n) (n > 0), or NULL (out of memory). */
static const struct alist *
list_intern(struct parse_state *ps, const struct conf_acl **acls, size_t n)
{
	struct zparse *zp = ps->zp;
	struct list_key key = { acls, n };
	uint32_t h = conf_hash(CONF_HASH_INIT, acls, n * sizeof(*acls));
	struct alist *l = conf_itab_find(&zp->lists, h, &key, list_eq);
	if (l == NULL) {
		l = arena_alloc(ps->conf, sizeof(*l) + n * sizeof(*acls));   /* never freed alone */
		if (l == NULL || conf_itab_add(&zp->lists, h, l) < 0)
			return NULL;
		l->n = n;
		memcpy(l->acls, acls, n * sizeof(*acls));
	}
	return l;
}

static void
zone_set_list(struct conf_zone *z, const struct alist *l)
{
	z->acls = l != NULL ? l->acls : NULL;
	z->n_acls = l != NULL ? l->n : 0;
}

/* ACL names (words of names, modified) into acls; *n of them. */
static int
resolve_acls(struct parse_state *ps, const char *file, int line, char *names,
             const struct conf_acl **acls, size_t *n)
{
	char q[QUOTE_MAX], *w;
	*n = 0;
	while ((w = conf_next_word(&names)) != NULL) {
		const struct conf_acl *a = conf_acl_find(ps, w);
		if (a == NULL) {
			conf_fail_file(ps, file, line, "acl %s is not defined (no [acl %s] section)",
			               conf_quote(w, q), w);
			return -1;
		}
		for (size_t i = 0; i < *n; i++) {
			if (acls[i] == a) {
				conf_fail_file(ps, file, line, "acl %s is listed twice", conf_quote(w, q));
				return -1;
			}
		}
		if (*n == CONF_MAX_ZONE_ACLS) {
			conf_fail_file(ps, file, line, "more than %d ACLs for one zone",
			               CONF_MAX_ZONE_ACLS);
			return -1;
		}
		acls[(*n)++] = a;
	}
	return 0;
}

/* The [zone] sections' acl = names (defined anywhere in the file) and allow =. */
static int
finish_section_zones(struct parse_state *ps)
{
	const struct conf_acl *acls[CONF_MAX_ZONE_ACLS + 1];
	for (size_t i = 0; i < ps->conf->n_section_zones; i++) {
		struct zsec *zs = &ps->zp->secs[i];
		size_t n = 0;
		if (zs->acl_names != NULL &&
		    resolve_acls(ps, NULL, zs->acl_line, zs->acl_names, acls, &n) < 0)
			return -1;
		if (zs->implicit != NULL)
			acls[n++] = zs->implicit;
		const struct alist *l = n > 0 ? list_intern(ps, acls, n) : NULL;
		if (n > 0 && l == NULL) {
			conf_fail(ps, 0, "out of memory");
			return -1;
		}
		zone_set_list(ps->conf->zones[i], l);
	}
	return 0;
}

/* ---- the zones-file -------------------------------------------------------- */

/* Cuts a '#' comment that starts the line or follows a blank. */
static void
cut_comment(char *line)
{
	for (char *p = strchr(line, '#'); p != NULL; p = strchr(p + 1, '#')) {
		if (p == line || isspace((unsigned char)p[-1])) {
			*p = '\0';
			return;
		}
	}
}

/* Remembers the ACL part of the previous line: most lines repeat it. */
struct zf_cache {
	char *text;
	size_t cap;
	const struct alist *list;           /* its interned list; NULL: no ACL */
	bool valid;
};

/* One line "NAME [ACL...]" (comment cut), or blank. */
static int
zones_file_line(struct parse_state *ps, char *line, int lineno, struct zf_cache *cache)
{
	const char *file = ps->conf->inbound.zones_file;
	uint8_t wire[DNAME_MAXLEN];
	char *p = line, *name = conf_next_word(&p);
	if (name == NULL)
		return 0;
	int len = zone_name(ps, file, lineno, name, wire);
	if (len < 0)
		return -1;
	while (isspace((unsigned char)*p))
		p++;
	size_t rest = strlen(p);
	if (!cache->valid || strcmp(cache->text, p) != 0) {
		cache->valid = false;
		char *text = conf_grow(cache->text, &cache->cap, rest, 1);
		if (text == NULL) {
			conf_fail_file(ps, file, lineno, "out of memory");
			return -1;
		}
		cache->text = text;
		memcpy(cache->text, p, rest + 1);
		const struct conf_acl *acls[CONF_MAX_ZONE_ACLS];
		size_t n;
		if (resolve_acls(ps, file, lineno, p, acls, &n) < 0)
			return -1;
		cache->list = n > 0 ? list_intern(ps, acls, n) : NULL;
		if (n > 0 && cache->list == NULL) {
			conf_fail_file(ps, file, lineno, "out of memory");
			return -1;
		}
		cache->valid = true;
	}
	struct conf_zone *z = zone_add(ps, wire, (size_t)len, file, lineno);
	if (z == NULL)
		return -1;
	zone_set_list(z, cache->list);
	return 0;
}

static FILE *
zones_file_open(struct parse_state *ps)
{
	const char *path = ps->conf->inbound.zones_file;
	int line = conf_key_line(ps, SEC_INBOUND, "zones-file");
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		conf_fail(ps, line, "zones-file: cannot read %s: %s", path,
		          fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	FILE *f = fdopen(fd, "r");
	if (f == NULL) {
		conf_fail(ps, line, "zones-file: %s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

static int
read_zones_file(struct parse_state *ps)
{
	const char *file = ps->conf->inbound.zones_file;
	FILE *f = zones_file_open(ps);
	if (f == NULL)
		return -1;
	struct zf_cache cache = { 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, rc = 0;
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		char *start = line;
		if (lineno == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
			start += 3;
		if (n > ZONES_LINE_MAX) {
			conf_fail_file(ps, file, lineno, "line too long (more than %d characters)",
			               ZONES_LINE_MAX);
			rc = -1;
		} else if (memchr(line, '\0', (size_t)n) != NULL) {
			conf_fail_file(ps, file, lineno, "NUL byte in line");
			rc = -1;
		}
		if (rc < 0)
			break;
		cut_comment(start);
		rc = zones_file_line(ps, start, lineno, &cache);
	}
	if (rc == 0 && ferror(f)) {
		conf_fail_file(ps, file, lineno + 1, "read error: %s", strerror(errno));
		rc = -1;
	}
	free(cache.text);
	free(line);
	fclose(f);
	return rc;
}

/* ---- the end: references, checks, indexes ---------------------------------- */

/* conf_address_allowed's index: the addresses of every ACL in some zone's
 * list (each distinct list once), sorted and unique; an ACL without
 * addresses sets any_address. */
static int
build_any_allow(struct parse_state *ps)
{
	struct conf *c = ps->conf;
	const struct conf_itab *t = &ps->zp->lists;
	size_t total = 0;
	for (size_t i = 0; t->e != NULL && i <= t->mask; i++) {
		const struct alist *l = t->e[i].p;
		for (size_t j = 0; l != NULL && j < l->n; j++) {
			total += l->acls[j]->n_addr;
			c->any_address |= l->acls[j]->n_addr == 0;
		}
	}
	if (total == 0)
		return 0;
	if ((c->any_allow = malloc(total * sizeof(*c->any_allow))) == NULL)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i <= t->mask; i++) {
		const struct alist *l = t->e[i].p;
		for (size_t j = 0; l != NULL && j < l->n; j++) {
			const struct conf_acl *a = l->acls[j];
			if (a->n_addr > 0)
				memcpy(c->any_allow + k, a->addr, a->n_addr * sizeof(*a->addr));
			k += a->n_addr;
		}
	}
	qsort(c->any_allow, total, sizeof(*c->any_allow), cidr_cmp);
	size_t n = 1;
	for (size_t i = 1; i < total; i++)
		if (cidr_cmp(&c->any_allow[n - 1], &c->any_allow[i]) != 0)
			c->any_allow[n++] = c->any_allow[i];
	c->n_any_allow = n;
	return 0;
}

/* Does an ACL with neither client-cert nor tsig-key admit to z? (Any one
 * ACL admits, so one such ACL opens the zone to addresses alone.) */
static bool
addr_only(const struct conf_zone *z)
{
	for (size_t i = 0; i < z->n_acls; i++)
		if (z->acls[i]->n_certs == 0 && z->acls[i]->key == NULL)
			return true;
	return false;
}

int
conf_zone_finish(struct parse_state *ps)
{
	struct conf *c = ps->conf;
	if (zp_get(ps) == NULL || finish_section_zones(ps) < 0)
		return -1;
	if (c->inbound.zones_file != NULL && read_zones_file(ps) < 0)
		return -1;
	if (build_any_allow(ps) < 0) {
		conf_fail(ps, 0, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < c->n_zones; i++)
		c->n_addr_only += addr_only(c->zones[i]);
	return 0;
}

/* ---- queries, warnings, freeing -------------------------------------------- */

bool
conf_address_allowed(const struct conf *conf, const struct sockaddr *sa)
{
	if (conf->any_address)
		return true;
	for (size_t i = 0; i < conf->n_any_allow; i++)
		if (cidr_match(&conf->any_allow[i], sa))
			return true;
	return false;
}

size_t
conf_addr_only_zones(const struct conf *conf)
{
	return conf->n_addr_only;
}

void
conf_log_warnings(const struct conf *conf)
{
	static const char why[] = "an ACL with neither client-cert nor tsig-key admits (RFC 9103 "
	                          "section 7.5 wants mutual TLS, or addresses plus TSIG)";
	char names[WARN_NAMES * (DNAME_TEXT_MAX + 2)], text[DNAME_TEXT_MAX];
	size_t n = conf->n_addr_only, shown = 0, o = 0;
	names[0] = '\0';
	for (size_t i = 0; i < conf->n_zones && shown < WARN_NAMES && shown < n; i++) {
		if (!addr_only(conf->zones[i]))
			continue;
		conf_zone_text(conf->zones[i], text);
		if (n <= WARN_NAMES)
			log_warning("zone %s is open to client addresses alone: %s", text, why);
		else
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", shown ? ", " : "", text);
		shown++;
	}
	if (n > WARN_NAMES)
		log_warning("%zu zones are open to client addresses alone (%s, ... and %zu more): %s",
		            n, names, n - shown, why);
}

void
conf_zone_free(struct conf *conf)
{
	while (conf->arena != NULL) {
		struct conf_arena *next = conf->arena->next;
		free(conf->arena);
		conf->arena = next;
	}
	free(conf->zones);
	free(conf->zhash);
	free(conf->any_allow);
}

void
conf_zone_parse_free(struct parse_state *ps)
{
	struct zparse *zp = ps->zp;
	if (zp == NULL)
		return;
	for (size_t i = 0; zp->secs != NULL && i < ps->conf->n_section_zones; i++)
		free(zp->secs[i].acl_names);
	free(zp->zline);
	free(zp->secs);
	free(zp->implicit.e);
	free(zp->lists.e);
	free(zp);
	ps->zp = NULL;
}

/* ---- print ----------------------------------------------------------------- */

static void
print_zone(const struct conf_zone *z, FILE *out)
{
	const struct conf_acl *implicit = NULL;
	bool named = false;
	fputs("\n[zone ", out);
	conf_print_wire_name(z->wire, out);
	fputs("]\n", out);
	for (size_t i = 0; i < z->n_acls; i++) {
		if (z->acls[i]->name[0] == '\0') {
			implicit = z->acls[i];
			continue;
		}
		fprintf(out, "%s %s", named ? "" : "acl =", z->acls[i]->name);
		named = true;
	}
	if (named)
		fputc('\n', out);
	if (implicit != NULL)
		conf_print_cidrs("allow", implicit->addr, implicit->n_addr, out);
	else if (z->n_acls == 0)
		fputs("allow = # nobody (deny by default)", out);
	if (implicit != NULL || z->n_acls == 0)
		fputc('\n', out);
}

void
conf_zone_print(const struct conf *conf, FILE *out)
{
	if (conf->n_zones == 0)
		fputs("\n# no zones: every transfer is refused\n", out);
	for (size_t i = 0; i < conf->n_section_zones; i++)
		print_zone(conf->zones[i], out);
}
