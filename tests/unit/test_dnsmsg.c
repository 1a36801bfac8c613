/* test_dnsmsg.c - query reader (truncation, compression loops, bad counts,
 * OPT/TSIG placement) and the local answer builder (XOT-16, XOT-17, EDNS-02,
 * EDNS-03, EDNS-05, AXFR-02). */
#include <CUnit/CUnit.h>
#include <string.h>

#include "proxy/lib/dnsmsg.h"
#include "unit.h"

static enum dns_parse_result
parse(const struct mb *m, struct dns_query *q, const char **why)
{
	return dnsmsg_parse_query(m->buf, m->len, q, why);
}

static void
test_axfr_query(void)
{
	struct mb m;
	mb_header(&m, 0xBEEF, 0x00, 0, 1, 0, 0, 0);
	mb_bytes(&m, "\7Example\4TEST", 14);         /* raw: the builder would lowercase */
	mb_u16(&m, 252);
	mb_u16(&m, 1);
	struct dns_query q;
	const char *why;
	CU_ASSERT_EQUAL_FATAL(parse(&m, &q, &why), DNS_PARSE_OK);
	CU_ASSERT_EQUAL(q.id, 0xBEEF);
	CU_ASSERT_EQUAL(q.qtype, 252);
	CU_ASSERT_EQUAL(q.qclass, 1);
	CU_ASSERT_FALSE(q.has_opt);
	CU_ASSERT_EQUAL(q.qname_len, 14);
	CU_ASSERT_EQUAL(memcmp(q.qname_lower, "\7example\4test", 14), 0);
	CU_ASSERT_EQUAL(memcmp(q.qname, "\7Example\4TEST", 14), 0);   /* case kept for echo */
}

static void
test_ixfr_with_opt_and_tsig(void)
{
	struct mb m;
	uint8_t opts[] = { 0, 12, 0, 3, 0, 0, 0 };   /* padding option, 3 octets */
	mb_header(&m, 7, 0x00, 0, 1, 0, 1, 2);
	mb_question(&m, "example.test", 251, 1);
	mb_soa(&m, "example.test", 2024010101);
	mb_opt(&m, 0, opts, sizeof(opts));
	mb_tsig(&m, "XFR-Key");
	struct dns_query q;
	const char *why;
	CU_ASSERT_EQUAL_FATAL(parse(&m, &q, &why), DNS_PARSE_OK);
	CU_ASSERT_TRUE(q.has_ixfr_serial);
	CU_ASSERT_EQUAL(q.ixfr_serial, 2024010101u);
	CU_ASSERT_TRUE(q.has_opt);
	CU_ASSERT_TRUE(q.has_padding);
	CU_ASSERT_TRUE(q.has_tsig);
	CU_ASSERT_EQUAL(memcmp(q.tsig_key, "\7xfr-key\0", 9), 0);
}

static void
test_truncated_everywhere(void)
{
	/* Every proper prefix of a valid query is rejected, never read past. */
	struct mb m;
	mb_header(&m, 7, 0x00, 0, 1, 0, 1, 1);
	mb_question(&m, "example.test", 251, 1);
	mb_soa(&m, "example.test", 1);
	mb_tsig(&m, "k");
	int accepted = 0, short_ok = 1;
	for (size_t len = 0; len < m.len; len++) {
		struct dns_query q;
		const char *why;
		enum dns_parse_result r = dnsmsg_parse_query(m.buf, len, &q, &why);
		accepted += r == DNS_PARSE_OK;
		if (len < 12 && r != DNS_PARSE_SHORT)
			short_ok = 0;
	}
	CU_ASSERT_EQUAL(accepted, 0);
	CU_ASSERT_TRUE(short_ok);
}

static void
test_compression_loop(void)
{
	struct mb m;
	mb_header(&m, 1, 0, 0, 1, 0, 0, 0);
	uint8_t self[] = { 0xC0, 12, 0, 6, 0, 1 };       /* name points at itself */
	mb_bytes(&m, self, sizeof(self));
	struct dns_query q;
	const char *why;
	CU_ASSERT_EQUAL(parse(&m, &q, &why), DNS_PARSE_FORMERR);

	mb_header(&m, 1, 0, 0, 1, 0, 0, 0);
	uint8_t fwd[] = { 0xC0, 14, 1, 'a', 0xC0, 12, 0, 6, 0, 1 };   /* forward then back */
	mb_bytes(&m, fwd, sizeof(fwd));
	CU_ASSERT_EQUAL(parse(&m, &q, &why), DNS_PARSE_FORMERR);

	/* A two-pointer loop inside an RR owner name. */
	mb_header(&m, 1, 0, 0, 1, 1, 0, 0);
	mb_question(&m, "example.test", 251, 1);
	size_t at = m.len;
	uint8_t loop[] = { 1, 'x', 0xC0, (uint8_t)(at + 4), 0xC0, (uint8_t)at };
	mb_bytes(&m, loop, sizeof(loop));
	CU_ASSERT_EQUAL(parse(&m, &q, &why), DNS_PARSE_FORMERR);
}

static void
test_valid_backward_pointer(void)
{
	struct mb m;
	mb_header(&m, 1, 0, 0, 1, 0, 1, 0);
	mb_question(&m, "example.test", 251, 1);
	/* authority SOA owner compressed to the question name */
	uint8_t ptr[] = { 0xC0, 12 };
	mb_bytes(&m, ptr, 2);
	mb_u16(&m, 6);
	mb_u16(&m, 1);
	mb_u32(&m, 0);
	mb_u16(&m, 2 + 2 + 20);
	mb_bytes(&m, ptr, 2);
	mb_bytes(&m, ptr, 2);
	mb_u32(&m, 99);
	mb_u32(&m, 1);
	mb_u32(&m, 1);
	mb_u32(&m, 1);
	mb_u32(&m, 1);
	struct dns_query q;
	const char *why;
	CU_ASSERT_EQUAL_FATAL(parse(&m, &q, &why), DNS_PARSE_OK);
	CU_ASSERT_EQUAL(q.ixfr_serial, 99);
}

static void
test_bad_counts(void)
{
	struct mb m;
	struct dns_query q;
	const char *why;
	mb_header(&m, 1, 0, 0, 0, 0, 0, 0);           /* QDCOUNT 0 */
	CU_ASSERT_EQUAL(parse(&m, &q, &why), DNS_PARSE_FORMERR);
	CU_ASSERT_FALSE(q.has_question);
	mb_header(&m, 1, 0, 0, 2, 0, 0, 0);           /* QDCOUNT 2 */
	mb_question(&m, "a.test", 6, 1);
	mb_question(&m, "b.test", 6, 1);
	CU_ASSERT_EQUAL(parse(&m, &q, &why), DNS_PARSE_FORMERR);
	mb_header(&m, 1, 0, 0, 1, 3, 0, 0);           /* ANCOUNT beyond the message */
	mb_question(&m, "a.test", 6, 1);
	CU_ASSERT_EQUAL(parse(&m, &q, &why), DNS_PARSE_FORMERR);
	CU_ASSERT_TRUE(q.has_question);               /* FORMERR can echo it */
	mb_header(&m, 1, 0x80, 0, 1, 0, 0, 0);        /* QR set */
	mb_question(&m, "a.test", 6, 1);
	CU_ASSERT_EQUAL(parse(&m, &q, &why), DNS_PARSE_FORMERR);
	mb_header(&m, 1, 0, 0, 1, 0, 0, 0);           /* trailing garbage */
	mb_question(&m, "a.test", 6, 1);
	mb_u16(&m, 0xFFFF);
	CU_ASSERT_EQUAL(parse(&m, &q, &why), DNS_PARSE_FORMERR);
}

static void
test_opt_and_tsig_placement(void)
{
	struct mb m;
	struct dns_query q;
	const char *why;
	mb_header(&m, 1, 0, 0, 1, 0, 0, 2);           /* two OPTs */
	mb_question(&m, "a.test", 252, 1);
	mb_opt(&m, 0, NULL, 0);
	mb_opt(&m, 0, NULL, 0);
	CU_ASSERT_EQUAL(parse(&m, &q, &why), DNS_PARSE_FORMERR);
	mb_header(&m, 1, 0, 0, 1, 0, 0, 2);           /* TSIG before OPT (TSIG-04) */
	mb_question(&m, "a.test", 252, 1);
	mb_tsig(&m, "k");
	mb_opt(&m, 0, NULL, 0);
	CU_ASSERT_EQUAL(parse(&m, &q, &why), DNS_PARSE_FORMERR);
	mb_header(&m, 1, 0, 0, 1, 0, 0, 1);           /* option overruns OPT rdata */
	mb_question(&m, "a.test", 252, 1);
	uint8_t bad[] = { 0, 12, 0, 9, 0 };
	mb_opt(&m, 0, bad, sizeof(bad));
	CU_ASSERT_EQUAL(parse(&m, &q, &why), DNS_PARSE_FORMERR);
	mb_header(&m, 1, 0, 0, 1, 0, 0, 1);           /* EDNS version 1 parses; policy says BADVERS */
	mb_question(&m, "a.test", 252, 1);
	mb_opt(&m, 1, NULL, 0);
	CU_ASSERT_EQUAL(parse(&m, &q, &why), DNS_PARSE_OK);
	CU_ASSERT_EQUAL(q.edns_version, 1);
}

/* Finds option `code` in the OPT of an answer built by dnsmsg_build_error. */
static const uint8_t *
find_option(const uint8_t *msg, size_t len, size_t qlen, uint16_t code, uint16_t *olen)
{
	size_t p = 12 + qlen + 11;                    /* past the question and OPT fixed part */
	while (p + 4 <= len) {
		uint16_t c = rd16(msg + p), l = rd16(msg + p + 2);
		if (c == code) {
			*olen = l;
			return msg + p + 4;
		}
		p += 4 + l;
	}
	return NULL;
}

static void
test_refused_with_ede(void)
{
	struct mb m;
	mb_header(&m, 0x4242, 0x01, 0, 1, 0, 0, 1);   /* RD set */
	mb_question(&m, "Example.Test", 1, 1);
	mb_opt(&m, 0, NULL, 0);
	struct dns_query q;
	const char *why;
	CU_ASSERT_EQUAL_FATAL(parse(&m, &q, &why), DNS_PARSE_OK);
	uint8_t out[DNS_ERROR_MAX];
	int n = dnsmsg_build_error(&q, DNS_RCODE_REFUSED, DNS_EDE_NOT_SUPPORTED, NULL, out, sizeof(out));
	CU_ASSERT_FATAL(n > 12);
	CU_ASSERT_EQUAL(rd16(out), 0x4242);            /* same ID */
	CU_ASSERT_EQUAL(out[2], 0x81);                 /* QR, opcode 0, RD copied, AA 0 */
	CU_ASSERT_EQUAL(out[3] & 0x0F, 5);             /* REFUSED */
	CU_ASSERT_EQUAL(rd16(out + 4), 1);
	CU_ASSERT_EQUAL(rd16(out + 6), 0);
	CU_ASSERT_EQUAL(rd16(out + 10), 1);            /* OPT, because the query had one */
	CU_ASSERT_EQUAL(memcmp(out + 12, m.buf + 12, q.qname_len + 4), 0);   /* question echoed as sent */
	uint16_t olen;
	const uint8_t *ede = find_option(out, (size_t)n, q.qname_len + 4, DNS_OPT_EDE, &olen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ede);
	CU_ASSERT_EQUAL(olen, 2);
	CU_ASSERT_EQUAL(rd16(ede), 21);
	/* The answer parses back as a well-formed message with the same question. */
	out[2] &= 0x7F;
	struct dns_query back;
	CU_ASSERT_EQUAL(dnsmsg_parse_query(out, (size_t)n, &back, &why), DNS_PARSE_OK);
	CU_ASSERT_EQUAL(back.qtype, 1);
}

static void
test_refused_without_edns(void)
{
	struct mb m;
	mb_header(&m, 1, 0, 0, 1, 0, 0, 0);
	mb_question(&m, "example.test", 252, 1);
	struct dns_query q;
	const char *why;
	CU_ASSERT_EQUAL_FATAL(parse(&m, &q, &why), DNS_PARSE_OK);
	uint8_t out[DNS_ERROR_MAX];
	int n = dnsmsg_build_error(&q, DNS_RCODE_REFUSED, DNS_EDE_PROHIBITED, "x", out, sizeof(out));
	CU_ASSERT_EQUAL(n, (int)m.len);                /* header + question, no OPT (EDNS-02) */
	CU_ASSERT_EQUAL(rd16(out + 10), 0);
}

static void
test_padding_and_badvers(void)
{
	struct mb m;
	uint8_t pad[] = { 0, 12, 0, 0 };
	mb_header(&m, 1, 0, 0, 1, 0, 0, 1);
	mb_question(&m, "example.test", 252, 1);
	mb_opt(&m, 0, pad, sizeof(pad));
	struct dns_query q;
	const char *why;
	CU_ASSERT_EQUAL_FATAL(parse(&m, &q, &why), DNS_PARSE_OK);
	uint8_t out[DNS_ERROR_MAX];
	int n = dnsmsg_build_error(&q, DNS_RCODE_REFUSED, DNS_EDE_PROHIBITED, "acl", out, sizeof(out));
	CU_ASSERT_EQUAL(n % 468, 0);                   /* EDNS-03, EDNS-04 */
	uint16_t olen;
	const uint8_t *ede = find_option(out, (size_t)n, q.qname_len + 4, DNS_OPT_EDE, &olen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ede);
	CU_ASSERT_EQUAL(olen, 5);
	CU_ASSERT_EQUAL(memcmp(ede + 2, "acl", 3), 0);

	n = dnsmsg_build_error(&q, DNS_RCODE_BADVERS, DNS_EDE_NONE, NULL, out, sizeof(out));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(out[3] & 0x0F, 0);             /* BADVERS = 16: low bits 0 */
	size_t opt = 12 + q.qname_len + 4;
	CU_ASSERT_EQUAL(out[opt + 5], 1);              /* extended RCODE 1 */
}

static void
test_formerr_without_question(void)
{
	struct dns_query q;
	memset(&q, 0, sizeof(q));
	q.id = 77;
	uint8_t out[DNS_ERROR_MAX];
	int n = dnsmsg_build_error(&q, DNS_RCODE_FORMERR, DNS_EDE_NONE, NULL, out, sizeof(out));
	CU_ASSERT_EQUAL(n, 12);
	CU_ASSERT_EQUAL(rd16(out + 4), 0);
	CU_ASSERT_EQUAL(out[3], 1);
	CU_ASSERT_EQUAL(dnsmsg_build_error(&q, DNS_RCODE_FORMERR, DNS_EDE_NONE, NULL, out, 11), -1);
}

int
test_dnsmsg_register(void)
{
	SUITE("dnsmsg (reader and refusal builder)");
	TEST(test_axfr_query);
	TEST(test_ixfr_with_opt_and_tsig);
	TEST(test_truncated_everywhere);
	TEST(test_compression_loop);
	TEST(test_valid_backward_pointer);
	TEST(test_bad_counts);
	TEST(test_opt_and_tsig_placement);
	TEST(test_refused_with_ede);
	TEST(test_refused_without_edns);
	TEST(test_padding_and_badvers);
	TEST(test_formerr_without_question);
	return 0;
}
