/* respscan.c - incremental DNS response stream scanner (see respscan.h).
 *
 *   LEN --2 octets--> HDR --12--> NEXT --qd--> QNAME -> QFIXED(4) -> NEXT
 *                                  |  --an--> ANAME -> AFIXED(10) -> RDATA -> NEXT
 *                                  |                       (SOA: SOA_N1 -> SOA_N2 -> SERIAL -> RDATA)
 *                                  '--done--> TAIL (skip to frame end) -> LEN
 * Octets inside a frame are counted against frame_left; the frame always ends
 * exactly where its length prefix says, whatever its content. */
#include "respscan.h"

#include <string.h>

enum { ST_LEN, ST_HDR, ST_NEXT, ST_QNAME, ST_QFIXED, ST_ANAME, ST_AFIXED, ST_RDATA,
       ST_SOA_N1, ST_SOA_N2, ST_SERIAL, ST_TAIL };
enum { NM_LEN, NM_PTR, NM_LABEL };
enum { DNS_TYPE_SOA = 6 };

void
respscan_init(struct respscan *s, const struct respscan_ops *ops, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->ctx = ctx;
	s->st = ST_LEN;
	s->acc_need = 2;
}

bool
respscan_at_boundary(const struct respscan *s)
{
	return s->st == ST_LEN && s->acc_have == 0;
}

size_t
respscan_to_boundary(const struct respscan *s)
{
	return s->st == ST_LEN ? 2 - s->acc_have : s->frame_left;
}

size_t
respscan_partial(const struct respscan *s)
{
	return s->st == ST_LEN ? s->acc_have : 2 + s->frame_len - s->frame_left;
}

size_t
respscan_unvetted(const struct respscan *s)
{
	if (s->st == ST_LEN || s->st == ST_HDR || s->frame_len < 12)
		return respscan_partial(s);
	return 0;
}

void
respscan_stop(struct respscan *s)
{
	s->stopped = true;
}

static void
expect(struct respscan *s, int st, unsigned need)
{
	s->st = st;
	s->acc_have = 0;
	s->acc_need = need;
}

static void
start_name(struct respscan *s, int st)
{
	s->st = st;
	s->name_st = NM_LEN;
	s->name_octets = 0;
}

static void
set_malformed(struct respscan *s)
{
	s->malformed = true;
	s->st = ST_TAIL;
}

/* Accumulates up to acc_need octets; returns octets used. */
static size_t
accumulate(struct respscan *s, const uint8_t *p, size_t n)
{
	size_t want = s->acc_need - s->acc_have;
	size_t take = n < want ? n : want;
	memcpy(s->acc + s->acc_have, p, take);
	s->acc_have += (unsigned)take;
	return take;
}

/* Advances through a (possibly compressed) name; returns octets used and sets
 * *done when the name is complete. Pointers are not followed: the scanner only
 * needs to skip names. */
static size_t
name_step(struct respscan *s, const uint8_t *p, size_t n, bool *done)
{
	*done = false;
	if (s->name_st == NM_LABEL) {
		size_t take = n < s->skip ? n : s->skip;
		s->skip -= take;
		if (s->skip == 0)
			s->name_st = NM_LEN;
		return take;
	}
	if (s->name_st == NM_PTR) {
		*done = true;
		return 1;
	}
	uint8_t b = p[0];
	if ((b & 0xC0) == 0xC0) {
		s->name_st = NM_PTR;
	} else if (b & 0xC0) {
		set_malformed(s);
	} else if (b == 0) {
		*done = true;
	} else {
		s->name_octets += b + 1u;
		if (s->name_octets > 255) {
			set_malformed(s);
		} else {
			s->name_st = NM_LABEL;
			s->skip = b;
		}
	}
	return 1;
}

/* Octets consumed inside SOA rdata must stay within RDLENGTH. */
static void
rdata_used(struct respscan *s, size_t n)
{
	if (n > s->rd_left)
		set_malformed(s);
	else
		s->rd_left -= n;
}

/* Skips a name at p[q..n); returns the position after it, or 0 if it does
 * not end inside the buffer or is not a plain well-formed name (the slow path
 * then takes over and decides). */
static inline __attribute__((always_inline)) size_t
fast_name(const uint8_t *p, size_t q, size_t n)
{
	unsigned octets = 0;
	while (q < n) {
		uint8_t b = p[q];
		if (b >= 0xC0)                   /* compression pointer: the usual end */
			return q + 2 <= n ? q + 2 : 0;
		if (b == 0)
			return q + 1;
		if (b > 63)
			return 0;                    /* 0x40/0x80 label types */
		octets += b + 1u;
		if (octets > 255)
			return 0;
		q += (size_t)b + 1;
	}
	return 0;
}

/* The fast path: consumes whole questions and answer RRs lying entirely in
 * p[0..n) (n is already bounded by the frame), with no per-octet state.
 * Returns octets used; anything partial or odd is left to the slow path. */
static size_t
fast_records(struct respscan *s, const uint8_t *p, size_t n)
{
	size_t pos = 0, q;
	unsigned qd = s->qd_left, an = s->an_left;
	while (qd > 0) {
		q = fast_name(p, pos, n);
		if (q == 0 || n - q < 4)
			goto out;
		qd--;
		pos = q + 4;
	}
	while (an > 0) {
		q = fast_name(p, pos, n);
		if (q == 0 || n - q < 10)
			break;
		const uint8_t *f = p + q;
		size_t rdlen = (size_t)(f[8] << 8 | f[9]);
		q += 10;
		if (n - q < rdlen)
			break;
		if (f[0] == 0 && f[1] == DNS_TYPE_SOA) {
			size_t end = q + rdlen;
			size_t r = fast_name(p, q, end);
			r = r != 0 ? fast_name(p, r, end) : 0;
			if (r == 0 || end - r < 4)
				break;
			if (s->ops->soa)
				s->ops->soa(s->ctx, (uint32_t)p[r] << 24 | (uint32_t)p[r + 1] << 16 |
				                    (uint32_t)p[r + 2] << 8 | p[r + 3]);
		}
		an--;
		pos = q + rdlen;
	}
out:
	s->qd_left = qd;
	s->an_left = an;
	return pos;
}

/* Transitions that need no input. */
static void
settle(struct respscan *s)
{
	for (;;) {
		if (s->st == ST_RDATA && s->skip == 0) {
			s->st = ST_NEXT;
		} else if (s->st == ST_NEXT) {
			if (s->qd_left > 0) {
				s->qd_left--;
				start_name(s, ST_QNAME);
			} else if (s->an_left > 0) {
				s->an_left--;
				start_name(s, ST_ANAME);
			} else {
				s->st = ST_TAIL;
			}
			return;
		} else {
			return;
		}
	}
}

/* Consumes at least one of the n (> 0) octets, all inside the current frame. */
static size_t
step(struct respscan *s, const uint8_t *p, size_t n)
{
	size_t used;
	bool done;

	if (s->st == ST_RDATA && s->skip == 0)
		s->st = ST_NEXT;
	if (s->st == ST_NEXT) {
		used = fast_records(s, p, n);
		if (used > 0)
			return used;
	}
	settle(s);
	switch (s->st) {
	case ST_HDR:
		used = accumulate(s, p, n);
		if (s->acc_have == 12) {
			s->qd_left = (unsigned)(s->acc[4] << 8 | s->acc[5]);
			s->an_left = (unsigned)(s->acc[6] << 8 | s->acc[7]);
			if (s->ops->frame_begin)
				s->ops->frame_begin(s->ctx, s->acc);
			s->st = ST_NEXT;
		}
		return used;
	case ST_QNAME:
	case ST_ANAME:
		used = name_step(s, p, n, &done);
		if (done)
			expect(s, s->st == ST_QNAME ? ST_QFIXED : ST_AFIXED, s->st == ST_QNAME ? 4 : 10);
		return used;
	case ST_QFIXED:
		used = accumulate(s, p, n);
		if (s->acc_have == s->acc_need)
			s->st = ST_NEXT;
		return used;
	case ST_AFIXED:
		used = accumulate(s, p, n);
		if (s->acc_have == s->acc_need) {
			uint16_t type = (uint16_t)(s->acc[0] << 8 | s->acc[1]);
			size_t rdlen = (size_t)(s->acc[8] << 8 | s->acc[9]);
			if (type == DNS_TYPE_SOA) {
				s->rd_left = rdlen;
				start_name(s, ST_SOA_N1);
			} else {
				s->st = ST_RDATA;
				s->skip = rdlen;
			}
		}
		return used;
	case ST_SOA_N1:
	case ST_SOA_N2: {
		int st = s->st;
		used = name_step(s, p, n, &done);
		rdata_used(s, used);
		if (s->st == ST_TAIL)
			return used;
		if (done && st == ST_SOA_N1)
			start_name(s, ST_SOA_N2);
		else if (done)
			expect(s, ST_SERIAL, 4);
		return used;
	}
	case ST_SERIAL:
		used = accumulate(s, p, n);
		rdata_used(s, used);
		if (s->st != ST_TAIL && s->acc_have == 4) {
			uint32_t serial = (uint32_t)s->acc[0] << 24 | (uint32_t)s->acc[1] << 16 |
			                  (uint32_t)s->acc[2] << 8 | s->acc[3];
			if (s->ops->soa)
				s->ops->soa(s->ctx, serial);
			s->st = ST_RDATA;
			s->skip = s->rd_left;
			s->rd_left = 0;
		}
		return used;
	case ST_RDATA:
		used = n < s->skip ? n : s->skip;
		s->skip -= used;
		return used;
	case ST_TAIL:
	default:
		return n;          /* caller bounded n by frame_left */
	}
}

static void
frame_done(struct respscan *s)
{
	settle(s);
	bool malformed = s->malformed || s->st != ST_TAIL;
	if (s->ops->frame_end)
		s->ops->frame_end(s->ctx, s->frame_len, malformed);
	s->malformed = false;
	expect(s, ST_LEN, 2);
}

size_t
respscan_feed(struct respscan *s, const uint8_t *p, size_t n)
{
	size_t total = n;
	s->stopped = false;
	while (n > 0 && !s->stopped) {
		if (s->st == ST_LEN) {
			size_t used = accumulate(s, p, n);
			p += used;
			n -= used;
			if (s->acc_have < 2)
				break;
			s->frame_len = s->frame_left = (size_t)(s->acc[0] << 8 | s->acc[1]);
			if (s->frame_len < 12) {
				s->malformed = true;
				s->st = ST_TAIL;
				if (s->frame_len == 0)
					frame_done(s);
			} else {
				expect(s, ST_HDR, 12);
			}
			continue;
		}
		size_t avail = n < s->frame_left ? n : s->frame_left;
		size_t used = step(s, p, avail);
		p += used;
		n -= used;
		s->frame_left -= used;
		if (s->frame_left == 0)
			frame_done(s);
	}
	s->stopped = false;
	return total - n;
}
