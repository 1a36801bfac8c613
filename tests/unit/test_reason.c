/* test_reason.c - the one table of reason codes (proxy/lib/reason.c):
 * every code has a row, a non-empty log text and JSON value unique among
 * all codes, and the codes of a counted family have distinct metric labels;
 * the texts tests and the README rely on have not moved. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "proxy/lib/reason.h"
#include "unit.h"

/* A code added without a row leaves a hole (or, added last, fails the
 * build: the table's _Static_assert). */
static void
test_every_code_has_a_row(void)
{
	for (int r = 0; r < RSN_COUNT; r++) {
		CU_ASSERT_TRUE(reason_has_row((enum reason)r));
		const char *t = reason_text((enum reason)r), *j = reason_json((enum reason)r);
		CU_ASSERT_TRUE(t != NULL && t[0] != '\0');
		CU_ASSERT_TRUE(j != NULL && j[0] != '\0');
	}
	CU_ASSERT_FALSE(reason_has_row(RSN_COUNT));
}

static void
test_texts_unique(void)
{
	for (int a = 0; a < RSN_COUNT; a++)
		for (int b = a + 1; b < RSN_COUNT; b++) {
			CU_ASSERT_STRING_NOT_EQUAL(reason_text((enum reason)a), reason_text((enum reason)b));
			CU_ASSERT_STRING_NOT_EQUAL(reason_json((enum reason)a), reason_json((enum reason)b));
		}
}

/* Every code of a counted family counts under a series with a non-empty
 * label: its own, unique in the family, or the family's catch-all
 * (RSN_REFUSED_OTHER, "other"). Abort codes are not counted. */
static void
test_metric_labels(void)
{
	for (int a = 0; a < RSN_COUNT; a++) {
		enum reason ra = (enum reason)a;
		enum reason_family f = reason_family(ra);
		if (f == RF_NONE || f == RF_ABORT) {
			CU_ASSERT_PTR_NULL(reason_metric(ra));
			continue;
		}
		const char *m = reason_metric(ra);
		CU_ASSERT_TRUE(m != NULL && m[0] != '\0');
		if (reason_series(ra) != ra) {
			CU_ASSERT_EQUAL(f, RF_REFUSAL);
			CU_ASSERT_EQUAL(reason_series(ra), RSN_REFUSED_OTHER);
			continue;
		}
		for (int b = a + 1; b < RSN_COUNT; b++) {
			enum reason rb = (enum reason)b;
			if (reason_family(rb) == f && reason_series(rb) == rb)
				CU_ASSERT_STRING_NOT_EQUAL(m, reason_metric(rb));
		}
	}
}

/* Texts in logs, in local answers' EDE text and in metric labels, as the
 * integration tests and the README have them. */
static void
test_interface_texts(void)
{
	CU_ASSERT_STRING_EQUAL(reason_text(RSN_ACL), "acl");
	CU_ASSERT_STRING_EQUAL(reason_text(RSN_UNKNOWN_ZONE), "unknown zone");
	CU_ASSERT_STRING_EQUAL(reason_text(RSN_TRANSFER_LIMIT), "transfer limit");
	CU_ASSERT_STRING_EQUAL(reason_text(RSN_QUERY_LIMIT), "query limit");
	CU_ASSERT_STRING_EQUAL(reason_text(RSN_HS_TIMEOUT), "timeout");
	CU_ASSERT_STRING_EQUAL(reason_text(RSN_CONN_CLOSED), "connection closed");
	CU_ASSERT_STRING_EQUAL(reason_text(RSN_UP_TIMEOUT), "upstream timeout");
	CU_ASSERT_STRING_EQUAL(reason_metric(RSN_UNKNOWN_ZONE), "unknown_zone");
	CU_ASSERT_STRING_EQUAL(reason_metric(RSN_NOT_ALLOWED), "not_allowed");
	CU_ASSERT_STRING_EQUAL(reason_metric(RSN_ACL_CERT_STALE), "other");
	CU_ASSERT_STRING_EQUAL(reason_metric(RSN_HS_CERTIFICATE), "certificate");
	CU_ASSERT_STRING_EQUAL(reason_metric(RSN_UP_CONNECT), "connect");
	CU_ASSERT_STRING_EQUAL(dir_text(XP_INBOUND), "inbound");
	CU_ASSERT_STRING_EQUAL(dir_text(XP_OUTBOUND), "outbound");
	CU_ASSERT_STRING_EQUAL(dir_upstream_label(XP_INBOUND), "backend");
	CU_ASSERT_STRING_EQUAL(dir_upstream_label(XP_OUTBOUND), "primary");
	CU_ASSERT_EQUAL(reason_upstream(RSN_HS_VERSION), RSN_UP_TLS);
	CU_ASSERT_EQUAL(reason_upstream(RSN_UP_CLOSED), RSN_UP_CLOSED);
}

int
test_reason_register(void)
{
	SUITE("reason");
	TEST(test_every_code_has_a_row);
	TEST(test_texts_unique);
	TEST(test_metric_labels);
	TEST(test_interface_texts);
	return 0;
}
