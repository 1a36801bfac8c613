/* test_netaddr.c - CUnit tests for proxy/lib/netaddr.c. */
#include <CUnit/CUnit.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>

#include "proxy/lib/netaddr.h"
#include "unit.h"


/* A socket address as accept() would fill it in. */
static struct sockaddr_storage
sa_of(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		CU_ASSERT_FATAL(inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		CU_ASSERT_FATAL(inet_pton(AF_INET, ip, &s4->sin_addr) == 1);
	}
	return ss;
}


static void
test_parse_v4(void)
{
	struct netaddr na;
	char buf[NETADDR_TEXT_MAX];

	CU_ASSERT_EQUAL_FATAL(netaddr_parse("192.0.2.1:53", 0, &na), 0);
	CU_ASSERT_EQUAL(na.ss.ss_family, AF_INET);
	CU_ASSERT_EQUAL(na.len, sizeof(struct sockaddr_in));
	netaddr_format(SA(na.ss), buf);
	CU_ASSERT_STRING_EQUAL(buf, "192.0.2.1#53");
	netaddr_format_hostport(SA(na.ss), buf);
	CU_ASSERT_STRING_EQUAL(buf, "192.0.2.1:53");

	/* bare address takes the default port (XOT-03: 853 for TLS) */
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("192.0.2.1", 853, &na), 0);
	netaddr_format(SA(na.ss), buf);
	CU_ASSERT_STRING_EQUAL(buf, "192.0.2.1#853");
	CU_ASSERT_EQUAL(netaddr_parse("192.0.2.1", 0, &na), -1);

	CU_ASSERT_EQUAL_FATAL(netaddr_parse("10.1.2.3:65535", 0, &na), 0);
	netaddr_format(SA(na.ss), buf);
	CU_ASSERT_STRING_EQUAL(buf, "10.1.2.3#65535");
}

static void
test_parse_v6(void)
{
	struct netaddr na;
	char buf[NETADDR_TEXT_MAX];

	CU_ASSERT_EQUAL_FATAL(netaddr_parse("[2001:db8::1]:853", 0, &na), 0);
	CU_ASSERT_EQUAL(na.ss.ss_family, AF_INET6);
	CU_ASSERT_EQUAL(na.len, sizeof(struct sockaddr_in6));
	netaddr_format(SA(na.ss), buf);
	CU_ASSERT_STRING_EQUAL(buf, "2001:db8::1#853");
	netaddr_format_hostport(SA(na.ss), buf);
	CU_ASSERT_STRING_EQUAL(buf, "[2001:db8::1]:853");

	CU_ASSERT_EQUAL_FATAL(netaddr_parse("2001:DB8:0:0::2", 53, &na), 0);
	netaddr_format(SA(na.ss), buf);
	CU_ASSERT_STRING_EQUAL(buf, "2001:db8::2#53");
	CU_ASSERT_EQUAL(netaddr_parse("2001:db8::2", 0, &na), -1);

	CU_ASSERT_EQUAL_FATAL(netaddr_parse("[::]:853", 0, &na), 0);
	netaddr_format(SA(na.ss), buf);
	CU_ASSERT_STRING_EQUAL(buf, "::#853");

	CU_ASSERT_EQUAL_FATAL(netaddr_parse("[::1]", 53, &na), 0);
	netaddr_format(SA(na.ss), buf);
	CU_ASSERT_STRING_EQUAL(buf, "::1#53");
}

static void
test_parse_garbage(void)
{
	static const char *const bad[] = {
		"", "1.2.3.4/33", "[::1", "1.2.3.4:0", "1.2.3.4:65536", "::1]:53",
		"1.2.3.4:", "1.2.3.4:+53", "1.2.3.4:53 ", " 1.2.3.4:53", "1.2.3.4:053x",
		"1.2.3.4:100000", "localhost:53", "example.com", "1.2.3:53", "256.1.1.1:53",
		"[1.2.3.4]:53", "[::1]53", "[::1]:", "[]:53", "[fe80::1%eth0]:53", "fe80::1%eth0",
		"[::1]:53:53", ":53", "1.2.3.4:5:6",
	};
	struct netaddr na;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = netaddr_parse(bad[i], 53, &na);
		CU_ASSERT_EQUAL(rc, -1);
		if (rc != -1)
			fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
	}
	CU_ASSERT_EQUAL(netaddr_parse(NULL, 53, &na), -1);
}

static void
test_loopback(void)
{
	/* PRX-06: plaintext sides default to loopback; -t warns otherwise */
	struct sockaddr_storage a;
	a = sa_of("127.0.0.1", 53);
	CU_ASSERT_TRUE(netaddr_is_loopback(SA(a)));
	a = sa_of("127.255.0.9", 53);
	CU_ASSERT_TRUE(netaddr_is_loopback(SA(a)));
	a = sa_of("::1", 53);
	CU_ASSERT_TRUE(netaddr_is_loopback(SA(a)));
	a = sa_of("::ffff:127.0.0.2", 53);
	CU_ASSERT_TRUE(netaddr_is_loopback(SA(a)));
	a = sa_of("128.0.0.1", 53);
	CU_ASSERT_FALSE(netaddr_is_loopback(SA(a)));
	a = sa_of("0.0.0.0", 53);
	CU_ASSERT_FALSE(netaddr_is_loopback(SA(a)));
	a = sa_of("::", 53);
	CU_ASSERT_FALSE(netaddr_is_loopback(SA(a)));
	a = sa_of("::2", 53);
	CU_ASSERT_FALSE(netaddr_is_loopback(SA(a)));
	a = sa_of("::ffff:10.0.0.1", 53);
	CU_ASSERT_FALSE(netaddr_is_loopback(SA(a)));
}

/* Parses text, checks the canonical form, returns the prefix. */
static struct cidr
cidr_ok(const char *text, const char *canon)
{
	struct cidr c;
	char buf[CIDR_TEXT_MAX];
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(cidr_parse(text, &c), 0);
	cidr_format(&c, buf);
	CU_ASSERT_STRING_EQUAL(buf, canon);
	return c;
}

static void
test_cidr_parse_format(void)
{
	struct cidr c;
	c = cidr_ok("10.0.0.0/8", "10.0.0.0/8");
	CU_ASSERT_EQUAL(c.family, AF_INET);
	CU_ASSERT_EQUAL(c.prefix, 8);
	c = cidr_ok("192.0.2.7", "192.0.2.7/32");
	CU_ASSERT_EQUAL(c.prefix, 32);
	c = cidr_ok("0.0.0.0/0", "0.0.0.0/0");
	CU_ASSERT_EQUAL(c.prefix, 0);
	c = cidr_ok("2001:db8::/32", "2001:db8::/32");
	CU_ASSERT_EQUAL(c.family, AF_INET6);
	CU_ASSERT_EQUAL(c.prefix, 32);
	c = cidr_ok("::1", "::1/128");
	CU_ASSERT_EQUAL(c.prefix, 128);
	c = cidr_ok("::/0", "::/0");
	c = cidr_ok("2001:db8::fffe/127", "2001:db8::fffe/127");
	CU_ASSERT_EQUAL(c.prefix, 127);
	/* mapped prefix is stored as IPv4 */
	c = cidr_ok("::ffff:192.0.2.0/120", "192.0.2.0/24");
	CU_ASSERT_EQUAL(c.family, AF_INET);
	CU_ASSERT_EQUAL(c.prefix, 24);
	c = cidr_ok("::ffff:192.0.2.1", "192.0.2.1/32");
	CU_ASSERT_EQUAL(c.family, AF_INET);
}

static void
test_cidr_errors(void)
{
	static const char *const bad[] = {
		"10.0.0.1/8",           /* host bits set */
		"2001:db8::1/32",       /* host bits set */
		"2001:db8::1/127",      /* last bit set past /127 */
		"192.0.2.1/31",
		"1.2.3.4/33", "::/129", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/ 8", "1.2.3.4/8x",
		"1.2.3.4/0008", "/8", "", "example.com", "1.2.3.4:53", "[::1]", "fe80::1%eth0",
		"1.2.3.4/8/8", " 1.2.3.4",
	};
	struct cidr c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = cidr_parse(bad[i], &c);
		CU_ASSERT_EQUAL(rc, -1);
		if (rc != -1)
			fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
	}
}

static bool
match(const char *prefix, const char *ip)
{
	struct cidr c;
	struct sockaddr_storage a = sa_of(ip, 12345);
	CU_ASSERT_EQUAL_FATAL(cidr_parse(prefix, &c), 0);
	return cidr_match(&c, SA(a));
}

static void
test_cidr_match_v4(void)
{
	/* AXFR-08: IP ranges as ACL entries */
	CU_ASSERT_TRUE(match("10.0.0.0/8", "10.255.1.2"));
	CU_ASSERT_FALSE(match("10.0.0.0/8", "11.0.0.1"));
	CU_ASSERT_TRUE(match("192.0.2.7", "192.0.2.7"));
	CU_ASSERT_FALSE(match("192.0.2.7/32", "192.0.2.6"));
	CU_ASSERT_TRUE(match("0.0.0.0/0", "203.0.113.9"));
	CU_ASSERT_TRUE(match("192.0.2.128/25", "192.0.2.200"));
	CU_ASSERT_FALSE(match("192.0.2.128/25", "192.0.2.127"));
	/* IPv4 prefixes never match IPv6 clients */
	CU_ASSERT_FALSE(match("0.0.0.0/0", "2001:db8::1"));
}

static void
test_cidr_match_v6(void)
{
	CU_ASSERT_TRUE(match("2001:db8::/32", "2001:db8:ffff::1"));
	CU_ASSERT_FALSE(match("2001:db8::/32", "2001:db9::1"));
	CU_ASSERT_TRUE(match("::1", "::1"));
	CU_ASSERT_FALSE(match("::1/128", "::2"));
	CU_ASSERT_TRUE(match("2001:db8::fffe/127", "2001:db8::ffff"));
	CU_ASSERT_TRUE(match("2001:db8::fffe/127", "2001:db8::fffe"));
	CU_ASSERT_FALSE(match("2001:db8::fffe/127", "2001:db8::fffd"));
	CU_ASSERT_TRUE(match("::/0", "2001:db8::1"));
	/* IPv6 prefixes never match IPv4 clients */
	CU_ASSERT_FALSE(match("::/0", "192.0.2.1"));
}

static void
test_cidr_match_mapped(void)
{
	/* a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d */
	CU_ASSERT_TRUE(match("192.0.2.0/24", "::ffff:192.0.2.55"));
	CU_ASSERT_FALSE(match("192.0.2.0/24", "::ffff:192.0.3.1"));
	CU_ASSERT_TRUE(match("127.0.0.0/8", "::ffff:127.0.0.1"));
	CU_ASSERT_TRUE(match("0.0.0.0/0", "::ffff:8.8.8.8"));
	/* ...and not IPv6 prefixes, so "::/0" does not open IPv4 (AXFR-08) */
	CU_ASSERT_FALSE(match("::/0", "::ffff:192.0.2.55"));
	/* a mapped prefix behaves as its IPv4 prefix for both forms */
	CU_ASSERT_TRUE(match("::ffff:192.0.2.0/120", "192.0.2.9"));
	CU_ASSERT_TRUE(match("::ffff:192.0.2.0/120", "::ffff:192.0.2.9"));
	CU_ASSERT_FALSE(match("::ffff:192.0.2.0/120", "192.0.3.9"));
	/* not mapped: ::192.0.2.1 (deprecated compatible form) stays IPv6 */
	CU_ASSERT_FALSE(match("192.0.2.0/24", "::192.0.2.1"));
}

static void
test_format_unknown(void)
{
	struct sockaddr_storage ss;
	char buf[NETADDR_TEXT_MAX];
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	netaddr_format(SA(ss), buf);
	CU_ASSERT_STRING_EQUAL(buf, "(unknown address)");
	CU_ASSERT_FALSE(netaddr_is_loopback(SA(ss)));
	struct cidr c;
	CU_ASSERT_EQUAL_FATAL(cidr_parse("0.0.0.0/0", &c), 0);
	CU_ASSERT_FALSE(cidr_match(&c, SA(ss)));
}

int
test_netaddr_register(void)
{
	CU_pSuite s = CU_add_suite("netaddr", NULL, NULL);
	if (s == NULL)
		return -1;
	if (CU_add_test(s, "parse/format IPv4", test_parse_v4) == NULL ||
	    CU_add_test(s, "parse/format IPv6", test_parse_v6) == NULL ||
	    CU_add_test(s, "parse rejects garbage", test_parse_garbage) == NULL ||
	    CU_add_test(s, "loopback", test_loopback) == NULL ||
	    CU_add_test(s, "cidr parse/format", test_cidr_parse_format) == NULL ||
	    CU_add_test(s, "cidr errors", test_cidr_errors) == NULL ||
	    CU_add_test(s, "cidr match IPv4", test_cidr_match_v4) == NULL ||
	    CU_add_test(s, "cidr match IPv6", test_cidr_match_v6) == NULL ||
	    CU_add_test(s, "cidr match mapped", test_cidr_match_mapped) == NULL ||
	    CU_add_test(s, "unknown family", test_format_unknown) == NULL)
		return -1;
	return 0;
}
