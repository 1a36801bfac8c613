/* certpat.h - the syntax of client-certificate patterns ([acl] client-cert):
 * a DNS name, "*." + a name of two labels or more, or "sha256:" + the
 * base64 of a SHA-256 SPKI digest. One rule for the config check and the
 * TLS matcher. */
#ifndef XP_CERTPAT_H
#define XP_CERTPAT_H

#include <stdbool.h>

/* Why pattern can never match, or NULL when it is usable. */
const char *certpat_error(const char *pattern);

/* True if pattern is a "sha256:" pin (any case of the prefix). */
bool certpat_is_pin(const char *pattern);

#endif
