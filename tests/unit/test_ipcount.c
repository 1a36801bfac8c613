/* test_ipcount.c - per-address connection counts for max-clients-per-ip
 * (TCP-04): the cap, release, IPv4-mapped addresses, no entries left over. */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/ipcount.h"
#include "unit.h"


static void
test_cap_and_release(void)
{
	struct ipcount *t = calloc(1, sizeof(*t));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct sockaddr_storage a = ut_addr("192.0.2.1"), b = ut_addr("192.0.2.2");
	for (int i = 0; i < 3; i++)
		CU_ASSERT_TRUE(ipcount_take(t, SA(a), 3));
	CU_ASSERT_FALSE(ipcount_take(t, SA(a), 3));      /* 4th over the cap */
	CU_ASSERT_EQUAL(ipcount_get(t, SA(a)), 3);
	CU_ASSERT_TRUE(ipcount_take(t, SA(b), 3));       /* other address unaffected */
	ipcount_release(t, SA(a));
	CU_ASSERT_TRUE(ipcount_take(t, SA(a), 3));       /* room again */
	for (int i = 0; i < 3; i++)
		ipcount_release(t, SA(a));
	ipcount_release(t, SA(b));
	CU_ASSERT_EQUAL(t->entries, 0);                  /* no entry without connections */
	ipcount_release(t, SA(a));                       /* unknown: harmless */
	CU_ASSERT_EQUAL(ipcount_get(t, SA(a)), 0);
	free(t);
}

static void
test_unlimited_and_mapped(void)
{
	struct ipcount *t = calloc(1, sizeof(*t));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct sockaddr_storage v4 = ut_addr("198.51.100.7"), mapped = ut_addr("::ffff:198.51.100.7");
	struct sockaddr_storage v6 = ut_addr("2001:db8::7");
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_TRUE(ipcount_take(t, SA(v4), 0));  /* 0 = no cap */
	CU_ASSERT_EQUAL(ipcount_get(t, SA(mapped)), 1000); /* same client, dual-stack socket */
	CU_ASSERT_FALSE(ipcount_take(t, SA(mapped), 1000));
	CU_ASSERT_TRUE(ipcount_take(t, SA(v6), 1));
	CU_ASSERT_FALSE(ipcount_take(t, SA(v6), 1));
	CU_ASSERT_EQUAL(t->entries, 2);
	ipcount_clear(t);
	CU_ASSERT_EQUAL(t->entries, 0);
	CU_ASSERT_EQUAL(ipcount_get(t, SA(v4)), 0);
	free(t);
}

int
test_ipcount_register(void)
{
	SUITE("ipcount (per-IP cap)");
	TEST(test_cap_and_release);
	TEST(test_unlimited_and_mapped);
	return 0;
}
