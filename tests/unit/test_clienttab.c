/* test_clienttab.c - the transfer-start token bucket (exact boundaries with an
 * injected clock) and the per-client table (PRX-04, XOT-10): LRU eviction
 * under pressure, busy entries pinned, NULL when all are busy, a fixed budget
 * under millions of keys, key types that never collide, IPv6 grouping. */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/lib/bucket.h"
#include "proxy/clienttab.h"
#include "unit.h"


/* A numbered name key ("client-N"). */
static struct clientkey
nkey(unsigned n)
{
	char text[32];
	int len = snprintf(text, sizeof(text), "client-%u", n);
	struct clientkey k;
	clientkey_name(&k, CLIENTKEY_CERT, text, (size_t)len);
	return k;
}

static struct client_entry *
get(struct clienttab *t, const struct clientkey *k, double now)
{
	return clienttab_get(t, k->b, k->len, now);
}

static bool
present(const struct clienttab *t, const struct clientkey *k)
{
	return clienttab_find(t, k->b, k->len) != NULL;
}

/* --- bucket --- */

static void
test_bucket_burst_then_refill(void)
{
	struct bucket b = { 0 };                 /* zeroed = full */
	CU_ASSERT_EQUAL(bucket_tokens(&b, 30, 60, 1000.0), 30);
	for (int i = 0; i < 30; i++)
		CU_ASSERT_TRUE(bucket_take(&b, 30, 60, 1000.0));
	CU_ASSERT_FALSE(bucket_take(&b, 30, 60, 1000.0));        /* 31st */
	CU_ASSERT_FALSE(bucket_take(&b, 30, 60, 1001.0));        /* half a token */
	CU_ASSERT_TRUE(bucket_take(&b, 30, 60, 1002.0));         /* one every 2 s */
	CU_ASSERT_FALSE(bucket_take(&b, 30, 60, 1002.0));
	CU_ASSERT_EQUAL(bucket_tokens(&b, 30, 60, 1012.0), 5);
	CU_ASSERT_EQUAL(bucket_tokens(&b, 30, 60, 1062.0), 30);  /* full, not more */
	CU_ASSERT_EQUAL(bucket_tokens(&b, 30, 60, 5000.0), 30);
	for (int i = 0; i < 30; i++)
		CU_ASSERT_TRUE(bucket_take(&b, 30, 60, 5000.0));
	CU_ASSERT_FALSE(bucket_take(&b, 30, 60, 5000.0));
}

static void
test_bucket_exact_boundary(void)
{
	struct bucket b = { 0 };
	for (int i = 0; i < 30; i++)
		CU_ASSERT_TRUE(bucket_take(&b, 30, 60, 100.0));
	CU_ASSERT_FALSE(bucket_take(&b, 30, 60, 101.999999));    /* 1 us early */
	CU_ASSERT_TRUE(bucket_take(&b, 30, 60, 102.0));          /* the exact instant */
	CU_ASSERT_FALSE(bucket_take(&b, 30, 60, 103.999999));
	CU_ASSERT_TRUE(bucket_take(&b, 30, 60, 104.0));
	/* 3 per 1 s: a token every 333333.3 us, so the first whole microsecond
	 * after it succeeds, and the third is whole again at exactly 1 s. */
	struct bucket c = { 0 };
	for (int i = 0; i < 3; i++)
		CU_ASSERT_TRUE(bucket_take(&c, 3, 1, 0.0));
	CU_ASSERT_FALSE(bucket_take(&c, 3, 1, 0.333333));        /* 0.999999 token */
	CU_ASSERT_TRUE(bucket_take(&c, 3, 1, 0.333334));
	CU_ASSERT_FALSE(bucket_take(&c, 3, 1, 0.666666));        /* 0.999998 token */
	CU_ASSERT_TRUE(bucket_take(&c, 3, 1, 0.666667));
	CU_ASSERT_TRUE(bucket_take(&c, 3, 1, 1.000000));         /* 1.000000 token */
	CU_ASSERT_FALSE(bucket_take(&c, 3, 1, 1.000000));
}

/* 10 per second, a take every 0.1 s where the clock is a running float sum
 * (0.1 + 0.1 + 0.1 = 0.30000000000000004, ten of them 0.9999999999999999):
 * every take succeeds exactly once, none drifts to "not yet". */
static void
test_bucket_no_float_drift(void)
{
	struct bucket b = { 0 };
	double now = 0.0;
	for (int i = 0; i < 10; i++)
		CU_ASSERT_TRUE(bucket_take(&b, 10, 1, now));
	CU_ASSERT_FALSE(bucket_take(&b, 10, 1, now));
	int ok = 0, twice = 0;
	for (int i = 0; i < 10000; i++) {
		now += 0.1;
		ok += bucket_take(&b, 10, 1, now);
		twice += bucket_take(&b, 10, 1, now);
	}
	CU_ASSERT_EQUAL(ok, 10000);
	CU_ASSERT_EQUAL(twice, 0);
}

static void
test_bucket_limits_and_clock(void)
{
	struct bucket b = { 0 };
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_TRUE(bucket_take(&b, 0, 60, 1.0));      /* burst 0: no limit */
	CU_ASSERT_TRUE(bucket_take(&b, 5, 0, 1.0));               /* per 0: no limit */
	CU_ASSERT_EQUAL(b.debt, 0);
	CU_ASSERT_TRUE(bucket_take(&b, 1, 10, 50.0));
	CU_ASSERT_FALSE(bucket_take(&b, 1, 10, 40.0));            /* clock back: nothing refills */
	CU_ASSERT_FALSE(bucket_take(&b, 1, 10, 49.999999));       /* ... and it restarted at 40 */
	CU_ASSERT_TRUE(bucket_take(&b, 1, 10, 50.0));
	/* The limit lowered (reload) while empty: still empty, then refills at the new rate. */
	struct bucket c = { 0 };
	for (int i = 0; i < 30; i++)
		CU_ASSERT_TRUE(bucket_take(&c, 30, 60, 0.0));
	CU_ASSERT_FALSE(bucket_take(&c, 2, 60, 0.0));
	CU_ASSERT_TRUE(bucket_take(&c, 2, 60, 30.0));
	/* Huge values are clamped, not overflowed. */
	struct bucket d = { 0 };
	CU_ASSERT_TRUE(bucket_take(&d, 4000000000u, 1e12, 1e9));
	CU_ASSERT_EQUAL(bucket_tokens(&d, 4000000000u, 1e12, 1e9), BUCKET_BURST_MAX - 1);
}

/* --- keys --- */

static void
test_key_types_never_collide(void)
{
	struct sockaddr_storage a = ut_addr_port("192.0.2.1", 853);
	struct clientkey ka, kc, kt, kx;
	clientkey_addr(&ka, SA(a), 64);
	const uint8_t raw[4] = { 192, 0, 2, 1 };
	clientkey_name(&kc, CLIENTKEY_CERT, raw, 4);
	clientkey_name(&kt, CLIENTKEY_TSIG, raw, 4);
	CU_ASSERT_EQUAL(ka.len, 5);
	CU_ASSERT_EQUAL(kc.len, 5);
	CU_ASSERT_EQUAL(memcmp(ka.b + 1, kc.b + 1, 4), 0);      /* same bytes after the type */
	CU_ASSERT_NOT_EQUAL(memcmp(ka.b, kc.b, 5), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(kc.b, kt.b, 5), 0);
	struct clienttab *t = clienttab_new(16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct client_entry *ea = get(t, &ka, 1), *ec = get(t, &kc, 1), *et = get(t, &kt, 1);
	CU_ASSERT_PTR_NOT_NULL(ea);
	CU_ASSERT_TRUE(ea != ec && ec != et && ea != et);
	CU_ASSERT_EQUAL(clienttab_count(t), 3);
	CU_ASSERT_PTR_EQUAL(get(t, &kc, 2), ec);                  /* found again, not new */
	/* Long names are cut at 255 bytes after the type byte. */
	char longname[400];
	memset(longname, 'x', sizeof(longname));
	clientkey_name(&kx, CLIENTKEY_CERT, longname, sizeof(longname));
	CU_ASSERT_EQUAL(kx.len, CLIENTKEY_MAX);
	CU_ASSERT_PTR_NOT_NULL(get(t, &kx, 3));
	CU_ASSERT_PTR_NULL(clienttab_get(t, kx.b, 0, 3));                 /* empty key */
	CU_ASSERT_PTR_NULL(clienttab_get(t, longname, CLIENTKEY_MAX + 1, 3)); /* too long */
	clienttab_free(t);
}

static void
test_key_ipv6_grouping(void)
{
	struct sockaddr_storage a1 = ut_addr_port("2001:db8:0:1::1", 1000);
	struct sockaddr_storage a2 = ut_addr_port("2001:db8:0:1:ffff::2", 2000);
	struct sockaddr_storage b = ut_addr_port("2001:db8:0:2::1", 1000);
	struct clientkey k1, k2, kb;
	clientkey_addr(&k1, SA(a1), 64);
	clientkey_addr(&k2, SA(a2), 64);
	clientkey_addr(&kb, SA(b), 64);
	CU_ASSERT_EQUAL(k1.len, 17);
	CU_ASSERT_EQUAL(k1.b[0], CLIENTKEY_ADDR6);
	struct clienttab *t = clienttab_new(16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct client_entry *e1 = get(t, &k1, 1);
	CU_ASSERT_PTR_EQUAL(get(t, &k2, 1), e1);                  /* one /64: one client */
	CU_ASSERT_PTR_NOT_EQUAL(get(t, &kb, 1), e1);              /* the next /64 is another */
	/* With prefix 128, the two addresses are two clients. */
	clientkey_addr(&k1, SA(a1), 128);
	clientkey_addr(&k2, SA(a2), 128);
	struct client_entry *f1 = get(t, &k1, 2);
	CU_ASSERT_PTR_NOT_EQUAL(get(t, &k2, 2), f1);
	CU_ASSERT_PTR_NOT_EQUAL(f1, e1);
	CU_ASSERT_EQUAL(clienttab_count(t), 4);
	/* IPv4: the port is dropped, and an IPv4-mapped address is the IPv4 one. */
	struct sockaddr_storage v4 = ut_addr_port("198.51.100.7", 1), v4b = ut_addr_port("198.51.100.7", 2);
	struct sockaddr_storage mapped = ut_addr_port("::ffff:198.51.100.7", 3);
	struct clientkey kv4, kv4b, km;
	clientkey_addr(&kv4, SA(v4), 64);
	clientkey_addr(&kv4b, SA(v4b), 64);
	clientkey_addr(&km, SA(mapped), 64);
	CU_ASSERT_EQUAL(km.b[0], CLIENTKEY_ADDR4);
	struct client_entry *e4 = get(t, &kv4, 3);
	CU_ASSERT_PTR_EQUAL(get(t, &kv4b, 3), e4);
	CU_ASSERT_PTR_EQUAL(get(t, &km, 3), e4);
	clienttab_free(t);
}

/* --- table --- */

static void
test_lru_eviction(void)
{
	struct clienttab *t = clienttab_new(8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(clienttab_capacity(t), 8);
	struct clientkey k[12];
	for (unsigned i = 0; i < 12; i++)
		k[i] = nkey(i);
	for (unsigned i = 0; i < 8; i++)
		CU_ASSERT_PTR_NOT_NULL(get(t, &k[i], i));
	CU_ASSERT_EQUAL(clienttab_count(t), 8);
	for (unsigned i = 0; i < 4; i++)                          /* touch 0..3 */
		CU_ASSERT_PTR_NOT_NULL(get(t, &k[i], 10 + i));
	for (unsigned i = 8; i < 12; i++)                         /* 4 more */
		CU_ASSERT_PTR_NOT_NULL(get(t, &k[i], 20 + i));
	CU_ASSERT_EQUAL(clienttab_count(t), 8);
	for (unsigned i = 0; i < 4; i++)
		CU_ASSERT_TRUE(present(t, &k[i]));                /* touched: kept */
	for (unsigned i = 4; i < 8; i++)
		CU_ASSERT_FALSE(present(t, &k[i]));               /* untouched oldest: gone */
	for (unsigned i = 8; i < 12; i++)
		CU_ASSERT_TRUE(present(t, &k[i]));
	/* find does not touch: 0 stays the oldest and goes next. */
	CU_ASSERT_PTR_NOT_NULL(get(t, &k[4], 40));
	CU_ASSERT_FALSE(present(t, &k[0]));
	CU_ASSERT_TRUE(present(t, &k[1]));
	/* An evicted key comes back as a fresh entry: full bucket, no transfers. */
	struct client_entry *e = get(t, &k[5], 41);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->transfers, 0);
	CU_ASSERT_EQUAL(bucket_tokens(&e->starts, 3, 60, 41), 3);
	CU_ASSERT_EQUAL(e->last_use, 41);
	clienttab_free(t);
}

static void
test_busy_never_evicted(void)
{
	struct clienttab *t = clienttab_new(4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct clientkey k[10];
	for (unsigned i = 0; i < 10; i++)
		k[i] = nkey(i);
	struct client_entry *oldest = get(t, &k[0], 0);
	clienttab_transfer_begin(t, oldest);
	clienttab_transfer_begin(t, oldest);                      /* two transfers */
	for (unsigned i = 1; i < 4; i++)
		get(t, &k[i], i);
	for (unsigned i = 4; i < 10; i++)                         /* pressure */
		CU_ASSERT_PTR_NOT_NULL(get(t, &k[i], i));
	CU_ASSERT_TRUE(present(t, &k[0]));                        /* oldest, but busy */
	CU_ASSERT_PTR_EQUAL(clienttab_find(t, k[0].b, k[0].len), oldest);
	CU_ASSERT_EQUAL(oldest->transfers, 2);
	CU_ASSERT_EQUAL(clienttab_busy(t), 1);
	clienttab_transfer_end(t, oldest, 20);
	CU_ASSERT_TRUE(present(t, &k[0]));                        /* still one running */
	get(t, &k[1], 21);
	CU_ASSERT_TRUE(present(t, &k[0]));
	clienttab_transfer_end(t, oldest, 22);                    /* idle: most recent now */
	CU_ASSERT_EQUAL(clienttab_busy(t), 0);
	CU_ASSERT_EQUAL(oldest->last_use, 22);
	clienttab_transfer_end(t, oldest, 23);                    /* extra end: harmless */
	CU_ASSERT_EQUAL(oldest->transfers, 0);
	get(t, &k[2], 24);
	get(t, &k[3], 25);
	get(t, &k[4], 26);                                        /* evicts the oldest idle */
	CU_ASSERT_TRUE(present(t, &k[0]));
	get(t, &k[5], 27);
	CU_ASSERT_FALSE(present(t, &k[0]));                       /* now it was the oldest */
	clienttab_free(t);
}

static void
test_all_busy_returns_null(void)
{
	struct clienttab *t = clienttab_new(3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct clientkey k[5];
	struct client_entry *e[3];
	for (unsigned i = 0; i < 5; i++)
		k[i] = nkey(i);
	for (unsigned i = 0; i < 3; i++) {
		e[i] = get(t, &k[i], i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(e[i]);
		clienttab_transfer_begin(t, e[i]);
	}
	CU_ASSERT_PTR_NULL(get(t, &k[3], 5));                     /* refuse: "transfer limit" */
	CU_ASSERT_EQUAL(clienttab_count(t), 3);
	CU_ASSERT_PTR_EQUAL(get(t, &k[1], 6), e[1]);              /* existing busy keys still found */
	clienttab_transfer_end(t, e[1], 7);
	struct client_entry *n = get(t, &k[3], 8);                /* takes e[1]'s place */
	CU_ASSERT_PTR_EQUAL(n, e[1]);
	CU_ASSERT_FALSE(present(t, &k[1]));
	CU_ASSERT_TRUE(present(t, &k[0]) && present(t, &k[2]) && present(t, &k[3]));
	clienttab_transfer_begin(t, n);
	CU_ASSERT_PTR_NULL(get(t, &k[4], 9));
	for (unsigned i = 0; i < 3; i++)
		clienttab_transfer_end(t, e[i], 10);
	CU_ASSERT_PTR_NOT_NULL(get(t, &k[4], 11));
	clienttab_free(t);
}

/* 2,000,000 clients, each in its own IPv6 /64, against a budget of 4096:
 * the count stops at the budget and nothing is allocated after new. */
static void
test_millions_of_keys_fixed_budget(void)
{
	enum { CAP = 4096, N = 2000000 };
	struct clienttab *t = clienttab_new(CAP);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct sockaddr_storage ss = ut_addr_port("2001:db8::1", 853);
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct client_entry *pinned = NULL;
	struct clientkey k;
	struct mallinfo2 before = mallinfo2();
	size_t max_count = 0, nulls = 0;
	for (uint32_t i = 0; i < N; i++) {
		uint32_t net = htonl(i);
		memcpy(&s6->sin6_addr.s6_addr[4], &net, 4);       /* 2001:db8:NNNN:NNNN::1 */
		s6->sin6_addr.s6_addr[15] = (uint8_t)(i * 7);     /* host bits: grouped away */
		clientkey_addr(&k, SA(ss), 64);
		struct client_entry *e = clienttab_get(t, k.b, k.len, i * 1e-6);
		if (e == NULL)
			nulls++;
		else if (i == 12345)
			clienttab_transfer_begin(t, pinned = e);  /* one busy through it all */
		if (clienttab_count(t) > max_count)
			max_count = clienttab_count(t);
	}
	struct mallinfo2 after = mallinfo2();
	CU_ASSERT_EQUAL(nulls, 0);
	CU_ASSERT_EQUAL(max_count, CAP);
	CU_ASSERT_EQUAL(clienttab_count(t), CAP);
	CU_ASSERT_EQUAL(after.uordblks, before.uordblks);        /* no allocation */
	CU_ASSERT_EQUAL(after.hblkhd, before.hblkhd);
	/* The pinned client is still there, the last CAP - 1 others too. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(pinned);
	CU_ASSERT_PTR_EQUAL(clienttab_find(t, pinned->key, pinned->key_len), pinned);
	size_t found = 0;
	for (uint32_t i = N - (CAP - 1); i < N; i++) {
		uint32_t net = htonl(i);
		memcpy(&s6->sin6_addr.s6_addr[4], &net, 4);
		clientkey_addr(&k, SA(ss), 64);
		found += clienttab_find(t, k.b, k.len) != NULL;
	}
	CU_ASSERT_EQUAL(found, CAP - 1);
	clienttab_transfer_end(t, pinned, 3);
	clienttab_free(t);
}

static void
test_admit(void)
{
	struct clienttab *t = clienttab_new(2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct clientkey a = nkey(1), b = nkey(2), c = nkey(3);
	struct client_entry *e1, *e2, *e3, *x;
	/* max 2 concurrent, 3 starts per 60 s */
	CU_ASSERT_EQUAL(clienttab_admit(t, a.b, a.len, 2, 3, 60, 0, &e1), CLIENT_ADMIT_OK);
	CU_ASSERT_EQUAL(clienttab_admit(t, a.b, a.len, 2, 3, 60, 0, &e2), CLIENT_ADMIT_OK);
	CU_ASSERT_PTR_EQUAL(e1, e2);
	CU_ASSERT_EQUAL(e1->transfers, 2);
	CU_ASSERT_EQUAL(clienttab_admit(t, a.b, a.len, 2, 3, 60, 0, &x), CLIENT_OVER_TRANSFERS);
	CU_ASSERT_PTR_NULL(x);
	CU_ASSERT_EQUAL(bucket_tokens(&e1->starts, 3, 60, 0), 1); /* the refusal took no token */
	clienttab_transfer_end(t, e1, 1);
	CU_ASSERT_EQUAL(clienttab_admit(t, a.b, a.len, 2, 3, 60, 1, &e3), CLIENT_ADMIT_OK);
	clienttab_transfer_end(t, e3, 2);
	CU_ASSERT_EQUAL(clienttab_admit(t, a.b, a.len, 2, 3, 60, 2, &x), CLIENT_OVER_RATE);
	CU_ASSERT_EQUAL(clienttab_admit(t, a.b, a.len, 2, 3, 60, 20, &e3), CLIENT_ADMIT_OK);
	/* b fills the table; both busy: c is refused (CLIENT_TABLE_FULL). */
	CU_ASSERT_EQUAL(clienttab_admit(t, b.b, b.len, 0, 0, 0, 21, &e2), CLIENT_ADMIT_OK);
	CU_ASSERT_EQUAL(clienttab_admit(t, c.b, c.len, 0, 0, 0, 22, &x), CLIENT_TABLE_FULL);
	clienttab_transfer_end(t, e2, 23);
	CU_ASSERT_EQUAL(clienttab_admit(t, c.b, c.len, 0, 0, 0, 24, &x), CLIENT_ADMIT_OK);
	CU_ASSERT_FALSE(present(t, &b));
	clienttab_transfer_end(t, x, 25);
	clienttab_transfer_end(t, e1, 25);
	clienttab_transfer_end(t, e3, 25);
	clienttab_free(t);
}

static void
test_new_bounds(void)
{
	CU_ASSERT_PTR_NULL(clienttab_new(0));
	CU_ASSERT_PTR_NULL(clienttab_new((size_t)CLIENTTAB_MAX_SIZE + 1));
	struct clienttab *t = clienttab_new(CLIENTTAB_DEFAULT_SIZE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(clienttab_count(t), 0);
	struct clientkey k = nkey(7);
	CU_ASSERT_PTR_NULL(clienttab_find(t, k.b, k.len));
	clienttab_free(t);
	clienttab_free(NULL);
	t = clienttab_new(1);                                     /* a budget of one */
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct clientkey a = nkey(1), b = nkey(2);
	struct client_entry *e = get(t, &a, 0);
	CU_ASSERT_PTR_EQUAL(get(t, &b, 1), e);                    /* same slot, new key */
	CU_ASSERT_FALSE(present(t, &a));
	CU_ASSERT_TRUE(present(t, &b));
	clienttab_free(t);
}

int
test_clienttab_register(void)
{
	SUITE("clienttab (per-client transfer limits)");
	TEST(test_bucket_burst_then_refill);
	TEST(test_bucket_exact_boundary);
	TEST(test_bucket_no_float_drift);
	TEST(test_bucket_limits_and_clock);
	TEST(test_key_types_never_collide);
	TEST(test_key_ipv6_grouping);
	TEST(test_lru_eviction);
	TEST(test_busy_never_evicted);
	TEST(test_all_busy_returns_null);
	TEST(test_millions_of_keys_fixed_budget);
	TEST(test_admit);
	TEST(test_new_bounds);
	return 0;
}
