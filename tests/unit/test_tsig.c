/* test_tsig.c - TSIG verification and answer signing (proxy/lib/tsig.c) against
 * vectors dnspython made (tests/unit/tsig_vectors, NAME.txt, written by make.py
 * there): the four HMAC algorithms, names in mixed case and compressed,
 * Original ID, the time window, truncated MACs (RFC 8945 §5.2.2.1), BADKEY,
 * BADSIG, BADTIME, misplaced or malformed TSIGs; signed answers must equal
 * dnspython's byte for byte. Plus the key parser, sizes, every prefix and
 * every bit flip of a signed query. kdig_*.txt: queries Knot's kdig signed,
 * whose expected answers kdig verified. Requirement IDs: TSIG-04, TSIG-07. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/lib/dnsmsg.h"
#include "proxy/lib/tsig.h"
#include "unit.h"

#define T0 1700000000ull

struct vec {
	char name[256];
	struct tsig_key keys[8];
	size_t n_keys;
	uint8_t request[1024];
	size_t request_len;
	struct { uint64_t now; enum tsig_result res; } verify[8];
	size_t n_verify;
	uint8_t answer[1024];
	size_t answer_len;
	uint64_t sign_now;
	unsigned sign_error;
	uint8_t expect[1024];
	size_t expect_len;
};

static const char *
vec_dir(void)
{
	const char *d = getenv("XOT_TSIG_VECTORS");
	return d != NULL ? d : "tests/unit/tsig_vectors";
}

static int
hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strcspn(hex, "\r\n");
	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static int
result_parse(const char *s, enum tsig_result *r)
{
	static const char *const names[] = { "OK", "UNSIGNED", "BADKEY", "BADSIG", "BADTIME", "FORMERR" };
	for (int i = 0; i < 6; i++) {
		if (strncmp(s, names[i], strlen(names[i])) == 0) {
			*r = (enum tsig_result)i;
			return 0;
		}
	}
	return -1;
}

/* Reads one vector file; returns 0 or -1 (with a message on stderr). */
static int
vec_load(const char *path, struct vec *v)
{
	memset(v, 0, sizeof(*v));
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		char a[300], b[64], c[300];
		unsigned long long now;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (strncmp(line, "key ", 4) == 0) {
			const char *why;
			rc = v->n_keys < 8 && sscanf(line + 4, "%299s %63s %299s", a, b, c) == 3
			     && tsig_key_from_text(&v->keys[v->n_keys++], a, b, c, &why) == 0 ? 0 : -1;
		} else if (strncmp(line, "request ", 8) == 0) {
			rc = hex_decode(line + 8, v->request, sizeof(v->request), &v->request_len);
		} else if (strncmp(line, "verify ", 7) == 0) {
			rc = v->n_verify < 8 && sscanf(line + 7, "%llu %63s", &now, b) == 2
			     && result_parse(b, &v->verify[v->n_verify].res) == 0 ? 0 : -1;
			if (rc == 0)
				v->verify[v->n_verify++].now = now;
		} else if (strncmp(line, "answer ", 7) == 0) {
			rc = hex_decode(line + 7, v->answer, sizeof(v->answer), &v->answer_len);
		} else if (strncmp(line, "sign ", 5) == 0) {
			rc = sscanf(line + 5, "%llu %u", &now, &v->sign_error) == 2 ? 0 : -1;
			v->sign_now = now;
		} else if (strncmp(line, "signed ", 7) == 0) {
			rc = hex_decode(line + 7, v->expect, sizeof(v->expect), &v->expect_len);
		} else {
			rc = -1;
		}
	}
	free(line);
	fclose(f);
	if (rc != 0 || v->request_len == 0 || v->n_verify == 0)
		fprintf(stderr, "\n  %s: unreadable vector\n", path);
	return rc != 0 || v->request_len == 0 || v->n_verify == 0 ? -1 : 0;
}

static void
hex_print(const char *label, const uint8_t *p, size_t n)
{
	fprintf(stderr, "    %s ", label);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%02x", p[i]);
	fputc('\n', stderr);
}

/* Checks one vector; returns the number of mismatches (printed). */
static int
vec_check(const struct vec *v)
{
	int bad = 0;
	struct tsig_request req;
	for (size_t i = 0; i < v->n_verify; i++) {
		enum tsig_result r = tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
		                                       v->verify[i].now, TSIG_FUDGE_UNCAPPED, &req);
		if (r != v->verify[i].res) {
			fprintf(stderr, "\n  %s: now %llu: got %s, want %s\n", v->name,
			        (unsigned long long)v->verify[i].now, tsig_result_name(r),
			        tsig_result_name(v->verify[i].res));
			bad++;
		}
	}
	if (v->answer_len == 0)
		return bad;
	/* Sign with the request state of the last verification at sign_now. */
	(void)tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys, v->sign_now, TSIG_FUDGE_UNCAPPED, &req);
	uint8_t out[2048];
	memcpy(out, v->answer, v->answer_len);
	int n = tsig_sign_answer(out, v->answer_len, sizeof(out), &req, v->sign_now,
	                         (uint16_t)v->sign_error);
	if (n < 0 || (size_t)n != v->expect_len || memcmp(out, v->expect, v->expect_len) != 0) {
		fprintf(stderr, "\n  %s: signed answer differs from dnspython's (%d octets)\n", v->name, n);
		if (n > 0)
			hex_print("got ", out, (size_t)n);
		hex_print("want", v->expect, v->expect_len);
		bad++;
	}
	return bad;
}

/* Runs every vector whose name starts with prefix; at least min must exist. */
static void
run_vectors(const char *prefix, int min)
{
	DIR *d = opendir(vec_dir());
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	int count = 0, bad = 0;
	struct dirent *e;
	static struct vec v;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || n < 5
		    || strcmp(e->d_name + n - 4, ".txt") != 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", vec_dir(), e->d_name);
		if (vec_load(path, &v) != 0) {
			bad++;
			continue;
		}
		snprintf(v.name, sizeof(v.name), "%s", e->d_name);
		bad += vec_check(&v);
		count++;
	}
	closedir(d);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(count >= min);
}

static void test_vectors_ok(void) { run_vectors("ok_", 7); }
static void test_vectors_time_window(void) { run_vectors("time_", 1); }
static void test_vectors_truncated(void) { run_vectors("trunc_", 12); }
static void test_vectors_badsig(void) { run_vectors("badsig_", 4); }
static void test_vectors_badkey(void) { run_vectors("badkey_", 4); }
static void test_vectors_badtime(void) { run_vectors("badtime_", 2); }
static void test_vectors_formerr(void) { run_vectors("formerr_", 9); }
static void test_vectors_unsigned(void) { run_vectors("unsigned", 1); }
static void test_vectors_kdig(void) { run_vectors("kdig_", 4); }

static const struct vec *
vec_named(const char *name)
{
	static struct vec v;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.txt", vec_dir(), name);
	if (vec_load(path, &v) != 0)
		return NULL;
	snprintf(v.name, sizeof(v.name), "%s", name);
	return &v;
}

/* The fields of the TSIG RR at the end of an answer with an uncompressed
 * owner and algorithm name. */
struct tail {
	uint16_t mac_size, orig_id, error, other_len;
	uint64_t time_signed, other;
};

static int
tail_parse(const uint8_t *m, size_t len, size_t answer_len, struct tail *t)
{
	size_t p = answer_len;
	while (p < len && m[p] != 0)
		p += m[p] + 1;                      /* owner */
	p += 1 + 10;
	while (p < len && m[p] != 0)
		p += m[p] + 1;                      /* algorithm */
	p += 1;
	if (p + 10 > len)
		return -1;
	t->time_signed = (uint64_t)rd16(m + p) << 32 | rd32(m + p + 2);
	t->mac_size = rd16(m + p + 8);
	p += 10 + t->mac_size;
	if (p + 6 > len)
		return -1;
	t->orig_id = rd16(m + p);
	t->error = rd16(m + p + 2);
	t->other_len = rd16(m + p + 4);
	p += 6;
	t->other = 0;
	if (t->other_len == 6)
		t->other = (uint64_t)rd16(m + p) << 32 | rd32(m + p + 2);
	return p + t->other_len == len ? 0 : -1;
}

static void
test_badsig_answer_unsigned(void)
{
	const struct vec *v = vec_named("badsig_wrong_secret");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	struct tsig_request req;
	CU_ASSERT_EQUAL_FATAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                        T0, TSIG_FUDGE_UNCAPPED, &req), TSIG_BADSIG);
	uint8_t out[1024];
	memcpy(out, v->answer, v->answer_len);
	CU_ASSERT_EQUAL(out[3] & 0x0F, TSIG_RCODE_NOTAUTH);
	int n = tsig_sign_answer(out, v->answer_len, sizeof(out), &req, T0 + 5, TSIG_ERR_BADSIG);
	CU_ASSERT_FATAL(n > 0);
	struct tail t;
	CU_ASSERT_EQUAL_FATAL(tail_parse(out, (size_t)n, v->answer_len, &t), 0);
	CU_ASSERT_EQUAL(t.mac_size, 0);
	CU_ASSERT_EQUAL(t.error, 16);
	CU_ASSERT_EQUAL(t.other_len, 0);
	CU_ASSERT_EQUAL(t.time_signed, T0 + 5);
	CU_ASSERT_EQUAL(t.orig_id, rd16(v->request));
	CU_ASSERT_EQUAL(rd16(out + 10), 1);
}

static void
test_badkey_answer_unsigned(void)
{
	const struct vec *v = vec_named("badkey_unknown_name");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	struct tsig_request req;
	CU_ASSERT_EQUAL_FATAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                        T0, TSIG_FUDGE_UNCAPPED, &req), TSIG_BADKEY);
	CU_ASSERT_PTR_NULL(req.key);
	CU_ASSERT_EQUAL(memcmp(req.key_name, "\11other-key\0", 11), 0);
	uint8_t out[1024];
	memcpy(out, v->answer, v->answer_len);
	CU_ASSERT_EQUAL(tsig_sign_answer(out, v->answer_len, sizeof(out), &req, T0, 0), -1);
	CU_ASSERT_EQUAL(tsig_sign_answer(out, v->answer_len, sizeof(out), &req, T0,
	                                 TSIG_ERR_BADTIME), -1);        /* no key: cannot sign */
	int n = tsig_sign_answer(out, v->answer_len, sizeof(out), &req, T0, TSIG_ERR_BADKEY);
	struct tail t;
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL_FATAL(tail_parse(out, (size_t)n, v->answer_len, &t), 0);
	CU_ASSERT_EQUAL(t.mac_size, 0);
	CU_ASSERT_EQUAL(t.error, 17);
}

static void
test_badtime_answer_signed(void)
{
	const struct vec *v = vec_named("badtime_late");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	struct tsig_request req;
	CU_ASSERT_EQUAL_FATAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                        T0 + 1000, TSIG_FUDGE_UNCAPPED, &req), TSIG_BADTIME);
	CU_ASSERT_PTR_NOT_NULL(req.key);
	CU_ASSERT_EQUAL(req.time_signed, T0);
	uint8_t out[1024];
	memcpy(out, v->answer, v->answer_len);
	int n = tsig_sign_answer(out, v->answer_len, sizeof(out), &req, T0 + 1000, TSIG_ERR_BADTIME);
	CU_ASSERT_FATAL(n > 0);
	struct tail t;
	CU_ASSERT_EQUAL_FATAL(tail_parse(out, (size_t)n, v->answer_len, &t), 0);
	CU_ASSERT_EQUAL(t.error, 18);
	CU_ASSERT_EQUAL(t.mac_size, 32);
	CU_ASSERT_EQUAL(t.other_len, 6);
	CU_ASSERT_EQUAL(t.other, T0 + 1000);                 /* server time */
	CU_ASSERT_EQUAL(t.time_signed, T0);                  /* the request's */
}

static void
test_sign_capacity(void)
{
	const struct vec *v = vec_named("ok_sha1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	struct tsig_request req;
	CU_ASSERT_EQUAL_FATAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                        T0, TSIG_FUDGE_UNCAPPED, &req), TSIG_OK);
	uint8_t out[1024];
	memcpy(out, v->answer, v->answer_len);
	size_t need = v->expect_len;
	CU_ASSERT_EQUAL(tsig_sign_answer(out, v->answer_len, need - 1, &req, v->sign_now, 0), -1);
	CU_ASSERT_EQUAL(memcmp(out, v->answer, v->answer_len), 0);     /* ARCOUNT untouched */
	CU_ASSERT_EQUAL(tsig_sign_answer(out, v->answer_len, need, &req, v->sign_now, 0), (int)need);
	CU_ASSERT_EQUAL(memcmp(out, v->expect, need), 0);
	CU_ASSERT_EQUAL(tsig_sign_answer(out, 11, sizeof(out), &req, T0, 0), -1);
	CU_ASSERT_EQUAL(tsig_sign_answer(out, 20, 19, &req, T0, 0), -1);
	struct tsig_request empty;
	memset(&empty, 0, sizeof(empty));
	memcpy(out, v->answer, v->answer_len);
	CU_ASSERT_EQUAL(tsig_sign_answer(out, v->answer_len, sizeof(out), &empty, T0, 16), -1);
}

static void
test_every_prefix(void)
{
	/* No proper prefix of a signed query verifies; none is read past (ASan). */
	const struct vec *v = vec_named("ok_sha256_edns_ixfr");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	int ok = 0;
	for (size_t len = 0; len < v->request_len; len++) {
		uint8_t *copy = malloc(len + 1);
		memcpy(copy, v->request, len);
		struct tsig_request req;
		ok += tsig_verify_query(copy, len, v->keys, v->n_keys, T0, TSIG_FUDGE_UNCAPPED, &req) == TSIG_OK;
		free(copy);
	}
	CU_ASSERT_EQUAL(ok, 0);
}

static void
test_every_bit_flip(void)
{
	/* Any single-bit change outside the header ID is caught (the MAC input has
	 * the Original ID in its place), the TSIG's TTL included. The exemption:
	 * the case of the letters of the key and algorithm names, which the MAC
	 * sees in canonical form. The owner here is "Tsig" then a pointer into the
	 * question, whose case counts. */
	const struct vec *v = vec_named("ok_sha512_compressed_owner");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	const uint8_t *alg = memmem(v->request, v->request_len, "\13hmac-sha512", 12);
	CU_ASSERT_PTR_NOT_NULL_FATAL(alg);
	size_t alg_at = (size_t)(alg - v->request);
	const uint8_t *own = memmem(v->request, v->request_len, "\4Tsig\300", 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(own);
	size_t own_at = (size_t)(own - v->request);
	uint8_t m[1024];
	int accepted = 0, id_ok = 0, case_ok = 0;
	for (size_t i = 0; i < v->request_len; i++) {
		for (int b = 0; b < 8; b++) {
			memcpy(m, v->request, v->request_len);
			m[i] ^= (uint8_t)(1 << b);
			struct tsig_request req;
			enum tsig_result r = tsig_verify_query(m, v->request_len, v->keys, v->n_keys, T0, TSIG_FUDGE_UNCAPPED, &req);
			uint8_t lc = v->request[i] | 0x20;
			bool letter = lc >= 'a' && lc <= 'z';
			if (i < 2)
				id_ok += r == TSIG_OK;
			else if (((i > alg_at && i < alg_at + 12) || (i > own_at && i < own_at + 5))
			         && letter && b == 5)
				case_ok += r == TSIG_OK;
			else
				accepted += r == TSIG_OK;
		}
	}
	CU_ASSERT_EQUAL(id_ok, 16);
	CU_ASSERT_EQUAL(case_ok, 11);                 /* Tsig, hmac-sha */
	CU_ASSERT_EQUAL(accepted, 0);
}

static void
test_alg_names(void)
{
	enum tsig_alg a;
	CU_ASSERT_EQUAL(tsig_alg_parse("hmac-sha1", &a), 0);
	CU_ASSERT_EQUAL(a, TSIG_HMAC_SHA1);
	CU_ASSERT_EQUAL(tsig_alg_parse("HMAC-SHA256.", &a), 0);
	CU_ASSERT_EQUAL(a, TSIG_HMAC_SHA256);
	CU_ASSERT_EQUAL(tsig_alg_parse("hmac-sha384", &a), 0);
	CU_ASSERT_EQUAL(a, TSIG_HMAC_SHA384);
	CU_ASSERT_EQUAL(tsig_alg_parse("hmac-sha512", &a), 0);
	CU_ASSERT_EQUAL(a, TSIG_HMAC_SHA512);
	CU_ASSERT_EQUAL(tsig_alg_parse("hmac-md5", &a), -1);
	CU_ASSERT_EQUAL(tsig_alg_parse("hmac-sha256-128", &a), -1);
	CU_ASSERT_EQUAL(tsig_alg_parse("hmac-sha25", &a), -1);
	CU_ASSERT_EQUAL(tsig_alg_parse("", &a), -1);
	CU_ASSERT_STRING_EQUAL(tsig_alg_text(TSIG_HMAC_SHA384), "hmac-sha384");
	CU_ASSERT_EQUAL(tsig_alg_mac_len(TSIG_HMAC_SHA1), 20);
	CU_ASSERT_EQUAL(tsig_alg_mac_len(TSIG_HMAC_SHA512), 64);
	CU_ASSERT_STRING_EQUAL(tsig_result_name(TSIG_BADTIME), "BADTIME");
}

static void
test_key_from_text(void)
{
	struct tsig_key k;
	const char *why = NULL;
	CU_ASSERT_EQUAL(tsig_key_from_text(&k, "XFR-Key", "hmac-sha256", "YWJj", &why), 0);
	CU_ASSERT_EQUAL(k.name_len, 9);
	CU_ASSERT_EQUAL(memcmp(k.name, "\7xfr-key\0", 9), 0);
	CU_ASSERT_EQUAL(k.secret_len, 3);
	CU_ASSERT_EQUAL(memcmp(k.secret, "abc", 3), 0);
	CU_ASSERT_EQUAL(tsig_key_from_text(&k, "k.", "hmac-sha1", "YWI=", &why), 0);
	CU_ASSERT_EQUAL(k.secret_len, 2);
	CU_ASSERT_EQUAL(tsig_key_from_text(&k, "k.", "hmac-sha1", "YQ==", &why), 0);
	CU_ASSERT_EQUAL(k.secret_len, 1);
	const char *bad_b64[] = { "", "YWJ", "YW=j", "Y===", "====", "YR==", "YWJj!", "YWJj\n",
	                          "YQ==YWJj", "YW Jj" };
	for (size_t i = 0; i < sizeof(bad_b64) / sizeof(bad_b64[0]); i++)
		CU_ASSERT_EQUAL(tsig_key_from_text(&k, "k", "hmac-sha256", bad_b64[i], &why), -1);
	char big[200];
	memset(big, 'A', 172);
	big[172] = '\0';                          /* 129 octets: one too many */
	CU_ASSERT_EQUAL(tsig_key_from_text(&k, "k", "hmac-sha256", big, &why), -1);
	big[171] = '=';                           /* 128 octets: the maximum */
	CU_ASSERT_EQUAL(tsig_key_from_text(&k, "k", "hmac-sha256", big, &why), 0);
	CU_ASSERT_EQUAL(k.secret_len, 128);
	CU_ASSERT_EQUAL(tsig_key_from_text(&k, "a..b", "hmac-sha256", "YWJj", &why), -1);
	CU_ASSERT_EQUAL(tsig_key_from_text(&k, "k", "hmac-md5", "YWJj", &why), -1);
	CU_ASSERT_PTR_NOT_NULL(why);
}

static void
test_two_keys_same_name(void)
{
	/* Same name under two algorithms: the one the TSIG names is used. */
	const struct vec *v = vec_named("ok_sha1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	struct tsig_key keys[2];
	keys[1] = v->keys[0];                           /* sha1-key., hmac-sha1 */
	keys[0] = keys[1];
	keys[0].alg = TSIG_HMAC_SHA256;
	struct tsig_request req;
	CU_ASSERT_EQUAL(tsig_verify_query(v->request, v->request_len, keys, 2, T0, TSIG_FUDGE_UNCAPPED, &req), TSIG_OK);
	CU_ASSERT_PTR_EQUAL(req.key, &keys[1]);
	CU_ASSERT_EQUAL(tsig_verify_query(v->request, v->request_len, keys, 1, T0, TSIG_FUDGE_UNCAPPED, &req), TSIG_BADKEY);
}

/* Issue 13 item 17: tsig-max-fudge caps the window a signer's Fudge opens.
 * ok_sha1 is signed at T0 with Fudge 300: under a cap of 60 it holds for
 * 60 s either way and is BADTIME (signed, Fudge echoed) from 61 s; a cap
 * above the Fudge changes nothing (the window is the smaller one). */
static void
test_max_fudge_cap(void)
{
	const struct vec *v = vec_named("ok_sha1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	struct tsig_request req;
	CU_ASSERT_EQUAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                  T0 + 300, TSIG_FUDGE_UNCAPPED, &req), TSIG_OK);
	CU_ASSERT_EQUAL_FATAL(req.fudge, 300);
	CU_ASSERT_EQUAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                  T0 + 60, 60, &req), TSIG_OK);
	CU_ASSERT_EQUAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                  T0 - 60, 60, &req), TSIG_OK);
	CU_ASSERT_EQUAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                  T0 + 61, 60, &req), TSIG_BADTIME);
	CU_ASSERT_EQUAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                  T0 - 61, 60, &req), TSIG_BADTIME);
	CU_ASSERT_EQUAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                  T0 + 1, 0, &req), TSIG_BADTIME);
	CU_ASSERT_EQUAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                  T0, 0, &req), TSIG_OK);
	/* the default cap (300) equals this Fudge: 301 s is out either way */
	CU_ASSERT_EQUAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                  T0 + 300, TSIG_MAX_FUDGE_DEFAULT, &req), TSIG_OK);
	CU_ASSERT_EQUAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                  T0 + 301, 65535, &req), TSIG_BADTIME);

	/* the BADTIME answer under a cap is signed like any BADTIME answer */
	CU_ASSERT_EQUAL_FATAL(tsig_verify_query(v->request, v->request_len, v->keys, v->n_keys,
	                                        T0 + 100, 60, &req), TSIG_BADTIME);
	CU_ASSERT_PTR_NOT_NULL_FATAL(req.key);
	uint8_t out[1024];
	memcpy(out, v->answer, v->answer_len);
	out[3] = (uint8_t)((out[3] & 0xF0) | TSIG_RCODE_NOTAUTH);
	int n = tsig_sign_answer(out, v->answer_len, sizeof(out), &req, T0 + 100, TSIG_ERR_BADTIME);
	CU_ASSERT_FATAL(n > 0);
	struct tail t;
	CU_ASSERT_EQUAL_FATAL(tail_parse(out, (size_t)n, v->answer_len, &t), 0);
	CU_ASSERT_EQUAL(t.error, 18);
	CU_ASSERT_EQUAL(t.mac_size, 20);                        /* hmac-sha1: full MAC */
	CU_ASSERT_EQUAL(t.time_signed, T0);
	CU_ASSERT_EQUAL(t.other, T0 + 100);

	/* the window arithmetic itself, at the edges of the 16-bit fields */
	CU_ASSERT_TRUE(tsig_time_ok(T0 + 65535, T0, 65535, 65535));
	CU_ASSERT_FALSE(tsig_time_ok(T0 + 65535, T0, 65535, 300));
	CU_ASSERT_FALSE(tsig_time_ok(T0 + 301, T0, 65535, 300));
	CU_ASSERT_TRUE(tsig_time_ok(T0 + 300, T0, 65535, 300));
	CU_ASSERT_FALSE(tsig_time_ok(T0 + 11, T0, 10, 300));    /* the signer's is smaller */
	CU_ASSERT_FALSE(tsig_time_ok(0, 0xFFFFFFFFFFFFull, 65535, 65535));
}

int
test_tsig_register(void)
{
	SUITE("tsig");
	TEST(test_vectors_ok);
	TEST(test_vectors_time_window);
	TEST(test_vectors_truncated);
	TEST(test_vectors_badsig);
	TEST(test_vectors_badkey);
	TEST(test_vectors_badtime);
	TEST(test_vectors_formerr);
	TEST(test_vectors_unsigned);
	TEST(test_vectors_kdig);
	TEST(test_badsig_answer_unsigned);
	TEST(test_badkey_answer_unsigned);
	TEST(test_badtime_answer_signed);
	TEST(test_sign_capacity);
	TEST(test_every_prefix);
	TEST(test_every_bit_flip);
	TEST(test_alg_names);
	TEST(test_key_from_text);
	TEST(test_two_keys_same_name);
	TEST(test_max_fudge_cap);
	return 0;
}
