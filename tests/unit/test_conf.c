/* test_conf.c - CUnit tests for conf/conf.c. */
#include <CUnit/CUnit.h>

#include <arpa/inet.h>
#include <limits.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "proxy/lib/dname.h"
#include "proxy/lib/log.h"
#include "proxy/pool.h"
#include "tls/tls.h"
#include "unit.h"


#define NA_SA(na) ((const struct sockaddr *)&(na).ss)

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

/* An assertion whose CUnit failure record names the table row it checks
 * (CUnit copies the text). */
#define ROW_MAX 128                                    /* "FUNCTION TABLE[i]" */
#define WHAT_MAX (CONF_ERR_MAX + 256)                  /* wanted ... got ... */

static void
row_assert(bool ok, int line, const char *row, const char *what)
{
	char text[ROW_MAX + WHAT_MAX + 2];
	snprintf(text, sizeof(text), "%s: %s", row, what);
	CU_assertImplementation(ok, (unsigned)line, text, __FILE__, "", CU_FALSE);
}

/* Expects a failure whose message starts with `prefix` and contains `part`;
 * `row` names the case in failure reports. */
static void
expect_err_row(const char *row, const char *text, const char *prefix, const char *part)
{
	char err[CONF_ERR_MAX] = "";
	struct conf *c = conf_parse_string(text, "t.ini", err);
	row_assert(c == NULL, __LINE__, row, "the configuration is refused");
	conf_free(c);
	bool ok = strncmp(err, prefix, strlen(prefix)) == 0 &&
	          (part == NULL || strstr(err, part) != NULL);
	char what[WHAT_MAX];
	snprintf(what, sizeof(what), "wanted \"%s\"...\"%s\", got \"%s\"", prefix, part ? part : "", err);
	row_assert(ok, __LINE__, row, what);
	if (!ok)
		fprintf(stderr, "\n%s: %s\n", row, what);
}

static void
expect_err(const char *text, const char *prefix, const char *part)
{
	expect_err_row("expect_err", text, prefix, part);
}

/* One refused configuration: its text, and the start and a part of the
 * error message (part NULL: any). */
struct err_case {
	const char *text;
	const char *prefix;
	const char *part;
};

/* Runs expect_err on every row; a failure is reported as FUNCTION TABLE[i]. */
static void
run_err_cases(const char *func, const char *table, const struct err_case *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char row[ROW_MAX];
		snprintf(row, sizeof(row), "%s %s[%zu]", func, table, i);
		expect_err_row(row, rows[i].text, rows[i].prefix, rows[i].part);
	}
}
#define RUN_ERR_CASES(rows) run_err_cases(__func__, #rows, rows, sizeof(rows) / sizeof((rows)[0]))

/* One unsigned field of a parsed structure and its expected value. */
struct field_case {
	const char *field;
	size_t off;
	unsigned want;
};
/* A row for field f of struct type T (which must be unsigned) equal to want. */
#define FIELD(T, f, want) \
	{ #f, _Generic(((const T *)0)->f, unsigned: offsetof(T, f)), (want) }
#define INB_FIELD(f, want) FIELD(struct conf_inbound, f, want)
#define OB_FIELD(f, want) FIELD(struct conf_outbound, f, want)
#define CONF_FIELD(f, want) FIELD(struct conf, f, want)

/* Checks every row against the structure at base; a failure names the field. */
static void
check_fields(const char *func, const void *base, const struct field_case *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned got;
		memcpy(&got, (const char *)base + rows[i].off, sizeof(got));
		char row[ROW_MAX], what[64];
		snprintf(row, sizeof(row), "%s %s", func, rows[i].field);
		snprintf(what, sizeof(what), "%u, wanted %u", got, rows[i].want);
		row_assert(got == rows[i].want, __LINE__, row, what);
	}
}
#define CHECK_FIELDS(base, rows) check_fields(__func__, base, rows, sizeof(rows) / sizeof((rows)[0]))

/* A configuration that parses, and one unsigned field of struct conf in it. */
struct value_case {
	const char *text;
	struct field_case field;
};

/* Parses every row (parse_ok) and checks its field. */
static void
run_value_cases(const char *func, const struct value_case *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct conf *c = parse_ok(rows[i].text);
		if (c != NULL)
			check_fields(func, c, &rows[i].field, 1);
		conf_free(c);
	}
}
#define RUN_VALUE_CASES(rows) run_value_cases(__func__, rows, sizeof(rows) / sizeof((rows)[0]))

static void
check_addr(const struct netaddr *na, const char *want)
{
	char buf[NETADDR_TEXT_MAX];
	netaddr_format(NA_SA(*na), buf);
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
	CU_ASSERT_EQUAL_FATAL(c->inbound.n_listen, 3);
	check_addr(&c->inbound.listen[0], "127.0.0.1#8853");
	check_addr(&c->inbound.listen[1], "::1#8853");
	check_addr(&c->inbound.listen[2], "192.0.2.1#853");    /* XOT-03: bare address -> 853 */
	CU_ASSERT_STRING_EQUAL(c->inbound.cert, "/etc/xotproxy/server.pem");
	CU_ASSERT_STRING_EQUAL(c->inbound.key, "/etc/xotproxy/server.key");
	check_addr(&c->inbound.backend, "127.0.0.2#53");       /* bare backend -> 53 */
	static const struct field_case fields[] = {
		INB_FIELD(handshake_timeout, 5),
		INB_FIELD(idle_timeout, 86400),
		INB_FIELD(max_clients, 1000000),
	};
	CHECK_FIELDS(&c->inbound, fields);

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
	CU_ASSERT_EQUAL_FATAL(c->inbound.n_listen, 2);
	check_addr(&c->inbound.listen[0], "0.0.0.0#853");
	check_addr(&c->inbound.listen[1], "::#853");
	/* PRX-06: the plaintext backend defaults to loopback */
	check_addr(&c->inbound.backend, "127.0.0.1#53");
	CU_ASSERT_TRUE(netaddr_is_loopback(NA_SA(c->inbound.backend)));
	static const struct field_case fields[] = {
		INB_FIELD(handshake_timeout, 10),
		INB_FIELD(idle_timeout, 30),
		INB_FIELD(max_clients, 1024),
	};
	CHECK_FIELDS(&c->inbound, fields);
	/* relative paths in conf_parse_string stay as given (cwd) */
	CU_ASSERT_STRING_EQUAL(c->inbound.cert, "s.pem");
	CU_ASSERT_STRING_EQUAL(c->inbound.key, "s.key");
	/* AXFR-08: no zones, everything refused */
	CU_ASSERT_EQUAL(c->n_zones, 0);
	CU_ASSERT_PTR_NULL(conf_zone_find(c, (const uint8_t *)"\7example\3com", 13));
	conf_free(c);
}

#define INB "[inbound]\ncert = a\nkey = b\n"     /* lines 1-3 */

static void
test_err_sections(void)
{
	static const struct err_case cases[] = {
		{ INB "[bogus]\n", "t.ini:4: ", "unknown section" },
		{ INB "[Global]\n", "t.ini:4: ", "unknown section" },
		{ INB "[zones example.com]\n", "t.ini:4: ", "unknown section" },
		{ "[global]\n" INB "[global]\n",
		  "t.ini:5: ", "duplicate [global] section (first on line 1)" },
		{ INB "\n[inbound]\n", "t.ini:5: ", "duplicate [inbound]" },
		{ INB "[zone]\n", "t.ini:4: ", "needs a zone name" },
		{ INB "[zone   ]\n", "t.ini:4: ", "needs a zone name" },
		{ INB "[zone .]\n", "t.ini:4: ", "root zone" },
		{ INB "[zone a..b]\n", "t.ini:4: ", "not a valid domain name" },
		{ INB "[zone a b]\n", "t.ini:4: ", "not a valid domain name" },
		{ INB "[zone example.com\n", "t.ini:4: ", "syntax error" },
		{ INB "[global] junk\n", "t.ini:4: ", "syntax error" },
		/* duplicate zone after normalization */
		{ INB "[zone Example.com]\nallow = ::1\n\n[zone example.com.]\n",
		  "t.ini:7: ", "duplicate zone example.com. (first at t.ini:4)" },
		{ "# only comments\n", "t.ini: ", "[inbound] section is required" },
	};
	RUN_ERR_CASES(cases);
}

static void
test_err_keys(void)
{
	static const struct err_case cases[] = {
		{ "log-level = info\n", "t.ini:1: ", "outside any section" },
		{ INB "bogus = 1\n", "t.ini:4: ", "unknown key \"bogus\" in [inbound]" },
		{ "[global]\nlisten = 127.0.0.1\n" INB, "t.ini:2: ", "unknown key \"listen\" in [global]" },
		{ INB "[zone example.com]\ncert = x\n",
		  "t.ini:5: ", "unknown key \"cert\" in [zone example.com.]" },
		{ INB "idle-timeout = 5\nidle-timeout = 6\n",
		  "t.ini:5: ", "duplicate key idle-timeout in [inbound] (first on line 4)" },
		{ INB "[zone a]\nallow = ::1\nallow = ::2\n", "t.ini:6: ", "duplicate key allow" },
		{ "[global]\nlog-level = info\nlog-level = info\n" INB, "t.ini:3: ", "duplicate key" },
	};
	RUN_ERR_CASES(cases);
	/* the same key in two different zones is fine */
	struct conf *c = parse_ok(INB "[zone a]\nallow = ::1\n[zone b]\nallow = ::2\n");
	CU_ASSERT(c != NULL && c->n_zones == 2);
	conf_free(c);
	/* line without '=': inih reports the line, we say "syntax error" */
	static const struct err_case cases2[] = {
		{ INB "just words\n", "t.ini:4: ", "syntax error" },
		{ "[inbound]\ncert = a\n", "t.ini:1: ", "[inbound] key is required" },
		{ "\n[inbound]\nkey = a\n", "t.ini:2: ", "[inbound] cert is required" },
		{ "[inbound]\ncert =\nkey = b\n", "t.ini:2: ", "cert: empty file name" },
		{ "[inbound]\ncert = a\nkey =#b\n", "t.ini:3: ", "key: \"#b\" starts with a comment" },
	};
	RUN_ERR_CASES(cases2);
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

	static const struct err_case cases[] = {
		{ INB "handshake-timeout = 0\n",
		  "t.ini:4: ", "handshake-timeout: \"0\" is not an integer in 1..3600" },
		{ INB "handshake-timeout = 3601\n", "t.ini:4: ", "\"3601\"" },
		{ INB "handshake-timeout = -1\n", "t.ini:4: ", "\"-1\"" },
		{ INB "handshake-timeout = +5\n", "t.ini:4: ", "\"+5\"" },
		{ INB "handshake-timeout =\n", "t.ini:4: ", "handshake-timeout: \"\"" },
		{ INB "idle-timeout = 86401\n", "t.ini:4: ", "idle-timeout" },
		{ INB "idle-timeout = 99999999999999999999999\n", "t.ini:4: ", "idle-timeout" },
		{ INB "max-clients = 1000001\n",
		  "t.ini:4: ", "max-clients: \"1000001\" is not an integer in 1..1000000" },
		{ INB "max-clients = 1 0\n", "t.ini:4: ", "max-clients" },
		{ "[global]\nlog-level = verbose\n", "t.ini:2: ", "log-level: \"verbose\"" },
		{ "[global]\nlog-level = INFO\n", "t.ini:2: ", "log-level" },
		{ INB "listen = 127.0.0.1:853 1.2.3.4:0\n", "t.ini:4: ", "listen: \"1.2.3.4:0\"" },
		{ INB "listen = localhost:853\n", "t.ini:4: ", "listen: \"localhost:853\"" },
		{ INB "listen =\n", "t.ini:4: ", "listen: needs at least one address" },
		{ INB "listen = [::1]:853 [::1]:853\n", "t.ini:4: ", "listed twice" },
		{ INB "backend = 127.0.0.1:65536\n", "t.ini:4: ", "backend: \"127.0.0.1:65536\"" },
		{ INB "backend = 127.0.0.1:53 ::1\n", "t.ini:4: ", "backend" },
		/* AXFR-08: a typo in an ACL is an error, not a silent allow/deny */
		{ INB "[zone a]\nallow = ::1 10.0.0.1/8\n", "t.ini:5: ", "allow: \"10.0.0.1/8\"" },
		{ INB "[zone a]\nallow = 1.2.3.4/33\n", "t.ini:5: ", "allow: \"1.2.3.4/33\"" },
		{ INB "[zone a]\nallow = any\n", "t.ini:5: ", "allow: \"any\"" },
	};
	RUN_ERR_CASES(cases);
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
	CU_ASSERT(c != NULL && c->inbound.n_listen == CONF_MAX_LISTEN);
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
	CU_ASSERT_EQUAL(c->inbound.n_listen, 1);
	CU_ASSERT_STRING_EQUAL(c->inbound.cert, "server.pem");
	/* '#' is a comment only after whitespace */
	CU_ASSERT_STRING_EQUAL(c->inbound.key, "server.key#not-a-comment");
	CU_ASSERT_EQUAL(c->inbound.idle_timeout, 60);
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
		CU_ASSERT_STRING_EQUAL(c->inbound.cert, path);
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
	CU_ASSERT_STRING_EQUAL(c->inbound.cert, "a.pem");
	CU_ASSERT_STRING_EQUAL(c->inbound.key, "a.key");
	CU_ASSERT_EQUAL(c->inbound.max_clients, 7);
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

	static const struct err_case cases[] = {
		{ INB "[zone sub.example.com]\n[zone SUB.Example.Com.]\n",
		  "t.ini:5: ", "duplicate zone sub.example.com." },
		{ INB "[zone a\\.b]\n[zone A\\046B.]\n", "t.ini:5: ", "duplicate zone" },
	};
	RUN_ERR_CASES(cases);
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
	"max-sessions = 1024\n"                                 /* 12 */
	"backend-timeout = 3600\n"                              /* 13 */
	"transfer-timeout = 86400\n"                            /* 14 */
	"queue-timeout = 1\n"                                   /* 15 */
	"max-clients = 1000000\n"                               /* 16 */
	"max-udp-queries = 1\n";                                /* 17 */

static void
test_outbound_full(void)
{
	struct conf *c = parse_ok(outbound_conf);
	if (c == NULL)
		return;
	/* only [outbound]: no inbound listeners, no server certificate */
	CU_ASSERT_FALSE(c->has_inbound);
	CU_ASSERT_EQUAL(c->inbound.n_listen, 0);
	CU_ASSERT_PTR_NULL(c->inbound.cert);
	CU_ASSERT_PTR_NULL(c->inbound.key);
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
	static const struct field_case fields[] = {
		OB_FIELD(connect_timeout, 3600),
		OB_FIELD(idle_timeout, 86400),
		OB_FIELD(max_sessions, 1024),
		OB_FIELD(backend_timeout, 3600),
		OB_FIELD(transfer_timeout, 86400),
		OB_FIELD(queue_timeout, 1),
		OB_FIELD(max_clients, 1000000),
		OB_FIELD(max_udp_queries, 1),
	};
	CHECK_FIELDS(o, fields);

	struct netaddr na;
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("10.1.2.3:1", 0, &na), 0);
	CU_ASSERT_TRUE(conf_outbound_allowed(o, NA_SA(na)));
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("127.0.0.2:1", 0, &na), 0);
	CU_ASSERT_FALSE(conf_outbound_allowed(o, NA_SA(na)));
	CU_ASSERT_FALSE(conf_address_allowed(c, NA_SA(na)));  /* no inbound zones */
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
	static const struct field_case fields[] = {
		OB_FIELD(connect_timeout, 5),
		OB_FIELD(idle_timeout, 30),
		OB_FIELD(max_sessions, 4),
		/* issue 13: the hard-coded values as keys, with the old values as
		 * defaults, except the first answer octet: 4 s, below a legacy
		 * secondary's own timeout */
		OB_FIELD(backend_timeout, 4),
		OB_FIELD(transfer_timeout, 120),
		OB_FIELD(queue_timeout, 10),
		OB_FIELD(max_clients, 1024),
		OB_FIELD(max_udp_queries, 256),
	};
	CHECK_FIELDS(o, fields);
	CU_ASSERT_PTR_NULL(o->auth_name);
	CU_ASSERT_PTR_NULL(o->ca);
	CU_ASSERT_PTR_NULL(o->client_cert);
	CU_ASSERT_PTR_NULL(o->client_key);
	CU_ASSERT_EQUAL(o->n_pins, 1);

	struct netaddr na;
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("127.9.9.9:1", 0, &na), 0);
	CU_ASSERT_TRUE(conf_outbound_allowed(o, NA_SA(na)));
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("[::1]:1", 0, &na), 0);
	CU_ASSERT_TRUE(conf_outbound_allowed(o, NA_SA(na)));
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("192.0.2.9:1", 0, &na), 0);
	CU_ASSERT_FALSE(conf_outbound_allowed(o, NA_SA(na)));
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
	static const struct err_case cases[] = {
		{ "[outbound]\n" OB_MIN "[outbound b]\n",
		  "t.ini:5: ", "several [outbound] sections need a name each" },
		{ "[outbound a]\n" OB_MIN "[outbound]\n",
		  "t.ini:5: ", "several [outbound] sections need a name each" },
		{ "[outbound]\n" OB_MIN "[outbound]\n", "t.ini:5: ", "need a name" },
		/* names unique, case-insensitively */
		{ "[outbound a]\n" OB_MIN "[outbound b]\n" OB_MIN "[outbound A]\n",
		  "t.ini:9: ", "duplicate [outbound a] section (first on line 1)" },
		/* name syntax */
		{ "[outbound a/b]\n" OB_MIN, "t.ini:1: ", "outbound name \"a/b\"" },
		{ "[outbound a b]\n" OB_MIN, "t.ini:1: ", "outbound name \"a b\"" },
	};
	RUN_ERR_CASES(cases);
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
	static const struct err_case cases[] = {
		{ "[outbound a]\n" OB_MIN "idle-timeout = 5\nidle-timeout = 6\n",
		  "t.ini:6: ", "duplicate key idle-timeout in [outbound a] (first on line 5)" },
		{ "[outbound]\n" OB_MIN "allow = ::1\nallow = ::2\n",
		  "t.ini:6: ", "duplicate key allow in [outbound] (first on line 5)" },
		{ "[outbound a]\n" OB_MIN "pin-sha256 = " PIN2 "\n",
		  "t.ini:5: ", "duplicate key pin-sha256 in [outbound a] (first on line 4)" },
	};
	RUN_ERR_CASES(cases);
	/* [inbound] idle-timeout and [outbound] idle-timeout are different keys */
	struct conf *c = parse_ok(INB "idle-timeout = 100\n[outbound]\n" OB_MIN "idle-timeout = 9\n");
	if (c != NULL) {
		CU_ASSERT_EQUAL(c->inbound.idle_timeout, 100);
		CU_ASSERT_EQUAL(c->outbound[0].idle_timeout, 9);
	}
	conf_free(c);
	/* keys of one kind are unknown in the other */
	static const struct err_case cases2[] = {
		{ "[outbound x]\n" OB_MIN "backend = 127.0.0.1\n",
		  "t.ini:5: ", "unknown key \"backend\" in [outbound x]" },
		{ "[outbound]\n" OB_MIN "cert = a\n", "t.ini:5: ", "unknown key \"cert\" in [outbound]" },
		{ INB "max-sessions = 4\n", "t.ini:4: ", "unknown key \"max-sessions\" in [inbound]" },
		{ INB "primary = 192.0.2.1\n", "t.ini:4: ", "unknown key \"primary\" in [inbound]" },
		{ INB "[zone a]\nauth-name = x\n", "t.ini:5: ", "unknown key \"auth-name\" in [zone a.]" },
	};
	RUN_ERR_CASES(cases2);
}

static void
test_outbound_required(void)
{
	static const struct err_case cases[] = {
		{ "\n[outbound a]\nprimary = 192.0.2.1\npin-sha256 = " PIN1 "\n",
		  "t.ini:2: ", "[outbound a] listen is required" },
		{ "[outbound]\nlisten = 127.0.0.1\npin-sha256 = " PIN1 "\n",
		  "t.ini:1: ", "[outbound] primary is required" },
		/* strict authentication (RFC 8310): ca + auth-name, or pins */
		{ "[outbound a]\nlisten = ::1\nprimary = 192.0.2.1\n",
		  "t.ini:1: ", "[outbound a] does not authenticate the primary: set ca and auth-name, or pin-sha256" },
		{ "[outbound a]\nlisten = ::1\nprimary = 192.0.2.1\nauth-name = ns1.example\n",
		  "t.ini:1: ", "[outbound a] auth-name needs ca" },
		{ "[outbound a]\nlisten = ::1\nprimary = 192.0.2.1\nca = ca.pem\n",
		  "t.ini:1: ", "[outbound a] ca needs auth-name" },
	};
	RUN_ERR_CASES(cases);
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
	static const struct err_case cases2[] = {
		{ "[outbound]\n" OB_MIN "client-cert = c.pem\n",
		  "t.ini:1: ", "[outbound] client-cert needs client-key" },
		{ "[outbound]\n" OB_MIN "client-key = c.key\n",
		  "t.ini:1: ", "[outbound] client-key needs client-cert" },
		/* the first failing section is reported */
		{ "[outbound a]\n" OB_MIN "[outbound b]\nlisten = ::1\n",
		  "t.ini:5: ", "[outbound b] primary is required" },
	};
	RUN_ERR_CASES(cases2);
}

#define OB_NOPIN "[outbound]\nlisten = ::1\nprimary = 192.0.2.1\n"      /* lines 1-3 */

static void
test_outbound_values(void)
{
	/* pins: base64 (RFC 4648) of exactly 32 bytes */
	static const struct err_case cases[] = {
		{ OB_NOPIN "pin-sha256 = not-base64!\n",
		  "t.ini:4: ", "pin-sha256: \"not-base64!\" is not base64" },
		{ OB_NOPIN "pin-sha256 = " PIN1 " AAAA\n",
		  "t.ini:4: ", "pin-sha256: \"AAAA\" decodes to 3 bytes, not 32" },
		{ OB_NOPIN "pin-sha256 = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
		  "t.ini:4: ", "decodes to 31 bytes, not 32" },
		{ OB_NOPIN "pin-sha256 = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
		  "t.ini:4: ", "decodes to 34 bytes, not 32" },
		{ OB_NOPIN "pin-sha256 = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU==\n",
		  "t.ini:4: ", "is not base64" }, /* bad padding */
		{ OB_NOPIN "pin-sha256 = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n",
		  "t.ini:4: ", "is not base64" }, /* trailing bits set */
		{ OB_NOPIN "pin-sha256 = 47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=\n",
		  "t.ini:4: ", "is not base64" }, /* base64url alphabet */
		{ OB_NOPIN "pin-sha256 = " PIN1 " " PIN1 "\n", "t.ini:4: ", "listed twice" },
		{ OB_NOPIN "pin-sha256 =\n", "t.ini:4: ", "pin-sha256: needs at least one pin" },
	};
	RUN_ERR_CASES(cases);
	/* without padding is accepted */
	struct conf *c = parse_ok(OB_NOPIN "pin-sha256 = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n");
	if (c != NULL)
		CU_ASSERT_EQUAL(memcmp(c->outbound[0].pins[0], pin1_bytes, 32), 0);
	conf_free(c);

	/* auth-name: a host name, not an address */
	static const struct err_case cases2[] = {
		{ OB_NOPIN "ca = c\nauth-name = 192.0.2.1\n",
		  "t.ini:5: ", "auth-name: \"192.0.2.1\" is not a host name" },
		{ OB_NOPIN "ca = c\nauth-name = a..b\n", "t.ini:5: ", "auth-name: \"a..b\"" },
		{ OB_NOPIN "ca = c\nauth-name = ns1.example.com/x\n", "t.ini:5: ", "auth-name" },
		{ OB_NOPIN "ca = c\nauth-name = .\n", "t.ini:5: ", "auth-name" },
		{ OB_NOPIN "ca = c\nauth-name = *.example\n", "t.ini:5: ", "auth-name" },
		{ OB_NOPIN "ca = c\nauth-name = a b\n", "t.ini:5: ", "auth-name" },
	};
	RUN_ERR_CASES(cases2);

	/* addresses */
	static const struct err_case cases3[] = {
		{ OB_NOPIN "pin-sha256 = " PIN1 "\nprimary = x\n", "t.ini:5: ", "duplicate key primary" },
		{ "[outbound]\nlisten = ::1\nprimary = ns1.example:853\n",
		  "t.ini:3: ", "primary: \"ns1.example:853\" is not an address or address:port" },
		{ "[outbound]\nlisten = ::1\nprimary = 192.0.2.1 192.0.2.1:853\n",
		  "t.ini:3: ", "primary: \"192.0.2.1:853\" is listed twice" },
		{ "[outbound]\nlisten = ::1\nprimary =\n", "t.ini:3: ", "primary: needs at least one" },
		{ "[outbound]\nlisten = 127.0.0.1:0\n", "t.ini:2: ", "listen: \"127.0.0.1:0\"" },
		{ "[outbound]\nlisten =\n", "t.ini:2: ", "listen: needs at least one address" },
	};
	RUN_ERR_CASES(cases3);
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
	static const struct err_case cases4[] = {
		{ "[outbound]\n" OB_MIN "allow =\n", "t.ini:5: ", "allow: needs at least one" },
		{ "[outbound]\n" OB_MIN "allow = 10.0.0.1/8\n", "t.ini:5: ", "allow: \"10.0.0.1/8\"" },
	};
	RUN_ERR_CASES(cases4);

	/* integers */
	static const struct err_case cases5[] = {
		{ "[outbound]\n" OB_MIN "connect-timeout = 0\n",
		  "t.ini:5: ", "connect-timeout: \"0\" is not an integer in 1..3600" },
		{ "[outbound]\n" OB_MIN "connect-timeout = 3601\n", "t.ini:5: ", "connect-timeout" },
		{ "[outbound]\n" OB_MIN "idle-timeout = 86401\n",
		  "t.ini:5: ", "idle-timeout: \"86401\" is not an integer in 1..86400" },
		{ "[outbound]\n" OB_MIN "max-sessions = 0\n",
		  "t.ini:5: ", "max-sessions: \"0\" is not an integer in 1..1024" },
		{ "[outbound]\n" OB_MIN "max-sessions = 1025\n", "t.ini:5: ", "max-sessions" },
		{ "[outbound]\n" OB_MIN "backend-timeout = 0\n",
		  "t.ini:5: ", "backend-timeout: \"0\" is not an integer in 1..3600" },
		{ "[outbound]\n" OB_MIN "backend-timeout = 3601\n", "t.ini:5: ", "backend-timeout" },
		{ "[outbound]\n" OB_MIN "transfer-timeout = 0\n",
		  "t.ini:5: ", "transfer-timeout: \"0\" is not an integer in 1..86400" },
		{ "[outbound]\n" OB_MIN "transfer-timeout = 86401\n", "t.ini:5: ", "transfer-timeout" },
		{ "[outbound]\n" OB_MIN "queue-timeout = 0\n",
		  "t.ini:5: ", "queue-timeout: \"0\" is not an integer in 1..3600" },
		{ "[outbound]\n" OB_MIN "max-clients = 0\n",
		  "t.ini:5: ", "max-clients: \"0\" is not an integer in 1..1000000" },
		{ "[outbound]\n" OB_MIN "max-udp-queries = 1000001\n",
		  "t.ini:5: ", "max-udp-queries: \"1000001\" is not an integer in 1..1000000" },
		{ "[outbound]\n" OB_MIN "backend-timeout = 4\nbackend-timeout = 5\n",
		  "t.ini:6: ", "duplicate key backend-timeout in [outbound] (first on line 5)" },
	};
	RUN_ERR_CASES(cases5);

	/* paths */
	static const struct err_case cases6[] = {
		{ OB_NOPIN "auth-name = n.x\nca =\n", "t.ini:5: ", "ca: empty file name" },
		{ "[outbound]\n" OB_MIN "client-cert = c\nclient-key =;k\n",
		  "t.ini:6: ", "client-key: \";k\" starts with a comment" },
	};
	RUN_ERR_CASES(cases6);
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
		CU_ASSERT_EQUAL(c->inbound.n_listen, 2);               /* inbound defaults still apply */
		CU_ASSERT_EQUAL(c->n_zones, 1);
		CU_ASSERT_EQUAL(c->n_outbound, 1);
	}
	conf_free(c);
	/* zones belong to [inbound] */
	static const struct err_case cases[] = {
		{ "[outbound]\n" OB_MIN "\n[zone example.com]\nallow = ::1\n",
		  "t.ini:6: ", "[zone] sections need an [inbound] section" },
		/* cert and key are still required in [inbound] */
		{ "[outbound]\n" OB_MIN "[inbound]\ncert = a\n", "t.ini:5: ", "[inbound] key is required" },
		/* neither section */
		{ "[global]\nlog-level = info\n",
		  "t.ini: ", "[inbound] section is required (with cert and key) unless there is an [outbound]" },
	};
	RUN_ERR_CASES(cases);
}

static void
test_outbound_collisions(void)
{
	static const struct err_case cases[] = {
		/* with an explicit inbound listener */
		{ INB "listen = 127.0.0.1:5353\n[outbound a]\nlisten = ::1 127.0.0.1:5353\n"
		  "primary = 192.0.2.1\npin-sha256 = " PIN1 "\n",
		  "t.ini:6: ", "[outbound a] listen 127.0.0.1:5353 collides with [inbound] listen "
		  "127.0.0.1:5353 (line 4)" },
		/* with the inbound default (0.0.0.0:853 [::]:853): a wildcard covers every address */
		{ "[outbound]\nlisten = [::1]:853\nprimary = 192.0.2.1\npin-sha256 = " PIN1 "\n" INB,
		  "t.ini:2: ", "[outbound] listen [::1]:853 collides with [inbound] listen [::]:853 "
		  "(the default)" },
		/* between two outbound sections, wildcard included */
		{ "[outbound a]\n" OB_MIN "[outbound b]\nlisten = 0.0.0.0:5353\n"
		  "primary = 192.0.2.2\npin-sha256 = " PIN1 "\n",
		  "t.ini:6: ", "[outbound b] listen 0.0.0.0:5353 collides with [outbound a] listen "
		  "127.0.0.1:5353 (line 2)" },
		{ "[outbound a]\n" OB_MIN "[outbound b]\n" OB_MIN,
		  "t.ini:6: ", "[outbound b] listen 127.0.0.1:5353 collides with [outbound a]" },
		{ INB "listen = 127.0.0.1:853\n[outbound a]\n" OB_MIN
		  "[outbound b]\nlisten = 127.0.0.1:5354 [::]:5353 127.0.0.1:853\n"
		  "primary = 192.0.2.2\npin-sha256 = " PIN1 "\n",
		  "t.ini:10: ", "[outbound b] listen 127.0.0.1:853 collides with [inbound] listen 127.0.0.1:853 "
		  "(line 4)" },
	};
	RUN_ERR_CASES(cases);
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
	CU_ASSERT_EQUAL(a->backend_timeout, b->backend_timeout);
	CU_ASSERT_EQUAL(a->transfer_timeout, b->transfer_timeout);
	CU_ASSERT_EQUAL(a->queue_timeout, b->queue_timeout);
	CU_ASSERT_EQUAL(a->max_clients, b->max_clients);
	CU_ASSERT_EQUAL(a->max_udp_queries, b->max_udp_queries);
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
		CU_ASSERT_EQUAL(a->inbound.n_listen, b->inbound.n_listen);
		CU_ASSERT_EQUAL(a->log_level, b->log_level);
		CU_ASSERT_EQUAL(a->inbound.max_clients, b->inbound.max_clients);
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
		"max-sessions = 1024\n"
		"backend-timeout = 3600\n"
		"transfer-timeout = 86400\n"
		"queue-timeout = 1\n"
		"max-clients = 1000000\n"
		"max-udp-queries = 1\n"));
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
		"pin-sha256 = " PIN1 "\nconnect-timeout = 5\nidle-timeout = 30\nmax-sessions = 4\n"
		"backend-timeout = 4\ntransfer-timeout = 120\nqueue-timeout = 10\nmax-clients = 1024\n"
		"max-udp-queries = 256\n"));
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
		CU_ASSERT_STRING_EQUAL(c->inbound.cert, want);
		CU_ASSERT_STRING_EQUAL(c->inbound.key, "/abs/server.key");
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
		CU_ASSERT_STRING_EQUAL(c->inbound.cert, want);
	conf_free(c);
	CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);

	/* outbound paths resolve the same way; a config with only [outbound] */
	write_file(path, "[outbound]\nlisten = ::1\nprimary = 192.0.2.1\nauth-name = n.example\n"
	           "ca = ca.pem\nclient-cert = /abs/c.pem\nclient-key = sub/c.key\n");
	c = conf_load(path, err);
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		CU_ASSERT_FALSE(c->has_inbound);
		CU_ASSERT_PTR_NULL(c->inbound.cert);
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
		CU_ASSERT_EQUAL(c->inbound.max_clients_per_ip, 64);   /* TCP-04: capped by default */
		CU_ASSERT_EQUAL(c->inbound.transfer_timeout, 120);
	}
	conf_free(c);
	static const struct value_case values[] = {
		{ "[inbound]\ncert=c\nkey=k\nmax-clients-per-ip = 0\n", CONF_FIELD(inbound.max_clients_per_ip, 0) },
		{ "[inbound]\ncert=c\nkey=k\ntransfer-timeout = 600\n", CONF_FIELD(inbound.transfer_timeout, 600) },
	};
	RUN_VALUE_CASES(values);
	static const struct err_case cases[] = {
		{ "[inbound]\ncert=c\nkey=k\nmax-clients-per-ip = -1\n", "t.ini:4:", "max-clients-per-ip" },
		{ "[inbound]\ncert=c\nkey=k\ntransfer-timeout = 0\n", "t.ini:4:", "transfer-timeout" },
		{ "[global]\nuser = bad user\n[inbound]\ncert=c\nkey=k\n", "t.ini:2:", "user" },
		{ "[global]\nuser = -x\n[inbound]\ncert=c\nkey=k\n", "t.ini:2:", "user" },
		{ "[global]\nuser = a\nuser = b\n[inbound]\ncert=c\nkey=k\n", "t.ini:3:", "user" },
		{ "[inbound]\nuser = a\ncert=c\nkey=k\n", "t.ini:2:", "user" }, /* wrong section */
	};
	RUN_ERR_CASES(cases);
}

/* --- issue 9: [inbound] limits, [key], [acl], zones-file ------------------------- */

static void
test_inbound_limits(void)
{
	struct conf *c = parse_ok(INB "client-ca = clients-ca.pem\nmax-transfers = 128\n"
	                          "max-transfers-per-client = 4\ntransfer-rate = 30/60\n"
	                          "proxy-protocol = v2\nclient-table-size = 1048576\n"
	                          "max-handshakes-per-ip = 3\n");
	if (c != NULL) {
		CU_ASSERT_EQUAL(c->inbound.max_handshakes_per_ip, 3);     /* issue 13 B14 */
		CU_ASSERT_STRING_EQUAL(c->inbound.client_ca, "clients-ca.pem");
		CU_ASSERT_EQUAL(c->inbound.max_transfers, 128);
		CU_ASSERT_EQUAL(c->inbound.max_transfers_per_client, 4);
		CU_ASSERT(c->inbound.rate_n == 30 && c->inbound.rate_per == 60);
		CU_ASSERT_TRUE(c->inbound.proxy_v2);
		CU_ASSERT_EQUAL(c->inbound.client_table_size, 1048576);
	}
	conf_free(c);
	/* defaults: no caps, no rate, no PROXY header, 65,536 clients, no mTLS */
	c = parse_ok(INB);
	if (c != NULL) {
		CU_ASSERT_PTR_NULL(c->inbound.client_ca);
		CU_ASSERT(c->inbound.max_transfers == 0 && c->inbound.max_transfers_per_client == 0);
		CU_ASSERT(c->inbound.rate_n == 0 && c->inbound.rate_per == 0);
		CU_ASSERT_FALSE(c->inbound.proxy_v2);
		CU_ASSERT_EQUAL(c->inbound.client_table_size, 65536);
		CU_ASSERT_EQUAL(c->inbound.max_handshakes_per_ip, 16);
		CU_ASSERT_PTR_NULL(c->inbound.zones_file);
		CU_ASSERT(c->n_keys == 0 && c->n_acls == 0 && c->n_zones == 0);
	}
	conf_free(c);
	static const char *const off[] = { "off", "0" };
	for (size_t i = 0; i < 2; i++) {
		char text[256];
		snprintf(text, sizeof(text), INB "transfer-rate = %s\nproxy-protocol = off\n", off[i]);
		c = parse_ok(text);
		CU_ASSERT(c != NULL && c->inbound.rate_n == 0 && c->inbound.rate_per == 0 && !c->inbound.proxy_v2);
		conf_free(c);
	}
	c = parse_ok(INB "transfer-rate = 1000000/86400\nclient-table-size = 1\n");
	CU_ASSERT(c != NULL && c->inbound.rate_n == 1000000 && c->inbound.rate_per == 86400 &&
	          c->inbound.client_table_size == 1);
	conf_free(c);

	static const struct err_case cases[] = {
		{ INB "max-transfers = -1\n",
		  "t.ini:4: ", "max-transfers: \"-1\" is not an integer in 0..1000000" },
		{ INB "max-transfers = 1000001\n", "t.ini:4: ", "max-transfers:" },
		{ INB "max-transfers-per-client = x\n",
		  "t.ini:4: ", "max-transfers-per-client: \"x\" is not an integer in 0..1000000" },
		{ INB "client-table-size = 0\n",
		  "t.ini:4: ", "client-table-size: \"0\" is not an integer in 1..1048576" },
		{ INB "client-table-size = 1048577\n", "t.ini:4: ", "client-table-size:" },
	};
	RUN_ERR_CASES(cases);
	static const char *const bad_rates[] = {
		"30", "30/", "/60", "0/60", "30/0", "30/86401", "1000001/1", "a/b", "30/60/2",
		"30 / 60", "-1/60", "on", "30/60s", "99999999999999999999/1",
	};
	for (size_t i = 0; i < sizeof(bad_rates) / sizeof(bad_rates[0]); i++) {
		char text[256], want[128];
		snprintf(text, sizeof(text), INB "\ntransfer-rate = %s\n", bad_rates[i]);
		snprintf(want, sizeof(want), "transfer-rate: \"%s\" is not N/SECONDS", bad_rates[i]);
		expect_err(text, "t.ini:5: ", want);
	}
	static const struct err_case cases2[] = {
		{ INB "proxy-protocol = v1\n", "t.ini:4: ", "proxy-protocol: \"v1\" is not one of v2, off" },
		{ INB "proxy-protocol = V2\n", "t.ini:4: ", "proxy-protocol" },
		{ INB "client-ca =\n", "t.ini:4: ", "client-ca: empty file name" },
		{ INB "zones-file =\n", "t.ini:4: ", "zones-file: empty file name" },
		{ INB "transfer-rate = off\ntransfer-rate = 1/1\n",
		  "t.ini:5: ", "duplicate key transfer-rate in [inbound] (first on line 4)" },
		{ "[global]\nmax-transfers = 1\n" INB,
		  "t.ini:2: ", "unknown key \"max-transfers\" in [global]" },
	};
	RUN_ERR_CASES(cases2);
}

/* A fresh temporary directory (its path in dir, PATH_MAX). */
static void
make_tmpdir(char *dir)
{
	strcpy(dir, "/tmp/xp_conf_XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

static void
write_file_mode(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	CU_ASSERT_EQUAL(chmod(path, mode), 0);
}

/* 32 octets 0x00..0x1f, and the same in base64 */
#define SECRET32 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static void
check_secret32(const struct conf_key *k)
{
	CU_ASSERT_TRUE(k->has_secret);
	CU_ASSERT_EQUAL_FATAL(k->tsig.secret_len, 32);
	for (size_t i = 0; i < 32; i++)
		CU_ASSERT_EQUAL(k->tsig.secret[i], i);
}

static void
test_keys(void)
{
	struct conf *c = parse_ok(INB "[key Xfr-Key]\nalgorithm = HMAC-SHA512\nsecret = " SECRET32 "\n"
	                          "[key k2.example.]\n[key k3]\nalgorithm = hmac-sha1\n"
	                          "[key k4]\nalgorithm = hmac-sha384.\n");
	if (c == NULL)
		return;
	CU_ASSERT_EQUAL_FATAL(c->n_keys, 4);
	const struct conf_key *k = &c->keys[0];
	CU_ASSERT_STRING_EQUAL(k->name, "xfr-key.");
	CU_ASSERT_EQUAL(k->tsig.name_len, 9);
	CU_ASSERT_EQUAL(memcmp(k->tsig.name, "\7xfr-key", 9), 0);
	CU_ASSERT_EQUAL(k->tsig.alg, TSIG_HMAC_SHA512);
	check_secret32(k);
	CU_ASSERT_PTR_NULL(k->secret_file);
	/* without a secret: only the name is checked; the algorithm defaults */
	CU_ASSERT_STRING_EQUAL(c->keys[1].name, "k2.example.");
	CU_ASSERT_FALSE(c->keys[1].has_secret);
	CU_ASSERT_EQUAL(c->keys[1].tsig.secret_len, 0);
	CU_ASSERT_EQUAL(c->keys[1].tsig.alg, TSIG_HMAC_SHA256);
	CU_ASSERT_EQUAL(c->keys[2].tsig.alg, TSIG_HMAC_SHA1);
	CU_ASSERT_FALSE(c->keys[2].has_secret);
	CU_ASSERT_EQUAL(c->keys[3].tsig.alg, TSIG_HMAC_SHA384);
	conf_free(c);

	static const struct err_case cases[] = {
		{ INB "[key]\n", "t.ini:4: ", "[key NAME] needs a TSIG key name" },
		{ INB "[key .]\n", "t.ini:4: ", "not the root" },
		{ INB "[key a..b]\n", "t.ini:4: ", "needs a TSIG key name" },
		{ INB "[key a b]\n", "t.ini:4: ", "needs a TSIG key name" },
		{ INB "[key xfr-key]\n\n[key XFR-KEY.]\n",
		  "t.ini:6: ", "duplicate [key xfr-key.] section (first on line 4)" },
		{ INB "[key k]\nalgorithm = hmac-md5\n",
		  "t.ini:5: ", "algorithm: \"hmac-md5\" is not one of hmac-sha256" },
		{ INB "[key k]\nalgorithm = hmac-sha256\nalgorithm = hmac-sha1\n",
		  "t.ini:6: ", "duplicate key algorithm in [key k.] (first on line 5)" },
		{ INB "[key k]\nbogus = 1\n", "t.ini:5: ", "unknown key \"bogus\" in [key k.]" },
		{ INB "[key k]\nsecret = " SECRET32 "\n",
		  "t.ini:4: ", "[key k.] has a secret but no algorithm" },
		{ INB "[key k]\nalgorithm = hmac-sha256\nsecret =\n", "t.ini:6: ", "secret: empty" },
		{ INB "[key k]\nalgorithm = hmac-sha256\nsecret = " SECRET32 "\nsecret-file = /x\n",
		  "t.ini:7: ", "has its secret already (line 6): give secret or secret-file, not both" },
	};
	RUN_ERR_CASES(cases);
	/* a bad secret is never quoted back */
	char err[CONF_ERR_MAX];
	static const char *const bad[] = {
		"c2VjcmV0!!", "c2VjcmV0c", "c2VjcmV0c2", "AA==AA==", "AB==", "=",
		/* 129 octets */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AAAA",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text), INB "[key k]\nalgorithm = hmac-sha256\nsecret = %s\n", bad[i]);
		expect_err(text, "t.ini:6: ", "secret: secret is not base64 of 1 to 128 octets (value not shown)");
		c = conf_parse_string(text, "t.ini", err);
		CU_ASSERT(c == NULL && strstr(err, bad[i]) == NULL);
		conf_free(c);
	}
	/* 128 octets is the maximum */
	char text[512], b64[200];
	memset(b64, 'A', 171);             /* 42 groups of 3 octets, then 2 */
	strcpy(b64 + 171, "=");
	snprintf(text, sizeof(text), INB "[key k]\nalgorithm = hmac-sha256\nsecret = %s\n", b64);
	c = parse_ok(text);
	CU_ASSERT(c != NULL && c->keys[0].tsig.secret_len == 128);
	conf_free(c);
}

static void
test_key_secret_file(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], ini[PATH_MAX + 64], text[3 * PATH_MAX], err[CONF_ERR_MAX];
	make_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/xfr.secret", dir);
	write_file_mode(path, SECRET32 "\n", 0600);
	snprintf(text, sizeof(text), INB "[key xfr]\nalgorithm = hmac-sha256\nsecret-file = %s\n", path);
	struct conf *c = parse_ok(text);
	if (c != NULL) {
		check_secret32(&c->keys[0]);
		CU_ASSERT_STRING_EQUAL(c->keys[0].secret_file, path);
	}
	conf_free(c);

	/* group or other access of any kind is an error, with the mode and why */
	static const mode_t open_modes[] = { 0640, 0604, 0660, 0644, 0610, 0602, 0601 };
	for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
		char want[64];
		CU_ASSERT_EQUAL(chmod(path, open_modes[i]), 0);
		snprintf(want, sizeof(want), "is accessible by group or others (mode %04o)",
		         (unsigned)open_modes[i]);
		expect_err(text, "t.ini:6: secret-file: ", want);
		expect_err(text, "t.ini:6: ", "chmod 600");
	}
	CU_ASSERT_EQUAL(chmod(path, 0400), 0);
	c = parse_ok(text);                  /* owner read-only is fine */
	conf_free(c);

	/* contents: the base64 secret alone (blanks around it are fine) */
	write_file_mode(path, "  " SECRET32 "  \r\n\n", 0600);
	c = parse_ok(text);
	if (c != NULL)
		check_secret32(&c->keys[0]);
	conf_free(c);
	write_file_mode(path, "", 0600);
	expect_err(text, "t.ini:6: ", "must hold the base64 secret alone");
	write_file_mode(path, SECRET32 " " SECRET32 "\n", 0600);
	expect_err(text, "t.ini:6: ", "must hold the base64 secret alone");
	write_file_mode(path, "not*base64\n", 0600);
	expect_err(text, "t.ini:6: ", "secret-file: secret is not base64 of 1 to 128 octets (value not shown)");
	c = conf_parse_string(text, "t.ini", err);
	CU_ASSERT(c == NULL && strstr(err, "not*base64") == NULL);
	conf_free(c);
	unlink(path);
	expect_err(text, "t.ini:6: ", "secret-file: cannot open");
	snprintf(text, sizeof(text), INB "[key xfr]\nalgorithm = hmac-sha256\nsecret-file = %s\n", dir);
	expect_err(text, "t.ini:6: ", "is not a regular file");
	expect_err(INB "[key xfr]\nalgorithm = hmac-sha256\nsecret-file = /dev/null\n", "t.ini:6: ",
	           "/dev/null is not a regular file");

	/* conf_load: a relative secret-file is resolved against the config's directory */
	snprintf(path, sizeof(path), "%s/xfr.secret", dir);
	write_file_mode(path, SECRET32, 0600);
	snprintf(ini, sizeof(ini), "%s/x.ini", dir);
	write_file(ini, INB "[key xfr]\nalgorithm = hmac-sha256\nsecret-file = xfr.secret\n");
	c = conf_load(ini, err);
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		char real[PATH_MAX], want[PATH_MAX + 32];
		CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(dir, real));
		snprintf(want, sizeof(want), "%s/xfr.secret", real);
		CU_ASSERT_STRING_EQUAL(c->keys[0].secret_file, want);
		check_secret32(&c->keys[0]);
	}
	conf_free(c);
	unlink(ini);
	unlink(path);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

#define CCA "client-ca = cca.pem\n"                 /* [inbound] line 4 */

static void
test_acls(void)
{
	struct conf *c = parse_ok(INB CCA
		"[acl secondaries-eu]\n"                                          /* 5 */
		"address = 192.0.2.0/24 2001:db8::/32\n"
		"client-cert = Sec1.Example.NET. *.wild.example.net SHA256:" PIN1 "\n"
		"tsig-key = XFR-key\n"                                            /* a later [key] */
		"backend-source = 127.0.0.11\n"
		"[acl tsig-only]\ntsig-key = xfr-key.\n"                          /* 10 */
		"[acl cert-only]\nclient-cert = sec2.example.net\n"
		"[acl addr-only]\naddress = 198.51.100.7\n"
		"[key xfr-key]\n"
		"[zone example.com]\nacl = secondaries-eu tsig-only cert-only addr-only\n");
	if (c == NULL)
		return;
	CU_ASSERT_EQUAL_FATAL(c->n_acls, 4);
	const struct conf_acl *a = c->acls[0];
	CU_ASSERT_STRING_EQUAL(a->name, "secondaries-eu");
	CU_ASSERT_EQUAL_FATAL(a->n_addr, 2);
	check_cidr(&a->addr[0], "192.0.2.0/24");
	check_cidr(&a->addr[1], "2001:db8::/32");
	CU_ASSERT_EQUAL_FATAL(a->n_certs, 3);
	CU_ASSERT_STRING_EQUAL(a->certs[0], "sec1.example.net");   /* lowercase, no final dot */
	CU_ASSERT_STRING_EQUAL(a->certs[1], "*.wild.example.net");
	CU_ASSERT_STRING_EQUAL(a->certs[2], "sha256:" PIN1);        /* the pin keeps its case */
	CU_ASSERT_PTR_EQUAL(a->key, &c->keys[0]);
	CU_ASSERT_TRUE(a->has_source);
	check_addr(&a->source, "127.0.0.11#0");
	const struct conf_acl *t = c->acls[1], *ce = c->acls[2], *ad = c->acls[3];
	CU_ASSERT(t->n_addr == 0 && t->n_certs == 0 && t->key == &c->keys[0] && !t->has_source);
	CU_ASSERT(ce->n_addr == 0 && ce->n_certs == 1 && ce->key == NULL);
	CU_ASSERT(ad->n_addr == 1 && ad->n_certs == 0 && ad->key == NULL);
	const struct conf_zone *z = c->zones[0];
	CU_ASSERT_EQUAL_FATAL(z->n_acls, 4);
	for (size_t i = 0; i < 4; i++)
		CU_ASSERT_PTR_EQUAL(z->acls[i], c->acls[i]);
	conf_free(c);

	/* backend-source in the backend's family; IPv6 with an IPv6 backend */
	c = parse_ok(INB "backend = [::1]:53\n[acl a]\naddress = ::1\nbackend-source = 2001:DB8::11\n");
	if (c != NULL)
		check_addr(&c->acls[0]->source, "2001:db8::11#0");
	conf_free(c);
	static const struct err_case cases[] = {
		{ INB "[acl a]\naddress = ::1\nbackend-source = 2001:db8::11\n",
		  "t.ini:6: ", "backend-source: not the address family of backend 127.0.0.1:53" },
		{ INB "[acl a]\naddress = ::1\nbackend-source = 127.0.0.1:53\n",
		  "t.ini:6: ", "backend-source: \"127.0.0.1:53\" is not an IPv4 or IPv6 address" },
		{ INB "[acl a]\naddress = ::1\nbackend-source = localhost\n",
		  "t.ini:6: ", "backend-source: \"localhost\"" },
		{ INB "[acl a]\naddress = ::1\nbackend-source = [::1]\n", "t.ini:6: ", "backend-source" },
	};
	RUN_ERR_CASES(cases);

	/* names */
	static const struct err_case cases2[] = {
		{ INB "[acl]\n", "t.ini:4: ", "[acl NAME]: \"\" is not 1 to 63 letters" },
		{ INB "[acl a/b]\n", "t.ini:4: ", "[acl NAME]: \"a/b\"" },
		{ INB "[acl a b]\n", "t.ini:4: ", "[acl NAME]: \"a b\"" },
		{ INB "[acl "
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\naddress = ::1\n",
		  "t.ini:4: ", "[acl NAME]" },
		{ INB "[acl Sec]\naddress = ::1\n\n[acl sec]\naddress = ::1\n",
		  "t.ini:7: ", "duplicate [acl Sec] section (first on line 4)" },
		{ INB "[acl a]\nallow = ::1\n", "t.ini:5: ", "unknown key \"allow\" in [acl a]" },
		{ INB "[acl a]\naddress = ::1\naddress = ::2\n",
		  "t.ini:6: ", "duplicate key address in [acl a] (first on line 5)" },
		/* every ACL needs a condition: "everyone" must be written out */
		{ INB "\n[acl open]\n",
		  "t.ini:5: ", "[acl open] has no condition (address, client-cert or tsig-key)" },
		{ INB "[acl open]\nbackend-source = 127.0.0.2\n", "t.ini:4: ", "has no condition" },
		{ INB "[acl a]\naddress =\n", "t.ini:5: ", "address: needs at least one" },
		{ INB "[acl a]\naddress = 10.0.0.1/8\n", "t.ini:5: ", "address: \"10.0.0.1/8\"" },
		/* tsig-key names a [key], before or after */
		{ INB "[key xfr]\n[acl a]\n\ntsig-key = nokey\n",
		  "t.ini:7: ", "tsig-key: \"nokey\" is not defined (no [key nokey] section)" },
		{ INB "[acl a]\ntsig-key = k1 k2\n[key k1]\n", "t.ini:5: ", "is not one key name" },
		{ INB "[acl a]\ntsig-key =\n", "t.ini:5: ", "is not one key name" },
		{ INB "[acl a]\ntsig-key = a..b\n", "t.ini:5: ", "is not one key name" },
		/* client-cert needs client-ca, and patterns of the right form */
		{ INB "[acl a]\naddress = ::1\nclient-cert = sec1.example.net\n",
		  "t.ini:6: ", "client-cert needs [inbound] client-ca" },
		{ INB CCA "[acl a]\nclient-cert =\n", "t.ini:6: ", "client-cert: needs at least one" },
		{ INB CCA "[acl a]\nclient-cert = a.example SEC1.example.net. sec1.example.net\n",
		  "t.ini:6: ", "client-cert: \"sec1.example.net\" is listed twice" },
		{ INB CCA "[acl a]\nclient-cert = *.net\n",
		  "t.ini:6: ", "client-cert: \"*.net\": a wildcard needs at least two labels" },
		{ INB CCA "[acl a]\nclient-cert = sha256:abc\n",
		  "t.ini:6: ", "client-cert: \"sha256:abc\": sha256: pin is not the base64 of a SHA-256 digest" },
	};
	RUN_ERR_CASES(cases2);
	/* [acl] belongs to [inbound]; [key] serves the outbound side too (its
	 * own answers to signed UDP queries are signed, issue 13 A11) */
	expect_err("[outbound]\n" OB_MIN "[acl a]\naddress = ::1\n", "t.ini:5: ",
	           "[acl] sections need an [inbound] section");
	struct conf *kc = parse_ok("[outbound]\n" OB_MIN "\n[key k]\nalgorithm = hmac-sha256\n"
	                           "secret = c2VjcmV0\n");
	CU_ASSERT_TRUE(kc != NULL && kc->n_keys == 1 && kc->keys[0].has_secret);
	conf_free(kc);
}

/* conf does not link tls/, so it checks client-cert patterns itself: the
 * same verdict as tls_identity_pattern_error on each. */
static void
test_cert_patterns_agree_with_tls(void)
{
	static const char *const patterns[] = {
		"sec1.example.net", "sec1.example.net.", "SEC1.Example.NET", "*.example.net",
		"*.net", "*.net.", "*.*.example.net", "a.*.example.net", "*x.example.net", "*",
		"*.", ".", "..", "a..b", "a.", "a.b..", ".a", "a", "-", "_x.y", "x_y.z-1",
		"a.b/c", "ä.example", "a@b", "xn--bcher-kva.example",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
		"sha256:" PIN1, "SHA256:" PIN1, "Sha256:" PIN2, "sha256:" PIN1 "=",
		"sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", "sha256:",
		"sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=",
		"sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF==",
		"sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSu-U=",
		"sha1:AAAA", "sha256", "sha256.example.net",
	};
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		char text[512], err[CONF_ERR_MAX];
		snprintf(text, sizeof(text), INB CCA "[acl a]\nclient-cert = %s\n", patterns[i]);
		struct conf *c = conf_parse_string(text, "t.ini", err);
		bool tls_ok = tls_identity_pattern_error(patterns[i]) == NULL;
		CU_ASSERT_EQUAL((c != NULL), tls_ok);
		if ((c != NULL) != tls_ok)
			fprintf(stderr, "\npattern \"%s\": conf %s, tls %s\n", patterns[i],
			        c != NULL ? "accepts" : err, tls_ok ? "accepts" : "rejects");
		conf_free(c);
	}
	/* the 253-character limit, with and without the final dot */
	char name[300];
	memset(name, 'a', sizeof(name));
	for (size_t len = 250; len <= 256; len++) {
		for (size_t i = 63; i < len; i += 64)
			name[i] = '.';
		name[len] = '\0';
		char text[512], err[CONF_ERR_MAX];
		snprintf(text, sizeof(text), INB CCA "[acl a]\nclient-cert = %s\n", name);
		struct conf *c = conf_parse_string(text, "t.ini", err);
		CU_ASSERT_EQUAL((c != NULL), tls_identity_pattern_error(name) == NULL);
		conf_free(c);
		memset(name, 'a', sizeof(name));
	}
}

static void
test_zone_acl_and_allow(void)
{
	struct conf *c = parse_ok(INB
		"[zone example.com]\n"                         /* 4: before its ACLs */
		"acl = secondaries-eu SECONDARIES-US\n"
		"allow = 198.51.100.7\n"
		"[acl secondaries-eu]\naddress = 192.0.2.0/24\n"
		"[acl secondaries-us]\naddress = 203.0.113.0/24\n"
		"[zone only.allow]\nallow = 10.0.0.0/8 ::1\n"
		"[zone only.acl]\nacl = secondaries-us\n"
		"[zone nobody]\n"
		"[zone empty.allow]\nallow =\n");
	if (c == NULL)
		return;
	CU_ASSERT_EQUAL_FATAL(c->n_zones, 5);
	const struct conf_zone *z = c->zones[0];
	CU_ASSERT_EQUAL_FATAL(z->n_acls, 3);
	CU_ASSERT_STRING_EQUAL(z->acls[0]->name, "secondaries-eu");
	CU_ASSERT_STRING_EQUAL(z->acls[1]->name, "secondaries-us");   /* names: any case */
	CU_ASSERT_STRING_EQUAL(z->acls[2]->name, "");                 /* allow =, last */
	CU_ASSERT_EQUAL_FATAL(z->acls[2]->n_addr, 1);
	check_cidr(&z->acls[2]->addr[0], "198.51.100.7/32");
	CU_ASSERT(c->zones[1]->n_acls == 1 && n_allow(c, 1) == 2);
	CU_ASSERT(c->zones[2]->n_acls == 1 && c->zones[2]->acls[0] == z->acls[1]);
	CU_ASSERT_EQUAL(c->zones[3]->n_acls, 0);                       /* AXFR-08 */
	CU_ASSERT_EQUAL(c->zones[4]->n_acls, 0);
	CU_ASSERT_EQUAL(c->n_acls, 4);          /* two named, two implicit */
	conf_free(c);

	static const struct err_case cases[] = {
		{ INB "[zone a]\nacl =\n", "t.ini:5: ", "acl: needs at least one [acl NAME] name" },
		{ INB "[zone a]\nacl = x/y\n", "t.ini:5: ", "acl: \"x/y\" is not an ACL name" },
		{ INB "[zone a]\n\nacl = nope\n[acl other]\naddress = ::1\n",
		  "t.ini:6: ", "acl \"nope\" is not defined (no [acl nope] section)" },
		{ INB "[acl a]\naddress = ::1\n[zone z]\nacl = a A\n",
		  "t.ini:7: ", "acl \"A\" is listed twice" },
		{ INB "[acl a]\naddress = ::1\n[zone z]\nacl = a\nacl = a\n",
		  "t.ini:8: ", "duplicate key acl in [zone z.] (first on line 7)" },
		{ INB "[zone z]\nacl = a\n[acl a]\n", "t.ini:6: ", "[acl a] has no condition" },
	};
	RUN_ERR_CASES(cases);
}

/* All the zones that name the same ACLs share one list. */
static void
test_interned_lists(void)
{
	char *text = malloc(64 * 1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	size_t o = (size_t)snprintf(text, 64 * 1024, INB "[acl a]\naddress = ::1\n[acl b]\ntsig-key = k\n"
	                            "[key k]\n");
	for (int i = 0; i < 300; i++) {
		const char *keys = i % 3 == 0 ? "acl = a b" : i % 3 == 1 ? "acl = b a" :
		                   "allow = 10.0.0.0/8 ::1";
		o += (size_t)snprintf(text + o, 64 * 1024 - o, "[zone z%d.test]\n%s\n", i, keys);
	}
	struct conf *c = parse_ok(text);
	free(text);
	if (c == NULL)
		return;
	CU_ASSERT_EQUAL_FATAL(c->n_zones, 300);
	CU_ASSERT_EQUAL(c->n_acls, 3);          /* a, b and one implicit ACL for 100 zones */
	for (size_t i = 3; i < 300; i++) {
		CU_ASSERT_PTR_EQUAL(c->zones[i]->acls, c->zones[i % 3]->acls);
		CU_ASSERT_EQUAL(c->zones[i]->n_acls, c->zones[i % 3]->n_acls);
	}
	CU_ASSERT_PTR_NOT_EQUAL(c->zones[0]->acls, c->zones[1]->acls);   /* order matters */
	CU_ASSERT_STRING_EQUAL(c->zones[0]->acls[0]->name, "a");
	CU_ASSERT_STRING_EQUAL(c->zones[1]->acls[0]->name, "b");
	CU_ASSERT_STRING_EQUAL(c->zones[2]->acls[0]->name, "");
	conf_free(c);
}

/* Writes path with the zones-file text; returns a config text naming it
 * (after INB, line 4), with `rest` appended. Caller frees. */
static char *
zones_conf(const char *path, const char *zones, const char *rest)
{
	write_file(path, zones);
	size_t n = strlen(path) + strlen(rest) + 128;
	char *text = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	snprintf(text, n, INB "zones-file = %s\n%s", path, rest);
	return text;
}

#define ACLS_AB "[acl a]\naddress = 192.0.2.0/24\n[acl b]\naddress = ::1\n"   /* lines 5-8 */

static void
expect_zones_err(const char *dir, const char *zones, const char *rest, int line, const char *part)
{
	char path[PATH_MAX + 32], prefix[PATH_MAX + 96];
	snprintf(path, sizeof(path), "%s/zones.txt", dir);
	char *text = zones_conf(path, zones, rest);
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "t.ini:4: zones-file: ");
	expect_err(text, prefix, part);
	free(text);
}

static void
test_zones_file(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	make_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/zones.txt", dir);
	char *text = zones_conf(path,
		"\xef\xbb\xbf# zones for the test\n"         /* 1: BOM, comment */
		"\n"                                          /* 2 */
		"   \t \n"                                    /* 3 */
		"zone1.test a   # inline comment\n"           /* 4 */
		"Zone2.TEST. a b\n"                           /* 5 */
		"  zone3.test\n"                              /* 6: nobody */
		"zone4.test#not-a-comment A\r\n"              /* 7: CRLF, any case */
		"zone5.test\tb\t# tab\n"                      /* 8 */
		"zone6.test b a",                             /* 9: no final newline */
		ACLS_AB "[zone section.test]\nacl = a b\n");
	struct conf *c = parse_ok(text);
	free(text);
	if (c != NULL) {
		CU_ASSERT_EQUAL_FATAL(c->n_zones, 7);
		CU_ASSERT_EQUAL(c->n_section_zones, 1);
		static const char *const names[] = {
			"section.test.", "zone1.test.", "zone2.test.", "zone3.test.",
			"zone4.test#not-a-comment.", "zone5.test.", "zone6.test.",
		};
		for (size_t i = 0; i < 7; i++)
			CU_ASSERT_STRING_EQUAL(zname(c, i), names[i]);
		const struct conf_acl *a = c->acls[0], *b = c->acls[1];
		CU_ASSERT(c->zones[1]->n_acls == 1 && c->zones[1]->acls[0] == a);
		CU_ASSERT(c->zones[2]->n_acls == 2 && c->zones[2]->acls[1] == b);
		CU_ASSERT_PTR_EQUAL(c->zones[2]->acls, c->zones[0]->acls);   /* shared with the section */
		CU_ASSERT_EQUAL(c->zones[3]->n_acls, 0);
		CU_ASSERT_PTR_EQUAL(c->zones[4]->acls, c->zones[1]->acls);
		CU_ASSERT(c->zones[5]->n_acls == 1 && c->zones[5]->acls[0] == b);
		CU_ASSERT(c->zones[6]->n_acls == 2 && c->zones[6]->acls[0] == b);
		for (size_t i = 0; i < 7; i++)
			CU_ASSERT_PTR_EQUAL(conf_zone_find(c, c->zones[i]->wire, c->zones[i]->wire_len),
			                    c->zones[i]);
		CU_ASSERT_STRING_EQUAL(c->inbound.zones_file, path);
	}
	conf_free(c);

	/* an empty file: no zones */
	text = zones_conf(path, "", "");
	c = parse_ok(text);
	CU_ASSERT(c != NULL && c->n_zones == 0);
	conf_free(c);
	free(text);

	/* errors name the zones-file and its line */
	expect_zones_err(dir, "# x\na.test a\nb..test a\n", ACLS_AB, 3,
	                 "zone name \"b..test\" is not a valid domain name");
	expect_zones_err(dir, "a.test a\n. a\n", ACLS_AB, 2, "zone name \".\": the root zone");
	expect_zones_err(dir, "a.test a\n\nb.test a nope\n", ACLS_AB, 3,
	                 "acl \"nope\" is not defined (no [acl nope] section)");
	expect_zones_err(dir, "a.test a B b\n", ACLS_AB, 1, "acl \"b\" is listed twice");
	expect_zones_err(dir, "a.test a\n", "", 1, "acl \"a\" is not defined");
	expect_zones_err(dir, "a.test a\nb.test\n\n# c\nA.TEST. b\n", ACLS_AB, 5,
	                 "duplicate zone a.test. (first at ");
	char first[PATH_MAX + 64];
	snprintf(first, sizeof(first), "(first at %s/zones.txt:1)", dir);
	expect_zones_err(dir, "a.test a\nb.test\n\n# c\nA.TEST. b\n", ACLS_AB, 5, first);
	/* across the config and the file: the section is first */
	expect_zones_err(dir, "x.test a\nsection.test b\n", ACLS_AB "[zone Section.Test]\n", 2,
	                 "duplicate zone section.test. (first at t.ini:9)");
	expect_zones_err(dir, "a.test\nb.test \"x\"\n", "", 2, "acl \"\\\"x\\\"\" is not defined");
	{
		/* a NUL byte, and a line of 65,537 characters */
		FILE *f = fopen(path, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fwrite("a.test\nb\0c.test\n", 1, 16, f);
		fclose(f);
		char *t = malloc(PATH_MAX + 128);
		snprintf(t, PATH_MAX + 128, INB "zones-file = %s\n", path);
		char want[PATH_MAX + 64];
		snprintf(want, sizeof(want), "%s:2: ", path);
		expect_err(t, want, "NUL byte in line");
		char *big = malloc(70000);
		CU_ASSERT_PTR_NOT_NULL_FATAL(big);
		memset(big, 'a', 65537);
		strcpy(big + 65537, "\n");
		write_file(path, "a.test\n");
		f = fopen(path, "a");
		fputs(big, f);
		fclose(f);
		expect_err(t, want, "line too long (more than 65536 characters)");
		free(big);
		free(t);
	}
	/* a file that cannot be read: the error is on the zones-file line */
	unlink(path);
	text = malloc(PATH_MAX + 128);
	snprintf(text, PATH_MAX + 128, INB "\nzones-file = %s\n", path);
	expect_err(text, "t.ini:5: ", "zones-file: cannot read");
	snprintf(text, PATH_MAX + 128, INB "zones-file = %s\n", dir);
	expect_err(text, "t.ini:4: ", "not a regular file");
	free(text);
	expect_err(INB "zones-file = /dev/null\n", "t.ini:4: ", "zones-file: cannot read /dev/null: "
	           "not a regular file");
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

/* conf_load: zones-file relative to the config's directory. */
static void
test_zones_file_load(void)
{
	char dir[PATH_MAX], real[PATH_MAX], ini[PATH_MAX + 32], zones[PATH_MAX + 32],
	     want[PATH_MAX + 64], err[CONF_ERR_MAX];
	make_tmpdir(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(dir, real));
	snprintf(ini, sizeof(ini), "%s/x.ini", dir);
	snprintf(zones, sizeof(zones), "%s/zones.txt", dir);
	write_file(ini, INB "zones-file = zones.txt\n[acl a]\naddress = ::1\n");
	write_file(zones, "a.test a\nb.test\n");
	enum log_level saved = log_threshold;
	log_threshold = XP_LOG_ERROR;            /* conf_load warns about a.test (section 7.5) */
	struct conf *c = conf_load(ini, err);
	log_threshold = saved;
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		snprintf(want, sizeof(want), "%s/zones.txt", real);
		CU_ASSERT_STRING_EQUAL(c->inbound.zones_file, want);
		CU_ASSERT_EQUAL(c->n_zones, 2);
	}
	conf_free(c);
	write_file(zones, "a.test a\nb.test nope\n");
	c = conf_load(ini, err);
	CU_ASSERT_PTR_NULL(c);
	snprintf(want, sizeof(want), "%s/zones.txt:2: acl \"nope\" is not defined", real);
	CU_ASSERT_EQUAL(strncmp(err, want, strlen(want)), 0);
	if (strncmp(err, want, strlen(want)) != 0)
		fprintf(stderr, "\nwanted \"%s\", got \"%s\"\n", want, err);
	unlink(zones);
	unlink(ini);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

#define MANY 100000

/* 100,000 zones: every one found by the hash, one shared list. */
static void
test_many_zones(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	make_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/zones.txt", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	for (int i = 0; i < MANY; i++)
		fprintf(f, "z%d.example.net a b\n", i);
	fclose(f);
	char text[PATH_MAX + 256];
	snprintf(text, sizeof(text), INB "zones-file = %s\n" ACLS_AB "[zone example.net]\nacl = a\n",
	         path);
	struct conf *c = parse_ok(text);
	if (c != NULL) {
		CU_ASSERT_EQUAL_FATAL(c->n_zones, MANY + 1);
		uint8_t wire[DNAME_MAXLEN];
		char name[64];
		size_t misses = 0, not_shared = 0;
		for (int i = 0; i < MANY; i++) {
			snprintf(name, sizeof(name), "Z%d.Example.NET", i);
			int len = dname_from_text(name, wire);
			const struct conf_zone *z = conf_zone_find(c, wire, (size_t)len);
			misses += z != c->zones[i + 1];
			not_shared += z == NULL || z->acls != c->zones[1]->acls || z->n_acls != 2;
		}
		CU_ASSERT_EQUAL(misses, 0);
		CU_ASSERT_EQUAL(not_shared, 0);
		int len = dname_from_text("z100000.example.net", wire);
		CU_ASSERT_PTR_NULL(conf_zone_find(c, wire, (size_t)len));
		len = dname_from_text("example.net", wire);
		CU_ASSERT_PTR_EQUAL(conf_zone_find(c, wire, (size_t)len), c->zones[0]);
		CU_ASSERT(c->zhash_mask + 1 >= c->n_zones);   /* chains of about one */
		CU_ASSERT_EQUAL(conf_addr_only_zones(c), MANY + 1);
	}
	conf_free(c);
	unlink(path);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static bool
allowed(const struct conf *c, const char *addr)
{
	struct netaddr na;
	CU_ASSERT_EQUAL_FATAL(netaddr_parse(addr, 1, &na), 0);
	return conf_address_allowed(c, NA_SA(na));
}

static void
test_address_allowed(void)
{
	/* address ACLs used by zones only; an unused ACL opens nothing */
	struct conf *c = parse_ok(INB "[key k]\n[acl used]\naddress = 192.0.2.0/24\n"
	                          "[acl unused]\ntsig-key = k\n[acl unused2]\naddress = 10.0.0.0/8\n"
	                          "[zone a]\nacl = used\n[zone b]\nallow = 2001:db8::/32 192.0.2.7\n"
	                          "[zone c]\n");
	if (c != NULL) {
		CU_ASSERT_TRUE(allowed(c, "192.0.2.200"));
		CU_ASSERT_TRUE(allowed(c, "[2001:db8::5]:1"));
		CU_ASSERT_TRUE(allowed(c, "[::ffff:192.0.2.1]:1"));
		CU_ASSERT_FALSE(allowed(c, "10.1.2.3"));
		CU_ASSERT_FALSE(allowed(c, "203.0.113.1"));
		CU_ASSERT_FALSE(c->any_address);
		CU_ASSERT_EQUAL(c->n_any_allow, 3);      /* 192.0.2.7 is inside 192.0.2.0/24, kept */
	}
	conf_free(c);
	/* an ACL without an address condition (TSIG or certificate only) that
	 * some zone uses admits every address at accept: its check comes later */
	c = parse_ok(INB CCA "[key k]\n[acl keyed]\ntsig-key = k\n[acl a]\naddress = 192.0.2.0/24\n"
	             "[zone a]\nacl = a\n[zone b]\nacl = keyed\n");
	if (c != NULL) {
		CU_ASSERT_TRUE(c->any_address);
		CU_ASSERT_TRUE(allowed(c, "203.0.113.1"));
		CU_ASSERT_TRUE(allowed(c, "[2001:db8::1]:1"));
	}
	conf_free(c);
	c = parse_ok(INB CCA "[acl certs]\nclient-cert = *.example.net\n[zone a]\nacl = certs\n");
	CU_ASSERT(c != NULL && allowed(c, "198.51.100.1"));
	conf_free(c);
	/* the same ACL by a zones-file line */
	char dir[PATH_MAX], path[PATH_MAX + 32];
	make_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/zones.txt", dir);
	char *text = zones_conf(path, "a.test keyed\n", "[key k]\n[acl keyed]\ntsig-key = k\n");
	c = parse_ok(text);
	CU_ASSERT(c != NULL && allowed(c, "198.51.100.1"));
	conf_free(c);
	free(text);
	/* no zone at all: nobody */
	text = zones_conf(path, "# none\n", "[key k]\n[acl keyed]\ntsig-key = k\n");
	c = parse_ok(text);
	CU_ASSERT(c != NULL && !allowed(c, "127.0.0.1"));
	conf_free(c);
	free(text);
	unlink(path);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

/* Runs conf_log_warnings(c) with stderr going to a file; returns what it wrote. */
static char *
capture_warnings(const struct conf *c)
{
	char path[] = "/tmp/xp_conf_warn_XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	conf_log_warnings(c);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	off_t n = lseek(fd, 0, SEEK_END);
	char *buf = calloc(1, (size_t)n + 1);
	CU_ASSERT_FATAL(buf != NULL && pread(fd, buf, (size_t)n, 0) == n);
	close(fd);
	unlink(path);
	return buf;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;
	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* RFC 9103 section 7.5: zones open to client addresses alone are counted and warned about. */
static void
test_addr_only_warning(void)
{
	struct conf *c = parse_ok(INB CCA "[key k]\n[acl keyed]\naddress = ::1\ntsig-key = k\n"
	                          "[acl certs]\nclient-cert = a.example\n[acl addr]\naddress = ::1\n"
	                          "[zone keyed]\nacl = keyed\n"            /* no */
	                          "[zone certs]\nacl = certs keyed\n"      /* no */
	                          "[zone addr]\nacl = addr\n"              /* yes */
	                          "[zone allow]\nallow = 192.0.2.1\n"      /* yes */
	                          "[zone mixed]\nacl = keyed\nallow = 192.0.2.1\n"   /* yes: allow= admits alone */
	                          "[zone mixed2]\nacl = certs addr\n"      /* yes */
	                          "[zone nobody]\n");                      /* no: not open at all */
	if (c == NULL)
		return;
	CU_ASSERT_EQUAL(conf_addr_only_zones(c), 4);
	enum log_level saved = log_threshold;
	log_threshold = XP_LOG_WARNING;
	char *out = capture_warnings(c);
	CU_ASSERT_EQUAL(count_lines(out), 4);        /* a few: one line per zone */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "warning: zone addr. is open to client addresses alone"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "zone mixed2."));
	CU_ASSERT_PTR_NULL(strstr(out, "zone keyed."));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "RFC 9103 section 7.5"));
	free(out);
	conf_free(c);

	/* none: silent */
	c = parse_ok(INB "[key k]\n[acl keyed]\ntsig-key = k\n[zone a]\nacl = keyed\n[zone b]\n");
	if (c != NULL) {
		CU_ASSERT_EQUAL(conf_addr_only_zones(c), 0);
		out = capture_warnings(c);
		CU_ASSERT_STRING_EQUAL(out, "");
		free(out);
	}
	conf_free(c);

	/* many: one line with the count and the first names */
	char *text = malloc(64 * 1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	size_t o = (size_t)snprintf(text, 64 * 1024, INB);
	for (int i = 0; i < 1000; i++)
		o += (size_t)snprintf(text + o, 64 * 1024 - o, "[zone z%d]\nallow = ::1\n", i);
	c = parse_ok(text);
	free(text);
	if (c != NULL) {
		CU_ASSERT_EQUAL(conf_addr_only_zones(c), 1000);
		out = capture_warnings(c);
		CU_ASSERT_EQUAL(count_lines(out), 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, "1000 zones are open to client addresses alone "
		                               "(z0., z1., z2., z3., z4., ... and 995 more)"));
		free(out);
	}
	conf_free(c);
	log_threshold = saved;
}

static const char issue9_conf[] =
	"[inbound]\ncert = a\nkey = b\n"
	"client-ca = cca.pem\nmax-transfers = 128\nmax-transfers-per-client = 4\n"
	"transfer-rate = 30/60\nproxy-protocol = v2\nclient-table-size = 4096\n"
	"[key xfr-key]\nalgorithm = hmac-sha256\nsecret = " SECRET32 "\n"
	"[key name-only.example]\nalgorithm = hmac-sha512\n"
	"[acl secondaries-eu]\naddress = 192.0.2.0/24 2001:db8::/32\n"
	"client-cert = sec1.example.net sha256:" PIN1 " *.eu.example.net\n"
	"tsig-key = xfr-key\nbackend-source = 127.0.0.11\n"
	"[acl secondaries-us]\ntsig-key = name-only.example\n"
	"[zone example.com]\nacl = secondaries-eu secondaries-us\nallow = 198.51.100.7\n"
	"[zone \\065\\.b.test]\nacl = secondaries-us\n"
	"[zone nobody.test]\n"
	"[zone allow.test]\nallow = 10.0.0.0/8\n";

static void
test_print_issue9(void)
{
	struct conf *c = parse_ok(issue9_conf);
	if (c == NULL)
		return;
	char *p = print_to_string(c);            /* with secrets */
	CU_ASSERT_PTR_NOT_NULL(strstr(p,
		"client-ca = cca.pem\nmax-transfers = 128\nmax-transfers-per-client = 4\n"
		"transfer-rate = 30/60\nproxy-protocol = v2\nclient-table-size = 4096\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "\n[key xfr-key.]\nalgorithm = hmac-sha256\nsecret = "
	                               SECRET32 "\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "\n[key name-only.example.]\nalgorithm = hmac-sha512\n"
	                               "# no secret: only the key name is checked\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "\n[acl secondaries-eu]\n"
		"address = 192.0.2.0/24 2001:db8::/32\n"
		"client-cert = sec1.example.net sha256:" PIN1 " *.eu.example.net\n"
		"tsig-key = xfr-key.\nbackend-source = 127.0.0.11\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "\n[acl secondaries-us]\ntsig-key = name-only.example.\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "\n[zone example.com.]\nacl = secondaries-eu secondaries-us\n"
	                               "allow = 198.51.100.7/32\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "\n[zone a\\046b.test.]\nacl = secondaries-us\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "\n[zone nobody.test.]\nallow = # nobody"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "\n[zone allow.test.]\nallow = 10.0.0.0/8\n"));
	free(p);

	/* conf_print (-t) never shows an inline secret */
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	conf_print(c, f);
	fclose(f);
	CU_ASSERT_PTR_NULL(strstr(buf, SECRET32));
	CU_ASSERT_PTR_NULL(strstr(buf, "\nsecret ="));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\n[key xfr-key.]\nalgorithm = hmac-sha256\n"
	                                 "# secret = (32 octets, not shown)\n"));
	free(buf);
	conf_free(c);

	roundtrip(issue9_conf);
	roundtrip(INB "transfer-rate = off\nproxy-protocol = off\n[key k]\n[acl a]\ntsig-key = k\n"
	          "[zone z]\nacl = a\n");
	roundtrip(INB "backend = [::1]:53\n[acl a]\naddress = ::/0\nbackend-source = 2001:db8::1\n");
}

/* zones-file is printed as itself (with the count), not as [zone] sections;
 * secret-file as its path. Both read back to the same configuration. */
static void
test_print_files(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], secret[PATH_MAX + 32];
	make_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/zones.txt", dir);
	snprintf(secret, sizeof(secret), "%s/k.secret", dir);
	write_file_mode(secret, SECRET32 "\n", 0600);
	char rest[2 * PATH_MAX];
	snprintf(rest, sizeof(rest), "[key k]\nalgorithm = hmac-sha256\nsecret-file = %s\n"
	         ACLS_AB "[zone s.test]\nallow = ::1\n", secret);
	char *text = zones_conf(path, "a.test a b\nb.test\nc.test b\n", rest);
	struct conf *c = parse_ok(text);
	if (c != NULL) {
		char *p = NULL, want[2 * PATH_MAX];
		size_t size = 0;
		FILE *f = open_memstream(&p, &size);
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		conf_print(c, f);
		fclose(f);
		snprintf(want, sizeof(want), "# 3 zones from the zones-file\nzones-file = %s\n", path);
		CU_ASSERT_PTR_NOT_NULL(strstr(p, want));
		snprintf(want, sizeof(want), "secret-file = %s\n", secret);
		CU_ASSERT_PTR_NOT_NULL(strstr(p, want));
		CU_ASSERT_PTR_NULL(strstr(p, SECRET32));
		CU_ASSERT_PTR_NOT_NULL(strstr(p, "[zone s.test.]"));
		CU_ASSERT_PTR_NULL(strstr(p, "[zone a.test.]"));
		free(p);
	}
	conf_free(c);
	roundtrip(text);
	free(text);
	unlink(path);
	unlink(secret);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

/* Issue 13 item 8: a reload keeps the pool of a section whose pool
 * settings did not change; allow, listen and the per-query timeouts are
 * the group's, not the pool's. Files count by content. */
static struct pool_settings
settings_of(const char *text)
{
	struct pool_settings st;
	memset(&st, 0xAA, sizeof(st));
	struct conf *c = parse_ok(text);
	CU_ASSERT_FATAL(c != NULL && c->n_outbound == 1);
	CU_ASSERT_EQUAL(pool_settings_of(&c->outbound[0], &st), 0);
	conf_free(c);
	return st;
}

static void
test_outbound_pool_settings(void)
{
	char dir[PATH_MAX], ca[PATH_MAX + 16], text[2 * PATH_MAX];
	make_tmpdir(dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	FILE *f = fopen(ca, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("first CA\n", f);
	fclose(f);
	snprintf(text, sizeof(text), "[outbound a]\n" OB_MIN "ca = %s\nauth-name = x.test\n", ca);
	struct pool_settings base = settings_of(text), other;
	other = settings_of(text);
	CU_ASSERT_TRUE(pool_settings_equal(&base, &other));     /* SIGHUP, same file */

	/* the group's own settings: the pool is kept */
	static const char *const same[] = {
		"allow = 10.0.0.0/8\n", "backend-timeout = 9\n", "transfer-timeout = 7\n",
		"queue-timeout = 3\n", "max-clients = 5\n", "max-udp-queries = 6\n",
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		char t[3 * PATH_MAX];
		snprintf(t, sizeof(t), "%s%s", text, same[i]);
		other = settings_of(t);
		CU_ASSERT_TRUE(pool_settings_equal(&base, &other));
	}
	/* the pool's: a new pool */
	static const char *const changed[] = {
		"connect-timeout = 6\n", "idle-timeout = 31\n", "max-sessions = 5\n",
	};
	for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
		char t[3 * PATH_MAX];
		snprintf(t, sizeof(t), "%s%s", text, changed[i]);
		other = settings_of(t);
		CU_ASSERT_FALSE(pool_settings_equal(&base, &other));
	}
	char t[3 * PATH_MAX];
	snprintf(t, sizeof(t), "[outbound a]\nlisten = 127.0.0.1:5353\nprimary = 192.0.2.2\n"
	         "pin-sha256 = " PIN1 "\nca = %s\nauth-name = x.test\n", ca);
	other = settings_of(t);
	CU_ASSERT_FALSE(pool_settings_equal(&base, &other));    /* another primary */
	snprintf(t, sizeof(t), "[outbound a]\nlisten = 127.0.0.1:5353\nprimary = 192.0.2.1\n"
	         "pin-sha256 = " PIN2 "\nca = %s\nauth-name = x.test\n", ca);
	other = settings_of(t);
	CU_ASSERT_FALSE(pool_settings_equal(&base, &other));    /* another pin */
	snprintf(t, sizeof(t), "[outbound a]\n" OB_MIN "ca = %s\nauth-name = y.test\n", ca);
	other = settings_of(t);
	CU_ASSERT_FALSE(pool_settings_equal(&base, &other));    /* another name */
	snprintf(t, sizeof(t), "[outbound a]\nlisten = 127.0.0.1:5399\nprimary = 192.0.2.1\n"
	         "pin-sha256 = " PIN1 "\nca = %s\nauth-name = x.test\n", ca);
	other = settings_of(t);
	CU_ASSERT_TRUE(pool_settings_equal(&base, &other));     /* only listen moved */

	/* the CA file renewed under the same path */
	f = fopen(ca, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("second CA\n", f);
	fclose(f);
	other = settings_of(text);
	CU_ASSERT_FALSE(pool_settings_equal(&base, &other));
	unlink(ca);
	rmdir(dir);
}

/* Issue 13 items 16 and 17: user = root refused; tsig-max-fudge,
 * metrics-allow, metrics-max-conns-per-ip; inline secrets counted with the
 * line of the first (main.c warns about them by the file's mode). */
static void
test_hardening_keys(void)
{
	struct conf *c = parse_ok(INB);
	if (c == NULL)
		return;
	CU_ASSERT_EQUAL(c->tsig_max_fudge, 300);
	CU_ASSERT_EQUAL(c->metrics_max_conns_per_ip, 4);
	CU_ASSERT_EQUAL_FATAL(c->n_metrics_allow, 2);
	check_cidr(&c->metrics_allow[0], "127.0.0.0/8");
	check_cidr(&c->metrics_allow[1], "::1/128");
	struct sockaddr_storage lo = ut_addr("127.0.0.2"), lo6 = ut_addr("::1");
	struct sockaddr_storage far = ut_addr("192.0.2.1");
	CU_ASSERT_TRUE(conf_metrics_allowed(c, SA(lo)));
	CU_ASSERT_TRUE(conf_metrics_allowed(c, SA(lo6)));
	CU_ASSERT_FALSE(conf_metrics_allowed(c, SA(far)));
	CU_ASSERT_EQUAL(c->n_inline_secrets, 0);
	CU_ASSERT_EQUAL(c->user_line, 0);
	conf_free(c);

	c = parse_ok("[global]\ntsig-max-fudge = 0\nmetrics-allow = 192.0.2.0/24 2001:db8::/32\n"
	             "metrics-max-conns-per-ip = 16\nuser = nobody\n" INB
	             "[key a]\nalgorithm = hmac-sha256\nsecret = YWJj\n"
	             "[key b]\nalgorithm = hmac-sha256\nsecret = YWJj\n");
	if (c == NULL)
		return;
	CU_ASSERT_EQUAL(c->tsig_max_fudge, 0);
	CU_ASSERT_EQUAL(c->metrics_max_conns_per_ip, 16);
	CU_ASSERT_EQUAL(c->n_metrics_allow, 2);
	CU_ASSERT_FALSE(conf_metrics_allowed(c, SA(lo)));      /* the default is replaced */
	CU_ASSERT_TRUE(conf_metrics_allowed(c, SA(far)));
	CU_ASSERT_EQUAL(c->user_line, 5);
	CU_ASSERT_EQUAL(c->n_inline_secrets, 2);
	CU_ASSERT_EQUAL(c->inline_secret_line, 11);            /* the first one */
	char *p = print_to_string(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "tsig-max-fudge = 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "metrics-allow = 192.0.2.0/24 2001:db8::/32\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "metrics-max-conns-per-ip = 16\n"));
	free(p);
	conf_free(c);
	roundtrip("[global]\ntsig-max-fudge = 65535\nmetrics-allow = ::1 10.0.0.0/8\n" INB);

	static const struct err_case cases[] = {
		{ "[global]\nuser = root\n" INB, "t.ini:2: ", "user: \"root\" is root (uid 0)" },
		{ "[global]\nuser = 0\n" INB, "t.ini:2: ", "is root (uid 0)" },
		{ "[global]\nuser = 000\n" INB, "t.ini:2: ", "is root (uid 0)" },
		{ "[global]\ntsig-max-fudge = 65536\n" INB,
		  "t.ini:2: ", "tsig-max-fudge: \"65536\" is not an integer in 0..65535" },
		{ "[global]\nmetrics-max-conns-per-ip = 0\n" INB, "t.ini:2: ", "1..16" },
		{ "[global]\nmetrics-max-conns-per-ip = 17\n" INB, "t.ini:2: ", "1..16" },
		{ "[global]\nmetrics-allow =\n" INB, "t.ini:2: ", "metrics-allow: needs at least one" },
		{ "[global]\nmetrics-allow = 10.0.0.1/8\n" INB,
		  "t.ini:2: ", "metrics-allow: \"10.0.0.1/8\"" },
		{ INB "tsig-max-fudge = 5\n", "t.ini:4: ", "unknown key \"tsig-max-fudge\" in [inbound]" },
	};
	RUN_ERR_CASES(cases);
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
	    CU_add_test(s, "outbound: pool settings kept on reload", test_outbound_pool_settings) == NULL ||
	    CU_add_test(s, "conf_load", test_load) == NULL ||
	    CU_add_test(s, "user, per-IP cap, refcount", test_user_and_refs) == NULL ||
	    CU_add_test(s, "inbound: limits, client-ca", test_inbound_limits) == NULL ||
	    CU_add_test(s, "[key]: secret, none, errors", test_keys) == NULL ||
	    CU_add_test(s, "[key]: secret-file and its mode", test_key_secret_file) == NULL ||
	    CU_add_test(s, "[acl]: conditions and errors", test_acls) == NULL ||
	    CU_add_test(s, "[acl]: client-cert patterns as tls.c", test_cert_patterns_agree_with_tls) == NULL ||
	    CU_add_test(s, "[zone]: acl and allow", test_zone_acl_and_allow) == NULL ||
	    CU_add_test(s, "interned ACL lists", test_interned_lists) == NULL ||
	    CU_add_test(s, "zones-file", test_zones_file) == NULL ||
	    CU_add_test(s, "zones-file: conf_load", test_zones_file_load) == NULL ||
	    CU_add_test(s, "100,000 zones: hash", test_many_zones) == NULL ||
	    CU_add_test(s, "conf_address_allowed", test_address_allowed) == NULL ||
	    CU_add_test(s, "RFC 9103 7.5 warning", test_addr_only_warning) == NULL ||
	    CU_add_test(s, "print: issue 9 round trip", test_print_issue9) == NULL ||
	    CU_add_test(s, "print: zones-file, secret-file", test_print_files) == NULL ||
	    CU_add_test(s, "issue 13: user root, tsig-max-fudge, metrics-allow", test_hardening_keys) == NULL)
		return -1;
	return 0;
}
