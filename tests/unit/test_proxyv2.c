/* test_proxyv2.c - PROXY protocol v2 headers (proxy-protocol.txt 2.2): exact
 * bytes for IPv4 and IPv6 with and without TLVs (expected arrays written by
 * hand from the spec), family choice for IPv4-mapped addresses, the length
 * field, and the cap. */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "proxy/lib/proxyv2.h"
#include "unit.h"

#define SIG 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a

/* 192.0.2.1:53122 -> 198.51.100.2:53, TCP over IPv4, no TLVs. */
static const uint8_t v4_plain[] = {
	SIG,
	0x21, 0x11, 0x00, 0x0c,                         /* PROXY, TCP4, 12 bytes */
	0xc0, 0x00, 0x02, 0x01,                         /* 192.0.2.1 */
	0xc6, 0x33, 0x64, 0x02,                         /* 198.51.100.2 */
	0xcf, 0x82,                                     /* 53122 */
	0x00, 0x35,                                     /* 53 */
};

/* The same with SNI "example.test", TLSv1.3 and a verified client cert. */
static const uint8_t v4_tlvs[] = {
	SIG,
	0x21, 0x11, 0x00, 0x2d,                         /* 12 + 15 + 18 = 45 */
	0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0xcf, 0x82, 0x00, 0x35,
	0x02, 0x00, 0x0c,                               /* AUTHORITY, 12 */
	'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 't', 'e', 's', 't',
	0x20, 0x00, 0x0f,                               /* SSL, 1 + 4 + 10 */
	0x07,                                           /* SSL | CERT_CONN | CERT_SESS */
	0x00, 0x00, 0x00, 0x00,                         /* verify: 0 = verified */
	0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3',   /* SSL_VERSION */
};

/* [2001:db8::1]:40000 -> [2001:db8::53]:853, TCP over IPv6, no TLVs. */
static const uint8_t v6_plain[] = {
	SIG,
	0x21, 0x21, 0x00, 0x24,                         /* PROXY, TCP6, 36 bytes */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
	0x9c, 0x40,                                     /* 40000 */
	0x03, 0x55,                                     /* 853 */
};

/* The same with SNI "xfr.example", TLSv1.3, no client certificate. */
static const uint8_t v6_tlvs[] = {
	SIG,
	0x21, 0x21, 0x00, 0x44,                         /* 36 + 14 + 18 = 68 */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
	0x9c, 0x40, 0x03, 0x55,
	0x02, 0x00, 0x0b, 'x', 'f', 'r', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	0x20, 0x00, 0x0f,
	0x01,                                           /* SSL only */
	0x00, 0x00, 0x00, 0x01,                         /* verify: not verified */
	0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3',
};

static void
check_bytes(const uint8_t *got, int len, const uint8_t *want, size_t want_len)
{
	CU_ASSERT_EQUAL(len, (int)want_len);
	if (len == (int)want_len)
		CU_ASSERT_EQUAL(memcmp(got, want, want_len), 0);
}

static void
test_ipv4_exact(void)
{
	struct sockaddr_storage src = ut_addr_port("192.0.2.1", 53122), dst = ut_addr_port("198.51.100.2", 53);
	uint8_t out[256];
	int n = proxyv2_build(out, sizeof(out), SA(src), SA(dst), NULL, NULL, false);
	check_bytes(out, n, v4_plain, sizeof(v4_plain));
	CU_ASSERT_EQUAL(n, PROXYV2_V4_LEN);
	n = proxyv2_build(out, sizeof(out), SA(src), SA(dst), "example.test", "TLSv1.3", true);
	check_bytes(out, n, v4_tlvs, sizeof(v4_tlvs));
}

static void
test_ipv6_exact(void)
{
	struct sockaddr_storage src = ut_addr_port("2001:db8::1", 40000), dst = ut_addr_port("2001:db8::53", 853);
	uint8_t out[256];
	int n = proxyv2_build(out, sizeof(out), SA(src), SA(dst), NULL, NULL, false);
	check_bytes(out, n, v6_plain, sizeof(v6_plain));
	CU_ASSERT_EQUAL(n, PROXYV2_V6_LEN);
	n = proxyv2_build(out, sizeof(out), SA(src), SA(dst), "xfr.example", "TLSv1.3", false);
	check_bytes(out, n, v6_tlvs, sizeof(v6_tlvs));
}

/* The struct form: no SNI, version and CN sub-TLVs; a verified certificate
 * with no version string still gets PP2_TYPE_SSL from proxyv2_build. */
static void
test_ssl_cn_and_partial(void)
{
	static const uint8_t want[] = {
		SIG,
		0x21, 0x11, 0x00, 0x28,                 /* 12 + 28 = 40 */
		0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0xcf, 0x82, 0x00, 0x35,
		0x20, 0x00, 0x19,                       /* SSL, 1 + 4 + 10 + 10 = 25 */
		0x07, 0x00, 0x00, 0x00, 0x00,
		0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3',
		0x22, 0x00, 0x07, 's', 'e', 'c', 'o', 'n', 'd', '1',   /* SSL_CN */
	};
	static const uint8_t want_verified_only[] = {
		SIG,
		0x21, 0x11, 0x00, 0x14,                 /* 12 + 8 = 20 */
		0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0xcf, 0x82, 0x00, 0x35,
		0x20, 0x00, 0x05, 0x07, 0x00, 0x00, 0x00, 0x00,
	};
	struct sockaddr_storage src = ut_addr_port("192.0.2.1", 53122), dst = ut_addr_port("198.51.100.2", 53);
	uint8_t out[256];
	struct proxyv2_tls tls = {
		.ssl = true, .cert_verified = true, .version = "TLSv1.3", .cn = "second1",
	};
	int n = proxyv2_encode(out, sizeof(out), SA(src), SA(dst), &tls);
	check_bytes(out, n, want, sizeof(want));
	n = proxyv2_encode(out, sizeof(out), SA(src), SA(dst), NULL);
	check_bytes(out, n, v4_plain, sizeof(v4_plain));
	struct proxyv2_tls sni_only = { .sni = "example.test" };
	n = proxyv2_encode(out, sizeof(out), SA(src), SA(dst), &sni_only);
	CU_ASSERT_EQUAL(n, PROXYV2_V4_LEN + 15);
	CU_ASSERT_EQUAL(memcmp(out + PROXYV2_V4_LEN, v4_tlvs + PROXYV2_V4_LEN, 15), 0);
	CU_ASSERT_EQUAL(out[15], 12 + 15);
	n = proxyv2_build(out, sizeof(out), SA(src), SA(dst), NULL, NULL, true);
	check_bytes(out, n, want_verified_only, sizeof(want_verified_only));
}

/* A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d. */
static void
test_mapped_and_mixed(void)
{
	struct sockaddr_storage msrc = ut_addr_port("::ffff:192.0.2.1", 53122);
	struct sockaddr_storage dst4 = ut_addr_port("198.51.100.2", 53), mdst = ut_addr_port("::ffff:198.51.100.2", 53);
	uint8_t out[256];
	int n = proxyv2_build(out, sizeof(out), SA(msrc), SA(dst4), NULL, NULL, false);
	check_bytes(out, n, v4_plain, sizeof(v4_plain));
	n = proxyv2_build(out, sizeof(out), SA(msrc), SA(mdst), NULL, NULL, false);
	check_bytes(out, n, v4_plain, sizeof(v4_plain));
	/* Real IPv6 source, IPv4 destination: TCP6 with the destination mapped. */
	struct sockaddr_storage src6 = ut_addr_port("2001:db8::1", 40000);
	n = proxyv2_build(out, sizeof(out), SA(src6), SA(dst4), NULL, NULL, false);
	CU_ASSERT_EQUAL_FATAL(n, PROXYV2_V6_LEN);
	CU_ASSERT_EQUAL(out[13], PP2_FAM_TCP6);
	static const uint8_t dst_mapped[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xc6, 0x33, 0x64, 0x02,
	};
	CU_ASSERT_EQUAL(memcmp(out + 16 + 16, dst_mapped, 16), 0);
	CU_ASSERT_EQUAL(out[50], 0x00);
	CU_ASSERT_EQUAL(out[51], 0x35);
}

static void
test_bad_input(void)
{
	struct sockaddr_storage src = ut_addr_port("192.0.2.1", 1), dst = ut_addr_port("198.51.100.2", 53);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	uint8_t out[256];
	const struct sockaddr *unix_sa = (const struct sockaddr *)&un;
	CU_ASSERT_EQUAL(proxyv2_build(out, sizeof(out), unix_sa, SA(dst), NULL, NULL, false), -1);
	CU_ASSERT_EQUAL(proxyv2_build(out, sizeof(out), SA(src), unix_sa, NULL, NULL, false), -1);
	CU_ASSERT_EQUAL(proxyv2_build(out, sizeof(out), NULL, SA(dst), NULL, NULL, false), -1);
	CU_ASSERT_EQUAL(proxyv2_build(NULL, 0, SA(src), SA(dst), NULL, NULL, false), -1);
}

/* Too small by one byte: -1 and nothing written; exactly enough: written. */
static void
test_cap_too_small(void)
{
	struct sockaddr_storage src = ut_addr_port("192.0.2.1", 53122), dst = ut_addr_port("198.51.100.2", 53);
	struct sockaddr_storage s6 = ut_addr_port("2001:db8::1", 40000), d6 = ut_addr_port("2001:db8::53", 853);
	uint8_t out[256];
	memset(out, 0xaa, sizeof(out));
	CU_ASSERT_EQUAL(proxyv2_build(out, sizeof(v4_plain) - 1, SA(src), SA(dst), NULL, NULL, false), -1);
	CU_ASSERT_EQUAL(proxyv2_build(out, sizeof(v4_tlvs) - 1, SA(src), SA(dst), "example.test",
	                              "TLSv1.3", true), -1);
	CU_ASSERT_EQUAL(proxyv2_build(out, sizeof(v6_tlvs) - 1, SA(s6), SA(d6), "xfr.example",
	                              "TLSv1.3", false), -1);
	CU_ASSERT_EQUAL(proxyv2_build(out, 0, SA(src), SA(dst), NULL, NULL, false), -1);
	for (size_t i = 0; i < sizeof(out); i++)
		CU_ASSERT_EQUAL_FATAL(out[i], 0xaa);
	int n = proxyv2_build(out, sizeof(v4_tlvs), SA(src), SA(dst), "example.test", "TLSv1.3", true);
	check_bytes(out, n, v4_tlvs, sizeof(v4_tlvs));
	CU_ASSERT_EQUAL(out[sizeof(v4_tlvs)], 0xaa);
}

/* The length field always equals what follows it, and the TLVs it covers
 * parse back to exactly its end; past 65535 the header cannot exist. */
static void
test_length_field(void)
{
	struct sockaddr_storage src = ut_addr_port("192.0.2.1", 1), dst = ut_addr_port("198.51.100.2", 53);
	struct sockaddr_storage s6 = ut_addr_port("2001:db8::1", 2), d6 = ut_addr_port("2001:db8::2", 3);
	size_t big = 70000;
	uint8_t *out = malloc(big);
	char *name = malloc(big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(name);
	memset(name, 'a', big);
	for (size_t l = 0; l < 300; l += 7) {
		name[l] = '\0';
		for (int v6 = 0; v6 < 2; v6++) {
			const struct sockaddr *s = v6 ? SA(s6) : SA(src), *d = v6 ? SA(d6) : SA(dst);
			int n = proxyv2_build(out, big, s, d, name, l % 2 ? "TLSv1.3" : NULL, l % 3 == 0);
			CU_ASSERT_FATAL(n > 0);
			size_t field = (size_t)out[14] << 8 | out[15];
			CU_ASSERT_EQUAL(field, (size_t)n - PROXYV2_HDR_LEN);
			size_t p = PROXYV2_HDR_LEN + (v6 ? 36 : 12);
			CU_ASSERT_EQUAL(out[p], PP2_TYPE_AUTHORITY);
			CU_ASSERT_EQUAL((size_t)out[p + 1] << 8 | out[p + 2], l);
			unsigned tlvs = 0;
			while (p + 3 <= (size_t)n) {
				p += 3 + ((size_t)out[p + 1] << 8 | out[p + 2]);
				tlvs++;
			}
			CU_ASSERT_EQUAL(p, (size_t)n);
			CU_ASSERT_EQUAL(tlvs, (l % 2 || l % 3 == 0) ? 2u : 1u);
		}
		name[l] = 'a';
	}
	/* TCP4: 12 address bytes + 3 + 65520 = 65535 fits; one more does not. */
	name[65520] = '\0';
	int n = proxyv2_build(out, big, SA(src), SA(dst), name, NULL, false);
	CU_ASSERT_EQUAL(n, PROXYV2_HDR_LEN + 65535);
	CU_ASSERT_EQUAL(out[14], 0xff);
	CU_ASSERT_EQUAL(out[15], 0xff);
	name[65520] = 'a';
	name[65521] = '\0';
	CU_ASSERT_EQUAL(proxyv2_build(out, big, SA(src), SA(dst), name, NULL, false), -1);
	name[65521] = 'a';
	name[big - 1] = '\0';                                   /* a TLV over 65535 by itself */
	CU_ASSERT_EQUAL(proxyv2_build(out, big, SA(src), SA(dst), name, NULL, false), -1);
	free(out);
	free(name);
}

int
test_proxyv2_register(void)
{
	SUITE("proxyv2 (PROXY protocol v2 header)");
	TEST(test_ipv4_exact);
	TEST(test_ipv6_exact);
	TEST(test_ssl_cn_and_partial);
	TEST(test_mapped_and_mixed);
	TEST(test_bad_input);
	TEST(test_cap_too_small);
	TEST(test_length_field);
	return 0;
}
