/* bucket.h - a token bucket with an injected clock, for "N starts per S
 * seconds" limits (PRX-04): capacity `burst` tokens, refilled continuously
 * at burst/per_seconds tokens per second, full at first ("30/60" = 30
 * transfer starts per 60 s, burst 30, then one every 2 s).
 *
 * Integer arithmetic in microseconds, so boundaries are exact and repeated
 * float sums cannot drift: `now` is rounded to the nearest microsecond, and
 * the fill level is kept in units of 1/per_us of a token, scaled by
 * per_us = per_seconds in microseconds. One microsecond adds `burst` units,
 * one token costs per_us units, so a take at the first microsecond at which a
 * whole token has accumulated succeeds ("30/60" after an empty bucket at t:
 * fails at t + 1.999999 s, succeeds at t + 2.000000 s).
 *
 * A zeroed struct bucket is a full bucket (the level is kept as a debt). */
#ifndef XP_BUCKET_H
#define XP_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

/* Clamps that keep burst * per_us below 2^64 (1.05e19). Values past them
 * are treated as these (a config check should reject them earlier). */
#define BUCKET_BURST_MAX (1u << 20)              /* 1,048,576 tokens */
#define BUCKET_PER_MAX_US 10000000000000ll       /* 1e7 s, about 115 days */

struct bucket {
	uint64_t debt;          /* units taken and not yet refilled; 0 = full */
	int64_t last_us;        /* clock of the last refill, microseconds */
};

/* Seconds to microseconds, rounded to nearest (no libm); NaN is 0 and
 * values past +-1e18 us are clamped. */
static inline int64_t
bucket_us(double seconds)
{
	double us = seconds * 1e6;
	if (!(us == us))
		return 0;
	if (us > 1e18)
		return (int64_t)1e18;
	if (us < -1e18)
		return -(int64_t)1e18;
	return (int64_t)(us >= 0 ? us + 0.5 : us - 0.5);
}

static inline int64_t
bucket_per_us(double per_seconds)
{
	int64_t per = bucket_us(per_seconds);
	return per > BUCKET_PER_MAX_US ? BUCKET_PER_MAX_US : per;
}

/* Refills b up to now (a clock going backwards refills nothing and restarts
 * from now). Returns the capacity in units. */
static inline uint64_t
bucket_refill(struct bucket *b, unsigned burst, int64_t per_us, int64_t now_us)
{
	uint64_t cap = (uint64_t)burst * (uint64_t)per_us;
	int64_t dt = now_us - b->last_us;
	b->last_us = now_us;
	if (dt >= per_us)
		b->debt = 0;                    /* a whole period: full again */
	else if (dt > 0)
		b->debt -= b->debt < (uint64_t)dt * burst ? b->debt : (uint64_t)dt * burst;
	if (b->debt > cap)
		b->debt = cap;                  /* the limit was lowered (reload) */
	return cap;
}

/* Takes one token at time now (seconds, any epoch, the same clock every
 * call). True if there was one. burst 0 or per_seconds <= 0 means no limit:
 * always true, and b is left untouched. */
static inline bool
bucket_take(struct bucket *b, unsigned burst, double per_seconds, double now)
{
	int64_t per_us = bucket_per_us(per_seconds);
	if (burst == 0 || per_us <= 0)
		return true;
	if (burst > BUCKET_BURST_MAX)
		burst = BUCKET_BURST_MAX;
	uint64_t cap = bucket_refill(b, burst, per_us, bucket_us(now));
	if (b->debt + (uint64_t)per_us > cap)
		return false;
	b->debt += (uint64_t)per_us;
	return true;
}

/* Whole tokens available at now, without taking one (for logs and tests);
 * burst when there is no limit. */
static inline unsigned
bucket_tokens(const struct bucket *b, unsigned burst, double per_seconds, double now)
{
	int64_t per_us = bucket_per_us(per_seconds);
	if (burst == 0 || per_us <= 0)
		return burst;
	if (burst > BUCKET_BURST_MAX)
		burst = BUCKET_BURST_MAX;
	struct bucket copy = *b;
	uint64_t cap = bucket_refill(&copy, burst, per_us, bucket_us(now));
	return (unsigned)((cap - copy.debt) / (uint64_t)per_us);
}

#endif
