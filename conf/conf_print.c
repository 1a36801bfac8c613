/* conf_print.c - the effective configuration as INI text (-t), and the key
 * list (--dump-keys), both from conf_schema.c's table.
 *
 * [global], [inbound] and [outbound] are printed row by row in table
 * order; [key], [acl] and [zone] sections by conf_acl.c and conf_zone.c.
 * What it prints parses back to the same configuration (test_conf.c's and
 * test_confschema.c's round trips, fuzz_conf). */
#include <string.h>

#include "conf_schema.h"

static void
print_addrs(const char *key, const struct netaddr *list, size_t n, FILE *out)
{
	char buf[NETADDR_TEXT_MAX];
	fprintf(out, "%s =", key);
	for (size_t i = 0; i < n; i++) {
		netaddr_format_hostport((const struct sockaddr *)&list[i].ss, buf);
		fprintf(out, " %s", buf);
	}
	fputc('\n', out);
}

static size_t
count_of(const struct conf_keydef *d, const void *obj)
{
	return *(const size_t *)((const char *)obj + d->count_off);
}

/* The printer of each type, for rows without one of their own. */
static void
print_by_type(const struct conf_keydef *d, const void *obj, FILE *out)
{
	const void *f = CONF_CFIELD(obj, d);
	char buf[NETADDR_TEXT_MAX];
	switch (d->type) {
	case CT_UINT:
		fprintf(out, "%s = %u\n", d->name, *(const unsigned *)f);
		break;
	case CT_ENUM:
		fprintf(out, "%s = %s\n", d->name, d->words[*(const int *)f]);
		break;
	case CT_BOOL:
		fprintf(out, "%s = %s\n", d->name, d->words[*(const bool *)f ? 1 : 0]);
		break;
	case CT_PATH:
	case CT_NAME:
		if (*(char *const *)f != NULL)
			fprintf(out, "%s = %s\n", d->name, *(char *const *)f);
		break;
	case CT_ADDR:
		netaddr_format_hostport((const struct sockaddr *)&((const struct netaddr *)f)->ss, buf);
		fprintf(out, "%s = %s\n", d->name, buf);
		break;
	case CT_ADDR_LIST:
		print_addrs(d->name, f, count_of(d, obj), out);
		break;
	case CT_CIDR_LIST:
		conf_print_cidrs(d->name, f, count_of(d, obj), out);
		fputc('\n', out);
		break;
	default:
		break;
	}
}

void
conf_print_metrics(const struct conf *conf, const struct conf_keydef *d, const void *obj, FILE *out)
{
	if (conf->has_metrics)
		print_by_type(d, obj, out);
}

void
conf_print_zones_file(const struct conf *conf, const struct conf_keydef *d, const void *obj,
                      FILE *out)
{
	if (conf->inbound.zones_file != NULL)
		fprintf(out, "# %zu zones from the zones-file\n", conf->n_zones - conf->n_section_zones);
	print_by_type(d, obj, out);
}

void
conf_print_rate(const struct conf *conf, const struct conf_keydef *d, const void *obj, FILE *out)
{
	const struct conf_inbound *in = obj;
	(void)conf;
	if (in->rate_n == 0)
		fprintf(out, "%s = off\n", d->name);
	else
		fprintf(out, "%s = %u/%u\n", d->name, in->rate_n, in->rate_per);
}

void
conf_print_pins(const struct conf *conf, const struct conf_keydef *d, const void *obj, FILE *out)
{
	const struct conf_outbound *ob = obj;
	char pin[4 * ((CONF_PIN_LEN + 2) / 3) + 1];
	(void)conf;
	if (ob->n_pins == 0)
		return;
	fprintf(out, "%s =", d->name);
	for (size_t i = 0; i < ob->n_pins; i++) {
		conf_base64_encode(ob->pins[i], CONF_PIN_LEN, pin);
		fprintf(out, " %s", pin);
	}
	fputc('\n', out);
}

void
conf_print_section(const struct conf *conf, enum section sec, const void *obj, FILE *out)
{
	for (size_t i = 0; i < conf_n_keys; i++) {
		const struct conf_keydef *d = &conf_keys[i];
		if (d->sec != sec)
			continue;
		if (d->print != NULL)
			d->print(conf, d, obj, out);
		else
			print_by_type(d, obj, out);
	}
}

void
conf_print(const struct conf *conf, FILE *out)
{
	conf_print_flags(conf, out, 0);
}

void
conf_print_flags(const struct conf *conf, FILE *out, unsigned flags)
{
	fputs("# xotproxy effective configuration, from ", out);
	for (const char *p = conf->path; p != NULL && *p != '\0'; p++)
		fputc(((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p, out);
	fputs("\n\n[global]\n", out);
	conf_print_section(conf, SEC_GLOBAL, conf, out);
	if (conf->has_inbound) {
		fputs("\n[inbound]\n", out);
		conf_print_section(conf, SEC_INBOUND, &conf->inbound, out);
		conf_acl_print(conf, out, flags);
		conf_zone_print(conf, out);
	}
	for (size_t i = 0; i < conf->n_outbound; i++) {
		char label[LABEL_MAX];
		fprintf(out, "\n%s\n", conf_outbound_label(&conf->outbound[i], label));
		conf_print_section(conf, SEC_OUTBOUND, &conf->outbound[i], out);
	}
}

/* "uint(1..3600)", "enum(text|json)", or the type's name. */
static void
type_text(const struct conf_keydef *d, char *buf, size_t size)
{
	if (d->type == CT_UINT) {
		snprintf(buf, size, "uint(%u..%u)", d->min, d->max);
	} else if (d->words != NULL) {
		size_t n = (size_t)snprintf(buf, size, "%s(", conf_type_name(d->type));
		for (size_t i = 0; d->words[i] != NULL && n < size; i++)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", i > 0 ? "|" : "", d->words[i]);
		if (n < size)
			snprintf(buf + n, size - n, ")");
	} else {
		snprintf(buf, size, "%s", conf_type_name(d->type));
	}
}

void
conf_dump_keys(FILE *out)
{
	char type[128];
	for (size_t i = 0; i < conf_n_keys; i++) {
		const struct conf_keydef *d = &conf_keys[i];
		type_text(d, type, sizeof(type));
		fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\n", conf_section_name(d->sec), d->name, type,
		        d->def != NULL ? d->def : "-", (d->flags & CK_RESTART) ? "restart" : "reload",
		        d->help);
	}
}
