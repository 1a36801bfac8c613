/* fuzz_tsig.c - libFuzzer target: TSIG verification (proxy/lib/tsig.c) on
 * arbitrary bytes with a fixed key set (one key per algorithm), then signing
 * an answer with whatever state it produced. Any result is fine; reading out
 * of bounds, a crash, or an answer that breaks its own invariants is not. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "proxy/lib/dnsmsg.h"
#include "proxy/lib/tsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tsig_key keys[4];

static void
keys_init(void)
{
	static const char *const spec[4][3] = {
		{ "sha1-key.", "hmac-sha1", "2/Z6+Hzw/HuviMYSrC+F8bYCDxI=" },
		{ "xfr-key.", "hmac-sha256", "NGDl3z0LcTWvIsSi5wmKRjdeII6GvJ+Qk8dy8BYAK44=" },
		{ "xfr-sha384.key.", "hmac-sha384",
		  "/mOyyw/9NFJK59KYdn7gsAdHviV+hp2rT3QOr9inzQDwrTwJZHk5uChgCzWhIX3w" },
		{ "tsig.example.test.", "hmac-sha512",
		  "4jcp36l4fnWCBWNTUtrUj1IK9hCgtTnYh3ZZEGMedFNj6bp/EwOG+7TDXmoXOmcjDBcfhDrajxFdzzws8J5Wvg==" },
	};
	for (int i = 0; i < 4; i++) {
		const char *why;
		int rc = tsig_key_from_text(&keys[i], spec[i][0], spec[i][1], spec[i][2], &why);
		assert(rc == 0);
		(void)rc;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (keys[0].name_len == 0)
		keys_init();
	struct tsig_request req;
	enum tsig_result r = tsig_verify_query(data, size, keys, 4, 1700000000, TSIG_FUDGE_UNCAPPED, &req);
	if (r == TSIG_UNSIGNED || r == TSIG_FORMERR) {
		assert(req.key == NULL && req.key_name_len == 0);
		return 0;
	}
	assert(req.key_name_len > 0 && req.alg_name_len > 0);
	assert((r == TSIG_BADKEY) == (req.key == NULL));
	assert(req.mac_len <= TSIG_MAC_MAX);
	if (size < DNS_HDR_LEN)
		return 0;

	/* The answer: the query's header with QR set and no records. */
	uint8_t out[DNS_HDR_LEN + 2 * DNAME_MAXLEN + 200];
	memcpy(out, data, DNS_HDR_LEN);
	out[2] |= 0x80;
	memset(out + 4, 0, 8);
	uint16_t error = r == TSIG_OK ? 0 : r == TSIG_BADTIME ? TSIG_ERR_BADTIME
	               : r == TSIG_BADSIG ? TSIG_ERR_BADSIG : TSIG_ERR_BADKEY;
	int n = tsig_sign_answer(out, DNS_HDR_LEN, sizeof(out), &req, 1700000001, error);
	assert(n > DNS_HDR_LEN && rd16(out + 10) == 1);
	/* Our own TSIG is well formed and last: never FORMERR or unsigned. */
	struct tsig_request back;
	enum tsig_result b = tsig_verify_query(out, (size_t)n, keys, 4, 1700000001, TSIG_FUDGE_UNCAPPED, &back);
	assert(b != TSIG_FORMERR || error != 0);    /* unsigned ones have MAC size 0 */
	assert(b != TSIG_UNSIGNED);
	if (b != TSIG_FORMERR)
		assert(back.key_name_len == req.key_name_len
		       && memcmp(back.key_name, req.key_name, req.key_name_len) == 0);
	return 0;
}
