/* fuzz_conf.c - libFuzzer target for conf_parse_string.
 *
 * Build: make fuzz (links conf/ through libxotd.a and proxy/lib/ through
 *        libxotwire.a, as the Makefile's fuzz rule does)
 * Run:   ./fuzz_conf tests/fuzz/corpus/conf
 *
 * Beyond "no crash, no leak", it checks the -t contract: whatever parses,
 * conf_print (with secrets) turns into text that parses again to the same
 * printout, every zone is found by its own name, and every ACL a zone
 * uses admits by address as conf_address_allowed says. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
print_conf(const struct conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		abort();
	conf_print_flags(c, f, CONF_PRINT_SECRETS);
	fclose(f);
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONF_ERR_MAX];
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct conf *c = conf_parse_string(text, "fuzz.ini", err);
	free(text);
	if (c == NULL) {
		if (strncmp(err, "fuzz.ini:", 9) != 0)
			abort();                 /* every error names the file */
		return 0;
	}
	for (size_t i = 0; i < c->n_zones; i++) {
		const struct conf_zone *z = c->zones[i];
		if (conf_zone_find(c, z->wire, z->wire_len) != z)
			abort();
		for (size_t j = 0; j < z->n_acls; j++)
			if (z->acls[j]->n_addr == 0 && !c->any_address)
				abort();
	}
	if (conf_addr_only_zones(c) > c->n_zones)
		abort();

	char *first = print_conf(c);
	struct conf *again = conf_parse_string(first, "fuzz.ini", err);
	if (again == NULL) {
		fprintf(stderr, "conf_print output does not parse: %s\n%s", err, first);
		abort();
	}
	char *second = print_conf(again);
	if (strcmp(first, second) != 0) {
		fprintf(stderr, "conf_print round trip differs:\n%s\n---\n%s", first, second);
		abort();
	}
	free(second);
	free(first);
	conf_free(again);
	conf_free(c);
	return 0;
}
