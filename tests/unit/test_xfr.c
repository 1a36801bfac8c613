/* test_xfr.c - when an answer stream is complete: AXFR (AXFR-02), the three
 * IXFR shapes (IXFR-02, RFC 1995 §7 example), errors, serial arithmetic (SER-01). */
#include <CUnit/CUnit.h>

#include "proxy/lib/dnsmsg.h"
#include "unit.h"
#include "proxy/lib/xfr.h"

/* Feeds one message with the given SOA serials (and ancount) to x. */
static bool
message(struct xfr *x, uint8_t rcode, uint16_t ancount, const uint32_t *soas, int nsoa)
{
	uint8_t hdr[12] = { 0, 1, 0x84, rcode, 0, 1, (uint8_t)(ancount >> 8), (uint8_t)ancount, 0, 0, 0, 0 };
	xfr_frame_begin(x, hdr);
	for (int i = 0; i < nsoa; i++)
		xfr_soa(x, soas[i]);
	return xfr_frame_end(x, 100);
}

static void
test_axfr(void)
{
	struct xfr x;
	xfr_init(&x, 1, DNS_TYPE_AXFR, false, 0, 0);
	uint32_t s[] = { 5 };
	CU_ASSERT_FALSE(message(&x, 0, 100, s, 1));
	CU_ASSERT_FALSE(message(&x, 0, 100, NULL, 0));
	CU_ASSERT_TRUE(message(&x, 0, 50, s, 1));
	CU_ASSERT_EQUAL(x.messages, 3);
	CU_ASSERT_EQUAL(x.bytes, 306);

	/* A whole zone in one message: SOA ... SOA. */
	xfr_init(&x, 1, DNS_TYPE_AXFR, false, 0, 0);
	uint32_t both[] = { 5, 5 };
	CU_ASSERT_TRUE(message(&x, 0, 10, both, 2));
}

static void
test_error_ends_stream(void)
{
	struct xfr x;
	xfr_init(&x, 1, DNS_TYPE_AXFR, false, 0, 0);
	CU_ASSERT_TRUE(message(&x, 5, 0, NULL, 0));            /* REFUSED from backend */
	CU_ASSERT_EQUAL(x.rcode, 5);
	xfr_init(&x, 1, DNS_TYPE_AXFR, false, 0, 0);
	uint32_t s[] = { 5 };
	CU_ASSERT_FALSE(message(&x, 0, 10, s, 1));
	CU_ASSERT_TRUE(message(&x, 2, 0, NULL, 0));            /* SERVFAIL mid-stream */
}

static void
test_soa_query(void)
{
	struct xfr x;
	xfr_init(&x, 1, DNS_TYPE_SOA, false, 0, 0);
	uint32_t s[] = { 5 };
	CU_ASSERT_TRUE(message(&x, 0, 1, s, 1));
}

static void
test_ixfr_up_to_date(void)
{
	struct xfr x;
	uint32_t s[] = { 10 };
	xfr_init(&x, 1, DNS_TYPE_IXFR, true, 10, 0);
	CU_ASSERT_TRUE(message(&x, 0, 1, s, 1));               /* equal */
	xfr_init(&x, 1, DNS_TYPE_IXFR, true, 12, 0);
	CU_ASSERT_TRUE(message(&x, 0, 1, s, 1));               /* client newer */
}

/* Only a lone SOA newer than the client's serial may be the start of an
 * AXFR-style answer (issue 13: only then is the session kept from reuse). */
static void
test_lone_may_continue(void)
{
	struct xfr x;
	uint32_t s[] = { 10 };
	xfr_init(&x, 1, DNS_TYPE_IXFR, true, 10, 0);
	message(&x, 0, 1, s, 1);
	CU_ASSERT_TRUE(x.lone_soa);
	CU_ASSERT_FALSE(xfr_lone_may_continue(&x));          /* up to date */
	xfr_init(&x, 1, DNS_TYPE_IXFR, true, 12, 0);
	message(&x, 0, 1, s, 1);
	CU_ASSERT_FALSE(xfr_lone_may_continue(&x));          /* client newer */
	xfr_init(&x, 1, DNS_TYPE_IXFR, true, 5, 0);
	message(&x, 0, 1, s, 1);
	CU_ASSERT_TRUE(xfr_lone_may_continue(&x));           /* newer: may go on */
	xfr_init(&x, 1, DNS_TYPE_IXFR, false, 0, 0);
	message(&x, 0, 1, s, 1);
	CU_ASSERT_TRUE(xfr_lone_may_continue(&x));           /* no client serial */
	xfr_init(&x, 1, DNS_TYPE_IXFR, true, 5, 0);
	uint32_t two[] = { 10, 10 };
	message(&x, 0, 2, two, 2);
	CU_ASSERT_FALSE(xfr_lone_may_continue(&x));          /* not a lone SOA */
}

/* A lone SOA newer than the client's ends the stream too (PowerDNS answers
 * so; holding the slot would stall the session), and resuming it makes the
 * next message with its ID part of an AXFR-style answer. */
static void
test_ixfr_lone_newer_soa(void)
{
	struct xfr x;
	uint32_t s[] = { 10 };
	xfr_init(&x, 1, DNS_TYPE_IXFR, true, 9, 0);
	CU_ASSERT_TRUE(message(&x, 0, 1, s, 1));
	CU_ASSERT_TRUE(x.lone_soa);
	xfr_init(&x, 1, DNS_TYPE_IXFR, false, 0, 0);           /* no client serial at all */
	CU_ASSERT_TRUE(message(&x, 0, 1, s, 1));

	xfr_init(&x, 1, DNS_TYPE_IXFR, true, 9, 0);
	CU_ASSERT_TRUE(message(&x, 0, 1, s, 1));
	xfr_resume(&x);
	CU_ASSERT_FALSE(x.lone_soa);
	CU_ASSERT_FALSE(message(&x, 0, 100, NULL, 0));         /* records */
	CU_ASSERT_TRUE(message(&x, 0, 50, s, 1));              /* closing SOA */
	CU_ASSERT_EQUAL(x.messages, 3);
	CU_ASSERT_FALSE(x.lone_soa);
}

/* A first message with the SOA and more records is not a lone SOA. */
static void
test_ixfr_soa_with_records_continues(void)
{
	struct xfr x;
	uint32_t s[] = { 10 };
	xfr_init(&x, 1, DNS_TYPE_IXFR, true, 9, 0);
	CU_ASSERT_FALSE(message(&x, 0, 5, s, 1));
	CU_ASSERT_FALSE(x.lone_soa);
}

static void
test_ixfr_incremental_rfc1995(void)
{
	/* RFC 1995 §7: client at 1, server at 3, two differences:
	 * SOA 3 | SOA 1 ... SOA 2 ... | SOA 2 ... SOA 3 ... | SOA 3 */
	struct xfr x;
	xfr_init(&x, 1, DNS_TYPE_IXFR, true, 1, 0);
	uint32_t m1[] = { 3, 1, 2 };
	uint32_t m2[] = { 2, 3 };
	uint32_t m3[] = { 3 };
	CU_ASSERT_FALSE(message(&x, 0, 6, m1, 3));
	CU_ASSERT_FALSE(message(&x, 0, 4, m2, 2));             /* SOA 3 at position 5: odd, not the end */
	CU_ASSERT_TRUE(message(&x, 0, 1, m3, 1));
	CU_ASSERT_EQUAL(x.soa_seen, 6);

	/* The same stream in one message. */
	xfr_init(&x, 1, DNS_TYPE_IXFR, true, 1, 0);
	uint32_t all[] = { 3, 1, 2, 2, 3, 3 };
	CU_ASSERT_TRUE(message(&x, 0, 12, all, 6));
}

static void
test_ixfr_axfr_style(void)
{
	struct xfr x;
	xfr_init(&x, 1, DNS_TYPE_IXFR, true, 1, 0);
	uint32_t a[] = { 3 };
	CU_ASSERT_FALSE(message(&x, 0, 100, a, 1));
	CU_ASSERT_FALSE(message(&x, 0, 100, NULL, 0));
	CU_ASSERT_TRUE(message(&x, 0, 100, a, 1));
}

static void
test_serial_arithmetic(void)
{
	CU_ASSERT_EQUAL(serial_cmp(1, 2), -1);
	CU_ASSERT_EQUAL(serial_cmp(2, 1), 1);
	CU_ASSERT_EQUAL(serial_cmp(7, 7), 0);
	CU_ASSERT_EQUAL(serial_cmp(4294967295u, 0), -1);      /* SER-01: wraps */
	CU_ASSERT_EQUAL(serial_cmp(0, 4294967295u), 1);
	CU_ASSERT_EQUAL(serial_cmp(0, 0x80000000u), 2);       /* undefined */
	CU_ASSERT_EQUAL(serial_cmp(0, 0x7FFFFFFFu), -1);
}

int
test_xfr_register(void)
{
	SUITE("xfr (answer stream completion)");
	TEST(test_axfr);
	TEST(test_error_ends_stream);
	TEST(test_soa_query);
	TEST(test_ixfr_up_to_date);
	TEST(test_lone_may_continue);
	TEST(test_ixfr_lone_newer_soa);
	TEST(test_ixfr_soa_with_records_continues);
	TEST(test_ixfr_incremental_rfc1995);
	TEST(test_ixfr_axfr_style);
	TEST(test_serial_arithmetic);
	return 0;
}
