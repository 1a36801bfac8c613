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
#define CONF_MAX_PRIMARIES 8
#define CONF_MAX_PINS 8
#define CONF_MAX_OUTBOUND 64
#define CONF_OUTBOUND_NAME_MAX 64          /* 63 characters + NUL */
#define CONF_PIN_LEN 32                    /* SHA-256 of the SubjectPublicKeyInfo */
#define CONF_ERR_MAX 512

struct conf_zone {
	uint8_t wire[DNAME_MAXLEN];        /* lowercase wire form */
	size_t wire_len;
	char name[DNAME_TEXT_MAX];         /* presentation, lowercase, trailing dot */
	struct cidr allow[CONF_MAX_ALLOW];
	size_t n_allow;
};

/* One [outbound NAME] section: plaintext TCP/UDP listeners for a local
 * secondary, relayed over TLS to remote XoT primaries. Authentication is
 * strict (RFC 8310): ca + auth_name, or pins, or both; never neither. */
struct conf_outbound {
	char name[CONF_OUTBOUND_NAME_MAX]; /* "" when unnamed (the only [outbound]) */
	struct netaddr listen[CONF_MAX_LISTEN];    /* TCP and UDP; default port 53 */
	size_t n_listen;
	struct cidr allow[CONF_MAX_ALLOW]; /* local clients; default 127.0.0.0/8 ::1 */
	size_t n_allow;
	struct netaddr primary[CONF_MAX_PRIMARIES];  /* tried in order; default port 853 */
	size_t n_primary;
	char *auth_name;                   /* SAN to match, sent as SNI: lowercase, no
	                                    * trailing dot; NULL if unset */
	char *ca;                          /* CA file, or NULL; paths as for cert/key */
	char *client_cert;                 /* mutual TLS: both set, or both NULL */
	char *client_key;
	uint8_t pins[CONF_MAX_PINS][CONF_PIN_LEN];   /* SPKI SHA-256 pins (RFC 7469) */
	size_t n_pins;
	unsigned connect_timeout;          /* seconds: TCP connect + TLS handshake, per primary */
	unsigned idle_timeout;             /* seconds an unused TLS session stays open */
	unsigned max_sessions;             /* TLS sessions per primary */
};

struct conf {
	unsigned refs;                     /* conf_ref/conf_unref; 1 when loaded */
	char *path;                        /* file it was loaded from */
	int log_level;                     /* enum log_level */
	char *user;                        /* drop root to this user after binding, or NULL */
	unsigned shutdown_timeout;         /* seconds in-flight answers get at SIGTERM */
	int log_format;                    /* enum log_format: text or json */
	int log_target;                    /* enum log_target: stderr or syslog */
	bool has_metrics;                  /* metrics = ADDRESS:PORT given */
	struct netaddr metrics;            /* the Prometheus endpoint (HTTP) */
	unsigned metrics_max_zones;        /* zones with their own series; the rest: _other */

	/* [inbound]: optional when there is an [outbound]; without it n_listen
	 * and n_zones are 0 and cert/key are NULL */
	bool has_inbound;
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

	/* [outbound ...] sections, in file order */
	struct conf_outbound *outbound;
	size_t n_outbound;
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

/* True if the outbound section's allow list admits sa (a local client). */
bool conf_outbound_allowed(const struct conf_outbound *ob, const struct sockaddr *sa);

/* Zone with exactly this (lowercase wire) apex, or NULL. */
const struct conf_zone *conf_zone_find(const struct conf *conf, const uint8_t *wire, size_t len);

#endif
