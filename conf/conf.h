/* conf.h - the configuration: loaded from an INI file, immutable once loaded. */
#ifndef XP_CONF_H
#define XP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proxy/lib/dname.h"
#include "proxy/lib/netaddr.h"
#include "proxy/lib/tsig.h"

#define CONF_MAX_LISTEN 16
#define CONF_MAX_ALLOW 64                  /* entries of one allow/address/client-cert line */
#define CONF_MAX_ZONE_ACLS 64              /* ACL names of one zone */
#define CONF_MAX_ZONES 16000000
#define CONF_MAX_PRIMARIES 8
#define CONF_MAX_PINS 8
#define CONF_MAX_OUTBOUND 64
#define CONF_OUTBOUND_NAME_MAX 64          /* 63 characters + NUL */
#define CONF_PIN_LEN 32                    /* SHA-256 of the SubjectPublicKeyInfo */
#define CONF_ERR_MAX 512

/* A [key NAME] section: a TSIG key (RFC 8945) an ACL can require. */
struct conf_key {
	char name[DNAME_TEXT_MAX];         /* presentation, lowercase, trailing dot */
	bool has_secret;                   /* false: only the name is checked */
	struct tsig_key tsig;              /* name/alg always set; secret when has_secret */
	char *secret_file;                 /* the secret came from this file (resolved like
	                                    * cert), or NULL (inline secret, or none) */
};

/* An [acl NAME] section, or the implicit ACL of a zone's allow= (name "",
 * address condition only). Every condition given must hold. */
struct conf_acl {
	char name[64];                     /* "" for the implicit one a zone's allow= makes */
	struct cidr *addr; size_t n_addr;  /* any of them; 0 = any address */
	char **certs; size_t n_certs;      /* any of them; 0 = no certificate condition.
	                                    * "sha256:BASE64" (SPKI pin) or a DNS name,
	                                    * lowercase, no trailing dot, maybe "*." first:
	                                    * tls_identity_matches patterns */
	const struct conf_key *key;        /* NULL = no TSIG condition */
	bool has_source; struct netaddr source;   /* backend-source (port 0) */
};

/* One zone that may be transferred, from a [zone NAME] section or a line of
 * the zones-file. Stored compactly (100,000 zones fit in a few MB). */
struct conf_zone {
	const struct conf_acl *const *acls; size_t n_acls;   /* any one admits; 0 = nobody.
	                                    * Interned: zones with the same ACLs share one list */
	struct conf_zone *hnext;           /* hash chain (private) */
	uint8_t wire_len;
	uint8_t wire[];                    /* lowercase wire name (wire_len octets) */
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
	unsigned backend_timeout;          /* seconds a primary has for the first octet of an
	                                    * answer, per attempt; then the next primary */
	unsigned transfer_timeout;         /* seconds without a complete message while answers
	                                    * are owed */
	unsigned queue_timeout;            /* seconds a query may wait for a session slot
	                                    * (max-sessions) before its set-up fails */
	unsigned max_clients;              /* local TCP connections at once */
	unsigned max_udp_queries;          /* local UDP queries in flight at once */
};

/* [inbound]: the TLS listener in front of the legacy primary. */
struct conf_inbound {
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
	unsigned max_handshakes_per_ip;    /* an address's share of the pending handshakes (IPv6
	                                    * per ipv6_prefix), enforced at max_handshakes; 0 = none */
	unsigned backend_timeout;          /* seconds: backend connect, and first byte of an answer */

	char *client_ca;                   /* mutual TLS: verify client certificates against
	                                    * this CA only; NULL = no client certificate asked */
	unsigned max_transfers;            /* concurrent AXFR/IXFR through [inbound]; 0 = no cap */
	unsigned max_transfers_per_client; /* per client key; 0 = no cap */
	unsigned rate_n, rate_per;         /* transfer-rate: rate_n starts per rate_per
	                                    * seconds per client key; 0/0 = off */
	unsigned client_table_size;        /* per-client table entries (LRU) */
	bool proxy_v2;                     /* PROXY v2 header on each backend connection */
	char *zones_file;                  /* resolved like cert; NULL if none */
};

/* Lifetime rule (issue 13, B12). A reload (SIGHUP) swaps rt->conf (proxy/direction.h) and
 * drops the server's reference, which frees the old snapshot at once when
 * nothing else holds one; it happens between any two event-loop callbacks.
 * So anything that outlives the callback in which it read the configuration
 * (a query's token, a session, a relay's in-flight entry, a pool's
 * settings) and keeps a pointer into it (a [key], an ACL, a zone, an
 * outbound section, a path string, a CA set) must either hold a reference
 * to that snapshot (conf_ref, released with conf_unref when it lets go) or
 * keep a copy of what it needs (inbound tokens copy the TSIG key:
 * policy_signer). Code that only reads rt->conf within one callback needs
 * neither. */
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
	struct cidr metrics_allow[CONF_MAX_ALLOW];   /* who may connect to metrics; default
	                                    * 127.0.0.0/8 ::1 */
	size_t n_metrics_allow;
	unsigned metrics_max_conns_per_ip; /* open metrics connections per address */
	unsigned tsig_max_fudge;           /* seconds: TSIG time window cap (RFC 8945 §5.2.3) */
	int user_line;                     /* line of user = (0: unset), for start-up errors */
	int inline_secret_line;            /* first [key] secret = line (0: none) */
	size_t n_inline_secrets;           /* [key] sections with an inline secret */

	/* [inbound]: optional when there is an [outbound]; without it
	 * inbound.n_listen and n_zones are 0 and inbound.cert/key are NULL */
	bool has_inbound;
	struct conf_inbound inbound;

	struct conf_key *keys;             /* [key NAME] sections, in file order */
	size_t n_keys;
	struct conf_acl **acls;            /* every ACL: [acl NAME] sections and the implicit
	                                    * ones of allow= (name "", one per distinct list),
	                                    * in order of appearance */
	size_t n_acls;

	/* zones: [zone] sections in file order, then the zones-file's lines */
	struct conf_zone **zones;
	size_t n_zones;
	size_t n_section_zones;            /* zones[0 .. n_section_zones) are [zone] sections */

	/* private to conf_zone.c */
	struct conf_zone **zhash;          /* conf_zone_find: chains by hash of the wire name */
	size_t zhash_mask;
	struct cidr *any_allow;            /* addresses of every ACL some zone uses, sorted, unique */
	size_t n_any_allow;
	bool any_address;                  /* some zone uses an ACL without an address condition */
	size_t n_addr_only;                /* conf_addr_only_zones */
	struct conf_arena *arena;          /* zones and ACL lists */

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

/* The effective settings, in the same INI syntax (for -t): what it prints
 * parses back to the same configuration, except that an inline TSIG
 * secret is replaced by a comment (-t output may end up in a journal); a
 * key read from secret-file prints as its path. Zones read from zones-file
 * are not repeated: it prints `zones-file = PATH` (with their count). */
void conf_print(const struct conf *conf, FILE *out);

#define CONF_PRINT_SECRETS 1u              /* print inline secrets too (round-trip tests) */
void conf_print_flags(const struct conf *conf, FILE *out, unsigned flags);

/* Every key, one a line: section, name, type, default ("-": none), "reload" or
 * "restart" (a reload does not apply it) and a one-line help, tab-separated
 * (xotproxy --dump-keys; the install test checks xotproxy.conf(5) with it). */
void conf_dump_keys(FILE *out);

/* True if some ACL that some zone uses admits sa by its address (an ACL
 * without an address condition admits every address): a client for which
 * this is false can never transfer anything, so it is closed at accept. */
bool conf_address_allowed(const struct conf *conf, const struct sockaddr *sa);

/* Zones open to client addresses alone: one of their ACLs has neither
 * client-cert nor tsig-key (RFC 9103 section 7.5 wants mTLS, or addresses
 * plus TSIG); see conf_log_warnings. */
size_t conf_addr_only_zones(const struct conf *conf);

/* Logs conf_load's warnings (the zones of conf_addr_only_zones: each one
 * when there are few, else their count and the first names). */
void conf_log_warnings(const struct conf *conf);

/* True if metrics-allow admits sa (a scraper's address). */
bool conf_metrics_allowed(const struct conf *conf, const struct sockaddr *sa);

/* True if the outbound section's allow list admits sa (a local client). */
bool conf_outbound_allowed(const struct conf_outbound *ob, const struct sockaddr *sa);

/* Zone with exactly this (lowercase wire) apex, or NULL. O(1): a hash. */
const struct conf_zone *conf_zone_find(const struct conf *conf, const uint8_t *wire, size_t len);

/* The zone's name in presentation form, lowercase, with the trailing dot. */
void conf_zone_text(const struct conf_zone *z, char out[DNAME_TEXT_MAX]);

#endif
