/* dname.c - domain name text <-> wire conversion. */
#include "dname.h"

#include <ctype.h>
#include <stdio.h>

static uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

void
dname_lower(uint8_t *wire, size_t len)
{
	for (size_t i = 0; i < len; i++)
		wire[i] = lower(wire[i]);
}

/* Reads one (possibly escaped) character of a label; returns the number of
 * text characters consumed, or 0 on a bad escape. */
static int
text_char(const char *p, uint8_t *c)
{
	if (p[0] != '\\') {
		*c = (uint8_t)p[0];
		return 1;
	}
	if (isdigit((unsigned char)p[1])) {
		if (!isdigit((unsigned char)p[2]) || !isdigit((unsigned char)p[3]))
			return 0;
		int v = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
		if (v > 255)
			return 0;
		*c = (uint8_t)v;
		return 4;
	}
	if (p[1] == '\0')
		return 0;
	*c = (uint8_t)p[1];
	return 2;
}

int
dname_from_text(const char *text, uint8_t out[DNAME_MAXLEN])
{
	size_t pos = 0;
	if (text[0] == '.' && text[1] == '\0') {
		out[0] = 0;
		return 1;
	}
	const char *p = text;
	while (*p != '\0') {
		size_t lenpos = pos++;
		size_t label = 0;
		while (*p != '\0' && *p != '.') {
			uint8_t c;
			int n = text_char(p, &c);
			if (n == 0 || label == 63 || pos >= DNAME_MAXLEN - 1)
				return -1;
			out[pos++] = lower(c);
			label++;
			p += n;
		}
		if (label == 0)
			return -1;           /* empty label: "a..b" or leading dot */
		out[lenpos] = (uint8_t)label;
		if (*p == '.')
			p++;
	}
	if (pos == 0)
		return -1;
	out[pos++] = 0;
	return (int)pos;
}

void
dname_to_text(const uint8_t *wire, char out[DNAME_TEXT_MAX])
{
	size_t o = 0;
	if (wire[0] == 0) {
		out[o++] = '.';
		out[o] = '\0';
		return;
	}
	for (size_t i = 0; wire[i] != 0; i += (size_t)wire[i] + 1) {
		for (size_t j = 1; j <= wire[i]; j++) {
			uint8_t c = wire[i + j];
			if (c == '.' || c == '\\') {
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (c > 0x20 && c < 0x7f) {
				out[o++] = (char)c;
			} else {
				o += (size_t)snprintf(out + o, 5, "\\%03u", c);
			}
		}
		out[o++] = '.';
	}
	out[o] = '\0';
}
