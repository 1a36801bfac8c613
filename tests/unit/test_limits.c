/* test_limits.c - the issue-7 rules that are not parsing: the per-session
 * caps (XOT-10: over 8 transfers SERVFAIL at once, an SOA still passes, 16
 * queries at most) and the pending-handshake FIFO behind max-handshakes
 * (the oldest goes first, whatever finished in between). */
#include <CUnit/CUnit.h>

#include "proxy/lib/fifo.h"
#include "proxy/relay.h"
#include "unit.h"

static void
test_session_caps(void)
{
	CU_ASSERT_EQUAL(relay_cap_check(0, 0, false), RSN_NONE);
	CU_ASSERT_EQUAL(relay_cap_check(7, 7, false), RSN_NONE);     /* the 8th transfer */
	CU_ASSERT_EQUAL(relay_cap_check(8, 8, false), RSN_TRANSFER_LIMIT);
	CU_ASSERT_STRING_EQUAL(reason_text(relay_cap_check(8, 8, false)), "transfer limit");
	CU_ASSERT_EQUAL(relay_cap_check(8, 8, true), RSN_NONE);      /* an SOA at the cap */
	CU_ASSERT_EQUAL(relay_cap_check(15, 8, true), RSN_NONE);
	CU_ASSERT_EQUAL(relay_cap_check(16, 8, true), RSN_QUERY_LIMIT);
	CU_ASSERT_STRING_EQUAL(reason_text(relay_cap_check(16, 0, false)), "query limit");
	CU_ASSERT_EQUAL(relay_cap_check(12, 4, false), RSN_NONE);    /* SOAs do not count */
}

static void
test_handshake_fifo(void)
{
	struct fifo q = { 0 };
	struct fifo_node n[5] = { 0 };
	CU_ASSERT_PTR_NULL(fifo_oldest(&q));
	CU_ASSERT_EQUAL(fifo_over(&q, 3), 0);
	for (int i = 0; i < 5; i++)
		fifo_push(&q, &n[i]);
	CU_ASSERT_EQUAL(q.n, 5);
	CU_ASSERT_EQUAL(fifo_over(&q, 3), 3);        /* 5 pending, cap 3: 3 go for one more */
	CU_ASSERT_EQUAL(fifo_over(&q, 6), 0);
	CU_ASSERT_EQUAL(fifo_over(&q, 5), 1);
	CU_ASSERT_PTR_EQUAL(fifo_oldest(&q), &n[0]);

	fifo_remove(&q, &n[0]);                      /* the oldest finished its handshake */
	CU_ASSERT_PTR_EQUAL(fifo_oldest(&q), &n[1]);
	fifo_remove(&q, &n[2]);                      /* one in the middle */
	fifo_remove(&q, &n[2]);                      /* twice: nothing happens */
	CU_ASSERT_EQUAL(q.n, 3);
	CU_ASSERT_PTR_EQUAL(n[1].next, &n[3]);
	CU_ASSERT_PTR_EQUAL(n[3].prev, &n[1]);
	fifo_remove(&q, &n[4]);                      /* the newest */
	CU_ASSERT_PTR_EQUAL(q.tail, &n[3]);

	/* eviction order: always the oldest still pending */
	fifo_push(&q, &n[0]);                        /* a new arrival is the newest */
	int order[4], k = 0;
	while (fifo_oldest(&q) != NULL && k < 4) {
		struct fifo_node *o = fifo_oldest(&q);
		order[k++] = (int)(o - n);
		fifo_remove(&q, o);
	}
	CU_ASSERT_EQUAL(k, 3);
	CU_ASSERT_EQUAL(order[0], 1);
	CU_ASSERT_EQUAL(order[1], 3);
	CU_ASSERT_EQUAL(order[2], 0);
	CU_ASSERT_EQUAL(q.n, 0);
	CU_ASSERT_PTR_NULL(q.head);
	CU_ASSERT_PTR_NULL(q.tail);
}

int
test_limits_register(void)
{
	SUITE("limits (session caps, pending handshakes)");
	TEST(test_session_caps);
	TEST(test_handshake_fifo);
	return 0;
}
