/* test_conf.c - CUnit tests for conf/conf.c. */
#include <CUnit/CUnit.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "dname.h"
#include "log.h"
#include "unit.h"


#define SA(na) ((const struct sockaddr *)&(na).ss)

static const char full_conf[] =
	"# xotproxy test configuration\n"                       /* 1 */
	"[global]\n"                                            /* 2 */
	"log-level = debug\n"                                   /* 3 */
	"\n"                                                    /* 4 */
	"[inbound]\n"                                           /* 5 */
	"listen = 127.0.0.1:8853 [::1]:8853 192.0.2.1\n"        /* 6 */
	"cert = /etc/xotproxy/server.pem\n"                     /* 7 */
	"key = /etc/xotproxy/server.key\n"                      /* 8 */
	"backend = 127.0.0.2\n"                                 /* 9 */
	"handshake-timeout = 5\n"                               /* 10 */
	"idle-timeout = 86400\n"                                /* 11 */
	"max-clients = 1000000\n"                               /* 12 */
	"\n"                                                    /* 13 */
	"[zone example.com]\n"                                  /* 14 */
	"allow = 127.0.0.0/8 ::1 192.0.2.0/24\n"                /* 15 */
	"[zone Example.NET.]\n"                                 /* 16 */
	"[zone mixed.test]\n"                                   /* 17 */
	"allow =\n";                                            /* 18 */

static struct conf *
parse_ok(const char *text)
{
	char err[CONF_ERR_MAX] = "";
	struct conf *c = conf_parse_string(text, "t.ini", err);
	if (c == NULL)
		fprintf(stderr, "\nunexpected error: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL(c);
	return c;
}

/* Expects a failure whose message starts with `prefix` and contains `part`. */
static void
expect_err(const char *text, const char *prefix, const char *part)
{
	char err[CONF_ERR_MAX] = "";
	struct conf *c = conf_parse_string(text, "t.ini", err);
	CU_ASSERT_PTR_NULL(c);
	conf_free(c);
	bool ok = strncmp(err, prefix, strlen(prefix)) == 0 &&
	          (part == NULL || strstr(err, part) != NULL);
	CU_ASSERT_TRUE(ok);
	if (!ok)
		fprintf(stderr, "\nwanted \"%s\"...\"%s\", got \"%s\"\n", prefix, part ? part : "",
		        err);
}

static void
check_addr(const struct netaddr *na, const char *want)
{
	char buf[NETADDR_TEXT_MAX];
	netaddr_format(SA(*na), buf);
	CU_ASSERT_STRING_EQUAL(buf, want);
}

static void
check_cidr(const struct cidr *c, const char *want)
{
	char buf[CIDR_TEXT_MAX];
	cidr_format(c, buf);
	CU_ASSERT_STRING_EQUAL(buf, want);
}

/* Zone i's name, in one of four rotating buffers (several per assert). */
static const char *
zname(const struct conf *c, size_t i)
{
	static char buf[4][DNAME_TEXT_MAX];
	static unsigned k;
	char *out = buf[k++ % 4];
	if (i >= c->n_zones)
		return "(no such zone)";
	conf_zone_text(c->zones[i], out);
	return out;
}

/* The zone's allow= list (its implicit ACL), or NULL. */
static const struct conf_acl *
zallow(const struct conf *c, size_t i)
{
	const struct conf_zone *z = c->zones[i];
	for (size_t j = 0; j < z->n_acls; j++)
		if (z->acls[j]->name[0] == '\0')
			return z->acls[j];
	return NULL;
}

static size_t
n_allow(const struct conf *c, size_t i)
{
	const struct conf_acl *a = zallow(c, i);
	return a != NULL ? a->n_addr : 0;
}

static void
test_full(void)
{
	struct conf *c = parse_ok(full_conf);
	if (c == NULL)
		return;
	CU_ASSERT_STRING_EQUAL(c->path, "t.ini");
	CU_ASSERT_EQUAL(c->log_level, XP_LOG_DEBUG);
	CU_ASSERT_EQUAL_FATAL(c->n_listen, 3);
	check_addr(&c->listen[0], "127.0.0.1#8853");
	check_addr(&c->listen[1], "::1#8853");
	check_addr(&c->listen[2], "192.0.2.1#853");    /* XOT-03: bare address -> 853 */
	CU_ASSERT_STRING_EQUAL(c->cert, "/etc/xotproxy/server.pem");
	CU_ASSERT_STRING_EQUAL(c->key, "/etc/xotproxy/server.key");
	check_addr(&c->backend, "127.0.0.2#53");       /* bare backend -> 53 */
	CU_ASSERT_EQUAL(c->handshake_timeout, 5);
	CU_ASSERT_EQUAL(c->idle_timeout, 86400);
	CU_ASSERT_EQUAL(c->max_clients, 1000000);

	CU_ASSERT_EQUAL_FATAL(c->n_zones, 3);
	CU_ASSERT_STRING_EQUAL(zname(c, 0), "example.com.");
	CU_ASSERT_EQUAL(c->zones[0]->wire_len, 13);
	CU_ASSERT_EQUAL(memcmp(c->zones[0]->wire, "\7example\3com", 13), 0);
	CU_ASSERT_EQUAL_FATAL(c->zones[0]->n_acls, 1);
	const struct conf_acl *a = c->zones[0]->acls[0];
	CU_ASSERT_STRING_EQUAL(a->name, "");          /* allow = makes an implicit ACL */
	CU_ASSERT_EQUAL_FATAL(a->n_addr, 3);
	check_cidr(&a->addr[0], "127.0.0.0/8");
	check_cidr(&a->addr[1], "::1/128");
	check_cidr(&a->addr[2], "192.0.2.0/24");
	CU_ASSERT(a->n_certs == 0 && a->key == NULL && !a->has_source);
	/* zone names are lowercased, trailing dot optional */
	CU_ASSERT_STRING_EQUAL(zname(c, 1), "example.net.");
	/* AXFR-08: absent or empty allow = nobody */
	CU_ASSERT_EQUAL(c->zones[1]->n_acls, 0);
	CU_ASSERT_STRING_EQUAL(zname(c, 2), "mixed.test.");
	CU_ASSERT_EQUAL(c->zones[2]->n_acls, 0);
	CU_ASSERT_EQUAL(c->n_acls, 1);
	CU_ASSERT_EQUAL(c->n_section_zones, 3);
	conf_free(c);
}

static void
test_defaults(void)
{
	struct conf *c = parse_ok("[inbound]\ncert = s.pem\nkey = s.key\n");
	if (c == NULL)
		return;
	CU_ASSERT_EQUAL(c->log_level, XP_LOG_INFO);
	/* XOT-03: 853 on all addresses */
	CU_ASSERT_EQUAL_FATAL(c->n_listen, 2);
	check_addr(&c->listen[0], "0.0.0.0#853");
	check_addr(&c->listen[1], "::#853");
	/* PRX-06: the plaintext backend defaults to loopback */
	check_addr(&c->backend, "127.0.0.1#53");
	CU_ASSERT_TRUE(netaddr_is_loopback(SA(c->backend)));
	CU_ASSERT_EQUAL(c->handshake_timeout, 10);
	CU_ASSERT_EQUAL(c->idle_timeout, 30);
	CU_ASSERT_EQUAL(c->max_clients, 1024);
	/* relative paths in conf_parse_string stay as given (cwd) */
	CU_ASSERT_STRING_EQUAL(c->cert, "s.pem");
	CU_ASSERT_STRING_EQUAL(c->key, "s.key");
	/* AXFR-08: no zones, everything refused */
	CU_ASSERT_EQUAL(c->n_zones, 0);
	CU_ASSERT_PTR_NULL(conf_zone_find(c, (const uint8_t *)"\7example\3com", 13));
	conf_free(c);
}

#define INB "[inbound]\ncert = a\nkey = b\n"     /* lines 1-3 */

static void
test_err_sections(void)
{
	expect_err(INB "[bogus]\n", "t.ini:4: ", "unknown section");
	expect_err(INB "[Global]\n", "t.ini:4: ", "unknown section");
	expect_err(INB "[zones example.com]\n", "t.ini:4: ", "unknown section");
	expect_err("[global]\n" INB "[global]\n", "t.ini:5: ", "duplicate [global] section (first on line 1)");
	expect_err(INB "\n[inbound]\n", "t.ini:5: ", "duplicate [inbound]");
	expect_err(INB "[zone]\n", "t.ini:4: ", "needs a zone name");
	expect_err(INB "[zone   ]\n", "t.ini:4: ", "needs a zone name");
	expect_err(INB "[zone .]\n", "t.ini:4: ", "root zone");
	expect_err(INB "[zone a..b]\n", "t.ini:4: ", "not a valid domain name");
	expect_err(INB "[zone a b]\n", "t.ini:4: ", "not a valid domain name");
	expect_err(INB "[zone example.com\n", "t.ini:4: ", "syntax error");
	expect_err(INB "[global] junk\n", "t.ini:4: ", "syntax error");
	/* duplicate zone after normalization */
	expect_err(INB "[zone Example.com]\nallow = ::1\n\n[zone example.com.]\n", "t.ini:7: ",
	           "duplicate zone example.com. (first at t.ini:4)");
	expect_err("# only comments\n", "t.ini: ", "[inbound] section is required");
}

static void
test_err_keys(void)
{
	expect_err("log-level = info\n", "t.ini:1: ", "outside any section");
	expect_err(INB "bogus = 1\n", "t.ini:4: ", "unknown key \"bogus\" in [inbound]");
	expect_err("[global]\nlisten = 127.0.0.1\n" INB, "t.ini:2: ", "unknown key \"listen\" in [global]");
	expect_err(INB "[zone example.com]\ncert = x\n", "t.ini:5: ",
	           "unknown key \"cert\" in [zone example.com.]");
	expect_err(INB "idle-timeout = 5\nidle-timeout = 6\n", "t.ini:5: ",
	           "duplicate key idle-timeout in [inbound] (first on line 4)");
	expect_err(INB "[zone a]\nallow = ::1\nallow = ::2\n", "t.ini:6: ", "duplicate key allow");
	expect_err("[global]\nlog-level = info\nlog-level = info\n" INB, "t.ini:3: ", "duplicate key");
	/* the same key in two different zones is fine */
	struct conf *c = parse_ok(INB "[zone a]\nallow = ::1\n[zone b]\nallow = ::2\n");
	CU_ASSERT(c != NULL && c->n_zones == 2);
	conf_free(c);
	/* line without '=': inih reports the line, we say "syntax error" */
	expect_err(INB "just words\n", "t.ini:4: ", "syntax error");
	expect_err("[inbound]\ncert = a\n", "t.ini:1: ", "[inbound] key is required");
	expect_err("\n[inbound]\nkey = a\n", "t.ini:2: ", "[inbound] cert is required");
	expect_err("[inbound]\ncert =\nkey = b\n", "t.ini:2: ", "cert: empty file name");
	expect_err("[inbound]\ncert = a\nkey =#b\n", "t.ini:3: ", "key: \"#b\" starts with a comment");
}

static void
test_err_values(void)
{
	/* the exact message format: FILE:LINE: key: "value" reason */
	char err[CONF_ERR_MAX];
	struct conf *c = conf_parse_string("[global]\nlog-level = info\n" INB
	                                   "\nidle-timeout = 10s\n", "x.ini", err);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_STRING_EQUAL(err, "x.ini:7: idle-timeout: \"10s\" is not an integer in 1..86400");

	expect_err(INB "handshake-timeout = 0\n", "t.ini:4: ", "handshake-timeout: \"0\" is not an integer in 1..3600");
	expect_err(INB "handshake-timeout = 3601\n", "t.ini:4: ", "\"3601\"");
	expect_err(INB "handshake-timeout = -1\n", "t.ini:4: ", "\"-1\"");
	expect_err(INB "handshake-timeout = +5\n", "t.ini:4: ", "\"+5\"");
	expect_err(INB "handshake-timeout =\n", "t.ini:4: ", "handshake-timeout: \"\"");
	expect_err(INB "idle-timeout = 86401\n", "t.ini:4: ", "idle-timeout");
	expect_err(INB "idle-timeout = 99999999999999999999999\n", "t.ini:4: ", "idle-timeout");
	expect_err(INB "max-clients = 1000001\n", "t.ini:4: ", "max-clients: \"1000001\" is not an integer in 1..1000000");
	expect_err(INB "max-clients = 1 0\n", "t.ini:4: ", "max-clients");
	expect_err("[global]\nlog-level = verbose\n", "t.ini:2: ", "log-level: \"verbose\"");
	expect_err("[global]\nlog-level = INFO\n", "t.ini:2: ", "log-level");
	expect_err(INB "listen = 127.0.0.1:853 1.2.3.4:0\n", "t.ini:4: ", "listen: \"1.2.3.4:0\"");
	expect_err(INB "listen = localhost:853\n", "t.ini:4: ", "listen: \"localhost:853\"");
	expect_err(INB "listen =\n", "t.ini:4: ", "listen: needs at least one address");
	expect_err(INB "listen = [::1]:853 [::1]:853\n", "t.ini:4: ", "listed twice");
	expect_err(INB "backend = 127.0.0.1:65536\n", "t.ini:4: ", "backend: \"127.0.0.1:65536\"");
	expect_err(INB "backend = 127.0.0.1:53 ::1\n", "t.ini:4: ", "backend");
	/* AXFR-08: a typo in an ACL is an error, not a silent allow/deny */
	expect_err(INB "[zone a]\nallow = ::1 10.0.0.1/8\n", "t.ini:5: ", "allow: \"10.0.0.1/8\"");
	expect_err(INB "[zone a]\nallow = 1.2.3.4/33\n", "t.ini:5: ", "allow: \"1.2.3.4/33\"");
	expect_err(INB "[zone a]\nallow = any\n", "t.ini:5: ", "allow: \"any\"");
}

static void
test_err_limits(void)
{
	char text[8192];
	size_t o = (size_t)snprintf(text, sizeof(text), INB "listen =");
	for (int i = 0; i <= CONF_MAX_LISTEN; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, " 127.0.0.1:%d", 1000 + i);
	snprintf(text + o, sizeof(text) - o, "\n");
	expect_err(text, "t.ini:4: ", "listen: more than 16");
	/* exactly the maximum is fine */
	char *last = strrchr(text, ' ');
	strcpy(last, "\n");
	struct conf *c = parse_ok(text);
	CU_ASSERT(c != NULL && c->n_listen == CONF_MAX_LISTEN);
	conf_free(c);

	o = (size_t)snprintf(text, sizeof(text), INB "[zone a]\nallow =");
	for (int i = 0; i <= CONF_MAX_ALLOW; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, " 10.0.%d.0/24", i);
	snprintf(text + o, sizeof(text) - o, "\n");
	expect_err(text, "t.ini:5: ", "allow: more than 64");
	last = strrchr(text, ' ');
	strcpy(last, "\n");
	c = parse_ok(text);
	CU_ASSERT(c != NULL && c->n_zones == 1 && n_allow(c, 0) == CONF_MAX_ALLOW);
	conf_free(c);
}

static void
test_inline_comments(void)
{
	struct conf *c = parse_ok(
		"[global] # global settings\n"
		"log-level = warning   # quieter\n"
		"; a semicolon comment\n"
		"[inbound]\n"
		"   # indented comment\n"
		"listen = 127.0.0.1:8853 # [::1]:8853\n"
		"cert = server.pem ; the chain\n"
		"key = server.key#not-a-comment\n"
		"idle-timeout = 60 # seconds\n"
		"[zone example.com] # the zone\n"
		"allow = # nobody\n");
	if (c == NULL)
		return;
	CU_ASSERT_EQUAL(c->log_level, XP_LOG_WARNING);
	CU_ASSERT_EQUAL(c->n_listen, 1);
	CU_ASSERT_STRING_EQUAL(c->cert, "server.pem");
	/* '#' is a comment only after whitespace */
	CU_ASSERT_STRING_EQUAL(c->key, "server.key#not-a-comment");
	CU_ASSERT_EQUAL(c->idle_timeout, 60);
	CU_ASSERT_EQUAL(c->n_zones, 1);
	CU_ASSERT_EQUAL(c->zones[0]->n_acls, 0);
	conf_free(c);
}

static void
test_long_lines(void)
{
	/* a 300-character line (inih's default limit is 200) */
	char text[6000], path[301];
	memset(path, 'p', 300);
	path[0] = '/';
	path[300] = '\0';
	snprintf(text, sizeof(text), "[inbound]\ncert = %s\nkey = k\n", path);
	struct conf *c = parse_ok(text);
	if (c != NULL)
		CU_ASSERT_STRING_EQUAL(c->cert, path);
	conf_free(c);

	/* a long allow line */
	size_t o = (size_t)snprintf(text, sizeof(text), INB "[zone a]\nallow =");
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, " 2001:db8:%x::/48", i);
	CU_ASSERT(o > 500);
	c = parse_ok(text);
	CU_ASSERT(c != NULL && c->n_zones == 1 && n_allow(c, 0) == 40);
	conf_free(c);

	/* lines over 4094 characters are an error with the line number */
	char *big = malloc(5200);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	o = (size_t)snprintf(big, 5200, INB "# ");
	memset(big + o, 'x', 5000);
	big[o + 5000] = '\0';
	expect_err(big, "t.ini:4: ", "line too long (more than 4094 characters)");
	free(big);
}

static void
test_crlf_bom(void)
{
	struct conf *c = parse_ok("\xef\xbb\xbf[global]\r\nlog-level = error\r\n[inbound]\r\n"
	                          "cert = a.pem\r\nkey = a.key\r\nmax-clients = 7\r\n"
	                          "[zone Example.COM]\r\nallow = ::1\r\n");
	if (c == NULL)
		return;
	CU_ASSERT_EQUAL(c->log_level, XP_LOG_ERROR);
	CU_ASSERT_STRING_EQUAL(c->cert, "a.pem");
	CU_ASSERT_STRING_EQUAL(c->key, "a.key");
	CU_ASSERT_EQUAL(c->max_clients, 7);
	CU_ASSERT_EQUAL_FATAL(c->n_zones, 1);
	CU_ASSERT_STRING_EQUAL(zname(c, 0), "example.com.");
	CU_ASSERT_EQUAL(n_allow(c, 0), 1);
	conf_free(c);
	/* line numbers count CRLF lines */
	expect_err("[inbound]\r\ncert = a\r\nkey = b\r\n\r\nmax-clients = x\r\n", "t.ini:5: ",
	           "max-clients: \"x\"");
}

static void
test_zone_names(void)
{
	struct conf *c = parse_ok(INB "[zone  Example.COM. ]\nallow = ::1\n[zone\tsub.example.com]\n"
	                          "[zone \\065\\.b.test]\n");
	if (c == NULL)
		return;
	CU_ASSERT_EQUAL_FATAL(c->n_zones, 3);
	CU_ASSERT_STRING_EQUAL(zname(c, 0), "example.com.");
	CU_ASSERT_STRING_EQUAL(zname(c, 1), "sub.example.com.");
	CU_ASSERT_STRING_EQUAL(zname(c, 2), "a\\.b.test.");

	uint8_t wire[DNAME_MAXLEN];
	int len = dname_from_text("EXAMPLE.com", wire);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_PTR_EQUAL(conf_zone_find(c, wire, (size_t)len), c->zones[0]);
	len = dname_from_text("sub.example.com.", wire);
	CU_ASSERT_PTR_EQUAL(conf_zone_find(c, wire, (size_t)len), c->zones[1]);
	/* exact match only: no parent-zone fallback */
	len = dname_from_text("www.example.com", wire);
	CU_ASSERT_PTR_NULL(conf_zone_find(c, wire, (size_t)len));
	len = dname_from_text("com", wire);
	CU_ASSERT_PTR_NULL(conf_zone_find(c, wire, (size_t)len));
	conf_free(c);

	expect_err(INB "[zone sub.example.com]\n[zone SUB.Example.Com.]\n", "t.ini:5: ",
	           "duplicate zone sub.example.com.");
	expect_err(INB "[zone a\\.b]\n[zone A\\046B.]\n", "t.ini:5: ", "duplicate zone");
}

/* --- [outbound] ----------------------------------------------------------- */

/* SHA-256 of "" and of 32 zero bytes, as RFC 7469 pins */
#define PIN1 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
#define PIN2 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
static const uint8_t pin1_bytes[32] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

static const char outbound_conf[] =
	"[outbound primary-a]\n"                                /* 1 */
	"listen = 127.0.0.1:5353 [::1]:5353 127.0.0.2\n"        /* 2 */
	"allow = 127.0.0.1 10.0.0.0/8\n"                        /* 3 */
	"primary = 192.0.2.1:853 [2001:db8::2]:8853 192.0.2.3\n" /* 4 */
	"auth-name = NS1.Example.NET.\n"                        /* 5 */
	"ca = /etc/ssl/certs/ca-certificates.crt\n"             /* 6 */
	"pin-sha256 = " PIN1 " " PIN2 "\n"                      /* 7 */
	"client-cert = sec.pem\n"                               /* 8 */
	"client-key = sec.key\n"                                /* 9 */
	"connect-timeout = 3600\n"                              /* 10 */
	"idle-timeout = 86400\n"                                /* 11 */
	"max-sessions = 1024\n";                                /* 12 */

static void
test_outbound_full(void)
{
	struct conf *c = parse_ok(outbound_conf);
	if (c == NULL)
		return;
	/* only [outbound]: no inbound listeners, no server certificate */
	CU_ASSERT_FALSE(c->has_inbound);
	CU_ASSERT_EQUAL(c->n_listen, 0);
	CU_ASSERT_PTR_NULL(c->cert);
	CU_ASSERT_PTR_NULL(c->key);
	CU_ASSERT_EQUAL(c->n_zones, 0);
	CU_ASSERT_EQUAL_FATAL(c->n_outbound, 1);
	const struct conf_outbound *o = &c->outbound[0];
	CU_ASSERT_STRING_EQUAL(o->name, "primary-a");
	CU_ASSERT_EQUAL_FATAL(o->n_listen, 3);
	check_addr(&o->listen[0], "127.0.0.1#5353");
	check_addr(&o->listen[1], "::1#5353");
	check_addr(&o->listen[2], "127.0.0.2#53");        /* bare listen -> 53 */
	CU_ASSERT_EQUAL_FATAL(o->n_allow, 2);
	check_cidr(&o->allow[0], "127.0.0.1/32");
	check_cidr(&o->allow[1], "10.0.0.0/8");
	CU_ASSERT_EQUAL_FATAL(o->n_primary, 3);
	check_addr(&o->primary[0], "192.0.2.1#853");
	check_addr(&o->primary[1], "2001:db8::2#8853");
	check_addr(&o->primary[2], "192.0.2.3#853");      /* bare primary -> 853 */
	/* lowercase, without the trailing dot (as sent in SNI) */
	CU_ASSERT_STRING_EQUAL(o->auth_name, "ns1.example.net");
	CU_ASSERT_STRING_EQUAL(o->ca, "/etc/ssl/certs/ca-certificates.crt");
	CU_ASSERT_EQUAL_FATAL(o->n_pins, 2);
	CU_ASSERT_EQUAL(memcmp(o->pins[0], pin1_bytes, 32), 0);
	static const uint8_t zero[32];
	CU_ASSERT_EQUAL(memcmp(o->pins[1], zero, 32), 0);
	CU_ASSERT_STRING_EQUAL(o->client_cert, "sec.pem");
	CU_ASSERT_STRING_EQUAL(o->client_key, "sec.key");
	CU_ASSERT_EQUAL(o->connect_timeout, 3600);
	CU_ASSERT_EQUAL(o->idle_timeout, 86400);
	CU_ASSERT_EQUAL(o->max_sessions, 1024);

	struct netaddr na;
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("10.1.2.3:1", 0, &na), 0);
	CU_ASSERT_TRUE(conf_outbound_allowed(o, SA(na)));
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("127.0.0.2:1", 0, &na), 0);
	CU_ASSERT_FALSE(conf_outbound_allowed(o, SA(na)));
	CU_ASSERT_FALSE(conf_address_allowed(c, SA(na)));  /* no inbound zones */
	conf_free(c);
}

#define OB_MIN "listen = 127.0.0.1:5353\nprimary = 192.0.2.1\npin-sha256 = " PIN1 "\n"

static void
test_outbound_defaults(void)
{
	struct conf *c = parse_ok("[outbound]\n" OB_MIN);
	if (c == NULL)
		return;
	CU_ASSERT_EQUAL_FATAL(c->n_outbound, 1);
	const struct conf_outbound *o = &c->outbound[0];
	CU_ASSERT_STRING_EQUAL(o->name, "");
	/* local clients: loopback only */
	CU_ASSERT_EQUAL_FATAL(o->n_allow, 2);
	check_cidr(&o->allow[0], "127.0.0.0/8");
	check_cidr(&o->allow[1], "::1/128");
	check_addr(&o->primary[0], "192.0.2.1#853");
	CU_ASSERT_EQUAL(o->connect_timeout, 5);
	CU_ASSERT_EQUAL(o->idle_timeout, 30);
	CU_ASSERT_EQUAL(o->max_sessions, 4);
	CU_ASSERT_PTR_NULL(o->auth_name);
	CU_ASSERT_PTR_NULL(o->ca);
	CU_ASSERT_PTR_NULL(o->client_cert);
	CU_ASSERT_PTR_NULL(o->client_key);
	CU_ASSERT_EQUAL(o->n_pins, 1);

	struct netaddr na;
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("127.9.9.9:1", 0, &na), 0);
	CU_ASSERT_TRUE(conf_outbound_allowed(o, SA(na)));
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("[::1]:1", 0, &na), 0);
	CU_ASSERT_TRUE(conf_outbound_allowed(o, SA(na)));
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("192.0.2.9:1", 0, &na), 0);
	CU_ASSERT_FALSE(conf_outbound_allowed(o, SA(na)));
	conf_free(c);

	/* "[outbound  ]" is the unnamed section too */
	c = parse_ok("[outbound  ]\n" OB_MIN);
	CU_ASSERT(c != NULL && c->n_outbound == 1 && c->outbound[0].name[0] == '\0');
	conf_free(c);
}

static void
test_outbound_sections(void)
{
	struct conf *c = parse_ok("[outbound a]\n" OB_MIN
	                          "[outbound B.2_x-y]\nlisten = 127.0.0.1:5354\nprimary = 192.0.2.2\n"
	                          "ca = ca.pem\nauth-name = ns2.example\nidle-timeout = 7\n");
	if (c != NULL) {
		CU_ASSERT_EQUAL_FATAL(c->n_outbound, 2);
		CU_ASSERT_STRING_EQUAL(c->outbound[0].name, "a");
		CU_ASSERT_STRING_EQUAL(c->outbound[1].name, "B.2_x-y");
		CU_ASSERT_EQUAL(c->outbound[0].idle_timeout, 30);
		CU_ASSERT_EQUAL(c->outbound[1].idle_timeout, 7);
		CU_ASSERT_EQUAL(c->outbound[1].n_pins, 0);
		check_addr(&c->outbound[1].primary[0], "192.0.2.2#853");
	}
	conf_free(c);

	/* an unnamed section only when it is the only one, in either order */
	expect_err("[outbound]\n" OB_MIN "[outbound b]\n", "t.ini:5: ",
	           "several [outbound] sections need a name each");
	expect_err("[outbound a]\n" OB_MIN "[outbound]\n", "t.ini:5: ",
	           "several [outbound] sections need a name each");
	expect_err("[outbound]\n" OB_MIN "[outbound]\n", "t.ini:5: ", "need a name");
	/* names unique, case-insensitively */
	expect_err("[outbound a]\n" OB_MIN "[outbound b]\n" OB_MIN "[outbound A]\n", "t.ini:9: ",
	           "duplicate [outbound a] section (first on line 1)");
	/* name syntax */
	expect_err("[outbound a/b]\n" OB_MIN, "t.ini:1: ", "outbound name \"a/b\"");
	expect_err("[outbound a b]\n" OB_MIN, "t.ini:1: ", "outbound name \"a b\"");
	char text[512];
	char name[65];
	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(text, sizeof(text), "[outbound %s]\n" OB_MIN, name);
	expect_err(text, "t.ini:1: ", "at most 63 letters");
	name[63] = '\0';
	snprintf(text, sizeof(text), "[outbound %s]\n" OB_MIN, name);
	c = parse_ok(text);
	CU_ASSERT(c != NULL && strcmp(c->outbound[0].name, name) == 0);
	conf_free(c);
	expect_err("[outbounds]\n", "t.ini:1: ", "unknown section");
}

static void
test_outbound_keys(void)
{
	/* per-section duplicate detection; the same key in two sections is fine */
	expect_err("[outbound a]\n" OB_MIN "idle-timeout = 5\nidle-timeout = 6\n", "t.ini:6: ",
	           "duplicate key idle-timeout in [outbound a] (first on line 5)");
	expect_err("[outbound]\n" OB_MIN "allow = ::1\nallow = ::2\n", "t.ini:6: ",
	           "duplicate key allow in [outbound] (first on line 5)");
	expect_err("[outbound a]\n" OB_MIN "pin-sha256 = " PIN2 "\n", "t.ini:5: ",
	           "duplicate key pin-sha256 in [outbound a] (first on line 4)");
	/* [inbound] idle-timeout and [outbound] idle-timeout are different keys */
	struct conf *c = parse_ok(INB "idle-timeout = 100\n[outbound]\n" OB_MIN "idle-timeout = 9\n");
	if (c != NULL) {
		CU_ASSERT_EQUAL(c->idle_timeout, 100);
		CU_ASSERT_EQUAL(c->outbound[0].idle_timeout, 9);
	}
	conf_free(c);
	/* keys of one kind are unknown in the other */
	expect_err("[outbound x]\n" OB_MIN "backend = 127.0.0.1\n", "t.ini:5: ",
	           "unknown key \"backend\" in [outbound x]");
	expect_err("[outbound]\n" OB_MIN "cert = a\n", "t.ini:5: ", "unknown key \"cert\" in [outbound]");
	expect_err(INB "max-sessions = 4\n", "t.ini:4: ", "unknown key \"max-sessions\" in [inbound]");
	expect_err(INB "primary = 192.0.2.1\n", "t.ini:4: ", "unknown key \"primary\" in [inbound]");
	expect_err(INB "[zone a]\nauth-name = x\n", "t.ini:5: ", "unknown key \"auth-name\" in [zone a.]");
}

static void
test_outbound_required(void)
{
	expect_err("\n[outbound a]\nprimary = 192.0.2.1\npin-sha256 = " PIN1 "\n", "t.ini:2: ",
	           "[outbound a] listen is required");
	expect_err("[outbound]\nlisten = 127.0.0.1\npin-sha256 = " PIN1 "\n", "t.ini:1: ",
	           "[outbound] primary is required");
	/* strict authentication (RFC 8310): ca + auth-name, or pins */
	expect_err("[outbound a]\nlisten = ::1\nprimary = 192.0.2.1\n", "t.ini:1: ",
	           "[outbound a] does not authenticate the primary: set ca and auth-name, or pin-sha256");
	expect_err("[outbound a]\nlisten = ::1\nprimary = 192.0.2.1\nauth-name = ns1.example\n",
	           "t.ini:1: ", "[outbound a] auth-name needs ca");
	expect_err("[outbound a]\nlisten = ::1\nprimary = 192.0.2.1\nca = ca.pem\n", "t.ini:1: ",
	           "[outbound a] ca needs auth-name");
	const char *ok[] = {
		"[outbound]\nlisten = ::1\nprimary = 192.0.2.1\nca = c\nauth-name = ns1.example\n",
		"[outbound]\nlisten = ::1\nprimary = 192.0.2.1\npin-sha256 = " PIN1 "\n",
		"[outbound]\nlisten = ::1\nprimary = 192.0.2.1\npin-sha256 = " PIN1 "\nca = c\n",
		"[outbound]\nlisten = ::1\nprimary = 192.0.2.1\npin-sha256 = " PIN1 "\nauth-name = n.x\n",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct conf *c = parse_ok(ok[i]);
		conf_free(c);
	}
	/* mutual TLS needs both halves */
	expect_err("[outbound]\n" OB_MIN "client-cert = c.pem\n", "t.ini:1: ",
	           "[outbound] client-cert needs client-key");
	expect_err("[outbound]\n" OB_MIN "client-key = c.key\n", "t.ini:1: ",
	           "[outbound] client-key needs client-cert");
	/* the first failing section is reported */
	expect_err("[outbound a]\n" OB_MIN "[outbound b]\nlisten = ::1\n", "t.ini:5: ",
	           "[outbound b] primary is required");
}

#define OB_NOPIN "[outbound]\nlisten = ::1\nprimary = 192.0.2.1\n"      /* lines 1-3 */

static void
test_outbound_values(void)
{
	/* pins: base64 (RFC 4648) of exactly 32 bytes */
	expect_err(OB_NOPIN "pin-sha256 = not-base64!\n", "t.ini:4: ",
	           "pin-sha256: \"not-base64!\" is not base64");
	expect_err(OB_NOPIN "pin-sha256 = " PIN1 " AAAA\n", "t.ini:4: ",
	           "pin-sha256: \"AAAA\" decodes to 3 bytes, not 32");
	expect_err(OB_NOPIN "pin-sha256 = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n", "t.ini:4: ",
	           "decodes to 31 bytes, not 32");
	expect_err(OB_NOPIN "pin-sha256 = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n", "t.ini:4: ",
	           "decodes to 34 bytes, not 32");
	expect_err(OB_NOPIN "pin-sha256 = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU==\n", "t.ini:4: ",
	           "is not base64");                       /* bad padding */
	expect_err(OB_NOPIN "pin-sha256 = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n", "t.ini:4: ",
	           "is not base64");                       /* trailing bits set */
	expect_err(OB_NOPIN "pin-sha256 = 47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=\n", "t.ini:4: ",
	           "is not base64");                       /* base64url alphabet */
	expect_err(OB_NOPIN "pin-sha256 = " PIN1 " " PIN1 "\n", "t.ini:4: ", "listed twice");
	expect_err(OB_NOPIN "pin-sha256 =\n", "t.ini:4: ", "pin-sha256: needs at least one pin");
	/* without padding is accepted */
	struct conf *c = parse_ok(OB_NOPIN "pin-sha256 = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n");
	if (c != NULL)
		CU_ASSERT_EQUAL(memcmp(c->outbound[0].pins[0], pin1_bytes, 32), 0);
	conf_free(c);

	/* auth-name: a host name, not an address */
	expect_err(OB_NOPIN "ca = c\nauth-name = 192.0.2.1\n", "t.ini:5: ",
	           "auth-name: \"192.0.2.1\" is not a host name");
	expect_err(OB_NOPIN "ca = c\nauth-name = a..b\n", "t.ini:5: ", "auth-name: \"a..b\"");
	expect_err(OB_NOPIN "ca = c\nauth-name = ns1.example.com/x\n", "t.ini:5: ", "auth-name");
	expect_err(OB_NOPIN "ca = c\nauth-name = .\n", "t.ini:5: ", "auth-name");
	expect_err(OB_NOPIN "ca = c\nauth-name = *.example\n", "t.ini:5: ", "auth-name");
	expect_err(OB_NOPIN "ca = c\nauth-name = a b\n", "t.ini:5: ", "auth-name");

	/* addresses */
	expect_err(OB_NOPIN "pin-sha256 = " PIN1 "\nprimary = x\n", "t.ini:5: ", "duplicate key primary");
	expect_err("[outbound]\nlisten = ::1\nprimary = ns1.example:853\n", "t.ini:3: ",
	           "primary: \"ns1.example:853\" is not an address or address:port");
	expect_err("[outbound]\nlisten = ::1\nprimary = 192.0.2.1 192.0.2.1:853\n", "t.ini:3: ",
	           "primary: \"192.0.2.1:853\" is listed twice");
	expect_err("[outbound]\nlisten = ::1\nprimary =\n", "t.ini:3: ", "primary: needs at least one");
	expect_err("[outbound]\nlisten = 127.0.0.1:0\n", "t.ini:2: ", "listen: \"127.0.0.1:0\"");
	expect_err("[outbound]\nlisten =\n", "t.ini:2: ", "listen: needs at least one address");
	char text[1024];
	size_t o = (size_t)snprintf(text, sizeof(text), "[outbound]\nlisten = ::1\nprimary =");
	for (int i = 0; i <= CONF_MAX_PRIMARIES; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, " 192.0.2.%d", i + 1);
	snprintf(text + o, sizeof(text) - o, "\n");
	expect_err(text, "t.ini:3: ", "primary: more than 8 addresses");
	o = (size_t)snprintf(text, sizeof(text), OB_NOPIN "pin-sha256 =");
	for (int i = 0; i <= CONF_MAX_PINS; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, " %.42s%c=", PIN2, "AEIMQUYcgkosw"[i]);
	snprintf(text + o, sizeof(text) - o, "\n");
	expect_err(text, "t.ini:4: ", "pin-sha256: more than 8 pins");

	/* allow: explicit and never empty (the default is loopback) */
	expect_err("[outbound]\n" OB_MIN "allow =\n", "t.ini:5: ", "allow: needs at least one");
	expect_err("[outbound]\n" OB_MIN "allow = 10.0.0.1/8\n", "t.ini:5: ", "allow: \"10.0.0.1/8\"");

	/* integers */
	expect_err("[outbound]\n" OB_MIN "connect-timeout = 0\n", "t.ini:5: ",
	           "connect-timeout: \"0\" is not an integer in 1..3600");
	expect_err("[outbound]\n" OB_MIN "connect-timeout = 3601\n", "t.ini:5: ", "connect-timeout");
	expect_err("[outbound]\n" OB_MIN "idle-timeout = 86401\n", "t.ini:5: ",
	           "idle-timeout: \"86401\" is not an integer in 1..86400");
	expect_err("[outbound]\n" OB_MIN "max-sessions = 0\n", "t.ini:5: ",
	           "max-sessions: \"0\" is not an integer in 1..1024");
	expect_err("[outbound]\n" OB_MIN "max-sessions = 1025\n", "t.ini:5: ", "max-sessions");

	/* paths */
	expect_err(OB_NOPIN "auth-name = n.x\nca =\n", "t.ini:5: ", "ca: empty file name");
	expect_err("[outbound]\n" OB_MIN "client-cert = c\nclient-key =;k\n", "t.ini:6: ",
	           "client-key: \";k\" starts with a comment");
}

static void
test_outbound_with_inbound(void)
{
	/* both kinds in one file */
	struct conf *c = parse_ok(full_conf);
	if (c != NULL)
		CU_ASSERT_TRUE(c->has_inbound);
	conf_free(c);
	c = parse_ok("[global]\nlog-level = debug\n[outbound a]\n" OB_MIN INB "[zone example.com]\n"
	             "allow = ::1\n");
	if (c != NULL) {
		CU_ASSERT_TRUE(c->has_inbound);
		CU_ASSERT_EQUAL(c->n_listen, 2);               /* inbound defaults still apply */
		CU_ASSERT_EQUAL(c->n_zones, 1);
		CU_ASSERT_EQUAL(c->n_outbound, 1);
	}
	conf_free(c);
	/* zones belong to [inbound] */
	expect_err("[outbound]\n" OB_MIN "\n[zone example.com]\nallow = ::1\n", "t.ini:6: ",
	           "[zone] sections need an [inbound] section");
	/* cert and key are still required in [inbound] */
	expect_err("[outbound]\n" OB_MIN "[inbound]\ncert = a\n", "t.ini:5: ", "[inbound] key is required");
	/* neither section */
	expect_err("[global]\nlog-level = info\n", "t.ini: ",
	           "[inbound] section is required (with cert and key) unless there is an [outbound]");
}

static void
test_outbound_collisions(void)
{
	/* with an explicit inbound listener */
	expect_err(INB "listen = 127.0.0.1:5353\n[outbound a]\nlisten = ::1 127.0.0.1:5353\n"
	           "primary = 192.0.2.1\npin-sha256 = " PIN1 "\n", "t.ini:6: ",
	           "[outbound a] listen 127.0.0.1:5353 collides with [inbound] listen "
	           "127.0.0.1:5353 (line 4)");
	/* with the inbound default (0.0.0.0:853 [::]:853): a wildcard covers every address */
	expect_err("[outbound]\nlisten = [::1]:853\nprimary = 192.0.2.1\npin-sha256 = " PIN1 "\n" INB,
	           "t.ini:2: ", "[outbound] listen [::1]:853 collides with [inbound] listen [::]:853 "
	           "(the default)");
	/* between two outbound sections, wildcard included */
	expect_err("[outbound a]\n" OB_MIN "[outbound b]\nlisten = 0.0.0.0:5353\n"
	           "primary = 192.0.2.2\npin-sha256 = " PIN1 "\n", "t.ini:6: ",
	           "[outbound b] listen 0.0.0.0:5353 collides with [outbound a] listen "
	           "127.0.0.1:5353 (line 2)");
	expect_err("[outbound a]\n" OB_MIN "[outbound b]\n" OB_MIN, "t.ini:6: ",
	           "[outbound b] listen 127.0.0.1:5353 collides with [outbound a]");
	expect_err(INB "listen = 127.0.0.1:853\n[outbound a]\n" OB_MIN
	           "[outbound b]\nlisten = 127.0.0.1:5354 [::]:5353 127.0.0.1:853\n"
	           "primary = 192.0.2.2\npin-sha256 = " PIN1 "\n", "t.ini:10: ",
	           "[outbound b] listen 127.0.0.1:853 collides with [inbound] listen 127.0.0.1:853 "
	           "(line 4)");
	/* another port, or the other family, is fine */
	struct conf *c = parse_ok(INB "listen = 127.0.0.1:853\n[outbound a]\n" OB_MIN
	             "[outbound b]\nlisten = 127.0.0.1:5354 [::]:5353 127.0.0.2:853\n"
	             "primary = 192.0.2.2\npin-sha256 = " PIN1 "\n");
	CU_ASSERT(c != NULL && c->n_outbound == 2);
	conf_free(c);
}

/* Prints c into a string; caller frees. (noinline: gcc -O3 otherwise
 * mistakes the result for a pointer to the local `buf`, -Wdangling-pointer.) */
static __attribute__((noinline)) char *
print_to_string(const struct conf *c)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	conf_print_flags(c, f, CONF_PRINT_SECRETS);
	fclose(f);
	return buf;
}

static void
check_str_equal(const char *a, const char *b)
{
	CU_ASSERT((a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0));
}

static void
check_outbound_equal(const struct conf_outbound *a, const struct conf_outbound *b)
{
	CU_ASSERT_STRING_EQUAL(a->name, b->name);
	CU_ASSERT(a->n_listen == b->n_listen &&
	          memcmp(a->listen, b->listen, a->n_listen * sizeof(a->listen[0])) == 0);
	CU_ASSERT(a->n_allow == b->n_allow &&
	          memcmp(a->allow, b->allow, a->n_allow * sizeof(a->allow[0])) == 0);
	CU_ASSERT(a->n_primary == b->n_primary &&
	          memcmp(a->primary, b->primary, a->n_primary * sizeof(a->primary[0])) == 0);
	CU_ASSERT(a->n_pins == b->n_pins && memcmp(a->pins, b->pins, sizeof(a->pins)) == 0);
	check_str_equal(a->auth_name, b->auth_name);
	check_str_equal(a->ca, b->ca);
	check_str_equal(a->client_cert, b->client_cert);
	check_str_equal(a->client_key, b->client_key);
	CU_ASSERT_EQUAL(a->connect_timeout, b->connect_timeout);
	CU_ASSERT_EQUAL(a->idle_timeout, b->idle_timeout);
	CU_ASSERT_EQUAL(a->max_sessions, b->max_sessions);
}

static void
roundtrip(const char *text)
{
	struct conf *a = parse_ok(text);
	if (a == NULL)
		return;
	char *pa = print_to_string(a);
	char err[CONF_ERR_MAX] = "";
	struct conf *b = conf_parse_string(pa, "t.ini", err);
	CU_ASSERT_PTR_NOT_NULL(b);
	if (b == NULL) {
		fprintf(stderr, "\nreparse failed: %s\n%s", err, pa);
	} else {
		char *pb = print_to_string(b);
		CU_ASSERT_STRING_EQUAL(pa, pb);
		CU_ASSERT_EQUAL(a->n_zones, b->n_zones);
		CU_ASSERT_EQUAL(a->n_listen, b->n_listen);
		CU_ASSERT_EQUAL(a->log_level, b->log_level);
		CU_ASSERT_EQUAL(a->max_clients, b->max_clients);
		for (size_t i = 0; i < a->n_zones && i < b->n_zones; i++) {
			CU_ASSERT_STRING_EQUAL(zname(a, i), zname(b, i));
			CU_ASSERT_EQUAL(a->zones[i]->n_acls, b->zones[i]->n_acls);
		}
		CU_ASSERT_EQUAL(a->has_inbound, b->has_inbound);
		CU_ASSERT_EQUAL_FATAL(a->n_outbound, b->n_outbound);
		for (size_t i = 0; i < a->n_outbound; i++)
			check_outbound_equal(&a->outbound[i], &b->outbound[i]);
		free(pb);
	}
	free(pa);
	conf_free(a);
	conf_free(b);
}

static void
test_print(void)
{
	struct conf *c = parse_ok(full_conf);
	if (c == NULL)
		return;
	char *p = print_to_string(c);
	/* every key is shown, zones in file order */
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "log-level = debug\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "listen = 127.0.0.1:8853 [::1]:8853 192.0.2.1:853\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "cert = /etc/xotproxy/server.pem\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "key = /etc/xotproxy/server.key\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "backend = 127.0.0.2:53\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "handshake-timeout = 5\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "idle-timeout = 86400\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "max-clients = 1000000\n"));
	char *z1 = strstr(p, "[zone example.com.]\nallow = 127.0.0.0/8 ::1/128 192.0.2.0/24\n");
	char *z2 = strstr(p, "[zone example.net.]\n");
	char *z3 = strstr(p, "[zone mixed.test.]\n");
	CU_ASSERT(z1 != NULL && z2 != NULL && z3 != NULL && z1 < z2 && z2 < z3);
	free(p);
	conf_free(c);

	/* defaults are printed too */
	c = parse_ok("[inbound]\ncert = a\nkey = b\n");
	if (c == NULL)
		return;
	p = print_to_string(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "log-level = info\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "listen = 0.0.0.0:853 [::]:853\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "backend = 127.0.0.1:53\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "handshake-timeout = 10\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "idle-timeout = 30\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "max-clients = 1024\n"));
	CU_ASSERT_PTR_NULL(strstr(p, "\n[zone"));
	free(p);
	conf_free(c);

	roundtrip(full_conf);
	roundtrip("[inbound]\ncert = a\nkey = b\n");
	roundtrip(outbound_conf);
	roundtrip("[outbound]\n" OB_MIN);
	roundtrip("[outbound a]\n" OB_MIN "[outbound b]\nlisten = [::1]:5354\nprimary = [2001:db8::1]\n"
	          "ca = ca.pem\nauth-name = ns.example\nallow = 0.0.0.0/0 ::/0\n" INB
	          "[zone example.com]\n");
}

static void
test_print_outbound(void)
{
	struct conf *c = parse_ok(outbound_conf);
	if (c == NULL)
		return;
	char *p = print_to_string(c);
	/* no [inbound] printed when there is none, every outbound key is */
	CU_ASSERT_PTR_NULL(strstr(p, "[inbound]"));
	CU_ASSERT_PTR_NULL(strstr(p, "[zone"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p,
		"\n[outbound primary-a]\n"
		"listen = 127.0.0.1:5353 [::1]:5353 127.0.0.2:53\n"
		"allow = 127.0.0.1/32 10.0.0.0/8\n"
		"primary = 192.0.2.1:853 [2001:db8::2]:8853 192.0.2.3:853\n"
		"auth-name = ns1.example.net\n"
		"ca = /etc/ssl/certs/ca-certificates.crt\n"
		"pin-sha256 = " PIN1 " " PIN2 "\n"
		"client-cert = sec.pem\n"
		"client-key = sec.key\n"
		"connect-timeout = 3600\n"
		"idle-timeout = 86400\n"
		"max-sessions = 1024\n"));
	free(p);
	conf_free(c);

	/* defaults printed; an unpadded pin comes back padded */
	c = parse_ok("[outbound]\nlisten = ::1\nprimary = 192.0.2.1\n"
	             "pin-sha256 = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n");
	if (c == NULL)
		return;
	p = print_to_string(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(p,
		"\n[outbound]\nlisten = [::1]:53\nallow = 127.0.0.0/8 ::1/128\nprimary = 192.0.2.1:853\n"
		"pin-sha256 = " PIN1 "\nconnect-timeout = 5\nidle-timeout = 30\nmax-sessions = 4\n"));
	CU_ASSERT_PTR_NULL(strstr(p, "auth-name"));
	CU_ASSERT_PTR_NULL(strstr(p, "client-"));
	free(p);
	conf_free(c);
	roundtrip(INB "[zone \\065\\.b\\032c.test]\nallow = ::ffff:10.0.0.0/104 0.0.0.0/0 ::/0\n"
	          "[zone x_y-z.*.test]\n");
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void
test_load(void)
{
	char tmpl[] = "/tmp/xp_conf_XXXXXX";
	char *dir = mkdtemp(tmpl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char real[PATH_MAX], path[PATH_MAX + 32], want[PATH_MAX + 96], err[CONF_ERR_MAX];
	CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(dir, real));
	snprintf(path, sizeof(path), "%s/x.ini", dir);
	write_file(path, "[inbound]\ncert = server.pem\nkey = /abs/server.key\n[zone a.test]\n");

	struct conf *c = conf_load(path, err);
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		/* relative cert resolves against the file's directory */
		snprintf(want, sizeof(want), "%s/server.pem", real);
		CU_ASSERT_STRING_EQUAL(c->cert, want);
		CU_ASSERT_STRING_EQUAL(c->key, "/abs/server.key");
		CU_ASSERT_STRING_EQUAL(c->path, path);
		CU_ASSERT_EQUAL(c->n_zones, 1);
	}
	conf_free(c);

	/* relative config path: still resolved against the file's dir */
	char cwd[PATH_MAX];
	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
	CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
	c = conf_load("x.ini", err);
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c != NULL)
		CU_ASSERT_STRING_EQUAL(c->cert, want);
	conf_free(c);
	CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);

	/* outbound paths resolve the same way; a config with only [outbound] */
	write_file(path, "[outbound]\nlisten = ::1\nprimary = 192.0.2.1\nauth-name = n.example\n"
	           "ca = ca.pem\nclient-cert = /abs/c.pem\nclient-key = sub/c.key\n");
	c = conf_load(path, err);
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		CU_ASSERT_FALSE(c->has_inbound);
		CU_ASSERT_PTR_NULL(c->cert);
		snprintf(want, sizeof(want), "%s/ca.pem", real);
		CU_ASSERT_STRING_EQUAL(c->outbound[0].ca, want);
		CU_ASSERT_STRING_EQUAL(c->outbound[0].client_cert, "/abs/c.pem");
		snprintf(want, sizeof(want), "%s/sub/c.key", real);
		CU_ASSERT_STRING_EQUAL(c->outbound[0].client_key, want);
	}
	conf_free(c);

	/* errors carry the file name and line */
	write_file(path, "[inbound]\ncert = a\nkey = b\n\n[zone a]\nallow = 10.0.0.1/8\n");
	c = conf_load(path, err);
	CU_ASSERT_PTR_NULL(c);
	snprintf(want, sizeof(want), "%s:6: allow: \"10.0.0.1/8\"", path);
	CU_ASSERT_EQUAL(strncmp(err, want, strlen(want)), 0);
	unlink(path);

	c = conf_load(path, err);
	CU_ASSERT_PTR_NULL(c);
	snprintf(want, sizeof(want), "%s: cannot open", path);
	CU_ASSERT_EQUAL(strncmp(err, want, strlen(want)), 0);
	CU_ASSERT_EQUAL(rmdir(dir), 0);

	conf_free(NULL);                 /* must be a no-op */
}

static void
test_user_and_refs(void)
{
	struct conf *c = parse_ok("[global]\nuser = _xot-proxy\n[inbound]\ncert=c\nkey=k\n");
	if (c == NULL)
		return;
	CU_ASSERT_STRING_EQUAL(c->user, "_xot-proxy");
	CU_ASSERT_EQUAL(c->refs, 1);
	CU_ASSERT_PTR_EQUAL(conf_ref(c), c);
	CU_ASSERT_EQUAL(c->refs, 2);
	conf_unref(c);
	CU_ASSERT_EQUAL(c->refs, 1);
	conf_unref(c);                          /* frees: ASan would flag a leak otherwise */
	conf_unref(NULL);
	c = parse_ok("[inbound]\ncert=c\nkey=k\n");
	if (c != NULL) {
		CU_ASSERT_PTR_NULL(c->user);        /* no user: stay as started */
		CU_ASSERT_EQUAL(c->max_clients_per_ip, 64);   /* TCP-04: capped by default */
		CU_ASSERT_EQUAL(c->transfer_timeout, 120);
	}
	conf_free(c);
	c = parse_ok("[inbound]\ncert=c\nkey=k\nmax-clients-per-ip = 0\n");
	if (c != NULL)
		CU_ASSERT_EQUAL(c->max_clients_per_ip, 0);
	conf_free(c);
	expect_err("[inbound]\ncert=c\nkey=k\nmax-clients-per-ip = -1\n", "t.ini:4:", "max-clients-per-ip");
	expect_err("[inbound]\ncert=c\nkey=k\ntransfer-timeout = 0\n", "t.ini:4:", "transfer-timeout");
	c = parse_ok("[inbound]\ncert=c\nkey=k\ntransfer-timeout = 600\n");
	if (c != NULL)
		CU_ASSERT_EQUAL(c->transfer_timeout, 600);
	conf_free(c);
	expect_err("[global]\nuser = bad user\n[inbound]\ncert=c\nkey=k\n", "t.ini:2:", "user");
	expect_err("[global]\nuser = -x\n[inbound]\ncert=c\nkey=k\n", "t.ini:2:", "user");
	expect_err("[global]\nuser = a\nuser = b\n[inbound]\ncert=c\nkey=k\n", "t.ini:3:", "user");
	expect_err("[inbound]\nuser = a\ncert=c\nkey=k\n", "t.ini:2:", "user");   /* wrong section */
}

int
test_conf_register(void)
{
	CU_pSuite s = CU_add_suite("conf", NULL, NULL);
	if (s == NULL)
		return -1;
	if (CU_add_test(s, "full config", test_full) == NULL ||
	    CU_add_test(s, "defaults", test_defaults) == NULL ||
	    CU_add_test(s, "section errors", test_err_sections) == NULL ||
	    CU_add_test(s, "key errors", test_err_keys) == NULL ||
	    CU_add_test(s, "value errors", test_err_values) == NULL ||
	    CU_add_test(s, "list limits", test_err_limits) == NULL ||
	    CU_add_test(s, "inline comments", test_inline_comments) == NULL ||
	    CU_add_test(s, "long lines", test_long_lines) == NULL ||
	    CU_add_test(s, "CRLF and BOM", test_crlf_bom) == NULL ||
	    CU_add_test(s, "zone names", test_zone_names) == NULL ||
	    CU_add_test(s, "print round-trip", test_print) == NULL ||
	    CU_add_test(s, "outbound: every key", test_outbound_full) == NULL ||
	    CU_add_test(s, "outbound: defaults", test_outbound_defaults) == NULL ||
	    CU_add_test(s, "outbound: sections and names", test_outbound_sections) == NULL ||
	    CU_add_test(s, "outbound: keys per section", test_outbound_keys) == NULL ||
	    CU_add_test(s, "outbound: required keys, strict auth", test_outbound_required) == NULL ||
	    CU_add_test(s, "outbound: value errors", test_outbound_values) == NULL ||
	    CU_add_test(s, "outbound: with and without inbound", test_outbound_with_inbound) == NULL ||
	    CU_add_test(s, "outbound: listen collisions", test_outbound_collisions) == NULL ||
	    CU_add_test(s, "outbound: print", test_print_outbound) == NULL ||
	    CU_add_test(s, "conf_load", test_load) == NULL ||
	    CU_add_test(s, "user, per-IP cap, refcount", test_user_and_refs) == NULL)
		return -1;
	return 0;
}
