/* certpat.c - client-certificate pattern syntax (see certpat.h). */
#include "certpat.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

bool
certpat_is_pin(const char *pattern)
{
	return strncasecmp(pattern, "sha256:", 7) == 0;
}

/* The canonical base64 of 32 octets: 43 characters and '='; the last
 * character's two low bits are zero (256 bits in 258). */
static bool
pin_ok(const char *b64)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (strlen(b64) != 44 || b64[43] != '=' || strspn(b64, alphabet) != 43)
		return false;
	return ((strchr(alphabet, b64[42]) - alphabet) & 3) == 0;
}

static const char *
name_error(const char *pattern)
{
	size_t len = strlen(pattern);
	if (len > 0 && pattern[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return "DNS name empty or longer than 253 characters";
	const char *p = pattern, *end = pattern + len;
	int labels = 0;
	bool wild = len > 2 && p[0] == '*' && p[1] == '.';
	if (wild)
		p += 2;
	while (p < end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
		if (n == 0 || n > 63 || (dot != NULL && dot + 1 == end))
			return "DNS name with an empty label or a label over 63 characters";
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '_')
				return p[i] == '*' ? "'*' only as the whole leftmost label (\"*.example.net\")" :
				       "DNS name with a character other than letters, digits, '-', '_' and '.'";
		labels++;
		p += n + (dot != NULL);
	}
	if (wild && labels < 2)
		return "a wildcard needs at least two labels after \"*.\" (\"*.net\" would match nothing)";
	return NULL;
}

const char *
certpat_error(const char *pattern)
{
	if (pattern == NULL || *pattern == '\0')
		return "empty client certificate pattern";
	if (certpat_is_pin(pattern))
		return pin_ok(pattern + 7) ? NULL :
		       "sha256: pin is not the base64 of a SHA-256 digest (44 characters ending in '=')";
	return name_error(pattern);
}
