/* conf_int.h - private to conf/: the parse state and what the parts of the
 * loader share. conf_load.c: the reader, sections, the checks at the end,
 * load and free; conf_schema.c: the table of keys and the value parsers;
 * conf_print.c: -t and --dump-keys; conf_acl.c: [key] and [acl];
 * conf_zone.c: [zone], the zones-file, the zone hash and the address index;
 * conf_util.c: helpers; conf.c: what the daemon calls on a loaded conf. */
#ifndef XP_CONF_INT_H
#define XP_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"

#define QUOTE_MAX 80                    /* quoted value in messages */
#define TOKEN_MAX 128                   /* one listen/allow entry */
#define LABEL_MAX (DNAME_TEXT_MAX + 16) /* "[zone NAME]" */

enum section { SEC_NONE, SEC_GLOBAL, SEC_INBOUND, SEC_ZONE, SEC_OUTBOUND, SEC_KEY, SEC_ACL };

/* Rows of conf_schema.c's table at most (a parse state counts lines per row). */
#define CONF_KEYS_MAX 96

/* Lines of one [outbound] section, for the checks made at the end. */
struct outbound_lines {
	int header;
	int listen;                         /* 0: no listen key */
};

struct aparse;                          /* conf_acl.c's parse-time state */
struct zparse;                          /* conf_zone.c's */

struct parse_state {
	struct conf *conf;
	const char *name;                   /* file name for messages */
	const char *base;                   /* relative paths resolve against this file's
	                                     * directory; NULL: the current directory */
	const char *text;                   /* input, not NUL-terminated */
	size_t len, pos;
	int lineno;                         /* line last handed to inih */

	enum section sec;
	int global_line, inbound_line;      /* 0: not seen */
	int key_line[CONF_KEYS_MAX];        /* per conf_keys[] row: 0 not seen (in this
	                                     * section, for repeatable ones) */
	struct outbound_lines *ob_lines;    /* one per conf->outbound[] */
	size_t ob_cap;
	struct aparse *ap;                  /* NULL until a [key] or [acl] opens */
	struct zparse *zp;                  /* NULL until a [zone] opens, or the end */

	bool failed;
	const char *err_file;               /* NULL: the message is about `name` */
	int err_line;                       /* 0: message without a line */
	char reason[CONF_ERR_MAX];
};

/* ---- conf_load.c ---- */

void conf_fail(struct parse_state *ps, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same about another file (the zones-file): "FILE:LINE: reason". */
void conf_fail_file(struct parse_state *ps, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "[outbound NAME]", or "[outbound]" when unnamed. */
const char *conf_outbound_label(const struct conf_outbound *ob, char buf[LABEL_MAX]);

/* ---- conf_schema.c ---- */

/* Line where the current section set key (sec, name); 0: not set. */
int conf_key_line(const struct parse_state *ps, enum section sec, const char *name);

/* CIDR entries of value appended to list/n (at most CONF_MAX_ALLOW). */
int conf_set_cidrs(struct parse_state *ps, const char *key, const char *value,
                   struct cidr *list, size_t *n);

/* A copy of value into *dst (freed first): not empty, not starting with a
 * comment character. */
int conf_set_path(struct parse_state *ps, const char *key, const char *value, char **dst);

/* ---- conf_util.c ---- */

/* s as a double-quoted, escaped, possibly shortened string for messages. */
const char *conf_quote(const char *s, char out[QUOTE_MAX]);

/* Next whitespace-separated token of *p into tok (cut at TOKEN_MAX - 1);
 * returns its full length, 0 at the end. */
size_t conf_next_token(const char **p, char tok[TOKEN_MAX]);

/* Next blank-separated word of *p, NUL-terminated in place; NULL at the end. */
char *conf_next_word(char **p);

/* Strict base64 (padding optional but complete, zero unused bits); the
 * decoded length, or -1. */
int conf_base64_decode(const char *s, uint8_t *out, size_t max);
/* With padding; out holds 4 * ((n + 2) / 3) + 1 characters. */
void conf_base64_encode(const uint8_t *in, size_t n, char *out);

/* rel against the directory of conf_path (made absolute); NULL on OOM. */
char *conf_resolve_path(const char *conf_path, const char *rel);

/* A name for [acl NAME] / [outbound NAME]: up to 63 letters, digits, '-',
 * '_', '.' (empty allowed when allow_empty). */
bool conf_name_ok(const char *name, bool allow_empty);

/* A domain name for a section header or a value: letters, digits, '-',
 * '_', '*' as they are, other octets as \DDD, so dname_from_text reads it back. */
void conf_print_wire_name(const uint8_t *wire, FILE *out);

/* "key = a b c" without the newline. */
void conf_print_cidrs(const char *key, const struct cidr *list, size_t n, FILE *out);

/* arr (of *cap elements of size) grown to hold n + 1 elements: arr itself,
 * a new block (*cap updated), or NULL (out of memory; arr unchanged). */
void *conf_grow(void *arr, size_t *cap, size_t n, size_t size);

/* A hash of data (8 octets a step: zone names, pointer lists), continuing
 * from h (start with CONF_HASH_INIT). Not for untrusted input. */
#define CONF_HASH_INIT 2166136261u
uint32_t conf_hash(uint32_t h, const void *data, size_t len);

/* An open-addressing set of pointers by hash (for interning, parse time
 * only): eq(p, key) tells whether stored p is the key sought. */
struct conf_ient {
	uint32_t h;
	void *p;                            /* NULL: empty slot */
};
struct conf_itab {
	struct conf_ient *e;                /* mask + 1 slots; NULL while empty */
	size_t mask, n;
};
typedef bool (*conf_ieq_fn)(const void *p, const void *key);
void *conf_itab_find(const struct conf_itab *t, uint32_t h, const void *key, conf_ieq_fn eq);
int conf_itab_add(struct conf_itab *t, uint32_t h, void *p);   /* 0, or -1 (OOM) */

/* ---- conf_acl.c: [key NAME] and [acl NAME] ---- */

int conf_key_open(struct parse_state *ps, const char *arg);
int conf_acl_open(struct parse_state *ps, const char *arg);

/* "[key NAME]" or "[acl NAME]" for the section being parsed. */
const char *conf_acl_section_label(const struct parse_state *ps, char buf[LABEL_MAX]);

/* A new ACL in conf->acls (zeroed: the caller fills it), or NULL (reported). */
struct conf_acl *conf_acl_new(struct parse_state *ps);

/* The [acl NAME] of that name (case-insensitive), or NULL. */
const struct conf_acl *conf_acl_find(const struct parse_state *ps, const char *name);

/* After the whole file: keys need an algorithm with a secret, ACLs a
 * condition, their tsig-key a [key]; client-cert needs client-ca. */
int conf_acl_finish(struct parse_state *ps);

/* Line of the first [key] or [acl] header (0: none) and which. */
int conf_acl_first_line(const struct parse_state *ps, const char **what);

void conf_acl_parse_free(struct parse_state *ps);
void conf_acl_free(struct conf *conf);
void conf_acl_print(const struct conf *conf, FILE *out, unsigned flags);

/* ---- conf_zone.c: [zone NAME], the zones-file, the zone hash ---- */

int conf_zone_open(struct parse_state *ps, const char *arg);

/* "[zone NAME]" for the section being parsed. */
const char *conf_zone_section_label(const struct parse_state *ps, char buf[LABEL_MAX]);

/* After the whole file (and conf_acl_finish): the [zone] sections' ACLs,
 * the zones-file, the address index, the section 7.5 count. */
int conf_zone_finish(struct parse_state *ps);

/* Line of the first [zone] header (0: none). */
int conf_zone_first_line(const struct parse_state *ps);

void conf_zone_parse_free(struct parse_state *ps);
void conf_zone_free(struct conf *conf);

/* zones-file and the [zone] sections, for conf_print. */
void conf_zone_print(const struct conf *conf, FILE *out);

#endif
