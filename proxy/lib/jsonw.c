/* jsonw.c - JSON object writer for log lines: escaping of every byte value,
 * cuts only at escape boundaries, never invalid output. */
#include "jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define JSONW_RESERVE 24     /* ,"truncated":true}\n and the NUL */

static const char hex[] = "0123456789abcdef";

/* The escape of one byte into e; returns its length (1 to 6). */
static size_t
escape_byte(uint8_t c, char e[JSONW_ESC_MAX])
{
	const char *s = NULL;
	switch (c) {
	case '"': s = "\\\""; break;
	case '\\': s = "\\\\"; break;
	case '\b': s = "\\b"; break;
	case '\f': s = "\\f"; break;
	case '\n': s = "\\n"; break;
	case '\r': s = "\\r"; break;
	case '\t': s = "\\t"; break;
	default: break;
	}
	if (s != NULL) {
		e[0] = s[0];
		e[1] = s[1];
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		e[0] = (char)c;
		return 1;
	}
	memcpy(e, "\\u00", 4);
	e[4] = hex[c >> 4];
	e[5] = hex[c & 15];
	return 6;
}

size_t
json_escape(const uint8_t *s, size_t n, char *out, size_t cap, size_t *used)
{
	size_t o = 0, i = 0;
	for (; i < n; i++) {
		char e[JSONW_ESC_MAX];
		size_t k = escape_byte(s[i], e);
		if (o + k > cap)
			break;
		memcpy(out + o, e, k);
		o += k;
	}
	*used = i;
	return o;
}

void
jsonw_begin(struct jsonw *w, char *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap - JSONW_RESERVE;
	w->len = 0;
	w->truncated = false;
	w->first = true;
	w->buf[w->len++] = '{';
}

/* Appends raw bytes if they fit whole; false (and truncated) if not. */
static bool
put(struct jsonw *w, const char *s, size_t n)
{
	if (w->truncated || w->len + n > w->cap) {
		w->truncated = true;
		return false;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	return true;
}

/* ,"key": -- written whole or not at all; the key is a plain ASCII literal. */
static bool
put_key(struct jsonw *w, const char *key)
{
	size_t start = w->len;
	if ((!w->first && !put(w, ",", 1)) || !put(w, "\"", 1) || !put(w, key, strlen(key)) ||
	    !put(w, "\":", 2)) {
		w->len = start;
		return false;
	}
	w->first = false;
	return true;
}

void
jsonw_strn(struct jsonw *w, const char *key, const char *val, size_t n)
{
	if (!put_key(w, key))
		return;
	w->buf[w->len++] = '"';            /* put_key left room: cap excludes the reserve */
	size_t used;
	size_t room = w->cap > w->len + 1 ? w->cap - w->len - 1 : 0;   /* 1 for the closing quote */
	w->len += json_escape((const uint8_t *)val, n, w->buf + w->len, room, &used);
	if (used < n)
		w->truncated = true;
	w->buf[w->len++] = '"';            /* may use the reserve's first byte: kept for it */
}

void
jsonw_str(struct jsonw *w, const char *key, const char *val)
{
	jsonw_strn(w, key, val, strlen(val));
}

static void
put_number(struct jsonw *w, const char *key, const char *num, size_t n)
{
	size_t start = w->len;
	bool first = w->first;
	if (!put_key(w, key))
		return;
	if (!put(w, num, n)) {
		w->len = start;
		w->first = first;
	}
}

void
jsonw_int(struct jsonw *w, const char *key, int64_t val)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, val);
	put_number(w, key, num, (size_t)n);
}

void
jsonw_uint(struct jsonw *w, const char *key, uint64_t val)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, val);
	put_number(w, key, num, (size_t)n);
}

void
jsonw_bool(struct jsonw *w, const char *key, bool val)
{
	put_number(w, key, val ? "true" : "false", val ? 4 : 5);
}

void
jsonw_dbl(struct jsonw *w, const char *key, double val, int decimals)
{
	char num[40];
	int n;
	if (!isfinite(val))
		n = snprintf(num, sizeof(num), "null");
	else
		n = snprintf(num, sizeof(num), "%.*f", decimals, val);
	if (n < 0 || (size_t)n >= sizeof(num))
		n = snprintf(num, sizeof(num), "null");
	put_number(w, key, num, (size_t)n);
}

size_t
jsonw_end(struct jsonw *w, bool nl)
{
	if (w->truncated) {
		const char *t = w->first ? "\"truncated\":true" : ",\"truncated\":true";
		memcpy(w->buf + w->len, t, strlen(t));
		w->len += strlen(t);
	}
	w->buf[w->len++] = '}';
	if (nl)
		w->buf[w->len++] = '\n';
	w->buf[w->len] = '\0';
	return w->len;
}
