/* test_policy.c - query verdicts: type filter (XOT-15, XOT-16), deny by
 * default (AXFR-08), unknown zone and ACL miss alike (XOT-17), BADVERS (EDNS-02). */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <string.h>

#include "conf.h"
#include "policy.h"
#include "unit.h"

static const char *cfg =
	"[inbound]\n"
	"cert = c.pem\n"
	"key = k.pem\n"
	"[zone example.test]\n"
	"allow = 127.0.0.1/32 2001:db8::/32\n"
	"[zone closed.test]\n";

static struct sockaddr_in
v4(const char *a)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, a, &sin.sin_addr);
	return sin;
}

static struct dns_query
query(const char *name, uint16_t type)
{
	struct mb m;
	mb_header(&m, 1, 0, 0, 1, 0, 0, 0);
	mb_question(&m, name, type, 1);
	struct dns_query q;
	const char *why;
	CU_ASSERT_EQUAL(dnsmsg_parse_query(m.buf, m.len, &q, &why), DNS_PARSE_OK);
	return q;
}

static void
test_verdicts(void)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = conf_parse_string(cfg, "t.ini", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	struct sockaddr_in in = v4("127.0.0.1"), out = v4("127.0.0.2");
	const struct sockaddr *pin = (const struct sockaddr *)&in, *pout = (const struct sockaddr *)&out;

	struct dns_query q = query("EXAMPLE.test", DNS_TYPE_AXFR);
	struct verdict v = policy_check(conf, &q, pin);
	CU_ASSERT_TRUE(v.forward);
	CU_ASSERT_PTR_NOT_NULL(v.zone);

	q = query("example.test", DNS_TYPE_IXFR);
	CU_ASSERT_TRUE(policy_check(conf, &q, pin).forward);
	q = query("example.test", DNS_TYPE_SOA);
	CU_ASSERT_TRUE(policy_check(conf, &q, pin).forward);

	v = policy_check(conf, &q, pout);
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_EQUAL(v.rcode, DNS_RCODE_REFUSED);
	CU_ASSERT_EQUAL(v.ede, DNS_EDE_PROHIBITED);
	CU_ASSERT_STRING_EQUAL(v.reason, "acl");

	q = query("example.test", DNS_TYPE_A);
	v = policy_check(conf, &q, pin);
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_EQUAL(v.ede, DNS_EDE_NOT_SUPPORTED);

	q = query("other.test", DNS_TYPE_AXFR);
	v = policy_check(conf, &q, pin);
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_EQUAL(v.ede, DNS_EDE_PROHIBITED);         /* same answer as an ACL miss */
	CU_ASSERT_STRING_EQUAL(v.reason, "unknown zone");

	q = query("sub.example.test", DNS_TYPE_AXFR);       /* exact apex only */
	CU_ASSERT_FALSE(policy_check(conf, &q, pin).forward);

	q = query("closed.test", DNS_TYPE_AXFR);            /* zone with no allow: nobody */
	CU_ASSERT_FALSE(policy_check(conf, &q, pin).forward);

	q = query("example.test", DNS_TYPE_AXFR);
	q.qclass = 3;                                       /* CHAOS */
	CU_ASSERT_EQUAL(policy_check(conf, &q, pin).ede, DNS_EDE_NOT_SUPPORTED);
	q = query("example.test", DNS_TYPE_AXFR);
	q.opcode = 4;                        /* NOTIFY-01, issue 7: NOTIMP, not REFUSED */
	CU_ASSERT_EQUAL(policy_check(conf, &q, pin).ede, DNS_EDE_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(policy_check(conf, &q, pin).rcode, DNS_RCODE_NOTIMP);
	q.opcode = 2;                                       /* STATUS */
	CU_ASSERT_EQUAL(policy_check(conf, &q, pin).rcode, DNS_RCODE_NOTIMP);
	q = query("example.test", DNS_TYPE_AXFR);
	q.has_opt = true;
	q.edns_version = 1;
	CU_ASSERT_EQUAL(policy_check(conf, &q, pin).rcode, DNS_RCODE_BADVERS);

	struct sockaddr_in6 s6;
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::53", &s6.sin6_addr);
	q = query("example.test", DNS_TYPE_AXFR);
	CU_ASSERT_TRUE(policy_check(conf, &q, (const struct sockaddr *)&s6).forward);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6.sin6_addr);   /* mapped v4 from a dual-stack socket */
	CU_ASSERT_TRUE(policy_check(conf, &q, (const struct sockaddr *)&s6).forward);
	conf_free(conf);
}

int
test_policy_register(void)
{
	SUITE("policy");
	TEST(test_verdicts);
	return 0;
}
