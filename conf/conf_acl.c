/* conf_acl.c - who may transfer: [key NAME] sections (TSIG keys: name,
 * algorithm, and a secret inline, from a private file, or none) and
 * [acl NAME] sections (address, client-cert, tsig-key: every condition
 * given must hold; backend-source). An ACL may name a [key] defined later:
 * references are resolved at the end, with the checks that need the whole
 * file (an algorithm for every secret, a condition in every ACL, client-ca
 * for client-cert, backend-source in the backend's address family).
 * Secrets never appear in messages, and are wiped when the conf is freed. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proxy/lib/certpat.h"
#include "conf_int.h"
#include "conf_schema.h"

#define SECRET_FILE_MAX 4096

struct keyp {                           /* lines of conf->keys[i] */
	int header, secret;                 /* secret: line of secret or secret-file */
	bool has_alg;
};

struct aclp {                           /* a named ACL, until the end */
	struct conf_acl *acl;
	int header, cert_line, tsig_line, source_line;
	char *tsig_name;                    /* tsig-key value */
};

struct aparse {
	size_t conf_keys_cap, conf_acls_cap;   /* of the arrays in conf */
	struct keyp *keys;                  /* one per conf->keys[i] */
	size_t keys_cap;
	struct aclp *acls;                  /* named ACLs, in order */
	size_t n_acls, acls_cap;
	struct conf_itab names;             /* named ACLs by name (case-insensitive) */
	int first_line;                     /* first [key] or [acl] header */
	const char *first_what;
};

static struct aparse *
ap_get(struct parse_state *ps)
{
	if (ps->ap == NULL && (ps->ap = calloc(1, sizeof(*ps->ap))) == NULL)
		conf_fail(ps, ps->lineno, "out of memory");
	return ps->ap;
}

static void
note_first(struct aparse *ap, int line, const char *what)
{
	if (ap->first_line == 0) {
		ap->first_line = line;
		ap->first_what = what;
	}
}

/* ---- [key NAME] ------------------------------------------------------------ */

static const struct conf_key *
key_find(const struct conf *c, const uint8_t *wire, size_t len)
{
	for (size_t i = 0; i < c->n_keys; i++)
		if (c->keys[i].tsig.name_len == len && memcmp(c->keys[i].tsig.name, wire, len) == 0)
			return &c->keys[i];
	return NULL;
}

int
conf_key_open(struct parse_state *ps, const char *arg)
{
	struct conf *c = ps->conf;
	struct aparse *ap = ap_get(ps);
	uint8_t wire[DNAME_MAXLEN];
	char q[QUOTE_MAX];
	if (ap == NULL)
		return -1;
	int len = *arg != '\0' && strpbrk(arg, " \t") == NULL ? dname_from_text(arg, wire) : -1;
	if (len <= 1) {
		conf_fail(ps, ps->lineno, "[key NAME] needs a TSIG key name (a domain name, not the "
		          "root): %s", conf_quote(arg, q));
		return -1;
	}
	const struct conf_key *dup = key_find(c, wire, (size_t)len);
	if (dup != NULL) {
		conf_fail(ps, ps->lineno, "duplicate [key %s] section (first on line %d)", dup->name,
		          ap->keys[dup - c->keys].header);
		return -1;
	}
	struct conf_key *keys = conf_grow(c->keys, &ap->conf_keys_cap, c->n_keys, sizeof(*keys));
	if (keys != NULL)
		c->keys = keys;
	struct keyp *kps = conf_grow(ap->keys, &ap->keys_cap, c->n_keys, sizeof(*kps));
	if (kps != NULL)
		ap->keys = kps;
	if (keys == NULL || kps == NULL) {
		conf_fail(ps, ps->lineno, "out of memory");
		return -1;
	}
	struct conf_key *k = &c->keys[c->n_keys];
	memset(k, 0, sizeof(*k));
	memcpy(k->tsig.name, wire, (size_t)len);
	k->tsig.name_len = (size_t)len;
	k->tsig.alg = TSIG_HMAC_SHA256;
	dname_to_text(wire, k->name);
	ap->keys[c->n_keys++] = (struct keyp){ .header = ps->lineno };
	/* no note_first: the outbound side uses keys too (it signs its own TC
	 * and SERVFAIL answers to signed UDP queries, issue 13 A11) */
	return 0;
}

/* The secret, base64 as BIND, Knot and NSD write it; never quoted in errors. */
static int
key_secret(struct parse_state *ps, struct conf_key *k, const char *key, const char *b64)
{
	struct tsig_key tmp;
	const char *why = NULL;
	int rc = tsig_key_from_text(&tmp, k->name, "hmac-sha256", b64, &why);
	if (rc == 0) {
		memcpy(k->tsig.secret, tmp.secret, tmp.secret_len);
		k->tsig.secret_len = tmp.secret_len;
		k->has_secret = true;
	} else {
		conf_fail(ps, ps->lineno, "%s: %s (value not shown)", key, why);
	}
	explicit_bzero(&tmp, sizeof(tmp));
	return rc;
}

/* secret-file: private to its owner (like a TLS key, but an error here:
 * a readable TSIG secret lets anyone sign as the secondary). */
static int
key_secret_file(struct parse_state *ps, struct conf_key *k, const char *value)
{
	char buf[SECRET_FILE_MAX + 1];
	int rc = -1;
	if (conf_set_path(ps, "secret-file", value, &k->secret_file) < 0)
		return -1;
	if (ps->base != NULL) {
		char *r = conf_resolve_path(ps->base, k->secret_file);
		if (r == NULL) {
			conf_fail(ps, ps->lineno, "out of memory");
			return -1;
		}
		free(k->secret_file);
		k->secret_file = r;
	}
	const char *path = k->secret_file;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		conf_fail(ps, ps->lineno, "secret-file: cannot open %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_fail(ps, ps->lineno, "secret-file: %s is not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		conf_fail(ps, ps->lineno, "secret-file: %s is accessible by group or others (mode "
		          "%04o): anyone who reads it can sign as the secondary; chmod 600 it",
		          path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 || n > SECRET_FILE_MAX) {
		conf_fail(ps, ps->lineno, "secret-file: %s: %s", path,
		          n < 0 ? strerror(errno) : "larger than 4096 bytes");
		goto fail;
	}
	buf[n] = '\0';
	bool nul = memchr(buf, '\0', (size_t)n) != NULL;
	char *p = buf, *word = conf_next_word(&p), *more = conf_next_word(&p);
	if (nul || word == NULL || more != NULL)
		conf_fail(ps, ps->lineno, "secret-file: %s must hold the base64 secret alone", path);
	else
		rc = key_secret(ps, k, "secret-file", word);
fail:
	explicit_bzero(buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	return rc;
}

int
conf_key_set_algorithm(struct parse_state *ps, const struct conf_keydef *d, void *obj,
                       const char *value)
{
	struct conf_key *key = &ps->conf->keys[ps->conf->n_keys - 1];
	char q[QUOTE_MAX];
	(void)d, (void)obj;
	if (tsig_alg_parse(value, &key->tsig.alg) < 0) {
		conf_fail(ps, ps->lineno, "algorithm: %s is not one of hmac-sha256, hmac-sha384, "
		          "hmac-sha512, hmac-sha1", conf_quote(value, q));
		return -1;
	}
	ps->ap->keys[ps->conf->n_keys - 1].has_alg = true;
	return 0;
}

/* secret or secret-file: one of them, once. */
static int
key_secret_once(struct parse_state *ps, const char *what)
{
	struct conf_key *key = &ps->conf->keys[ps->conf->n_keys - 1];
	struct keyp *kp = &ps->ap->keys[ps->conf->n_keys - 1];
	if (kp->secret != 0) {
		conf_fail(ps, ps->lineno, "%s: [key %s] has its secret already (line %d): give secret "
		          "or secret-file, not both", what, key->name, kp->secret);
		return -1;
	}
	kp->secret = ps->lineno;
	return 0;
}

int
conf_key_set_secret_file(struct parse_state *ps, const struct conf_keydef *d, void *obj,
                         const char *value)
{
	(void)obj;
	if (key_secret_once(ps, d->name) < 0)
		return -1;
	return key_secret_file(ps, &ps->conf->keys[ps->conf->n_keys - 1], value);
}

int
conf_key_set_secret(struct parse_state *ps, const struct conf_keydef *d, void *obj,
                    const char *value)
{
	(void)obj;
	if (key_secret_once(ps, d->name) < 0)
		return -1;
	if (*value == '\0') {
		conf_fail(ps, ps->lineno, "secret: empty (leave it out for a key checked by name only)");
		return -1;
	}
	if (ps->conf->n_inline_secrets++ == 0)  /* the file's mode is checked at start (main.c) */
		ps->conf->inline_secret_line = ps->lineno;
	return key_secret(ps, &ps->conf->keys[ps->conf->n_keys - 1], "secret", value);
}

/* ---- [acl NAME] ------------------------------------------------------------ */

static bool
acl_name_eq(const void *p, const void *key)
{
	return strcasecmp(((const struct conf_acl *)p)->name, key) == 0;
}

static uint32_t
name_hash(const char *name)
{
	uint32_t h = CONF_HASH_INIT;
	for (; *name != '\0'; name++) {
		uint8_t ch = (uint8_t)tolower((unsigned char)*name);
		h = conf_hash(h, &ch, 1);
	}
	return h;
}

/* Adds a new, zeroed ACL to conf->acls; NULL on OOM. */
struct conf_acl *
conf_acl_new(struct parse_state *ps)
{
	struct conf *c = ps->conf;
	struct aparse *ap = ap_get(ps);
	if (ap == NULL)
		return NULL;
	struct conf_acl **acls = conf_grow(c->acls, &ap->conf_acls_cap, c->n_acls, sizeof(*acls));
	if (acls != NULL)
		c->acls = acls;
	struct conf_acl *a = calloc(1, sizeof(*a));
	if (a == NULL || acls == NULL) {
		free(a);
		conf_fail(ps, ps->lineno, "out of memory");
		return NULL;
	}
	c->acls[c->n_acls++] = a;
	return a;
}

int
conf_acl_open(struct parse_state *ps, const char *arg)
{
	struct aparse *ap = ap_get(ps);
	char q[QUOTE_MAX];
	if (ap == NULL)
		return -1;
	if (!conf_name_ok(arg, false)) {
		conf_fail(ps, ps->lineno, "[acl NAME]: %s is not 1 to 63 letters, digits, '-', '_', '.'",
		          conf_quote(arg, q));
		return -1;
	}
	uint32_t h = name_hash(arg);
	const struct conf_acl *dup = conf_itab_find(&ap->names, h, arg, acl_name_eq);
	if (dup != NULL) {
		size_t i = 0;
		while (ap->acls[i].acl != dup)
			i++;
		conf_fail(ps, ps->lineno, "duplicate [acl %s] section (first on line %d)", dup->name,
		          ap->acls[i].header);
		return -1;
	}
	struct aclp *aps = conf_grow(ap->acls, &ap->acls_cap, ap->n_acls, sizeof(*aps));
	if (aps == NULL) {
		conf_fail(ps, ps->lineno, "out of memory");
		return -1;
	}
	ap->acls = aps;
	struct conf_acl *a = conf_acl_new(ps);
	if (a == NULL)
		return -1;
	strcpy(a->name, arg);               /* length checked */
	if (conf_itab_add(&ap->names, h, a) < 0) {
		conf_fail(ps, ps->lineno, "out of memory");
		return -1;
	}
	ap->acls[ap->n_acls++] = (struct aclp){ .acl = a, .header = ps->lineno };
	note_first(ap, ps->lineno, "acl");
	return 0;
}

/* The stored form: "sha256:" + the pin, or the name lowercase without its final dot. */
static char *
cert_pattern_copy(const char *w)
{
	char *s = strdup(w);
	if (s == NULL)
		return NULL;
	if (strncasecmp(s, "sha256:", 7) == 0) {
		memcpy(s, "sha256:", 7);
		return s;
	}
	size_t n = strlen(s);
	if (s[n - 1] == '.')
		s[n - 1] = '\0';
	for (char *c = s; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return s;
}

static int
acl_certs(struct parse_state *ps, struct conf_acl *a, const char *value)
{
	char q[QUOTE_MAX], *copy = strdup(value), *p = copy, *w;
	const char *why;
	if (copy == NULL)
		goto oom;
	a->certs = calloc(CONF_MAX_ALLOW, sizeof(*a->certs));
	if (a->certs == NULL)
		goto oom;
	while ((w = conf_next_word(&p)) != NULL) {
		if ((why = certpat_error(w)) != NULL) {
			conf_fail(ps, ps->lineno, "client-cert: %s: %s", conf_quote(w, q), why);
			goto fail;
		}
		if (a->n_certs == CONF_MAX_ALLOW) {
			conf_fail(ps, ps->lineno, "client-cert: more than %d entries", CONF_MAX_ALLOW);
			goto fail;
		}
		if ((a->certs[a->n_certs] = cert_pattern_copy(w)) == NULL)
			goto oom;
		for (size_t i = 0; i < a->n_certs; i++) {
			if (strcmp(a->certs[i], a->certs[a->n_certs]) == 0) {
				conf_fail(ps, ps->lineno, "client-cert: %s is listed twice", conf_quote(w, q));
				a->n_certs++;
				goto fail;
			}
		}
		a->n_certs++;
	}
	if (a->n_certs == 0)
		conf_fail(ps, ps->lineno, "client-cert: needs at least one DNS name or sha256:PIN");
	free(copy);
	return a->n_certs == 0 ? -1 : 0;
oom:
	conf_fail(ps, ps->lineno, "out of memory");
fail:
	free(copy);
	return -1;
}

/* backend-source: an address without a port. */
static int
acl_source(struct parse_state *ps, struct conf_acl *a, const char *value)
{
	char q[QUOTE_MAX];
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->source.ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->source.ss;
	memset(&a->source, 0, sizeof(a->source));
	if (inet_pton(AF_INET, value, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		a->source.len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, value, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		a->source.len = sizeof(*s6);
	} else {
		conf_fail(ps, ps->lineno, "backend-source: %s is not an IPv4 or IPv6 address (no "
		          "port: the system picks one)", conf_quote(value, q));
		return -1;
	}
	a->has_source = true;
	return 0;
}

/* The [acl] being parsed, and its parse-time lines. */
static struct aclp *
cur_acl(struct parse_state *ps)
{
	return &ps->ap->acls[ps->ap->n_acls - 1];
}

int
conf_acl_set_address(struct parse_state *ps, const struct conf_keydef *d, void *obj,
                     const char *value)
{
	struct conf_acl *a = cur_acl(ps)->acl;
	struct cidr list[CONF_MAX_ALLOW];
	size_t n = 0;
	(void)d, (void)obj;
	if (conf_set_cidrs(ps, "address", value, list, &n) < 0)
		return -1;
	if (n == 0) {
		conf_fail(ps, ps->lineno, "address: needs at least one address or prefix "
		          "(without the key: any address)");
		return -1;
	}
	if ((a->addr = malloc(n * sizeof(*a->addr))) == NULL) {
		conf_fail(ps, ps->lineno, "out of memory");
		return -1;
	}
	memcpy(a->addr, list, n * sizeof(*a->addr));
	a->n_addr = n;
	return 0;
}

int
conf_acl_set_client_cert(struct parse_state *ps, const struct conf_keydef *d, void *obj,
                         const char *value)
{
	(void)d, (void)obj;
	cur_acl(ps)->cert_line = ps->lineno;
	return acl_certs(ps, cur_acl(ps)->acl, value);
}

int
conf_acl_set_tsig_key(struct parse_state *ps, const struct conf_keydef *d, void *obj,
                      const char *value)
{
	struct aclp *al = cur_acl(ps);
	const char *p = value;
	uint8_t wire[DNAME_MAXLEN];
	char q[QUOTE_MAX], tok[TOKEN_MAX];
	(void)d, (void)obj;
	if (conf_next_token(&p, tok) == 0 || conf_next_token(&p, tok) > 0 ||
	    strlen(value) >= DNAME_TEXT_MAX || dname_from_text(value, wire) <= 1) {
		conf_fail(ps, ps->lineno, "tsig-key: %s is not one key name (of a [key NAME] "
		          "section)", conf_quote(value, q));
		return -1;
	}
	al->tsig_line = ps->lineno;
	if ((al->tsig_name = strdup(value)) == NULL) {
		conf_fail(ps, ps->lineno, "out of memory");
		return -1;
	}
	return 0;
}

int
conf_acl_set_backend_source(struct parse_state *ps, const struct conf_keydef *d, void *obj,
                            const char *value)
{
	(void)d, (void)obj;
	cur_acl(ps)->source_line = ps->lineno;
	return acl_source(ps, cur_acl(ps)->acl, value);
}

const char *
conf_acl_section_label(const struct parse_state *ps, char buf[LABEL_MAX])
{
	if (ps->sec == SEC_KEY)
		snprintf(buf, LABEL_MAX, "[key %s]", ps->conf->keys[ps->conf->n_keys - 1].name);
	else
		snprintf(buf, LABEL_MAX, "[acl %s]", ps->ap->acls[ps->ap->n_acls - 1].acl->name);
	return buf;
}

const struct conf_acl *
conf_acl_find(const struct parse_state *ps, const char *name)
{
	if (ps->ap == NULL)
		return NULL;
	return conf_itab_find(&ps->ap->names, name_hash(name), name, acl_name_eq);
}

int
conf_acl_first_line(const struct parse_state *ps, const char **what)
{
	if (ps->ap == NULL)
		return 0;
	*what = ps->ap->first_what;
	return ps->ap->first_line;
}

/* ---- the end ----------------------------------------------------------------- */

static int
finish_keys(struct parse_state *ps)
{
	for (size_t i = 0; i < ps->conf->n_keys; i++) {
		const struct keyp *kp = &ps->ap->keys[i];
		if (kp->secret != 0 && !kp->has_alg) {
			conf_fail(ps, kp->header, "[key %s] has a secret but no algorithm (hmac-sha256, "
			          "hmac-sha384, hmac-sha512, hmac-sha1)", ps->conf->keys[i].name);
			return -1;
		}
	}
	return 0;
}

static int
finish_acl(struct parse_state *ps, struct aclp *al)
{
	struct conf *c = ps->conf;
	struct conf_acl *a = al->acl;
	char q[QUOTE_MAX], be[NETADDR_TEXT_MAX];
	uint8_t wire[DNAME_MAXLEN];
	int len = al->tsig_name != NULL ? dname_from_text(al->tsig_name, wire) : -1;
	if (al->tsig_name != NULL && (len < 0 || (a->key = key_find(c, wire, (size_t)len)) == NULL)) {
		conf_fail(ps, al->tsig_line, "tsig-key: %s is not defined (no [key %s] section)",
		          conf_quote(al->tsig_name, q), al->tsig_name);
		return -1;
	}
	if (a->n_addr == 0 && a->n_certs == 0 && a->key == NULL) {
		conf_fail(ps, al->header, "[acl %s] has no condition (address, client-cert or "
		          "tsig-key): it would admit every client; for that, write address = "
		          "0.0.0.0/0 ::/0", a->name);
		return -1;
	}
	if (a->n_certs > 0 && c->inbound.client_ca == NULL) {
		conf_fail(ps, al->cert_line, "client-cert needs [inbound] client-ca (without it no "
		          "client certificate is asked for, so this ACL would admit nobody)");
		return -1;
	}
	if (a->has_source && a->source.ss.ss_family != c->inbound.backend.ss.ss_family) {
		netaddr_format_hostport((const struct sockaddr *)&c->inbound.backend.ss, be);
		conf_fail(ps, al->source_line, "backend-source: not the address family of backend %s",
		          be);
		return -1;
	}
	return 0;
}

int
conf_acl_finish(struct parse_state *ps)
{
	if (ps->ap == NULL)
		return 0;
	if (finish_keys(ps) < 0)
		return -1;
	for (size_t i = 0; i < ps->ap->n_acls; i++)
		if (finish_acl(ps, &ps->ap->acls[i]) < 0)
			return -1;
	return 0;
}

void
conf_acl_parse_free(struct parse_state *ps)
{
	struct aparse *ap = ps->ap;
	if (ap == NULL)
		return;
	for (size_t i = 0; i < ap->n_acls; i++)
		free(ap->acls[i].tsig_name);
	free(ap->keys);
	free(ap->acls);
	free(ap->names.e);
	free(ap);
	ps->ap = NULL;
}

void
conf_acl_free(struct conf *conf)
{
	for (size_t i = 0; i < conf->n_keys; i++)
		free(conf->keys[i].secret_file);
	if (conf->keys != NULL)
		explicit_bzero(conf->keys, conf->n_keys * sizeof(*conf->keys));   /* secrets */
	free(conf->keys);
	for (size_t i = 0; i < conf->n_acls; i++) {
		struct conf_acl *a = conf->acls[i];
		for (size_t j = 0; j < a->n_certs; j++)
			free(a->certs[j]);
		free(a->certs);
		free(a->addr);
		free(a);
	}
	free(conf->acls);
}

/* ---- print ------------------------------------------------------------------- */

static void
print_key(const struct conf_key *k, FILE *out, unsigned flags)
{
	char b64[4 * ((TSIG_SECRET_MAX + 2) / 3) + 1];
	fputs("\n[key ", out);
	conf_print_wire_name(k->tsig.name, out);
	fprintf(out, "]\nalgorithm = %s\n", tsig_alg_text(k->tsig.alg));
	if (k->secret_file != NULL) {
		fprintf(out, "secret-file = %s\n", k->secret_file);
	} else if (k->has_secret && (flags & CONF_PRINT_SECRETS)) {
		conf_base64_encode(k->tsig.secret, k->tsig.secret_len, b64);
		fprintf(out, "secret = %s\n", b64);
		explicit_bzero(b64, sizeof(b64));
	} else if (k->has_secret) {
		fprintf(out, "# secret = (%zu octets, not shown)\n", k->tsig.secret_len);
	} else {
		fputs("# no secret: only the key name is checked\n", out);
	}
}

static void
print_acl(const struct conf_acl *a, FILE *out)
{
	char buf[NETADDR_TEXT_MAX];
	fprintf(out, "\n[acl %s]\n", a->name);
	if (a->n_addr > 0) {
		conf_print_cidrs("address", a->addr, a->n_addr, out);
		fputc('\n', out);
	}
	if (a->n_certs > 0) {
		fputs("client-cert =", out);
		for (size_t i = 0; i < a->n_certs; i++)
			fprintf(out, " %s", a->certs[i]);
		fputc('\n', out);
	}
	if (a->key != NULL) {
		fputs("tsig-key = ", out);
		conf_print_wire_name(a->key->tsig.name, out);
		fputc('\n', out);
	}
	if (a->has_source) {
		const struct sockaddr_in *s4 = (const void *)&a->source.ss;
		const struct sockaddr_in6 *s6 = (const void *)&a->source.ss;
		if (a->source.ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
		fprintf(out, "backend-source = %s\n", buf);
	}
}

void
conf_acl_print(const struct conf *conf, FILE *out, unsigned flags)
{
	for (size_t i = 0; i < conf->n_keys; i++)
		print_key(&conf->keys[i], out, flags);
	for (size_t i = 0; i < conf->n_acls; i++)
		if (conf->acls[i]->name[0] != '\0')
			print_acl(conf->acls[i], out);
}
