/* ipcount.c - per-address connection counters in a chained hash table.
 * IPv4-mapped IPv6 addresses count as their IPv4 address. */
#include "ipcount.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct ipcount_entry {
	uint8_t key[16];
	unsigned n;
	struct ipcount_entry *next;
};

/* IPv4 (plain or mapped) becomes ::ffff:a.b.c.d, so both spellings share a key. */
static void
make_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static unsigned
bucket(const uint8_t key[16])
{
	uint32_t h = 2166136261u;                 /* FNV-1a */
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % IPCOUNT_BUCKETS;
}

static struct ipcount_entry **
find(struct ipcount *t, const uint8_t key[16])
{
	struct ipcount_entry **pp = &t->buckets[bucket(key)];
	while (*pp != NULL && memcmp((*pp)->key, key, 16) != 0)
		pp = &(*pp)->next;
	return pp;
}

bool
ipcount_take(struct ipcount *t, const struct sockaddr *sa, unsigned limit)
{
	uint8_t key[16];
	make_key(sa, key);
	struct ipcount_entry **pp = find(t, key);
	if (*pp == NULL) {
		struct ipcount_entry *e = calloc(1, sizeof(*e));
		if (e == NULL)
			return false;
		memcpy(e->key, key, 16);
		*pp = e;
		t->entries++;
	}
	if (limit != 0 && (*pp)->n >= limit)
		return false;
	(*pp)->n++;
	return true;
}

void
ipcount_release(struct ipcount *t, const struct sockaddr *sa)
{
	uint8_t key[16];
	make_key(sa, key);
	struct ipcount_entry **pp = find(t, key);
	struct ipcount_entry *e = *pp;
	if (e == NULL)
		return;
	if (e->n > 0)
		e->n--;
	if (e->n == 0) {
		*pp = e->next;
		free(e);
		t->entries--;
	}
}

unsigned
ipcount_get(const struct ipcount *t, const struct sockaddr *sa)
{
	uint8_t key[16];
	make_key(sa, key);
	struct ipcount_entry **pp = find((struct ipcount *)t, key);
	return *pp != NULL ? (*pp)->n : 0;
}

void
ipcount_clear(struct ipcount *t)
{
	for (unsigned i = 0; i < IPCOUNT_BUCKETS; i++) {
		while (t->buckets[i] != NULL) {
			struct ipcount_entry *e = t->buckets[i];
			t->buckets[i] = e->next;
			free(e);
		}
	}
	t->entries = 0;
}
