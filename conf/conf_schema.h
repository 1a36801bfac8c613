/* conf_schema.h - private to conf/: the one table of configuration keys.
 *
 * Every key of every section has one row (conf_keys[]): its section, name,
 * type, bounds, default, where it is stored, whether a reload applies it,
 * and a one-line help. The parser (conf_load.c), the defaults, the -t
 * printer (conf_print.c) and `xotproxy --dump-keys` (which the install test
 * compares with xotproxy.conf(5)) all read it.
 *
 * Adding an integer key: one row here (conf_schema.c) and the field it names
 * in struct conf, conf_inbound or conf_outbound (conf.h); nothing else.
 *
 * Storage: a [global] row's offset is into struct conf, an [inbound] row's
 * into struct conf_inbound, an [outbound] row's into the struct
 * conf_outbound being parsed. Rows of the many-instance sections [zone],
 * [key] and [acl] have a setter of their own (conf_acl.c, conf_zone.c) that
 * finds the instance in the parse state, and are printed by those files. */
#ifndef XP_CONF_SCHEMA_H
#define XP_CONF_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "conf.h"
#include "conf_int.h"

enum conf_type {
	CT_UINT,                 /* unsigned in [min, max]: digits only */
	CT_ENUM,                 /* int: the index of one of `words` */
	CT_BOOL,                 /* bool: words[0] false, words[1] true */
	CT_PATH,                 /* char *: a file name, NULL when unset */
	CT_NAME,                 /* char *: a user or host name, NULL when unset */
	CT_ADDR,                 /* struct netaddr: address[:port] */
	CT_ADDR_LIST,            /* struct netaddr[max] + size_t count: address[:port] ... */
	CT_CIDR_LIST,            /* struct cidr[CONF_MAX_ALLOW] + size_t count: prefix ... */
	CT_RATE,                 /* N/SECONDS or off */
	CT_PINS,                 /* SPKI SHA-256 pins, base64 */
	CT_DNAME,                /* a domain name */
	CT_NAMES,                /* names, space-separated */
	CT_SECRET,               /* base64 */
	CT_COUNT
};

#define CK_RESTART 1u            /* a reload does not apply it: read at start only */
#define CK_RELATIVE 2u           /* a path resolved against the config file's directory
                                  * once the file is parsed (conf_load) */
#define CK_LATE_DEFAULT 4u       /* the default is applied when the section ends without
                                  * the key, not before the file is read */

struct conf_keydef;

/* Sets the key from value: obj is the section's struct (NULL for [zone],
 * [key], [acl] rows). On error reports with conf_fail and returns -1. */
typedef int conf_set_fn(struct parse_state *ps, const struct conf_keydef *d, void *obj,
                        const char *value);
/* Prints "name = value\n" (or nothing when unset) for -t. */
typedef void conf_print_fn(const struct conf *conf, const struct conf_keydef *d,
                           const void *obj, FILE *out);

struct conf_keydef {
	enum section sec;
	const char *name;
	enum conf_type type;
	unsigned min, max;       /* CT_UINT: bounds; CT_ADDR_LIST: most entries */
	unsigned port;           /* CT_ADDR, CT_ADDR_LIST: the default port */
	const char *const *words;    /* CT_ENUM, CT_BOOL: NULL-terminated */
	const char *def;         /* the default, as written in the file; NULL: none (unset,
	                          * required, or made by the section) */
	size_t off;              /* offsetof the field in the section's struct */
	size_t count_off;        /* CT_ADDR_LIST, CT_CIDR_LIST, CT_PINS: offsetof the size_t
	                          * count */
	unsigned flags;          /* CK_* */
	conf_set_fn *set;        /* NULL: by type */
	conf_print_fn *print;    /* NULL: by type */
	const char *help;        /* one line */
};

extern const struct conf_keydef conf_keys[];
extern const size_t conf_n_keys;

/* The row of (sec, name), or NULL. */
const struct conf_keydef *conf_key_find(enum section sec, const char *name);

/* Sets a key by its row: the setter, or the type's. */
int conf_key_set(struct parse_state *ps, const struct conf_keydef *d, void *obj, const char *value);

/* Applies the defaults of section sec to obj (its struct); with late, only
 * the CK_LATE_DEFAULT rows whose key the section did not set. */
int conf_key_defaults(struct parse_state *ps, enum section sec, void *obj, bool late);

/* "uint", "path", ...: the type's name for --dump-keys. */
const char *conf_type_name(enum conf_type t);

/* The section's name as --dump-keys prints it: "global", "outbound", ... */
const char *conf_section_name(enum section sec);

/* Prints the rows of section sec (global, inbound, outbound) from obj. */
void conf_print_section(const struct conf *conf, enum section sec, const void *obj, FILE *out);

/* Setters of the [key], [acl] and [zone] rows (conf_acl.c, conf_zone.c):
 * the instance is the one being parsed (obj is NULL). */
conf_set_fn conf_key_set_algorithm, conf_key_set_secret, conf_key_set_secret_file;
conf_set_fn conf_acl_set_address, conf_acl_set_client_cert, conf_acl_set_tsig_key,
	conf_acl_set_backend_source;
conf_set_fn conf_zone_set_allow, conf_zone_set_acl;

/* Printers of keys printed only when set, or with a comment (conf_print.c). */
conf_print_fn conf_print_metrics, conf_print_zones_file, conf_print_rate, conf_print_pins;

/* The field d describes in obj. */
#define CONF_FIELD(obj, d) ((void *)((char *)(obj) + (d)->off))
#define CONF_CFIELD(obj, d) ((const void *)((const char *)(obj) + (d)->off))

#endif
