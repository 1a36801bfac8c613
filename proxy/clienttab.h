/* clienttab.h - per-client state for transfer limits (PRX-04, XOT-10): one
 * entry per client key, holding the token bucket for transfer starts, the
 * number of transfers in progress (max-transfers-per-client) and the last
 * use. The table has a fixed budget of entries (client-table-size, default
 * CLIENTTAB_DEFAULT_SIZE), all allocated by clienttab_new: a lookup never
 * allocates, so a client cycling through millions of IPv6 addresses cannot
 * grow it; at the budget, a new key evicts the least recently used entry
 * that has no transfer in progress.
 *
 * The key is an opaque byte string, at most CLIENTKEY_MAX bytes, whose
 * first byte is its type (enum clientkey_type): a client-certificate
 * identity or TSIG key name when there is one, else the address grouped by
 * the IPv6 prefix. The type byte keeps an identity, a TSIG name and an
 * address with the same bytes apart. clientkey_addr and clientkey_name
 * build them.
 *
 * Entry lifetime: an entry with transfers > 0 is never evicted, so a pointer
 * taken with clienttab_get and held from clienttab_transfer_begin to
 * clienttab_transfer_end stays valid for the whole transfer (as long as the
 * table itself lives: free or replace it only when no transfer runs). An
 * entry with no transfer may be evicted by the next clienttab_get of another
 * key: do not keep that pointer.
 *
 * Not thread-safe (one event loop). */
#ifndef XP_CLIENTTAB_H
#define XP_CLIENTTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxy/lib/bucket.h"

#define CLIENTTAB_DEFAULT_SIZE 65536
#define CLIENTTAB_MAX_SIZE (1u << 30)     /* indices are 32-bit */

/* The first byte of a key. */
enum clientkey_type {
	CLIENTKEY_NONE = 0,     /* an address of another family: all share one key */
	CLIENTKEY_ADDR4 = 1,    /* + 4 bytes: IPv4, also IPv4-mapped IPv6 */
	CLIENTKEY_ADDR6 = 2,    /* + 16 bytes: IPv6, bits past the prefix zero */
	CLIENTKEY_CERT = 3,     /* + the client-certificate identity */
	CLIENTKEY_TSIG = 4,     /* + the TSIG key name (wire form, lowercase) */
};

#define CLIENTKEY_MAX 256       /* type byte + up to 255 bytes */

struct clientkey {
	size_t len;                     /* 1..CLIENTKEY_MAX */
	uint8_t b[CLIENTKEY_MAX];
};

/* The key of a client known by its address: netaddr_group(sa, v6_prefix)
 * (port dropped, IPv6 cut to its v6_prefix, e.g. 64), with IPv4-mapped IPv6
 * (a dual-stack socket) keyed as the IPv4 address. */
void clientkey_addr(struct clientkey *k, const struct sockaddr *sa, unsigned v6_prefix);

/* The key of a client known by name: type CLIENTKEY_CERT or CLIENTKEY_TSIG
 * and the name's bytes. A name longer than 255 bytes is cut at 255: two such
 * names that share their first 255 bytes share an entry (stricter, never
 * looser). */
void clientkey_name(struct clientkey *k, enum clientkey_type type, const void *name, size_t len);

/* One client. The caller reads `transfers` and takes from `starts`
 * (bucket_take); the rest is the table's. */
struct client_entry {
	struct bucket starts;           /* transfer starts (rate limit) */
	double last_use;                /* clienttab_get / transfer_end time */
	unsigned transfers;             /* in progress; > 0: never evicted */
	/* private to clienttab.c */
	uint32_t lru_prev, lru_next;    /* 1-based indices, 0 = none; not on the list while busy */
	uint32_t hnext;                 /* hash chain, 1-based, 0 = end */
	uint32_t hash;
	uint16_t key_len;
	uint8_t key[CLIENTKEY_MAX];
};

struct clienttab;

/* A table of max_entries entries (1..CLIENTTAB_MAX_SIZE): 304 bytes each
 * (struct client_entry) plus a 4-byte hash head per power-of-two slot, so
 * 19.3 MiB at the default 65,536. It is reserved zeroed here (calloc:
 * fresh pages) and becomes resident only as entries are first used: about
 * 0.6 MiB for 1,000 clients, all of it once that many distinct clients have
 * been seen. NULL if max_entries is out of range or out of memory. */
struct clienttab *clienttab_new(size_t max_entries);

/* Frees the table (NULL is fine). Entry pointers die with it. */
void clienttab_free(struct clienttab *t);

/* The entry of key (len bytes, as built by clientkey_*), found or created
 * with a full bucket and no transfers; now (seconds) becomes its last use
 * and it becomes the most recently used. At the budget, creating evicts the
 * least recently used entry without a transfer in progress. NULL when every
 * entry has a transfer in progress (the caller refuses the transfer:
 * SERVFAIL, "transfer limit", XOT-10), or when len is 0 or over
 * CLIENTKEY_MAX. O(1); never allocates. */
struct client_entry *clienttab_get(struct clienttab *t, const void *key, size_t len, double now);

/* The entry of key if there is one, without creating it or changing its
 * LRU position (for tests and logs). */
struct client_entry *clienttab_find(const struct clienttab *t, const void *key, size_t len);

/* One more transfer on e (from clienttab_get): while any runs, e is pinned. */
void clienttab_transfer_begin(struct clienttab *t, struct client_entry *e);

/* One transfer on e has ended (e is still valid: it was pinned); when it was
 * the last, e becomes evictable again, as the most recently used, with now
 * as its last use. Harmless on an entry with no transfer. */
void clienttab_transfer_end(struct clienttab *t, struct client_entry *e, double now);

/* Entries in use (<= the budget). */
size_t clienttab_count(const struct clienttab *t);

/* Entries with at least one transfer in progress. */
size_t clienttab_busy(const struct clienttab *t);

/* The budget given to clienttab_new. */
size_t clienttab_capacity(const struct clienttab *t);

/* The admission check for one transfer start, in order: the table
 * (CLIENT_TABLE_FULL: every entry busy), the client's concurrent transfers
 * (max_transfers, 0 = no cap), then its start rate (burst per per_seconds,
 * burst 0 = no limit; a token is taken only when the other checks passed).
 * On CLIENT_ADMIT_OK the transfer has begun and *out is the entry to give
 * clienttab_transfer_end when it ends; otherwise *out is NULL. Every refusal
 * is SERVFAIL (XOT-10: a transient error). */
enum client_admit {
	CLIENT_ADMIT_OK = 0,
	CLIENT_TABLE_FULL,      /* log as "transfer limit" */
	CLIENT_OVER_TRANSFERS,  /* max-transfers-per-client reached */
	CLIENT_OVER_RATE,       /* no start token left */
};
enum client_admit clienttab_admit(struct clienttab *t, const void *key, size_t len,
                                  unsigned max_transfers, unsigned burst, double per_seconds,
                                  double now, struct client_entry **out);

#endif
