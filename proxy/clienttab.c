/* clienttab.c - the per-client table: a fixed array of entries, a chained
 * hash index over them and a doubly linked LRU list of the idle ones, all
 * by 1-based 32-bit index (0 = none), so zeroed memory is an empty table.
 *
 * Entries are handed out from the array in order until the budget is
 * reached (untouched pages cost no memory); after that a new key takes over
 * the LRU list's tail. Entries with transfers in progress are off the LRU
 * list, so the tail is always evictable and an empty list at the budget
 * means every entry is busy. */
#include "clienttab.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "proxy/lib/netaddr.h"

struct clienttab {
	struct client_entry *entries;   /* [cap] */
	uint32_t *heads;                /* [mask + 1] hash chain heads */
	uint32_t mask;
	uint32_t cap;
	uint32_t used;                  /* entries[0..used) have been handed out */
	uint32_t busy;                  /* entries with transfers > 0 */
	uint32_t lru_head, lru_tail;    /* most / least recently used idle entry */
	uint64_t seed;                  /* keeps chain collisions unpredictable */
};

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void
clientkey_addr(struct clientkey *k, const struct sockaddr *sa, unsigned v6_prefix)
{
	struct sockaddr_storage g;
	netaddr_group(sa, v6_prefix, &g);
	if (g.ss_family == AF_INET) {
		k->b[0] = CLIENTKEY_ADDR4;
		memcpy(k->b + 1, &((const struct sockaddr_in *)&g)->sin_addr, 4);
		k->len = 5;
	} else if (g.ss_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)&g)->sin6_addr.s6_addr;
		bool mapped = memcmp(a, v4mapped, sizeof(v4mapped)) == 0;
		k->b[0] = mapped ? CLIENTKEY_ADDR4 : CLIENTKEY_ADDR6;
		memcpy(k->b + 1, mapped ? a + 12 : a, mapped ? 4 : 16);
		k->len = mapped ? 5 : 17;
	} else {
		k->b[0] = CLIENTKEY_NONE;
		k->len = 1;
	}
}

void
clientkey_name(struct clientkey *k, enum clientkey_type type, const void *name, size_t len)
{
	if (len > CLIENTKEY_MAX - 1)
		len = CLIENTKEY_MAX - 1;
	k->b[0] = (uint8_t)type;
	if (len > 0)
		memcpy(k->b + 1, name, len);
	k->len = 1 + len;
}

/* Seeded FNV-1a 64 with a final avalanche (murmur3 fmix64). */
static uint32_t
key_hash(const struct clienttab *t, const uint8_t *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ t->seed;
	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

static struct client_entry *
at(const struct clienttab *t, uint32_t i)
{
	return i == 0 ? NULL : &t->entries[i - 1];
}

static uint32_t
index_of(const struct clienttab *t, const struct client_entry *e)
{
	return (uint32_t)(e - t->entries) + 1;
}

static void
lru_unlink(struct clienttab *t, struct client_entry *e)
{
	if (e->lru_prev != 0)
		at(t, e->lru_prev)->lru_next = e->lru_next;
	else
		t->lru_head = e->lru_next;
	if (e->lru_next != 0)
		at(t, e->lru_next)->lru_prev = e->lru_prev;
	else
		t->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = 0;
}

static void
lru_push_front(struct clienttab *t, struct client_entry *e)
{
	uint32_t i = index_of(t, e);
	e->lru_prev = 0;
	e->lru_next = t->lru_head;
	if (t->lru_head != 0)
		at(t, t->lru_head)->lru_prev = i;
	else
		t->lru_tail = i;
	t->lru_head = i;
}

static void
hash_unlink(struct clienttab *t, struct client_entry *e)
{
	uint32_t i = index_of(t, e);
	uint32_t *pp = &t->heads[e->hash & t->mask];
	while (*pp != 0 && *pp != i)
		pp = &at(t, *pp)->hnext;
	if (*pp == i)
		*pp = e->hnext;
	e->hnext = 0;
}

static struct client_entry *
lookup(const struct clienttab *t, const uint8_t *key, size_t len, uint32_t h)
{
	for (uint32_t i = t->heads[h & t->mask]; i != 0;) {
		struct client_entry *e = at(t, i);
		if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
			return e;
		i = e->hnext;
	}
	return NULL;
}

struct clienttab *
clienttab_new(size_t max_entries)
{
	if (max_entries == 0 || max_entries > CLIENTTAB_MAX_SIZE)
		return NULL;
	struct clienttab *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	uint32_t buckets = 1;
	while (buckets < max_entries)
		buckets <<= 1;
	t->cap = (uint32_t)max_entries;
	t->mask = buckets - 1;
	/* calloc: large blocks come from mmap, zeroed and not yet touched */
	t->entries = calloc(max_entries, sizeof(*t->entries));
	t->heads = calloc(buckets, sizeof(*t->heads));
	if (t->entries == NULL || t->heads == NULL) {
		clienttab_free(t);
		return NULL;
	}
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)t;
	return t;
}

void
clienttab_free(struct clienttab *t)
{
	if (t == NULL)
		return;
	free(t->entries);
	free(t->heads);
	free(t);
}

/* A free entry for a new key: the next never-used one, else the least
 * recently used idle one (taken out of the index and the list). */
static struct client_entry *
take_slot(struct clienttab *t)
{
	if (t->used < t->cap)
		return &t->entries[t->used++];
	struct client_entry *e = at(t, t->lru_tail);
	if (e == NULL)
		return NULL;                    /* every entry is busy */
	lru_unlink(t, e);
	hash_unlink(t, e);
	return e;
}

struct client_entry *
clienttab_get(struct clienttab *t, const void *key, size_t len, double now)
{
	if (len == 0 || len > CLIENTKEY_MAX)
		return NULL;
	uint32_t h = key_hash(t, key, len);
	struct client_entry *e = lookup(t, key, len, h);
	if (e != NULL) {
		if (e->transfers == 0) {
			lru_unlink(t, e);
			lru_push_front(t, e);
		}
		e->last_use = now;
		return e;
	}
	e = take_slot(t);
	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));               /* a full bucket, no transfers */
	memcpy(e->key, key, len);
	e->key_len = (uint16_t)len;
	e->hash = h;
	e->last_use = now;
	uint32_t *head = &t->heads[h & t->mask];
	e->hnext = *head;
	*head = index_of(t, e);
	lru_push_front(t, e);
	return e;
}

struct client_entry *
clienttab_find(const struct clienttab *t, const void *key, size_t len)
{
	if (len == 0 || len > CLIENTKEY_MAX)
		return NULL;
	return lookup(t, key, len, key_hash(t, key, len));
}

void
clienttab_transfer_begin(struct clienttab *t, struct client_entry *e)
{
	if (e->transfers++ == 0) {
		lru_unlink(t, e);               /* pinned: off the eviction list */
		t->busy++;
	}
}

void
clienttab_transfer_end(struct clienttab *t, struct client_entry *e, double now)
{
	if (e->transfers == 0)
		return;
	e->last_use = now;
	if (--e->transfers == 0) {
		lru_push_front(t, e);
		t->busy--;
	}
}

size_t
clienttab_count(const struct clienttab *t)
{
	return t->used;
}

size_t
clienttab_busy(const struct clienttab *t)
{
	return t->busy;
}

size_t
clienttab_capacity(const struct clienttab *t)
{
	return t->cap;
}

enum client_admit
clienttab_admit(struct clienttab *t, const void *key, size_t len, unsigned max_transfers,
                unsigned burst, double per_seconds, double now, struct client_entry **out)
{
	*out = NULL;
	struct client_entry *e = clienttab_get(t, key, len, now);
	if (e == NULL)
		return CLIENT_TABLE_FULL;
	if (max_transfers != 0 && e->transfers >= max_transfers)
		return CLIENT_OVER_TRANSFERS;
	if (!bucket_take(&e->starts, burst, per_seconds, now))
		return CLIENT_OVER_RATE;
	clienttab_transfer_begin(t, e);
	*out = e;
	return CLIENT_ADMIT_OK;
}
