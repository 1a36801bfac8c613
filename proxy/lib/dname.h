/* dname.h - domain names in uncompressed wire form: parse from text, format to text. */
#ifndef XP_DNAME_H
#define XP_DNAME_H

#include <stddef.h>
#include <stdint.h>

#define DNAME_MAXLEN 255                 /* octets, wire form, RFC 1035 2.3.4 */
#define DNAME_TEXT_MAX (4 * DNAME_MAXLEN + 2) /* worst case with \DDD escapes */

/* Text ("Example.COM", "example.com.", ".") to lowercase wire form.
 * Handles \. and \DDD escapes. Returns the wire length (>= 1) or -1 if invalid. */
int dname_from_text(const char *text, uint8_t out[DNAME_MAXLEN]);

/* Wire form (already validated, uncompressed) to presentation text with a
 * trailing dot; non-printable octets and '.' '\\' inside labels are escaped.
 * Always NUL-terminates. */
void dname_to_text(const uint8_t *wire, char out[DNAME_TEXT_MAX]);

/* Lowercase ASCII letters of a wire name in place. */
void dname_lower(uint8_t *wire, size_t len);

#endif
