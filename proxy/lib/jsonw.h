/* jsonw.h - a tiny JSON object writer into a fixed buffer, for log lines.
 *
 * Strings are byte strings: '"' and '\\' get a backslash, control bytes
 * (0x00-0x1f) and 0x7f get \b \t \n \f \r or \u00XX, and every byte from
 * 0x80 up becomes \u00XX of its own value (one code point per byte, so the
 * output is plain ASCII, always valid JSON, and the bytes can be told
 * apart exactly: a UTF-8 "é" reads back as the two characters U+00C3
 * U+00A9, never as one). Domain names arrive already in presentation form
 * (dname_to_text's \DDD), so they are ASCII anyway.
 *
 * The writer never produces invalid JSON: what does not fit is cut at an
 * escape boundary and the object gets "truncated":true at its end (room
 * for that is kept back from the start). */
#ifndef XP_JSONW_H
#define XP_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw {
	char *buf;
	size_t cap;          /* usable bytes, the reserve for the end excluded */
	size_t len;
	bool truncated;      /* something did not fit */
	bool first;          /* no member written yet */
};

/* Longest escape of one byte ("\u00XX"). */
#define JSONW_ESC_MAX 6

/* Starts an object ("{") in buf[0..cap); cap must be at least 64. */
void jsonw_begin(struct jsonw *w, char *buf, size_t cap);

void jsonw_str(struct jsonw *w, const char *key, const char *val);
void jsonw_strn(struct jsonw *w, const char *key, const char *val, size_t n);
void jsonw_int(struct jsonw *w, const char *key, int64_t val);
void jsonw_uint(struct jsonw *w, const char *key, uint64_t val);
void jsonw_bool(struct jsonw *w, const char *key, bool val);
/* A number with `decimals` digits after the point (NaN/inf written as null). */
void jsonw_dbl(struct jsonw *w, const char *key, double val, int decimals);

/* Closes the object (adding "truncated":true if anything was cut), appends
 * a newline when nl, NUL-terminates, and returns the length. */
size_t jsonw_end(struct jsonw *w, bool nl);

/* Escapes n bytes of s (no quotes added) into out[0..cap), whole escapes
 * only; returns the bytes written and sets *used to the input bytes taken.
 * Exposed for tests. */
size_t json_escape(const uint8_t *s, size_t n, char *out, size_t cap, size_t *used);

#endif
