/* pool_episode.c - the primaries one query episode has tried (issue 13
 * item 3; see pool.h): kept by address, so a retry judged in the pool that
 * replaced the one it failed in skips the same primary, not the same index. */
#include "pool.h"

/* A primary's address as a key (FNV-1a of its octets): compact enough for
 * every local connection to keep a few. */
static uint64_t
pool_addr_key(const struct netaddr *a)
{
	const uint8_t *b = (const uint8_t *)&a->ss;
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < a->len && i < sizeof(a->ss); i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h ^ a->len;
}

static bool
episode_tried(const struct pool_episode *e, uint64_t key)
{
	for (unsigned i = 0; i < e->n_tried; i++)
		if (e->tried[i] == key)
			return true;
	return false;
}

/* The primaries of p the episode tried, as a skip mask. */
static uint32_t
episode_mask(const struct pool_episode *e, const struct pool *p)
{
	uint32_t mask = 0;
	for (size_t i = 0; i < p->n_primaries; i++)
		if (episode_tried(e, pool_addr_key(&p->primaries[i].addr)))
			mask |= 1u << i;
	return mask;
}

uint32_t
pool_episode_open(struct pool_episode *e, const struct pool *p)
{
	if (!e->retrying) {
		e->n_tried = 0;
		e->stale_retried = false;
	}
	e->retrying = false;
	return episode_mask(e, p);
}

bool
pool_episode_retry(struct pool_episode *e, const struct pool *p, const struct netaddr *failed)
{
	e->retrying = false;
	if (failed != NULL) {
		uint64_t key = pool_addr_key(failed);
		if (!episode_tried(e, key) && e->n_tried < CONF_MAX_PRIMARIES)
			e->tried[e->n_tried++] = key;
	} else {
		if (e->stale_retried)
			return false;
		e->stale_retried = true;
	}
	e->retrying = pool_can_try(p, episode_mask(e, p));
	return e->retrying;
}

void
pool_episode_answered(struct pool_episode *e)
{
	e->n_tried = 0;
	e->stale_retried = false;
}
