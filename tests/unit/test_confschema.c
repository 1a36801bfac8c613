/* test_confschema.c - the table of configuration keys (conf/conf_schema.c):
 * every row well formed, every default valid and what a config without the
 * key holds, an integer key's bounds enforced from its row, the -t output of
 * a default configuration parsing back to the same text, and --dump-keys
 * listing every row. Loops over the rows, so a new key is tested by adding
 * it. */
#include <CUnit/CUnit.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_schema.h"
#include "proxy/lib/log.h"
#include "unit.h"

/* A configuration with [global], [inbound] and one [outbound], each with
 * only what it needs; line, if not NULL, is added to section sec. */
static void
base_text(enum section sec, const char *line, char *out, size_t size)
{
	const char *g = sec == SEC_GLOBAL ? line : "", *i = sec == SEC_INBOUND ? line : "";
	const char *o = sec == SEC_OUTBOUND ? line : "";
	snprintf(out, size,
	         "[global]\n%s\n"
	         "[inbound]\ncert = c.pem\nkey = k.pem\n%s\n"
	         "[outbound]\nlisten = 127.0.0.1:5300\nprimary = 192.0.2.1\n"
	         "pin-sha256 = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n%s\n", g, i, o);
}

static struct conf *
parse_with(enum section sec, const char *line, char err[CONF_ERR_MAX])
{
	char text[1024];
	base_text(sec, line, text, sizeof(text));
	err[0] = '\0';
	return conf_parse_string(text, "t.ini", err);
}

/* The struct a row of sec is stored in. */
static const void *
obj_of(const struct conf *c, enum section sec)
{
	switch (sec) {
	case SEC_GLOBAL: return c;
	case SEC_INBOUND: return &c->inbound;
	case SEC_OUTBOUND: return &c->outbound[0];
	default: return NULL;
	}
}

static bool
stored_in_struct(const struct conf_keydef *d)
{
	return d->sec == SEC_GLOBAL || d->sec == SEC_INBOUND || d->sec == SEC_OUTBOUND;
}

static void
test_rows_well_formed(void)
{
	CU_ASSERT_TRUE(conf_n_keys >= 50);
	CU_ASSERT_TRUE(conf_n_keys <= CONF_KEYS_MAX);
	for (size_t i = 0; i < conf_n_keys; i++) {
		const struct conf_keydef *d = &conf_keys[i];
		CU_ASSERT_PTR_NOT_NULL_FATAL(d->name);
		CU_ASSERT_TRUE(d->name[0] != '\0');
		CU_ASSERT_EQUAL(strspn(d->name, "abcdefghijklmnopqrstuvwxyz0123456789-"), strlen(d->name));
		CU_ASSERT_PTR_NOT_NULL_FATAL(d->help);
		CU_ASSERT_TRUE(strlen(d->help) > 10);
		CU_ASSERT_PTR_NULL(strpbrk(d->help, "\t\n"));
		CU_ASSERT_STRING_NOT_EQUAL(conf_type_name(d->type), "?");
		CU_ASSERT_STRING_NOT_EQUAL(conf_section_name(d->sec), "?");
		CU_ASSERT_PTR_EQUAL(conf_key_find(d->sec, d->name), d);     /* no (section, name) twice */
		if (d->type == CT_UINT)
			CU_ASSERT_TRUE(d->min <= d->max);
		if (d->type == CT_ENUM || d->type == CT_BOOL)
			CU_ASSERT_TRUE(d->words != NULL || d->set != NULL);
		/* a row without a setter of its own needs a type with one */
		if (d->set == NULL)
			CU_ASSERT_TRUE(stored_in_struct(d) && (d->type == CT_UINT || d->type == CT_ENUM ||
			               d->type == CT_BOOL || d->type == CT_PATH || d->type == CT_ADDR ||
			               d->type == CT_ADDR_LIST));
		/* [zone], [key], [acl] keys are set and printed by their sections */
		if (!stored_in_struct(d))
			CU_ASSERT_TRUE(d->set != NULL && d->def == NULL);
	}
	const struct conf_keydef *lvl = conf_key_find(SEC_GLOBAL, "log-level");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lvl);
	for (int i = XP_LOG_ERROR; i <= XP_LOG_DEBUG; i++)    /* the index is the enum value */
		CU_ASSERT_STRING_EQUAL(lvl->words[i], log_level_name((enum log_level)i));
	CU_ASSERT_STRING_EQUAL(conf_key_find(SEC_GLOBAL, "log-format")->words[LOG_FORMAT_JSON],
	                       log_format_name(LOG_FORMAT_JSON));
	CU_ASSERT_STRING_EQUAL(conf_key_find(SEC_GLOBAL, "log-target")->words[LOG_TARGET_SYSLOG],
	                       log_target_name(LOG_TARGET_SYSLOG));
}

/* Each default parses when written in the file, and a configuration without
 * the key holds the same value (an integer: the number). */
static void
test_defaults_valid(void)
{
	char err[CONF_ERR_MAX], line[256];
	struct conf *plain = parse_with(SEC_NONE, NULL, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
	for (size_t i = 0; i < conf_n_keys; i++) {
		const struct conf_keydef *d = &conf_keys[i];
		if (d->def == NULL)
			continue;
		snprintf(line, sizeof(line), "%s = %s", d->name, d->def);
		struct conf *c = parse_with(d->sec, line, err);
		if (c == NULL)
			fprintf(stderr, "\n  default of %s: %s\n", d->name, err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		if (d->type == CT_UINT) {
			unsigned v = *(const unsigned *)CONF_CFIELD(obj_of(plain, d->sec), d);
			CU_ASSERT_EQUAL(v, (unsigned)strtoul(d->def, NULL, 10));
			CU_ASSERT_TRUE(v >= d->min && v <= d->max);
		}
		/* written or not, the effective configuration is the same */
		char *a = NULL, *b = NULL;
		size_t na = 0, nb = 0;
		FILE *fa = open_memstream(&a, &na), *fb = open_memstream(&b, &nb);
		conf_print(plain, fa);
		conf_print(c, fb);
		fclose(fa);
		fclose(fb);
		if (strcmp(a, b) != 0)
			fprintf(stderr, "\n  %s: the default differs from no key\n", d->name);
		CU_ASSERT_STRING_EQUAL(a, b);
		free(a);
		free(b);
		conf_free(c);
	}
	conf_free(plain);
}

/* Every integer key: min and max accepted and stored, max + 1 and (when
 * min > 0) min - 1 refused with the row's bounds in the message. */
static void
test_uint_bounds_from_table(void)
{
	char err[CONF_ERR_MAX], line[128], want[CONF_ERR_MAX];
	size_t n = 0;
	for (size_t i = 0; i < conf_n_keys; i++) {
		const struct conf_keydef *d = &conf_keys[i];
		if (d->type != CT_UINT)
			continue;
		n++;
		unsigned edge[2] = { d->min, d->max };
		for (int e = 0; e < 2; e++) {
			snprintf(line, sizeof(line), "%s = %u", d->name, edge[e]);
			struct conf *c = parse_with(d->sec, line, err);
			CU_ASSERT_PTR_NOT_NULL_FATAL(c);
			CU_ASSERT_EQUAL(*(const unsigned *)CONF_CFIELD(obj_of(c, d->sec), d), edge[e]);
			conf_free(c);
		}
		unsigned long bad[2] = { (unsigned long)d->max + 1, d->min > 0 ? d->min - 1UL : 0 };
		for (int e = 0; e < (d->min > 0 ? 2 : 1); e++) {
			snprintf(line, sizeof(line), "%s = %lu", d->name, bad[e]);
			struct conf *c = parse_with(d->sec, line, err);
			CU_ASSERT_PTR_NULL(c);
			snprintf(want, sizeof(want), "%s: \"%lu\" is not an integer in %u..%u", d->name,
			         bad[e], d->min, d->max);
			CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
			if (strstr(err, want) == NULL)
				fprintf(stderr, "\n  %s: got %s\n", d->name, err);
			conf_free(c);
		}
	}
	CU_ASSERT_TRUE(n >= 24);
}

static char *
print_to_string(const struct conf *c)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	conf_print_flags(c, f, CONF_PRINT_SECRETS);
	fclose(f);
	return s;
}

/* A default configuration printed by -t parses back to the same text, and
 * shows every default of the table as written there. */
static void
test_default_roundtrip(void)
{
	char err[CONF_ERR_MAX];
	struct conf *a = parse_with(SEC_NONE, NULL, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	char *pa = print_to_string(a);
	struct conf *b = conf_parse_string(pa, "t.ini", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	char *pb = print_to_string(b);
	/* the first line names the file: the same here */
	CU_ASSERT_STRING_EQUAL(pa, pb);
	for (size_t i = 0; i < conf_n_keys; i++) {
		const struct conf_keydef *d = &conf_keys[i];
		char line[256];
		if (d->def == NULL || d->type == CT_CIDR_LIST || d->type == CT_ADDR_LIST)
			continue;               /* lists print in canonical form (::1/128) */
		snprintf(line, sizeof(line), "\n%s = %s\n", d->name, d->def);
		CU_ASSERT_PTR_NOT_NULL(strstr(pa, line));
	}
	free(pa);
	free(pb);
	conf_free(a);
	conf_free(b);
}

/* --dump-keys: one line per row, six tab-separated fields, the restart flag
 * on the keys a reload does not apply (server.c, main.c). */
static void
test_dump_keys(void)
{
	char *s = NULL;
	size_t n = 0, lines = 0;
	FILE *f = open_memstream(&s, &n);
	conf_dump_keys(f);
	fclose(f);
	for (char *p = s; *p != '\0'; p++) {
		char *nl = strchr(p, '\n');
		CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
		size_t tabs = 0;
		for (char *q = p; q < nl; q++)
			tabs += *q == '\t';
		CU_ASSERT_EQUAL(tabs, 5);
		lines++;
		p = nl;
	}
	CU_ASSERT_EQUAL(lines, conf_n_keys);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "inbound\thandshake-timeout\tuint(1..3600)\t10\treload\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "global\tuser\tname\t-\trestart\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "inbound\tclient-table-size\tuint(1..1048576)\t65536\trestart\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "global\tlog-level\tenum(error|warning|info|debug)\tinfo\t"));
	free(s);
	size_t restart = 0;
	for (size_t i = 0; i < conf_n_keys; i++)
		restart += (conf_keys[i].flags & CK_RESTART) != 0;
	CU_ASSERT_EQUAL(restart, 4);    /* user, metrics, metrics-max-zones, client-table-size */
}

int
test_confschema_register(void)
{
	SUITE("confschema");
	TEST(test_rows_well_formed);
	TEST(test_defaults_valid);
	TEST(test_uint_bounds_from_table);
	TEST(test_default_roundtrip);
	TEST(test_dump_keys);
	return 0;
}
