/* fuzz_dnsmsg.c - libFuzzer target: the query reader and the answer builder
 * on arbitrary bytes. Any parse result is fine; reading out of bounds, a
 * crash, or an answer that breaks its own invariants is not. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "proxy/lib/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q;
	const char *why;
	enum dns_parse_result r = dnsmsg_parse_query(data, size, &q, &why);
	if (r == DNS_PARSE_SHORT)
		return 0;
	uint8_t out[DNS_ERROR_MAX];
	int n = dnsmsg_build_error(&q, r == DNS_PARSE_OK ? DNS_RCODE_REFUSED : DNS_RCODE_FORMERR,
	                           DNS_EDE_PROHIBITED, "fuzz", out, sizeof(out));
	assert(n >= 12);
	assert(memcmp(out, data, 2) == 0);               /* same ID */
	if (q.has_opt && q.has_padding)
		assert(n % 468 == 0);
	/* Our own answer must parse as a well-formed message. */
	out[2] &= 0x7F;
	struct dns_query back;
	if (q.has_question)
		assert(dnsmsg_parse_query(out, (size_t)n, &back, &why) == DNS_PARSE_OK);
	return 0;
}
