/* test_ring.c - byte ring: empty/full, spans across the end, peek, reset. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "proxy/lib/ring.h"
#include "unit.h"

static void
test_empty_and_full(void)
{
	struct ring r;
	CU_ASSERT_EQUAL_FATAL(ring_init(&r, 16), 0);
	struct iovec iov[2];
	CU_ASSERT_EQUAL(ring_len(&r), 0);
	CU_ASSERT_EQUAL(ring_room(&r), 16);
	CU_ASSERT_EQUAL(ring_read_iov(&r, iov), 0);
	CU_ASSERT_EQUAL(ring_write_iov(&r, iov), 1);
	CU_ASSERT_EQUAL(iov[0].iov_len, 16);
	uint8_t data[16];
	for (int i = 0; i < 16; i++)
		data[i] = (uint8_t)i;
	ring_append(&r, data, 16);
	CU_ASSERT_EQUAL(ring_room(&r), 0);
	CU_ASSERT_EQUAL(ring_write_iov(&r, iov), 0);
	ring_cleanup(&r);
}

static void
test_wrap_spans(void)
{
	struct ring r;
	CU_ASSERT_EQUAL_FATAL(ring_init(&r, 16), 0);
	uint8_t in[32], out[32];
	for (int i = 0; i < 32; i++)
		in[i] = (uint8_t)(100 + i);
	ring_append(&r, in, 12);
	ring_consume(&r, 10);                     /* head at 10, tail at 12 */
	ring_append(&r, in + 12, 10);             /* wraps: 4 at the end, 6 at the start */
	struct iovec iov[2];
	CU_ASSERT_EQUAL(ring_read_iov(&r, iov), 2);
	CU_ASSERT_EQUAL(iov[0].iov_len, 6);
	CU_ASSERT_EQUAL(iov[1].iov_len, 6);
	CU_ASSERT_EQUAL(ring_peek(&r, 0, out, 32), 12);
	CU_ASSERT_EQUAL(memcmp(out, in + 10, 12), 0);
	CU_ASSERT_EQUAL(ring_peek(&r, 5, out, 3), 3);
	CU_ASSERT_EQUAL(memcmp(out, in + 15, 3), 0);
	size_t len;
	const uint8_t *p = ring_read_ptr(&r, 100, &len);
	CU_ASSERT_EQUAL(len, 6);                  /* contiguous run stops at the end */
	CU_ASSERT_EQUAL(p[0], in[10]);
	p = ring_read_ptr(&r, 4, &len);
	CU_ASSERT_EQUAL(len, 4);
	CU_ASSERT_EQUAL(ring_write_iov(&r, iov), 1);
	CU_ASSERT_EQUAL(iov[0].iov_len, 4);
	ring_consume(&r, 12);
	CU_ASSERT_EQUAL(ring_len(&r), 0);
	CU_ASSERT_EQUAL(ring_write_iov(&r, iov), 1);   /* empty ring restarts at 0 */
	CU_ASSERT_EQUAL(iov[0].iov_len, 16);
	ring_cleanup(&r);
}

static void
test_byte_stream_order(void)
{
	/* Push 10,000 bytes through a 64-byte ring in odd-sized pieces. */
	struct ring r;
	CU_ASSERT_EQUAL_FATAL(ring_init(&r, 64), 0);
	uint8_t next_in = 0, next_out = 0;
	size_t total = 0, step = 1;
	int bad = 0;
	while (total < 10000) {
		struct iovec iov[2];
		int n = ring_write_iov(&r, iov);
		size_t put = 0;
		for (int i = 0; i < n; i++)
			for (size_t j = 0; j < iov[i].iov_len && put < step; j++, put++)
				((uint8_t *)iov[i].iov_base)[j] = next_in++;
		ring_commit_write(&r, put);
		size_t len;
		const uint8_t *p = ring_read_ptr(&r, step % 7 + 1, &len);
		for (size_t j = 0; j < len; j++)
			bad += p[j] != next_out++;
		ring_consume(&r, len);
		total += len;
		step = step % 13 + 1;
	}
	CU_ASSERT_EQUAL(bad, 0);
	ring_cleanup(&r);
}

/* ring_unwrite takes back the newest octets only (a relay frame dropped
 * before the client saw it); an empty ring restarts at offset 0. */
static void
test_unwrite(void)
{
	struct ring r;
	CU_ASSERT_EQUAL_FATAL(ring_init(&r, 16), 0);
	ring_append(&r, (const uint8_t *)"abcdefghij", 10);
	ring_consume(&r, 4);                     /* "efghij" left */
	ring_unwrite(&r, 3);                     /* "efg" */
	CU_ASSERT_EQUAL(ring_len(&r), 3);
	uint8_t out[8] = { 0 };
	CU_ASSERT_EQUAL(ring_peek(&r, 0, out, sizeof(out)), 3);
	CU_ASSERT_EQUAL(memcmp(out, "efg", 3), 0);
	ring_append(&r, (const uint8_t *)"XY", 2);
	CU_ASSERT_EQUAL(ring_peek(&r, 0, out, sizeof(out)), 5);
	CU_ASSERT_EQUAL(memcmp(out, "efgXY", 5), 0);
	ring_unwrite(&r, 5);
	CU_ASSERT_EQUAL(ring_len(&r), 0);
	CU_ASSERT_EQUAL(r.head, 0);
	CU_ASSERT_EQUAL(r.tail, 0);
	ring_cleanup(&r);
}

int
test_ring_register(void)
{
	SUITE("ring");
	TEST(test_unwrite);
	TEST(test_empty_and_full);
	TEST(test_wrap_spans);
	TEST(test_byte_stream_order);
	return 0;
}
