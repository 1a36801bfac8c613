/* conf_util.c - helpers the configuration files share: quoting for
 * messages, tokens, base64, paths, names, growing arrays and an interning set. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char *
conf_quote(const char *s, char out[QUOTE_MAX])
{
	size_t o = 0;
	out[o++] = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (o + 8 >= QUOTE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, QUOTE_MAX - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, QUOTE_MAX - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

/* Tokens too long for tok are cut; the caller sees the cut token fail to parse. */
size_t
conf_next_token(const char **p, char tok[TOKEN_MAX])
{
	const char *s = *p;
	size_t n = 0;
	while (isspace((unsigned char)*s))
		s++;
	const char *start = s;
	while (*s != '\0' && !isspace((unsigned char)*s))
		s++;
	n = (size_t)(s - start);
	if (n >= TOKEN_MAX) {
		memcpy(tok, start, TOKEN_MAX - 1);
		tok[TOKEN_MAX - 1] = '\0';
	} else {
		memcpy(tok, start, n);
		tok[n] = '\0';
	}
	*p = s;
	return n;
}

/* Standard base64 (RFC 4648 section 4): every byte string has one spelling. */
int
conf_base64_decode(const char *s, uint8_t *out, size_t max)
{
	size_t len = strlen(s), n = len, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	while (n > 0 && len - n < 2 && s[n - 1] == '=')
		n--;
	if ((n < len && len % 4 != 0) || n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *v = strchr(b64_alphabet, s[i]);
		if (v == NULL)
			return -1;
		acc = acc << 6 | (uint32_t)(v - b64_alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == max)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (int)o;
}

void
conf_base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
}

char *
conf_resolve_path(const char *conf_path, const char *rel)
{
	if (rel[0] == '/')
		return strdup(rel);
	char *dir = strdup(conf_path);
	if (dir == NULL)
		return NULL;
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';            /* "/x.ini" -> "/" */
	else
		*slash = '\0';
	char *abs = realpath(dir, NULL);
	const char *base = abs != NULL ? abs : dir;
	size_t blen = strlen(base);
	const char *sep = (blen > 0 && base[blen - 1] == '/') ? "" : "/";
	size_t size = blen + strlen(sep) + strlen(rel) + 1;
	char *out = malloc(size);
	if (out != NULL)
		snprintf(out, size, "%s%s%s", base, sep, rel);
	free(abs);
	free(dir);
	return out;
}

bool
conf_name_ok(const char *name, bool allow_empty)
{
	size_t n = strlen(name);
	if (n >= CONF_OUTBOUND_NAME_MAX || (n == 0 && !allow_empty))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && strchr("-_.", name[i]) == NULL)
			return false;
	return true;
}

void
conf_print_wire_name(const uint8_t *wire, FILE *out)
{
	for (size_t i = 0; wire[i] != 0; i += (size_t)wire[i] + 1) {
		for (size_t j = 1; j <= wire[i]; j++) {
			unsigned char ch = wire[i + j];
			if (isalnum(ch) || ch == '-' || ch == '_' || ch == '*')
				fputc(ch, out);
			else
				fprintf(out, "\\%03u", ch);
		}
		fputc('.', out);
	}
}

void
conf_print_cidrs(const char *key, const struct cidr *list, size_t n, FILE *out)
{
	char buf[CIDR_TEXT_MAX];
	fprintf(out, "%s =", key);
	for (size_t i = 0; i < n; i++) {
		cidr_format(&list[i], buf);
		fprintf(out, " %s", buf);
	}
}


/* Next blank-separated word of *p, NUL-terminated in place; NULL at the end. */
char *
conf_next_word(char **p)
{
	char *s = *p;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return NULL;
	char *w = s;
	while (*s != '\0' && !isspace((unsigned char)*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return w;
}

/* arr (of *cap elements of size) grown to hold n + 1 elements: arr itself,
 * a new block (*cap updated), or NULL (out of memory; arr unchanged). */
void *
conf_grow(void *arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return arr;
	size_t c = *cap ? 2 * *cap : 16;
	while (c <= n)
		c *= 2;
	void *p = realloc(arr, c * size);
	if (p != NULL)
		*cap = c;
	return p;
}

uint32_t
conf_hash(uint32_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t x = h ^ (len * 0x9e3779b97f4a7c15u);
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		x = (x ^ w) * 0xff51afd7ed558ccdu;
		x ^= x >> 32;
	}
	uint64_t w = 0;
	memcpy(&w, p, len);
	x = (x ^ w) * 0xc4ceb9fe1a85ec53u;
	x ^= x >> 29;
	return (uint32_t)x;
}

void *
conf_itab_find(const struct conf_itab *t, uint32_t h, const void *key, conf_ieq_fn eq)
{
	if (t->e == NULL)
		return NULL;
	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		if (t->e[i].p == NULL)
			return NULL;
		if (t->e[i].h == h && eq(t->e[i].p, key))
			return t->e[i].p;
	}
}

int
conf_itab_add(struct conf_itab *t, uint32_t h, void *p)
{
	if (2 * (t->n + 1) > t->mask + 1 || t->e == NULL) {
		size_t size = t->e == NULL ? 64 : 2 * (t->mask + 1);
		struct conf_ient *e = calloc(size, sizeof(*e));
		if (e == NULL)
			return -1;
		for (size_t i = 0; t->e != NULL && i <= t->mask; i++) {
			if (t->e[i].p == NULL)
				continue;
			size_t j = t->e[i].h & (size - 1);
			while (e[j].p != NULL)
				j = (j + 1) & (size - 1);
			e[j] = t->e[i];
		}
		free(t->e);
		t->e = e;
		t->mask = size - 1;
	}
	size_t i = h & t->mask;
	while (t->e[i].p != NULL)
		i = (i + 1) & t->mask;
	t->e[i] = (struct conf_ient){ .h = h, .p = p };
	t->n++;
	return 0;
}
