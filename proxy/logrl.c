/* logrl.c - per-client-address rate limit for log lines: a fixed table
 * indexed by a keyed hash of the address (IPv4, or the /64 of IPv6), each
 * slot a fixed window of LOGRL_BURST lines with a count of the rest. */
#include "logrl.h"

#include <ev.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "proxy/lib/netaddr.h"

struct slot {
	struct cidr key;        /* the address, or the /64 of an IPv6 one */
	bool used;
	double window_start;    /* when the current window began */
	unsigned lines;         /* lines logged in the current window */
	unsigned suppressed;    /* not logged since the last report */
};

static struct slot table[LOGRL_SLOTS];
static struct ev_loop *rl_loop;
static ev_timer rl_timer;
static uint32_t rl_seed;        /* keeps colliding addresses unpredictable */

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The table key of peer: IPv4 (IPv4-mapped IPv6 included) or the IPv6 /64. */
static void
make_key(const struct sockaddr *peer, struct cidr *key)
{
	memset(key, 0, sizeof(*key));
	if (peer->sa_family == AF_INET) {
		key->family = AF_INET;
		key->prefix = 32;
		memcpy(key->addr, &((const struct sockaddr_in *)peer)->sin_addr, 4);
	} else if (peer->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)peer)->sin6_addr.s6_addr;
		bool mapped = memcmp(a, v4mapped, sizeof(v4mapped)) == 0;
		key->family = mapped ? AF_INET : AF_INET6;
		key->prefix = mapped ? 32 : 64;
		memcpy(key->addr, mapped ? a + 12 : a, mapped ? 4 : 8);
	}
}

/* FNV-1a over the key, seeded, reduced to a slot index. */
static unsigned
key_slot(const struct cidr *key)
{
	uint32_t h = 2166136261u ^ rl_seed;
	h = (h ^ (uint8_t)key->family) * 16777619u;
	for (size_t i = 0; i < sizeof(key->addr); i++)
		h = (h ^ key->addr[i]) * 16777619u;
	return h % LOGRL_SLOTS;
}

unsigned
logrl_slot(const struct sockaddr *peer)
{
	struct cidr key;
	make_key(peer, &key);
	return key_slot(&key);
}

/* Logs the slot's suppressed count, if any, and resets it. */
static void
report(struct slot *s)
{
	if (!s->used || s->suppressed == 0)
		return;
	char text[CIDR_TEXT_MAX];
	cidr_format(&s->key, text);
	log_info("remote %s, suppressed %u log lines in the last %.0f s", text, s->suppressed,
	         LOGRL_WINDOW);
	s->suppressed = 0;
}

bool
logrl_allow(const struct sockaddr *peer, double now)
{
	struct cidr key;
	make_key(peer, &key);
	struct slot *s = &table[key_slot(&key)];
	if (!s->used || s->key.family != key.family || memcmp(s->key.addr, key.addr, sizeof(key.addr)) != 0) {
		report(s);              /* a collision: the previous holder's count first */
		*s = (struct slot){ .key = key, .used = true, .window_start = now };
	} else if (now - s->window_start >= LOGRL_WINDOW) {
		s->window_start = now;
		s->lines = 0;
	}
	if (s->lines < LOGRL_BURST) {
		s->lines++;
		return true;
	}
	s->suppressed++;
	return false;
}

void
logrl_flush(double now)
{
	for (size_t i = 0; i < LOGRL_SLOTS; i++) {
		report(&table[i]);
		if (now - table[i].window_start >= LOGRL_WINDOW)
			table[i].used = false;
	}
}

double
logrl_now(void)
{
	if (rl_loop != NULL)
		return ev_now(rl_loop);
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* libev: the periodic report. */
static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	logrl_flush(ev_now(loop));
}

void
logrl_start(struct ev_loop *loop)
{
	if (getrandom(&rl_seed, sizeof(rl_seed), GRND_NONBLOCK) != sizeof(rl_seed))
		rl_seed = (uint32_t)time(NULL);
	memset(table, 0, sizeof(table));   /* slots were hashed with the old seed */
	rl_loop = loop;
	ev_timer_init(&rl_timer, timer_cb, LOGRL_WINDOW, LOGRL_WINDOW);
	ev_timer_start(loop, &rl_timer);
	ev_unref(loop);                    /* the report alone keeps nothing running */
}

void
logrl_stop(void)
{
	if (rl_loop != NULL) {
		ev_ref(rl_loop);
		ev_timer_stop(rl_loop, &rl_timer);
		rl_loop = NULL;
	}
	for (size_t i = 0; i < LOGRL_SLOTS; i++)
		report(&table[i]);
	memset(table, 0, sizeof(table));
}
