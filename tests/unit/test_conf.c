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
	CU_ASSERT_STRING_EQUAL(c->zones[0].name, "example.com.");
	CU_ASSERT_EQUAL(c->zones[0].wire_len, 13);
	CU_ASSERT_EQUAL(memcmp(c->zones[0].wire, "\7example\3com", 13), 0);
	CU_ASSERT_EQUAL_FATAL(c->zones[0].n_allow, 3);
	check_cidr(&c->zones[0].allow[0], "127.0.0.0/8");
	check_cidr(&c->zones[0].allow[1], "::1/128");
	check_cidr(&c->zones[0].allow[2], "192.0.2.0/24");
	/* zone names are lowercased, trailing dot optional */
	CU_ASSERT_STRING_EQUAL(c->zones[1].name, "example.net.");
	/* AXFR-08: absent or empty allow = nobody */
	CU_ASSERT_EQUAL(c->zones[1].n_allow, 0);
	CU_ASSERT_STRING_EQUAL(c->zones[2].name, "mixed.test.");
	CU_ASSERT_EQUAL(c->zones[2].n_allow, 0);
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
	           "duplicate zone example.com. (first on line 4)");
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
	CU_ASSERT(c != NULL && c->n_zones == 1 && c->zones[0].n_allow == CONF_MAX_ALLOW);
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
	CU_ASSERT_EQUAL(c->zones[0].n_allow, 0);
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
	CU_ASSERT(c != NULL && c->n_zones == 1 && c->zones[0].n_allow == 40);
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
	CU_ASSERT_STRING_EQUAL(c->zones[0].name, "example.com.");
	CU_ASSERT_EQUAL(c->zones[0].n_allow, 1);
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
	CU_ASSERT_STRING_EQUAL(c->zones[0].name, "example.com.");
	CU_ASSERT_STRING_EQUAL(c->zones[1].name, "sub.example.com.");
	CU_ASSERT_STRING_EQUAL(c->zones[2].name, "a\\.b.test.");

	uint8_t wire[DNAME_MAXLEN];
	int len = dname_from_text("EXAMPLE.com", wire);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_PTR_EQUAL(conf_zone_find(c, wire, (size_t)len), &c->zones[0]);
	len = dname_from_text("sub.example.com.", wire);
	CU_ASSERT_PTR_EQUAL(conf_zone_find(c, wire, (size_t)len), &c->zones[1]);
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

/* Prints c into a string; caller frees. (noinline: gcc -O3 otherwise
 * mistakes the result for a pointer to the local `buf`, -Wdangling-pointer.) */
static __attribute__((noinline)) char *
print_to_string(const struct conf *c)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	conf_print(c, f);
	fclose(f);
	return buf;
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
			CU_ASSERT_STRING_EQUAL(a->zones[i].name, b->zones[i].name);
			CU_ASSERT_EQUAL(a->zones[i].n_allow, b->zones[i].n_allow);
		}
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
	    CU_add_test(s, "conf_load", test_load) == NULL ||
	    CU_add_test(s, "user, per-IP cap, refcount", test_user_and_refs) == NULL)
		return -1;
	return 0;
}
