/* tsig.c - TSIG verification of queries and signing of the proxy's answers
 * (RFC 8945). The message walk checks every length before reading; names in
 * the MAC input are lowercase and uncompressed (canonical form, §4.3.3). */
#include "tsig.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#if __has_include("wolfssl_check.h")
#include "wolfssl_check.h"
#else
#include <wolfssl/options.h>
#endif
#include <wolfssl/wolfcrypt/hmac.h>

#include "dnsmsg.h"

#define DNS_CLASS_ANY 255

static const struct {
	const char *text;
	int wc_type;
	size_t mac_len;
} algs[] = {
	[TSIG_HMAC_SHA1] = { "hmac-sha1", WC_SHA, 20 },
	[TSIG_HMAC_SHA256] = { "hmac-sha256", WC_SHA256, 32 },
	[TSIG_HMAC_SHA384] = { "hmac-sha384", WC_SHA384, 48 },
	[TSIG_HMAC_SHA512] = { "hmac-sha512", WC_SHA512, 64 },
};
#define N_ALGS (sizeof(algs) / sizeof(algs[0]))

int
tsig_alg_parse(const char *text, enum tsig_alg *out)
{
	size_t n = strlen(text);
	if (n > 0 && text[n - 1] == '.')
		n--;
	for (size_t i = 0; i < N_ALGS; i++) {
		if (strlen(algs[i].text) == n && strncasecmp(text, algs[i].text, n) == 0) {
			*out = (enum tsig_alg)i;
			return 0;
		}
	}
	return -1;
}

const char *
tsig_alg_text(enum tsig_alg alg)
{
	return (size_t)alg < N_ALGS ? algs[alg].text : "?";
}

size_t
tsig_alg_mac_len(enum tsig_alg alg)
{
	return (size_t)alg < N_ALGS ? algs[alg].mac_len : 0;
}

const char *
tsig_result_name(enum tsig_result r)
{
	switch (r) {
	case TSIG_OK: return "OK";
	case TSIG_UNSIGNED: return "unsigned";
	case TSIG_BADKEY: return "BADKEY";
	case TSIG_BADSIG: return "BADSIG";
	case TSIG_BADTIME: return "BADTIME";
	case TSIG_FORMERR: return "FORMERR";
	}
	return "?";
}

/* The algorithm whose wire name (lowercase) is name[0..len), or -1. */
static int
alg_from_wire(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < N_ALGS; i++) {
		uint8_t wire[DNAME_MAXLEN];
		int n = dname_from_text(algs[i].text, wire);
		if (n > 0 && (size_t)n == len && memcmp(wire, name, len) == 0)
			return (int)i;
	}
	return -1;
}

/* Strict RFC 4648 base64 with padding. Returns the decoded length or -1. */
static int
base64_decode(const char *in, uint8_t *out, size_t cap)
{
	size_t n = strlen(in), o = 0;
	if (n == 0 || n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t acc = 0;
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			char c = in[i + j];
			int v;
			if (c >= 'A' && c <= 'Z')
				v = c - 'A';
			else if (c >= 'a' && c <= 'z')
				v = c - 'a' + 26;
			else if (c >= '0' && c <= '9')
				v = c - '0' + 52;
			else if (c == '+')
				v = 62;
			else if (c == '/')
				v = 63;
			else if (c == '=' && i + 4 == n && j >= 2 && (j == 3 || in[i + 3] == '='))
				v = -1;
			else
				return -1;
			if (v < 0)
				pad++;
			else if (pad > 0)
				return -1;                  /* data after '=' */
			acc = acc << 6 | (uint32_t)(v < 0 ? 0 : v);
		}
		size_t bytes = 3 - (size_t)pad;
		if (o + bytes > cap)
			return -1;
		uint8_t b[3] = { (uint8_t)(acc >> 16), (uint8_t)(acc >> 8), (uint8_t)acc };
		if ((pad == 1 && b[2] != 0) || (pad == 2 && b[1] != 0))
			return -1;                          /* non-canonical trailing bits */
		memcpy(out + o, b, bytes);
		o += bytes;
	}
	return (int)o;
}

int
tsig_key_from_text(struct tsig_key *k, const char *name, const char *alg,
                   const char *secret_b64, const char **why)
{
	memset(k, 0, sizeof(*k));
	int n = dname_from_text(name, k->name);
	if (n < 0) {
		*why = "bad key name";
		return -1;
	}
	k->name_len = (size_t)n;
	if (tsig_alg_parse(alg, &k->alg) != 0) {
		*why = "unknown algorithm (hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512)";
		return -1;
	}
	int s = base64_decode(secret_b64, k->secret, sizeof(k->secret));
	if (s <= 0) {
		*why = "secret is not base64 of 1 to 128 octets";
		return -1;
	}
	k->secret_len = (size_t)s;
	return 0;
}

/* ---- the TSIG RR ----------------------------------------------------------- */

struct tsig_rr {
	size_t start;                     /* offset of the owner name */
	uint8_t key_name[DNAME_MAXLEN];   /* lowercase */
	size_t key_name_len;
	uint8_t alg_name[DNAME_MAXLEN];   /* lowercase */
	size_t alg_name_len;
	uint32_t ttl;                     /* 0 from any correct signer */
	uint64_t time_signed;
	uint16_t fudge, mac_len, orig_id, error, other_len;
	const uint8_t *mac, *other;
};

/* TSIG RDATA at msg[p..end): algorithm name (not compressed, RFC 3597 §4),
 * Time Signed, Fudge, MAC, Original ID, Error, Other Data; must fill it. */
static bool
parse_tsig_rdata(const uint8_t *msg, size_t p, size_t end, struct tsig_rr *rr)
{
	size_t at = p;
	int n = dnsmsg_read_name(msg, end, &p, rr->alg_name);
	if (n < 0 || p - at != (size_t)n)
		return false;                         /* unreadable or compressed */
	rr->alg_name_len = (size_t)n;
	dname_lower(rr->alg_name, rr->alg_name_len);
	if (end - p < 10)
		return false;
	rr->time_signed = (uint64_t)rd16(msg + p) << 32 | rd32(msg + p + 2);
	rr->fudge = rd16(msg + p + 6);
	rr->mac_len = rd16(msg + p + 8);
	p += 10;
	if (end - p < rr->mac_len)
		return false;
	rr->mac = msg + p;
	p += rr->mac_len;
	if (end - p < 6)
		return false;
	rr->orig_id = rd16(msg + p);
	rr->error = rd16(msg + p + 2);
	rr->other_len = rd16(msg + p + 4);
	p += 6;
	if (end - p != rr->other_len)
		return false;
	rr->other = msg + p;
	return true;
}

/* Walks the whole message. Returns 1 with rr filled when the last record of
 * the additional section is a TSIG and no other record is; 0 when there is
 * no TSIG; -1 when the message or the TSIG is malformed or misplaced. */
static int
find_tsig(const uint8_t *msg, size_t len, struct tsig_rr *rr)
{
	if (len < DNS_HDR_LEN)
		return -1;
	size_t pos = DNS_HDR_LEN;
	uint8_t name[DNAME_MAXLEN];
	for (unsigned i = 0; i < rd16(msg + 4); i++) {
		if (dnsmsg_read_name(msg, len, &pos, name) < 0 || len - pos < 4)
			return -1;
		pos += 4;
	}
	unsigned an = rd16(msg + 6), ns = rd16(msg + 8), ar = rd16(msg + 10);
	unsigned total = an + ns + ar;
	bool found = false;
	for (unsigned i = 0; i < total; i++) {
		size_t start = pos;
		int n = dnsmsg_read_name(msg, len, &pos, name);
		if (n < 0 || len - pos < 10)
			return -1;
		uint16_t type = rd16(msg + pos), cls = rd16(msg + pos + 2), rdlen = rd16(msg + pos + 8);
		pos += 10;
		if (len - pos < rdlen)
			return -1;
		if (type == DNS_TYPE_TSIG) {
			if (i + 1 != total || ar == 0 || cls != DNS_CLASS_ANY)
				return -1;                /* not last, in the wrong section, or not ANY */
			memset(rr, 0, sizeof(*rr));
			rr->start = start;
			rr->ttl = rd32(msg + pos - 6);
			memcpy(rr->key_name, name, (size_t)n);
			dname_lower(rr->key_name, (size_t)n);
			rr->key_name_len = (size_t)n;
			if (!parse_tsig_rdata(msg, pos, pos + rdlen, rr))
				return -1;
			found = true;
		}
		pos += rdlen;
	}
	if (pos != len)
		return -1;                            /* trailing bytes */
	return found ? 1 : 0;
}

/* ---- MAC computation ------------------------------------------------------- */

static bool
mac_start(Hmac *h, const struct tsig_key *key)
{
	if (wc_HmacInit(h, NULL, INVALID_DEVID) != 0)
		return false;
	if (wc_HmacSetKey(h, algs[key->alg].wc_type, key->secret, (word32)key->secret_len) != 0) {
		wc_HmacFree(h);
		return false;
	}
	return true;
}

static bool
mac_add(Hmac *h, const uint8_t *p, size_t n)
{
	return n == 0 || wc_HmacUpdate(h, p, (word32)n) == 0;
}

static void
wr48(uint8_t *p, uint64_t v)
{
	wr16(p, (uint16_t)(v >> 32));
	wr16(p + 2, (uint16_t)(v >> 16));
	wr16(p + 4, (uint16_t)v);
}

/* Feeds the message msg[0..body) with id and arcount in its header (§4.3.2:
 * the Original ID; ARCOUNT without the TSIG), then the TSIG variables
 * (§4.3.3): key name, class ANY, TTL, algorithm name, Time Signed, Fudge,
 * Error, Other Len, Other Data. The TTL is the one received (as BIND and
 * Knot do), so a TTL other than the signer's 0 fails the MAC. */
static bool
mac_message(Hmac *h, const uint8_t *msg, size_t body, uint16_t id, uint16_t arcount,
            uint32_t ttl, const uint8_t *key_name, size_t key_name_len, const uint8_t *alg_name,
            size_t alg_name_len, uint64_t time_signed, uint16_t fudge, uint16_t error,
            const uint8_t *other, uint16_t other_len)
{
	uint8_t hdr[DNS_HDR_LEN];
	memcpy(hdr, msg, DNS_HDR_LEN);
	wr16(hdr, id);
	wr16(hdr + 10, arcount);
	uint8_t cls_ttl[6] = { 0, DNS_CLASS_ANY };
	wr16(cls_ttl + 2, (uint16_t)(ttl >> 16));
	wr16(cls_ttl + 4, (uint16_t)ttl);
	uint8_t vars[12];
	wr48(vars, time_signed);
	wr16(vars + 6, fudge);
	wr16(vars + 8, error);
	wr16(vars + 10, other_len);
	return mac_add(h, hdr, DNS_HDR_LEN) && mac_add(h, msg + DNS_HDR_LEN, body - DNS_HDR_LEN)
	       && mac_add(h, key_name, key_name_len) && mac_add(h, cls_ttl, sizeof(cls_ttl))
	       && mac_add(h, alg_name, alg_name_len) && mac_add(h, vars, sizeof(vars))
	       && mac_add(h, other, other_len);
}

/* Constant time in n: the MAC's length is public, its octets are not. */
static bool
mac_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* ---- verify and sign ------------------------------------------------------- */

static const struct tsig_key *
find_key(const struct tsig_rr *rr, const struct tsig_key *keys, size_t n_keys)
{
	int alg = alg_from_wire(rr->alg_name, rr->alg_name_len);
	if (alg < 0)
		return NULL;
	for (size_t i = 0; i < n_keys; i++) {
		if (keys[i].name_len == rr->key_name_len && (int)keys[i].alg == alg
		    && memcmp(keys[i].name, rr->key_name, rr->key_name_len) == 0)
			return &keys[i];
	}
	return NULL;
}

/* RFC 8945 §5.2.3 lets the signer choose the Fudge (up to 65535 s), and
 * without a replay cache a captured query replays for as long as the window
 * lasts. The server's own limit is allowed by the RFC's own advice (§10: a
 * Fudge of 300 s is recommended; the window is the replay window), so the
 * window is the smaller of the signer's Fudge and ours. Taking the minimum
 * rather than refusing a large Fudge outright keeps honest signers with a
 * good clock working (BIND, Knot and dnspython send 300; a signer sending
 * more is not wrong, only not trusted for more); a query outside the
 * window is BADTIME, answered signed as §5.2.3 asks, with the request's
 * Fudge echoed and our time in Other Data so the signer can see the skew. */
bool
tsig_time_ok(uint64_t now, uint64_t time_signed, uint16_t fudge, uint16_t max_fudge)
{
	uint64_t skew = now > time_signed ? now - time_signed : time_signed - now;
	uint16_t window = fudge < max_fudge ? fudge : max_fudge;
	return skew <= window;
}

enum tsig_result
tsig_verify_query(const uint8_t *msg, size_t len, const struct tsig_key *keys, size_t n_keys,
                  uint64_t now, uint16_t max_fudge, struct tsig_request *req)
{
	memset(req, 0, sizeof(*req));
	struct tsig_rr rr;
	int found = find_tsig(msg, len, &rr);
	if (found < 0)
		return TSIG_FORMERR;
	if (found == 0)
		return TSIG_UNSIGNED;
	req->orig_id = rr.orig_id;
	req->time_signed = rr.time_signed;
	req->fudge = rr.fudge;
	memcpy(req->key_name, rr.key_name, rr.key_name_len);
	req->key_name_len = rr.key_name_len;
	memcpy(req->alg_name, rr.alg_name, rr.alg_name_len);
	req->alg_name_len = rr.alg_name_len;

	const struct tsig_key *key = find_key(&rr, keys, n_keys);
	if (key == NULL)
		return TSIG_BADKEY;                           /* §5.2.1 */
	size_t full = algs[key->alg].mac_len;
	size_t min = full / 2 > 10 ? full / 2 : 10;
	if (rr.mac_len > full || rr.mac_len < min) {
		memset(req, 0, sizeof(*req));
		return TSIG_FORMERR;                          /* §5.2.2.1 rules 1 and 3 */
	}
	req->key = key;
	memcpy(req->mac, rr.mac, rr.mac_len);
	req->mac_len = rr.mac_len;

	Hmac h;
	uint8_t calc[TSIG_MAC_MAX];
	if (!mac_start(&h, key))
		return TSIG_BADSIG;
	bool ok = mac_message(&h, msg, rr.start, rr.orig_id, (uint16_t)(rd16(msg + 10) - 1), rr.ttl,
	                      rr.key_name, rr.key_name_len, rr.alg_name, rr.alg_name_len,
	                      rr.time_signed, rr.fudge, rr.error, rr.other, rr.other_len)
	          && wc_HmacFinal(&h, calc) == 0;
	wc_HmacFree(&h);
	if (!ok || !mac_equal(calc, rr.mac, rr.mac_len))   /* rule 4: compare the prefix */
		return TSIG_BADSIG;                           /* §5.2.2 */
	if (!tsig_time_ok(now, rr.time_signed, rr.fudge, max_fudge))
		return TSIG_BADTIME;                          /* §5.2.3, capped: see tsig_time_ok */
	return TSIG_OK;
}

int
tsig_sign_answer(uint8_t *msg, size_t len, size_t cap, const struct tsig_request *req,
                 uint64_t now, uint16_t error)
{
	if (len < DNS_HDR_LEN || len > cap || rd16(msg + 10) == 0xFFFF)
		return -1;
	bool sign = error == TSIG_ERR_NONE || error == TSIG_ERR_BADTIME;
	if ((sign && req->key == NULL) || req->key_name_len == 0 || req->alg_name_len == 0)
		return -1;
	now &= 0xFFFFFFFFFFFFull;                             /* 48-bit field */
	uint64_t time_signed = error == TSIG_ERR_BADTIME ? req->time_signed : now;
	uint8_t other[6];
	uint16_t other_len = 0;
	if (error == TSIG_ERR_BADTIME) {
		wr48(other, now);
		other_len = 6;
	}
	size_t mac_len = sign ? algs[req->key->alg].mac_len : 0;
	size_t rdlen = req->alg_name_len + 10 + mac_len + 6 + other_len;
	size_t rr_len = req->key_name_len + 10 + rdlen;
	if (rr_len > cap - len || len + rr_len > 65535)
		return -1;

	uint8_t mac[TSIG_MAC_MAX];
	if (sign) {
		Hmac h;
		uint8_t mac_size[2];
		wr16(mac_size, (uint16_t)req->mac_len);
		if (!mac_start(&h, req->key))
			return -1;
		bool ok = mac_add(&h, mac_size, 2) && mac_add(&h, req->mac, req->mac_len)
		          && mac_message(&h, msg, len, req->orig_id, rd16(msg + 10), 0, req->key_name,
		                         req->key_name_len, req->alg_name, req->alg_name_len,
		                         time_signed, req->fudge, error, other, other_len)
		          && wc_HmacFinal(&h, mac) == 0;
		wc_HmacFree(&h);
		if (!ok)
			return -1;
	}

	uint8_t *p = msg + len;
	memcpy(p, req->key_name, req->key_name_len);
	p += req->key_name_len;
	wr16(p, DNS_TYPE_TSIG);
	wr16(p + 2, DNS_CLASS_ANY);
	memset(p + 4, 0, 4);                                  /* TTL 0 */
	wr16(p + 8, (uint16_t)rdlen);
	p += 10;
	memcpy(p, req->alg_name, req->alg_name_len);
	p += req->alg_name_len;
	wr48(p, time_signed);
	wr16(p + 6, req->fudge);
	wr16(p + 8, (uint16_t)mac_len);
	p += 10;
	memcpy(p, mac, mac_len);
	p += mac_len;
	wr16(p, req->orig_id);
	wr16(p + 2, error);
	wr16(p + 4, other_len);
	p += 6;
	memcpy(p, other, other_len);
	wr16(msg + 10, (uint16_t)(rd16(msg + 10) + 1));
	return (int)(len + rr_len);
}
