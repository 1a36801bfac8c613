/* test_policy.c - query verdicts: type filter (XOT-15, XOT-16), deny by
 * default (AXFR-08), unknown zone and ACL miss alike (XOT-17), BADVERS
 * (EDNS-02); ACLs (issue 9, RFC 9103 §7.5): every combination of address,
 * client certificate and TSIG key conditions, any ACL of a zone admits;
 * TSIG verified by the proxy (TSIG-01..08): OK, BADSIG, BADTIME, and local
 * answers to verified queries marked for signing. */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "proxy/policy.h"
#include "unit.h"

static const char *cfg =
	"[inbound]\n"
	"cert = c.pem\n"
	"key = k.pem\n"
	"client-ca = ca.pem\n"
	"[zone example.test]\n"
	"allow = 127.0.0.1/32 2001:db8::/32\n"
	"[zone closed.test]\n";

/* The kdig-signed SOA query of tests/unit/tsig_vectors/kdig_sha256.txt
 * (example.test, key xfr-key., signed at 1796122915, fudge 300). */
static const char *signed_soa =
	"30cb01200001000000000001076578616d706c6504746573740000060001077866722d6b65790000fa00ff0000"
	"0000003d0b686d61632d7368613235360000006b0ea923012c002052bae6b34af762ae190e1930044defbc0044"
	"3198b5b2508a18d59aae0a60709130cb00000000";
#define SIGNED_AT 1796122915u

static const char *acl_cfg =
	"[inbound]\n"
	"cert = c.pem\n"
	"key = k.pem\n"
	"client-ca = ca.pem\n"
	"[key name-only.]\n"
	"algorithm = hmac-sha256\n"
	"[key xfr-key.]\n"
	"algorithm = hmac-sha256\n"
	"secret = NGDl3z0LcTWvIsSi5wmKRjdeII6GvJ+Qk8dy8BYAK44=\n"
	"[acl addr]\naddress = 127.0.0.1\n"
	"[acl cert]\nclient-cert = sec1.example.net\n"
	"[acl key]\ntsig-key = name-only.\n"
	"[acl addr-cert]\naddress = 127.0.0.1\nclient-cert = sec1.example.net\n"
	"[acl addr-key]\naddress = 127.0.0.1\ntsig-key = name-only.\n"
	"[acl cert-key]\nclient-cert = sec1.example.net\ntsig-key = name-only.\n"
	"[acl all]\naddress = 127.0.0.1\nclient-cert = sec1.example.net\ntsig-key = name-only.\n"
	"[acl verified]\ntsig-key = xfr-key.\n"
	"[zone addr.test]\nacl = addr\n"
	"[zone cert.test]\nacl = cert\n"
	"[zone key.test]\nacl = key\n"
	"[zone addr-cert.test]\nacl = addr-cert\n"
	"[zone addr-key.test]\nacl = addr-key\n"
	"[zone cert-key.test]\nacl = cert-key\n"
	"[zone all.test]\nacl = all\n"
	"[zone either.test]\nacl = cert addr-key\n"
	"[zone example.test]\nacl = verified\n";

static struct sockaddr_in
v4(const char *a)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, a, &sin.sin_addr);
	return sin;
}

/* A query; with a TSIG RR (MAC zeros) naming key when key is not NULL. */
static struct dns_query
query_key(const char *name, uint16_t type, const char *key, struct mb *m)
{
	mb_header(m, 1, 0, 0, 1, 0, 0, key != NULL ? 1 : 0);
	mb_question(m, name, type, 1);
	if (key != NULL)
		mb_tsig(m, key);
	struct dns_query q;
	const char *why;
	CU_ASSERT_EQUAL(dnsmsg_parse_query(m->buf, m->len, &q, &why), DNS_PARSE_OK);
	return q;
}

static struct dns_query
query(const char *name, uint16_t type)
{
	static struct mb m;
	return query_key(name, type, NULL, &m);
}

/* The certificate "identity" in these tests is the SAN string itself. */
static bool
fake_match(const void *identity, const char *pattern)
{
	return strcmp(identity, pattern) == 0;
}

static struct verdict
check(const struct conf *conf, const struct dns_query *q, const struct sockaddr *peer)
{
	struct policy_client who = { peer, NULL, fake_match };
	struct policy_tsig ts;
	return policy_check(conf, q, NULL, 0, &who, 0, &ts);
}

static void
test_verdicts(void)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = conf_parse_string(cfg, "t.ini", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	struct sockaddr_in in = v4("127.0.0.1"), out = v4("127.0.0.2");
	const struct sockaddr *pin = (const struct sockaddr *)&in, *pout = (const struct sockaddr *)&out;

	struct dns_query q = query("EXAMPLE.test", DNS_TYPE_AXFR);
	struct verdict v = check(conf, &q, pin);
	CU_ASSERT_TRUE(v.forward);
	CU_ASSERT_PTR_NOT_NULL(v.zone);
	CU_ASSERT_PTR_NOT_NULL(v.acl);
	CU_ASSERT_FALSE(v.sign);                            /* unsigned query */

	q = query("example.test", DNS_TYPE_IXFR);
	CU_ASSERT_TRUE(check(conf, &q, pin).forward);
	q = query("example.test", DNS_TYPE_SOA);
	CU_ASSERT_TRUE(check(conf, &q, pin).forward);

	v = check(conf, &q, pout);
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_EQUAL(v.rcode, DNS_RCODE_REFUSED);
	CU_ASSERT_EQUAL(v.ede, DNS_EDE_PROHIBITED);
	CU_ASSERT_EQUAL(v.reason, RSN_ACL);

	q = query("example.test", DNS_TYPE_A);
	v = check(conf, &q, pin);
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_EQUAL(v.ede, DNS_EDE_NOT_SUPPORTED);

	q = query("other.test", DNS_TYPE_AXFR);
	v = check(conf, &q, pin);
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_EQUAL(v.ede, DNS_EDE_PROHIBITED);         /* same answer as an ACL miss */
	CU_ASSERT_EQUAL(v.reason, RSN_UNKNOWN_ZONE);

	q = query("sub.example.test", DNS_TYPE_AXFR);       /* exact apex only */
	CU_ASSERT_FALSE(check(conf, &q, pin).forward);

	q = query("closed.test", DNS_TYPE_AXFR);            /* zone with no allow: nobody */
	CU_ASSERT_FALSE(check(conf, &q, pin).forward);

	q = query("example.test", DNS_TYPE_AXFR);
	q.qclass = 3;                                       /* CHAOS */
	CU_ASSERT_EQUAL(check(conf, &q, pin).ede, DNS_EDE_NOT_SUPPORTED);
	q = query("example.test", DNS_TYPE_AXFR);
	q.opcode = 4;                        /* NOTIFY-01, issue 7: NOTIMP, not REFUSED */
	CU_ASSERT_EQUAL(check(conf, &q, pin).ede, DNS_EDE_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(check(conf, &q, pin).rcode, DNS_RCODE_NOTIMP);
	q.opcode = 2;                                       /* STATUS */
	CU_ASSERT_EQUAL(check(conf, &q, pin).rcode, DNS_RCODE_NOTIMP);
	q = query("example.test", DNS_TYPE_AXFR);
	q.has_opt = true;
	q.edns_version = 1;
	CU_ASSERT_EQUAL(check(conf, &q, pin).rcode, DNS_RCODE_BADVERS);

	struct sockaddr_in6 s6;
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::53", &s6.sin6_addr);
	q = query("example.test", DNS_TYPE_AXFR);
	CU_ASSERT_TRUE(check(conf, &q, (const struct sockaddr *)&s6).forward);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6.sin6_addr);   /* mapped v4 from a dual-stack socket */
	CU_ASSERT_TRUE(check(conf, &q, (const struct sockaddr *)&s6).forward);
	conf_free(conf);
}

/* Every zone above has one ACL (either.test two); for each, all eight
 * combinations of (address right?, certificate right?, TSIG key right?)
 * are tried: the query is forwarded exactly when every condition the ACL
 * names holds (and for either.test when one of its two ACLs admits). */
static void
test_acl_combinations(void)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = conf_parse_string(acl_cfg, "acl.ini", err);
	if (conf == NULL)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	static const struct { const char *zone; bool addr, cert, key, either; } zones[] = {
		{ "addr.test", true, false, false, false }, { "cert.test", false, true, false, false },
		{ "key.test", false, false, true, false }, { "addr-cert.test", true, true, false, false },
		{ "addr-key.test", true, false, true, false }, { "cert-key.test", false, true, true, false },
		{ "all.test", true, true, true, false }, { "either.test", false, false, false, true },
	};
	struct sockaddr_in good = v4("127.0.0.1"), bad = v4("192.0.2.1");
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		for (int combo = 0; combo < 8; combo++) {
			bool a = combo & 1, c = combo & 2, k = combo & 4;
			struct mb m;
			struct dns_query q = query_key(zones[z].zone, DNS_TYPE_AXFR,
			                               k ? "name-only" : "other-key", &m);
			struct policy_client who = { (const struct sockaddr *)(a ? &good : &bad),
			                             c ? "sec1.example.net" : "sec2.example.net",
			                             fake_match };
			struct policy_tsig ts;
			struct verdict v = policy_check(conf, &q, m.buf, m.len, &who, 0, &ts);
			bool want = zones[z].either ? c || (a && k)
			            : (!zones[z].addr || a) && (!zones[z].cert || c) && (!zones[z].key || k);
			if (v.forward != want)
				fprintf(stderr, "\n  %s addr %d cert %d key %d: forward %d, want %d\n",
				        zones[z].zone, a, c, k, v.forward, want);
			CU_ASSERT_EQUAL(v.forward, want);
			CU_ASSERT_FALSE(v.sign);                /* name-only keys: never verified here */
			if (!v.forward)
				CU_ASSERT_EQUAL(v.ede, DNS_EDE_PROHIBITED);
		}
	}
	/* no certificate at all never satisfies a certificate condition */
	struct mb m;
	struct dns_query q = query_key("cert.test", DNS_TYPE_AXFR, NULL, &m);
	struct policy_client who = { (const struct sockaddr *)&good, NULL, fake_match };
	struct policy_tsig ts;
	CU_ASSERT_FALSE(policy_check(conf, &q, m.buf, m.len, &who, 0, &ts).forward);
	conf_free(conf);
}

static size_t
unhex(const char *hex, uint8_t *out)
{
	size_t n = 0;
	for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* A [key] with a secret: the proxy verifies the MAC and the time itself;
 * failures are answered NOTAUTH with the TSIG error, and answers to
 * verified queries are marked for signing. */
static void
test_tsig_verified(void)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = conf_parse_string(acl_cfg, "acl.ini", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	uint8_t msg[512];
	size_t len = unhex(signed_soa, msg);
	struct dns_query q;
	const char *why;
	CU_ASSERT_EQUAL_FATAL(dnsmsg_parse_query(msg, len, &q, &why), DNS_PARSE_OK);
	struct sockaddr_in any = v4("192.0.2.9");
	struct policy_client who = { (const struct sockaddr *)&any, NULL, fake_match };
	struct policy_tsig ts;

	struct verdict v = policy_check(conf, &q, msg, len, &who, SIGNED_AT, &ts);
	CU_ASSERT_TRUE(v.forward);
	CU_ASSERT_TRUE(v.sign);
	CU_ASSERT_TRUE(ts.verified);
	CU_ASSERT_EQUAL(ts.result, TSIG_OK);
	CU_ASSERT_EQUAL(policy_tsig_error(&ts), 0);

	v = policy_check(conf, &q, msg, len, &who, SIGNED_AT + 301, &ts);   /* fudge 300 */
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_EQUAL((int)v.rcode, TSIG_RCODE_NOTAUTH);
	CU_ASSERT_TRUE(v.sign);
	CU_ASSERT_EQUAL(policy_tsig_error(&ts), TSIG_ERR_BADTIME);

	msg[len - 20] ^= 1;                                 /* inside the MAC */
	v = policy_check(conf, &q, msg, len, &who, SIGNED_AT, &ts);
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_EQUAL((int)v.rcode, TSIG_RCODE_NOTAUTH);
	CU_ASSERT_EQUAL(policy_tsig_error(&ts), TSIG_ERR_BADSIG);
	msg[len - 20] ^= 1;

	/* a verified query the policy refuses still gets a signed answer */
	q.qtype = DNS_TYPE_A;
	v = policy_check(conf, &q, msg, len, &who, SIGNED_AT, &ts);
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_EQUAL(v.ede, DNS_EDE_NOT_SUPPORTED);
	CU_ASSERT_TRUE(v.sign);
	conf_free(conf);

	/* the same query against a [key] with another secret: BADSIG */
	char *other = strdup(acl_cfg);
	char *sec = strstr(other, "NGDl");
	sec[0] = 'M';
	conf = conf_parse_string(other, "acl.ini", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	q.qtype = DNS_TYPE_SOA;
	v = policy_check(conf, &q, msg, len, &who, SIGNED_AT, &ts);
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_EQUAL(policy_tsig_error(&ts), TSIG_ERR_BADSIG);
	conf_free(conf);
	free(other);
}

/* Issue 13 B12: the signer kept for a later answer is a copy; signing
 * with it after the configuration is freed (a reload) gives the very bytes
 * signing before did (under make asan-unit a pointer into the freed conf
 * would be a heap-use-after-free). */
static void
test_signer_outlives_conf(void)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = conf_parse_string(acl_cfg, "acl.ini", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	uint8_t msg[512];
	size_t len = unhex(signed_soa, msg);
	struct dns_query q;
	const char *why;
	CU_ASSERT_EQUAL_FATAL(dnsmsg_parse_query(msg, len, &q, &why), DNS_PARSE_OK);
	struct sockaddr_in any = v4("192.0.2.9");
	struct policy_client who = { (const struct sockaddr *)&any, NULL, fake_match };
	struct policy_tsig ts;
	policy_check(conf, &q, msg, len, &who, SIGNED_AT, &ts);
	CU_ASSERT_TRUE_FATAL(ts.verified);
	struct policy_signer s, moved;
	policy_signer_keep(&s, &ts);
	uint8_t before[600], after[600];
	int blen = dnsmsg_build_error(&q, DNS_RCODE_SERVFAIL, DNS_EDE_NETWORK_ERROR, NULL, before,
	                              sizeof(before));
	CU_ASSERT_TRUE_FATAL(blen > 0);
	memcpy(after, before, (size_t)blen);
	int signed_before = policy_signer_sign(&s, before, (size_t)blen, sizeof(before), SIGNED_AT);
	CU_ASSERT_TRUE(signed_before > blen);
	for (size_t i = 0; i < conf->n_keys; i++)          /* garbage, as after a reload */
		memset(&conf->keys[i].tsig, 0x5a, sizeof(conf->keys[i].tsig));
	conf_free(conf);
	moved = s;                                          /* self-contained: may move */
	policy_signer_wipe(&s);
	int signed_after = policy_signer_sign(&moved, after, (size_t)blen, sizeof(after), SIGNED_AT);
	CU_ASSERT_EQUAL(signed_after, signed_before);
	CU_ASSERT_TRUE(signed_before > 0 && memcmp(before, after, (size_t)signed_before) == 0);
	CU_ASSERT_EQUAL(policy_signer_sign(&s, after, (size_t)blen, sizeof(after), SIGNED_AT), -1);

	/* an unverified query keeps nothing to sign with */
	struct policy_tsig none = { .present = true, .result = TSIG_UNSIGNED };
	policy_signer_keep(&s, &none);
	CU_ASSERT_EQUAL(policy_signer_sign(&s, after, (size_t)blen, sizeof(after), SIGNED_AT), -1);
}

static bool
key_is(const struct clientkey *k, enum clientkey_type type, const void *b, size_t n)
{
	return k->len == n + 1 && k->b[0] == type && memcmp(k->b + 1, b, n) == 0;
}

/* Issue 13 B13: a TSIG key name is a client key only when the proxy
 * verified the MAC; a name-only key, an unknown name or a failed MAC count
 * under the address. A certificate comes first. */
static void
test_client_key(void)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = conf_parse_string(acl_cfg, "acl.ini", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	struct sockaddr_in any = v4("192.0.2.9");
	const struct sockaddr *peer = (const struct sockaddr *)&any;
	struct policy_client who = { peer, NULL, fake_match };
	const uint8_t addr[4] = { 192, 0, 2, 9 };
	struct policy_tsig ts;
	struct clientkey k;

	/* verified MAC: the key name */
	uint8_t msg[512];
	size_t len = unhex(signed_soa, msg);
	struct dns_query q;
	const char *why;
	CU_ASSERT_EQUAL_FATAL(dnsmsg_parse_query(msg, len, &q, &why), DNS_PARSE_OK);
	policy_check(conf, &q, msg, len, &who, SIGNED_AT, &ts);
	policy_client_key(&k, NULL, 0, &q, &ts, peer, 64);
	CU_ASSERT_TRUE(key_is(&k, CLIENTKEY_TSIG, q.tsig_key, q.tsig_key_len));
	/* a certificate wins over it */
	policy_client_key(&k, "sec1.example.net", 16, &q, &ts, peer, 64);
	CU_ASSERT_TRUE(key_is(&k, CLIENTKEY_CERT, "sec1.example.net", 16));
	/* the same query with a broken MAC: the address */
	msg[len - 20] ^= 1;
	policy_check(conf, &q, msg, len, &who, SIGNED_AT, &ts);
	CU_ASSERT_FALSE(policy_tsig_authenticated(&ts));
	policy_client_key(&k, NULL, 0, &q, &ts, peer, 64);
	CU_ASSERT_TRUE(key_is(&k, CLIENTKEY_ADDR4, addr, 4));
	/* a key without a secret (the kpass), and an unknown name */
	static const char *names[] = { "name-only", "no-such-key" };
	for (size_t i = 0; i < 2; i++) {
		struct mb m;
		q = query_key("key.test", DNS_TYPE_AXFR, names[i], &m);
		struct verdict v = policy_check(conf, &q, m.buf, m.len, &who, 0, &ts);
		CU_ASSERT_EQUAL(v.forward, i == 0);          /* the ACL still admits name-only */
		CU_ASSERT_FALSE(policy_tsig_authenticated(&ts));
		policy_client_key(&k, NULL, 0, &q, &ts, peer, 64);
		CU_ASSERT_TRUE(key_is(&k, CLIENTKEY_ADDR4, addr, 4));
	}
	conf_free(conf);
}

int
test_policy_register(void)
{
	SUITE("policy");
	TEST(test_verdicts);
	TEST(test_acl_combinations);
	TEST(test_tsig_verified);
	TEST(test_signer_outlives_conf);
	TEST(test_client_key);
	return 0;
}
