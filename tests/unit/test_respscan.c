/* test_respscan.c - the frame scanner over the backend->client stream:
 * 1-byte feeds, split length prefix, lengths 0 and 65535, SOA detection,
 * malformed frames skipped by their length (TCP-08, AXFR-03, XOT-21). */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/lib/respscan.h"
#include "unit.h"

struct events {
	unsigned begins, ends, malformed, soas;
	uint32_t serials[16];
	uint16_t ids[16];
	size_t lens[16];
};

static void
ev_begin(void *ctx, const uint8_t hdr[12])
{
	struct events *e = ctx;
	if (e->begins < 16)
		e->ids[e->begins] = (uint16_t)(hdr[0] << 8 | hdr[1]);
	e->begins++;
}

static void
ev_soa(void *ctx, uint32_t serial)
{
	struct events *e = ctx;
	if (e->soas < 16)
		e->serials[e->soas] = serial;
	e->soas++;
}

static void
ev_end(void *ctx, size_t len, bool malformed)
{
	struct events *e = ctx;
	if (e->ends < 16)
		e->lens[e->ends] = len;
	e->ends++;
	e->malformed += malformed;
}

static const struct respscan_ops ops = { ev_begin, ev_soa, ev_end };

/* An AXFR-like stream: msg1 = SOA(7) + 3 A; msg2 = 2 A + SOA(7). */
static size_t
build_stream(uint8_t *out)
{
	struct mb *m = malloc(sizeof(*m));
	mb_header(m, 0x1234, 0x84, 0, 1, 4, 0, 0);
	mb_question(m, "example.test", 252, 1);
	mb_soa(m, "example.test", 7);
	mb_a(m, "a.example.test");
	mb_a(m, "b.example.test");
	mb_a(m, "c.example.test");
	size_t n = mb_frame(m, out);
	mb_header(m, 0x1234, 0x84, 0, 0, 3, 0, 0);   /* no question after the first (AXFR-02) */
	mb_a(m, "d.example.test");
	mb_a(m, "e.example.test");
	mb_soa(m, "example.test", 7);
	n += mb_frame(m, out + n);
	free(m);
	return n;
}

static void
check_stream_events(const struct events *e)
{
	CU_ASSERT_EQUAL(e->begins, 2);
	CU_ASSERT_EQUAL(e->ends, 2);
	CU_ASSERT_EQUAL(e->malformed, 0);
	CU_ASSERT_EQUAL(e->soas, 2);
	CU_ASSERT_EQUAL(e->serials[0], 7);
	CU_ASSERT_EQUAL(e->serials[1], 7);
	CU_ASSERT_EQUAL(e->ids[0], 0x1234);
}

static void
test_whole_feed(void)
{
	uint8_t buf[4096];
	size_t n = build_stream(buf);
	struct events e = { 0 };
	struct respscan s;
	respscan_init(&s, &ops, &e);
	respscan_feed(&s, buf, n);
	check_stream_events(&e);
	CU_ASSERT_TRUE(respscan_at_boundary(&s));
}

static void
test_one_byte_feeds(void)
{
	uint8_t buf[4096];
	size_t n = build_stream(buf);
	struct events e = { 0 };
	struct respscan s;
	respscan_init(&s, &ops, &e);
	for (size_t i = 0; i < n; i++) {
		respscan_feed(&s, buf + i, 1);
		if (i == 0)    /* split length prefix: not at a boundary */
			CU_ASSERT_FALSE(respscan_at_boundary(&s));
	}
	check_stream_events(&e);
	CU_ASSERT_TRUE(respscan_at_boundary(&s));
}

static void
test_every_split_point(void)
{
	uint8_t buf[4096];
	size_t n = build_stream(buf);
	int bad = 0;
	for (size_t cut = 0; cut <= n; cut++) {
		struct events e = { 0 };
		struct respscan s;
		respscan_init(&s, &ops, &e);
		respscan_feed(&s, buf, cut);
		respscan_feed(&s, buf + cut, n - cut);
		bad += e.begins != 2 || e.ends != 2 || e.soas != 2 || e.malformed != 0;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void
test_length_zero_and_short(void)
{
	/* A zero-length frame and a 5-octet frame are malformed but skipped by
	 * their length; the next good frame is still found. */
	uint8_t buf[512] = { 0, 0, 0, 5, 1, 2, 3, 4, 5 };
	struct mb m;
	mb_header(&m, 9, 0x84, 0, 1, 1, 0, 0);
	mb_question(&m, "example.test", 6, 1);
	mb_soa(&m, "example.test", 42);
	size_t n = 9 + mb_frame(&m, buf + 9);
	struct events e = { 0 };
	struct respscan s;
	respscan_init(&s, &ops, &e);
	respscan_feed(&s, buf, n);
	CU_ASSERT_EQUAL(e.ends, 3);
	CU_ASSERT_EQUAL(e.malformed, 2);
	CU_ASSERT_EQUAL(e.begins, 1);
	CU_ASSERT_EQUAL(e.soas, 1);
	CU_ASSERT_EQUAL(e.serials[0], 42);
	CU_ASSERT_EQUAL(e.lens[0], 0);
	CU_ASSERT_EQUAL(e.lens[1], 5);
}

static void
test_length_65535(void)
{
	/* AXFR-03: the largest frame; a big TXT-like RR fills it. */
	struct mb *m = malloc(sizeof(*m));
	mb_header(m, 1, 0x84, 0, 0, 2, 0, 0);
	mb_soa(m, "example.test", 5);
	mb_name(m, "big.example.test");
	mb_u16(m, 16);
	mb_u16(m, 1);
	mb_u32(m, 300);
	size_t rdlen = 65535 - m->len - 2;
	mb_u16(m, (uint16_t)rdlen);
	memset(m->buf + m->len, 'x', rdlen);
	m->len += rdlen;
	CU_ASSERT_EQUAL_FATAL(m->len, 65535);
	uint8_t *buf = malloc(65537 + 2);
	size_t n = mb_frame(m, buf);
	struct events e = { 0 };
	struct respscan s;
	respscan_init(&s, &ops, &e);
	for (size_t off = 0; off < n; off += 1000)
		respscan_feed(&s, buf + off, n - off < 1000 ? n - off : 1000);
	CU_ASSERT_EQUAL(e.ends, 1);
	CU_ASSERT_EQUAL(e.malformed, 0);
	CU_ASSERT_EQUAL(e.lens[0], 65535);
	CU_ASSERT_EQUAL(e.soas, 1);
	free(buf);
	free(m);
}

static void
test_count_overruns_frame(void)
{
	/* ANCOUNT claims 5 RRs but the frame holds 1: malformed, and the scanner
	 * resynchronises on the next frame's length prefix. */
	struct mb m;
	uint8_t buf[1024];
	mb_header(&m, 2, 0x84, 0, 0, 5, 0, 0);
	mb_a(&m, "a.example.test");
	size_t n = mb_frame(&m, buf);
	mb_header(&m, 3, 0x84, 0, 0, 1, 0, 0);
	mb_soa(&m, "example.test", 9);
	n += mb_frame(&m, buf + n);
	struct events e = { 0 };
	struct respscan s;
	respscan_init(&s, &ops, &e);
	respscan_feed(&s, buf, n);
	CU_ASSERT_EQUAL(e.ends, 2);
	CU_ASSERT_EQUAL(e.malformed, 1);
	CU_ASSERT_EQUAL(e.soas, 1);
	CU_ASSERT_EQUAL(e.ids[1], 3);
}

static void
test_soa_rdata_overrun(void)
{
	/* An SOA whose RDLENGTH is too short for its names is malformed. */
	struct mb m;
	uint8_t buf[1024];
	mb_header(&m, 2, 0x84, 0, 0, 1, 0, 0);
	mb_name(&m, "example.test");
	mb_u16(&m, 6);
	mb_u16(&m, 1);
	mb_u32(&m, 300);
	mb_u16(&m, 3);                      /* rdlen 3, but names need more */
	mb_name(&m, "ns1.example.test");
	size_t n = mb_frame(&m, buf);
	struct events e = { 0 };
	struct respscan s;
	respscan_init(&s, &ops, &e);
	respscan_feed(&s, buf, n);
	CU_ASSERT_EQUAL(e.ends, 1);
	CU_ASSERT_EQUAL(e.malformed, 1);
	CU_ASSERT_EQUAL(e.soas, 0);
	CU_ASSERT_TRUE(respscan_at_boundary(&s));
}

static void
test_to_boundary(void)
{
	uint8_t buf[4096];
	size_t n = build_stream(buf);
	struct respscan s;
	struct events e = { 0 };
	respscan_init(&s, &ops, &e);
	CU_ASSERT_EQUAL(respscan_to_boundary(&s), 2);
	respscan_feed(&s, buf, 1);
	CU_ASSERT_EQUAL(respscan_to_boundary(&s), 1);
	respscan_feed(&s, buf + 1, 3);
	size_t first = (size_t)(buf[0] << 8 | buf[1]);
	CU_ASSERT_EQUAL(respscan_to_boundary(&s), first - 2);
	respscan_feed(&s, buf + 4, first - 2);
	CU_ASSERT_TRUE(respscan_at_boundary(&s));
	(void)n;
}

/* What the relay keeps from the client (issue 13, item 1): octets of a
 * frame whose header is not complete are unvetted; after frame_begin none
 * are; a frame shorter than a header stays unvetted to its end. */
static void
test_partial_and_unvetted(void)
{
	struct events e = { 0 };
	struct respscan s;
	respscan_init(&s, &ops, &e);
	uint8_t f[20] = { 0, 18, 0x12, 0x34, 0x84, 0 };     /* header, 6 octets of body */
	respscan_feed(&s, f, 1);
	CU_ASSERT_EQUAL(respscan_partial(&s), 1);
	CU_ASSERT_EQUAL(respscan_unvetted(&s), 1);
	respscan_feed(&s, f + 1, 12);                       /* prefix + 11 header octets */
	CU_ASSERT_EQUAL(respscan_partial(&s), 13);
	CU_ASSERT_EQUAL(respscan_unvetted(&s), 13);
	CU_ASSERT_EQUAL(e.begins, 0);
	respscan_feed(&s, f + 13, 2);
	CU_ASSERT_EQUAL(e.begins, 1);
	CU_ASSERT_EQUAL(respscan_partial(&s), 15);
	CU_ASSERT_EQUAL(respscan_unvetted(&s), 0);
	respscan_feed(&s, f + 15, 5);
	CU_ASSERT_TRUE(respscan_at_boundary(&s));
	CU_ASSERT_EQUAL(respscan_partial(&s), 0);
	uint8_t shortf[7] = { 0, 5, 1, 2, 3, 4, 5 };        /* no header: no ID */
	respscan_feed(&s, shortf, 4);
	CU_ASSERT_EQUAL(respscan_unvetted(&s), 4);
	respscan_feed(&s, shortf + 4, 3);
	CU_ASSERT_TRUE(respscan_at_boundary(&s));
	CU_ASSERT_EQUAL(e.malformed, 1);
}

/* respscan_stop from frame_begin: the feed returns just after the header,
 * and the next feed goes on from there. */
static struct respscan *stop_scan;

static void
ev_begin_stop(void *ctx, const uint8_t hdr[12])
{
	ev_begin(ctx, hdr);
	respscan_stop(stop_scan);
}

static void
test_stop(void)
{
	static const struct respscan_ops stop_ops = { ev_begin_stop, ev_soa, ev_end };
	struct events e = { 0 };
	struct respscan s;
	stop_scan = &s;
	respscan_init(&s, &stop_ops, &e);
	uint8_t two[2 * 16] = { 0, 14, 0xaa, 0xaa, [16] = 0, 14, 0xbb, 0xbb };
	CU_ASSERT_EQUAL(respscan_feed(&s, two, sizeof(two)), 14);
	CU_ASSERT_EQUAL(e.begins, 1);
	CU_ASSERT_EQUAL(respscan_feed(&s, two + 14, sizeof(two) - 14), 2 + 14);
	CU_ASSERT_EQUAL(e.begins, 2);
	CU_ASSERT_EQUAL(e.ids[1], 0xbbbb);
	CU_ASSERT_EQUAL(respscan_feed(&s, two + 30, 2), 2);
	CU_ASSERT_EQUAL(e.ends, 2);
	CU_ASSERT_TRUE(respscan_at_boundary(&s));
}

int
test_respscan_register(void)
{
	SUITE("respscan (frame scanner)");
	TEST(test_partial_and_unvetted);
	TEST(test_stop);
	TEST(test_whole_feed);
	TEST(test_one_byte_feeds);
	TEST(test_every_split_point);
	TEST(test_length_zero_and_short);
	TEST(test_length_65535);
	TEST(test_count_overruns_frame);
	TEST(test_soa_rdata_overrun);
	TEST(test_to_boundary);
	return 0;
}
