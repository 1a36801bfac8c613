/* fuzz_respscan.c - libFuzzer target: the backend response stream scanner.
 * The first byte picks a chunk size so the same stream is also fed in pieces;
 * both feeds must report the same frames (framing never depends on chunking). */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "proxy/lib/respscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	unsigned begins, ends, malformed, soas;
	uint64_t serial_sum, len_sum;
};

static void
t_begin(void *ctx, const uint8_t hdr[12])
{
	((struct tally *)ctx)->begins++;
}

static void
t_soa(void *ctx, uint32_t serial)
{
	struct tally *t = ctx;
	t->soas++;
	t->serial_sum += serial;
}

static void
t_end(void *ctx, size_t len, bool malformed)
{
	struct tally *t = ctx;
	assert(len <= 65535);
	t->ends++;
	t->malformed += malformed;
	t->len_sum += len;
}

static const struct respscan_ops ops = { t_begin, t_soa, t_end };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	struct tally whole = { 0 }, pieces = { 0 };
	struct respscan a, b;
	respscan_init(&a, &ops, &whole);
	respscan_init(&b, &ops, &pieces);
	respscan_feed(&a, data, size);
	for (size_t off = 0; off < size; off += chunk)
		respscan_feed(&b, data + off, size - off < chunk ? size - off : chunk);
	assert(memcmp(&whole, &pieces, sizeof(whole)) == 0);
	assert(whole.begins <= whole.ends + 1);
	return 0;
}
