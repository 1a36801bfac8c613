/* fuzz_epudp.c - libFuzzer target: the UDP endpoint's decisions on bytes
 * from the primary and the secondary. The first two octets pick the query
 * type and the requester's size; the rest is one answer frame (its length
 * prefix as given, so short and overlong frames are tried too) and, read
 * as a query, the source of the SERVFAIL. No call may read outside its
 * input, and what comes out must be a sane TC or SERVFAIL. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "proxy/lib/dnsmsg.h"
#include "proxy/ep_udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	static const uint16_t types[] = { DNS_TYPE_SOA, DNS_TYPE_IXFR, DNS_TYPE_AXFR, 1 };
	uint16_t qtype = types[data[0] & 3];
	bool edns = data[0] & 4;
	data += 2;
	size -= 2;
	(void)ep_udp_whole(qtype, data, size);
	uint8_t out[DNS_ERROR_MAX];
	size_t n = ep_udp_truncate(data, size, edns, out, 512);
	if (n > 0) {
		assert(n <= 512 && n >= DNS_HDR_LEN);
		assert(out[2] & 0x02);
		assert(memcmp(out, data, 2) == 0);
	}
	n = ep_udp_servfail(data, size, DNS_EDE_NETWORK_ERROR, "cut", out, sizeof(out));
	if (n > 0) {
		assert(n >= DNS_HDR_LEN && n <= sizeof(out));
		assert((out[3] & 0x0F) == DNS_RCODE_SERVFAIL);
		assert(memcmp(out, data, 2) == 0);
	}
	return 0;
}
