/* conf.h - the configuration: loaded from an INI file, immutable once loaded. */
#ifndef XP_CONF_H
#define XP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../proxy/dname.h"
#include "../proxy/netaddr.h"

#define CONF_MAX_LISTEN 16
#define CONF_MAX_ALLOW 64
#define CONF_ERR_MAX 512

struct conf_zone {
	uint8_t wire[DNAME_MAXLEN];        /* lowercase wire form */
	size_t wire_len;
	char name[DNAME_TEXT_MAX];         /* presentation, lowercase, trailing dot */
	struct cidr allow[CONF_MAX_ALLOW];
	size_t n_allow;
};

struct conf {
	unsigned refs;                     /* conf_ref/conf_unref; 1 when loaded */
	char *path;                        /* file it was loaded from */
	int log_level;                     /* enum log_level */
	char *user;                        /* drop root to this user after binding, or NULL */
	unsigned shutdown_timeout;         /* seconds in-flight answers get at SIGTERM */

	/* [inbound] */
	struct netaddr listen[CONF_MAX_LISTEN];
	size_t n_listen;
	char *cert;                        /* absolute, or relative to the config file's dir */
	char *key;
	struct netaddr backend;
	unsigned handshake_timeout;        /* seconds */
	unsigned idle_timeout;             /* seconds */
	unsigned transfer_timeout;         /* seconds without a complete answer message while one is owed */
	unsigned max_clients;              /* concurrent TLS connections */
	unsigned max_clients_per_ip;       /* concurrent connections per client address; 0 = no cap */
	unsigned ipv6_prefix;              /* IPv6 clients are grouped by this prefix for caps */
	unsigned max_handshakes;           /* pending TLS handshakes; the oldest goes at the cap */
	unsigned backend_timeout;          /* seconds: backend connect, and first byte of an answer */

	struct conf_zone *zones;
	size_t n_zones;
	struct cidr *any_allow;            /* every zone's allow entries, sorted, unique */
	size_t n_any_allow;
};

/* Loads and validates FILE. On failure returns NULL and writes
 * "FILE:LINE: reason" (or "FILE: reason") into err. */
struct conf *conf_load(const char *path, char err[CONF_ERR_MAX]);

/* Same, from a string; `name` stands in for the file name in messages and
 * relative paths resolve against the current directory. */
struct conf *conf_parse_string(const char *text, const char *name, char err[CONF_ERR_MAX]);

void conf_free(struct conf *conf);

/* Reference counting, so a reload can swap the configuration while
 * connections finish on the one they started with. */
struct conf *conf_ref(struct conf *conf);
void conf_unref(struct conf *conf);      /* frees at zero; NULL is fine */

/* The effective settings, in the same INI syntax (for -t). */
void conf_print(const struct conf *conf, FILE *out);

/* True if some zone's allow list admits sa: a client for which this is
 * false can never transfer anything, so it is closed at accept. */
bool conf_address_allowed(const struct conf *conf, const struct sockaddr *sa);

/* Zone with exactly this (lowercase wire) apex, or NULL. */
const struct conf_zone *conf_zone_find(const struct conf *conf, const uint8_t *wire, size_t len);

#endif
